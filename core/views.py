from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from annotate.selectors import campaign_list_for
from core.selectors import health_report, workers_alive


@never_cache
def healthz(request):
    """Liveness of the database, the broker and the workers; `?probe=1` also sends a task through each queue."""
    report = health_report(probe=request.GET.get("probe") == "1")
    return JsonResponse(report, status=200 if report["ok"] else 503)


@login_required
def home(request):
    context = {"campaigns": campaign_list_for(user=request.user)}
    if request.user.is_manager:
        context["workers"] = workers_alive()
    return render(request, "core/home.html", context)

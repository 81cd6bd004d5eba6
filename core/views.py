from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from core.selectors import health_report


@never_cache
def healthz(request):
    """Liveness of the database, the broker and the workers; `?probe=1` also sends a task through each queue."""
    report = health_report(probe=request.GET.get("probe") == "1")
    return JsonResponse(report, status=200 if report["ok"] else 503)

import hmac

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from core.selectors import health_report


def _trusted(request) -> bool:
    """Staff, or a monitor sending the shared secret, may see the details (host names, database vendor) and probe."""
    user = request.user
    if user.is_authenticated and (user.is_staff or user.is_admin):
        return True
    secret = settings.HEALTHZ_TOKEN
    return bool(secret) and hmac.compare_digest(request.headers.get("X-Healthz-Token", ""), secret)


@never_cache
def healthz(request):
    """Liveness of the database, the broker and the workers: ok or not for anyone, the details for the trusted.
    `?probe=1` (trusted only, once per HEALTHZ_PROBE_INTERVAL_SECONDS) also sends a task through each queue."""
    trusted, probe = _trusted(request), request.GET.get("probe") == "1"
    if probe and not trusted:
        return JsonResponse({"detail": "Probes are for staff or holders of the health token."}, status=403)
    interval = settings.HEALTHZ_PROBE_INTERVAL_SECONDS
    # A probe holds a web thread for seconds and sends a task to every queue: one at a time, site-wide.
    if probe and not cache.add("healthz-probe", True, timeout=interval):
        response = JsonResponse({"detail": f"One probe per {interval} s; try again later."}, status=429)
        response["Retry-After"] = str(interval)
        return response
    report = health_report(probe=probe)
    status = 200 if report["ok"] else 503
    return JsonResponse(report if trusted else {"ok": report["ok"]}, status=status)

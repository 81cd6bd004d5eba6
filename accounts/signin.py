"""Signing in again without losing the page: what the server says when an htmx request finds the session gone.

A plain request is sent to the login page as usual. An htmx request would swap that login page into a panel of the
page, so it gets a 401 marked `X-Concord-Signin` instead, and static/js/page.js opens a sign-in dialog over the page
and sends the request again once signed in. A CSRF refusal (all cookies cleared) is answered the same way for htmx,
and with a styled page, not Django's yellow one, for a plain form (CSRF_FAILURE_VIEW).
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render, resolve_url

SIGNIN_HEADER = "X-Concord-Signin"


def _signin_needed(status: int) -> HttpResponse:
    response = HttpResponse("Sign in again to carry on.", status=status, content_type="text/plain; charset=utf-8")
    response[SIGNIN_HEADER] = "1"
    return response


def htmx_signin_middleware(get_response):
    login_path = resolve_url(settings.LOGIN_URL)

    def middleware(request):
        response = get_response(request)
        if (request.headers.get("HX-Request") == "true" and response.status_code == 302
                and urlsplit(response.get("Location", "")).path == login_path):
            return _signin_needed(401)
        return response

    return middleware


def csrf_failure(request, reason: str = ""):
    """The CSRF refusal: its token is missing or stale, which for a person means the session or cookies are gone."""
    if request.headers.get("HX-Request") == "true":
        return _signin_needed(403)
    return render(request, "403_csrf.html", status=403)

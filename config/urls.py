"""Every app owns its URLs; this file only includes them."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("annotate.api_urls")),
    path("", include("exports.api_urls")),
    path("", include("feedback.api_urls")),
    path("", include("modelhost.api_urls")),
]

urlpatterns = [
    path("", include("annotate.home_urls")),
    path("", include("core.urls")),
    path("accounts/", include("accounts.urls")),
    path("models/", include("modelhost.urls")),
    path("annotate/exports/", include("exports.urls")),
    path("annotate/moralgraph/", include("annotate.moralgraph.urls")),
    path("annotate/profile/", include("annotate.profiles.urls")),
    path("annotate/", include("annotate.urls")),
    path("annotate/reports/", include("annotate.report.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("v1/", include("feedback.openai_urls")),
    path("feedback/", include("feedback.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: the Content-Security-Policy allows no inline one.
    # Swagger UI writes style elements of its own; styles (never scripts) may be inline on this page only.
    path("api/docs/", csp_update({"style-src": [UNSAFE_INLINE]})(
        SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
]

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.apis import MeApi
from annotate import apis as annotate_apis
from annotate import export_apis, report_apis
from modelhost import apis as modelhost_apis

api_v1 = [
    path("me", MeApi.as_view(), name="api-me"),
    path("campaigns/<int:campaign_id>/next", annotate_apis.CampaignNextApi.as_view(), name="api-next"),
    path("assignments/<int:assignment_id>/submit", annotate_apis.AssignmentSubmitApi.as_view(), name="api-submit"),
    path("assignments/<int:assignment_id>/skip", annotate_apis.AssignmentSkipApi.as_view(), name="api-skip"),
    path("campaigns/<int:campaign_id>/report", report_apis.CampaignReportApi.as_view(), name="api-report"),
    path("exports", export_apis.ExportListCreateApi.as_view(), name="api-exports"),
    path("exports/<int:export_id>", export_apis.ExportDetailApi.as_view(), name="api-export"),
    path("exports/<int:export_id>/files/<path:path>", export_apis.ExportFileApi.as_view(), name="api-export-file"),
    path("endpoints", modelhost_apis.ModelEndpointListApi.as_view(), name="api-endpoints"),
    path("generation-jobs", modelhost_apis.GenerationJobCreateApi.as_view(), name="api-job-create"),
    path("generation-jobs/<int:job_id>", modelhost_apis.GenerationJobDetailApi.as_view(), name="api-job"),
    path("generation-jobs/<int:job_id>/cancel", modelhost_apis.GenerationJobCancelApi.as_view()),
    path("generation-jobs/<int:job_id>/outputs", modelhost_apis.GenerationJobOutputsApi.as_view()),
]

urlpatterns = [
    path("", include("core.urls")),
    path("accounts/", include("accounts.urls")),
    path("models/", include("modelhost.urls")),
    path("annotate/exports/", include("annotate.export_urls")),
    path("annotate/moralgraph/", include("annotate.moralgraph.urls")),
    path("annotate/", include("annotate.urls")),
    path("annotate/reports/", include("annotate.report_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

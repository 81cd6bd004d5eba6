from django.urls import path

from annotate import apis
from annotate.report import apis as report_apis

urlpatterns = [
    path("campaigns", apis.CampaignListCreateApi.as_view(), name="api-campaigns"),
    path("campaigns/<int:campaign_id>", apis.CampaignDetailApi.as_view(), name="api-campaign"),
    path("campaigns/<int:campaign_id>/next", apis.CampaignNextApi.as_view(), name="api-next"),
    path("assignments/<int:assignment_id>/submit", apis.AssignmentSubmitApi.as_view(), name="api-submit"),
    path("assignments/<int:assignment_id>/skip", apis.AssignmentSkipApi.as_view(), name="api-skip"),
    path("campaigns/<int:campaign_id>/report", report_apis.CampaignReportApi.as_view(), name="api-report"),
]

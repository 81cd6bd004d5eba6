from django.urls import path

from annotate.report import views as report_views

app_name = "reports"
urlpatterns = [
    path("<int:campaign_id>/", report_views.campaign_report_page, name="campaign"),
]

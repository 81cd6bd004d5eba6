from django.urls import path

from exports import apis

urlpatterns = [
    path("exports", apis.ExportListCreateApi.as_view(), name="api-exports"),
    path("exports/<int:export_id>", apis.ExportDetailApi.as_view(), name="api-export"),
    path("exports/<int:export_id>/files/<path:path>", apis.ExportFileApi.as_view(), name="api-export-file"),
]

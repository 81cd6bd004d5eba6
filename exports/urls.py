from django.urls import path

from exports import views as export_views

app_name = "exports"
urlpatterns = [
    path("", export_views.export_list, name="list"),
    path("<int:export_id>/", export_views.export_detail, name="detail"),
    path("<int:export_id>/again/", export_views.export_again, name="again"),
    path("<int:export_id>/files/<path:path>", export_views.export_download, name="download"),
]

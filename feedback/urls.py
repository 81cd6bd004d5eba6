from django.urls import path

from feedback import views

app_name = "feedback"
urlpatterns = [
    path("conversations/", views.conversation_list, name="conversation_list"),
    path("conversations/<int:conversation_id>/", views.conversation_detail, name="conversation_detail"),
    path("imports/", views.import_upload, name="import_upload"),
    path("signals/", views.signals_page, name="signals"),
    path("signals/mine/", views.mining_start, name="mining_start"),
    path("signals/runs/<int:run_id>/cancel/", views.mining_cancel, name="mining_cancel"),
]

from django.urls import path

from modelhost import views

app_name = "modelhost"
urlpatterns = [
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<int:job_id>/resume/", views.job_resume, name="job_resume"),
    path("playground/", views.playground, name="playground"),
    path("replies/<int:reply_id>/stream/", views.reply_stream, name="reply_stream"),
    path("replies/<int:reply_id>/stop/", views.reply_stop_view, name="reply_stop"),
]

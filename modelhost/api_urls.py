from django.urls import path

from modelhost import apis

urlpatterns = [
    path("endpoints", apis.ModelEndpointListApi.as_view(), name="api-endpoints"),
    path("generation-jobs", apis.GenerationJobCreateApi.as_view(), name="api-job-create"),
    path("generation-jobs/<int:job_id>", apis.GenerationJobDetailApi.as_view(), name="api-job"),
    path("generation-jobs/<int:job_id>/cancel", apis.GenerationJobCancelApi.as_view()),
    path("generation-jobs/<int:job_id>/outputs", apis.GenerationJobOutputsApi.as_view()),
]

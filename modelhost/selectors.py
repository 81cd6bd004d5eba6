from django.db.models import QuerySet

from accounts.models import User
from modelhost.models import GenerationJob, GenerationOutput, ModelEndpoint, StreamedReply


def job_list_for(*, user: User) -> QuerySet[GenerationJob]:
    """Admins see every job; managers the jobs they started; annotators none."""
    jobs = GenerationJob.objects.prefetch_related("endpoints").order_by("-created_at")
    if user.is_admin:
        return jobs
    if user.is_manager:
        return jobs.filter(created_by=user)
    return jobs.none()


def job_outputs(*, job: GenerationJob) -> QuerySet[GenerationOutput]:
    return GenerationOutput.objects.filter(request__job=job).select_related("request", "endpoint")


def endpoint_list() -> QuerySet[ModelEndpoint]:
    return ModelEndpoint.objects.order_by("-is_default", "name")


def reply_list_for(*, user: User) -> QuerySet[StreamedReply]:
    return StreamedReply.objects.filter(created_by=user).select_related("endpoint")

from django.db.models import QuerySet

from accounts.models import User
from modelhost.models import GenerationJob, GenerationOutput, ModelEndpoint, StreamedReply


def job_list_for(*, user: User, source: str | None = None) -> QuerySet[GenerationJob]:
    """Admins see every job; managers the jobs they started; annotators none. `source`: only the jobs started for
    that caller (e.g. a campaign)."""
    jobs = GenerationJob.objects.prefetch_related("endpoints").order_by("-created_at")
    if source is not None:
        jobs = jobs.filter(source=source)
    if user.is_admin:
        return jobs
    if user.is_manager:
        return jobs.filter(created_by=user)
    return jobs.none()


def generation_outputs_for(*, source: str) -> QuerySet[GenerationOutput]:
    """Every output of the jobs started for `source`, with the request key its caller gave and the endpoint."""
    return GenerationOutput.objects.filter(request__job__source=source).select_related("request", "endpoint")


def job_outputs(*, job: GenerationJob) -> QuerySet[GenerationOutput]:
    return GenerationOutput.objects.filter(request__job=job).select_related("request", "endpoint")


def endpoint_list() -> QuerySet[ModelEndpoint]:
    return ModelEndpoint.objects.order_by("-is_default", "name")


def reply_list_for(*, user: User) -> QuerySet[StreamedReply]:
    return StreamedReply.objects.filter(created_by=user).select_related("endpoint")

"""Deliberations, their contexts (typed in, or proposed by the model host and approved), and consent."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from annotate.access import campaign_check_manager
from annotate.models import Campaign
from annotate.moralgraph.models import Answer, Context, Deliberation, Participant
from annotate.moralgraph.prompts import CONTEXTS
from modelhost.models import ModelEndpoint, StreamedReply
from modelhost.services.endpoints import endpoint_get_default
from modelhost.services.replies import reply_create

MAX_CONTEXT = 200


def deliberation_check_manager(*, deliberation: Deliberation, user: User) -> None:
    campaign_check_manager(campaign=deliberation.campaign, user=user)


@transaction.atomic
def deliberation_create(*, campaign: Campaign, name: str, question: str, by: User,
                        contexts: list[str] = (), endpoint: ModelEndpoint | None = None) -> Deliberation:
    campaign_check_manager(campaign=campaign, user=by)
    deliberation = Deliberation(campaign=campaign, name=name.strip(), question=question.strip(), endpoint=endpoint,
                                created_by=by)
    deliberation.full_clean()
    deliberation.save()
    for text in contexts:
        context_add(deliberation=deliberation, text=text, by=by)
    return deliberation


def context_clean(text: str) -> str:
    text = " ".join(str(text).split()).rstrip(".:")
    if not text.startswith("When ") or len(text) > MAX_CONTEXT:
        raise ValidationError(f'A context is one phrase starting with "When ", at most {MAX_CONTEXT} characters.')
    return text


@transaction.atomic
def context_add(*, deliberation: Deliberation, text: str, by: User,
                source: str = Context.Source.MANAGER) -> Context:
    """A context typed by a manager is approved at once; one proposed by the model waits for approval."""
    deliberation_check_manager(deliberation=deliberation, user=by)
    status = Context.Status.PROPOSED if source == Context.Source.MODEL else Context.Status.APPROVED
    context, _ = Context.objects.get_or_create(deliberation=deliberation, text=context_clean(text),
                                               defaults={"status": status, "source": source})
    return context


@transaction.atomic
def context_approve(*, context: Context, by: User) -> Context:
    deliberation_check_manager(deliberation=context.deliberation, user=by)
    context.status = Context.Status.APPROVED
    context.save(update_fields=["status"])
    return context


@transaction.atomic
def context_reject(*, context: Context, by: User) -> None:
    deliberation_check_manager(deliberation=context.deliberation, user=by)
    if context.status != Context.Status.PROPOSED:
        raise ValidationError("Only a proposed context can be rejected.")
    context.delete()


@transaction.atomic
def contexts_propose(*, deliberation: Deliberation, by: User) -> StreamedReply:
    """Ask the model host for contexts; the reply streams to the manager and `contexts_from_reply` files them."""
    deliberation_check_manager(deliberation=deliberation, user=by)
    return reply_create(endpoint=deliberation.endpoint or endpoint_get_default(),
                        messages=CONTEXTS.format(question=deliberation.question), created_by=by)


@transaction.atomic
def contexts_from_reply(*, deliberation: Deliberation, reply: StreamedReply, by: User) -> list[Context]:
    """Every "When ..." line of the reply becomes a proposed context; anything else is ignored."""
    proposed = []
    for line in reply.text.splitlines():
        line = line.strip().lstrip("-*0123456789.) ").strip()
        try:
            text = context_clean(line)
        except ValidationError:
            continue
        proposed.append(context_add(deliberation=deliberation, text=text, by=by, source=Context.Source.MODEL))
    return proposed


@transaction.atomic
def participant_consent(*, deliberation: Deliberation, user: User) -> Participant:
    """Campaign members (and its managers) take part once they consent; doing it twice changes nothing."""
    campaign = deliberation.campaign
    if not (campaign.members.filter(pk=user.pk).exists() or campaign.managers.filter(pk=user.pk).exists()):
        raise PermissionDenied("Only members of the campaign take part.")
    participant, _ = Participant.objects.get_or_create(deliberation=deliberation, user=user)
    if participant.consented_at is None:
        participant.consented_at = timezone.now()
        participant.save(update_fields=["consented_at"])
    return participant


@transaction.atomic
def participant_survey_submit(*, participant: Participant, graph_fair: str, by: User) -> Participant:
    """The survey answer "is the graph fair, even where your value is not the wisest?"; a new answer replaces it."""
    if participant.user_id != by.pk:
        raise PermissionDenied("Only the participant answers.")
    if graph_fair not in Answer.values:
        raise ValidationError(f"Answer one of {', '.join(Answer.values)}.")
    participant.graph_fair = graph_fair
    participant.save(update_fields=["graph_fair"])
    return participant

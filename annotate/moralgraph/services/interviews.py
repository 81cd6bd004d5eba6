"""The interview: an opening question, then turns that stream from the model host; the model may propose a card
in a JSON block, and the participant may write or edit the card at any time, so a bad reply never blocks anyone.
The stored prompt hash is of the instructions; the current card appended to them is data, like the transcript."""

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from annotate.moralgraph.models import Answer, CardVersion, Interview, Message, Participant, ValuesCard
from annotate.moralgraph.prompts import CURRENT_CARD, INTERVIEWER, INTERVIEWER_VERSION, OPENING, prompt_hash
from annotate.moralgraph.services.cards import card_parse, card_update
from modelhost.models import StreamedReply
from modelhost.services.endpoints import endpoint_get_default
from modelhost.services.replies import reply_create

MAX_MESSAGE = 4000


def _system_prompt(interview: Interview) -> str:
    return INTERVIEWER.format(question=interview.participant.deliberation.question)


def interview_check_owner(*, interview: Interview, user: User) -> None:
    if interview.participant.user_id != user.pk:
        raise PermissionDenied("This is someone else's interview.")


@transaction.atomic
def interview_start(*, participant: Participant) -> Interview:
    if participant.consented_at is None:
        raise PermissionDenied("Consent comes first.")
    deliberation = participant.deliberation
    endpoint = deliberation.endpoint or endpoint_get_default()
    system = INTERVIEWER.format(question=deliberation.question)
    interview = Interview.objects.create(participant=participant, endpoint=endpoint,
                                         prompt_version=INTERVIEWER_VERSION, prompt_hash=prompt_hash(system))
    # The opening needs no model: every interview starts at once, whatever the endpoint.
    Message.objects.create(interview=interview, role=Message.Role.ASSISTANT,
                           content=OPENING.format(question=deliberation.question))
    return interview


def _ask_model(interview: Interview, message: Message, user: User) -> None:
    system = _system_prompt(interview)
    card = ValuesCard.objects.filter(interview=interview).first()
    if card is not None:  # the participant may have edited it by hand: revise from what they left, not the chat
        system += CURRENT_CARD.format(card=json.dumps(
            {"title": card.title, "description": card.description, "policies": card.policies}, ensure_ascii=False))
    transcript = [{"role": "system", "content": system}] + [
        {"role": turn.role, "content": turn.content} for turn in interview.messages.exclude(pk=message.pk)
        if turn.content
    ]
    message.reply = reply_create(endpoint=interview.endpoint, messages=transcript, created_by=user)
    message.content = ""
    message.save(update_fields=["reply", "content"])


@transaction.atomic
def interview_reply(*, interview: Interview, text: str, by: User) -> Message:
    """The participant's turn; returns the interviewer's message, whose reply streams next."""
    interview_check_owner(interview=interview, user=by)
    if interview.status != Interview.Status.OPEN:
        raise ValidationError("This interview is submitted.")
    text = text.strip()
    if not text or len(text) > MAX_MESSAGE:
        raise ValidationError(f"Write something (at most {MAX_MESSAGE} characters).")
    pending = interview.messages.filter(role=Message.Role.ASSISTANT, content="", reply__isnull=False).last()
    if pending:  # a reply that failed or never ran: the participant moved on, so it drops out of the transcript
        pending.delete()
    Message.objects.create(interview=interview, role=Message.Role.USER, content=text)
    message = Message.objects.create(interview=interview, role=Message.Role.ASSISTANT)
    _ask_model(interview, message, by)
    return message


@transaction.atomic
def interview_retry(*, message: Message, by: User) -> Message:
    """Ask again for a reply that failed or came back empty; the transcript before it is untouched."""
    interview = message.interview
    interview_check_owner(interview=interview, user=by)
    if message.role != Message.Role.ASSISTANT or message.content or message.reply is None:
        raise ValidationError("Only a failed or empty reply can be retried.")
    _ask_model(interview, message, by)
    return message


@transaction.atomic
def interview_reply_finish(*, message: Message) -> bool:
    """Copy a finished reply into the transcript and take any card it proposes. True when the card changed.
    Runs once per reply (a reconnect finds the message already filled)."""
    message = (Message.objects.select_for_update(of=("self",)).select_related("reply", "interview")
               .filter(pk=message.pk).first())
    reply = message.reply if message else None  # a message dropped while it streamed has nothing to keep
    if reply is None or message.content or reply.status != StreamedReply.Status.DONE or not reply.text.strip():
        return False
    message.content = reply.text
    message.save(update_fields=["content"])
    card = card_parse(reply.text)
    if card is None or message.interview.status != Interview.Status.OPEN:
        return False
    before = CardVersion.objects.filter(card__interview=message.interview).count()
    card_update(interview=message.interview, source=CardVersion.Source.MODEL, **card)
    return CardVersion.objects.filter(card__interview=message.interview).count() > before


@transaction.atomic
def interview_submit(*, interview: Interview, by: User, card_captures: str = "") -> Interview:
    """Submit the card, with the survey answer "did this card capture what you care about?" when given."""
    interview_check_owner(interview=interview, user=by)
    if not hasattr(interview, "card"):
        raise ValidationError("Write or accept a values card first.")
    if card_captures not in ("", *Answer.values):
        raise ValidationError(f"Answer one of {', '.join(Answer.values)}.")
    if interview.status == Interview.Status.OPEN:
        interview.status = Interview.Status.SUBMITTED
        interview.submitted_at = timezone.now()
    interview.card_captures = card_captures or interview.card_captures
    interview.save(update_fields=["status", "submitted_at", "card_captures"])
    return interview

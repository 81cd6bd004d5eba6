""""Wiser than" pairs and votes. Every pair is told in both directions, and each participant is shown the
direction of a pair that has fewer votes so far, so no framing of the story favours one side."""

from itertools import permutations

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from annotate.moralgraph.models import Context, Deliberation, Participant, UpgradeStory, ValuesCard, Vote
from annotate.moralgraph.prompts import STORY_WRITER
from annotate.moralgraph.selectors import graph_cards
from annotate.moralgraph.services.deliberations import deliberation_check_manager
from modelhost.models import GenerationJob, GenerationOutput, ModelEndpoint
from modelhost.services.endpoints import endpoint_get_default
from modelhost.services.jobs import generation_job_create

CLAIM = ("{context}, this person used to focus on \"{a}\". Now they realise \"{b}\" covers everything they need, "
         "so they only focus on that.")
MAX_COMMENT = 2000
MIN_STORY, MAX_STORY = 80, 1500
MAX_PAIRED_CARDS = 60


@transaction.atomic
def stories_build(*, deliberation: Deliberation, by: User) -> int:
    """One story per ordered pair of canonical cards per approved context; existing ones (and their votes) stay."""
    deliberation_check_manager(deliberation=deliberation, user=by)
    cards = list(graph_cards(deliberation=deliberation).filter(canonical__isnull=True))
    limit = getattr(settings, "MORALGRAPH_MAX_PAIRED_CARDS", MAX_PAIRED_CARDS)
    if len(cards) > limit:  # every ordered pair in every context: grows as n squared
        raise ValidationError(f"{len(cards)} values are too many to pair all of them (at most {limit}): "
                              "merge near-duplicates first.")
    contexts = deliberation.contexts.filter(status=Context.Status.APPROVED)
    existing = set(UpgradeStory.objects.filter(context__deliberation=deliberation)
                   .values_list("context_id", "from_card_id", "to_card_id"))
    new = [
        UpgradeStory(context=context, from_card=a, to_card=b,
                     claim=CLAIM.format(context=context.text, a=a.title, b=b.title))
        for context in contexts for a, b in permutations(cards, 2)
        if (context.pk, a.pk, b.pk) not in existing
    ]
    UpgradeStory.objects.bulk_create(new)
    stories_attach(deliberation=deliberation)
    return len(new)


def stories_source(deliberation: Deliberation) -> str:
    return f"moralgraph.deliberation:{deliberation.pk}"


def card_line(card: ValuesCard) -> str:
    return f"{card.title}: {card.description} Attends to: " + "; ".join(card.policies)


def story_prompt(deliberation: Deliberation, story: UpgradeStory) -> str:
    context = story.context.text[:1].lower() + story.context.text[1:]
    return STORY_WRITER.format(context=context, question=deliberation.question, a=card_line(story.from_card),
                               b=card_line(story.to_card))


@transaction.atomic
def stories_write(*, deliberation: Deliberation, by: User, endpoint: ModelEndpoint | None = None) -> GenerationJob:
    """Ask the model host for a story for every pair that has none and no vote yet (a vote keeps what it was
    shown). Both directions get the same prompt, so neither framing is favoured."""
    deliberation_check_manager(deliberation=deliberation, user=by)
    voted = set(Vote.objects.filter(context__deliberation=deliberation)
                .values_list("context", "from_card", "to_card"))
    stories = [story for story in UpgradeStory.objects.filter(context__deliberation=deliberation, story="")
               .select_related("context", "from_card", "to_card")
               if (story.context_id, story.from_card_id, story.to_card_id) not in voted]
    if not stories:
        raise ValidationError("Every pair has a story or a vote already.")
    return generation_job_create(
        label=f"Stories for {deliberation.name}", source=stories_source(deliberation), created_by=by,
        endpoints=[endpoint or deliberation.endpoint or endpoint_get_default()],
        conversations=[(f"story:{story.pk}", story_prompt(deliberation, story)) for story in stories])


@transaction.atomic
def stories_attach(*, deliberation: Deliberation) -> int:
    """Take the stories the model host wrote, once each. A reply too short, too long or holding markup is left
    out: the pair keeps its plain claim, like its reverse may."""
    taken = 0
    outputs = GenerationOutput.objects.filter(request__job__source=stories_source(deliberation)).order_by("pk")
    stories = {f"story:{story.pk}": story for story in
               UpgradeStory.objects.filter(context__deliberation=deliberation, story="")}
    for output in outputs.select_related("request"):
        story, text = stories.get(output.request.key), " ".join(output.text.split())
        if story is None or not MIN_STORY <= len(text) <= MAX_STORY or "```" in text or "<" in text:
            continue
        story.story, story.generation_output = text, output
        story.save(update_fields=["story", "generation_output"])
        del stories[output.request.key]
        taken += 1
    return taken


@transaction.atomic
def vote_submit(*, participant: Participant, story: UpgradeStory, relationship: str, by: User,
                comment: str = "", client_key: str = "") -> tuple[Vote, bool]:
    """One vote per participant, ordered pair and context: the same submit again changes nothing, a new answer
    replaces the old one. Returns (vote, created)."""
    if participant.user_id != by.pk or participant.consented_at is None:
        raise PermissionDenied("Only the consenting participant votes.")
    if story.context.deliberation_id != participant.deliberation_id:
        raise PermissionDenied("This pair belongs to another deliberation.")
    if relationship not in Vote.Relationship.values:
        raise ValidationError(f"Answer one of {', '.join(Vote.Relationship.values)}.")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationError(f"The reason is at most {MAX_COMMENT} characters.")
    key = {"participant": participant, "from_card": story.from_card, "to_card": story.to_card,
           "context": story.context}
    fields = {"relationship": relationship, "comment": comment, "story": story.shown, "client_key": client_key}
    vote = Vote.objects.select_for_update().filter(**key).first()
    if vote is None:
        try:
            with transaction.atomic():
                return Vote.objects.create(**key, **fields, created_at=timezone.now()), True
        except IntegrityError:  # the same submit raced in from another request
            vote = Vote.objects.select_for_update().get(**key)
    if (vote.relationship, vote.comment) != (relationship, comment):
        for name, value in fields.items():
            setattr(vote, name, value)
        vote.save()
    return vote, False

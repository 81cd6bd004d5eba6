""""Wiser than" pairs and votes. Every pair is told in both directions, and each participant is shown the
direction of a pair that has fewer votes so far, so no framing of the story favours one side."""

from itertools import permutations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from annotate.moralgraph.models import Context, Deliberation, Participant, UpgradeStory, ValuesCard, Vote
from annotate.moralgraph.services.deliberations import deliberation_check_manager

STORY = ("{context}, this person used to focus on \"{a}\". Now they realise \"{b}\" covers everything they need, "
         "so they only focus on that.")
MAX_COMMENT = 2000


def graph_cards(*, deliberation: Deliberation):
    """The values that take part in votes: cards of submitted interviews and imported cards."""
    return ValuesCard.objects.filter(deliberation=deliberation).exclude(interview__status="open")


@transaction.atomic
def stories_build(*, deliberation: Deliberation, by: User) -> int:
    """One story per ordered pair of cards per approved context; existing ones (and their votes) stay."""
    deliberation_check_manager(deliberation=deliberation, user=by)
    cards = list(graph_cards(deliberation=deliberation))
    contexts = deliberation.contexts.filter(status=Context.Status.APPROVED)
    existing = set(UpgradeStory.objects.filter(context__deliberation=deliberation)
                   .values_list("context_id", "from_card_id", "to_card_id"))
    new = [
        UpgradeStory(context=context, from_card=a, to_card=b,
                     story=STORY.format(context=context.text, a=a.title, b=b.title))
        for context in contexts for a, b in permutations(cards, 2)
        if (context.pk, a.pk, b.pk) not in existing
    ]
    UpgradeStory.objects.bulk_create(new)
    return len(new)


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
    fields = {"relationship": relationship, "comment": comment, "story": story.story, "client_key": client_key}
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

""""Wiser than" votes into annotate as ordinary pairwise judgments, so human review, metrics and the dataset
exporter (preference pairs) work on them without a second implementation.

One item per context and pair of cards (lower card id first as response "a"), the prompt naming the context and
the question, each card as a response. A participant's "wiser" vote chooses the card moved to; "not wiser" and
"not sure" state no preference and stay out, as do a participant's contradicting votes (wiser both ways) and
votes of imported participants (they have no account). Re-running adds only what is new."""

import json

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from annotate.access import campaign_check_manager
from annotate.models import Campaign
from annotate.moralgraph.models import Deliberation, ValuesCard, Vote
from annotate.moralgraph.services.deliberations import deliberation_check_manager
from annotate.services.exchange import judgments_import


def _card_text(card: ValuesCard) -> str:
    policies = "\n".join(f"- {policy}" for policy in card.policies)
    return f"{card.title}\n{card.description}\n\nAttends to:\n{policies}".replace("\n\n\n", "\n\n")


def _lines(deliberation: Deliberation) -> list[str]:
    votes = (Vote.objects.filter(context__deliberation=deliberation, relationship=Vote.Relationship.UPGRADE,
                                 participant__user__isnull=False)
             .select_related("participant__user", "context", "from_card", "to_card").order_by("id"))
    chosen: dict[tuple, Vote | None] = {}
    for vote in votes:
        key = (vote.participant_id, vote.context_id, frozenset((vote.from_card_id, vote.to_card_id)))
        chosen[key] = None if key in chosen else vote  # wiser in both directions: no preference
    lines = []
    for vote in filter(None, chosen.values()):
        first, second = sorted((vote.from_card, vote.to_card), key=lambda card: card.pk)
        lines.append(json.dumps({
            "item": f"moralgraph-{deliberation.pk}-{vote.context_id}-{first.pk}-{second.pk}",
            "prompt": f"{vote.context.text}, which value is wiser to attend to when responding to: "
                      f"\"{deliberation.question}\"",
            "responses": [{"id": f"moralgraph-{deliberation.pk}-card-{card.pk}", "text": _card_text(card),
                           "model": "values card"} for card in (first, second)],
            "annotator": vote.participant.user.username, "protocol": "pairwise",
            "choice": "a" if vote.to_card_id == first.pk else "b", "rationale": vote.comment,
            "presented_order": [f"moralgraph-{deliberation.pk}-card-{card.pk}"
                                for card in (vote.from_card, vote.to_card)],
            "created_at": vote.created_at.isoformat(),
        }))
    return lines


@transaction.atomic
def pairs_to_campaign(*, deliberation: Deliberation, campaign: Campaign, by: User) -> dict:
    """Write the deliberation's "wiser" votes as judgments of `campaign` (best a campaign of their own: its items
    are served to its members like any other). Returns judgments_import's counts."""
    deliberation_check_manager(deliberation=deliberation, user=by)
    campaign_check_manager(campaign=campaign, user=by)
    if campaign.design != "pairwise":
        raise ValidationError("Wiser-than pairs go into a pairwise campaign.")
    lines = _lines(deliberation)
    if not lines:
        raise ValidationError("No \"wiser\" votes yet.")
    return judgments_import(campaign=campaign, lines=lines)

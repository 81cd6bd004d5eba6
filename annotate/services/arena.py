"""Arena votes: two models' replies to one prompt, judged side by side by a manager in the playground, kept as an
ordinary pairwise item and judgment of a campaign (through the exchange import, so the queue, the report and the
exports read them like any other)."""

import json

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from annotate.access import campaign_check_manager
from annotate.models import Campaign
from annotate.protocols import CHOICES, Protocol
from annotate.services.exchange import judgments_import
from modelhost.models import StreamedReply


@transaction.atomic
def arena_vote_save(*, campaign: Campaign, by: User, reply_a: StreamedReply, reply_b: StreamedReply,
                    choice: str) -> dict:
    """Save `by`'s vote on two finished replies to the same prompt as a pairwise judgment (choice "a", "b" or
    "tie"; a = reply_a). Voting again on the same pair is refused by the import (one judgment per annotator)."""
    campaign_check_manager(campaign=campaign, user=by)
    if campaign.design != Protocol.PAIRWISE:
        raise ValidationError(f"{campaign.name} is not a pairwise campaign: pick one whose design is pairwise.")
    if choice not in CHOICES:
        raise ValidationError("Vote A, B or tie.")
    if reply_a.messages != reply_b.messages:
        raise ValidationError("The two replies answer different prompts.")
    if any(reply.status != StreamedReply.Status.DONE or not reply.text.strip() for reply in (reply_a, reply_b)):
        raise ValidationError("Wait until both replies are finished (a stopped or failed reply is not judged).")
    line = {
        "item": f"arena-{reply_a.pk}-{reply_b.pk}", "prompt": reply_a.messages, "annotator": by.username,
        "protocol": Protocol.PAIRWISE, "choice": choice,
        "responses": [{"id": f"reply-{reply.pk}", "text": reply.text, "model": reply.endpoint.name}
                      for reply in (reply_a, reply_b)],
        "presented_order": [f"reply-{reply_a.pk}", f"reply-{reply_b.pk}"],  # A on the left
    }
    return judgments_import(campaign=campaign, lines=[json.dumps(line)])

"""Routing uncertain items to people (FairEval's human-in-the-loop calibration).

After an AI pass, an item's uncertainty is the entropy of all its AI verdicts (both orders, every sample, every
judge). A campaign that routes sends to people only the items at or above an entropy threshold, or the most
uncertain share of them; items no AI judge has seen stay with people. The queue reads the outcome from
`Item.to_people` (annotate.services.assignments), so the rule is written here once.
"""

import math

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from annotate.access import campaign_check_manager
from annotate.judges import entropy_bits
from annotate.models import Campaign, Item, Judgment
from annotate.protocols import AI_PREFIX, CHOICES

MAX_ENTROPY = math.log2(len(CHOICES))


def item_entropies(*, campaign: Campaign) -> dict[int, float]:
    """Item pk -> entropy of its AI verdicts, for the items AI judges gave verdicts of both orders or samples."""
    verdicts: dict[int, list[str]] = {}
    for item_id, found in Judgment.objects.filter(
            item__campaign=campaign, annotator__username__startswith=AI_PREFIX,
            metadata__has_key="verdicts").order_by("pk").values_list("item_id", "metadata__verdicts"):
        verdicts.setdefault(item_id, []).extend(found)
    return {item_id: entropy_bits(found) for item_id, found in verdicts.items() if found}


def routed_to_people(entropies: dict[int, float], *, routing: str, threshold: float) -> set[int]:
    """The items (of those with an entropy) that go to people under the campaign's routing rule."""
    if routing == Campaign.Routing.ENTROPY:
        return {item for item, entropy in entropies.items() if entropy >= threshold - 1e-9}
    if routing == Campaign.Routing.SHARE:
        ranked = sorted(entropies, key=lambda item: (-entropies[item], item))
        return set(ranked[:math.ceil(min(threshold, 1.0) * len(ranked) - 1e-9)])
    return set(entropies)


@transaction.atomic
def items_route(*, campaign: Campaign) -> int:
    """Write which items go to people; returns how many are kept from them."""
    entropies = item_entropies(campaign=campaign) if campaign.routing != Campaign.Routing.OFF else {}
    people = routed_to_people(entropies, routing=campaign.routing, threshold=campaign.routing_threshold)
    kept = set(entropies) - people
    items = Item.objects.filter(campaign=campaign)
    items.exclude(pk__in=kept).filter(to_people=False).update(to_people=True)
    items.filter(pk__in=kept, to_people=True).update(to_people=False)
    return len(kept)


@transaction.atomic
def campaign_routing_set(*, campaign: Campaign, routing: str, threshold: float, by: User) -> int:
    """Set the campaign's routing rule and apply it to the AI verdicts so far; returns the items kept from people."""
    campaign_check_manager(campaign=campaign, user=by)
    if routing not in Campaign.Routing.values:
        raise ValidationError({"routing": f"Choose one of {', '.join(Campaign.Routing.values)}."})
    high = 1.0 if routing == Campaign.Routing.SHARE else MAX_ENTROPY
    if not 0 <= threshold <= high:
        raise ValidationError({"routing_threshold": f"Give a number from 0 to {high:.3g}."})
    campaign.routing, campaign.routing_threshold = routing, threshold
    campaign.save(update_fields=["routing", "routing_threshold"])
    return items_route(campaign=campaign)

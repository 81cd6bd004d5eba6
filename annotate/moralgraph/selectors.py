"""Reads, scoped to what the user may see: members see their campaigns' deliberations, managers manage those of
the campaigns they manage; anything else is not found."""

import json
import random
from collections import Counter
from datetime import datetime

import networkx as nx
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Coalesce

from accounts.models import User
from annotate.access import campaigns_managed_by, campaigns_visible_to
from annotate.moralgraph import graph
from annotate.moralgraph.conf import thresholds_for
from annotate.moralgraph.models import (
    Context,
    DedupCheck,
    Deliberation,
    Interview,
    Participant,
    UpgradeStory,
    ValuesCard,
    Vote,
)
from modelhost.models import GenerationOutput


def deliberation_visible_to(*, user: User) -> QuerySet[Deliberation]:
    return Deliberation.objects.filter(campaign__in=campaigns_visible_to(user=user)).select_related("campaign")


def deliberation_managed_by(*, user: User) -> QuerySet[Deliberation]:
    return Deliberation.objects.filter(campaign__in=campaigns_managed_by(user=user)).select_related("campaign")


def participant_of(*, deliberation: Deliberation, user: User) -> Participant | None:
    return Participant.objects.filter(deliberation=deliberation, user=user).first()


def interview_of(*, user: User) -> QuerySet[Interview]:
    return Interview.objects.filter(participant__user=user).select_related("participant__deliberation", "endpoint")


def graph_cards(*, deliberation: Deliberation) -> QuerySet[ValuesCard]:
    """The values that take part in votes: cards of submitted interviews and imported cards."""
    return ValuesCard.objects.filter(deliberation=deliberation).exclude(interview__status=Interview.Status.OPEN)


def vote_draw(*, participant: Participant, size: int = 5, seed: int | None = None) -> list[UpgradeStory]:
    """Pairs this participant has not judged in a context (in either direction), least-voted first. Of a pair,
    the direction with fewer votes is shown (a coin decides ties), so both framings get the same exposure."""
    stories = (UpgradeStory.objects.filter(context__deliberation=participant.deliberation,
                                           context__status=Context.Status.APPROVED,
                                           from_card__canonical__isnull=True, to_card__canonical__isnull=True)
               .select_related("context", "from_card", "to_card"))
    votes = Counter(Vote.objects.filter(context__deliberation=participant.deliberation)
                    .values_list("context_id", "from_card_id", "to_card_id"))
    judged = {(context, frozenset((a, b))) for context, a, b in
              Vote.objects.filter(participant=participant).values_list("context_id", "from_card_id", "to_card_id")}
    rng = random.Random(seed)
    chosen: dict[tuple, tuple] = {}
    for story in stories:
        pair = (story.context_id, frozenset((story.from_card_id, story.to_card_id)))
        if pair in judged:
            continue
        own = votes[(story.context_id, story.from_card_id, story.to_card_id)]
        other = votes[(story.context_id, story.to_card_id, story.from_card_id)]
        rank = (own + other, own, rng.random())
        if pair not in chosen or rank < chosen[pair][0]:
            chosen[pair] = (rank, story)
    ordered = sorted(chosen.values(), key=lambda entry: (entry[0][0], entry[0][2]))
    return [story for _, story in ordered[:size]]


def graph_votes(*, deliberation: Deliberation, until: datetime | None = None,
                context: str | None = None) -> list[graph.VoteRow]:
    votes = Vote.objects.filter(context__deliberation=deliberation)
    if until is not None:
        votes = votes.filter(created_at__lte=until)
    if context:
        votes = votes.filter(context__text=context)
    # A merged card's votes count on the card it was merged into; a vote between two merged halves drops out.
    rows = votes.order_by("created_at", "id").values_list(
        Coalesce("from_card__canonical__external_id", "from_card__external_id"),
        Coalesce("to_card__canonical__external_id", "to_card__external_id"), "context__text", "relationship")
    return [graph.VoteRow(from_id, to_id, text, relationship) for from_id, to_id, text, relationship in rows
            if from_id != to_id]


def graph_build(*, deliberation: Deliberation, compat: str = "", until: datetime | None = None,
                context: str | None = None) -> dict:
    """The moral graph as the published JSON: `values` (the nodes of kept edges, with PageRank) and `edges`."""
    edges = graph.edges_kept(graph.edges_aggregate(graph_votes(deliberation=deliberation, until=until,
                                                              context=context), compat=compat),
                             thresholds_for(compat))
    ranks = graph.pagerank_compat(edges) if compat else graph.pagerank(edges)
    cards = {card.external_id: card for card in
             ValuesCard.objects.filter(deliberation=deliberation, external_id__in=ranks)}
    values = [
        {"id": json.loads(key), "title": cards[key].title, "description": cards[key].description,
         "policies": cards[key].policies, "pagerank": ranks[key]}
        for key in graph.nodes_of(edges)
    ]
    return {"values": values, "edges": [_edge_json(edge, compat) for edge in edges]}


def _edge_json(edge: graph.Edge, compat: str) -> dict:
    summary = {"wiserLikelihood": edge.likelihood, "entropy": edge.entropy}
    if not compat:
        summary["wiserLowerBound"] = edge.lower_bound
    return {"sourceValueId": json.loads(edge.source), "wiserValueId": json.loads(edge.wiser),
            "contexts": sorted(edge.contexts), "counts": dict(edge.counts), "summary": summary}


def survey_summary(*, deliberation: Deliberation) -> dict:
    """The paper's checks: the card captured what you care about, the graph is fair, the merged card still
    represents you. Each the share of "yes" among answers (unsure counts as not yes)."""
    def share(answers: list[str]) -> dict:
        yes = answers.count("yes")
        return {"yes": yes, "answers": len(answers), "percent": round(100 * yes / len(answers), 1) if answers else None}

    checks = DedupCheck.objects.filter(participant__deliberation=deliberation)
    captures = Interview.objects.filter(participant__deliberation=deliberation).exclude(card_captures="")
    fair = Participant.objects.filter(deliberation=deliberation).exclude(graph_fair="")
    return {"captures": share(list(captures.values_list("card_captures", flat=True))),
            "fair": share(list(fair.values_list("graph_fair", flat=True))),
            "merged": share(list(checks.values_list("answer", flat=True)))}


def participant_position(*, participant: Participant) -> list[dict]:
    """Where the participant's submitted values stand in the current graph: rank (1 = wisest) of how many."""
    data = graph_build(deliberation=participant.deliberation)
    order = [value["id"] for value in sorted(data["values"], key=lambda value: -value["pagerank"])]
    positions = []
    for card in ValuesCard.objects.filter(interview__participant=participant, interview__status="submitted"):
        key = json.loads(card.external_id)
        positions.append({"title": card.title, "rank": order.index(key) + 1 if key in order else None,
                          "of": len(order)})
    return positions


def dedup_verdicts(*, deliberation: Deliberation) -> dict[int, str]:
    """What the model host said of each checked proposal (its latest answer): "same", "different" or "unclear"."""
    outputs = (GenerationOutput.objects.filter(request__job__source=f"moralgraph.dedup:{deliberation.pk}",
                                               request__key__startswith="dedup:")
               .order_by("pk").values_list("request__key", "text"))
    verdicts = {}
    for key, text in outputs:
        first = text.strip().split(maxsplit=1)[0].strip(".,:!*").upper() if text.strip() else ""
        verdicts[int(key.removeprefix("dedup:"))] = {"SAME": "same", "DIFFERENT": "different"}.get(first, "unclear")
    return verdicts


def dedup_checks_open(*, participant: Participant) -> QuerySet[ValuesCard]:
    """The participant's cards that were merged into another and whose merge they have not judged yet."""
    judged = DedupCheck.objects.filter(card=OuterRef("pk"), canonical=OuterRef("canonical"))
    return (ValuesCard.objects.filter(interview__participant=participant, canonical__isnull=False)
            .exclude(Exists(judged)).select_related("canonical"))


def graph_graphml(data: dict) -> str:
    """The graph of `graph_build` as GraphML (for Gephi and friends): one edge per context in the default mode."""
    multigraph = nx.MultiDiGraph()
    for value in data["values"]:
        multigraph.add_node(str(value["id"]), title=value["title"], description=value["description"],
                            policies="\n".join(value["policies"]), pagerank=value["pagerank"])
    for edge in data["edges"]:
        multigraph.add_edge(str(edge["sourceValueId"]), str(edge["wiserValueId"]),
                            contexts="; ".join(edge["contexts"]), **edge["counts"], **edge["summary"])
    return "\n".join(nx.generate_graphml(multigraph))

"""The moral graph's math, as pure functions over plain vote rows (no database).

Two modes:
- default: one edge per (context, from, to), entropy over the four answer categories, a Wilson lower bound on
  P(wiser), weighted PageRank with the dangling nodes' mass redistributed (networkx).
- compat "mai-2023": the published 2023 algorithm as it was, so published graphs rebuild edge for edge: contexts
  pooled per ordered pair, an entropy that also counts `impressions` as a category, its thresholds, and its
  PageRank that lets dangling mass leak away.

A vote (A, B, ctx, rel) counts for A->B (wiser / not wiser / unsure) and mirrors into B->A: an "upgrade" to B is a
"less wise" for B->A, and the vote is an impression of both.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import networkx as nx

COMPAT_MAI_2023 = "mai-2023"
CATEGORIES = ("markedWiser", "markedNotWiser", "markedLessWise", "markedUnsure")
COUNT_FOR = {"upgrade": "markedWiser", "no_upgrade": "markedNotWiser", "not_sure": "markedUnsure"}
DAMPING = 0.85
COMPAT_ITERATIONS = 100


@dataclass(frozen=True)
class VoteRow:
    from_id: object
    to_id: object
    context: str
    relationship: str  # "upgrade" | "no_upgrade" | "not_sure"


@dataclass(frozen=True)
class Thresholds:
    """An edge is kept when every set threshold holds."""

    min_wiser: int = 2
    min_likelihood: float = 0.33
    max_entropy: float | None = None
    min_lower_bound: float | None = 0.2


COMPAT_THRESHOLDS = Thresholds(min_wiser=2, min_likelihood=0.33, max_entropy=1.69, min_lower_bound=None)


@dataclass
class Edge:
    source: object
    wiser: object
    contexts: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*CATEGORIES, "impressions"), 0))
    likelihood: float = 0.0
    entropy: float = 0.0
    lower_bound: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts[name] for name in CATEGORIES)


def entropy(counts: Iterable[int]) -> float:
    """Shannon entropy in bits of a distribution given by counts (empty categories add nothing)."""
    counts = [count for count in counts if count > 0]
    total = sum(counts)
    return -sum(count / total * math.log2(count / total) for count in counts) if total else 0.0


def wilson_lower_bound(successes: int, n: int, z: float = 1.96) -> float:
    """The lower end of the Wilson score interval for a proportion (95% by default); 0 without data."""
    if n == 0:
        return 0.0
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def edges_aggregate(votes: Iterable[VoteRow], *, compat: str = "") -> list[Edge]:
    """Every ordered pair that got an impression, with its counts and summary, in first-seen order."""
    edges: dict[tuple, Edge] = {}

    def edge(source, wiser, context: str) -> Edge:
        key = (source, wiser) if compat else (context, source, wiser)
        if key not in edges:
            edges[key] = Edge(source=source, wiser=wiser)
        edges[key].contexts.add(context)
        edges[key].counts["impressions"] += 1
        return edges[key]

    for vote in votes:
        edge(vote.from_id, vote.to_id, vote.context).counts[COUNT_FOR[vote.relationship]] += 1
        mirror = edge(vote.to_id, vote.from_id, vote.context)
        if vote.relationship == "upgrade":
            mirror.counts["markedLessWise"] += 1
    for item in edges.values():
        total = item.total
        item.likelihood = (item.counts["markedWiser"] - item.counts["markedLessWise"]) / total if total else 0.0
        # The 2023 entropy ran over the counts object, `impressions` included; kept so its 1.69 cut means the same.
        names = (*CATEGORIES, "impressions") if compat else CATEGORIES
        item.entropy = entropy(item.counts[name] for name in names)
        item.lower_bound = wilson_lower_bound(item.counts["markedWiser"], total)
    return list(edges.values())


def edges_kept(edges: Iterable[Edge], thresholds: Thresholds) -> list[Edge]:
    def kept(edge: Edge) -> bool:
        return (edge.counts["markedWiser"] >= thresholds.min_wiser
                and edge.likelihood >= thresholds.min_likelihood
                and (thresholds.max_entropy is None or edge.entropy <= thresholds.max_entropy)
                and (thresholds.min_lower_bound is None or edge.lower_bound >= thresholds.min_lower_bound))

    return [edge for edge in edges if kept(edge)]


def nodes_of(edges: Iterable[Edge]) -> list:
    """The values the edges reference, in first-seen order."""
    return list(dict.fromkeys(node for edge in edges for node in (edge.source, edge.wiser)))


def pagerank(edges: list[Edge]) -> dict:
    """Rank flows from the less wise value to the wiser one, weighted by wiser likelihood. Parallel edges of
    several contexts add up; dangling nodes spread their mass over all nodes (networkx), so ranks sum to 1."""
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes_of(edges))
    for edge in edges:
        previous = graph.get_edge_data(edge.source, edge.wiser, default={"weight": 0.0})["weight"]
        graph.add_edge(edge.source, edge.wiser, weight=previous + edge.likelihood)
    return nx.pagerank(graph, alpha=DAMPING, weight="weight") if graph else {}


def pagerank_compat(edges: list[Edge]) -> dict:
    """The 2023 weighted PageRank: 1/N start, 100 fixed iterations, dangling mass dropped (ranks need not sum to 1)."""
    nodes = nodes_of(edges)
    if not nodes:
        return {}
    n = len(nodes)
    out_weight = {node: 0.0 for node in nodes}
    for edge in edges:
        out_weight[edge.source] += edge.likelihood
    rank = dict.fromkeys(nodes, 1 / n)
    for _ in range(COMPAT_ITERATIONS):
        new = dict.fromkeys(nodes, (1 - DAMPING) / n)
        for edge in edges:
            new[edge.wiser] += DAMPING * rank[edge.source] * edge.likelihood / out_weight[edge.source]
        rank = new
    return rank

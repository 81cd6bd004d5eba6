"""The graph math on hand-computed examples."""

import networkx as nx
import pytest

from annotate.moralgraph.graph import (
    COMPAT_MAI_2023,
    COMPAT_THRESHOLDS,
    Thresholds,
    VoteRow,
    edges_aggregate,
    edges_kept,
    entropy,
    pagerank,
    pagerank_compat,
    wilson_lower_bound,
)


def votes(*rows):
    return [VoteRow(*row) for row in rows]


def by_pair(edges):
    return {(edge.source, edge.wiser): edge for edge in edges}


THREE_WISER_ONE_UNSURE = votes(*[("a", "b", "When in distress", "upgrade")] * 3,
                               ("a", "b", "When in distress", "not_sure"))


def test_the_compatibility_entropy_counts_impressions_as_a_category():
    edge = by_pair(edges_aggregate(THREE_WISER_ONE_UNSURE, compat=COMPAT_MAI_2023))["a", "b"]
    assert edge.counts == {"markedWiser": 3, "markedNotWiser": 0, "markedLessWise": 0, "markedUnsure": 1,
                           "impressions": 4}
    assert edge.likelihood == 0.75
    assert edge.entropy == pytest.approx(1.4056, abs=1e-4)  # the published figure


def test_the_default_entropy_runs_over_the_answers_only():
    edge = by_pair(edges_aggregate(THREE_WISER_ONE_UNSURE))["a", "b"]
    assert edge.entropy == pytest.approx(0.8113, abs=1e-4)  # H(3/4, 1/4)


def test_a_vote_mirrors_into_the_opposite_direction():
    mirror = by_pair(edges_aggregate(THREE_WISER_ONE_UNSURE))["b", "a"]
    assert mirror.counts["markedLessWise"] == 3 and mirror.counts["impressions"] == 4
    assert mirror.likelihood == -1.0


def test_stories_in_both_directions_meet_in_one_edge():
    rows = votes(("a", "b", "When x", "upgrade"), ("b", "a", "When x", "upgrade"), ("b", "a", "When x", "no_upgrade"))
    edge = by_pair(edges_aggregate(rows))["a", "b"]
    assert edge.counts["markedWiser"] == 1 and edge.counts["markedLessWise"] == 1
    assert edge.likelihood == 0.0


def test_compatibility_pools_contexts_per_pair_and_the_default_splits_them():
    rows = votes(("a", "b", "When x", "upgrade"), ("a", "b", "When x", "upgrade"), ("a", "b", "When y", "upgrade"))
    pooled = edges_kept(edges_aggregate(rows, compat=COMPAT_MAI_2023), COMPAT_THRESHOLDS)
    assert [(e.source, e.wiser, sorted(e.contexts), e.counts["markedWiser"]) for e in pooled] == [
        ("a", "b", ["When x", "When y"], 3)]
    split = edges_aggregate(rows)
    assert sorted((sorted(e.contexts), e.source, e.counts["markedWiser"]) for e in split if e.source == "a") == [
        (["When x"], "a", 2), (["When y"], "a", 1)]
    assert [sorted(e.contexts) for e in edges_kept(split, Thresholds())] == [["When x"]]  # y has one vote only


def test_the_wilson_lower_bound_matches_the_formula():
    assert wilson_lower_bound(2, 2) == pytest.approx(0.34237, abs=1e-5)
    assert wilson_lower_bound(0, 0) == 0.0
    assert wilson_lower_bound(50, 100) == pytest.approx(0.40383, abs=1e-5)


def test_an_edge_needs_every_threshold():
    edge = edges_aggregate(votes(("a", "b", "When x", "upgrade"), ("a", "b", "When x", "upgrade"),
                                 ("a", "b", "When x", "no_upgrade")))[0]
    assert edge.lower_bound == pytest.approx(0.2077, abs=1e-4)
    assert edges_kept([edge], Thresholds(min_lower_bound=0.2)) == [edge]
    assert edges_kept([edge], Thresholds(min_lower_bound=0.3)) == []
    assert edges_kept([edge], Thresholds(min_wiser=3)) == []


def test_entropy_of_nothing_is_zero():
    assert entropy([0, 0]) == 0.0
    assert entropy([1, 1]) == 1.0


CYCLE = votes(*[("a", "b", "When x", "upgrade")] * 2, *[("b", "c", "When x", "upgrade")] * 3,
              *[("c", "d", "When x", "upgrade")] * 2, ("d", "a", "When x", "upgrade"),
              ("a", "c", "When x", "upgrade"), ("a", "c", "When x", "not_sure"))


def test_both_pageranks_agree_with_networkx_when_no_node_dangles():
    kept = [e for e in edges_aggregate(CYCLE) if e.likelihood > 0]
    graph = nx.DiGraph()
    for edge in kept:
        graph.add_edge(edge.source, edge.wiser, weight=edge.likelihood)
    expected = nx.pagerank(graph, alpha=0.85, weight="weight")
    for ranks in (pagerank(kept), pagerank_compat(kept)):
        assert ranks == pytest.approx(expected, abs=1e-6)


def test_a_dangling_wiser_value_keeps_its_mass_in_the_default_and_leaks_it_in_compatibility():
    kept = [e for e in edges_aggregate(votes(("a", "b", "When x", "upgrade"))) if e.likelihood > 0]
    ranks = pagerank(kept)
    # r_a = 0.075 + 0.85 * r_b / 2 and r_a + r_b = 1, by hand: r_a = 0.5 / 1.425
    assert ranks["a"] == pytest.approx(0.5 / 1.425, abs=1e-5)
    assert sum(ranks.values()) == pytest.approx(1.0)
    compat = pagerank_compat(kept)
    assert compat == pytest.approx({"a": 0.075, "b": 0.075 + 0.85 * 0.075})
    assert sum(compat.values()) < 0.25

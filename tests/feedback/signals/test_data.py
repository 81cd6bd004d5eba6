"""The labelled set keeps the promises the figures rest on."""

from collections import Counter

from feedback.signals import stage1
from feedback.signals.rubric import CATEGORIES, DSAT, SAT

ROWS = stage1.read_rows()


def test_size_coverage_and_context():
    assert len(ROWS) >= 400
    counts = Counter(c for r in ROWS for c in r["categories"])
    assert all(counts[c] >= 10 for c in CATEGORIES), counts
    for r in ROWS:
        roles = [m["role"] for m in r["messages"]]
        assert 2 <= len(roles) - 1 <= 6 and roles[-2:] == ["assistant", "user"]
        assert r["sat"] == any(c in SAT for c in r["categories"])
        assert r["dsat"] == any(c in DSAT for c in r["categories"])


def test_held_out_split_is_by_line_and_conversation():
    test = [r for r in ROWS if r["split"] == "test"]
    train = [r for r in ROWS if r["split"] == "train"]
    assert 0.25 <= len(test) / len(ROWS) <= 0.35
    assert not {r["line"] for r in test} & {r["line"] for r in train}
    assert not {r["conversation"] for r in test} & {r["conversation"] for r in train}
    assert {"booking", "support", "chat"} <= {r["domain"] for r in test}


def test_hard_negatives_are_present_on_both_sides():
    for split in ("train", "test"):
        kinds = Counter(r["kind"] for r in ROWS if r["split"] == split and not r["dsat"])
        for kind in ("neg:new_topic", "neg:followup", "neg:clarify", "neg:typo", "neg:thanks_new"):
            assert kinds[kind] >= 3, (split, kind)

"""The rubric's shape and the export_signals line."""

import json

from feedback.signals.rubric import CATEGORIES, DSAT, SAT, Signal, signal_line


def test_nine_and_nine_categories_with_descriptions():
    assert len(SAT) == 9 and len(DSAT) == 9 and len(set(CATEGORIES)) == 18
    assert all(description and len(description) < 120 for description in {**SAT, **DSAT}.values())


def test_signal_line_has_exactly_the_issue_fields():
    signal = Signal(sat=True, dsat=True, categories=["gratitude", "revision"], confidence=0.912345,
                    method="stage1:minilm-l6-lr-abc", rationale="not exported")
    line = signal_line("imported-42", 3, signal)
    assert line == {"conversation": "imported-42", "turn": 3, "sat": True, "dsat": True,
                    "categories": ["gratitude", "revision"], "confidence": 0.9123, "method": "stage1:minilm-l6-lr-abc"}
    assert json.loads(json.dumps(line)) == line  # one JSON line as it is

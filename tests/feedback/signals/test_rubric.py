"""The rubric's shape and the export_signals line."""

import json

from feedback.signals.rubric import CATEGORIES, DSAT, SAT, Signal, signal_line, user_turns


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


def test_user_turns_are_user_messages_right_after_an_assistant_reply():
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "capital of France?"},
        {"role": "user", "content": "and Italy?"},  # follows a user message: reacts to no reply
        {"role": "assistant", "content": "Paris and Rome."},
        {"role": "user", "content": "thanks"},
    ]
    turns = user_turns(messages)
    assert [index for index, _ in turns] == [3, 6]
    assert turns[1][1] == messages and turns[0][1][-2]["content"] == "Hello!"
    assert user_turns(messages[:2]) == []

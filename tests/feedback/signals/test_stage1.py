"""Stage 1 with the real MiniLM and the saved model: clear cases, hard negatives, thresholds, reproducibility."""

import pytest

from feedback.signals import stage1
from feedback.signals.metrics import evaluate
from feedback.signals.rubric import DSAT, SAT
from tests.feedback.signals.conftest import turn

HOTEL = ("Can you suggest a hotel in Vienna near the opera for two nights?",
         "Hotel Sacher is right behind the opera, about 450 EUR a night.")
PHARMACY = ("What time does the pharmacy on Main Street close?",
            "It closes at 6 pm on weekdays. Do you want the weekend hours too?")

CLEAR_DSAT = [
    ("That's wrong, the Sacher is much more expensive than that.", "factual_error"),
    ("No, this is useless, I said a cheap hotel.", None),
    ("You ignored my budget completely.", "ignored"),
    ("Way too long, make it shorter.", "revision"),
    ("This answer is terrible.", "negative_feedback"),
]
CLEAR_SAT = ["Thank you so much, that's perfect!", "Great, I'll book it. Thanks!", "Thanks, that's all I needed. Bye!"]
HARD_NEGATIVES = [
    (HOTEL, "How far is it from the train station?"),  # polite follow-up
    (HOTEL, "Sorry, I meant three nights, not two."),  # the user's own mistake
    (HOTEL, "Is breakfast included in that price?"),  # clarifying question
    (HOTEL, "Can you also recommend a museum for Sunday?"),  # new request
    (PHARMACY, "No, just weekdays."),  # a "no" that answers the assistant's question
]


def classify(embedder, model, context, text, **kwargs):
    return stage1.classify([turn(*context, text)], model, embedder, **kwargs)[0]


@pytest.mark.parametrize(("text", "category"), CLEAR_DSAT)
def test_flags_clear_dissatisfaction(embedder, model, text, category):
    signal = classify(embedder, model, HOTEL, text)
    assert signal.dsat and not signal.sat
    assert set(signal.categories) <= set(DSAT)
    if category:
        assert category in signal.categories
    assert signal.method == f"stage1:{model.version}" and 0.5 < signal.confidence <= 1


@pytest.mark.parametrize("text", CLEAR_SAT)
def test_flags_clear_satisfaction(embedder, model, text):
    signal = classify(embedder, model, HOTEL, text)
    assert signal.sat and not signal.dsat
    assert "gratitude" in signal.categories and set(signal.categories) <= set(SAT)


@pytest.mark.parametrize(("context", "text"), HARD_NEGATIVES)
def test_leaves_hard_negatives_alone(embedder, model, context, text):
    signal = classify(embedder, model, context, text)
    assert not signal.dsat and not signal.sat and signal.categories == []


def test_thresholds_are_overridable_per_head(embedder, model):
    text = "Way too long, make it shorter."
    assert not classify(embedder, model, HOTEL, text, thresholds={"dsat": 1.01}).dsat
    forced = classify(embedder, model, HOTEL, text, thresholds={c: 0.0 for c in DSAT})
    assert set(forced.categories) == set(DSAT)


def test_a_threshold_for_no_such_head_is_refused(embedder, model):
    with pytest.raises(ValueError, match="No such heads"):
        classify(embedder, model, HOTEL, "Thanks!", thresholds={"dissatisfied": 0.9})


def test_thresholds_come_from_the_environment_as_head_equals_number(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from config.env import env_floats

    monkeypatch.setenv("FEEDBACK_SIGNAL_THRESHOLDS", "dsat=0.9, factual_error=0.55")
    assert env_floats("FEEDBACK_SIGNAL_THRESHOLDS") == {"dsat": 0.9, "factual_error": 0.55}
    monkeypatch.setenv("FEEDBACK_SIGNAL_THRESHOLDS", "dsat")
    with pytest.raises(ImproperlyConfigured, match="key=number"):
        env_floats("FEEDBACK_SIGNAL_THRESHOLDS")
    monkeypatch.delenv("FEEDBACK_SIGNAL_THRESHOLDS")
    assert env_floats("FEEDBACK_SIGNAL_THRESHOLDS") == {}


def test_batch_order_and_empty_batch(embedder, model):
    texts = ["This answer is terrible.", "Thanks, that's all I needed. Bye!", "Is breakfast included?"]
    batch = stage1.classify([turn(*HOTEL, t) for t in texts], model, embedder)
    assert [(s.sat, s.dsat) for s in batch] == [(False, True), (True, False), (False, False)]
    assert stage1.classify([], model, embedder) == []


def test_saved_model_reproduces_its_held_out_figures(embedder, model):
    rows = [r for r in stage1.read_rows() if r["split"] == "test"]
    figures = evaluate(stage1.classify([r["messages"] for r in rows], model, embedder), rows)
    for flag in ("sat", "dsat"):
        for measure in ("precision", "recall", "kappa"):
            assert figures[flag][measure] == pytest.approx(model.figures[flag][measure], abs=0.02), (flag, measure)


def test_save_and_load_round_trip(model, tmp_path):
    path = tmp_path / "stage1.npz"
    model.save(path)
    again = stage1.Stage1Model.load(path)
    assert again.version == model.version and again.thresholds == model.thresholds
    assert (again.weights == model.weights.astype("float32")).all()

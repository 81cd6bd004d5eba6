"""Stage 2 mechanics on the tiny random model: its verdicts mean nothing, only the plumbing is checked."""

import pytest

from feedback.signals.rubric import CATEGORIES, DSAT, Signal
from feedback.signals.stage2 import (
    FLR_NEGATIVE,
    FLR_POSITIVE,
    NONE,
    ChoiceJudge,
    LikelihoodJudge,
    follow_up_likelihood,
    judge_prompt,
    refine,
)
from modelhost.backends.transformers_backend import TransformersBackend
from tests.feedback.signals.conftest import turn

TURNS = [
    turn("capital of France?", "Berlin.", "No, that's wrong."),
    turn("capital of France?", "Paris.", "Thanks!"),
    turn("capital of France?", "Paris.", "And of Italy?"),
]


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    return TransformersBackend(tiny_model_dir, allowed_dirs=[tiny_model_dir.parent], device="cpu", dtype="float32",
                               max_context=256)


@pytest.fixture(scope="module", params=[LikelihoodJudge, ChoiceJudge])
def judge(backend, request):
    return request.param(backend, "tiny")


@pytest.fixture(scope="module")
def choice(backend):
    return ChoiceJudge(backend, "tiny")


def test_the_likelihood_prompt_marks_the_last_user_message():
    prompt = judge_prompt(TURNS[0])
    assert prompt[0]["role"] == "system" and prompt[-1]["role"] == "user"
    assert "User (last message): No, that's wrong." in prompt[-1]["content"]


def test_the_choice_prompt_lists_the_lettered_options_first_and_marks_the_last_user_message(choice):
    prompt = choice.prompt(TURNS[0])
    assert prompt[0] == choice.prompt(TURNS[1])[0], "the instructions are the same for every turn"
    assert "A. The user thanks the assistant" in prompt[0]["content"] and "S. The user asks or tells" in \
        prompt[0]["content"]
    assert prompt[-1] == {"role": "user", "content": "User: capital of France?\nAssistant: Berlin.\n"
                                                     "User (last message): No, that's wrong."}


def test_choice_scores_are_each_letters_log_probability_as_the_answer_less_the_content_free_one(choice):
    letters = choice.backend.score(choice.prompt(TURNS[0]), choice.letters)  # the unbatched path, one row per letter
    scores = choice.scores(TURNS[0])
    assert list(scores.values()) == pytest.approx([r - b for r, b in zip(letters, choice.baseline, strict=True)],
                                                  abs=1e-4)


def test_scores_every_option_calibrated_and_deterministic(judge):
    scores = judge.scores(TURNS[0])
    assert list(scores) == [*CATEGORIES, NONE]
    assert scores == judge.scores(TURNS[0])


def test_turns_scored_together_score_as_they_do_alone(judge):
    together = judge.scores_many(TURNS)
    for messages, scores in zip(TURNS, together, strict=True):
        assert scores == pytest.approx(judge.scores(messages), abs=1e-4)


def test_judging_one_side_scores_only_its_options_and_agrees_with_the_full_judgment(judge):
    assert set(judge.scores_many(TURNS[:1], [{"dsat"}])[0]) == {*DSAT, NONE}
    full, dsat_only = judge.judge(TURNS), judge.judge(TURNS, [{"dsat"}] * len(TURNS))
    for whole, side in zip(full, dsat_only, strict=True):
        assert not side.sat and side.dsat == whole.dsat
        assert side.categories == [c for c in whole.categories if c in DSAT]


def test_judge_returns_one_consistent_signal_per_turn(judge):
    signals = judge.judge(TURNS)
    assert len(signals) == 3
    for signal in signals:
        assert signal.method == "stage2:tiny" and 0 < signal.confidence < 1
        assert len(signal.categories) == signal.sat + signal.dsat


def test_refine_only_re_judges_flagged_turns_never_raises_a_flag_and_keeps_stage_1s_categories(judge):
    first = [
        Signal(False, True, ["factual_error"], 0.9, "stage1:v", "r"),
        Signal(True, False, ["gratitude"], 0.9, "stage1:v", "r"),
        Signal(False, False, [], 0.8, "stage1:v", "r"),
    ]
    refined = refine(TURNS, first, judge)
    assert refined[2] == first[2]
    verdicts = judge.judge(TURNS[:2])
    for before, after, verdict in zip(first, refined, verdicts, strict=False):
        assert after.sat == (before.sat and verdict.sat) and after.dsat == (before.dsat and verdict.dsat)
        assert after.method == "stage1:v+stage2:tiny"
        kept = {"sat": after.sat, "dsat": after.dsat}
        assert after.categories == [c for c in before.categories if kept["dsat" if c in DSAT else "sat"]]


def test_follow_up_likelihood_is_pleased_minus_unhappy_follow_ups_after_the_reply(judge):
    flr = follow_up_likelihood(judge.backend, TURNS)
    assert len(flr) == 3 and flr == follow_up_likelihood(judge.backend, TURNS)
    # It never reads the user's reaction: the last two turns share the reply "Paris." and so their FLR.
    assert flr[1] == pytest.approx(flr[2]) and flr[0] != pytest.approx(flr[1])
    (scores,) = judge.backend.score_many([(TURNS[0][:-1], FLR_POSITIVE + FLR_NEGATIVE)], role="user")
    half = len(FLR_POSITIVE)
    assert flr[0] == pytest.approx(sum(scores[:half]) / half - sum(scores[half:]) / half)

"""Each cue on hand-written turns, including the context that changes its meaning."""

import pytest

from feedback.signals import cues
from tests.feedback.signals.conftest import turn

ASK = "Which day suits you, Monday or Tuesday?"
ANSWER = "Paris is the capital of Italy."


def test_asked_question_reads_the_last_assistant_reply():
    assert cues.asked_question(turn("book me a slot", ASK, "Monday")) == 1
    assert cues.asked_question(turn("capital of Italy?", ANSWER, "hm")) == 0


@pytest.mark.parametrize("text", ["No, that's wrong", "nope", "That is not what I asked", "this doesn't work"])
def test_negation_fires_on_denials(text):
    assert cues.negation(turn("q", ANSWER, text)) == 1


def test_negation_ignores_plain_requests_and_polite_formulas():
    assert cues.negation(turn("q", ANSWER, "Can you add the opening hours?")) == 0
    assert cues.negation(turn("q", ANSWER, "No worries if not, but could you also list the opening hours?")) == 0
    assert cues.negation(turn("q", ANSWER, "no rush, but what would the total cost be?")) == 0


def test_rejects_answer_only_when_no_question_was_asked():
    assert cues.rejects_answer(turn("capital of Italy?", ANSWER, "No, it's Rome")) == 1
    assert cues.rejects_answer(turn("book me a slot", ASK, "No, Tuesday please")) == 0
    assert cues.rejects_answer(turn("q", ANSWER, "Wrong button, sorry, I meant to ask how to export it")) == 0


@pytest.mark.parametrize("text", ["Actually it leaves at 9:40", "It's the 23rd, not the 21st", "it should be 350"])
def test_correction(text):
    assert cues.correction(turn("q", ANSWER, text)) == 1


@pytest.mark.parametrize("text", ["*their, sorry", "oops, typo: I meant Lisbon", "my bad, 3 not 2", "autocorrect!",
                                  "wow I had this completely wrong in my head", "wrong button, sorry"])
def test_self_correction(text):
    assert cues.self_correction(turn("q", ANSWER, text)) == 1


def test_self_correction_not_on_corrections_of_the_answer():
    assert cues.self_correction(turn("q", ANSWER, "That date is wrong")) == 0


def test_repeat_measures_overlap_with_earlier_user_turns():
    request = "Give me a vegetarian curry recipe without coconut milk"
    assert cues.repeat(turn(request, "Here is a curry with coconut milk.", request)) == 1
    assert cues.repeat(turn(request, "Here it is.", "How long does it keep in the fridge?")) < 0.2
    assert cues.repeat(turn("ok", "ok")[:1]) == 0  # no earlier user turn


@pytest.mark.parametrize("text", ["Thanks!", "thank you so much", "thx", "cheers mate", "much appreciated"])
def test_thanks(text):
    assert cues.thanks(turn("q", ANSWER, text)) == 1


def test_thanks_not_inside_other_words():
    assert cues.thanks(turn("q", ANSWER, "Is it thankless work?")) == 0


@pytest.mark.parametrize("text", ["Perfect", "that works, great", "sounds good", "got it"])
def test_acceptance(text):
    assert cues.acceptance(turn("q", ANSWER, text)) == 1


@pytest.mark.parametrize("text", ["Almost perfect, just one thing", "not perfect", "it isn't great"])
def test_acceptance_not_when_qualified(text):
    assert cues.acceptance(turn("q", ANSWER, text)) == 0


@pytest.mark.parametrize("text", ["Nearly, just adjust the numbers", "Closer, but not quite", "that's an improvement",
                                  "Better! Now the second half", "we're getting there"])
def test_partial_marks_a_reply_that_was_partly_right(text):
    assert cues.partial(turn("q", ANSWER, text)) == 1
    assert cues.partial(turn("q", ANSWER, "Perfect, thanks")) == 0


@pytest.mark.parametrize("text", ["Thanks, and now a packing list", "unrelated: how do I boil an egg", "one more"])
def test_new_request(text):
    assert cues.new_request(turn("q", ANSWER, text)) == 1


def test_sentiment_question_and_length():
    assert cues.positive(turn("q", ANSWER, "that's really helpful")) == 1
    assert cues.negative(turn("q", ANSWER, "way too long and vague")) == 1
    assert cues.question(turn("q", ANSWER, "what about Sundays?")) == 1
    assert cues.short(turn("q", ANSWER, "ok")) == 1
    assert cues.short(turn("q", ANSWER, "ok, I will try that tomorrow morning")) == 0


def test_vector_and_rationale_names():
    messages = turn("capital of Italy?", ANSWER, "No, that's wrong, it's Rome")
    assert len(cues.cue_vector(messages)) == len(cues.CUES)
    assert {"negation", "rejects_answer", "negative"} <= set(cues.fired_in(cues.cue_vector(messages)))

"""Values cards: the rules, reading a card out of a model reply, and versions."""

import pytest
from django.core.exceptions import ValidationError

from annotate.moralgraph.models import CardVersion
from annotate.moralgraph.services.cards import card_parse, card_text_strip, card_update, card_validate
from annotate.moralgraph.services.interviews import interview_start, interview_submit

GOOD = {"title": "Faith in People", "description": "Trusting a person to find their own way.",
        "policies": ["MOMENTS where a person finds their own answer", "SMALL ACTS of trust that open a conversation",
                     "PEOPLE who can support the person without judging"]}


def problems(**changes) -> dict:
    with pytest.raises(ValidationError) as caught:
        card_validate(**{**GOOD, **changes})
    return caught.value.message_dict


def test_a_good_card_passes_cleaned():
    assert card_validate(**{**GOOD, "title": "  Faith in People ", "policies": [*GOOD["policies"], "  "]}) == GOOD


def test_a_policy_starts_with_a_capitalised_plural_noun_and_a_qualifier():
    assert "Policy 1 must start with a capitalised plural noun" in problems(
        policies=["moments where a person finds their answer", GOOD["policies"][1]])["policies"][0]
    assert 'is not' in problems(policies=["MOMENT where a person finds their answer", GOOD["policies"][1]])[
        "policies"][0]
    assert "needs a qualifier" in problems(policies=["MOMENTS here", GOOD["policies"][1]])["policies"][0]


def test_a_card_has_two_to_ten_distinct_policies():
    assert "not 1" in problems(policies=GOOD["policies"][:1])["policies"][0]
    many = [f"MOMENTS where option {n} appears" for n in range(11)]
    assert "not 11" in problems(policies=many)["policies"][0]
    assert "the same" in problems(policies=[GOOD["policies"][0], GOOD["policies"][0].upper()[:7] +
                                            GOOD["policies"][0][7:]])["policies"][0]


def test_title_and_one_line_description_are_required():
    errors = problems(title="", description="two\nlines")
    assert set(errors) == {"title", "description"}


def test_a_card_is_read_from_a_json_block_in_the_reply():
    text = 'Here is a first try.\n```json\n{"title": "Faith in People", "description": "Trusting a person to find ' \
           'their own way.", "policies": ["MOMENTS where a person finds their own answer", "SMALL ACTS of trust ' \
           'that open a conversation", "PEOPLE who can support the person without judging"]}\n```\nDoes it fit?'
    assert card_parse(text) == GOOD
    assert card_text_strip(text) == "Here is a first try.\n(see the card)\nDoes it fit?"


def test_a_bare_json_object_counts_and_the_last_valid_one_wins():
    first = '{"title": "Old", "description": "x", "policies": []}'
    assert card_parse(f'I think {first} or rather {{"title": "Faith in People", "description": "Trusting a person '
                      f'to find their own way.", "policies": {GOOD["policies"]!r}}}'.replace("'", '"')) == GOOD


@pytest.mark.parametrize("text", ["", "no card here", "```json\n{broken\n```", '{"title": "x"}', "[1, 2]",
                                  '{"title": "T", "description": "d", "policies": ["lower case", "also"]}'])
def test_garbage_or_a_card_that_breaks_the_rules_is_no_card(text):
    assert card_parse(text) is None


def test_each_change_is_a_version_and_a_submitted_card_is_frozen(participant):
    interview = interview_start(participant=participant)
    card = card_update(interview=interview, source="model", **GOOD)
    assert card.external_id == f'"c{card.pk}"'
    card_update(interview=interview, source="participant", **GOOD)  # the same card again: no new version
    card_update(interview=interview, source="participant", **{**GOOD, "title": "Trust"})
    assert list(CardVersion.objects.filter(card=card).values_list("source", "title")) == [
        ("model", "Faith in People"), ("participant", "Trust")]
    interview_submit(interview=interview, by=participant.user)
    with pytest.raises(ValidationError):
        card_update(interview=interview, source="participant", **GOOD)

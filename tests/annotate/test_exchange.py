import json
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from annotate.models import Candidate, Item, Judgment, Prompt
from annotate.protocols import ATTRIBUTES
from annotate.services.assignments import assignment_next, judgment_submit
from annotate.services.exchange import judgments_export_jsonl, judgments_import
from tests.factories import CampaignFactory

WHEN = "2025-03-01T09:30:00.250000+00:00"


def line(**fields) -> str:
    record = {"item": "i1", "prompt": "Which is kinder?",
              "responses": [{"id": "r1", "text": "Be gentle."}, {"id": "r2", "text": "Whatever."}],
              "annotator": "anna", "protocol": "pairwise", "choice": "a", "created_at": WHEN}
    record.update(fields)
    return json.dumps({key: value for key, value in record.items() if value is not None}, ensure_ascii=False)


def exported(campaign) -> list[str]:
    return list(judgments_export_jsonl(campaign=campaign))


def rows() -> dict:
    return {model.__name__: model.objects.count() for model in (Prompt, Candidate, Item, Judgment, User)}


@pytest.fixture
def fresh_campaign(manager):
    return CampaignFactory(name="Helpfulness, imported", created_by=manager)


def test_an_import_creates_prompts_responses_items_annotators_and_judgments(campaign):
    three = [{"id": "r1", "text": "Be gentle."}, {"id": "r2", "text": "Whatever."}, {"id": "r3", "text": "Hug."}]
    counts = judgments_import(campaign=campaign, lines=[
        line(),
        line(annotator="zoe", choice="tie", strength=0, rationale="Both fine."),
        line(item="i2", prompt=[{"role": "user", "content": "Which is kinder?"}], responses=three,
             protocol="rating", choice=None, ratings={"r1": 7, "r2": 1, "r3": 5}),
        line(item="i3", prompt="Another question", responses=three[::-1], protocol="ranking", choice=None,
             ranking=[["r3", "r1"], ["r2"]], presented_order=["r1", "r2", "r3"]),
    ])

    assert counts == {"judgments": 4, "unchanged": 0, "items": 3, "prompts": 2, "responses": 3, "annotators": 1}
    i1, i2 = Item.objects.get(external_id="i1"), Item.objects.get(external_id="i2")
    assert i1.prompt == i2.prompt  # the same question is one prompt
    assert list(Item.objects.get(external_id="i3").slots.values_list("candidate__external_id", flat=True)) == [
        "r3", "r2", "r1"]
    assert Candidate.objects.get(external_id="r3").prompt == i2.prompt  # the first prompt it came with
    zoe = User.objects.get(username="zoe")
    assert zoe.role == User.Role.ANNOTATOR and not zoe.has_usable_password()
    judgment = Judgment.objects.get(annotator=zoe)
    assert (judgment.choice, judgment.strength, judgment.rationale, judgment.assignment) == ("tie", 0, "Both fine.",
                                                                                             None)
    assert judgment.created_at == datetime(2025, 3, 1, 9, 30, 0, 250000, tzinfo=UTC)


def test_a_rating_of_one_response_is_an_absolute_rating_joined_to_comparisons_by_response_id(campaign):
    alone = [{"id": "r1", "text": "Be gentle."}]
    counts = judgments_import(campaign=campaign, lines=[
        line(),
        line(item="r1-alone", protocol="rating", choice=None, responses=alone, ratings={"r1": 6}),
        line(item="r1-scored", protocol="attributes", choice=None, responses=alone, annotator="zoe", attributes={
            "r1": {"helpfulness": 4, "correctness": 4, "coherence": 4, "complexity": 1, "verbosity": 2}}),
    ])

    assert counts["items"] == 3 and counts["responses"] == 2
    assert Item.objects.get(external_id="r1-alone").slots.get().candidate == Candidate.objects.get(external_id="r1")
    assert json.loads(exported(campaign)[1])["responses"] == alone


def test_importing_the_same_file_twice_changes_nothing(campaign):
    lines = [line(), line(annotator="zoe", choice="b")]
    judgments_import(campaign=campaign, lines=lines)
    before = rows()

    counts = judgments_import(campaign=campaign, lines=lines)

    assert counts == {"judgments": 0, "unchanged": 2, "items": 0, "prompts": 0, "responses": 0, "annotators": 0}
    assert rows() == before


def test_a_different_answer_to_an_imported_judgment_is_an_error_not_an_overwrite(campaign):
    judgments_import(campaign=campaign, lines=[line()])

    with pytest.raises(ValidationError) as error:
        judgments_import(campaign=campaign, lines=[line(annotator="zoe"), line(choice="b")])

    assert error.value.messages == ["line 2: anna already has a different judgment of item 'i1' in this campaign"]
    assert Judgment.objects.get().choice == "a" and not User.objects.filter(username="zoe").exists()


def test_a_numeric_annotator_is_taken_as_its_decimal_name(campaign):
    judgments_import(campaign=campaign, lines=[line(annotator=7), line(item="i2", annotator=7)])
    assert list(Judgment.objects.values_list("annotator__username", flat=True)) == ["7", "7"]


BAD_LINES = [
    ('{"item": "i1", ', "not valid JSON"),
    (line(protocol="likert"), "unknown protocol 'likert'"),
    (line(protocol="rating", choice=None, ratings={"r1": 8, "r2": 3}), "ratings.r1: must be an integer from 1 to 7"),
    (line(protocol="ranking", choice=None, ranking=[["r1"], ["r1"]]), "ranking: must rank each response exactly once"),
    (line(responses=[{"id": "r1", "text": "Be gentle."}]), "responses must list at least two {id, text, model?} for a "
                                                           "pairwise judgment"),
    (line(protocol="ranking", choice=None, responses=[{"id": "r1", "text": "Be gentle."}], ranking=[["r1"]]),
     "responses must list at least two"),
    (line(protocol="rating", choice=None, responses=[], ratings={}), "responses must list at least one"),
    (line(choice="c"), "choice: must be \"a\", \"b\" or \"tie\""),
    (line(choice="a", strength=2), "strength: negative means A is better"),
    (line(ratings={"r1": 1, "r2": 2}), "ratings does not belong to a pairwise judgment"),
    (line(presented_order=["r1", "r3"]), "presented_order must list each response id once"),
    (line(annotator="anna smith"), "not a valid username"),
    (line(annotator=["anna"]), "annotator must be a string"),
    (line(created_at="yesterday"), "created_at must be an ISO 8601 date and time"),
    (line(prompt=""), "prompt is empty"),
    (json.dumps({"item": "i1", "protocol": "pairwise"}), "missing key(s) prompt, responses, annotator"),
    (line(item="i2", responses=[{"id": "r1", "text": "Be rude."}, {"id": "r2", "text": "Whatever."}]),
     "response 'r1' has a different text or model on line 1"),
    (line(annotator="zoe", prompt="Which is nicer?"), "item 'i1' has a different prompt on line 1"),
    (line(annotator="zoe", responses=[{"id": "r2", "text": "Whatever."}, {"id": "r1", "text": "Be gentle."}]),
     "item 'i1' lists the responses ['r1', 'r2'] on line 1, here ['r2', 'r1']"),
    (line(choice="b"), "anna judged item 'i1' differently on line 1"),
    (line(rationale={"why": "[" * 3000 + "]" * 3000}).replace('"[', "[").replace(']"', "]"), "nests deeper"),
    (line(item="i\ud800"), "lone surrogate"),
    (line(responses=[{"id": "r1\ud800", "text": "Be gentle."}, {"id": "r2", "text": "Whatever."}]), "lone surrogate"),
    (line(item="i2", responses=[{"id": "r3", "text": "Be \u0000kind."}, {"id": "r4", "text": "No."}]), "NUL"),
    (line().replace('"choice": "a"', '"choice": "a", "strength": NaN'), "NaN is not a JSON number"),
]


@pytest.mark.parametrize(("bad", "expected"), BAD_LINES, ids=[expected for _, expected in BAD_LINES])
def test_a_bad_line_is_reported_with_its_number_and_nothing_is_written(campaign, bad, expected):
    before = rows()

    with pytest.raises(ValidationError) as error:
        judgments_import(campaign=campaign, lines=[line() + "\n", bad + "\n"])

    assert len(error.value.messages) == 1
    assert error.value.messages[0].startswith("line 2: ") and expected in error.value.messages[0]
    assert rows() == before


def test_all_bad_lines_are_reported_at_once(campaign):
    lines = [line(protocol="likert"), line(), "", "not json", line(annotator="zoe", choice="x")]

    with pytest.raises(ValidationError) as error:
        judgments_import(campaign=campaign, lines=lines)

    assert [message.split(":")[0] for message in error.value.messages] == ["line 1", "line 4", "line 5"]
    assert not Judgment.objects.exists()


def test_a_response_id_already_used_with_another_text_in_the_campaign_is_an_error(campaign):
    judgments_import(campaign=campaign, lines=[line()])

    with pytest.raises(ValidationError) as error:
        judgments_import(campaign=campaign, lines=[
            line(item="i2", annotator="zoe", responses=[{"id": "r1", "text": "Changed."}, {"id": "r9", "text": "New"}]),
        ])

    assert error.value.messages == [
        "line 1: response 'r1' already exists in this campaign with a different text or model"]


def test_an_annotator_name_differing_only_in_case_from_a_user_is_an_error(campaign, annotator):
    with pytest.raises(ValidationError, match="line 1: annotator 'Anna': the user 'anna' exists"):
        judgments_import(campaign=campaign, lines=[line(annotator="Anna")])


def test_judgments_made_in_the_app_export_and_import_into_another_campaign_unchanged(
        campaign, fresh_campaign, annotator, django_assert_num_queries):
    judgments_import(campaign=campaign, lines=[line(item="i2", annotator="zoe")])  # gives the campaign an item
    assignment = assignment_next(campaign=campaign, annotator=annotator)
    judgment_submit(assignment_id=assignment.pk, annotator=annotator, answer={"choice": "b", "strength": 2,
                                                                               "rationale": " Kinder. "})

    with django_assert_num_queries(2):  # the judgments, then their items' responses (per chunk of judgments)
        lines = exported(campaign)

    mine = json.loads(lines[1])
    assert list(mine) == ["item", "prompt", "responses", "annotator", "protocol", "choice", "strength", "rationale",
                          "presented_order", "created_at"]
    assert (mine["annotator"], mine["choice"], mine["strength"], mine["rationale"]) == ("anna", "b", 2, "Kinder.")
    judgments_import(campaign=fresh_campaign, lines=lines)
    assert exported(fresh_campaign) == lines


def test_the_commands_export_to_a_file_and_import_it_into_an_existing_campaign(campaign, fresh_campaign, tmp_path,
                                                                               capsys):
    judgments_import(campaign=campaign, lines=[line(rationale="Plus de tact ✓")])
    path = tmp_path / "judgments.jsonl"

    call_command("export_judgments", "--campaign", "Helpfulness", "-o", str(path))
    call_command("import_judgments", str(path), "--campaign", fresh_campaign.name)

    assert "1 judgments, 0 unchanged, 1 items" in capsys.readouterr().out
    call_command("export_judgments", "--campaign", fresh_campaign.name)
    assert capsys.readouterr().out == path.read_text(encoding="utf-8")
    with pytest.raises(CommandError, match="No campaign named 'Nope'; create it first"):
        call_command("import_judgments", str(path), "--campaign", "Nope")
    path.write_text(line(protocol="likert") + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 1: unknown protocol"):
        call_command("import_judgments", str(path), "--campaign", fresh_campaign.name)


# --- the round trip, on random judgment sets ---------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
WORDS = TEXT.filter(str.strip)
MESSAGE = st.tuples(st.sampled_from(["system", "user", "assistant"]), TEXT).map(
    lambda pair: {"role": pair[0], "content": pair[1]})
# Any turns, then the user's: a prompt is what a model answers (modelhost.messages).
MESSAGES = st.tuples(st.lists(MESSAGE, max_size=2), TEXT).map(
    lambda chat: [*chat[0], {"role": "user", "content": chat[1]}]).filter(
    lambda chat: any(m["content"].strip() for m in chat))
TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


def _prompt(messages: list[dict]):
    """The canonical form: one user message is written as a string."""
    return messages[0]["content"] if len(messages) == 1 and messages[0]["role"] == "user" else messages


@st.composite
def _answer(draw, ids: list[str]) -> tuple[str, dict]:
    protocols = ["rating", "attributes"] + (["ranking"] if len(ids) >= 2 else []) + (
        ["pairwise"] if len(ids) == 2 else [])
    protocol = draw(st.sampled_from(protocols))
    if protocol == "pairwise":
        choice = draw(st.sampled_from(["a", "b", "tie"]))
        strengths = {"a": st.integers(-3, -1), "b": st.integers(1, 3), "tie": st.just(0)}[choice]
        strength = draw(st.none() | strengths)
        return protocol, {"choice": choice, **({} if strength is None else {"strength": strength})}
    if protocol == "ranking":
        order = draw(st.permutations(ids))
        cuts = draw(st.lists(st.booleans(), min_size=len(ids) - 1, max_size=len(ids) - 1))
        groups = [[order[0]]]
        for response, cut in zip(order[1:], cuts, strict=True):
            if cut:
                groups.append([])
            groups[-1].append(response)
        return protocol, {"ranking": groups}
    if protocol == "rating":
        return protocol, {"ratings": {response: draw(st.integers(1, 7)) for response in ids}}
    return protocol, {"attributes": {
        response: {**{name: draw(st.integers(0, 4)) for name in ATTRIBUTES}, "unsafe": draw(st.integers(0, 1))}
        for response in ids}}


@st.composite
def judgment_sets(draw) -> list[str]:
    """Exchange lines in canonical form: what an export of their import must give back exactly."""
    response_ids = draw(st.lists(WORDS, min_size=1, max_size=6, unique=True))
    responses = {response: {"id": response, "text": draw(TEXT), **draw(st.sampled_from([{}, {"model": "smol ☀"}]))}
                 for response in response_ids}
    prompts = draw(st.lists(st.one_of(WORDS.map(lambda text: [{"role": "user", "content": text}]), MESSAGES),
                            min_size=1, max_size=3))
    annotators = draw(st.lists(st.sampled_from(["anna", "otto", "émile", "李娜", "x.y-z_1"]), min_size=1,
                               max_size=4, unique=True))
    lines = []
    for item in draw(st.lists(WORDS, min_size=1, max_size=4, unique=True)):
        prompt = _prompt(draw(st.sampled_from(prompts)))
        size = draw(st.integers(1, min(4, len(response_ids))))  # one response: an absolute rating
        ids = draw(st.permutations(response_ids))[:size]
        for annotator in draw(st.lists(st.sampled_from(annotators), min_size=1, unique=True)):
            protocol, answer = draw(_answer(ids))
            rationale = draw(st.none() | WORDS.map(str.strip))
            presented = draw(st.none() | st.permutations(ids))
            record = {"item": item, "prompt": prompt, "responses": [responses[r] for r in ids],
                      "annotator": annotator, "protocol": protocol, **answer,
                      **({"rationale": rationale} if rationale else {}),
                      **({"presented_order": list(presented)} if presented else {}),
                      "created_at": draw(TIMES).isoformat()}
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return draw(st.permutations(lines))


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=judgment_sets())
def test_any_valid_judgment_set_survives_export_and_import_exactly(manager, lines):
    with transaction.atomic():  # every example starts from the same database
        first = CampaignFactory(name="Round trip", created_by=manager)
        second = CampaignFactory(name="Round trip, again", created_by=manager)

        judgments_import(campaign=first, lines=lines)
        assert exported(first) == list(lines)
        judgments_import(campaign=second, lines=exported(first))
        assert exported(second) == list(lines)
        assert judgments_import(campaign=second, lines=lines)["unchanged"] == len(lines)
        transaction.set_rollback(True)

"""Published votes in, the published graph out: import_moral_votes and moral_graph."""

import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from annotate.moralgraph.models import Context, Participant, ValuesCard, Vote
from annotate.moralgraph.selectors import graph_build

VALUES = [
    {"id": 167, "title": "Informed Autonomy", "description": "", "policies": ["CHOICES the person makes freely"]},
    {"id": 174, "title": "Holistic Decision-Making", "description": "Seeing the whole.",
     "policies": ["FACTORS beyond the obvious", "FEELINGS about the choice"]},
    {"id": "v3", "title": "Truth Seeking", "description": "", "policies": ["SOURCES that can be checked"]},
]


def vote(participant, source, wiser, relationship="upgrade", context="When making decisions", day=1):
    return {"participant": participant, "from": source, "to": wiser, "context": context,
            "relationship": relationship, "comment": "", "created_at": f"2023-10-0{day}T12:00:00Z"}


VOTES = [vote("p1", 167, 174), vote("p2", 167, 174), vote("p3", 167, 174, day=2),
         vote("p4", 167, 174, "not_sure", day=3), vote("p1", "v3", 174, "no_upgrade", "When seeking information")]


def lines(records):
    return "".join(json.dumps(record) + "\n" for record in records)


@pytest.fixture
def files(tmp_path):
    def write(values=VALUES, votes=VOTES):
        (tmp_path / "values.jsonl").write_text(lines(values))
        (tmp_path / "votes.jsonl").write_text(lines(votes))
        return ["--values", str(tmp_path / "values.jsonl"), "--votes", str(tmp_path / "votes.jsonl")]
    return write


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_imported_votes_rebuild_the_published_graph_in_compatibility_mode(files, deliberation):
    assert run("import_moral_votes", *files(), "--deliberation", "Abortion") == \
        "3 values and 5 votes imported, 0 votes already there.\n"
    graph = json.loads(run("moral_graph", "--deliberation", "Abortion", "--compat", "mai-2023"))
    assert graph["edges"] == [{
        "sourceValueId": 167, "wiserValueId": 174, "contexts": ["When making decisions"],
        "counts": {"markedWiser": 3, "markedNotWiser": 0, "markedLessWise": 0, "markedUnsure": 1, "impressions": 4},
        "summary": {"wiserLikelihood": 0.75, "entropy": pytest.approx(1.4056, abs=1e-4)},
    }]
    assert [(v["id"], v["title"], v["policies"]) for v in graph["values"]] == [
        (167, "Informed Autonomy", ["CHOICES the person makes freely"]),
        (174, "Holistic Decision-Making", ["FACTORS beyond the obvious", "FEELINGS about the choice"])]
    assert [v["pagerank"] for v in graph["values"]] == pytest.approx([0.075, 0.075 + 0.85 * 0.075])


def test_the_graph_as_of_a_time_and_in_one_context(files, deliberation):
    run("import_moral_votes", *files(), "--deliberation", "Abortion")
    early = graph_build(deliberation=deliberation, compat="mai-2023",
                        until=datetime(2023, 10, 1, 23, tzinfo=UTC))
    assert [edge["counts"]["impressions"] for edge in early["edges"]] == [2]  # the votes of day 1 only
    assert graph_build(deliberation=deliberation, context="When seeking information")["edges"] == []
    default = graph_build(deliberation=deliberation)
    assert [(e["sourceValueId"], e["wiserValueId"], e["contexts"]) for e in default["edges"]] == [
        (167, 174, ["When making decisions"])]
    assert set(default["edges"][0]["summary"]) == {"wiserLikelihood", "entropy", "wiserLowerBound"}
    assert sum(v["pagerank"] for v in default["values"]) == pytest.approx(1.0)


def test_graphml_carries_the_cards_and_counts(files, deliberation):
    run("import_moral_votes", *files(), "--deliberation", "Abortion")
    graphml = run("moral_graph", "--deliberation", "Abortion", "--format", "graphml")
    assert "<graphml" in graphml and "Holistic Decision-Making" in graphml and "markedWiser" in graphml


def test_importing_the_same_files_again_changes_nothing(files, deliberation):
    run("import_moral_votes", *files(), "--deliberation", "Abortion")
    assert run("import_moral_votes", *files(), "--deliberation", "Abortion") == \
        "0 values and 0 votes imported, 5 votes already there.\n"
    assert (ValuesCard.objects.count(), Vote.objects.count(), Participant.objects.count()) == (3, 5, 4)
    assert sorted(ValuesCard.objects.values_list("external_id", flat=True)) == ['"v3"', "167", "174"]


def test_every_bad_line_is_reported_and_nothing_is_written(files, deliberation):
    bad_values = [*VALUES, {"id": 9, "title": "", "policies": ["X"]}, {"id": True, "title": "T", "policies": ["Y"]}]
    bad_votes = [*VOTES, vote("p9", 167, 999), {**vote("p9", 167, 174), "relationship": "yes"}, "not an object",
                 {**vote("p1", 167, 174), "relationship": "no_upgrade"}, {**vote("p5", 167, 174), "extra": 1}]
    with pytest.raises(CommandError) as caught:
        run("import_moral_votes", *files(bad_values, bad_votes), "--deliberation", "Abortion")
    assert str(caught.value).splitlines() == [
        "line 4: values: title must be a non-empty string",
        "line 5: values: id must be a number or a non-empty string",
        "line 6: votes: to 999 is not a value of the values file or of the deliberation",
        "line 7: votes: relationship must be one of upgrade, no_upgrade, not_sure",
        "line 8: votes: a line is one JSON object",
        "line 9: votes: the same vote as line 1 with another answer",
        "line 10: votes: unknown keys ['extra']",
    ]
    assert not ValuesCard.objects.exists() and not Context.objects.filter(source="import").exists()


def test_a_vote_that_contradicts_an_earlier_import_undoes_the_whole_import(files, deliberation):
    run("import_moral_votes", *files(), "--deliberation", "Abortion")
    with pytest.raises(CommandError, match="p1 already voted upgrade"):
        run("import_moral_votes", *files(votes=[vote("p7", 167, 174), {**VOTES[0], "relationship": "not_sure"}]),
            "--deliberation", "Abortion")
    assert not Participant.objects.filter(external_id="p7").exists()


def test_a_new_deliberation_needs_a_campaign(files, campaign):
    with pytest.raises(CommandError, match="name a --campaign"):
        run("import_moral_votes", *files(), "--deliberation", "DFT 2023")
    run("import_moral_votes", *files(), "--deliberation", "DFT 2023", "--campaign", campaign.name)
    assert Vote.objects.filter(context__deliberation__name="DFT 2023").count() == 5

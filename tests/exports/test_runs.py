"""Exports as jobs: reproducible to the byte, snapshots of live data, safe to rerun, and anonymous."""

import gzip
import json

import pyarrow.parquet as pq
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from annotate.models import Item, Judgment
from core.runs import MAX_STARTS
from exports.models import Export
from exports.services import export_create, export_run
from tests.exports.conftest import judge_all
from tests.factories import UserFactory, campaign_with_items

FORMATS = [("dpo", "jsonl"), ("kto", "parquet"), ("reward", "hf"), ("listwise", "jsonl.gz"), ("openai", "jsonl"),
           ("raw", "jsonl.gz")]


def contents(export: Export) -> dict[str, bytes]:
    return {entry["path"]: (export.directory / entry["path"]).read_bytes() for entry in export.files}


def readable_text(export: Export) -> str:
    """Everything the files say, decompressed, as one string."""
    texts = []
    for path in export.directory.rglob("*"):
        if path.name.endswith(".parquet"):
            texts.append(json.dumps(pq.read_table(path).to_pylist(), ensure_ascii=False))
        elif path.name.endswith(".gz"):
            texts.append(gzip.decompress(path.read_bytes()).decode())
        elif path.is_file():
            texts.append(path.read_bytes().decode(errors="replace"))
    return "\n".join(texts)


@pytest.mark.parametrize(("form", "filetype"), FORMATS)
def test_exporting_the_same_spec_twice_gives_byte_identical_files(pairwise_campaign, run_export, form, filetype):
    first = run_export(pairwise_campaign, format=form, filetype=filetype, test_size=0.5)
    second = run_export(pairwise_campaign, format=form, filetype=filetype, test_size=0.5)

    assert first.status == second.status == "done"
    assert first.pk != second.pk and first.directory != second.directory
    assert contents(first) == contents(second)
    assert first.content_hash == second.content_hash and len(first.content_hash) == 64


def test_another_salt_gives_other_pseudonyms_and_changes_nothing_else(pairwise_campaign, run_export):
    first = run_export(pairwise_campaign, format="dpo", test_size=0.0, salt="one")
    second = run_export(pairwise_campaign, format="dpo", test_size=0.0, salt="two")

    rows = [[json.loads(line) for line in (e.directory / "train.jsonl").read_text().splitlines()]
            for e in (first, second)]
    assert {a for row in rows[0] for a in row["annotators"]}.isdisjoint(a for row in rows[1] for a in row["annotators"])
    assert [{**row, "annotators": None} for row in rows[0]] == [{**row, "annotators": None} for row in rows[1]]


@pytest.mark.parametrize(("form", "filetype"), FORMATS)
def test_annotator_identities_never_appear_in_the_files(pairwise_campaign, run_export, judges, form, filetype):
    export = run_export(pairwise_campaign, format=form, filetype=filetype, include_rationale=True)

    text = readable_text(export)
    assert "annotator-" in text or form == "openai"
    for judge in judges:
        assert judge.username not in text and judge.email not in text


def test_an_export_reads_the_judgments_made_before_it_was_asked_for(manager, annotator, other_annotator, zoe):
    campaign = campaign_with_items(manager=manager, members=[annotator, other_annotator, zoe], prompts=3)
    for judge in (annotator, other_annotator):
        judge_all(campaign, judge, lambda ids, who: {"choice": "a"})
    export = export_create(spec={"campaigns": [campaign.pk], "format": "dpo", "test_size": 0}, by=manager)
    judge_all(campaign, zoe, lambda ids, who: {"choice": "b"})  # annotation goes on while the export waits

    export_run(export_id=export.pk)
    export.refresh_from_db()
    assert (export.status, export.rows, export.done, export.total) == ("done", 6, 6, 6)


def test_running_a_finished_export_again_changes_nothing(pairwise_campaign, run_export):
    export = run_export(pairwise_campaign, format="reward")
    before = contents(export)

    export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.attempts == 1 and contents(export) == before


def test_an_export_whose_worker_died_starts_over_and_writes_the_same_files(pairwise_campaign, run_export):
    clean = run_export(pairwise_campaign, format="dpo", filetype="parquet")
    export = export_create(spec=clean.spec, by=clean.created_by)
    Export.objects.filter(pk=export.pk).update(status="running", attempts=1, done=5)  # as a killed worker leaves it
    leftover = export.directory.with_name(f"{export.pk}.partial-1")
    leftover.mkdir(parents=True)
    (leftover / "train.parquet").write_bytes(b"half a file")

    export_run(export_id=export.pk)
    export.refresh_from_db()
    assert (export.status, export.attempts) == ("done", 2)
    assert not leftover.exists()
    assert contents(export) == contents(clean)


def test_an_export_gives_up_after_starts_that_never_finish(pairwise_campaign, manager):
    export = export_create(spec={"campaigns": [pairwise_campaign.pk], "format": "dpo"}, by=manager)
    Export.objects.filter(pk=export.pk).update(status="running", attempts=MAX_STARTS)

    export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == "failed" and "Gave up" in export.error


def test_creating_an_export_queues_it_once_the_transaction_commits(pairwise_campaign, manager,
                                                                    django_capture_on_commit_callbacks):
    from config.celery import app
    from core.queues import Queue
    from exports.tasks import export_run as task

    with django_capture_on_commit_callbacks() as callbacks:
        export_create(spec={"campaigns": [pairwise_campaign.pk], "format": "dpo"}, by=manager)
    assert len(callbacks) == 1
    assert app.amqp.router.route({}, task.name)["queue"].name == Queue.DEFAULT


def test_no_prompt_is_in_both_splits_and_each_prompt_keeps_its_split_across_formats(ranking_campaign, rating_campaign,
                                                                                   run_export):
    splits = {}
    for campaign, form in ((ranking_campaign, "dpo"), (ranking_campaign, "listwise"), (rating_campaign, "reward")):
        export = run_export(campaign, format=form, test_size=0.5, split_seed="s")
        for entry in export.files:
            if entry["path"].endswith(".jsonl"):
                split = entry["path"].split(".")[0]
                for line in (export.directory / entry["path"]).read_text().splitlines():
                    prompt = json.dumps(json.loads(line)["prompt"])
                    assert splits.setdefault(prompt, split) == split
    assert set(splits.values()) == {"train", "test"}


def test_annotators_failing_gold_items_can_be_left_out(manager, annotator, other_annotator, zoe, run_export):
    campaign = campaign_with_items(manager=manager, members=[annotator, other_annotator, zoe], prompts=6,
                                   gold_rate=1.0)
    Item.objects.filter(campaign=campaign, prompt__external_id__in=["p0", "p1", "p2"]).update(
        is_gold=True, gold={"choice": "a"})
    for judge in (annotator, other_annotator, zoe):
        judge_all(campaign, judge, lambda ids, who: {"choice": "b" if who.username == "zoe" else "a"})

    everyone = run_export(campaign, format="dpo", test_size=0.0)
    trusted = run_export(campaign, format="dpo", test_size=0.0, exclude_gold_failures=True)
    with_gold = run_export(campaign, format="dpo", test_size=0.0, include_gold=True)
    assert (everyone.rows, trusted.rows, with_gold.rows) == (9, 6, 18)
    assert "left out (1)" in (trusted.directory / "README.md").read_text()


def test_items_with_low_agreement_or_a_wide_spread_are_left_out(pairwise_campaign, attributes_campaign, run_export):
    agreeing = run_export(pairwise_campaign, format="dpo", aggregate="majority", min_agreement=0.6, test_size=0.0)
    nothing = run_export(pairwise_campaign, format="dpo", aggregate="majority", min_agreement=0.7)
    narrow = run_export(attributes_campaign, format="attributes", aggregate="mean_top3", max_spread=2)

    assert agreeing.rows == 4
    assert nothing.status == "failed" and "nothing to write" in nothing.error
    assert narrow.status == "failed"


def test_filters_on_dates_models_and_ties_narrow_the_rows(pairwise_campaign, ranking_campaign, run_export):
    future = run_export(pairwise_campaign, format="raw", since="2999-01-01")
    two_models = run_export(ranking_campaign, format="dpo", models=["model-1", "model-2"], test_size=0.0)
    no_ties = run_export(pairwise_campaign, format="raw", drop_ties=True, test_size=0.0)

    assert future.status == "failed"
    assert two_models.rows == 6  # r1 over r2 for anna and otto on 3 prompts; zoe tied them
    assert no_ties.rows == 11


def test_a_spec_is_checked_in_full_before_anything_is_queued(pairwise_campaign, rating_campaign, manager):
    def errors(**spec) -> dict:
        with pytest.raises(ValidationError) as caught:
            export_create(spec={"campaigns": [pairwise_campaign.pk], **spec}, by=manager)
        return caught.value.message_dict

    assert "format" in errors(format="csv")
    assert "spec" in errors(format="dpo", colour="blue")
    assert "filetype" in errors(format="openai", filetype="parquet")
    assert "aggregate" in errors(format="raw", aggregate="majority")
    assert "protocols" in errors(format="attributes")
    assert "min_agreement" in errors(format="dpo", min_agreement=2)
    assert "until" in errors(format="dpo", since="2025-02-01", until="2025-01-01")
    assert not Export.objects.exists()


def test_only_managers_of_every_campaign_export(pairwise_campaign, annotator, manager):
    other_manager = UserFactory(username="mona", role="manager")
    with pytest.raises(PermissionDenied):
        export_create(spec={"campaigns": [pairwise_campaign.pk], "format": "dpo"}, by=annotator)
    with pytest.raises(PermissionDenied):
        export_create(spec={"campaigns": [pairwise_campaign.pk], "format": "dpo"}, by=other_manager)
    with pytest.raises(PermissionDenied):
        export_create(spec={"campaigns": [pairwise_campaign.pk, 999], "format": "dpo"}, by=manager)


@pytest.fixture
def one_bad_prompt(pairwise_campaign):
    """A prompt holding a lone surrogate, as imports let in before they refused it. Only SQLite can keep one (as a
    JSON escape); PostgreSQL refuses it at the door of its own."""
    from django.db import connection

    from annotate.models import Prompt

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL cannot store a lone surrogate, so no such row can exist there")
    Prompt.objects.filter(campaign=pairwise_campaign, external_id="p0").update(
        messages=[{"role": "user", "content": "Broken \ud800 question?"}])
    return pairwise_campaign


@pytest.mark.parametrize("form", ["dpo", "raw"])
def test_one_bad_row_is_left_out_alone_and_the_export_finishes(one_bad_prompt, run_export, form):
    export = run_export(one_bad_prompt, format=form)
    assert export.status == "done", export.error
    text = "".join(path.read_text() for path in export.directory.glob("*.jsonl"))
    assert "Question 1?" in text and "Broken" not in text


def test_the_judgments_download_escapes_a_bad_row_and_goes_on(client, manager, one_bad_prompt):
    client.force_login(manager)
    response = client.get(f"/annotate/manage/{one_bad_prompt.pk}/judgments.jsonl")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert response.status_code == 200 and len(lines) == Judgment.objects.count()
    assert any("Broken \\ud800" in line for line in lines)


def test_ai_judges_judgments_stay_out_of_datasets_unless_asked_for(pairwise_campaign, run_export):
    from annotate.services.judges import judge_user_ensure

    judge = judge_user_ensure(name="gpt-4")
    for item in pairwise_campaign.items.all():
        Judgment.objects.create(item=item, annotator=judge, protocol="pairwise", choice="b", created_at=item.created_at)

    def raw_lines(**spec) -> int:
        export = run_export(pairwise_campaign, format="raw", filetype="jsonl", test_size=0.0, **spec)
        return sum(body.count(b"\n") for path, body in contents(export).items() if path.endswith(".jsonl"))

    people = Judgment.objects.filter(item__campaign=pairwise_campaign).exclude(annotator=judge).count()
    assert raw_lines() == people
    assert raw_lines(include_ai_judges=True) == people + pairwise_campaign.items.count()

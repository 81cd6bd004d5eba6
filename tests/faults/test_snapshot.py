"""An export asked for while annotators submit reads a snapshot by transaction: a judgment that took a lower id
but commits after a higher one is in the export, and a rerun reads the same rows."""

import threading

import pytest
from django.db import connection, transaction

from annotate.models import Judgment
from annotate.services.assignments import assignment_next, judgment_submit
from exports.services import export_create, export_run
from tests.factories import campaign_with_items

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
PAIR = {"choice": "a", "strength": -2}


def test_an_export_asked_for_while_a_lower_id_is_in_flight_waits_for_it_and_includes_it(
        manager, annotator, other_annotator, tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time, so ids follow commits: nothing to wait for")
    settings.MEDIA_ROOT = tmp_path / "media"
    campaign = campaign_with_items(manager=manager, members=[annotator, other_annotator], prompts=2, overlap=1)
    # One judgment per item (overlap 1): the two submits touch different items and wait for nothing but the lock.
    slow, fast = (assignment_next(campaign=campaign, annotator=user) for user in (annotator, other_annotator))
    in_flight, commit, results = threading.Event(), threading.Event(), {}

    def slow_submit():  # takes its id first, then holds its transaction open
        try:
            with transaction.atomic():
                results["slow"] = judgment_submit(assignment_id=slow.pk, annotator=annotator, answer=PAIR)[0].pk
                in_flight.set()
                commit.wait(30)
        finally:
            connection.close()

    def export():
        try:
            export = export_create(spec={"campaigns": [campaign.pk], "format": "dpo", "filetype": "jsonl"},
                                   by=manager, queue=False)
            export_run(export_id=export.pk)
            results["export"] = export.pk
        finally:
            connection.close()

    submitter = threading.Thread(target=slow_submit)
    submitter.start()
    assert in_flight.wait(30)
    later = judgment_submit(assignment_id=fast.pk, annotator=other_annotator, answer=PAIR)[0]
    assert later.pk > results["slow"]  # committed first, with the higher id

    exporter = threading.Thread(target=export)
    exporter.start()
    exporter.join(1.5)
    assert exporter.is_alive(), "the export read its snapshot while a lower id was still in flight"
    commit.set()
    submitter.join(30)
    exporter.join(60)

    from exports.models import Export

    export = Export.objects.get(pk=results["export"])
    assert export.status == "done" and export.snapshot_judgment_id >= later.pk
    assert export.rows == Judgment.objects.filter(item__campaign=campaign).count() == 2

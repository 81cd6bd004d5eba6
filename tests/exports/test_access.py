"""Who may export and download, through the API, the pages and the command line; files never leave otherwise."""

import io
import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from accounts.services.tokens import token_create
from exports.models import Export
from exports.services import export_run
from tests.factories import UserFactory


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {token_create(user=user, name='t')[1]}"}


@pytest.fixture
def other_manager(db):
    """Mona manages a campaign of her own, not maria's."""
    from tests.factories import campaign_with_items

    mona = UserFactory(username="mona", role="manager")
    campaign_with_items(manager=mona, name="Mona's campaign")
    return mona


@pytest.fixture
def finished(pairwise_campaign, run_export):
    return run_export(pairwise_campaign, format="dpo", filetype="parquet")


def test_a_manager_starts_an_export_over_the_api_follows_it_and_downloads_its_files(api_client, manager,
                                                                                  pairwise_campaign):
    headers = auth(manager)
    created = api_client.post("/api/v1/exports", {"campaigns": [pairwise_campaign.pk], "format": "reward",
                                                  "filetype": "jsonl"}, format="json", **headers)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "queued" and body["spec"]["aggregate"] == "none"

    export_run(export_id=body["id"])  # what the worker does
    detail = api_client.get(f"/api/v1/exports/{body['id']}", **headers).json()
    assert detail["status"] == "done" and detail["rows"] == 11 and detail["percent"] == 100
    urls = {entry["path"]: entry["url"] for entry in detail["files"]}
    assert set(urls) == {"README.md", "test.jsonl", "train.jsonl"} or set(urls) == {"README.md", "train.jsonl"}
    download = api_client.get(urls["train.jsonl"], **headers)
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="concord-export-{body["id"]}-train.jsonl"'
    assert download["Content-Type"] == "application/octet-stream"
    assert json.loads(b"".join(download.streaming_content).splitlines()[0])["margin"] > 0
    assert [e["id"] for e in api_client.get("/api/v1/exports", **headers).json()] == [body["id"]]


def test_a_bad_spec_is_a_400_naming_the_key(api_client, manager, pairwise_campaign):
    response = api_client.post("/api/v1/exports", {"campaigns": [pairwise_campaign.pk], "format": "openai",
                                                   "filetype": "parquet"}, format="json", **auth(manager))
    assert response.status_code == 400 and "filetype" in response.json()


def test_annotators_and_managers_of_other_campaigns_can_neither_export_nor_see_nor_download(
        api_client, client, finished, pairwise_campaign, annotator, other_manager):
    spec = {"campaigns": [pairwise_campaign.pk], "format": "dpo"}
    for user in (annotator, other_manager):
        headers = auth(user)
        assert api_client.post("/api/v1/exports", spec, format="json", **headers).status_code == 403
        assert api_client.get(f"/api/v1/exports/{finished.pk}", **headers).status_code == 404
        assert api_client.get(f"/api/v1/exports/{finished.pk}/files/train.parquet", **headers).status_code == 404
        client.force_login(user)
        assert client.get(f"/annotate/exports/{finished.pk}/").status_code == 404
        assert client.get(f"/annotate/exports/{finished.pk}/files/train.parquet").status_code == 404
        assert client.post(f"/annotate/exports/{finished.pk}/again/").status_code == 404
    assert api_client.get("/api/v1/exports", **auth(other_manager)).json() == []
    assert api_client.get("/api/v1/exports", **auth(annotator)).status_code == 403
    client.force_login(annotator)
    assert client.get("/annotate/exports/").status_code == 403
    assert Export.objects.count() == 1


@pytest.mark.parametrize("path", ["../../../config/settings.py", "..%2F..%2Fdb.sqlite3", "/etc/passwd",
                                  "train.parquet/../README.md", "%2Fetc%2Fpasswd", "nothing.txt", "train/../../x"])
def test_a_download_serves_only_the_files_the_export_lists(client, manager, finished, path):
    client.force_login(manager)
    assert client.get(f"/annotate/exports/{finished.pk}/files/{path}").status_code == 404


def test_files_live_outside_every_public_path(client, manager, finished):
    assert finished.directory.is_relative_to(settings.MEDIA_ROOT)
    assert not finished.directory.is_relative_to(settings.STATIC_ROOT)
    client.force_login(manager)
    for prefix in ("/media/", "/static/", "/"):
        assert client.get(f"{prefix}exports/{finished.pk}/train.parquet").status_code == 404


def test_a_manager_exports_from_the_page_and_the_progress_partial_polls_until_done(client, manager,
                                                                                  pairwise_campaign):
    client.force_login(manager)
    page = client.get("/annotate/exports/")
    assert page.status_code == 200 and "Pairs" in page.content.decode()

    response = client.post("/annotate/exports/", {
        "campaigns": [pairwise_campaign.pk], "format": "kto", "filetype": "jsonl", "style": "conversational",
        "aggregate": "majority", "pairs": "all", "min_margin": "0", "test_size": "0.1", "provenance": "on",
        "license": "cc-by-4.0", "since": "2020-01-01",
    })
    export = Export.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/annotate/exports/{export.pk}/"
    assert export.spec["license"] == "cc-by-4.0" and export.spec["since"] == "2020-01-01T00:00:00+00:00"

    queued = client.get(f"/annotate/exports/{export.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in queued and "Queued" in queued
    export_run(export_id=export.pk)
    done = client.get(f"/annotate/exports/{export.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done and "README.md" in done
    detail = client.get(f"/annotate/exports/{export.pk}/").content.decode()
    assert "Export again" in detail and '"salt"' not in detail
    readme = client.get(f"/annotate/exports/{export.pk}/files/README.md")
    assert readme["Content-Disposition"].startswith("attachment;")


def test_export_again_gives_the_same_bytes(client, manager, finished):
    client.force_login(manager)
    response = client.post(f"/annotate/exports/{finished.pk}/again/")
    again = Export.objects.exclude(pk=finished.pk).get()
    assert response["Location"] == f"/annotate/exports/{again.pk}/"
    export_run(export_id=again.pk)
    again.refresh_from_db()
    assert again.content_hash == finished.content_hash
    assert (again.directory / "README.md").read_bytes() == (finished.directory / "README.md").read_bytes()


def test_an_invalid_form_shows_what_is_wrong(client, manager, pairwise_campaign):
    client.force_login(manager)
    response = client.post("/annotate/exports/", {
        "campaigns": [pairwise_campaign.pk], "format": "openai", "filetype": "hf", "style": "conversational",
        "aggregate": "none", "pairs": "all", "min_margin": "0", "test_size": "0.1", "license": "x",
    })
    assert response.status_code == 200 and "JSONL files" in response.content.decode()
    assert not Export.objects.exists()


def test_the_command_exports_here_with_a_progress_bar_and_prints_the_path(pairwise_campaign, capsys):
    out = io.StringIO()
    call_command("export_dataset", "--campaign", "Pairs", "--format", "dpo", "--filetype", "jsonl.gz",
                 "--test-size", "0", "--here", stdout=out)
    export = Export.objects.get()
    assert export.status == "done" and export.created_by is None
    assert str(export.directory) in out.getvalue() and "Wrote 11 rows" in out.getvalue()
    assert "12/12 judgments" in capsys.readouterr().out
    assert (export.directory / "train.jsonl.gz").exists()


def test_the_command_names_what_is_wrong(pairwise_campaign):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="No campaign named 'Nope'"):
        call_command("export_dataset", "--campaign", "Nope", "--format", "dpo")
    with pytest.raises(CommandError, match="aggregate"):
        call_command("export_dataset", "--campaign", "Pairs", "--format", "raw", "--aggregate", "majority")


def test_an_admin_sees_exports_in_the_admin_and_runs_one_again(client, admin_user, finished):
    client.force_login(admin_user)
    listing = client.get("/admin/exports/export/")
    assert listing.status_code == 200 and f"/annotate/exports/{finished.pk}/" in listing.content.decode()

    client.post("/admin/exports/export/", {"action": "export_again", "_selected_action": [finished.pk]})
    again = Export.objects.exclude(pk=finished.pk).get()
    assert again.spec == finished.spec and again.created_by == admin_user


def test_an_export_without_campaigns_is_shown_to_admins_only(api_client, finished, manager, other_manager,
                                                            admin_user):
    finished.campaigns.clear()  # as an export left behind by a campaign deleted without its exports would be
    for user in (manager, other_manager):
        assert api_client.get("/api/v1/exports", **auth(user)).json() == []
        assert api_client.get(f"/api/v1/exports/{finished.pk}/files/train.parquet", **auth(user)).status_code == 404
    assert [e["id"] for e in api_client.get("/api/v1/exports", **auth(admin_user)).json()] == [finished.pk]


def test_an_export_of_two_campaigns_needs_a_manager_of_both(api_client, run_export, manager, other_manager,
                                                           pairwise_campaign, ranking_campaign):
    both = run_export([pairwise_campaign, ranking_campaign], format="reward", filetype="jsonl")
    ranking_campaign.managers.add(other_manager)
    assert api_client.get(f"/api/v1/exports/{both.pk}", **auth(other_manager)).status_code == 404
    assert api_client.get(f"/api/v1/exports/{both.pk}", **auth(manager)).status_code == 200


def test_deleting_a_campaign_deletes_its_exports_and_their_files(finished, pairwise_campaign,
                                                               django_capture_on_commit_callbacks):
    assert finished.directory.is_dir()
    with django_capture_on_commit_callbacks(execute=True):
        pairwise_campaign.delete()
    assert not Export.objects.exists()
    assert not finished.directory.exists()


def test_a_deletion_rolled_back_keeps_the_files(finished, pairwise_campaign):
    with pytest.raises(RuntimeError), transaction.atomic():
        pairwise_campaign.delete()
        raise RuntimeError("changed my mind")
    assert Export.objects.filter(pk=finished.pk).exists() and finished.directory.is_dir()


@pytest.mark.parametrize("spec, key, says", [
    ({"campaigns": list(range(1, 300_001))}, "campaigns", "1 to 100 campaign ids"),
    ({"campaigns": [2**70]}, "detail", "64 bits"),
    ({"name": "data\ud800set"}, "detail", "lone surrogate"),
    ({"license": "mit\u0000"}, "detail", "NUL"),
    ({"models": ["m" * 10, "x\ud800"]}, "detail", "lone surrogate"),
])
def test_a_spec_no_query_or_card_could_hold_is_a_400_naming_the_limit(api_client, manager, pairwise_campaign, spec,
                                                                      key, says):
    body = json.dumps({"campaigns": [pairwise_campaign.pk], "format": "dpo", **spec})
    response = api_client.generic("POST", "/api/v1/exports", body, content_type="application/json", **auth(manager))
    assert response.status_code == 400 and says in json.dumps(response.json())
    assert not Export.objects.exists()

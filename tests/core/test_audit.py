"""The audit trail records campaign status and member changes, exports and downloads; admins read it, nobody edits."""

import pytest

from annotate.services.assignments import assignment_next, judgment_submit
from annotate.services.campaigns import campaign_members_add, campaign_members_remove, campaign_status_set
from core.models import AuditEvent
from exports.services import export_create, export_file_download, export_run
from tests.factories import campaign_with_items


def actions() -> list[tuple[str, str, str]]:
    return [(event.actor_name, event.action, event.target) for event in AuditEvent.objects.order_by("id")]


def test_status_and_member_changes_are_recorded_with_who_did_them(manager, annotator, other_annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    campaign_members_add(campaign=campaign, usernames=["otto"], by=manager)
    campaign_members_remove(campaign=campaign, users=[annotator], by=manager)
    campaign_status_set(campaign=campaign, status="paused", by=manager)
    target = f"campaign {campaign.pk}"
    assert actions()[-4:] == [("maria", "campaign.status", target), ("maria", "campaign.members_add", target),
                              ("maria", "campaign.members_remove", target), ("maria", "campaign.status", target)]
    assert AuditEvent.objects.order_by("id").last().details == {"from": "live", "to": "paused"}


def test_exports_and_downloads_are_recorded(manager, annotator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    campaign = campaign_with_items(manager=manager, members=[annotator])
    held = assignment_next(campaign=campaign, annotator=annotator)
    judgment_submit(assignment_id=held.pk, annotator=annotator, answer={"choice": "a"})
    export = export_create(spec={"campaigns": [campaign.pk], "format": "raw"}, by=manager)
    export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export_file_download(export=export, path="README.md", by=manager) is not None
    assert export_file_download(export=export, path="nothing.txt", by=manager) is None  # nothing sent, nothing kept
    assert actions()[-2:] == [("maria", "export.create", f"export {export.pk}"),
                              ("maria", "export.download", f"export {export.pk}")]


def test_a_judgments_download_is_recorded(client, manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    client.force_login(manager)
    b"".join(client.get(f"/annotate/manage/{campaign.pk}/judgments.jsonl").streaming_content)
    assert actions()[-1] == ("maria", "campaign.judgments_download", f"campaign {campaign.pk}")


def test_events_are_never_changed_or_deleted(manager, annotator):
    campaign_with_items(manager=manager, members=[annotator])
    event = AuditEvent.objects.first()
    event.target = "something else"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()


def test_admins_read_the_trail_and_managers_cannot(client, admin_user, manager, annotator):
    campaign_with_items(manager=manager, members=[annotator])
    client.force_login(admin_user)
    page = client.get("/admin/core/auditevent/")
    assert page.status_code == 200 and "campaign.status" in page.content.decode()
    assert client.get("/admin/core/auditevent/add/").status_code == 403
    client.force_login(manager)
    assert client.get("/admin/core/auditevent/").status_code == 302  # to the admin's sign-in

"""A manager's own tools: bounded campaign forms, editing settings with an audit line, bulk member removal, and
the item browser, each scoped to the campaigns that manager manages."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import User
from annotate.models import Campaign
from annotate.selectors import browse_item, browse_items, campaign_history
from annotate.services.assignments import assignment_next, judgment_submit
from annotate.services.campaigns import campaign_settings_update
from tests.factories import UserFactory, campaign_with_items


@pytest.fixture
def judged(manager, annotator, other_annotator):
    """A live pairwise campaign of 3 items, one judged by anna with a rationale."""
    campaign = campaign_with_items(manager=manager, members=[annotator, other_annotator], name="Kindness",
                                   overlap=2)
    assignment = assignment_next(campaign=campaign, annotator=annotator)
    judgment_submit(assignment_id=assignment.pk, annotator=annotator,
                    answer={"choice": "a", "strength": -2, "rationale": "A is gentler about the mistake."})
    return campaign, assignment.item


@pytest.fixture
def rival(db):
    return UserFactory(username="rhea", role=User.Role.MANAGER)


# --- the campaign form -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value", "message"), [
    ("overlap", "0", "Overlap: 1 to 1000 annotators per item."),
    ("gold_rate", "2", "Gold rate: a share from 0 (no gold items) to 1 (only gold items)."),
    ("lease_minutes", "0", "Lease: 1 to 10080 minutes (a week)."),
])
def test_an_out_of_range_number_is_a_field_error_in_words_never_a_constraint_name(client, manager, field, value,
                                                                                   message):
    client.force_login(manager)
    data = {"name": "Bounds", "design": "pairwise", "responses_per_item": 2, "overlap": 3, "lease_minutes": 30,
            "gold_rate": 0, field: value}
    page = client.post("/annotate/manage/", data).content.decode()
    assert message in page and "Constraint" not in page and "violated" not in page
    assert not Campaign.objects.filter(name="Bounds").exists()


def test_the_campaign_form_gives_the_browser_each_numbers_bounds(client, manager):
    client.force_login(manager)
    page = client.get("/annotate/manage/").content.decode()
    assert 'name="overlap" value="3" min="1" max="1000"' in page
    gold_rate = re.search(r'<input[^>]*name="gold_rate"[^>]*>', page).group()
    assert all(bound in gold_rate for bound in ('min="0"', 'max="1"', 'step="0.01"'))


# --- editing settings --------------------------------------------------------------------------------------------

def test_a_manager_edits_settings_and_the_history_says_what_changed(client, manager, judged):
    campaign, _ = judged
    client.force_login(manager)
    page = client.post(f"/annotate/manage/{campaign.pk}/settings/", {
        "name": "Kindness", "guidelines": "Prefer kind answers.", "overlap": 3, "lease_minutes": 30,
        "gold_rate": 0, "ask_strength": "on"}, follow=True).content.decode()

    campaign.refresh_from_db()
    assert (campaign.overlap, campaign.guidelines) == (3, "Prefer kind answers.")
    assert "Saved the settings (changed: guidelines, overlap)." in page
    history = campaign_history(campaign=campaign)
    assert "maria: guidelines '0 characters' → '20 characters'; overlap 2 → 3" in history[0]


def test_saving_untouched_guidelines_from_the_browser_changes_nothing(client, manager, judged):
    campaign, _ = judged
    campaign_settings_update(campaign=campaign, by=manager, guidelines="Be kind.\n\n* Check facts.\n")
    client.force_login(manager)
    page = client.post(f"/annotate/manage/{campaign.pk}/settings/", {  # a textarea's lines come back as CRLF
        "name": "Kindness", "guidelines": "Be kind.\r\n\r\n* Check facts.\r\n", "overlap": 2, "lease_minutes": 45,
        "gold_rate": 0, "ask_strength": "on"}, follow=True).content.decode()
    assert "Saved the settings (changed: lease minutes)." in page
    campaign.refresh_from_db()
    assert campaign.guidelines == "Be kind.\n\n* Check facts.\n"


def test_settings_fixed_at_creation_cannot_be_edited(manager, judged):
    campaign, _ = judged
    with pytest.raises(ValidationError, match="cannot change after creation: design"):
        campaign_settings_update(campaign=campaign, by=manager, design="ranking")


def test_an_unchanged_save_writes_no_audit_line(manager, judged):
    campaign, _ = judged
    before = len(campaign_history(campaign=campaign))
    assert campaign_settings_update(campaign=campaign, by=manager, overlap=2) == {}
    assert len(campaign_history(campaign=campaign)) == before


def test_an_edit_out_of_bounds_is_refused_in_words(client, manager, judged):
    campaign, _ = judged
    client.force_login(manager)
    page = client.post(f"/annotate/manage/{campaign.pk}/settings/", {
        "name": "Kindness", "overlap": 3, "lease_minutes": 30, "gold_rate": "1.5"}).content.decode()
    assert "Gold rate: a share from 0" in page
    campaign.refresh_from_db()
    assert campaign.overlap == 2


def test_nobody_but_its_managers_edits_a_campaign(client, annotator, outsider, rival, judged):
    campaign, _ = judged
    for person in (annotator, outsider, rival):
        with pytest.raises(PermissionDenied):
            campaign_settings_update(campaign=campaign, by=person, overlap=5)
    client.force_login(annotator)
    assert client.post(f"/annotate/manage/{campaign.pk}/settings/", {"overlap": 5}).status_code == 403
    client.force_login(rival)
    assert client.post(f"/annotate/manage/{campaign.pk}/settings/", {"overlap": 5}).status_code == 404
    campaign.refresh_from_db()
    assert campaign.overlap == 2


# --- members -----------------------------------------------------------------------------------------------------

def test_a_manager_removes_several_members_at_once(client, manager, annotator, other_annotator, judged):
    campaign, _ = judged
    client.force_login(manager)
    page = client.post(f"/annotate/manage/{campaign.pk}/members/remove/",
                       {"user_ids": [annotator.pk, other_annotator.pk]}, follow=True).content.decode()
    assert "Removed anna, otto; their judgments stay." in page
    assert not campaign.members.exists() and campaign.items.filter(judgments__annotator=annotator).exists()
    assert "removed anna, otto" in campaign_history(campaign=campaign)[0]


# --- the item browser --------------------------------------------------------------------------------------------

def test_the_browser_finds_items_by_text_state_and_annotator(manager, judged):
    campaign, item = judged
    assert browse_items(user=manager).count() == 3
    assert list(browse_items(user=manager, query="gentler")) == [item]
    assert list(browse_items(user=manager, query=item.external_id)) == [item]
    assert browse_items(user=manager, query="Question 1?").count() == 1
    assert list(browse_items(user=manager, state="partial")) == [item]
    assert browse_items(user=manager, state="open").count() == 2
    assert list(browse_items(user=manager, annotator="anna")) == [item]
    assert not browse_items(user=manager, annotator="otto").exists()
    assert browse_items(user=manager, campaign_id=campaign.pk + 1000).count() == 0


def test_an_item_shows_who_said_what(client, manager, judged):
    _, item = judged
    detail = browse_item(user=manager, item_id=item.pk)
    assert [(j.annotator.username, j.summary) for j in detail["judgments"]] == [("anna", "A is better (strength -2)")]
    client.force_login(manager)
    page = client.get(f"/annotate/manage/items/{item.pk}/").content.decode()
    assert "anna" in page and "A is better (strength -2)" in page and "A is gentler about the mistake." in page


def test_the_browser_page_filters(client, manager, judged):
    campaign, item = judged
    client.force_login(manager)
    page = client.get("/annotate/manage/items/", {"q": "gentler", "campaign": campaign.pk}).content.decode()
    assert "1 item<" in page and item.external_id in page


def test_another_manager_sees_nothing_of_the_items(client, rival, judged):
    _, item = judged
    assert not browse_items(user=rival).exists()
    client.force_login(rival)
    assert "0 items" in client.get("/annotate/manage/items/").content.decode()
    assert client.get(f"/annotate/manage/items/{item.pk}/").status_code == 404


def test_annotators_and_outsiders_cannot_browse(client, annotator, outsider, judged):
    _, item = judged
    for person in (annotator, outsider):
        client.force_login(person)
        assert client.get("/annotate/manage/items/").status_code == 403
        assert client.get(f"/annotate/manage/items/{item.pk}/").status_code == 403
    client.logout()
    assert client.get("/annotate/manage/items/").status_code == 302


def test_the_generate_form_starts_from_the_campaigns_item_size_and_the_models_reply_length(client, manager,
                                                                                          tiny_endpoint):
    from annotate.services.campaigns import campaign_create

    campaign = campaign_create(creator=manager, name="Ranks", design="ranking", responses_per_item=4)
    client.force_login(manager)
    form = client.get(f"/annotate/manage/{campaign.pk}/").context["generate_form"]
    assert (form["n"].value(), form["max_new_tokens"].value()) == (4, 8)

"""Campaigns without the browser: the idempotent create, the command line, import with --create, and the API."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from accounts.models import User
from accounts.services.tokens import token_create
from annotate.models import Campaign, Judgment
from annotate.services.campaigns import campaign_ensure
from tests.factories import campaign_with_items


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {token_create(user=user, name='t')[1]}"}


def judgment(item: str, protocol: str, ids: list[str], **answer) -> str:
    return json.dumps({"item": item, "prompt": "Which is kinder?", "annotator": "anna", "protocol": protocol,
                       "responses": [{"id": response, "text": f"Text {response}."} for response in ids], **answer})


# --- the idempotent create -----------------------------------------------------------------------------------------

def test_ensuring_a_campaign_twice_with_the_same_settings_gives_the_same_campaign(manager):
    first, created = campaign_ensure(creator=manager, name="Kindness", design="rating", overlap=2)
    again, created_again = campaign_ensure(creator=manager, name="Kindness", design="rating", overlap=2)

    assert (created, created_again) == (True, False) and first == again
    assert first.rate_alone and first.managers.get() == manager


def test_ensuring_a_campaign_with_other_settings_is_an_error_and_changes_nothing(manager):
    campaign_ensure(creator=manager, name="Kindness", design="rating", overlap=2)

    with pytest.raises(ValidationError, match="design is 'rating', not 'pairwise'; overlap is 2, not 3"):
        campaign_ensure(creator=manager, name="Kindness", design="pairwise", overlap=3)
    assert Campaign.objects.get().design == "rating"


def test_an_annotator_cannot_ensure_a_campaign(annotator):
    with pytest.raises(PermissionDenied, match="Only managers"):
        campaign_ensure(creator=annotator, name="Kindness", design="rating")
    assert not Campaign.objects.exists()


# --- create_campaign -----------------------------------------------------------------------------------------------

def test_create_campaign_makes_a_campaign_and_running_it_again_is_fine(manager, tmp_path, capsys):
    guidelines = tmp_path / "guidelines.md"
    guidelines.write_text("Prefer **kind** answers.", encoding="utf-8")
    arguments = ["create_campaign", "Kindness", "--design", "rank_vs_rate", "--overlap", "2", "--guidelines",
                 str(guidelines), "--manager", "maria"]

    call_command(*arguments)
    call_command(*arguments)

    out = capsys.readouterr().out
    assert "Created campaign 'Kindness'" in out and "Already there: campaign 'Kindness'" in out
    campaign = Campaign.objects.get()
    assert (campaign.design, campaign.overlap, campaign.guidelines, campaign.created_by, campaign.rate_alone) == (
        "rank_vs_rate", 2, "Prefer **kind** answers.", manager, True)


def test_create_campaign_refuses_other_settings_an_unknown_manager_and_an_annotator(manager, annotator):
    call_command("create_campaign", "Kindness", "--design", "pairwise", "--manager", "maria")

    with pytest.raises(CommandError, match="exists with other settings: overlap is 3, not 5"):
        call_command("create_campaign", "Kindness", "--design", "pairwise", "--overlap", "5", "--manager", "maria")
    with pytest.raises(CommandError, match="No active manager or admin named 'nobody'"):
        call_command("create_campaign", "Other", "--design", "pairwise", "--manager", "nobody")
    with pytest.raises(CommandError, match="No active manager or admin named 'anna'"):
        call_command("create_campaign", "Other", "--design", "pairwise", "--manager", "anna")
    with pytest.raises(CommandError, match="no admin to act as"):
        call_command("create_campaign", "Other", "--design", "pairwise")
    assert list(Campaign.objects.values_list("name", flat=True)) == ["Kindness"]


def test_create_campaign_acts_as_the_first_admin_by_default(admin_user):
    call_command("create_campaign", "Kindness", "--design", "ranking", "--responses-per-item", "4",
                 "--side-by-side")

    campaign = Campaign.objects.get()
    assert (campaign.created_by, campaign.responses_per_item, campaign.rate_alone) == (admin_user, 4, False)


# --- import_judgments --create -------------------------------------------------------------------------------------

INFERRED = [
    ([judgment("i1", "pairwise", ["r1", "r2"], choice="a")], "pairwise", True),
    ([judgment("i1", "rating", ["r1"], ratings={"r1": 5})], "rating", True),
    ([judgment("i1", "attributes", ["r1", "r2"], attributes={
        response: {"helpfulness": 3, "correctness": 3, "coherence": 3, "complexity": 1, "verbosity": 2}
        for response in ("r1", "r2")})], "attributes", False),
    ([judgment("i1", "rating", ["r1"], ratings={"r1": 5}), judgment("i2", "pairwise", ["r1", "r2"], choice="b"),
      judgment("i3", "ranking", ["r1", "r2", "r3"], ranking=[["r3"], ["r1", "r2"]])], "rank_vs_rate", True),
]


@pytest.mark.parametrize(("lines", "design", "alone"), INFERRED, ids=[design for _, design, _ in INFERRED])
def test_import_with_create_infers_the_design_from_the_file(manager, tmp_path, lines, design, alone):
    path = tmp_path / "judgments.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    call_command("import_judgments", str(path), "--campaign", "From a file", "--create", "--manager", "maria")
    call_command("import_judgments", str(path), "--campaign", "From a file", "--create", "--manager", "maria")

    campaign = Campaign.objects.get()
    assert (campaign.design, campaign.rate_alone, campaign.created_by) == (design, alone, manager)
    assert Judgment.objects.filter(item__campaign=campaign).count() == len(lines)


def test_import_with_create_takes_a_given_design_and_refuses_one_it_cannot_infer(manager, tmp_path):
    path = tmp_path / "judgments.jsonl"
    path.write_text(judgment("i1", "pairwise", ["r1", "r2"], choice="a") + "\n"
                    + judgment("i2", "ranking", ["r1", "r2"], ranking=[["r1"], ["r2"]]) + "\n", encoding="utf-8")

    with pytest.raises(CommandError, match="No one campaign design holds pairwise, ranking judgments"):
        call_command("import_judgments", str(path), "--campaign", "Mixed", "--create", "--manager", "maria")
    assert not Campaign.objects.exists()
    call_command("import_judgments", str(path), "--campaign", "Mixed", "--create", "--design", "ranking",
                 "--manager", "maria")
    assert Campaign.objects.get().design == "ranking"


def test_a_failed_import_with_create_leaves_no_campaign(manager, tmp_path):
    path = tmp_path / "judgments.jsonl"
    path.write_text(judgment("i1", "pairwise", ["r1", "r2"], choice="c") + "\n", encoding="utf-8")

    with pytest.raises(CommandError, match="line 1: choice"):
        call_command("import_judgments", str(path), "--campaign", "Broken", "--create", "--manager", "maria")
    assert not Campaign.objects.exists()


# --- the API -------------------------------------------------------------------------------------------------------

def test_a_manager_creates_a_campaign_with_members_through_the_api(api_client, manager, annotator):
    response = api_client.post("/api/v1/campaigns", {"name": "Kindness", "design": "rating", "overlap": 2,
                                                     "members": ["anna"]}, format="json", **auth(manager))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["status"], body["design"], body["rate_alone"], body["members"]) == (
        "Kindness", "draft", "rating", True, ["anna"])
    again = api_client.post("/api/v1/campaigns", {"name": "Kindness", "design": "rating"}, format="json",
                            **auth(manager))
    assert again.status_code == 400 and "name" in again.json()


def test_an_annotator_cannot_create_a_campaign_through_the_api(api_client, annotator):
    response = api_client.post("/api/v1/campaigns", {"name": "Mine", "design": "rating"}, format="json",
                               **auth(annotator))

    assert response.status_code == 403 and not Campaign.objects.exists()


def test_a_manager_sets_members_and_launches_through_the_api(api_client, manager, annotator, other_annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], design="rating", name="Kindness")
    campaign.status = Campaign.Status.DRAFT
    campaign.save()
    url, headers = f"/api/v1/campaigns/{campaign.pk}", auth(manager)

    response = api_client.patch(url, {"members": ["otto"], "status": "live"}, format="json", **headers)

    assert response.status_code == 200, response.json()
    assert (response.json()["members"], response.json()["status"]) == (["otto"], "live")
    assert api_client.patch(url, {"status": "live"}, format="json", **headers).status_code == 200  # already so
    wrong = api_client.patch(url, {"members": ["nobody"]}, format="json", **headers)
    assert wrong.status_code == 400 and list(campaign.members.all()) == [other_annotator]


def test_only_a_campaigns_managers_may_change_it(api_client, manager, annotator, outsider):
    campaign = campaign_with_items(manager=manager, members=[annotator], name="Kindness")
    url = f"/api/v1/campaigns/{campaign.pk}"

    assert api_client.patch(url, {"status": "closed"}, format="json", **auth(annotator)).status_code == 403
    assert api_client.patch(url, {"status": "closed"}, format="json", **auth(outsider)).status_code == 404
    other_manager = User.objects.create(username="mo", role=User.Role.MANAGER)
    assert api_client.patch(url, {"status": "closed"}, format="json", **auth(other_manager)).status_code == 404
    campaign.refresh_from_db()
    assert campaign.status == "live"


def test_the_campaign_list_shows_each_user_what_they_may_see(api_client, manager, annotator, outsider):
    campaign_with_items(manager=manager, members=[annotator], name="Kindness")
    campaign_with_items(manager=manager, name="Hidden")

    rival = User.objects.create(username="rhea", role=User.Role.MANAGER)
    names = {user.username: [row["name"] for row in api_client.get("/api/v1/campaigns", **auth(user)).json()]
             for user in (manager, annotator, outsider, rival)}

    assert names == {"maria": ["Hidden", "Kindness"], "anna": ["Kindness"], "olga": [], "rhea": []}
    assert "members" not in api_client.get("/api/v1/campaigns", **auth(annotator)).json()[0]


def test_the_campaign_routes_are_in_the_openapi_schema(api_client, manager):
    schema = api_client.get("/api/schema/?format=json", **auth(manager)).json()

    assert {"get", "post"} <= set(schema["paths"]["/api/v1/campaigns"])
    assert "patch" in schema["paths"]["/api/v1/campaigns/{campaign_id}"]


def test_its_managers_change_a_campaigns_settings_through_the_api_and_the_change_is_audited(api_client, manager,
                                                                                            annotator):
    from annotate.selectors import campaign_history

    campaign = campaign_with_items(manager=manager, members=[annotator], name="Kindness")
    response = api_client.patch(f"/api/v1/campaigns/{campaign.pk}", {"overlap": 4, "guidelines": "Be kind."},
                                format="json", **auth(manager))
    assert response.status_code == 200 and response.json()["overlap"] == 4
    assert "overlap 3 → 4" in campaign_history(campaign=campaign)[0]
    refused = api_client.patch(f"/api/v1/campaigns/{campaign.pk}", {"overlap": 0}, format="json", **auth(manager))
    assert refused.status_code == 400
    assert api_client.patch(f"/api/v1/campaigns/{campaign.pk}", {"overlap": 5}, format="json",
                            **auth(annotator)).status_code == 403
    campaign.refresh_from_db()
    assert campaign.overlap == 4


# --- building items -----------------------------------------------------------------------------------------------

def _draft_with_prompts(manager, name: str, prompts: int):
    from annotate.models import Candidate, Prompt
    from annotate.services.campaigns import campaign_create

    campaign = campaign_create(creator=manager, name=name, responses_per_item=2)
    made = Prompt.objects.bulk_create([Prompt(campaign=campaign, external_id=f"p{p}",
                                              messages=[{"role": "user", "content": f"Q{p}?"}])
                                       for p in range(prompts)])
    Candidate.objects.bulk_create([Candidate(prompt=prompt, external_id=f"{prompt.external_id}-r{r}", text=f"A{r}",
                                             model=f"model-{r}") for prompt in made for r in range(3)])
    return campaign


def test_building_items_takes_no_query_per_item_and_reports_its_progress(manager):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotate.services.campaigns import campaign_items_build

    counts, seen = [], []
    for prompts in (10, 300):  # 30 and 900 items
        campaign = _draft_with_prompts(manager, f"Bulk {prompts}", prompts)
        with CaptureQueriesContext(connection) as queries:
            created = campaign_items_build(campaign=campaign, on_progress=lambda done, total: seen.append(
                (done, total)))
        counts.append(len(queries))
        assert created == 3 * prompts  # three pairs of three responses
        assert sorted(campaign.items.get(external_id="p7:p7-r0+p7-r2").slots.values_list(
            "candidate__external_id", "position")) == [("p7-r0", 0), ("p7-r2", 1)]
        assert campaign_items_build(campaign=campaign) == 0  # again: nothing new
    assert counts[1] < 900 / 20  # bulk inserts (SQLite's are cut into batches by its parameter limit)
    assert counts[0] < 15
    assert seen == [(10, 10), (300, 300)]

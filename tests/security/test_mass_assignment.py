"""Fields a client must not set are not taken from it: who judged, gold scores, roles, an export's owner or state."""

from accounts.models import User
from accounts.services.tokens import token_create
from annotate.models import Judgment
from exports.models import Export
from modelhost.models import GenerationJob
from tests.factories import campaign_with_items


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {token_create(user=user, name='t')[1]}"}


def test_a_submit_cannot_name_another_annotator_a_gold_score_or_a_date(api_client, manager, annotator,
                                                                       other_annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator, other_annotator])
    headers = auth(annotator)
    assignment = api_client.post(f"/api/v1/campaigns/{campaign.pk}/next", **headers).json()["assignment"]
    body = {"choice": "a", "annotator": other_annotator.pk, "annotator_id": other_annotator.pk, "gold_correct": True,
            "item": "p1:p1-r0+p1-r1", "created_at": "2000-01-01T00:00:00Z", "protocol": "rating"}
    assert api_client.post(f"/api/v1/assignments/{assignment}/submit", body, format="json",
                           **headers).status_code == 201
    judgment = Judgment.objects.get()
    assert (judgment.annotator, judgment.gold_correct, judgment.protocol) == (annotator, None, "pairwise")
    assert judgment.assignment_id == assignment and judgment.created_at.year > 2000


def test_a_manager_cannot_make_an_admin_or_a_manager(client, manager):
    client.force_login(manager)
    for role in ("admin", "manager"):
        client.post("/accounts/people/", {"username": f"new-{role}", "role": role, "is_staff": "on",
                                          "is_superuser": "on"})
    assert not User.objects.filter(username__startswith="new-").exclude(role="annotator").exists()
    assert not User.objects.filter(username__startswith="new-", is_staff=True).exists()


def test_an_export_cannot_be_given_an_owner_or_a_state(api_client, manager, annotator, other_annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    body = {"campaigns": [campaign.pk], "format": "raw", "created_by": other_annotator.pk, "status": "done"}
    response = api_client.post("/api/v1/exports", body, format="json", **auth(manager))
    assert response.status_code == 400 and "spec" in response.json() and not Export.objects.exists()


def test_a_generation_job_cannot_be_given_an_owner_or_a_state(api_client, manager, other_annotator, tiny_endpoint):
    body = {"label": "x", "conversations": [{"key": "q", "messages": "Hi"}], "created_by": other_annotator.pk,
            "status": "done", "done": 99, "source": "campaign:1"}
    assert api_client.post("/api/v1/generation-jobs", body, format="json", **auth(manager)).status_code == 201
    job = GenerationJob.objects.get()
    assert (job.created_by, job.status, job.done, job.source) == (manager, "queued", 0, "api")

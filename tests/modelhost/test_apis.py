import pytest

from accounts.services.tokens import token_create
from modelhost.models import GenerationJob
from modelhost.services.jobs import generation_job_run

BODY = {"label": "api job", "n": 2, "seed": 1, "params": {"max_new_tokens": 6},
        "conversations": [{"key": "q1", "messages": "Hello?"},
                          {"key": "q2", "messages": [{"role": "user", "content": "Hi"}]}]}


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {token_create(user=user, name='t')[1]}"}


def test_a_manager_starts_a_job_follows_it_and_reads_its_outputs(api_client, manager, tiny_endpoint):
    headers = auth(manager)
    created = api_client.post("/api/v1/generation-jobs", BODY, format="json", **headers)
    assert created.status_code == 201, created.json()
    job = created.json()
    assert (job["status"], job["total"], job["endpoints"]) == ("queued", 4, ["tiny"])

    generation_job_run(job_id=job["id"])  # what the gpu worker does with the queued task

    progress = api_client.get(f"/api/v1/generation-jobs/{job['id']}", **headers).json()
    assert (progress["status"], progress["done"]) == ("done", 4)
    outputs = api_client.get(f"/api/v1/generation-jobs/{job['id']}/outputs", **headers).json()
    assert sorted((o["key"], o["sample_index"]) for o in outputs) == [("q1", 0), ("q1", 1), ("q2", 0), ("q2", 1)]
    assert all(o["params"]["max_new_tokens"] == 6 and o["completion_tokens"] <= 6 for o in outputs)


def test_bad_input_gets_a_400_and_writes_nothing(api_client, manager, tiny_endpoint):
    headers = auth(manager)
    for body in [{**BODY, "endpoints": ["nope"]}, {**BODY, "params": {"bogus": 1}}, {**BODY, "conversations": []},
                 {"label": "x"}]:
        response = api_client.post("/api/v1/generation-jobs", body, format="json", **headers)
        assert response.status_code == 400, body
    assert not GenerationJob.objects.exists()


def test_an_annotator_cannot_start_or_see_jobs(api_client, manager, annotator, tiny_endpoint):
    job_id = api_client.post("/api/v1/generation-jobs", BODY, format="json", **auth(manager)).json()["id"]
    headers = auth(annotator)
    assert api_client.post("/api/v1/generation-jobs", BODY, format="json", **headers).status_code == 403
    assert api_client.get(f"/api/v1/generation-jobs/{job_id}", **headers).status_code == 403


def test_another_manager_cannot_see_or_cancel_my_job(api_client, manager, tiny_endpoint):
    from tests.factories import UserFactory

    job_id = api_client.post("/api/v1/generation-jobs", BODY, format="json", **auth(manager)).json()["id"]
    headers = auth(UserFactory(username="mallory", role="manager"))
    assert api_client.get(f"/api/v1/generation-jobs/{job_id}", **headers).status_code == 404
    assert api_client.post(f"/api/v1/generation-jobs/{job_id}/cancel", **headers).status_code == 404
    assert GenerationJob.objects.get(pk=job_id).status == "queued"


def test_the_owner_cancels_a_job(api_client, manager, tiny_endpoint):
    headers = auth(manager)
    job_id = api_client.post("/api/v1/generation-jobs", BODY, format="json", **headers).json()["id"]
    assert api_client.post(f"/api/v1/generation-jobs/{job_id}/cancel", **headers).json()["status"] == "cancelled"


def test_managers_list_the_endpoints_and_annotators_may_not(api_client, manager, annotator, tiny_endpoint):
    endpoints = api_client.get("/api/v1/endpoints", **auth(manager)).json()
    assert [e["name"] for e in endpoints] == ["tiny"]
    assert api_client.get("/api/v1/endpoints", **auth(annotator)).status_code == 403


@pytest.mark.parametrize("change", [
    {"seed": 2**64}, {"seed": "99999999999999999999999"}, {"n": 10**12}, {"n": 0},
    {"params": {"max_new_tokens": 6, "seed": 2**70}},
])
def test_numbers_out_of_bounds_are_a_400(api_client, manager, tiny_endpoint, change):
    response = api_client.post("/api/v1/generation-jobs", {**BODY, **change}, format="json", **auth(manager))
    assert response.status_code == 400 and not GenerationJob.objects.exists()


def test_a_job_bigger_than_the_limit_is_refused_whole(api_client, manager, tiny_endpoint, settings):
    settings.MODELHOST_JOB_MAX_OUTPUTS = 100
    conversations = [{"key": f"q{i}", "messages": "Hi"} for i in range(60)]
    response = api_client.post("/api/v1/generation-jobs", {**BODY, "conversations": conversations}, format="json",
                               **auth(manager))
    assert response.status_code == 400 and "at most 100" in response.json()["detail"][0]
    assert not GenerationJob.objects.exists()


def test_an_offset_beyond_64_bits_is_a_400(api_client, manager, tiny_endpoint):
    job_id = api_client.post("/api/v1/generation-jobs", BODY, format="json", **auth(manager)).json()["id"]
    response = api_client.get(f"/api/v1/generation-jobs/{job_id}/outputs?offset={2**70}", **auth(manager))
    assert response.status_code == 400 and "offset" in response.json()

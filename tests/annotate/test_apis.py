from accounts.services.tokens import token_create
from annotate.models import Judgment
from tests.factories import campaign_with_items


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {token_create(user=user, name='t')[1]}"}


def test_an_annotator_loops_next_and_submit_until_nothing_is_left(api_client, manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], prompts=2, overlap=1)
    headers, done, served = auth(annotator), 0, []
    while (task := api_client.post(f"/api/v1/campaigns/{campaign.pk}/next", **headers)).status_code == 200:
        body = task.json()
        served.append(body["item"])
        assert body["protocol"] == "pairwise" and body["prompt"][0]["role"] == "user"
        assert sorted(r["id"] for r in body["responses"]) == sorted(body["item"].split(":")[1].split("+"))
        submitted = api_client.post(f"/api/v1/assignments/{body['assignment']}/submit",
                                    {"choice": "tie", "strength": 0, "client_key": f"key-{done}"}, format="json",
                                    **headers)
        assert submitted.status_code == 201, submitted.json()
        done += 1
    assert task.status_code == 204 and done == 2
    assert sorted(served) == sorted(campaign.items.values_list("external_id", flat=True))  # each item once


def test_an_api_client_rates_each_response_alone(api_client, manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], design="rating", prompts=1, overlap=1)
    headers, rated = auth(annotator), {}
    while (task := api_client.post(f"/api/v1/campaigns/{campaign.pk}/next", **headers)).status_code == 200:
        body = task.json()
        [response] = body["responses"]
        assert body["protocol"] == "rating"
        submitted = api_client.post(f"/api/v1/assignments/{body['assignment']}/submit",
                                    {"ratings": {response["id"]: 7}}, format="json", **headers)
        assert submitted.status_code == 201, submitted.json()
        rated[response["id"]] = submitted.json()["ratings"][response["id"]]
    assert rated == {"p0-r0": 7, "p0-r1": 7}


def test_a_retried_submit_returns_the_first_judgment_with_200(api_client, manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    headers = auth(annotator)
    assignment = api_client.post(f"/api/v1/campaigns/{campaign.pk}/next", **headers).json()["assignment"]
    body = {"choice": "a", "client_key": "same"}
    first = api_client.post(f"/api/v1/assignments/{assignment}/submit", body, format="json", **headers)
    retry = api_client.post(f"/api/v1/assignments/{assignment}/submit", body, format="json", **headers)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["id"] == retry.json()["id"] and Judgment.objects.count() == 1


def test_a_bad_answer_is_a_400_naming_the_field(api_client, manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    headers = auth(annotator)
    assignment = api_client.post(f"/api/v1/campaigns/{campaign.pk}/next", **headers).json()["assignment"]
    response = api_client.post(f"/api/v1/assignments/{assignment}/submit", {"choice": "c"}, format="json", **headers)
    assert response.status_code == 400 and "choice" in response.json()
    assert not Judgment.objects.exists()


def test_someone_elses_assignment_is_not_found(api_client, manager, annotator, other_annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator, other_annotator])
    assignment = api_client.post(f"/api/v1/campaigns/{campaign.pk}/next", **auth(annotator)).json()["assignment"]
    headers = auth(other_annotator)
    assert api_client.post(f"/api/v1/assignments/{assignment}/submit", {"choice": "a"}, format="json",
                           **headers).status_code == 404
    assert api_client.post(f"/api/v1/assignments/{assignment}/skip", {}, format="json", **headers).status_code == 404


def test_a_skip_hands_the_item_on(api_client, manager, annotator, other_annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator, other_annotator], prompts=1, overlap=1)
    assignment = api_client.post(f"/api/v1/campaigns/{campaign.pk}/next", **auth(annotator)).json()["assignment"]
    skipped = api_client.post(f"/api/v1/assignments/{assignment}/skip", {"reason": "off-topic"}, format="json",
                              **auth(annotator))
    assert skipped.status_code == 204
    assert api_client.post(f"/api/v1/campaigns/{campaign.pk}/next", **auth(other_annotator)).status_code == 200


def test_an_outsider_is_refused_and_anonymous_is_unauthorised(api_client, manager, annotator, outsider):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    refused = api_client.post(f"/api/v1/campaigns/{campaign.pk}/next", **auth(outsider))
    assert refused.status_code == 403 and "not a member" in refused.json()["detail"]
    assert api_client.post(f"/api/v1/campaigns/{campaign.pk}/next").status_code == 401
    assert api_client.post("/api/v1/campaigns/999999/next", **auth(annotator)).status_code == 404


def test_the_api_refuses_what_the_browser_refuses(api_client, manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], prompts=2, ask_rationale=True)
    headers = auth(annotator)
    assignment = api_client.post(f"/api/v1/campaigns/{campaign.pk}/next", **headers).json()["assignment"]
    submit = f"/api/v1/assignments/{assignment}/submit"
    no_reason = api_client.post(submit, {"choice": "a"}, format="json", **headers)
    assert no_reason.status_code == 400 and "rationale" in no_reason.json()
    first = api_client.post(submit, {"choice": "a", "rationale": "clearer", "client_key": "k1"}, format="json",
                            **headers)
    other = api_client.post(submit, {"choice": "b", "rationale": "shorter", "client_key": "k2"}, format="json",
                            **headers)
    assert first.status_code == 201 and other.status_code == 409
    assert f"judgment {first.json()['id']}" in other.json()["detail"][0]
    assert "gold_correct" not in first.json()  # annotators are not told which items are gold
    second = api_client.post(f"/api/v1/campaigns/{campaign.pk}/next", **headers).json()["assignment"]
    campaign.status = "closed"
    campaign.save()
    closed = api_client.post(f"/api/v1/assignments/{second}/submit", {"choice": "a", "rationale": "late"},
                             format="json", **headers)
    assert closed.status_code == 409 and Judgment.objects.count() == 1


def test_a_removed_member_cannot_submit_through_the_api(api_client, manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    headers = auth(annotator)
    assignment = api_client.post(f"/api/v1/campaigns/{campaign.pk}/next", **headers).json()["assignment"]
    campaign.members.remove(annotator)
    response = api_client.post(f"/api/v1/assignments/{assignment}/submit", {"choice": "a"}, format="json",
                               **headers)
    assert response.status_code == 403 and not Judgment.objects.exists()

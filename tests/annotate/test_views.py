import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.models import Assignment, Campaign, Candidate, Item, Judgment, Prompt
from annotate.services.assignments import assignment_next, judgment_submit
from annotate.services.campaigns import (
    campaign_create,
    campaign_items_build,
    campaign_members_add,
    campaign_status_set,
)
from modelhost.models import GenerationJob

HX = {"HTTP_HX_REQUEST": "true"}


def live_campaign(manager, members, *, name="Trial", design="pairwise", prompts=2, responses=None, **fields):
    """A live campaign whose prompts p0, p1, ... each have the given responses (ids p0-r0, p0-r1, ...)."""
    responses = responses or ["Paris is the capital.", "Lyon is the capital."]
    fields.setdefault("responses_per_item", 2 if design == "pairwise" else len(responses))
    campaign = campaign_create(creator=manager, name=name, design=design, guidelines="Prefer **correct** answers.",
                               **fields)
    for number in range(prompts):
        prompt = Prompt.objects.create(campaign=campaign, external_id=f"p{number}",
                                       messages=[{"role": "user", "content": f"Question {number}: the capital?"}])
        for index, text in enumerate(responses):
            Candidate.objects.create(prompt=prompt, external_id=f"p{number}-r{index}", text=text)
    campaign_items_build(campaign=campaign)
    campaign_members_add(campaign=campaign, usernames=[member.username for member in members], by=manager)
    campaign_status_set(campaign=campaign, status=Campaign.Status.LIVE, by=manager)
    return campaign


def current(campaign, annotator) -> Assignment:
    return Assignment.objects.get(item__campaign=campaign, annotator=annotator, status=Assignment.Status.ACTIVE,
                                  expires_at__gt=timezone.now())


def show(client, campaign, annotator, order=None) -> Assignment:
    """Open the task page; optionally force the order the responses are shown in."""
    client.force_login(annotator)
    assert client.get(f"/annotate/campaigns/{campaign.pk}/").status_code == 200
    assignment = current(campaign, annotator)
    if order is not None:
        assignment.presented_order = order
        assignment.save(update_fields=["presented_order"])
    return assignment


def submit(client, assignment, data, **extra):
    url = f"/annotate/campaigns/{assignment.item.campaign_id}/assignments/{assignment.pk}/submit/"
    return client.post(url, {"client_key": f"key-{assignment.pk}", **data}, **HX, **extra)


def canonical(assignment) -> list[str]:
    return list(assignment.item.slots.values_list("candidate__external_id", flat=True))


# --- the task page -------------------------------------------------------------------------------------------------

def test_the_task_page_shows_guidelines_progress_prompt_and_responses_in_presented_order(
        client, manager, annotator):
    campaign = live_campaign(manager, [annotator], responses=["First answer", "Second answer"])
    client.force_login(annotator)
    page = client.get(f"/annotate/campaigns/{campaign.pk}/").content.decode()
    assignment = current(campaign, annotator)
    assert "<strong>correct</strong>" in page and "Question 0: the capital?" in page
    assert '<strong>0</strong> done' in page and '<strong>2</strong> to go' in page
    texts = {"p0-r0": "First answer", "p0-r1": "Second answer"}
    shown = [texts[external_id] for external_id in assignment.presented_order]
    assert page.index(shown[0]) < page.index(shown[1])
    assert 'name="client_key"' in page and "js/annotate.js" in page


def test_an_htmx_request_gets_the_task_fragment_only(client, manager, annotator):
    campaign = live_campaign(manager, [annotator])
    client.force_login(annotator)
    response = client.get(f"/annotate/campaigns/{campaign.pk}/", **HX)
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<section id="task"') and "<html" not in fragment
    assert "HX-Request" in response["Vary"]


def test_responses_and_prompts_render_markdown_inert(client, manager, annotator):
    hostile = ("<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3)) "
               '<a href="javascript:alert(4)">y</a> [z](/admin/) **bold** [ok](https://example.org)\n\n'
               "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode <b>\n```")
    campaign = live_campaign(manager, [annotator], prompts=1, responses=[hostile, "plain"])
    Prompt.objects.filter(campaign=campaign).update(messages=[{"role": "user", "content": "<script>evil()</script>"}])
    client.force_login(annotator)
    page = client.get(f"/annotate/campaigns/{campaign.pk}/").content.decode()
    assert "<script>alert" not in page and "<script>evil" not in page and "&lt;script&gt;alert(1)" in page
    assert "<img" not in page and "onerror=alert(2)>" not in page
    assert not re.search(r"<a [^>]*href=\"(javascript|/admin)", page)  # only http(s) and mailto links stay
    assert "<strong>bold</strong>" in page
    # a link opens in a new tab that cannot reach back to the task
    assert '<a href="https://example.org" target="_blank" rel="noopener noreferrer nofollow">ok</a>' in page
    assert "<table>" in page and "<pre><code>code &lt;b&gt;" in page


def test_choosing_the_left_response_stores_the_canonical_choice_whatever_the_order(client, manager, annotator):
    campaign = live_campaign(manager, [annotator], ask_strength=True)
    for flipped in (False, True):
        assignment = show(client, campaign, annotator)
        order = canonical(assignment)[::-1] if flipped else canonical(assignment)
        assignment.presented_order = order
        assignment.save(update_fields=["presented_order"])
        response = submit(client, assignment, {"choice": "left", "strength": "-2", "time_on_task_ms": "4200"})
        assert response.status_code == 200
        judgment = Judgment.objects.get(assignment=assignment)
        left_is_a = order[0] == canonical(assignment)[0]
        assert judgment.choice == ("a" if left_is_a else "b")
        assert judgment.strength == (-2 if left_is_a else 2)  # negative: canonical A better
        assert judgment.presented_order == order and judgment.time_on_task_ms == 4200


def test_the_time_on_task_counts_from_when_the_task_was_first_shown_across_reloads(client, manager, annotator):
    campaign = live_campaign(manager, [annotator])
    assignment = show(client, campaign, annotator)
    Assignment.objects.filter(pk=assignment.pk).update(leased_at=timezone.now() - timedelta(seconds=90))

    reloaded = client.get(f"/annotate/campaigns/{campaign.pk}/").content.decode()

    elapsed = int(reloaded.split('data-elapsed-ms="')[1].split('"')[0])
    assert 90_000 <= elapsed < 100_000  # the page counts on from there
    submit(client, assignment, {"choice": "left"})  # a client that sends no time: the server counts from the lease
    assert 90_000 <= Judgment.objects.get().time_on_task_ms < 100_000


def test_a_submit_swaps_in_the_next_task_and_updates_the_count(client, manager, annotator):
    campaign = live_campaign(manager, [annotator])
    first = show(client, campaign, annotator)
    fragment = submit(client, first, {"choice": "tie"}).content.decode()
    second = current(campaign, annotator)
    assert second.pk != first.pk
    assert f'data-finished="{first.pk}"' in fragment and "Saved." in fragment
    assert "<strong>1</strong> done" in fragment and "<strong>1</strong> to go" in fragment
    assert f"/assignments/{second.pk}/submit/" in fragment and "<html" not in fragment


def test_the_last_submit_shows_the_all_done_state(client, manager, annotator):
    campaign = live_campaign(manager, [annotator], prompts=1)
    fragment = submit(client, show(client, campaign, annotator), {"choice": "left"}).content.decode()
    assert 'id="all-done"' in fragment and "<strong>1</strong> done" in fragment and "task-form" not in fragment


def test_a_missing_choice_re_renders_the_form_with_the_error_and_status_200(client, manager, annotator):
    campaign = live_campaign(manager, [annotator])
    assignment = show(client, campaign, annotator)
    response = submit(client, assignment, {"strength": "1"})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "Pick A, B or tie" in fragment and f"/assignments/{assignment.pk}/submit/" in fragment
    assert 'value="1" checked' in fragment  # what was set stays set
    assert not Judgment.objects.exists()


def test_a_strength_that_contradicts_the_choice_is_refused(client, manager, annotator):
    campaign = live_campaign(manager, [annotator])
    fragment = submit(client, show(client, campaign, annotator), {"choice": "left", "strength": "2"}).content.decode()
    assert "must agree with your choice" in fragment and not Judgment.objects.exists()


def test_a_retry_with_the_same_key_records_one_judgment(client, manager, annotator):
    campaign = live_campaign(manager, [annotator])
    assignment = show(client, campaign, annotator)
    submit(client, assignment, {"choice": "left"})
    fragment = submit(client, assignment, {"choice": "right"}).content.decode()
    assert "Already saved." in fragment and Judgment.objects.count() == 1


def test_a_ranking_by_presented_position_is_stored_as_canonical_groups_with_ties(client, manager, annotator):
    campaign = live_campaign(manager, [annotator], design="ranking", prompts=1, responses=["one", "two", "three"])
    assignment = show(client, campaign, annotator, order=["p0-r2", "p0-r0", "p0-r1"])
    fragment = client.get(f"/annotate/campaigns/{campaign.pk}/").content.decode()
    assert 'data-rank-order' in fragment and 'name="rank_2"' in fragment
    submit(client, assignment, {"rank_0": "2", "rank_1": "1", "rank_2": "2"})
    assert Judgment.objects.get().ranking == [["p0-r0"], ["p0-r2", "p0-r1"]]


def test_an_incomplete_ranking_names_the_response_left_out(client, manager, annotator):
    campaign = live_campaign(manager, [annotator], design="ranking", prompts=1, responses=["one", "two", "three"])
    fragment = submit(client, show(client, campaign, annotator), {"rank_0": "1", "rank_1": "2"}).content.decode()
    assert "Rank response C: pick 1 to 3." in fragment and not Judgment.objects.exists()


def test_ratings_side_by_side_are_stored_per_response(client, manager, annotator):
    campaign = live_campaign(manager, [annotator], design="rating", prompts=1, rate_alone=False)
    assignment = show(client, campaign, annotator, order=["p0-r1", "p0-r0"])
    submit(client, assignment, {"rating_0": "2", "rating_1": "7"})
    assert Judgment.objects.get().ratings == {"p0-r1": 2, "p0-r0": 7}


def test_a_response_rated_alone_shows_one_response_and_the_scale(client, manager, annotator):
    campaign = live_campaign(manager, [annotator], design="rating", prompts=1)
    assignment = show(client, campaign, annotator)
    page = client.get(f"/annotate/campaigns/{campaign.pk}/").content.decode()

    assert page.count('class="response"') == 1 and "Rate this response on its own" in page
    assert 'name="rating_0"' in page and 'name="rating_1"' not in page and "rate the response" in page
    submit(client, assignment, {"rating_0": "6"})
    assert Judgment.objects.get().ratings == {assignment.presented_order[0]: 6}


def test_attributes_side_by_side_are_stored_per_response_with_the_safety_flag(client, manager, annotator):
    campaign = live_campaign(manager, [annotator], design="attributes", prompts=1, rate_alone=False)
    assignment = show(client, campaign, annotator, order=["p0-r1", "p0-r0"])
    page = client.get(f"/annotate/campaigns/{campaign.pk}/").content.decode()
    assert 'title="4: Fully helpful: exactly what the prompt was after."' in page  # the level's guideline on hover
    scores = {"helpfulness": 3, "correctness": 4, "coherence": 4, "complexity": 1, "verbosity": 2}
    data = {f"{name}_{index}": str(score) for name, score in scores.items() for index in (0, 1)}
    submit(client, assignment, {**data, "unsafe_1": "1"})
    stored = Judgment.objects.get().attributes
    assert stored["p0-r1"] == {**scores, "unsafe": 0} and stored["p0-r0"] == {**scores, "unsafe": 1}


def test_a_rationale_is_required_when_the_campaign_asks_for_one(client, manager, annotator):
    campaign = live_campaign(manager, [annotator], ask_rationale=True)
    assignment = show(client, campaign, annotator)
    assert "Say briefly why." in submit(client, assignment, {"choice": "left"}).content.decode()
    submit(client, assignment, {"choice": "left", "rationale": "More accurate."})
    assert Judgment.objects.get().rationale == "More accurate."


def test_skipping_needs_a_reason_and_moves_on(client, manager, annotator):
    campaign = live_campaign(manager, [annotator])
    assignment = show(client, campaign, annotator)
    url = f"/annotate/campaigns/{campaign.pk}/assignments/{assignment.pk}/skip/"
    assert "Pick a reason to skip." in client.post(url, {}, **HX).content.decode()
    fragment = client.post(url, {"reason": "identical"}, **HX).content.decode()
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SKIPPED and assignment.skip_reason == "identical"
    assert "Skipped." in fragment and current(campaign, annotator).pk != assignment.pk


def test_a_lost_lease_says_so_and_shows_the_next_task(client, manager, annotator, other_annotator):
    campaign = live_campaign(manager, [annotator, other_annotator], overlap=1)
    mine = show(client, campaign, annotator)
    Assignment.objects.filter(pk=mine.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    theirs = assignment_next(campaign=campaign, annotator=other_annotator)
    assert theirs.item_id == mine.item_id  # the expired lease freed the place
    judgment_submit(assignment_id=theirs.pk, annotator=other_annotator, answer={"choice": "a"})
    fragment = submit(client, mine, {"choice": "left"}).content.decode()
    assert "ran out and others judged it meanwhile" in fragment
    assert Judgment.objects.filter(annotator=annotator).count() == 0
    assert current(campaign, annotator).item_id != mine.item_id


def test_a_paused_campaign_says_it_is_not_open(client, manager, annotator):
    campaign = live_campaign(manager, [annotator])
    campaign_status_set(campaign=campaign, status=Campaign.Status.PAUSED, by=manager)
    client.force_login(annotator)
    page = client.get(f"/annotate/campaigns/{campaign.pk}/").content.decode()
    assert "Not open right now" in page and "paused" in page and "task-form" not in page


# --- who sees what -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["outsider", "other_annotator"])
def test_people_outside_a_campaign_get_404(client, manager, annotator, outsider, other_annotator, who):
    campaign = live_campaign(manager, [annotator])
    client.force_login({"outsider": outsider, "other_annotator": other_annotator}[who])
    assert client.get(f"/annotate/campaigns/{campaign.pk}/").status_code == 404


def test_a_draft_campaign_is_invisible_to_its_annotators(client, manager, annotator):
    campaign = campaign_create(creator=manager, name="Draft")
    campaign.members.add(annotator)
    client.force_login(annotator)
    assert client.get(f"/annotate/campaigns/{campaign.pk}/").status_code == 404


def test_a_manager_who_is_not_a_member_cannot_annotate(client, manager, annotator):
    campaign = live_campaign(manager, [annotator])
    client.force_login(manager)
    assert client.get(f"/annotate/campaigns/{campaign.pk}/").status_code == 403


def test_nobody_submits_or_skips_someone_elses_assignment(client, manager, annotator, other_annotator):
    campaign = live_campaign(manager, [annotator, other_annotator])
    assignment = show(client, campaign, annotator)
    client.force_login(other_annotator)
    base = f"/annotate/campaigns/{campaign.pk}/assignments/{assignment.pk}"
    assert client.post(f"{base}/submit/", {"choice": "left"}, **HX).status_code == 404
    assert client.post(f"{base}/skip/", {"reason": "other"}, **HX).status_code == 404
    assert not Judgment.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, manager, annotator):
    campaign = live_campaign(manager, [annotator])
    assert client.get(f"/annotate/campaigns/{campaign.pk}/")["Location"].startswith("/accounts/login/")
    assert client.get("/annotate/manage/")["Location"].startswith("/accounts/login/")


def test_annotators_have_no_manager_pages(client, annotator, campaign):
    client.force_login(annotator)
    assert client.get("/annotate/manage/").status_code == 403
    assert client.get(f"/annotate/manage/{campaign.pk}/").status_code == 403
    assert client.get(f"/annotate/manage/{campaign.pk}/judgments.jsonl").status_code == 403


def test_a_manager_sees_only_the_campaigns_they_manage(client, manager, campaign):
    from tests.factories import UserFactory

    rival = UserFactory(username="rita", role="manager")
    theirs = campaign_create(creator=rival, name="Rita's")
    client.force_login(manager)
    page = client.get("/annotate/manage/").content.decode()
    assert "Helpfulness" in page and "Rita&#x27;s" not in page
    assert client.get(f"/annotate/manage/{theirs.pk}/").status_code == 404
    assert client.post(f"/annotate/manage/{theirs.pk}/status/", {"status": "live"}).status_code == 404
    assert client.post(f"/annotate/manage/{theirs.pk}/items/").status_code == 404
    assert client.get(f"/annotate/manage/{theirs.pk}/judgments.jsonl").status_code == 404


def test_the_home_page_links_annotators_to_tasks_and_managers_to_manage_pages(client, manager, annotator, campaign):
    client.force_login(annotator)
    assert f'href="/annotate/campaigns/{campaign.pk}/"' in client.get("/").content.decode()
    client.force_login(manager)
    assert f'href="/annotate/manage/{campaign.pk}/"' in client.get("/").content.decode()


# --- the manager's pages -------------------------------------------------------------------------------------------

def test_a_manager_creates_a_campaign(client, manager):
    client.force_login(manager)
    response = client.post("/annotate/manage/", {
        "name": "Rank them", "guidelines": "Best first.", "design": "ranking", "responses_per_item": 4, "overlap": 2,
        "lease_minutes": 20, "gold_rate": 0.1, "ask_rationale": "on"})
    campaign = Campaign.objects.get(name="Rank them")
    assert response["Location"] == f"/annotate/manage/{campaign.pk}/"
    assert (campaign.design, campaign.responses_per_item, campaign.ask_strength, campaign.ask_rationale) == (
        "ranking", 4, False, True)
    assert list(campaign.managers.all()) == [manager]


def test_a_pairwise_campaign_of_three_responses_is_refused_with_the_reason(client, manager):
    client.force_login(manager)
    page = client.post("/annotate/manage/", {
        "name": "Odd", "design": "pairwise", "responses_per_item": 3, "overlap": 1, "lease_minutes": 30,
        "gold_rate": 0}).content.decode()
    assert "Pairwise campaigns compare exactly 2 responses." in page and not Campaign.objects.filter(name="Odd")


@pytest.mark.parametrize("field, value", [("lease_minutes", 0), ("lease_minutes", 10**12), ("overlap", 10**12),
                                          ("overlap", 0), ("responses_per_item", 10**12)])
def test_a_campaign_number_out_of_bounds_is_a_form_error(client, manager, field, value):
    client.force_login(manager)
    fields = {"name": "Bounds", "design": "ranking", "responses_per_item": 3, "overlap": 1, "lease_minutes": 30,
              "gold_rate": 0, field: value}
    response = client.post("/annotate/manage/", fields)
    assert response.status_code == 200 and field in response.context["form"].errors
    assert not Campaign.objects.filter(name="Bounds").exists()


def test_launching_without_items_shows_a_clear_error_and_launching_with_items_works(client, manager):
    campaign = campaign_create(creator=manager, name="Launch me")
    client.force_login(manager)
    page = client.post(f"/annotate/manage/{campaign.pk}/status/", {"status": "live"}).content.decode()
    assert "Build items before launching" in page and "Clear errors" in page
    prompt = Prompt.objects.create(campaign=campaign, external_id="p", messages=[{"role": "user", "content": "Hi"}])
    Candidate.objects.bulk_create([Candidate(prompt=prompt, external_id=f"r{i}", text="x") for i in range(2)])
    assert "Built 1 new item." in client.post(f"/annotate/manage/{campaign.pk}/items/", follow=True).content.decode()
    page = client.post(f"/annotate/manage/{campaign.pk}/status/", {"status": "live"}, follow=True).content.decode()
    campaign.refresh_from_db()
    assert campaign.status == "live" and ">Pause<" in page and ">Close<" in page


def test_a_manager_adds_and_removes_members(client, manager, annotator, other_annotator, campaign):
    client.force_login(manager)
    page = client.post(f"/annotate/manage/{campaign.pk}/members/", {"usernames": "otto, nobody"}).content.decode()
    assert "No active user named: nobody." in page and not campaign.members.filter(pk=other_annotator.pk).exists()
    client.post(f"/annotate/manage/{campaign.pk}/members/", {"usernames": "otto"})
    assert campaign.members.filter(pk=other_annotator.pk).exists()
    client.post(f"/annotate/manage/{campaign.pk}/members/remove/", {"user_ids": [annotator.pk]})
    assert list(campaign.members.all()) == [other_annotator]


def test_a_manager_imports_prompts_and_sees_line_numbered_errors(client, manager, campaign):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(manager)
    good = "\n".join(json.dumps({"id": f"q{i}", "prompt": f"Q{i}?", "responses": [
        {"id": f"q{i}-a", "text": "A"}, {"id": f"q{i}-b", "text": "B"}]}) for i in range(3))
    page = client.post(f"/annotate/manage/{campaign.pk}/prompts/",
                       {"file": SimpleUploadedFile("prompts.jsonl", good.encode())}, follow=True).content.decode()
    assert "Imported 3 prompts from prompts.jsonl." in page and campaign.prompts.count() == 3
    bad = '{"id": "x", "prompt": "ok"}\nnot json\n{"prompt": "no id"}\n'
    page = client.post(f"/annotate/manage/{campaign.pk}/prompts/",
                       {"file": SimpleUploadedFile("bad.jsonl", bad.encode())}).content.decode()
    assert "line 2: not valid JSON" in page and "line 3:" in page and campaign.prompts.count() == 3


def test_a_manager_starts_generation_and_sees_its_progress_bar(client, manager, campaign, tiny_endpoint):
    Prompt.objects.create(campaign=campaign, external_id="p", messages=[{"role": "user", "content": "Hi"}])
    client.force_login(manager)
    page = client.post(f"/annotate/manage/{campaign.pk}/generate/", {"n": 3, "max_new_tokens": 32},
                       follow=True).content.decode()
    job = GenerationJob.objects.get()
    assert (job.n, job.params, job.total) == (3, {"max_new_tokens": 32}, 3)
    assert 'id="job-progress"' in page and f"/models/jobs/{job.pk}/" in page and "0 / 3 outputs" in page


def test_generating_without_prompts_says_what_to_do(client, manager, campaign, tiny_endpoint):
    client.force_login(manager)
    page = client.post(f"/annotate/manage/{campaign.pk}/generate/", {"n": 2, "max_new_tokens": 32}).content.decode()
    assert "has no prompts yet: import some first." in page and not GenerationJob.objects.exists()


def test_the_manage_page_shows_progress_per_item_and_per_annotator(client, manager, annotator, other_annotator):
    campaign = live_campaign(manager, [annotator, other_annotator], overlap=2)
    submit(client, show(client, campaign, annotator), {"choice": "left"})
    client.post(f"/annotate/campaigns/{campaign.pk}/assignments/{show(client, campaign, annotator).pk}/skip/",
                {"reason": "other"}, **HX)
    client.force_login(manager)
    page = client.get(f"/annotate/manage/{campaign.pk}/").content.decode()
    assert "1 / 4 judgments (25%)" in page
    assert "<tr><td>anna</td><td>1</td><td>1</td>" in page
    assert "1 / 2" in page and Item.objects.filter(campaign=campaign).count() == 2


def test_a_manager_downloads_the_judgments_as_jsonl(client, manager, annotator):
    campaign = live_campaign(manager, [annotator], name="Capitals & more")
    submit(client, show(client, campaign, annotator), {"choice": "left"})
    client.force_login(manager)
    response = client.get(f"/annotate/manage/{campaign.pk}/judgments.jsonl")
    assert response["Content-Disposition"] == 'attachment; filename="capitals-more-judgments.jsonl"'
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])

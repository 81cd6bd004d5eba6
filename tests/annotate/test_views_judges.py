"""The manager's AI-judge card and the report's human-vs-AI section, in the browser's requests."""

import pytest

from accounts.models import User
from annotate.models import Campaign, JudgeRun
from tests.annotate.report.metrics.judgments import imported
from tests.annotate.report.metrics.test_human_vs_ai import hand_made_lines
from tests.factories import UserFactory, campaign_with_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def judged(manager, annotator, tiny_endpoint):
    return campaign_with_items(manager=manager, members=[annotator], prompts=2)


def test_a_manager_starts_an_ai_judge_run_and_follows_its_progress(client, manager, judged, tiny_endpoint,
                                                                    django_capture_on_commit_callbacks):
    client.force_login(manager)
    page = client.get(f"/annotate/manage/{judged.pk}/")
    assert b'id="judges"' in page.content and b"Start AI judge run" in page.content
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(f"/annotate/manage/{judged.pk}/judges/", {"endpoint": tiny_endpoint.pk, "samples": 1})
    assert response.status_code == 302 and response["Location"].endswith("#judges")
    assert len(queued) == 1  # the task, sent once the run is committed
    run = JudgeRun.objects.get()
    assert (run.campaign, run.judge.username, run.total, run.status) == (judged, "ai:tiny", 2, "queued")
    partial = client.get(f"/annotate/manage/judge-runs/{run.pk}/")
    assert b"0 / 2 items" in partial.content and b'hx-trigger="every 1s"' in partial.content
    JudgeRun.objects.filter(pk=run.pk).update(status="done", done=2)
    partial = client.get(f"/annotate/manage/judge-runs/{run.pk}/")
    assert b"2 / 2 items" in partial.content and b"hx-trigger" not in partial.content  # polling stops


def test_a_bad_judge_form_starts_nothing(client, manager, judged, tiny_endpoint):
    client.force_login(manager)
    response = client.post(f"/annotate/manage/{judged.pk}/judges/", {"endpoint": tiny_endpoint.pk, "samples": 3},
                           follow=True)
    assert b"need evidence" in response.content and not JudgeRun.objects.exists()


@pytest.mark.parametrize("who", ["annotator", "outsider", "other_manager"])
def test_nobody_but_the_campaigns_managers_starts_or_sees_judge_runs(client, who, judged, manager, annotator,
                                                                    outsider, tiny_endpoint):
    run = JudgeRun.objects.create(campaign=judged, endpoint=tiny_endpoint, total=2, prompt_version="v",
                                  judge=User.objects.create(username="ai:tiny", is_active=False))
    person = {"annotator": annotator, "outsider": outsider,
              "other_manager": UserFactory(username="mona", role=User.Role.MANAGER)}[who]
    client.force_login(person)
    expected = 404 if who == "other_manager" else 403
    assert client.post(f"/annotate/manage/{judged.pk}/judges/",
                       {"endpoint": tiny_endpoint.pk, "samples": 1}).status_code == expected
    assert client.get(f"/annotate/manage/judge-runs/{run.pk}/").status_code == expected
    assert client.post(f"/annotate/manage/{judged.pk}/routing/",
                       {"routing": "share", "routing_threshold": 0.2}).status_code == expected
    assert JudgeRun.objects.count() == 1
    assert Campaign.objects.get(pk=judged.pk).routing == "off"


def test_a_manager_sets_the_routing_rule(client, manager, judged):
    client.force_login(manager)
    response = client.post(f"/annotate/manage/{judged.pk}/routing/", {"routing": "entropy", "routing_threshold": 0.5},
                           follow=True)
    assert b"0 items kept from people" in response.content
    judged.refresh_from_db()
    assert (judged.routing, judged.routing_threshold) == ("entropy", 0.5)
    response = client.post(f"/annotate/manage/{judged.pk}/routing/", {"routing": "share", "routing_threshold": 2},
                           follow=True)
    assert b"from 0 to 1" in response.content
    judged.refresh_from_db()
    assert judged.routing == "entropy"


def test_the_report_page_shows_the_judges_beside_people_and_a_judges_own_leaderboard(client, manager, campaign,
                                                                                     outsider):
    imported(campaign, hand_made_lines())
    client.force_login(manager)
    page = client.get(f"/annotate/reports/{campaign.pk}/").content.decode()
    section = page[page.index('id="human-vs-ai"'):]
    assert "ai:gpt-4" in section and "<svg" in section and "0.750" in section
    assert "Each AI judge against the human majority" in section
    assert 'href="?annotators=ai%3Agpt-4"' in section
    own = client.get(f"/annotate/reports/{campaign.pk}/", {"annotators": "ai:gpt-4"}).content.decode()
    assert "<strong>ai:gpt-4</strong>" in own
    client.force_login(outsider)
    assert client.get(f"/annotate/reports/{campaign.pk}/").status_code == 403


def test_an_items_page_shows_the_checklist_the_judge_wrote_and_how_each_response_met_it(client, manager, judged,
                                                                                       tiny_endpoint):
    from annotate.models import Checklist, Judgment
    from annotate.services.judges import judge_user_ensure

    item = judged.items.order_by("pk").first()
    checklist = Checklist.objects.create(prompt=item.prompt, endpoint=tiny_endpoint, version="v",
                                         questions=["Does it answer the question?", "Is it polite?"])
    first, second = item.slots.order_by("position").values_list("candidate__external_id", flat=True)
    Judgment.objects.create(item=item, annotator=judge_user_ensure(name="tiny"), protocol="pairwise", choice="a",
                            metadata={"checklist": {"id": checklist.pk, "scores": {first: 1.0, second: 0.5}}},
                            created_at=item.created_at)
    client.force_login(manager)
    page = client.get(f"/annotate/manage/items/{item.pk}/").content.decode()
    assert "<li>Does it answer the question?</li><li>Is it polite?</li>" in page
    assert "checklist met: A 100% B 50%" in page

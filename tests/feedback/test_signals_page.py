"""The signals page: mining from the browser, progress by htmx polling, and a dashboard scoped to what the manager
may see."""

import json

import pytest

from feedback.models import Message, MiningRun, TurnSignal
from feedback.selectors import signals_dashboard
from feedback.services.imports import conversations_import
from feedback.services.mining import mining_judge, mining_label, mining_run_create, mining_verify
from feedback.signals.rubric import CATEGORIES
from tests.factories import UserFactory
from tests.feedback.test_mining import CAPITAL, HAIKU

pytestmark = pytest.mark.django_db


def _import(tmp_path, owner, *records):
    path = tmp_path / f"{owner.username}.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    conversations_import(path=path, owner=owner, format="jsonl")


def _mine(user, endpoint) -> MiningRun:
    run = mining_run_create(by=user, endpoint=endpoint)
    for stage in (mining_label, mining_judge, mining_verify):
        stage(run_id=run.pk)
    return run


@pytest.mark.parametrize("who", ["annotator", "outsider"])
def test_only_managers_open_the_signals_page_or_start_mining(client, request, who, tiny_endpoint):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/feedback/signals/").status_code == 403
    assert client.post("/feedback/signals/mine/", {"source": "all"}).status_code == 403
    assert not MiningRun.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get("/feedback/signals/").status_code == 302


def test_the_mine_button_queues_a_run_whose_progress_htmx_polls(client, manager, tiny_endpoint,
                                                                django_capture_on_commit_callbacks):
    client.force_login(manager)
    with django_capture_on_commit_callbacks() as queued:
        response = client.post("/feedback/signals/mine/", {"source": "import", "endpoint": tiny_endpoint.pk})
    assert response.status_code == 302 and len(queued) == 1
    run = MiningRun.objects.get()
    assert (run.created_by, run.source, run.endpoint) == (manager, "import", tiny_endpoint)

    polled = client.get("/feedback/signals/", HTTP_HX_REQUEST="true")
    assert b'hx-trigger="every 1s"' in polled.content and f"#{run.pk}".encode() in polled.content


def test_a_manager_sees_the_signals_of_their_own_conversations_only(client, manager, tmp_path, tiny_endpoint):
    other = UserFactory(username="mike", role="manager")
    _import(tmp_path, manager, CAPITAL)
    _import(tmp_path, other, HAIKU)
    _mine(other, tiny_endpoint)
    run = _mine(manager, tiny_endpoint)
    assert TurnSignal.objects.filter(version=run.version).count() == 3  # 2 of maria's turns, 1 of mike's

    client.force_login(manager)
    page = client.get("/feedback/signals/")
    assert page.status_code == 200
    dashboard = page.context["dashboard"]
    assert dashboard["conversations"] == 1 and dashboard["counts"]["turns"] == 2
    text = page.content.decode()
    assert "Make it shorter" not in text  # mike's conversation
    assert "<svg" in text and "Share of user turns per category" in text


def test_example_turns_are_shown_per_category_and_scrubbed_again(client, manager, tmp_path):
    _import(tmp_path, manager, HAIKU)
    message = Message.objects.get(index=2)
    # Text stored before a scrubbing rule existed: the page scrubs again on the way out.
    Message.objects.filter(pk=message.pk).update(content="Too long. Mail the short one to bob@example.com")
    TurnSignal.objects.create(conversation=message.conversation, message=message, turn=2, version="v1", dsat=True,
                              revision=True, confidence=0.9, method="fixture")
    client.force_login(manager)
    page = client.get("/feedback/signals/?version=v1")
    assert page.context["dashboard"]["examples"].keys() == {"revision"}
    text = page.content.decode()
    assert "Mail the short one to [EMAIL]" in text and "bob@example.com" not in text


def test_the_dashboard_shows_each_categorys_most_confident_turns_from_a_fixed_number_of_queries(
        manager, tmp_path, django_assert_max_num_queries):
    turns = 12
    chat = [{"role": ("user", "assistant")[i % 2], "content": f"message {i}"} for i in range(2 * turns + 1)]
    _import(tmp_path, manager, {"id": "long", "model": "gpt-x", "messages": chat})
    users = Message.objects.filter(role="user", index__gt=0).order_by("index")
    for n, message in enumerate(users):  # every category gets turns; gratitude all of them, each less sure
        category = CATEGORIES[n % len(CATEGORIES)]
        TurnSignal.objects.create(conversation=message.conversation, message=message, turn=message.index,
                                  version="v1", sat=True, confidence=1 - n / 100, method="fixture",
                                  **{"gratitude": True, category: True})

    with django_assert_max_num_queries(6):
        dashboard = signals_dashboard(user=manager, version="v1")

    examples = dashboard["examples"]
    assert [confidence for *_, confidence in examples["gratitude"]] == [1.0, 0.99, 0.98]
    assert [text for _, _, text, _ in examples["learning"]] == ["message 4"]
    assert set(examples) == {"gratitude", *(CATEGORIES[n % len(CATEGORIES)] for n in range(turns))}


def test_a_manager_cancels_their_own_run_and_not_another_managers(client, manager, tiny_endpoint):
    other = UserFactory(username="mike", role="manager")
    mine, theirs = (mining_run_create(by=user, endpoint=tiny_endpoint) for user in (manager, other))
    client.force_login(manager)
    assert client.post(f"/feedback/signals/runs/{theirs.pk}/cancel/").status_code == 404
    assert client.post(f"/feedback/signals/runs/{mine.pk}/cancel/").status_code == 302
    assert list(MiningRun.objects.order_by("pk").values_list("status", flat=True)) == ["cancelled", "queued"]
    mining_label(run_id=mine.pk)  # a cancelled run's message does nothing
    assert not TurnSignal.objects.exists()

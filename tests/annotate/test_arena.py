"""The arena: two models answer one prompt side by side, and the manager's vote becomes a pairwise judgment of a
campaign that manager manages."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import User
from annotate.models import Judgment
from annotate.services.arena import arena_vote_save
from annotate.services.campaigns import campaign_create
from modelhost.models import ModelEndpoint, StreamedReply
from tests.factories import UserFactory


@pytest.fixture
def pair(manager, tiny_endpoint):
    other = ModelEndpoint.objects.create(name="tiny-b", model=tiny_endpoint.model, device="cpu", max_context=256)
    messages = [{"role": "user", "content": "Which is kinder?"}]
    return [StreamedReply.objects.create(endpoint=endpoint, messages=messages, text=f"Reply of {endpoint.name}.",
                                         status="done", created_by=manager) for endpoint in (tiny_endpoint, other)]


@pytest.fixture
def pairwise(manager):
    return campaign_create(creator=manager, name="Arena votes")


def test_a_vote_becomes_a_pairwise_judgment_with_both_models_named(manager, pair, pairwise):
    arena_vote_save(campaign=pairwise, by=manager, reply_a=pair[0], reply_b=pair[1], choice="b")
    judgment = Judgment.objects.select_related("item").get()
    assert (judgment.annotator, judgment.protocol, judgment.choice) == (manager, "pairwise", "b")
    assert [(c.model, c.text) for c in judgment.item.candidates.order_by("itemcandidate__position")] == [
        ("tiny", "Reply of tiny."), ("tiny-b", "Reply of tiny-b.")]
    assert judgment.item.prompt.messages == pair[0].messages


def test_the_page_saves_a_vote_into_the_campaign_picked(client, manager, pair, pairwise):
    client.force_login(manager)
    assert client.get("/annotate/manage/arena/").status_code == 200
    page = client.post("/annotate/manage/arena/vote/", {"reply_a": pair[0].pk, "reply_b": pair[1].pk,
                                                        "campaign": pairwise.pk, "choice": "tie"})
    saved = f"Saved in Arena votes as a pairwise judgment (item arena-{pair[0].pk}-{pair[1].pk})."
    assert saved in page.content.decode()
    assert Judgment.objects.get().choice == "tie"


def test_unfinished_replies_and_other_designs_are_refused(manager, pair, pairwise):
    StreamedReply.objects.filter(pk=pair[1].pk).update(status="stopped")
    pair[1].refresh_from_db()
    with pytest.raises(ValidationError, match="Wait until both replies are finished"):
        arena_vote_save(campaign=pairwise, by=manager, reply_a=pair[0], reply_b=pair[1], choice="a")
    ranking = campaign_create(creator=manager, name="Ranks", design="ranking", responses_per_item=3)
    with pytest.raises(ValidationError, match="not a pairwise campaign"):
        arena_vote_save(campaign=ranking, by=manager, reply_a=pair[0], reply_b=pair[0], choice="a")
    assert not Judgment.objects.exists()


def test_another_manager_cannot_vote_into_my_campaign_or_with_my_replies(client, pair, pairwise, annotator):
    rival = UserFactory(username="rhea", role=User.Role.MANAGER)
    with pytest.raises(PermissionDenied):
        arena_vote_save(campaign=pairwise, by=rival, reply_a=pair[0], reply_b=pair[1], choice="a")
    client.force_login(rival)
    vote = {"reply_a": pair[0].pk, "reply_b": pair[1].pk, "campaign": pairwise.pk, "choice": "a"}
    assert client.post("/annotate/manage/arena/vote/", vote).status_code == 404
    client.force_login(annotator)
    assert client.post("/annotate/manage/arena/vote/", vote).status_code == 403
    assert client.get("/annotate/manage/arena/").status_code == 403
    assert not Judgment.objects.exists()


def test_asking_both_models_makes_two_replies_to_the_same_prompt(client, manager, pair, pairwise, tiny_endpoint):
    client.force_login(manager)
    page = client.post("/annotate/manage/arena/", {"endpoint_a": pair[0].endpoint_id,
                                                   "endpoint_b": pair[1].endpoint_id, "prompt": "Be kind",
                                                   "max_new_tokens": "4"}).content.decode()
    new = StreamedReply.objects.exclude(pk__in=[reply.pk for reply in pair]).order_by("pk")
    assert [reply.endpoint.name for reply in new] == ["tiny", "tiny-b"]
    assert all(reply.params == {"max_new_tokens": 4} for reply in new)
    assert f'name="reply_a" value="{new[0].pk}"' in page and "A is better" in page and "Arena votes" in page

"""AI judges: a model-host endpoint judges a campaign's items as the annotator ai:<endpoint>."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from annotate.judges import checklist_evidence, checklist_parse, checklist_score, entropy_bits, pairwise_verdict
from annotate.models import Campaign, Checklist, Item, JudgeRun, Judgment
from annotate.services.assignments import assignment_next
from annotate.services.judges import judge_run_create, judge_run_run, judge_user_ensure
from annotate.services.routing import items_route, routed_to_people
from tests.factories import campaign_with_items

pytestmark = pytest.mark.django_db(transaction=True)


def run_now(run: JudgeRun) -> JudgeRun:
    """What the gpu worker does with the run's task, in this process."""
    judge_run_run(run_id=run.pk, hostname="here")
    run.refresh_from_db()
    return run


def test_a_verdict_that_flips_with_the_order_is_recorded_as_a_tie_and_a_conflict():
    # Order (a, b): "a" is preferred; order (b, a): the first-shown, now b, is preferred. Probabilities are canonical.
    flipped = pairwise_verdict([{"probs": [[0.7, 0.2, 0.1]]}, {"probs": [[0.2, 0.7, 0.1]]}])
    assert flipped["choice"] == "tie" and flipped["conflict"] and flipped["order_verdicts"] == ["a", "b"]
    assert flipped["entropy"] == pytest.approx(1.0)
    steady = pairwise_verdict([{"probs": [[0.7, 0.2, 0.1]]}, {"probs": [[0.6, 0.3, 0.1]]}])
    assert steady["choice"] == "a" and not steady["conflict"] and steady["entropy"] == 0


def test_samples_are_averaged_within_an_order():
    verdict = pairwise_verdict([{"probs": [[0.9, 0.05, 0.05], [0.3, 0.6, 0.1]]}, {"probs": [[0.8, 0.1, 0.1]] * 2}])
    assert verdict["choice"] == "a" and verdict["verdicts"] == ["a", "b", "a", "a"]
    assert verdict["entropy"] == pytest.approx(entropy_bits(["a", "b", "a", "a"]))


def test_a_judge_run_writes_one_judgment_per_item_with_both_orders_and_how_it_was_made(manager, annotator,
                                                                                     tiny_endpoint):
    campaign = campaign_with_items(manager=manager, members=[annotator], prompts=3, responses=2)
    run = run_now(judge_run_create(campaign=campaign, endpoint=tiny_endpoint, by=manager))
    assert run.status == JudgeRun.Status.DONE and run.done == run.total == 3
    judgments = Judgment.objects.filter(annotator__username="ai:tiny")
    assert judgments.count() == 3
    for judgment in judgments:
        meta = judgment.metadata
        assert meta["prompt_version"] and meta["endpoint"] == "tiny" and meta["run"] == run.pk
        first, second = meta["orders"]
        assert first["shown"] == list(reversed(second["shown"])) == judgment.presented_order
        assert judgment.choice == ("tie" if meta["conflict"] else first["verdict"])
        assert meta["conflict"] == (first["verdict"] != second["verdict"])
    # AI verdicts do not fill the items' places for people
    assert set(Item.objects.filter(campaign=campaign).values_list("judgment_count", flat=True)) == {0}
    assert assignment_next(campaign=campaign, annotator=annotator) is not None

    run_now(JudgeRun.objects.create(campaign=campaign, endpoint=tiny_endpoint, judge=run.judge, total=3,
                                    prompt_version=run.prompt_version))  # a rerun finds nothing left to do
    assert judgments.count() == 3


def test_evidence_samples_are_scored_and_kept(manager, tiny_endpoint):
    campaign = campaign_with_items(manager=manager, prompts=2, responses=2)
    run = run_now(judge_run_create(campaign=campaign, endpoint=tiny_endpoint, by=manager, evidence=True, samples=2))
    assert run.status == JudgeRun.Status.DONE, run.error
    for judgment in Judgment.objects.filter(annotator=run.judge):
        assert [len(order["probs"]) for order in judgment.metadata["orders"]] == [2, 2]
        assert len(judgment.metadata["verdicts"]) == 4 and judgment.metadata["samples"] == 2


def test_ratings_are_read_from_the_likelihood_of_the_scale(manager, tiny_endpoint):
    campaign = campaign_with_items(manager=manager, prompts=2, responses=2, design="rating")  # rated alone
    run = run_now(judge_run_create(campaign=campaign, endpoint=tiny_endpoint, by=manager))
    assert run.status == JudgeRun.Status.DONE, run.error
    for judgment in Judgment.objects.filter(annotator=run.judge):
        (response, rating), = judgment.ratings.items()
        assert 1 <= rating <= 7 and sum(judgment.metadata["scale_probs"][response]) == pytest.approx(1, abs=1e-4)


def test_rankings_come_from_every_pair_judged_in_both_orders(manager, tiny_endpoint):
    campaign = campaign_with_items(manager=manager, prompts=2, responses=3, design="ranking")
    run = run_now(judge_run_create(campaign=campaign, endpoint=tiny_endpoint, by=manager))
    assert run.status == JudgeRun.Status.DONE, run.error
    for judgment in Judgment.objects.filter(annotator=run.judge):
        ranked = [response for group in judgment.ranking for response in group]
        assert sorted(ranked) == sorted(judgment.presented_order) and judgment.metadata["pairs"] == 3
        scores = judgment.metadata["win_scores"]
        assert [scores[group[0]] for group in judgment.ranking] == sorted(scores.values(), reverse=True)


def test_a_written_checklist_is_read_as_one_question_a_line():
    text = "1. Does it name the capital?\n\n- Is it short?\n* Is it short?\n2) Is it polite?\n" + "Q?\n" * 9
    assert checklist_parse(text) == ["Does it name the capital?", "Is it short?", "Is it polite?", "Q?"]
    assert checklist_parse("  \n") == []
    assert checklist_score([0.9, 0.2, 0.5, 0.1]) == 0.5
    assert checklist_evidence(["Is it short?", "Is it polite?"], [("Answer A", [0.9, 0.1]), ("Answer B", [0.2, 0.3])]
                              ).splitlines()[-2:] == ["Answer A meets 1 of 2: 1.", "Answer B meets 0 of 2."]


@pytest.fixture
def calls(tiny_endpoint, monkeypatch):
    """The calls the run makes to the tiny endpoint's backend, counted on their way through."""
    from modelhost.registry import backend_for

    backend, counted = backend_for(tiny_endpoint), {"generate": 0, "score_many": 0}

    def counting(name: str):
        real = getattr(backend, name)

        def call(*args, **kwargs):
            counted[name] += 1
            return real(*args, **kwargs)
        return call

    for name in counted:
        monkeypatch.setattr(backend, name, counting(name))
    return counted


@pytest.mark.parametrize("design", ["pairwise", "rating"])
def test_checklists_are_written_once_per_prompt_scored_in_one_call_and_reused(manager, tiny_endpoint, calls,
                                                                              design):
    campaign = campaign_with_items(manager=manager, prompts=3, responses=2, design=design)
    run = run_now(judge_run_create(campaign=campaign, endpoint=tiny_endpoint, by=manager, checklist=True))
    assert run.status == JudgeRun.Status.DONE, run.error
    checklists = {checklist.prompt_id: checklist for checklist in Checklist.objects.filter(endpoint=tiny_endpoint)}
    assert len(checklists) == 3 and all(1 <= len(c.questions) <= 6 for c in checklists.values())
    # one batch: its checklists written in one sampling call, every question of every response answered in one
    # scoring call, then the verdicts in one more
    assert calls == {"generate": 1, "score_many": 2}
    for judgment in Judgment.objects.filter(annotator=run.judge).select_related("item"):
        questions = checklists[judgment.item.prompt_id].questions
        kept = judgment.metadata["checklist"]
        assert kept["id"] == checklists[judgment.item.prompt_id].pk
        assert set(kept["scores"]) == set(judgment.presented_order)
        for response, yes in kept["yes"].items():
            assert len(yes) == len(questions) and kept["scores"][response] == checklist_score(yes)
        if design == "pairwise":
            assert len(judgment.metadata["orders"]) == 2  # still judged in both orders

    Judgment.objects.filter(annotator=run.judge).delete()
    calls.update(generate=0, score_many=0)
    run_now(judge_run_create(campaign=campaign, endpoint=tiny_endpoint, by=manager, checklist=True))
    assert calls["generate"] == 0  # the stored checklists serve the next run
    assert {c.pk: c.questions for c in Checklist.objects.all()} == {c.pk: c.questions for c in checklists.values()}


def test_judge_users_never_log_in(client):
    judge = judge_user_ensure(name="gpt-4")
    assert judge.username == "ai:gpt-4" and not judge.is_active and not judge.has_usable_password()
    assert judge_user_ensure(name="ai:gpt-4") == judge
    client.post("/accounts/login/", {"username": "ai:gpt-4", "password": ""})
    assert "_auth_user_id" not in client.session


def test_only_the_campaigns_managers_start_judge_runs(manager, annotator, outsider, tiny_endpoint):
    campaign = campaign_with_items(manager=manager, members=[annotator], prompts=1)
    for person in (annotator, outsider):
        with pytest.raises(PermissionDenied):
            judge_run_create(campaign=campaign, endpoint=tiny_endpoint, by=person)
    assert not JudgeRun.objects.exists()
    with pytest.raises(ValidationError, match="need evidence"):
        judge_run_create(campaign=campaign, endpoint=tiny_endpoint, by=manager, samples=3)


def _verdicts(campaign, judge, verdicts_by_item):
    for item, verdicts in zip(campaign.items.order_by("pk"), verdicts_by_item, strict=True):
        Judgment.objects.create(item=item, annotator=judge, protocol="pairwise", choice=verdicts[0],
                                metadata={"verdicts": verdicts}, created_at=item.created_at)


def test_routing_sends_people_exactly_the_items_the_ai_judges_are_unsure_of(manager, annotator, other_annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator, other_annotator], prompts=4, overlap=1)
    sure, unsure_1, unsure_2, split = ["a", "a"], ["a", "b"], ["a", "tie"], ["a", "b", "tie", "a"]
    _verdicts(campaign, judge_user_ensure(name="judge"), [sure, unsure_1, unsure_2, split])
    items = list(campaign.items.order_by("pk"))
    Campaign.objects.filter(pk=campaign.pk).update(routing=Campaign.Routing.ENTROPY, routing_threshold=0.9)
    campaign.refresh_from_db()
    assert items_route(campaign=campaign) == 1
    leased = set()
    for person in (annotator, other_annotator) * 3:
        if assignment := assignment_next(campaign=campaign, annotator=person):
            leased.add(assignment.item_id)
            assignment.status = "submitted"  # done with it: the next call leases another
            assignment.save()
    assert leased == {items[1].pk, items[2].pk, items[3].pk}

    assert routed_to_people({1: 0.0, 2: 1.0, 3: 1.5, 4: 0.5}, routing="share", threshold=0.5) == {2, 3}
    assert routed_to_people({1: 0.0, 2: 1.0}, routing="off", threshold=0.5) == {1, 2}

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from annotate.models import ArmMembership, Assignment, Candidate, Item, Judgment
from annotate.services.assignments import LeaseLost, assignment_next, assignment_skip, judgment_submit
from annotate.services.campaigns import campaign_items_build, campaign_members_remove, campaign_status_set
from core.errors import Conflict
from tests.factories import UserFactory, campaign_with_items

A = {"choice": "a"}


@pytest.fixture
def annotators(db):
    return [UserFactory(username=f"ann{i}") for i in range(4)]


def iter_tasks(campaign, annotator, answer=A):
    """Each task the annotator gets until none is left, judged with `answer`."""
    while (assignment := assignment_next(campaign=campaign, annotator=annotator)) is not None:
        judgment_submit(assignment_id=assignment.pk, annotator=annotator, answer=answer)
        yield assignment


def judge_all(campaign, annotator, answer=A) -> int:
    return len(list(iter_tasks(campaign, annotator, answer)))


def test_each_item_gets_exactly_k_distinct_annotators(manager, annotators):
    campaign = campaign_with_items(manager=manager, members=annotators, prompts=3, overlap=2)
    done = [judge_all(campaign, annotator) for annotator in annotators]
    assert sum(done) == 3 * 2
    per_item = Counter(Judgment.objects.values_list("item_id", flat=True))
    assert set(per_item.values()) == {2}
    assert Judgment.objects.values("item", "annotator").distinct().count() == 6


def test_asking_again_returns_the_task_you_hold(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    first = assignment_next(campaign=campaign, annotator=annotator)
    assert assignment_next(campaign=campaign, annotator=annotator) == first


def test_an_expired_lease_returns_the_item_to_the_queue(manager, annotators):
    campaign = campaign_with_items(manager=manager, members=annotators, prompts=1, overlap=1)
    held = assignment_next(campaign=campaign, annotator=annotators[0])
    assert assignment_next(campaign=campaign, annotator=annotators[1]) is None
    Assignment.objects.filter(pk=held.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert assignment_next(campaign=campaign, annotator=annotators[1]).item == held.item


def test_late_work_counts_when_the_item_still_needs_it(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], prompts=1, overlap=1)
    held = assignment_next(campaign=campaign, annotator=annotator)
    Assignment.objects.filter(pk=held.pk).update(expires_at=timezone.now() - timedelta(minutes=5))
    judgment, created = judgment_submit(assignment_id=held.pk, annotator=annotator, answer=A)
    assert created and judgment.choice == "a"


def test_late_work_is_refused_once_others_filled_the_item_and_nothing_is_written(manager, annotators):
    campaign = campaign_with_items(manager=manager, members=annotators, prompts=1, overlap=1)
    late = assignment_next(campaign=campaign, annotator=annotators[0])
    Assignment.objects.filter(pk=late.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    judge_all(campaign, annotators[1])
    with pytest.raises(LeaseLost):
        judgment_submit(assignment_id=late.pk, annotator=annotators[0], answer=A)
    assert Judgment.objects.filter(annotator=annotators[0]).count() == 0


def test_a_skipped_item_goes_to_someone_else_and_never_comes_back(manager, annotators):
    campaign = campaign_with_items(manager=manager, members=annotators, prompts=1, overlap=1)
    skipped = assignment_next(campaign=campaign, annotator=annotators[0])
    assignment_skip(assignment_id=skipped.pk, annotator=annotators[0], reason="I can't read code")
    assert assignment_next(campaign=campaign, annotator=annotators[0]) is None
    assert assignment_next(campaign=campaign, annotator=annotators[1]).item == skipped.item
    skipped.refresh_from_db()
    assert (skipped.status, skipped.skip_reason) == ("skipped", "I can't read code")


def test_a_double_submit_or_a_retry_with_the_same_key_gives_one_judgment(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    held = assignment_next(campaign=campaign, annotator=annotator)
    first, created = judgment_submit(assignment_id=held.pk, annotator=annotator, answer=A, client_key="k1")
    again, created_again = judgment_submit(assignment_id=held.pk, annotator=annotator, answer={"choice": "b"},
                                           client_key="k1")
    assert created and not created_again and again == first
    assert Judgment.objects.count() == 1


def test_a_retry_whose_key_was_already_used_through_another_assignment_returns_that_judgment(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], prompts=2)
    first_task = assignment_next(campaign=campaign, annotator=annotator)
    first, _ = judgment_submit(assignment_id=first_task.pk, annotator=annotator, answer=A, client_key="k1")
    second_task = assignment_next(campaign=campaign, annotator=annotator)
    again, created = judgment_submit(assignment_id=second_task.pk, annotator=annotator, answer=A, client_key="k1")
    assert not created and again == first
    second_task.refresh_from_db()
    assert second_task.status == "active" and Judgment.objects.count() == 1


def test_another_answer_under_a_new_key_is_a_conflict_naming_the_judgment(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    held = assignment_next(campaign=campaign, annotator=annotator)
    first, _ = judgment_submit(assignment_id=held.pk, annotator=annotator, answer=A, client_key="k1")
    with pytest.raises(Conflict, match=f"judgment {first.pk}"):
        judgment_submit(assignment_id=held.pk, annotator=annotator, answer={"choice": "b"}, client_key="k2")
    same, created = judgment_submit(assignment_id=held.pk, annotator=annotator, answer=A, client_key="k3")
    assert same == first and not created
    assert Judgment.objects.get().choice == "a"


def test_a_member_removed_from_the_campaign_cannot_submit_on_a_held_lease(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    held = assignment_next(campaign=campaign, annotator=annotator)
    campaign_members_remove(campaign=campaign, users=[annotator], by=manager)
    with pytest.raises(PermissionDenied, match="no longer a member"):
        judgment_submit(assignment_id=held.pk, annotator=annotator, answer=A)
    assert not Judgment.objects.exists()


@pytest.mark.parametrize("status", ["paused", "closed"])
def test_nobody_submits_once_the_campaign_is_paused_or_closed(manager, annotator, status):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    held = assignment_next(campaign=campaign, annotator=annotator)
    campaign_status_set(campaign=campaign, status=status, by=manager)
    with pytest.raises(Conflict, match=status):
        judgment_submit(assignment_id=held.pk, annotator=annotator, answer=A)
    assert not Judgment.objects.exists()


def test_a_paused_campaign_keeps_the_lease_so_the_work_counts_after_resuming(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    held = assignment_next(campaign=campaign, annotator=annotator)
    campaign_status_set(campaign=campaign, status="paused", by=manager)
    with pytest.raises(Conflict):
        judgment_submit(assignment_id=held.pk, annotator=annotator, answer=A)
    campaign_status_set(campaign=campaign, status="live", by=manager)
    assert judgment_submit(assignment_id=held.pk, annotator=annotator, answer=A)[1]


def test_the_rationale_a_campaign_asks_for_is_required_and_bounded(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], ask_rationale=True)
    held = assignment_next(campaign=campaign, annotator=annotator)
    for rationale in ("", "   ", "x" * 5001):
        with pytest.raises(ValidationError) as error:
            judgment_submit(assignment_id=held.pk, annotator=annotator, answer={**A, "rationale": rationale})
        assert "rationale" in error.value.message_dict
    judgment, _ = judgment_submit(assignment_id=held.pk, annotator=annotator, answer={**A, "rationale": "clearer"})
    assert judgment.rationale == "clearer"


def test_items_closest_to_done_are_served_first(manager, annotators):
    campaign = campaign_with_items(manager=manager, members=annotators, prompts=3, overlap=3)
    fullest = Item.objects.filter(campaign=campaign).order_by("-id").first()
    first = assignment_next(campaign=campaign, annotator=annotators[0])
    judgment_submit(assignment_id=first.pk, annotator=annotators[0], answer=A)
    Item.objects.filter(pk=fullest.pk).update(judgment_count=2)  # as if two others had judged it
    assert assignment_next(campaign=campaign, annotator=annotators[1]).item_id == fullest.pk


def test_an_item_the_annotator_judged_in_an_import_is_not_served_to_them_again(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], prompts=2, overlap=2)
    imported = Item.objects.filter(campaign=campaign).first()
    Judgment.objects.create(item=imported, annotator=annotator, protocol="pairwise", choice="a",
                            created_at=timezone.now())
    served = {assignment.item_id for assignment in iter_tasks(campaign, annotator)}
    assert imported.pk not in served and len(served) == 1


def test_nobody_submits_for_someone_elses_assignment(manager, annotator, other_annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator, other_annotator])
    held = assignment_next(campaign=campaign, annotator=annotator)
    with pytest.raises(Assignment.DoesNotExist):
        judgment_submit(assignment_id=held.pk, annotator=other_annotator, answer=A)
    with pytest.raises(Assignment.DoesNotExist):
        assignment_skip(assignment_id=held.pk, annotator=other_annotator, reason="")
    assert not Judgment.objects.exists()


def test_an_outsider_gets_no_task_and_a_paused_campaign_gives_none(manager, annotator, outsider):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    with pytest.raises(PermissionDenied):
        assignment_next(campaign=campaign, annotator=outsider)
    campaign.status = "paused"
    campaign.save()
    with pytest.raises(ValidationError, match="paused"):
        assignment_next(campaign=campaign, annotator=annotator)


@pytest.mark.parametrize("answer, field", [
    ({"choice": "left"}, "choice"),
    ({"choice": "a", "strength": 2}, "strength"),
    ({"choice": "a", "strength": -9}, "strength"),
    ({}, "choice"),
])
def test_a_bad_pairwise_answer_names_the_field_and_writes_nothing(manager, annotator, answer, field):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    held = assignment_next(campaign=campaign, annotator=annotator)
    with pytest.raises(ValidationError) as error:
        judgment_submit(assignment_id=held.pk, annotator=annotator, answer=answer)
    assert field in error.value.message_dict
    assert not Judgment.objects.exists()
    assert Assignment.objects.get(pk=held.pk).status == "active"


def test_a_ranking_must_be_a_permutation_with_ties_allowed(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], design="ranking", responses=3, prompts=1)
    held = assignment_next(campaign=campaign, annotator=annotator)
    for bad in ([["p0-r0"], ["p0-r1"]], [["p0-r0", "p0-r0"], ["p0-r1"], ["p0-r2"]], [["x"], ["p0-r1"], ["p0-r2"]]):
        with pytest.raises(ValidationError, match="exactly once"):
            judgment_submit(assignment_id=held.pk, annotator=annotator, answer={"ranking": bad})
    judgment, _ = judgment_submit(assignment_id=held.pk, annotator=annotator,
                                  answer={"ranking": [["p0-r2"], ["p0-r0", "p0-r1"]]})
    assert judgment.ranking == [["p0-r2"], ["p0-r0", "p0-r1"]]


def test_ratings_and_attributes_side_by_side_are_range_checked(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], design="attributes", responses=2, prompts=1,
                                   rate_alone=False)
    held = assignment_next(campaign=campaign, annotator=annotator)
    scores = {"helpfulness": 4, "correctness": 3, "coherence": 4, "complexity": 1, "verbosity": 5}
    with pytest.raises(ValidationError, match="from 0 to 4"):
        judgment_submit(assignment_id=held.pk, annotator=annotator,
                        answer={"attributes": {"p0-r0": scores, "p0-r1": scores}})
    scores["verbosity"] = 2
    judgment, _ = judgment_submit(assignment_id=held.pk, annotator=annotator,
                                  answer={"attributes": {"p0-r0": scores, "p0-r1": {**scores, "unsafe": 1}}})
    assert judgment.attributes["p0-r1"]["unsafe"] == 1 and judgment.attributes["p0-r0"]["unsafe"] == 0


def test_presentation_order_is_random_per_assignment_and_kept_with_the_judgment(manager, db):
    people = [UserFactory(username=f"p{i}") for i in range(16)]
    campaign = campaign_with_items(manager=manager, members=people, prompts=1, overlap=16)
    orders = set()
    for person in people:
        held = assignment_next(campaign=campaign, annotator=person)
        judgment, _ = judgment_submit(assignment_id=held.pk, annotator=person, answer=A)
        assert judgment.presented_order == held.presented_order
        orders.add(tuple(held.presented_order))
    assert orders == {("p0-r0", "p0-r1"), ("p0-r1", "p0-r0")}  # 2^-15 chance of a false failure


def test_gold_items_are_mixed_in_and_scored(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], prompts=2, gold_rate=1.0)
    Item.objects.filter(external_id="p0:p0-r0+p0-r1").update(is_gold=True, gold={"choice": "b"})
    held = assignment_next(campaign=campaign, annotator=annotator)
    assert held.item.is_gold
    judgment, _ = judgment_submit(assignment_id=held.pk, annotator=annotator, answer=A)
    assert judgment.gold_correct is False


def test_the_experiment_puts_each_annotator_in_one_balanced_arm(manager, annotators):
    campaign = campaign_with_items(manager=manager, members=annotators, design="rank_vs_rate", responses=2,
                                   overlap=4, prompts=2, rate_alone=False)
    protocols = {}
    for annotator in annotators:
        held = assignment_next(campaign=campaign, annotator=annotator)
        protocols[annotator.username] = held.protocol
    assert Counter(protocols.values()) == {"rating": 2, "pairwise": 2}
    assert Counter(ArmMembership.objects.values_list("arm", flat=True)) == {"rating": 2, "ranking": 2}
    rater = next(a for a in annotators if protocols[a.username] == "rating")
    held = assignment_next(campaign=campaign, annotator=rater)
    judgment, _ = judgment_submit(assignment_id=held.pk, annotator=rater,
                                  answer={"ratings": {"p0-r0": 6, "p0-r1": 3}})
    assert judgment.protocol == "rating" and judgment.ratings == {"p0-r0": 6, "p0-r1": 3}


@pytest.mark.django_db(transaction=True)
def test_annotators_racing_in_threads_never_over_assign_or_duplicate(manager):
    people = [UserFactory(username=f"racer{i}") for i in range(8)]
    campaign = campaign_with_items(manager=manager, members=people, prompts=6, responses=3, overlap=3)
    errors = []

    def annotate(person):
        try:
            judge_all(campaign, person)
        except Exception as error:  # collected and asserted below, with the thread's own error
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=annotate, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    per_item = Counter(Judgment.objects.values_list("item_id", flat=True))
    assert len(per_item) == Item.objects.count() == 18 and set(per_item.values()) == {3}
    assert Judgment.objects.values("item", "annotator").distinct().count() == Judgment.objects.count() == 54


# --- absolute ratings: one response an item --------------------------------------------------------------------

def test_a_rating_campaign_rates_each_response_alone_by_default(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], design="rating", responses=2, prompts=1)

    assert sorted(campaign.items.values_list("external_id", flat=True)) == ["p0:p0-r0", "p0:p0-r1"]
    held = assignment_next(campaign=campaign, annotator=annotator)
    assert held.protocol == "rating" and len(held.presented_order) == 1
    only = held.presented_order[0]
    with pytest.raises(ValidationError, match="must rate every response"):
        judgment_submit(assignment_id=held.pk, annotator=annotator, answer={"ratings": {"p0-r0": 5, "p0-r1": 2}})
    judgment, _ = judgment_submit(assignment_id=held.pk, annotator=annotator, answer={"ratings": {only: 5}})
    assert judgment.ratings == {only: 5}


def test_building_items_again_adds_single_items_only_for_new_responses(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], design="attributes", responses=2, prompts=1)
    Candidate.objects.create(prompt=campaign.prompts.get(), external_id="p0-r9", text="Late.", model="model-9")

    assert campaign_items_build(campaign=campaign) == 1
    assert campaign.items.get(external_id="p0:p0-r9").slots.count() == 1


def test_with_absolute_ratings_the_rating_arm_gets_single_responses_and_the_ranking_arm_pairs(manager, annotators):
    campaign = campaign_with_items(manager=manager, members=annotators, design="rank_vs_rate", responses=3,
                                   responses_per_item=2, overlap=4, prompts=1)
    assert campaign.items.count() == 3 + 3  # each response alone, and every pair

    served = {}
    for annotator in annotators:
        served[annotator.username] = set()
        while held := assignment_next(campaign=campaign, annotator=annotator):
            answer = {"ratings": {held.presented_order[0]: 4}} if held.protocol == "rating" else A
            judgment_submit(assignment_id=held.pk, annotator=annotator, answer=answer)
            served[annotator.username].add((held.protocol, len(held.presented_order)))
    assert Counter(frozenset(kinds) for kinds in served.values()) == {
        frozenset({("rating", 1)}): 2, frozenset({("pairwise", 2)}): 2}
    assert Judgment.objects.count() == 2 * 3 + 2 * 3

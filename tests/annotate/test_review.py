"""An annotator takes a judgment back while its item is open, flags an item for the managers, and sees their own
progress; managers see the flags of their campaigns only."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from annotate.models import Assignment, Campaign, Flag, Item, Judgment
from annotate.selectors.review import annotator_campaigns, flags_for, judgments_recent_for
from annotate.services.assignments import assignment_next, judgment_submit
from annotate.services.review import flag_set, judgment_withdraw
from core.errors import Conflict
from core.models import AuditEvent
from tests.annotate.test_views import live_campaign
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def judged(campaign, annotator, answer=None) -> Assignment:
    assignment = assignment_next(campaign=campaign, annotator=annotator)
    judgment_submit(assignment_id=assignment.pk, annotator=annotator, answer=answer or {"choice": "a"})
    return assignment


def test_taking_a_judgment_back_reopens_the_item_for_the_same_annotator_and_leaves_an_audit_line(
        manager, annotator):
    campaign = live_campaign(manager, [annotator], prompts=2)
    first = judged(campaign, annotator, {"choice": "b", "strength": 2})
    judged(campaign, annotator)

    judgment_withdraw(assignment_id=first.pk, annotator=annotator)

    assert not Judgment.objects.filter(assignment=first).exists()
    assert Item.objects.get(pk=first.item_id).judgment_count == 0
    assert assignment_next(campaign=campaign, annotator=annotator).pk == first.pk  # served again, next
    event = AuditEvent.objects.get(action="judgment.withdraw")
    assert event.actor == annotator and event.details["answer"]["choice"] == "b"
    assert event.details["answer"]["strength"] == 2

    judgment_withdraw(assignment_id=first.pk, annotator=annotator)  # a retry changes nothing
    assert AuditEvent.objects.filter(action="judgment.withdraw").count() == 1
    judgment_submit(assignment_id=first.pk, annotator=annotator, answer={"choice": "a"})
    assert Judgment.objects.get(assignment=first).choice == "a"


def test_only_ones_own_judgment_can_be_taken_back(manager, annotator, other_annotator):
    campaign = live_campaign(manager, [annotator, other_annotator])
    assignment = judged(campaign, annotator)
    with pytest.raises(Assignment.DoesNotExist):
        judgment_withdraw(assignment_id=assignment.pk, annotator=other_annotator)
    assert Judgment.objects.filter(assignment=assignment).exists()


def test_a_paused_campaign_or_an_item_others_have_filled_keeps_the_judgment(manager, annotator, other_annotator):
    campaign = live_campaign(manager, [annotator, other_annotator], prompts=1)
    mine = judged(campaign, annotator)
    judged(campaign, other_annotator)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)
    with pytest.raises(Conflict, match="paused"):
        judgment_withdraw(assignment_id=mine.pk, annotator=annotator)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.LIVE, overlap=1)  # now over-judged
    with pytest.raises(Conflict, match="all its judgments"):
        judgment_withdraw(assignment_id=mine.pk, annotator=annotator)
    assert Judgment.objects.count() == 2
    campaign.refresh_from_db()
    assert [row["changeable"] for row in judgments_recent_for(campaign=campaign, annotator=annotator)] == [False]


def test_a_removed_member_cannot_take_a_judgment_back(manager, annotator):
    campaign = live_campaign(manager, [annotator])
    assignment = judged(campaign, annotator)
    campaign.members.remove(annotator)
    with pytest.raises(PermissionDenied):
        judgment_withdraw(assignment_id=assignment.pk, annotator=annotator)


def test_recent_judgments_read_as_the_annotator_saw_them(manager, annotator):
    campaign = live_campaign(manager, [annotator], prompts=1)
    assignment = judged(campaign, annotator, {"choice": "a", "strength": -3})
    shown_first_is_a = assignment.presented_order[0] == "p0-r0"
    [row] = judgments_recent_for(campaign=campaign, annotator=annotator)
    assert row["answer"] == ("A is better (strength -3)" if shown_first_is_a else "B is better (strength +3)")
    assert row["prompt"] == "Question 0: the capital?" and row["changeable"]


def test_a_flag_reaches_the_campaigns_managers_only_and_flagging_again_replaces_it(manager, annotator):
    campaign = live_campaign(manager, [annotator])
    other_manager = UserFactory(username="mona", role="manager")
    assignment = assignment_next(campaign=campaign, annotator=annotator)
    flag_set(assignment_id=assignment.pk, annotator=annotator, kind="broken")
    flag_set(assignment_id=assignment.pk, annotator=annotator, kind="offensive", comment="  slurs in B  ")
    [flag] = flags_for(user=manager, campaign=campaign)
    assert (flag.kind, flag.comment, flag.item_id) == ("offensive", "slurs in B", assignment.item_id)
    assert not flags_for(user=other_manager).exists()
    assert not flags_for(user=annotator).exists()


def test_a_flag_needs_a_known_kind_words_for_other_and_ones_own_task(manager, annotator, other_annotator):
    campaign = live_campaign(manager, [annotator, other_annotator])
    assignment = assignment_next(campaign=campaign, annotator=annotator)
    with pytest.raises(ValidationError):
        flag_set(assignment_id=assignment.pk, annotator=annotator, kind="spam")
    with pytest.raises(ValidationError, match="Say what"):
        flag_set(assignment_id=assignment.pk, annotator=annotator, kind="other", comment=" ")
    with pytest.raises(Assignment.DoesNotExist):
        flag_set(assignment_id=assignment.pk, annotator=other_annotator, kind="broken")
    assert not Flag.objects.exists()


def test_the_landing_page_shows_an_annotators_own_share_not_the_prompt_count(client, manager, annotator):
    campaign = live_campaign(manager, [annotator], prompts=4)
    judged(campaign, annotator)
    assignment_next(campaign=campaign, annotator=annotator)  # the task on screen is still theirs to do
    [row] = annotator_campaigns(user=annotator)
    assert (row["done"], row["to_go"], row["share"], row["percent"]) == (1, 3, 4, 25)
    client.force_login(annotator)
    page = client.get("/").content.decode()
    assert "of your 4 done · 3 to go" in page and f"/annotate/campaigns/{campaign.pk}/mine/" in page


def test_the_landing_page_counts_every_campaigns_share_in_a_fixed_number_of_queries(
        manager, annotator, django_assert_max_num_queries):
    first = live_campaign(manager, [annotator], name="First", prompts=3)
    judged(first, annotator)
    second = live_campaign(manager, [annotator], name="Second", prompts=2)
    assignment_next(campaign=second, annotator=annotator)
    experiment = live_campaign(manager, [annotator], name="Experiment", design="rank_vs_rate", prompts=2,
                               responses=["Paris.", "Lyon."], rate_alone=True)
    arm = "rating" if assignment_next(campaign=experiment, annotator=annotator).protocol == "rating" else "ranking"
    arm_items = [item for item in experiment.items.all() if (item.slots.count() == 1) == (arm == "rating")]
    with django_assert_max_num_queries(5):
        rows = {row["campaign"].name: (row["done"], row["to_go"]) for row in annotator_campaigns(user=annotator)}
    assert rows == {"First": (1, 2), "Second": (0, 2), "Experiment": (0, len(arm_items))}


def test_answers_read_in_words_on_the_protocols_own_scales():
    from annotate.selectors import judgment_in_words

    shown_b_first = ["r1", "r0"]
    rating = Judgment(ratings={"r0": 6, "r1": 3}, presented_order=shown_b_first)
    assert judgment_in_words(rating, ["r0", "r1"]) == "A: 6/7, B: 3/7"
    assert judgment_in_words(rating, ["r0", "r1"], as_shown=True) == "A: 3/7, B: 6/7"
    scores = Judgment(attributes={"r0": {"helpfulness": 4, "unsafe": 0}})
    assert judgment_in_words(scores, ["r0"]) == "A: helpfulness 4/4, unsafe 0"

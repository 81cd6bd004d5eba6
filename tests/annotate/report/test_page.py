"""The report page explains itself: why agreement is undefined, how to read the a/b/tie grid, and when a
leaderboard rests on too few comparisons."""

from annotate.report.views import SMALL_SAMPLE_BATTLES
from tests.annotate.report.metrics.judgments import imported, line, responses

MODELS = {"r1": "model-x", "r2": "model-y"}


def one_annotator_per_item(items: int) -> list[str]:
    return [line(f"i{n}", "anna" if n % 2 else "bob", "pairwise", responses("r1", "r2", models=MODELS),
                 prompt=f"Q{n}?", choice="a") for n in range(items)]


def test_agreement_with_one_annotator_per_item_says_why_it_is_undefined(client, manager, campaign):
    campaign.overlap = 1
    campaign.save()
    imported(campaign, one_annotator_per_item(4))
    client.force_login(manager)
    page = client.get(f"/annotate/reports/{campaign.pk}/").content.decode()
    assert "Undefined: no unit has judgments from two or more annotators" in page
    assert "the campaign asks for 1 annotator per item: raise its overlap to 2 or more" in page


def test_a_leaderboard_of_four_comparisons_carries_a_small_sample_warning(client, manager, campaign):
    imported(campaign, one_annotator_per_item(4))
    client.force_login(manager)
    page = client.get(f"/annotate/reports/{campaign.pk}/").content.decode()
    warning = f"Small sample: 4 comparisons in all, 4 for the model with fewest. With fewer than {SMALL_SAMPLE_BATTLES}"
    assert warning in page


def test_a_leaderboard_of_many_comparisons_carries_no_warning(client, manager, campaign):
    imported(campaign, one_annotator_per_item(SMALL_SAMPLE_BATTLES))
    client.force_login(manager)
    page = client.get(f"/annotate/reports/{campaign.pk}/").content.decode()
    assert 'id="leaderboard"' in page and "Small sample" not in page


def test_the_a_b_tie_grid_is_explained_where_it_is_drawn(client, manager, campaign):
    lines = [line("i0", "anna", "pairwise", responses("r1", "r2", models=MODELS), choice="a"),
             line("r0", "anna", "rating", responses("r1", "r2", models=MODELS), ratings={"r1": 5, "r2": 5})]
    imported(campaign, lines)
    client.force_login(manager)
    page = client.get(f"/annotate/reports/{campaign.pk}/").content.decode()
    assert 'id="confusion-help"' in page and "row a, column tie" in page

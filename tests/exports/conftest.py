"""Campaigns judged by three annotators through the real assignment queue, and a way to run an export."""

import pytest

from annotate.models import Candidate
from annotate.services.assignments import assignment_next, judgment_submit
from exports.models import Export
from exports.services import export_create, export_run
from modelhost.models import GenerationJob, GenerationOutput, GenerationRequest, ModelEndpoint
from tests.factories import UserFactory, campaign_with_items


def judge_all(campaign, annotator, answer) -> int:
    """The annotator judges every item left to them; `answer(candidate ids, annotator)` says how."""
    judged = 0
    while assignment := assignment_next(campaign=campaign, annotator=annotator):
        ids = list(assignment.item.slots.values_list("candidate__external_id", flat=True))
        judgment_submit(assignment_id=assignment.pk, annotator=annotator, answer=answer(ids, annotator))
        judged += 1
    return judged


@pytest.fixture(autouse=True)
def export_folder(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def hf_cache(tmp_path):
    return str(tmp_path / "hf-cache")


@pytest.fixture
def zoe(db):
    return UserFactory(username="zoe", email="zoe.private@example.org")


@pytest.fixture
def judges(annotator, other_annotator, zoe):
    return [annotator, other_annotator, zoe]


@pytest.fixture
def pairwise_campaign(manager, judges):
    """4 prompts x 2 responses; anna and otto prefer A strongly, zoe prefers B (except on p3, a tie)."""
    campaign = campaign_with_items(manager=manager, members=judges, prompts=4, name="Pairs")
    for judge in judges:
        judge_all(campaign, judge, lambda ids, who: (
            {"choice": "b", "strength": 1} if who.username == "zoe" and not ids[0].startswith("p3")
            else {"choice": "tie", "strength": 0} if who.username == "zoe"
            else {"choice": "a", "strength": -3 if who.username == "anna" else -2, "rationale": "A is right."}))
    return campaign


@pytest.fixture
def ranking_campaign(manager, judges):
    """3 prompts x 3 responses (one item each); everyone ranks r0 > r1 > r2, except zoe who ties r1 and r2."""
    campaign = campaign_with_items(manager=manager, members=judges, prompts=3, responses=3, design="ranking",
                                   name="Rankings")
    for judge in judges:
        judge_all(campaign, judge, lambda ids, who: {"ranking": [[ids[0]], [ids[1], ids[2]]] if who.username == "zoe"
                                                     else [[i] for i in ids]})
    return campaign


@pytest.fixture
def rating_campaign(manager, judges):
    campaign = campaign_with_items(manager=manager, members=judges, prompts=3, responses=3, design="rating",
                                   name="Ratings", rate_alone=False)  # side by side: pairs within an item
    scores = {"anna": [7, 5, 1], "otto": [6, 5, 2], "zoe": [2, 5, 7]}
    for judge in judges:
        judge_all(campaign, judge, lambda ids, who: {"ratings": dict(zip(ids, scores[who.username], strict=True))})
    return campaign


@pytest.fixture
def attributes_campaign(manager, judges):
    campaign = campaign_with_items(manager=manager, members=judges, prompts=2, responses=2, design="attributes",
                                   name="Attributes", rate_alone=False)
    helpfulness = {"anna": [4, 1], "otto": [3, 1], "zoe": [0, 4]}

    def answer(ids, who):
        return {"attributes": {i: {"helpfulness": h, "correctness": h, "coherence": 3, "complexity": 2,
                                   "verbosity": 2, "unsafe": int(h == 0)}
                               for i, h in zip(ids, helpfulness[who.username], strict=True)}}

    for judge in judges:
        judge_all(campaign, judge, answer)
    return campaign


@pytest.fixture
def generated_candidate(pairwise_campaign, tiny_endpoint):
    """The first response of the pairs campaign, as if the model host had written it."""
    job = GenerationJob.objects.create(label="candidates", total=1)
    request = GenerationRequest.objects.create(job=job, key="prompt:1", messages=[{"role": "user", "content": "?"}])
    output = GenerationOutput.objects.create(
        request=request, endpoint=ModelEndpoint.objects.get(name="tiny"), sample_index=0, text="Answer 0 to 0.",
        params={"temperature": 0.8, "max_new_tokens": 8}, seed=1234, prompt_tokens=3, completion_tokens=5,
        finish_reason="stop", latency_ms=10)
    candidate = Candidate.objects.get(prompt__campaign=pairwise_campaign, external_id="p0-r0")
    candidate.generation_output = output
    candidate.save()
    return candidate


@pytest.fixture
def run_export(manager):
    """Create an export as a manager would and run it as the worker would; returns the finished row."""

    def run(campaign, by=None, **spec) -> Export:
        campaigns = campaign if isinstance(campaign, list) else [campaign]
        export = export_create(spec={"campaigns": [c.pk for c in campaigns], **spec}, by=by or manager)
        export_run(export_id=export.pk)
        export.refresh_from_db()
        return export

    return run

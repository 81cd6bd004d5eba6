"""AI judges: a model-host endpoint judges a campaign's items as an annotator named `ai:<endpoint>`.

What it is asked and how verdicts are read is in annotate.judges; here, the users, the runs and the writes. All
items of a batch are scored in one call (both orders of each); ratings are read as the likelihood of each point of
the scale. After a run, routing (annotate.services.routing) decides which items people still judge.

The run is a `core.runs.Run` on the gpu queue, executed by the model host's run lifecycle: it commits a batch of
judgments at a time, one per (item, judge), so a worker that dies loses at most a batch and a rerun skips what is done.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from annotate.access import campaign_check_manager
from annotate.judges import (
    ITEMS_PER_BATCH,
    LABELS,
    ORDERS,
    PROMPT_VERSION,
    canonical,
    judge_messages,
    label_probabilities,
    pairwise_verdict,
    rating_messages,
)
from annotate.models import Campaign, Item, ItemCandidate, JudgeRun, Judgment
from annotate.protocols import AI_PREFIX, RATING_RANGE, RATIONALE_MAX_LENGTH, Protocol, is_ai_judge
from annotate.services.routing import items_route
from modelhost.messages import storable
from modelhost.models import ModelEndpoint
from modelhost.services.jobs import JobCancelled, run_execute

MAX_SAMPLES = 8
EVIDENCE_PARAMS = {"max_new_tokens": 160, "temperature": 1.0, "top_p": 1.0, "stop": ["Verdict:"]}


# --- judges as users ----------------------------------------------------------------------------------------------

@transaction.atomic
def judge_user_ensure(*, name: str) -> User:
    """The user an AI judge's judgments are written as: `ai:<name>`, made on first use. It can never log in
    (inactive, no usable password) and is nobody's member or manager."""
    username = name if is_ai_judge(name) else AI_PREFIX + name
    if len(username) > User._meta.get_field("username").max_length or not username.removeprefix(AI_PREFIX).strip():
        raise ValidationError({"annotator": f"{username!r} is not a usable AI judge name."})
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, role=User.Role.ANNOTATOR, is_active=False)
        user.set_unusable_password()
        user.save()
    return user


# --- runs ---------------------------------------------------------------------------------------------------------

def _check_design(campaign: Campaign) -> None:
    if campaign.design not in (Protocol.PAIRWISE, Protocol.RATING):
        raise ValidationError(f"AI judges judge pairwise and rating campaigns so far, not {campaign.design}.")


def _evidence_params(endpoint: ModelEndpoint) -> dict:
    # The reasons are scored again with the verdict after them: leave most of the context to the prompt.
    return {**EVIDENCE_PARAMS, "max_new_tokens": min(EVIDENCE_PARAMS["max_new_tokens"], endpoint.max_context // 4)}


@transaction.atomic
def judge_run_create(*, campaign: Campaign, endpoint: ModelEndpoint, by: User, evidence: bool = False,
                     samples: int = 1, seed: int = 0) -> JudgeRun:
    """Start an AI judge run of `endpoint` over the campaign's items (its managers only)."""
    campaign_check_manager(campaign=campaign, user=by)
    _check_design(campaign)
    if not 1 <= samples <= MAX_SAMPLES:
        raise ValidationError({"samples": f"Take 1 to {MAX_SAMPLES} evidence samples per order."})
    if samples > 1 and not evidence:
        raise ValidationError({"samples": "Several samples need evidence: without it the verdict is the same."})
    total = campaign.items.count()
    if not total:
        raise ValidationError(f"{campaign.name} has no items to judge yet.")
    if JudgeRun.objects.filter(campaign=campaign, endpoint=endpoint, status__in=JudgeRun.ACTIVE).exists():
        raise ValidationError(f"{endpoint.name} is already judging {campaign.name}.")
    run = JudgeRun.objects.create(
        campaign=campaign, endpoint=endpoint, judge=judge_user_ensure(name=endpoint.name), evidence=evidence,
        samples=samples, params=_evidence_params(endpoint) if evidence else {}, prompt_version=PROMPT_VERSION,
        seed=seed, created_by=by, total=total)
    judge_run_enqueue(run=run)
    return run


def judge_run_enqueue(*, run: JudgeRun) -> None:
    from annotate.tasks import judge_run_run as task

    transaction.on_commit(lambda: task.delay(run.pk))


def judge_runs_for(*, campaign: Campaign, user: User):
    """The campaign's judge runs, newest first, for its managers."""
    campaign_check_manager(campaign=campaign, user=user)
    return JudgeRun.objects.filter(campaign=campaign).select_related("endpoint", "judge")


def judge_run_get(*, run_id: int, user: User) -> JudgeRun:
    run = JudgeRun.objects.select_related("campaign", "endpoint", "judge").get(pk=run_id)
    try:
        campaign_check_manager(campaign=run.campaign, user=user)
    except PermissionDenied:
        raise JudgeRun.DoesNotExist("No such judge run of yours.") from None
    return run


def _pending_items(run: JudgeRun) -> list[int]:
    judged = Judgment.objects.filter(item__campaign=run.campaign, annotator=run.judge).values("item_id")
    return list(run.campaign.items.exclude(pk__in=judged).order_by("pk").values_list("pk", flat=True))


def _items(item_ids: list[int]) -> list[tuple[Item, list[tuple[str, str]]]]:
    """Items with their prompt, and (response id, text) in canonical order."""
    slots: dict[int, list] = {pk: [] for pk in item_ids}
    for item_id, external_id, text in ItemCandidate.objects.filter(item_id__in=item_ids).order_by(
            "item_id", "position").values_list("item_id", "candidate__external_id", "candidate__text"):
        slots[item_id].append((external_id, text))
    items = Item.objects.filter(pk__in=item_ids).select_related("prompt").order_by("pk")
    return [(item, slots[item.pk]) for item in items]


def _pairwise(run: JudgeRun, batch, metadata: dict) -> list[Judgment]:
    from modelhost.services.scoring import continuations_score, texts_sample

    guidelines, evaluations = run.campaign.guidelines, []  # (item index, shown, context, continuations)
    contexts = []
    for index, (item, responses) in enumerate(batch):
        for shown in ORDERS:
            messages = judge_messages(guidelines=guidelines, messages=item.prompt.messages,
                                      answers=[responses[slot][1] for slot in shown], evidence=run.evidence)
            contexts.append((index, shown, messages))
    if run.evidence:
        keys = [f"{index}:{shown[0]}" for index, shown, _ in contexts]
        texts = texts_sample(endpoint=run.endpoint, conversations=[(key, messages) for key, (_, _, messages)
                                                                   in zip(keys, contexts, strict=True)],
                             n=run.samples, params=run.params, seed=run.seed + batch[0][0].pk * 1000)
        for key, (index, shown, messages) in zip(keys, contexts, strict=True):
            for text in texts[key]:
                reasons = storable(text).strip()
                evaluations.append((index, shown, messages, [f"{reasons}\nVerdict: {label}" for label in LABELS],
                                    reasons))
    else:
        evaluations = [(index, shown, messages, list(LABELS), "") for index, shown, messages in contexts]
    scores = continuations_score(endpoint=run.endpoint,
                                 requests=[(messages, options) for _, _, messages, options, _ in evaluations])
    per_item: dict[int, dict] = {}
    for (index, shown, _, _, reasons), values in zip(evaluations, scores, strict=True):
        orders = per_item.setdefault(index, {})
        order = orders.setdefault(shown, {"shown": [batch[index][1][slot][0] for slot in shown], "probs": [],
                                          "reasons": reasons})
        order["probs"].append([round(p, 6) for p in canonical(label_probabilities(values), shown)])
    judgments = []
    for index, orders in per_item.items():
        item, responses = batch[index]
        verdict = pairwise_verdict([orders[shown] for shown in ORDERS])
        order_list = [{"shown": orders[shown]["shown"], "probs": orders[shown]["probs"],
                       "verdict": verdict["order_verdicts"][number]} for number, shown in enumerate(ORDERS)]
        judgments.append(Judgment(
            item=item, annotator=run.judge, protocol=Protocol.PAIRWISE, choice=verdict["choice"],
            rationale=orders[ORDERS[0]]["reasons"][:RATIONALE_MAX_LENGTH],
            presented_order=[response for response, _ in responses],
            metadata={**metadata, "orders": order_list, "verdicts": verdict["verdicts"],
                      "conflict": verdict["conflict"], "entropy": verdict["entropy"]}))
    return judgments


def _rating(run: JudgeRun, batch, metadata: dict) -> list[Judgment]:
    from modelhost.services.scoring import continuations_score

    low, high = RATING_RANGE
    scale = [str(point) for point in range(low, high + 1)]
    rows = [(index, response, rating_messages(guidelines=run.campaign.guidelines, messages=item.prompt.messages,
                                              answer=text))
            for index, (item, responses) in enumerate(batch) for response, text in responses]
    scores = continuations_score(endpoint=run.endpoint, requests=[(messages, scale) for _, _, messages in rows])
    ratings: dict[int, dict] = {}
    for (index, response, _), values in zip(rows, scores, strict=True):
        probabilities = label_probabilities(values)
        expected = sum(p * (low + point) for point, p in enumerate(probabilities))
        ratings.setdefault(index, {})[response] = (round(expected), [round(p, 6) for p in probabilities])
    return [Judgment(item=item, annotator=run.judge, protocol=Protocol.RATING,
                     ratings={response: value for response, (value, _) in ratings[index].items()},
                     presented_order=[response for response, _ in responses],
                     metadata={**metadata, "scale_probs": {response: probs for response, (_, probs)
                                                           in ratings[index].items()}})
            for index, (item, responses) in enumerate(batch)]


def _judge(run: JudgeRun) -> None:
    pending = _pending_items(run)
    done = run.total - len(pending)
    metadata = {"prompt_version": run.prompt_version, "endpoint": run.endpoint.name, "run": run.pk,
                "evidence": run.evidence, "samples": run.samples, "params": run.params, "seed": run.seed}
    judge = _pairwise if run.campaign.design == Protocol.PAIRWISE else _rating
    for start in range(0, len(pending), ITEMS_PER_BATCH):
        judgments = judge(run, _items(pending[start:start + ITEMS_PER_BATCH]), metadata)
        with transaction.atomic():
            if not JudgeRun.objects.filter(pk=run.pk, status=JudgeRun.Status.RUNNING).exists():
                raise JobCancelled
            now = timezone.now()
            for judgment in judgments:
                judgment.created_at = now
            # One judgment per item and judge: a rerun that overlaps an earlier one keeps the first.
            Judgment.objects.bulk_create(judgments, ignore_conflicts=True)
            done += len(judgments)
            JudgeRun.objects.filter(pk=run.pk).update(done=min(done, run.total))
    items_route(campaign=run.campaign)


def judge_run_run(*, run_id: int, hostname: str = "") -> None:
    """Judge every item of the run not yet judged by its judge. Safe to call again at any time."""
    run_execute(model=JudgeRun, run_id=run_id, hostname=hostname, work=_judge,
                enqueue=lambda run: judge_run_enqueue(run=run))

"""AI judges: a model-host endpoint judges a campaign's items as an annotator named `ai:<endpoint>`.

What it is asked and how verdicts are read is in annotate.judges; here, the users, the runs and the writes. All
items of a batch are scored in one call (both orders of each); ratings are read as the likelihood of each point of
the scale. After a run, routing (annotate.services.routing) decides which items people still judge.

The run is a `core.runs.Run` on the gpu queue, executed by the model host's run lifecycle: it commits a batch of
judgments at a time, one per (item, judge), so a worker that dies loses at most a batch and a rerun skips what is done.
"""

from itertools import combinations

from django.core.exceptions import ValidationError
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
from annotate.services.judging import judgment_writes_hold
from annotate.services.routing import items_route
from core.runs import run_progress
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
    if campaign.design not in (Protocol.PAIRWISE, Protocol.RANKING, Protocol.RATING):
        raise ValidationError(f"AI judges judge pairwise, ranking and rating campaigns so far, not {campaign.design}.")


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


def _compare(run: JudgeRun, comparisons: list[tuple[str, list[dict], list[tuple[str, str]]]]) -> dict[str, dict]:
    """Judge each comparison (key, conversation, two (response id, text)) in both orders, all in one scoring call
    (after one sampling call for the reasons, with evidence). Key -> {verdict, orders, reasons}."""
    from modelhost.services.scoring import continuations_score, texts_sample

    contexts = [(key, shown, judge_messages(guidelines=run.campaign.guidelines, messages=messages,
                                            answers=[pair[slot][1] for slot in shown], evidence=run.evidence))
                for key, messages, pair in comparisons for shown in ORDERS]
    if run.evidence:
        texts = texts_sample(endpoint=run.endpoint, n=run.samples, params=run.params, seed=run.seed,
                             conversations=[(f"{key}:{shown[0]}", context) for key, shown, context in contexts])
        evaluations = [(key, shown, context, storable(text).strip()) for key, shown, context in contexts
                       for text in texts[f"{key}:{shown[0]}"]]
        options = [[f"{reasons}\nVerdict: {label}" for label in LABELS] for _, _, _, reasons in evaluations]
    else:
        evaluations = [(key, shown, context, "") for key, shown, context in contexts]
        options = [list(LABELS)] * len(evaluations)
    scores = continuations_score(endpoint=run.endpoint, requests=[
        (context, labels) for (_, _, context, _), labels in zip(evaluations, options, strict=True)])
    pairs = {key: pair for key, _, pair in comparisons}
    found: dict[str, dict] = {}
    for (key, shown, _, reasons), values in zip(evaluations, scores, strict=True):
        orders = found.setdefault(key, {"orders": {}, "reasons": reasons})["orders"]
        order = orders.setdefault(shown, {"shown": [pairs[key][slot][0] for slot in shown], "probs": []})
        order["probs"].append([round(p, 6) for p in canonical(label_probabilities(values), shown)])
    for result in found.values():
        result["verdict"] = verdict = pairwise_verdict([result["orders"][shown] for shown in ORDERS])
        result["orders"] = [{**result["orders"][shown], "verdict": verdict["order_verdicts"][number]}
                            for number, shown in enumerate(ORDERS)]
    return found


def _pairwise(run: JudgeRun, batch, metadata: dict) -> list[Judgment]:
    found = _compare(run, [(str(item.pk), item.prompt.messages, responses) for item, responses in batch])
    judgments = []
    for item, responses in batch:
        result = found[str(item.pk)]
        verdict = result["verdict"]
        judgments.append(Judgment(
            item=item, annotator=run.judge, protocol=Protocol.PAIRWISE, choice=verdict["choice"],
            rationale=result["reasons"][:RATIONALE_MAX_LENGTH], presented_order=[response for response, _ in responses],
            metadata={**metadata, "orders": result["orders"], "verdicts": verdict["verdicts"],
                      "conflict": verdict["conflict"], "entropy": verdict["entropy"]}))
    return judgments


def _ranking(run: JudgeRun, batch, metadata: dict) -> list[Judgment]:
    """A ranking from every pair of the item's responses judged in both orders: each response scores its mean
    probability of winning (a tie half), equal scores share a place."""
    found = _compare(run, [(f"{item.pk}:{i}:{j}", item.prompt.messages, [responses[i], responses[j]])
                           for item, responses in batch for i, j in combinations(range(len(responses)), 2)])
    judgments = []
    for item, responses in batch:
        wins = [0.0] * len(responses)
        for i, j in combinations(range(len(responses)), 2):
            mean = [sum(p[index] for order in found[f"{item.pk}:{i}:{j}"]["orders"] for p in order["probs"])
                    for index in range(3)]
            total = sum(mean)
            wins[i] += (mean[0] + mean[2] / 2) / total
            wins[j] += (mean[1] + mean[2] / 2) / total
        scores = {response: round(value / (len(responses) - 1), 3) for (response, _), value in zip(responses, wins,
                                                                                                  strict=True)}
        ranking = [[response for response in scores if scores[response] == value]
                   for value in sorted(set(scores.values()), reverse=True)]
        conflicts = [found[f"{item.pk}:{i}:{j}"]["verdict"]["conflict"]
                     for i, j in combinations(range(len(responses)), 2)]
        judgments.append(Judgment(
            item=item, annotator=run.judge, protocol=Protocol.RANKING, ranking=ranking,
            presented_order=[response for response, _ in responses],
            metadata={**metadata, "win_scores": scores, "pair_conflicts": sum(conflicts), "pairs": len(conflicts)}))
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
    done = Judgment.objects.filter(item__campaign=run.campaign, annotator=run.judge).count()
    run_progress(run=run, done=done, total=done + len(pending))  # items added since the run was asked for count
    metadata = {"prompt_version": run.prompt_version, "endpoint": run.endpoint.name, "run": run.pk,
                "evidence": run.evidence, "samples": run.samples, "params": run.params, "seed": run.seed}
    judge = {Protocol.PAIRWISE: _pairwise, Protocol.RANKING: _ranking, Protocol.RATING: _rating}[run.campaign.design]
    for start in range(0, len(pending), ITEMS_PER_BATCH):
        judgments = judge(run, _items(pending[start:start + ITEMS_PER_BATCH]), metadata)
        with transaction.atomic():
            if not JudgeRun.objects.filter(pk=run.pk, status=JudgeRun.Status.RUNNING).exists():
                raise JobCancelled
            judgment_writes_hold()  # like every writer of judgments: an export snapshot waits for this batch
            now = timezone.now()
            for judgment in judgments:
                judgment.created_at = now
            # One judgment per item and judge: a rerun that overlaps an earlier one keeps the first.
            Judgment.objects.bulk_create(judgments, ignore_conflicts=True)
            done += len(judgments)
            run_progress(run=run, done=done)
    items_route(campaign=run.campaign)


def judge_run_run(*, run_id: int, hostname: str = "") -> None:
    """Judge every item of the run not yet judged by its judge. Safe to call again at any time."""
    run_execute(model=JudgeRun, run_id=run_id, hostname=hostname, work=_judge,
                enqueue=lambda run: judge_run_enqueue(run=run))

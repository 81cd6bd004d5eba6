"""AI judges: a model-host endpoint judges a campaign's items as an annotator named `ai:<endpoint>`.

What it is asked and how verdicts are read is in annotate.judges; here, the users, the runs and the writes. All
items of a batch are scored in one call (both orders of each); ratings are read as the likelihood of each point of
the scale. With checklists (TICK), a batch first gets its prompts' checklists (stored ones, the missing ones
generated in one call) and every question of every response is answered in one more scoring call. After a run,
routing (annotate.services.routing) decides which items people still judge.

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
    CHECKLIST_VERSION,
    ITEMS_PER_BATCH,
    LABELS,
    ORDERS,
    PROMPT_VERSION,
    YES_NO,
    canonical,
    checklist_evidence,
    checklist_messages,
    checklist_parse,
    checklist_score,
    judge_messages,
    label_probabilities,
    pairwise_verdict,
    question_messages,
    rating_messages,
)
from annotate.models import Campaign, Checklist, Item, ItemCandidate, JudgeRun, Judgment, Prompt
from annotate.protocols import AI_PREFIX, RATING_RANGE, RATIONALE_MAX_LENGTH, Protocol, is_ai_judge
from annotate.services.judging import judgment_writes_hold
from annotate.services.routing import items_route
from core.runs import run_progress
from modelhost.messages import storable
from modelhost.models import ModelEndpoint
from modelhost.services.jobs import JobCancelled, run_execute

MAX_SAMPLES = 8
EVIDENCE_PARAMS = {"max_new_tokens": 160, "temperature": 1.0, "top_p": 1.0, "stop": ["Verdict:"]}
CHECKLIST_PARAMS = {"max_new_tokens": 160, "temperature": 0.0}  # greedy: one checklist per prompt and settings


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


def _short(params: dict, endpoint: ModelEndpoint) -> dict:
    # What the model writes goes into a later prompt (reasons, checklists): leave most of the context to the rest.
    return {**params, "max_new_tokens": min(params["max_new_tokens"], endpoint.max_context // 4)}


@transaction.atomic
def judge_run_create(*, campaign: Campaign, endpoint: ModelEndpoint, by: User, evidence: bool = False,
                     samples: int = 1, checklist: bool = False, seed: int = 0) -> JudgeRun:
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
        samples=samples, params=_short(EVIDENCE_PARAMS, endpoint) if evidence else {}, checklist=checklist,
        prompt_version=PROMPT_VERSION, seed=seed, created_by=by, total=total)
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


def _checklists(run: JudgeRun, prompts: dict[int, Prompt]) -> dict[int, Checklist]:
    """The run endpoint's checklist of each prompt: the stored one, else written now (every missing prompt in one
    sampling call) and stored, so that later batches and runs reuse it."""
    from modelhost.services.scoring import texts_sample

    def stored() -> dict[int, Checklist]:
        return {checklist.prompt_id: checklist for checklist in Checklist.objects.filter(
            prompt_id__in=prompts, endpoint=run.endpoint, version=CHECKLIST_VERSION)}

    found = stored()
    missing = [pk for pk in prompts if pk not in found]
    if missing:
        params = _short(CHECKLIST_PARAMS, run.endpoint)
        texts = texts_sample(endpoint=run.endpoint, n=1, params=params, seed=0, conversations=[
            (str(pk), checklist_messages(messages=prompts[pk].messages)) for pk in missing])
        Checklist.objects.bulk_create([  # a run that stored one meanwhile keeps its own
            Checklist(prompt_id=pk, endpoint=run.endpoint, version=CHECKLIST_VERSION, params=params,
                      questions=checklist_parse(storable(texts[str(pk)][0]))) for pk in missing],
            ignore_conflicts=True)
        found = stored()
    return found


def _checks(run: JudgeRun, batch) -> dict[str, dict]:
    """How each response of the batch meets its prompt's checklist, every question of every response answered in
    one scoring call: response id -> {checklist, questions, yes (P(yes) per question), score}. Empty without
    checklists; the responses of a prompt whose checklist has no question are left out."""
    if not run.checklist:
        return {}
    from modelhost.services.scoring import continuations_score

    checklists = _checklists(run, {item.prompt_id: item.prompt for item, _ in batch})
    answers = {response: (item.prompt.messages, text, checklists[item.prompt_id])  # each response once
               for item, responses in batch if checklists[item.prompt_id].questions for response, text in responses}
    rows = [(response, question_messages(messages=messages, answer=text, question=question))
            for response, (messages, text, checklist) in answers.items() for question in checklist.questions]
    scores = continuations_score(endpoint=run.endpoint, requests=[(context, list(YES_NO)) for _, context in rows])
    yes: dict[str, list[float]] = {response: [] for response in answers}
    for (response, _), values in zip(rows, scores, strict=True):
        yes[response].append(round(label_probabilities(values)[0], 6))
    return {response: {"checklist": checklist.pk, "questions": checklist.questions, "yes": yes[response],
                       "score": checklist_score(yes[response])} for response, (_, _, checklist) in answers.items()}


def _checklist_shown(checks: dict[str, dict], responses: list[str], names: list[str]) -> str:
    """The checklist evidence of the responses in the order shown; empty when they have none."""
    if responses[0] not in checks:
        return ""
    return checklist_evidence(checks[responses[0]]["questions"],
                              [(name, checks[response]["yes"]) for name, response in zip(names, responses,
                                                                                         strict=True)])


def _checklist_kept(checks: dict[str, dict], responses: list[tuple[str, str]]) -> dict:
    """What a judgment's metadata keeps of its responses' checklist scores."""
    found = [response for response, _ in responses if response in checks]
    if not found:
        return {}
    return {"checklist": {"id": checks[found[0]]["checklist"], "version": CHECKLIST_VERSION,
                          "scores": {response: checks[response]["score"] for response in found},
                          "yes": {response: checks[response]["yes"] for response in found}}}


def _compare(run: JudgeRun, comparisons: list[tuple[str, list[dict], list[tuple[str, str]]]],
             checks: dict[str, dict]) -> dict[str, dict]:
    """Judge each comparison (key, conversation, two (response id, text)) in both orders, all in one scoring call
    (after one sampling call for the reasons, with evidence), each order shown its checklist evidence, if any.
    Key -> {verdict, orders, reasons}."""
    from modelhost.services.scoring import continuations_score, texts_sample

    contexts = [(key, shown, judge_messages(
        guidelines=run.campaign.guidelines, messages=messages, answers=[pair[slot][1] for slot in shown],
        evidence=run.evidence, checklist=_checklist_shown(checks, [pair[slot][0] for slot in shown],
                                                          ["Answer A", "Answer B"])))
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


def _pairwise(run: JudgeRun, batch, metadata: dict, checks: dict[str, dict]) -> list[Judgment]:
    found = _compare(run, [(str(item.pk), item.prompt.messages, responses) for item, responses in batch], checks)
    judgments = []
    for item, responses in batch:
        result = found[str(item.pk)]
        verdict = result["verdict"]
        judgments.append(Judgment(
            item=item, annotator=run.judge, protocol=Protocol.PAIRWISE, choice=verdict["choice"],
            rationale=result["reasons"][:RATIONALE_MAX_LENGTH], presented_order=[response for response, _ in responses],
            metadata={**metadata, **_checklist_kept(checks, responses), "orders": result["orders"],
                      "verdicts": verdict["verdicts"],
                      "conflict": verdict["conflict"], "entropy": verdict["entropy"]}))
    return judgments


def _ranking(run: JudgeRun, batch, metadata: dict, checks: dict[str, dict]) -> list[Judgment]:
    """A ranking from every pair of the item's responses judged in both orders: each response scores its mean
    probability of winning (a tie half), equal scores share a place."""
    found = _compare(run, [(f"{item.pk}:{i}:{j}", item.prompt.messages, [responses[i], responses[j]])
                           for item, responses in batch for i, j in combinations(range(len(responses)), 2)],
                     checks)
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
            metadata={**metadata, **_checklist_kept(checks, responses), "win_scores": scores,
                      "pair_conflicts": sum(conflicts), "pairs": len(conflicts)}))
    return judgments


def _rating(run: JudgeRun, batch, metadata: dict, checks: dict[str, dict]) -> list[Judgment]:
    from modelhost.services.scoring import continuations_score

    low, high = RATING_RANGE
    scale = [str(point) for point in range(low, high + 1)]
    rows = [(index, response, rating_messages(guidelines=run.campaign.guidelines, messages=item.prompt.messages,
                                              answer=text, checklist=_checklist_shown(checks, [response],
                                                                                      ["The answer"])))
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
                     metadata={**metadata, **_checklist_kept(checks, responses),
                               "scale_probs": {response: probs for response, (_, probs) in ratings[index].items()}})
            for index, (item, responses) in enumerate(batch)]


def _judge(run: JudgeRun) -> None:
    pending = _pending_items(run)
    done = Judgment.objects.filter(item__campaign=run.campaign, annotator=run.judge).count()
    run_progress(run=run, done=done, total=done + len(pending))  # items added since the run was asked for count
    metadata = {"prompt_version": run.prompt_version, "endpoint": run.endpoint.name, "run": run.pk,
                "evidence": run.evidence, "samples": run.samples, "params": run.params, "seed": run.seed,
                "checklist_run": run.checklist}
    judge = {Protocol.PAIRWISE: _pairwise, Protocol.RANKING: _ranking, Protocol.RATING: _rating}[run.campaign.design]
    for start in range(0, len(pending), ITEMS_PER_BATCH):
        batch = _items(pending[start:start + ITEMS_PER_BATCH])
        judgments = judge(run, batch, metadata, _checks(run, batch))
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

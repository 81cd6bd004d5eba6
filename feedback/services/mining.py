"""Mining conversations for in-situ feedback (WildFeedback): signals per user turn, preference pairs, verification.

A `MiningRun` moves through three stages, each a task that takes the run's id and does only what is still missing,
so a redelivered task, a resumed run or a second run of the same classifier version adds nothing:

1. label (default queue): stage 1 (feedback.signals.stage1) over every user turn that follows an assistant reply,
   in scope and not yet labelled, stored as `TurnSignal` rows of the stage-1 version, a batch per commit;
2. judge (gpu queue, the run's model endpoint): stage 2 (feedback.signals.stage2) re-judges the turns stage 1
   flagged and every turn gets its final row under the run's version (stage-1 version + endpoint), so the labels
   of both stages are kept; then each SAT/DSAT turn becomes a `MinedPair`: chosen from a later reply the user
   accepted or a guided regeneration, a checklist, and the checklist judge in both orders decides kept or dropped;
3. verify (default queue): kept pairs become items of the creator's "verify mined feedback" campaign through
   annotate's services, the provenance in the prompt's metadata (it leaves with every export row).

Between stages the run is handed back to the queue (`run_requeue`), so starts of one stage count against
`MAX_STARTS`, not the stages before it. Only conversations whose owner allowed research (`consent_research`) and
that the run's creator may see (`conversation_list_for`) are mined.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, Model, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce

from accounts.models import User
from annotate.models import Campaign, Item
from annotate.services.campaigns import campaign_ensure, campaign_items_build
from annotate.services.imports import prompts_import
from core.queues import Queue
from core.runs import run_current, run_finish, run_progress, run_requeue
from feedback.models import Conversation, Message, MinedPair, MiningRun, TurnSignal
from feedback.selectors import conversation_list_for, conversation_path
from feedback.signals import pairs as pairing
from feedback.signals import stage1_meta
from feedback.signals.rubric import CATEGORIES, Signal
from modelhost.messages import storable
from modelhost.models import ModelEndpoint
from modelhost.services.endpoints import endpoint_get_default
from modelhost.services.jobs import JobCancelled, run_execute
from modelhost.services.scoring import texts_sample

SOURCES = ("all", Conversation.Source.API, Conversation.Source.IMPORT)
GUIDELINES = ("Each item is a reply a user reacted to (shown under the prompt) and another reply. Pick the one the "
              "user would have preferred, given what they said. Either may be A or B.")


@functools.cache
def stage1_model():
    from feedback.signals.stage1 import Stage1Model

    return Stage1Model.load()


@functools.cache
def stage1_embedder():
    from feedback.signals.stage1 import Embedder

    return Embedder()


def signal_version(*, endpoint: ModelEndpoint) -> str:
    """The labels' version: the trained stage-1 model and the stage-2 judge; a new one of either labels anew. Read
    from the saved model's metadata, so the web request that creates a run loads no model."""
    return f"{stage1_meta()['version']}+{endpoint.name}"


# --- creating and steering runs ----------------------------------------------------------------------------------
@transaction.atomic
def mining_run_create(*, by: User, source: str = "all", since: datetime | None = None,
                      endpoint: ModelEndpoint | None = None) -> MiningRun:
    if not by.is_manager:
        raise PermissionDenied("Only managers and admins mine feedback.")
    if source not in SOURCES:
        raise ValidationError(f"source must be one of {', '.join(SOURCES)}.")
    endpoint = endpoint or endpoint_get_default()
    run = MiningRun.objects.create(created_by=by, source=source, since=since, endpoint=endpoint,
                                   version=signal_version(endpoint=endpoint))
    mining_run_enqueue(run=run)
    return run


def mining_run_enqueue(*, run: MiningRun) -> None:
    """Send the run to the task of its stage, on commit: labelling and bookkeeping on default, the model on gpu."""
    from feedback import tasks

    task = {MiningRun.Stage.LABEL: tasks.mining_label, MiningRun.Stage.JUDGE: tasks.mining_judge,
            MiningRun.Stage.VERIFY: tasks.mining_verify}[run.stage]
    queue = Queue.GPU if run.stage == MiningRun.Stage.JUDGE else Queue.DEFAULT
    transaction.on_commit(lambda: task.apply_async(args=[run.pk], queue=queue))


def _advance(run: MiningRun, stage: str) -> None:
    """Hand the run to its next stage's task, with fresh progress and start count."""
    with transaction.atomic():
        if not run_current(run).update(stage=stage, done=0, total=0):
            return
        run.stage = stage
        if run_requeue(run=run):
            mining_run_enqueue(run=run)


def _alive(run: MiningRun) -> None:
    if not run_current(run).exists():
        raise JobCancelled


def _stage(step):
    """A stage's task body: the run's lifecycle as every gpu-queue run has it (`run_execute`), for the stage the run
    is in (a redelivered or stale message of another stage does nothing)."""

    stage = step.__name__.removeprefix("mining_")

    def work(run: MiningRun) -> None:
        if run.stage != stage:  # it moved on since the message was sent: give it back to its own stage's task
            if run_requeue(run=run):
                mining_run_enqueue(run=run)
            return
        step(run)

    @functools.wraps(step)
    def run_step(*, run_id: int, hostname: str = "") -> None:
        if MiningRun.objects.filter(pk=run_id).exclude(stage=stage).exists():
            return  # a redelivered message of a stage the run has left: the current stage has its own
        run_execute(model=MiningRun, run_id=run_id, hostname=hostname, work=work,
                    enqueue=lambda run: mining_run_enqueue(run=run))

    return run_step


# --- what a run covers ---------------------------------------------------------------------------------------------
def turns_in_scope(*, run: MiningRun) -> QuerySet[Message]:
    """User messages that answer an assistant message, in conversations the run may mine."""
    if run.created_by is None:  # its manager was deleted: nobody's conversations are theirs to mine any more
        return Message.objects.none()
    conversations = conversation_list_for(user=run.created_by).filter(consent_research=True)
    if run.source != "all":
        conversations = conversations.filter(source=run.source)
    if run.since:
        conversations = conversations.alias(when=Coalesce("started_at", "created_at")).filter(when__gte=run.since)
    return Message.objects.filter(role=Message.Role.USER, parent__role=Message.Role.ASSISTANT,
                                  conversation__in=conversations.values("pk"))


def _labelled(version: str) -> Exists:
    return Exists(TurnSignal.objects.filter(message=OuterRef("pk"), version=version))


def _chunks(rows: QuerySet[Model]) -> Iterator[list[Model]]:
    """Rows in id order, a batch at a time, read afresh each time (keyset), so a long run holds no cursor."""
    after = 0
    while batch := list(rows.filter(pk__gt=after).order_by("pk")[:settings.FEEDBACK_MINING_BATCH]):
        after = batch[-1].pk
        yield batch


class Threads:
    """Every message of some conversations, to walk a branch up (context) or down (what came after)."""

    def __init__(self, conversation_ids):
        self.by_id: dict[int, Message] = {}
        self.children: dict[int, list[Message]] = {}
        self.conversations: dict[int, list[Message]] = {}
        for message in Message.objects.filter(conversation_id__in=set(conversation_ids)).order_by("index", "pk") \
                .only("pk", "conversation_id", "parent_id", "index", "role", "content", "model_name"):
            self.by_id[message.pk] = message
            self.children.setdefault(message.parent_id, []).append(message)
            self.conversations.setdefault(message.conversation_id, []).append(message)

    def path(self, message_id: int) -> list[Message]:
        """The branch from the first message down to this one."""
        message = self.by_id[message_id]
        return conversation_path(messages=self.conversations[message.conversation_id], leaf=message)

    def context(self, message_id: int) -> list[dict]:
        return [{"role": m.role, "content": m.content} for m in self.path(message_id)]

    def below(self, message_id: int) -> Iterator[Message]:
        """What followed this message, on every branch, depth first."""
        stack = list(reversed(self.children.get(message_id, [])))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(self.children.get(node.pk, [])))


def _row(message: Message, signal: Signal, *, version: str, run: MiningRun, decided_by: str = "") -> TurnSignal:
    return TurnSignal(conversation_id=message.conversation_id, message=message, turn=message.index, version=version,
                      run=run, sat=signal.sat, dsat=signal.dsat, confidence=float(signal.confidence),
                      method=signal.method[:300], decided_by=decided_by, rationale=signal.rationale[:500],
                      **{c: c in signal.categories for c in CATEGORIES})


def _signal(row: TurnSignal) -> Signal:
    return Signal(row.sat, row.dsat, row.categories, row.confidence, row.method, row.rationale)


def _store(run: MiningRun, rows: list[TurnSignal], done: int) -> None:
    with transaction.atomic():
        _alive(run)
        TurnSignal.objects.bulk_create(rows, ignore_conflicts=True)  # (message, version) is unique: no duplicates
        run_progress(run=run, done=done)


# --- stage 1 -------------------------------------------------------------------------------------------------------
@_stage
def mining_label(run: MiningRun) -> None:
    from feedback.signals.stage1 import classify

    model, embedder = stage1_model(), stage1_embedder()
    if model.version != run.version.rsplit("+", 1)[0]:
        raise ValidationError(f"The saved stage-1 model is {model.version}, not the run's; start a new run.")
    pending = turns_in_scope(run=run).exclude(_labelled(model.version)).exclude(_labelled(run.version))
    run_progress(run=run, done=0, total=pending.count())
    done = 0
    for batch in _chunks(pending):
        threads = Threads(m.conversation_id for m in batch)
        signals = classify([threads.context(m.pk) for m in batch], model, embedder,
                           thresholds=settings.FEEDBACK_SIGNAL_THRESHOLDS)
        done += len(batch)
        _store(run, [_row(m, s, version=model.version, run=run) for m, s in zip(batch, signals, strict=True)], done)
    _advance(run, MiningRun.Stage.JUDGE)


# --- stage 2 and pairs ---------------------------------------------------------------------------------------------
@_stage
def mining_judge(run: MiningRun) -> None:
    from feedback.signals.stage2 import LikelihoodJudge, refine
    from modelhost.registry import backend_for

    if run.endpoint is None:
        raise ValidationError("The run's model endpoint was deleted; start a new run.")
    backend = backend_for(run.endpoint)
    first_version = run.version.rsplit("+", 1)[0]
    turns = turns_in_scope(run=run)
    pending = turns.filter(_labelled(first_version)).exclude(_labelled(run.version))
    signals_to_pair = TurnSignal.objects.filter(version=run.version, message__in=turns.values("pk"),
                                                pair__isnull=True).filter(Q(sat=True) | Q(dsat=True))
    run_progress(run=run, done=0, total=pending.count() + signals_to_pair.count())
    judge, done = None, 0
    for batch in _chunks(pending):
        judge = judge or LikelihoodJudge(backend, name=run.endpoint.name)  # scores its baseline once
        threads = Threads(m.conversation_id for m in batch)
        first = {row.message_id: row for row in TurnSignal.objects.filter(message__in=batch, version=first_version)}
        refined = refine([threads.context(m.pk) for m in batch], [_signal(first[m.pk]) for m in batch], judge)
        done += len(batch)
        _store(run, [_row(m, s, version=run.version, run=run, decided_by=run.endpoint.name)
                     for m, s in zip(batch, refined, strict=True)], done)
    signals_to_pair = signals_to_pair.select_related("message")
    run_progress(run=run, done=done, total=done + signals_to_pair.count())  # stage 2 decided which turns pair
    for batch in _chunks(signals_to_pair):
        done += len(batch)
        _pairs_build(run, backend, batch, done)
    _advance(run, MiningRun.Stage.VERIFY)


def _accepted_later(threads: Threads, signal: TurnSignal, accepted: set[int]) -> Message | None:
    """The first later assistant reply on a branch below the DSAT turn whose next user turn was SAT (not DSAT)."""
    for message in threads.below(signal.message_id):
        if message.role == Message.Role.USER and message.pk in accepted:
            return threads.by_id[message.parent_id]
    return None


def _pairs_build(run: MiningRun, backend, signals: list[TurnSignal], done: int) -> None:
    """A pair for each SAT/DSAT signal: prompt, chosen, rejected, checklist, both-order votes, kept or dropped."""
    threads = Threads(s.conversation_id for s in signals)
    conversations = {s.conversation_id for s in signals}
    accepted = set(TurnSignal.objects.filter(version=run.version, conversation_id__in=conversations, sat=True,
                                             dsat=False).values_list("message_id", flat=True))
    drafts, regenerate = [], []
    for signal in signals:
        path = threads.path(signal.message_id)
        reply, prompt = path[-2], [{"role": m.role, "content": m.content} for m in path[:-2]]
        feedback, categories = path[-1].content, signal.categories
        draft = {"signal": signal, "prompt": prompt, "reply": reply, "summary": pairing.summary(feedback, categories),
                 "checklist": pairing.checklist(feedback, categories)}
        drafts.append(draft)
        if not prompt or prompt[-1]["role"] != Message.Role.USER:
            draft["reason"] = "no user request before the judged reply"
            continue
        later = _accepted_later(threads, signal, accepted) if signal.dsat else None
        if later is not None:
            draft.update(chosen=later.content, chosen_message=later, chosen_source=MinedPair.ChosenSource.ACCEPTED)
            continue
        # DSAT: the reply the user wanted, guided by their feedback; SAT: a plain reply to pit the accepted one against
        guided = signal.dsat
        regenerate.append((str(signal.pk), _with_system(prompt, draft["summary"]) if guided else prompt))
    # Each regeneration's seed comes from its signal (the key), as a generation job's from its request key.
    regenerated = {key: storable(texts[0]) for key, texts in texts_sample(
        endpoint=run.endpoint, conversations=regenerate, n=1, params=None, seed=0).items()} if regenerate else {}
    rows, judged = [], []
    for draft in drafts:
        signal, reply = draft["signal"], draft["reply"]
        row = MinedPair(signal=signal, run=run, prompt=draft["prompt"], rejected=reply.content,
                        rejected_message=reply, summary=draft["summary"], checklist=draft["checklist"],
                        chosen_source=MinedPair.ChosenSource.REGENERATED, status=MinedPair.Status.DROPPED)
        if "reason" in draft:
            row.chosen, row.reason = "", draft["reason"]
            rows.append(row)
            continue
        if "chosen" in draft:
            row.chosen, row.chosen_message, row.chosen_source = draft["chosen"], draft["chosen_message"], \
                draft["chosen_source"]
        elif signal.dsat:
            row.chosen = regenerated[str(signal.pk)]
        else:  # SAT: the accepted reply is chosen, the regeneration has to lose to it
            row.chosen, row.rejected, row.rejected_message = reply.content, regenerated[str(signal.pk)], None
        if not row.chosen.strip() or not row.rejected.strip() or row.chosen.strip() == row.rejected.strip():
            row.reason = "chosen and rejected are empty or the same text"
            rows.append(row)
            continue
        rows.append(row)
        judged.append((row, draft["prompt"]))
    votes = pairing.ChecklistJudge(backend).votes_many(
        [(prompt, row.chosen, row.rejected, row.checklist) for row, prompt in judged])
    for (row, _), vote in zip(judged, votes, strict=True):
        kept, row.reason = pairing.verdict(vote)
        row.votes, row.status = vote.as_dict(), MinedPair.Status.KEPT if kept else MinedPair.Status.DROPPED
    with transaction.atomic():
        _alive(run)
        MinedPair.objects.bulk_create(rows, ignore_conflicts=True)  # one pair per signal
        run_progress(run=run, done=done)


def _with_system(prompt: list[dict], guidance: str) -> list[dict]:
    if prompt[0]["role"] == Message.Role.SYSTEM:
        return [{"role": "system", "content": f"{prompt[0]['content']}\n\n{guidance}"}, *prompt[1:]]
    return [{"role": "system", "content": guidance}, *prompt]


# --- verification ----------------------------------------------------------------------------------------------------
def verify_campaign_name(*, user: User) -> str:
    return f"{settings.FEEDBACK_VERIFY_CAMPAIGN} ({user.username})"


def conversation_key(conversation: Conversation) -> str | int:
    """A conversation as the outside knows it: an imported log's own id, else ours."""
    if conversation.source == Conversation.Source.IMPORT and conversation.external_id:
        return conversation.external_id
    return conversation.pk


def pair_provenance(pair: MinedPair) -> dict:
    """What the verification item (and every dataset row made from it) says of where the pair came from."""
    signal = pair.signal
    return {
        "source": "mined", "conversation": conversation_key(signal.conversation), "turn": signal.turn,
        "signal": "dsat" if signal.dsat else "sat", "categories": signal.categories, "method": signal.method,
        "confidence": round(signal.confidence, 4), "version": signal.version, "chosen_source": pair.chosen_source,
        "chosen_response": f"mined-{signal.pk}-chosen", "checklist": pair.checklist, "judge_votes": pair.votes,
        "context": signal.message.content, "context_label": "The user's next message (reacting to one reply)",
    }


@_stage
def mining_verify(run: MiningRun) -> None:
    pending = MinedPair.objects.filter(status=MinedPair.Status.KEPT, item_key="",
                                       signal__message__in=turns_in_scope(run=run).values("pk")) \
        .select_related("signal__conversation", "signal__message", "rejected_message", "chosen_message")
    campaign = None
    if pending.exists():
        campaign, _ = campaign_ensure(creator=run.created_by, name=verify_campaign_name(user=run.created_by),
                                      defaults={"guidelines": GUIDELINES, "ask_strength": False},
                                      design="pairwise", responses_per_item=2)
        _verify_items(run, campaign, list(pending))
    counts = MinedPair.objects.filter(run=run).values("status").annotate(n=Count("pk"))
    by_status = {row["status"]: row["n"] for row in counts}
    run_finish(run=run, campaign=campaign, signals_created=TurnSignal.objects.filter(run=run).count(),
               pairs_kept=by_status.get(MinedPair.Status.KEPT, 0),
               pairs_dropped=by_status.get(MinedPair.Status.DROPPED, 0))


@transaction.atomic
def _verify_items(run: MiningRun, campaign: Campaign, pairs: list[MinedPair]) -> None:
    _alive(run)
    lines = []
    for pair in pairs:
        key = f"mined-{pair.signal_id}"
        chosen_model = pair.chosen_message.model_name if pair.chosen_message else run.endpoint.name if run.endpoint \
            else ""
        rejected_model = pair.rejected_message.model_name if pair.rejected_message else \
            run.endpoint.name if run.endpoint else ""
        lines.append(json.dumps({"id": key, "prompt": pair.prompt, "metadata": pair_provenance(pair), "responses": [
            {"id": f"{key}-chosen", "text": pair.chosen, "model": chosen_model},
            {"id": f"{key}-rejected", "text": pair.rejected, "model": rejected_model}]}, ensure_ascii=False))
    prompts_import(campaign=campaign, file=io.BytesIO("\n".join(lines).encode()), filename="mined.jsonl")
    campaign_items_build(campaign=campaign, by=run.created_by)
    items = dict(Item.objects.filter(campaign=campaign, prompt__external_id__in=[f"mined-{p.signal_id}" for p in pairs])
                 .values_list("prompt__external_id", "external_id"))
    for pair in pairs:
        pair.item_key = items[f"mined-{pair.signal_id}"]
    MinedPair.objects.bulk_update(pairs, ["item_key"])

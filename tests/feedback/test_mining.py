"""Mining: signals per user turn (stage 1 with MiniLM, stage 2 with the tiny model), pairs judged in both orders, the
verification campaign, a DPO export with provenance, and `export_signals`."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse

from annotate.models import Campaign, Item
from annotate.services.assignments import assignment_next, judgment_submit
from exports.services import export_create, export_run
from feedback.models import Conversation, MinedPair, MiningRun, TurnSignal
from feedback.services.imports import conversations_import
from feedback.services.mining import (
    mining_judge,
    mining_label,
    mining_run_create,
    mining_verify,
    signal_version,
    stage1_model,
    verify_campaign_name,
)
from feedback.signals import pairs, stage1_meta
from feedback.signals.rubric import CATEGORIES
from modelhost.models import ModelEndpoint

CAPITAL = {"id": "log-capital", "model": "gpt-x", "messages": [
    {"role": "user", "content": "What is the capital of Australia?"},
    {"role": "assistant", "content": "Sydney is the capital of Australia."},
    {"role": "user", "content": "No, that's wrong. The capital is Canberra, not Sydney."},
    {"role": "assistant", "content": "You are right, I apologise: Canberra is the capital of Australia."},
    {"role": "user", "content": "Thanks, that's perfect!"}]}
HAIKU = {"id": "log-haiku", "model": "gpt-x", "messages": [
    {"role": "user", "content": "Write a haiku about rain."},
    {"role": "assistant", "content": "Rain falls on the roof, a long story of clouds and seas and rivers and more."},
    {"role": "user", "content": "That's not a haiku at all, and it's far too long. Make it shorter please."}]}
WEATHER = {"id": "log-weather", "model": "gpt-x", "messages": [
    {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help you today?"},
    {"role": "user", "content": "What is the weather usually like in Lisbon in May?"}]}
USER_TURNS = 4  # user messages that follow an assistant message, over the three logs


@pytest.fixture
def logs(tmp_path, manager):
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in (CAPITAL, HAIKU, WEATHER)))
    conversations_import(path=path, owner=manager, format="jsonl")
    return Conversation.objects.all()


def mine(run: MiningRun) -> MiningRun:
    """The three stages, as the default and gpu workers would run them one after the other."""
    for stage in (mining_label, mining_judge, mining_verify):
        stage(run_id=run.pk)
    run.refresh_from_db()
    return run


def test_every_user_turn_after_a_reply_is_labelled_by_both_stages_and_flagged_ones_become_pairs(logs, manager,
                                                                                               tiny_endpoint):
    run = mine(mining_run_create(by=manager, endpoint=tiny_endpoint))

    assert (run.status, run.stage, run.error) == ("done", "verify", "")
    first, final = run.version.rsplit("+", 1)[0], run.version
    assert final == signal_version(endpoint=tiny_endpoint) and final.endswith("+tiny")
    assert TurnSignal.objects.filter(version=first).count() == TurnSignal.objects.filter(version=final).count() \
        == USER_TURNS == run.signals_created / 2
    # Stage 1 (real MiniLM) reads these plainly; each label belongs to the reply before the user turn.
    capital = TurnSignal.objects.get(version=first, conversation__external_id="log-capital", turn=2)
    assert capital.dsat and not capital.sat and capital.message.parent.content.startswith("Sydney")
    assert not TurnSignal.objects.get(version=first, conversation__external_id="log-weather").dsat
    # Stage 2 (the tiny model) only confirms or drops stage 1's flags and says it decided.
    for row in TurnSignal.objects.filter(version=final):
        flagged = TurnSignal.objects.get(version=first, message=row.message)
        assert (row.sat <= flagged.sat) and (row.dsat <= flagged.dsat)
        if flagged.sat or flagged.dsat:
            assert row.decided_by == "tiny" and "stage2:tiny" in row.method
    # Every SAT/DSAT turn has a pair; none is dropped without a reason; kept ones wait in the campaign.
    flagged = TurnSignal.objects.filter(version=final).exclude(sat=False, dsat=False)
    assert MinedPair.objects.count() == flagged.count() == run.pairs_kept + run.pairs_dropped
    assert not MinedPair.objects.filter(status="dropped", reason="").exists()
    campaign = verify_campaign_name(user=manager)
    for pair in MinedPair.objects.filter(status="kept"):
        assert Item.objects.filter(external_id=pair.item_key, campaign__name=campaign).exists()


def test_creating_a_run_reads_the_signal_version_without_loading_the_stage_1_model(manager, tiny_endpoint):
    stage1_model.cache_clear()
    run = mining_run_create(by=manager, endpoint=tiny_endpoint)
    assert run.version == f"{stage1_meta()['version']}+tiny"
    assert stage1_model.cache_info().currsize == 0


def test_a_run_created_under_another_stage_1_model_fails_with_the_reason_instead_of_labelling(logs, manager,
                                                                                                tiny_endpoint):
    run = mining_run_create(by=manager, endpoint=tiny_endpoint)
    MiningRun.objects.filter(pk=run.pk).update(version="minilm-l6-lr-00000000+tiny")  # saved before a retraining
    mining_label(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == MiningRun.Status.FAILED and "not the run's" in run.error
    assert not TurnSignal.objects.exists()


def test_mining_the_same_turns_again_adds_nothing_and_a_new_version_labels_beside_the_old(logs, manager,
                                                                                         tiny_endpoint):
    mine(mining_run_create(by=manager, endpoint=tiny_endpoint))
    before = (TurnSignal.objects.count(), MinedPair.objects.count(), Item.objects.count())

    again = mine(mining_run_create(by=manager, endpoint=tiny_endpoint))
    assert again.status == "done" and (again.signals_created, again.pairs_kept, again.pairs_dropped) == (0, 0, 0)
    assert (TurnSignal.objects.count(), MinedPair.objects.count(), Item.objects.count()) == before

    judge = ModelEndpoint.objects.create(name="tiny-judge", model=tiny_endpoint.model, device="cpu",
                                         dtype="float32", max_context=256)
    newer = mine(mining_run_create(by=manager, endpoint=judge))
    assert newer.version != again.version
    assert TurnSignal.objects.filter(version=newer.version).count() == USER_TURNS
    assert TurnSignal.objects.filter(version=again.version).count() == USER_TURNS  # old labels kept


def test_a_manager_mines_only_conversations_they_may_see_and_annotators_may_not_mine(tmp_path, manager, annotator,
                                                                                     tiny_endpoint):
    from tests.factories import UserFactory

    other_manager = UserFactory(username="mike", role="manager")
    path = tmp_path / "theirs.jsonl"
    path.write_text(json.dumps(CAPITAL) + "\n")
    conversations_import(path=path, owner=other_manager, format="jsonl")

    run = mine(mining_run_create(by=manager, endpoint=tiny_endpoint))
    assert run.status == "done" and not TurnSignal.objects.exists()
    with pytest.raises(PermissionDenied):
        mining_run_create(by=annotator, endpoint=tiny_endpoint)


def test_a_conversation_without_research_consent_is_not_mined(logs, manager, tiny_endpoint):
    logs.update(consent_research=False)
    mine(mining_run_create(by=manager, endpoint=tiny_endpoint))
    assert not TurnSignal.objects.exists()


def _labelled(run: MiningRun, conversation: str, turn: int, **flags) -> TurnSignal:
    """A final label written as the judge stage would, so pair building can be tested on known flags."""
    conversation = Conversation.objects.get(external_id=conversation)
    message = conversation.messages.get(index=turn)
    return TurnSignal.objects.create(conversation=conversation, message=message, turn=turn, version=run.version,
                                     run=run, method="fixture", confidence=0.9, **flags)


@pytest.fixture
def judging_run(logs, manager, tiny_endpoint):
    return MiningRun.objects.create(created_by=manager, endpoint=tiny_endpoint, stage="judge",
                                    version=signal_version(endpoint=tiny_endpoint))


def test_a_dsat_turn_takes_the_later_reply_the_user_accepted_and_a_sat_turn_pits_it_against_a_regeneration(
        judging_run):
    dsat = _labelled(judging_run, "log-capital", 2, dsat=True, factual_error=True)
    sat = _labelled(judging_run, "log-capital", 4, sat=True, gratitude=True)
    mining_judge(run_id=judging_run.pk)

    corrected = dsat.pair
    assert corrected.chosen_source == "accepted" and corrected.chosen.startswith("You are right")
    assert corrected.rejected == "Sydney is the capital of Australia."
    assert corrected.prompt == [CAPITAL["messages"][0]]
    assert any("factual mistake" in q for q in corrected.checklist) and "Canberra" in corrected.summary
    accepted = sat.pair
    assert accepted.chosen_source == "regenerated" and accepted.chosen.startswith("You are right")
    assert accepted.rejected and accepted.rejected != accepted.chosen  # the tiny model's regeneration
    for pair in (corrected, accepted):
        assert set(pair.votes) == {"chosen_first", "rejected_first", "wins"}
        assert (pair.status == "kept") == all(pair.votes["wins"])
        assert pair.status == "kept" or pair.reason


def test_a_dsat_turn_without_an_accepted_reply_gets_a_regeneration_guided_by_the_feedback(judging_run):
    dsat = _labelled(judging_run, "log-haiku", 2, dsat=True, revision=True, style=True)
    mining_judge(run_id=judging_run.pk)
    pair = dsat.pair
    assert pair.chosen_source == "regenerated" and pair.chosen_message is None and pair.chosen
    assert pair.rejected.startswith("Rain falls") and "shorter" in pair.summary
    assert pairs.CHECKS["revision"] in pair.checklist and pairs.CHECKS["style"] in pair.checklist


@pytest.mark.parametrize(("chosen_first", "rejected_first", "kept", "reason"), [
    ((-1.0, -3.0), (-3.0, -1.0), True, ""),
    ((-1.0, -3.0), (-1.0, -3.0), False, "position bias"),  # always "A": it flips with the order
    ((-3.0, -1.0), (-3.0, -1.0), False, "position bias"),  # always "B"
    ((-3.0, -1.0), (-1.0, -3.0), False, "rejected response in both orders"),
])
def test_only_a_pair_that_wins_in_both_orders_is_kept(chosen_first, rejected_first, kept, reason):
    decided, why = pairs.verdict(pairs.Votes(chosen_first, rejected_first))
    assert decided is kept and reason in why


def test_the_checklist_judge_scores_both_orders_so_swapping_the_pair_mirrors_its_votes(tiny_endpoint):
    from modelhost.registry import backend_for

    judge = pairs.ChecklistJudge(backend_for(tiny_endpoint))
    prompt, questions = [{"role": "user", "content": "Capital of Australia?"}], pairs.checklist("wrong", [])
    one, other = judge.votes_many([(prompt, "Canberra.", "Sydney.", questions),
                                   (prompt, "Sydney.", "Canberra.", questions)])
    assert one.chosen_first == pytest.approx(other.rejected_first, abs=1e-4)
    assert one.rejected_first == pytest.approx(other.chosen_first, abs=1e-4)
    assert one.chosen_first != pytest.approx(one.rejected_first, abs=1e-4)  # the order changes what the model sees
    (alone,) = judge.votes_many([(prompt, "Canberra.", "Sydney.", questions)])
    assert alone.chosen_first == pytest.approx(one.chosen_first, abs=1e-4)


def test_a_verified_mined_pair_exports_as_dpo_with_its_provenance(judging_run, manager, annotator, settings,
                                                                  tmp_path, client):
    settings.MEDIA_ROOT = tmp_path / "media"
    dsat = _labelled(judging_run, "log-capital", 2, dsat=True, factual_error=True)
    MinedPair.objects.create(
        signal=dsat, run=judging_run, prompt=[CAPITAL["messages"][0]], chosen="Canberra.", rejected="Sydney.",
        chosen_source="regenerated", summary="s", checklist=["q?"], status="kept",
        votes={"chosen_first": [-1, -2], "rejected_first": [-2, -1], "wins": [True, True]})
    MiningRun.objects.filter(pk=judging_run.pk).update(stage="verify")
    mining_verify(run_id=judging_run.pk)

    campaign = Campaign.objects.get(name=verify_campaign_name(user=manager))
    item = campaign.items.get()
    assert dsat.pair.__class__.objects.get(pk=dsat.pair.pk).item_key == item.external_id
    assert [s.candidate.text for s in item.slots.order_by("position")] == ["Canberra.", "Sydney."]
    metadata = item.prompt.metadata
    assert metadata["context"] == CAPITAL["messages"][2]["content"]  # shown beside the pair in the task

    campaign.members.add(annotator)
    campaign.status = "live"
    campaign.save()
    client.force_login(annotator)
    task = client.get(reverse("annotate:task", args=[campaign.pk])).content.decode()
    assert "The capital is Canberra, not Sydney." in task and "task-context" in task  # the user's reply, as context
    assignment = assignment_next(campaign=campaign, annotator=annotator)
    assert assignment is not None
    judgment_submit(assignment_id=assignment.pk, annotator=annotator, answer={"choice": "a"})  # agrees: chosen

    export = export_create(spec={"campaigns": [campaign.pk], "format": "dpo", "filetype": "jsonl",
                                 "test_size": 0.0}, by=manager)
    export_run(export_id=export.pk)
    export.refresh_from_db()
    (row,) = [json.loads(line) for line in (export.directory / "train.jsonl").read_text().splitlines()]
    assert row["chosen"][-1]["content"] == "Canberra." and row["rejected"][-1]["content"] == "Sydney."
    provenance = json.loads(row["prompt_metadata"])
    assert provenance["source"] == "mined" and provenance["conversation"] == "log-capital"
    assert (provenance["turn"], provenance["signal"], provenance["categories"]) == (2, "dsat", ["factual_error"])
    assert provenance["method"] == "fixture" and provenance["judge_votes"]["wins"] == [True, True]
    assert row["chosen_id"] == provenance["chosen_response"]


def test_export_signals_writes_one_line_per_user_turn_with_the_logs_own_ids(logs, manager, tiny_endpoint, tmp_path):
    mine(mining_run_create(by=manager, endpoint=tiny_endpoint))
    out = tmp_path / "signals.jsonl"
    call_command("export_signals", "--out", str(out))

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == USER_TURNS
    for line in lines:
        assert list(line) == ["conversation", "turn", "sat", "dsat", "categories", "confidence", "method"]
        assert isinstance(line["sat"], bool) and isinstance(line["dsat"], bool)
        assert isinstance(line["confidence"], float) and set(line["categories"]) <= set(CATEGORIES)
        assert "stage1:" in line["method"]
    assert sorted((line["conversation"], line["turn"]) for line in lines) == [
        ("log-capital", 2), ("log-capital", 4), ("log-haiku", 2), ("log-weather", 2)]
    # "turn" is the index of the user message in the log's own message list
    assert [CAPITAL["messages"][line["turn"]]["role"] for line in lines if line["conversation"] == "log-capital"] \
        == ["user", "user"]


def test_mine_feedback_command_queues_a_run_for_the_named_endpoint(logs, admin_user, tiny_endpoint,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        call_command("mine_feedback", "--source", "import", "--since", "2020-01-01", "--endpoint", "tiny")
    run = MiningRun.objects.get()
    assert (run.source, run.endpoint, run.created_by, run.stage) == ("import", tiny_endpoint, admin_user, "label")
    assert len(queued) == 1


def test_a_chat_api_conversation_is_mined_under_our_id_and_source_filters_apply(api_as, annotator, manager,
                                                                                 tiny_endpoint, logs, tmp_path):
    app = api_as(annotator)  # an application chatting under an annotator's key: managers may mine it
    conversation = app.post("/api/v1/conversations", {"model": "tiny"}, format="json").json()
    for text in ("What is the capital of Australia?", "No, that's wrong. It is Canberra, not Sydney."):
        assert app.post(f"/api/v1/conversations/{conversation['id']}/messages", {"content": text, "max_tokens": 4},
                        format="json").status_code == 201

    run = mine(mining_run_create(by=manager, endpoint=tiny_endpoint, source="api"))
    labelled = TurnSignal.objects.filter(version=run.version)
    assert list(labelled.values_list("conversation_id", "turn")) == [(conversation["id"], 2)]
    out = tmp_path / "signals.jsonl"
    call_command("export_signals", "--out", str(out))
    (line,) = [json.loads(text) for text in out.read_text().splitlines()]
    assert (line["conversation"], line["turn"]) == (conversation["id"], 2)


def test_thresholds_from_the_settings_decide_the_flags(logs, manager, tiny_endpoint, settings):
    settings.FEEDBACK_SIGNAL_THRESHOLDS = {"dsat": 1.01, "sat": 1.01}  # above any probability: nothing is flagged
    run = mining_run_create(by=manager, endpoint=tiny_endpoint)
    mining_label(run_id=run.pk)
    first = TurnSignal.objects.filter(version=run.version.rsplit("+", 1)[0])
    assert first.count() == USER_TURNS and not first.filter(sat=True).exists() and not first.filter(dsat=True).exists()


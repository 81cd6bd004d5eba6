"""Maria's world, for attacks by others: a live campaign anna works in, an export, a generation job, a streamed
reply, an AI judge run, an API token, a chat conversation, a profile question, and a moral-graph deliberation with
anna's interview, cards, a story and a de-duplication proposal, all hers."""

from dataclasses import dataclass

import pytest

from accounts.models import ApiToken
from accounts.services.tokens import token_create
from annotate.models import Assignment
from annotate.profiles.services import profile_field_create, profile_save
from annotate.services.assignments import assignment_next, judgment_submit
from annotate.services.judges import judge_run_create
from exports.models import Export
from exports.services import export_create, export_run
from modelhost.models import GenerationJob, StreamedReply
from tests.factories import UserFactory, campaign_with_items


@dataclass
class World:
    ids: dict[str, int | str]  # URL keyword -> the id of maria's object of that kind
    by_namespace: dict[str, dict[str, int | str]]  # where one keyword names different objects in an app

    def kwargs(self, name: str, keywords) -> dict:
        ids = {**self.ids, **self.by_namespace.get(name.partition(":")[0], {})}
        return {key: ids.get(key, "README.md") for key in keywords}


def _moral_graph(campaign, manager, annotator) -> dict:
    from annotate.moralgraph.models import Context, DedupProposal, Message, UpgradeStory
    from annotate.moralgraph.services.cards import card_update
    from annotate.moralgraph.services.deliberations import deliberation_create, participant_consent
    from annotate.moralgraph.services.interviews import interview_start

    deliberation = deliberation_create(campaign=campaign, name="Maria's question", question="What should I do?",
                                       by=manager, contexts=["When in distress"])
    zara = UserFactory(username="zara")
    campaign.members.add(zara)
    interviews = [interview_start(participant=participant_consent(deliberation=deliberation, user=user))
                  for user in (annotator, zara)]
    cards = [card_update(interview=interview, source="participant", title=title, description=f"By {title}.",
                         policies=[f"MOMENTS where {title} helps", f"FEELINGS that show {title} matters"])
             for interview, title in zip(interviews, ("Care", "Candour"), strict=True)]
    interview = interviews[0]
    context = Context.objects.filter(deliberation=deliberation).first()
    story = UpgradeStory.objects.create(context=context, from_card=cards[0], to_card=cards[1], claim="A to B")
    proposal = DedupProposal.objects.create(card=cards[0], duplicate_of=cards[1], similarity=0.9)
    return {"deliberation_id": deliberation.pk, "interview_id": interview.pk, "card_id": cards[0].pk,
            "context_id": context.pk, "story_id": story.pk, "proposal_id": proposal.pk, "action": "approve",
            "fmt": "json", "message_id": Message.objects.create(interview=interview, role="user", content="Mine").pk}


def _conversation(manager) -> dict:
    from feedback.services.conversations import conversation_create, messages_add

    conversation = conversation_create(owner=manager)
    _, reply = messages_add(conversation=conversation, parent=None, messages=[
        {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi, how can I help?"}])
    return {"conversation_id": conversation.pk, "message_id": reply.pk}


def _mining_run(manager) -> int:
    from feedback.models import MiningRun

    return MiningRun.objects.create(created_by=manager, version="maria's").pk


@pytest.fixture
def world(manager, annotator, tiny_endpoint, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    campaign = campaign_with_items(manager=manager, members=[annotator], prompts=2, name="Maria's")
    judged = assignment_next(campaign=campaign, annotator=annotator)
    judgment_submit(assignment_id=judged.pk, annotator=annotator, answer={"choice": "a"})
    held = assignment_next(campaign=campaign, annotator=annotator)
    export = export_create(spec={"campaigns": [campaign.pk], "format": "raw"}, by=manager)
    export_run(export_id=export.pk)
    job = GenerationJob.objects.create(label="maria's job", total=1, created_by=manager)
    reply = StreamedReply.objects.create(endpoint=tiny_endpoint, messages=[{"role": "user", "content": "Hi"}],
                                         created_by=manager)
    token, _ = token_create(user=manager, name="maria's key")
    judge_run = judge_run_create(campaign=campaign, endpoint=tiny_endpoint, by=manager)
    field = profile_field_create(campaign=campaign, by=manager, label="Do you code?", choices=["yes", "no"])
    profile_save(user=annotator, consent=True, region="Europe", answers={field.pk: "yes"})
    return World(
        ids={"campaign_id": campaign.pk, "assignment_id": held.pk, "user_id": annotator.pk, "export_id": export.pk,
             "item_id": judged.item_id, "job_id": job.pk, "reply_id": reply.pk, "token_id": token.pk,
             **_conversation(manager)},
        by_namespace={"moralgraph": _moral_graph(campaign, manager, annotator), "profiles": {"field_id": field.pk},
                      "annotate": {"run_id": judge_run.pk}, "feedback": {"run_id": _mining_run(manager)}})


@pytest.fixture
def other_manager(db):
    """Mona manages a campaign of her own, not maria's."""
    mona = UserFactory(username="mona", role="manager")
    campaign_with_items(manager=mona, name="Mona's")
    return mona


def state() -> dict:
    """Everything an intruder's request could change in maria's world."""
    from accounts.models import User
    from annotate.models import Campaign, Item, Judgment, Prompt
    from annotate.moralgraph.models import Deliberation, Interview, Participant, ValuesCard, Vote
    from annotate.profiles.models import Profile, ProfileAnswer, ProfileField
    from feedback.models import Conversation, Feedback, MiningRun
    from feedback.models import Message as ChatMessage

    return {
        "campaigns": sorted(Campaign.objects.values_list("pk", "status", "name")),
        "members": sorted(Campaign.members.through.objects.values_list("campaign_id", "user_id")),
        "assignments": sorted(Assignment.objects.values_list("pk", "status")),
        "judgments": Judgment.objects.count(),
        "prompts and items": (Prompt.objects.count(), Item.objects.count()),
        "exports": sorted(Export.objects.values_list("pk", "status")),
        "jobs": sorted(GenerationJob.objects.values_list("pk", "status")),
        "tokens": sorted(ApiToken.objects.values_list("pk", "revoked_at")),
        "people": sorted(User.objects.values_list("pk", "is_active", "password")),
        "conversations": sorted(Conversation.objects.values_list("pk", flat=True)),
        "mining runs": sorted(MiningRun.objects.values_list("pk", "status")),
        "chat messages and feedback": (ChatMessage.objects.count(), Feedback.objects.count()),
        "profiles": (sorted(ProfileField.objects.values_list("pk", "label")),
                     sorted(ProfileAnswer.objects.values_list("profile__user_id", "field_id", "value")),
                     sorted(Profile.objects.values_list("user_id", "region"))),
        "moral graph": (Deliberation.objects.count(), Interview.objects.count(), ValuesCard.objects.count(),
                        Vote.objects.count(), Participant.objects.count()),
    }

"""Moral-graph elicitation: deliberations, interviews that write values cards, and "wiser than" votes.

A deliberation belongs to a campaign: its members are the participants (after consent), its managers run it.
Each values card is its own graph node (no de-duplication yet); imported values keep their published ids.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Answer(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNSURE = "unsure", "Not sure"


class Deliberation(models.Model):
    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="deliberations")
    name = models.CharField(max_length=200, unique=True)
    question = models.TextField(help_text='The hard situation, e.g. "I am considering an abortion, what should I do?"')
    endpoint = models.ForeignKey(
        "modelhost.ModelEndpoint", null=True, blank=True, on_delete=models.PROTECT,
        help_text="The interviewer; empty = the default endpoint.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Context(models.Model):
    """A "When ..." situation in which one value can be wiser than another."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        APPROVED = "approved", "Approved"

    class Source(models.TextChoices):
        MANAGER = "manager", "Typed by a manager"
        MODEL = "model", "Proposed by the model host"
        IMPORT = "import", "Imported"

    deliberation = models.ForeignKey(Deliberation, on_delete=models.CASCADE, related_name="contexts")
    text = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.APPROVED)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANAGER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["deliberation", "text"], name="context_unique_text")]

    def __str__(self) -> str:
        return self.text


class Participant(models.Model):
    """A campaign member who consented, or a participant of imported votes (`external_id`, no user)."""

    deliberation = models.ForeignKey(Deliberation, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="moral_participations")
    external_id = models.CharField(max_length=200, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    graph_fair = models.CharField(max_length=8, choices=Answer.choices, blank=True,
                                  help_text="Survey: is the graph fair, even where your value is not the wisest?")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["deliberation", "user"], condition=Q(user__isnull=False),
                                    name="participant_once_per_user"),
            models.UniqueConstraint(fields=["deliberation", "external_id"], condition=~Q(external_id=""),
                                    name="participant_unique_external_id"),
        ]

    def __str__(self) -> str:
        return self.external_id or f"participant #{self.pk}"


class Interview(models.Model):
    """One chat with the interviewer; the transcript is `messages`, the card it wrote is `card`."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SUBMITTED = "submitted", "Submitted"

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="interviews")
    endpoint = models.ForeignKey("modelhost.ModelEndpoint", on_delete=models.PROTECT, related_name="+")
    prompt_version = models.CharField(max_length=20)
    prompt_hash = models.CharField(max_length=64, help_text="sha256 of the system prompt as sent.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    card_captures = models.CharField(max_length=8, choices=Answer.choices, blank=True,
                                     help_text="Survey: did the card capture what you care about?")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"interview #{self.pk}"


class Message(models.Model):
    """A turn of the transcript. An assistant turn streams into `reply` and is copied here once it ends."""

    class Role(models.TextChoices):
        ASSISTANT = "assistant", "Interviewer"
        USER = "user", "Participant"

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True)
    reply = models.OneToOneField("modelhost.StreamedReply", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class ValuesCard(models.Model):
    """A value as a graph node: title, one-line description, 2-10 attention policies."""

    deliberation = models.ForeignKey(Deliberation, on_delete=models.CASCADE, related_name="cards")
    interview = models.OneToOneField(Interview, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="card")
    external_id = models.CharField(
        max_length=200, help_text="The id in every export: as imported (JSON-encoded, so 7 and \"7\" differ), "
                                  "else c<pk>.")
    title = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    policies = models.JSONField(default=list)
    canonical = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged",
                                  help_text="The card this one was merged into: the graph counts its votes there.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["deliberation", "external_id"], name="card_unique_external_id"),
        ]

    def __str__(self) -> str:
        return self.title


class CardVersion(models.Model):
    """Every version a card went through, from the model or typed by the participant."""

    class Source(models.TextChoices):
        MODEL = "model", "Proposed by the interviewer"
        PARTICIPANT = "participant", "Edited by the participant"
        IMPORT = "import", "Imported"

    card = models.ForeignKey(ValuesCard, on_delete=models.CASCADE, related_name="versions")
    title = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    policies = models.JSONField(default=list)
    source = models.CharField(max_length=16, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class DedupProposal(models.Model):
    """Two cards whose attention policies read alike (sentence embeddings): a manager merges them or not."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        MERGED = "merged", "Merged"
        REJECTED = "rejected", "Kept apart"

    card = models.ForeignKey(ValuesCard, on_delete=models.CASCADE, related_name="+")
    duplicate_of = models.ForeignKey(ValuesCard, on_delete=models.CASCADE, related_name="+")
    similarity = models.FloatField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-similarity", "id"]
        constraints = [models.UniqueConstraint(fields=["card", "duplicate_of"], name="dedup_unique_pair")]


class DedupCheck(models.Model):
    """A participant's answer to "does the card yours was merged into still represent your value?"."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="dedup_checks")
    card = models.ForeignKey(ValuesCard, on_delete=models.CASCADE, related_name="+")
    canonical = models.ForeignKey(ValuesCard, on_delete=models.CASCADE, related_name="+")
    answer = models.CharField(max_length=8, choices=Answer.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["card", "canonical"], name="dedup_check_once")]


class UpgradeStory(models.Model):
    """A "from A to B" pair shown to participants in one context. Both directions of a pair always exist, and
    both get the same kind of text: the plain claim, plus a story when the model host wrote one."""

    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="stories")
    from_card = models.ForeignKey(ValuesCard, on_delete=models.CASCADE, related_name="+")
    to_card = models.ForeignKey(ValuesCard, on_delete=models.CASCADE, related_name="+")
    claim = models.TextField(help_text="When <context>, this person used to focus on A; now B covers it.")
    story = models.TextField(blank=True, help_text="A first-person story by the model host, if it wrote one.")
    generation_output = models.OneToOneField("modelhost.GenerationOutput", null=True, blank=True,
                                             on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["context", "from_card", "to_card"], name="story_unique_pair"),
            models.CheckConstraint(condition=~Q(from_card=models.F("to_card")), name="story_two_cards"),
        ]

    @property
    def shown(self) -> str:
        return f"{self.story}\n\n{self.claim}" if self.story else self.claim


class Vote(models.Model):
    """One participant's answer to "did this person become wiser moving from A to B, in this context?"."""

    class Relationship(models.TextChoices):
        UPGRADE = "upgrade", "Wiser"
        NO_UPGRADE = "no_upgrade", "Not wiser"
        NOT_SURE = "not_sure", "Not sure"

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="votes")
    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="votes")
    from_card = models.ForeignKey(ValuesCard, on_delete=models.CASCADE, related_name="+")
    to_card = models.ForeignKey(ValuesCard, on_delete=models.CASCADE, related_name="+")
    story = models.TextField(blank=True, help_text="The story as shown.")
    relationship = models.CharField(max_length=16, choices=Relationship.choices)
    comment = models.TextField(blank=True)
    client_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "from_card", "to_card", "context"],
                                    name="vote_once_per_pair_and_context"),
        ]

    def __str__(self) -> str:
        return f"{self.from_card_id} -> {self.to_card_id}: {self.relationship}"

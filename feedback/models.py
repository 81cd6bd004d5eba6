"""Conversations applications hold with models through this app (or imported logs), and what users say of them.

Messages form a tree: a regenerated reply is a sibling of the one it replaces (same parent), so every branch is
kept. `content` is always the PII-scrubbed text, the only text annotators, managers and exports see; `raw_content`
holds the original only when the conversation's consent allows keeping it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.runs import Run
from feedback.signals.rubric import CATEGORIES


class Conversation(models.Model):
    class Source(models.TextChoices):
        API = "api", "Chat API"
        IMPORT = "import", "Imported log"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    endpoint = models.ForeignKey("modelhost.ModelEndpoint", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="conversations")
    model_name = models.CharField(max_length=200, blank=True, help_text="The model as named by the log or endpoint.")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.API)
    external_id = models.CharField(max_length=200, blank=True, help_text="The id the imported log gave it.")
    content_hash = models.CharField(max_length=64, blank=True, help_text="Imports: SHA-256 of roles and texts.")
    consent_raw = models.BooleanField(default=False, help_text="The user agreed to keep the unscrubbed text.")
    consent_research = models.BooleanField(default=True, help_text="May be mined for preference data.")
    retain_until = models.DateTimeField(null=True, blank=True, help_text="Deleted after this date.")
    metadata = models.JSONField(default=dict, blank=True)
    pii_counts = models.JSONField(default=dict, blank=True, help_text='What scrubbing replaced, e.g. {"email": 2}.')
    started_at = models.DateTimeField(null=True, blank=True, help_text="When it happened (imports: the log's time).")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Importing a log twice adds nothing; API conversations carry no hash.
            models.UniqueConstraint(fields=["content_hash"], condition=Q(source="import"),
                                    name="conversation_import_unique_hash"),
        ]

    def __str__(self) -> str:
        return f"conversation #{self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        SYSTEM = "system", "System"
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    # No index of its own: the (conversation, index) index below serves every lookup by conversation, and one
    # index fewer to keep is a fifth of PostgreSQL's work in an import.
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    index = models.PositiveIntegerField(help_text="Depth in the conversation: 0 for the first message.")
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(help_text="Scrubbed of PII.")
    raw_content = models.TextField(blank=True, help_text="The original text, kept only with consent.")
    model_name = models.CharField(max_length=200, blank=True)
    finish_reason = models.CharField(max_length=16, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["index", "id"]
        indexes = [models.Index(fields=["conversation", "index"])]

    def __str__(self) -> str:
        return f"{self.role} #{self.pk}"


class Feedback(models.Model):
    """What a user said of one assistant message: thumbs, reasons, a rating, a comment, a preferred sibling."""

    class Thumb(models.TextChoices):
        UP = "up", "Thumbs up"
        DOWN = "down", "Thumbs down"

    REASONS = ["accurate", "helpful", "well_written", "inaccurate", "unhelpful", "too_long", "too_short",
               "off_topic", "unsafe", "ignored_instructions"]

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="feedback")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_feedback")
    thumb = models.CharField(max_length=4, choices=Thumb.choices, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 (bad) to 5 (excellent).")
    comment = models.TextField(blank=True)
    better_than = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="beaten_by", help_text="A sibling this regeneration beats.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"feedback on {self.message_id}"


class ConversationImport(models.Model):
    """One uploaded log file, imported by a task on the default queue: all of it or none of it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    path = models.CharField(max_length=500)
    filename = models.CharField(max_length=255)
    format = models.CharField(max_length=16, default="auto")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    lines_checked = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import #{self.pk} {self.filename}"


class MiningRun(Run):
    """One `mine_feedback` job: label user turns, build pairs from the DSAT/SAT ones, send the kept pairs to the
    verification campaign. Stages run as separate tasks (stage 1 on the default queue, the model work on gpu), each
    doing only what its run still lacks, so a redelivered or resumed task adds nothing twice."""

    class Stage(models.TextChoices):
        LABEL = "label", "Labelling turns (stage 1)"
        JUDGE = "judge", "Judging candidates and building pairs (model host)"
        VERIFY = "verify", "Sending pairs to the verification campaign"

    stage = models.CharField(max_length=8, choices=Stage.choices, default=Stage.LABEL)
    source = models.CharField(max_length=8, default="all", help_text="api, import or all.")
    since = models.DateTimeField(null=True, blank=True)
    endpoint = models.ForeignKey("modelhost.ModelEndpoint", null=True, on_delete=models.SET_NULL,
                                 related_name="mining_runs", help_text="The judge, regenerator and checklist scorer.")
    version = models.CharField(max_length=200, blank=True, help_text="The classifier version its labels carry.")
    campaign = models.ForeignKey("annotate.Campaign", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="mining_runs")
    signals_created = models.PositiveIntegerField(default=0)
    pairs_kept = models.PositiveIntegerField(default=0)
    pairs_dropped = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="mining_runs")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"mining run #{self.pk}"


class TurnSignal(models.Model):
    """What one user message says of the assistant reply just before it, as one classifier version labelled it.

    One row per (message, version): mining again adds nothing, a new version labels beside the old rows. The 18
    category booleans are columns (not a list) so that a category's share and precision are plain SQL.
    """

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="signals")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="signals",
                                help_text="The user message; its label belongs to its parent, an assistant reply.")
    turn = models.PositiveIntegerField(help_text="Index of the user message in the conversation's messages.")
    version = models.CharField(max_length=200)
    run = models.ForeignKey(MiningRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="signals")
    sat = models.BooleanField(default=False)
    dsat = models.BooleanField(default=False)
    gratitude = models.BooleanField(default=False)
    learning = models.BooleanField(default=False)
    compliance = models.BooleanField(default=False)
    praise = models.BooleanField(default=False)
    personal_details = models.BooleanField(default=False)
    humor = models.BooleanField(default=False)
    acknowledgment = models.BooleanField(default=False)
    positive_closure = models.BooleanField(default=False)
    getting_there = models.BooleanField(default=False)
    negative_feedback = models.BooleanField(default=False)
    revision = models.BooleanField(default=False)
    factual_error = models.BooleanField(default=False)
    unrealistic_expectation = models.BooleanField(default=False)
    no_engagement = models.BooleanField(default=False)
    ignored = models.BooleanField(default=False)
    lower_quality = models.BooleanField(default=False)
    insufficient_detail = models.BooleanField(default=False)
    style = models.BooleanField(default=False)
    confidence = models.FloatField(default=0.0)
    method = models.CharField(max_length=300, help_text="The stages and model versions that decided.")
    decided_by = models.CharField(max_length=200, blank=True, help_text="The model endpoint of stage 2, if any.")
    rationale = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["conversation_id", "turn", "id"]
        constraints = [models.UniqueConstraint(fields=["message", "version"], name="signal_once_per_version")]
        indexes = [models.Index(fields=["version", "dsat"]), models.Index(fields=["version", "sat"])]

    def __str__(self) -> str:
        return f"signal on message {self.message_id} ({self.version})"

    @property
    def categories(self) -> list[str]:
        return [name for name in CATEGORIES if getattr(self, name)]


class MinedPair(models.Model):
    """A preference pair built from one signal: kept pairs go to human verification, the others stay with a reason."""

    class Status(models.TextChoices):
        KEPT = "kept", "Kept (won both orders)"
        DROPPED = "dropped", "Dropped"

    class ChosenSource(models.TextChoices):
        ACCEPTED = "accepted", "A later reply the user accepted"
        REGENERATED = "regenerated", "Regenerated by the model host"

    signal = models.OneToOneField(TurnSignal, on_delete=models.CASCADE, related_name="pair")
    run = models.ForeignKey(MiningRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="pairs")
    prompt = models.JSONField(help_text="The conversation up to (not including) the judged reply.")
    chosen = models.TextField()
    rejected = models.TextField()
    chosen_source = models.CharField(max_length=12, choices=ChosenSource.choices)
    chosen_message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+", help_text="The accepted later reply, when chosen is one.")
    rejected_message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    summary = models.TextField(blank=True, help_text="What the user asked for, guiding the regeneration.")
    checklist = models.JSONField(default=list, help_text="TICK-style yes/no questions from the user's feedback.")
    votes = models.JSONField(default=dict, help_text="The checklist judge's scores in both orders.")
    status = models.CharField(max_length=8, choices=Status.choices)
    reason = models.CharField(max_length=300, blank=True)
    item_key = models.CharField(max_length=200, blank=True, help_text="The verification item's external id.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"pair from signal {self.signal_id} ({self.status})"

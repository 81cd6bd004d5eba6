from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from annotate.protocols import PROTOCOLS_HELP, RANK_VS_RATE, Protocol
from core.runs import Run

MAX_RESPONSES_PER_ITEM = 26  # the task page labels responses A to Z
MAX_OVERLAP = 1000
MAX_LEASE_MINUTES = 7 * 24 * 60


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        PAUSED = "paused", "Paused"
        CLOSED = "closed", "Closed"

    RANK_VS_RATE = RANK_VS_RATE
    DESIGNS = [*Protocol.choices, (RANK_VS_RATE, "Ranking vs rating experiment")]

    name = models.CharField(max_length=200, unique=True)
    guidelines = models.TextField(blank=True, help_text="Markdown, shown inside every task.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    design = models.CharField(max_length=16, choices=DESIGNS, default=Protocol.PAIRWISE, help_text=PROTOCOLS_HELP)
    # Bounded so that a typo is a form error, not a database overflow or a lease nobody can finish.
    responses_per_item = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(2), MaxValueValidator(MAX_RESPONSES_PER_ITEM)],
        help_text="2 for pairwise; k responses per item for ranking, rating and attributes."
    )
    rate_alone = models.BooleanField(
        "rate each response alone", default=True,
        help_text="Rating and attributes, and the rating arm of rank_vs_rate: items of one response, each rated on "
                  "its own (absolute ratings, as Bansal et al. and HelpSteer2). Off: responses side by side.")
    overlap = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(MAX_OVERLAP)],
        help_text="Distinct annotators per item (k).")
    lease_minutes = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(MAX_LEASE_MINUTES)],
        help_text="How long an annotator holds a task before it may go to someone else.")
    gold_rate = models.FloatField(default=0.0, validators=[MinValueValidator(0), MaxValueValidator(1)],
                                  help_text="Share of tasks that are gold items (0 to 1).")
    ask_strength = models.BooleanField(default=True, help_text="Pairwise: ask how much better, -3..+3.")
    ask_rationale = models.BooleanField(default=False, help_text="Ask for a written justification.")

    class Routing(models.TextChoices):
        OFF = "off", "Every item to people"
        ENTROPY = "entropy", "Items whose AI verdicts' entropy is at least the threshold (bits)"
        SHARE = "share", "The most uncertain share of items (threshold = share, 0 to 1)"

    routing = models.CharField(
        max_length=8, choices=Routing.choices, default=Routing.OFF,
        help_text="After an AI judge run, send only the items the AI judges are unsure of to people (FairEval's "
                  "human-in-the-loop calibration).")
    routing_threshold = models.FloatField(default=0.5, validators=[MinValueValidator(0)])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="campaigns_created"
    )
    managers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="campaigns_managed", blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="campaigns_joined", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The messages are what a form shows when a value gets past the fields' own bounds.
            models.CheckConstraint(condition=Q(responses_per_item__gte=2), name="campaign_two_or_more_responses",
                                   violation_error_message="An item holds at least 2 responses."),
            models.CheckConstraint(condition=Q(overlap__gte=1), name="campaign_overlap_positive",
                                   violation_error_message="Each item needs at least 1 annotator (overlap)."),
            models.CheckConstraint(condition=Q(gold_rate__gte=0, gold_rate__lte=1), name="campaign_gold_rate_share",
                                   violation_error_message="The gold rate is a share between 0 and 1."),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def rates_alone(self) -> bool:
        """Whether its ratings are absolute: rating items of one response (comparisons always hold two or more)."""
        return self.rate_alone and self.design in (Protocol.RATING, Protocol.ATTRIBUTES, RANK_VS_RATE)


class Prompt(models.Model):
    """What a model is asked: a chat (`[{role, content}]`), from an import or typed in."""

    # no index of its own: the unique (campaign, external_id) one leads with it (one index less to keep per row)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="prompts", db_index=False)
    external_id = models.CharField(max_length=200)
    messages = models.JSONField()
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "external_id"], name="prompt_unique_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign}: {self.external_id}"


class Candidate(models.Model):
    """One response to a prompt: imported, or generated by the model host (then `generation_output` is set)."""

    # no index of its own: the unique (prompt, external_id) one leads with it
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="candidates", db_index=False)
    external_id = models.CharField(max_length=200, help_text="The response id of the exchange format.")
    text = models.TextField()
    model = models.CharField(max_length=200, blank=True)
    generation_output = models.OneToOneField(
        "modelhost.GenerationOutput", null=True, blank=True, on_delete=models.SET_NULL, related_name="candidate"
    )
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["prompt", "external_id"], name="candidate_unique_external_id"),
        ]

    def __str__(self) -> str:
        return self.external_id


class Item(models.Model):
    """What annotators judge: a prompt and one (an absolute rating) or 2..k of its candidates, in a canonical order
    (a = first)."""

    # no index of its own: the unique (campaign, external_id) one and item_open lead with it
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items", db_index=False)
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=200)
    candidates = models.ManyToManyField(Candidate, through="ItemCandidate", related_name="items")
    is_gold = models.BooleanField(default=False)
    gold = models.JSONField(
        null=True, blank=True,
        help_text='Gold answer in the judgment format, e.g. {"choice": "a"} or {"ranking": [["r1"], ["r2"]]}.',
    )
    # Kept by every writer of judgments (judgment_submit, judgments_import) so the queue can find open items
    # through an index instead of counting judgments of the whole campaign on every request.
    judgment_count = models.PositiveIntegerField(default=0, editable=False)  # people's judgments only
    # False once an AI pass found the AI verdicts sure and the campaign routes only uncertain items to people.
    to_people = models.BooleanField(default=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "external_id"], name="item_unique_external_id")]
        indexes = [models.Index(fields=["campaign", "is_gold", "-judgment_count", "id"], name="item_open")]

    def __str__(self) -> str:
        return self.external_id


class ItemCandidate(models.Model):
    # no index of its own: the unique (item, position) and (item, candidate) ones lead with it
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="slots", db_index=False)
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["item", "position"]
        constraints = [
            models.UniqueConstraint(fields=["item", "position"], name="item_candidate_unique_position"),
            models.UniqueConstraint(fields=["item", "candidate"], name="item_candidate_unique_candidate"),
        ]


class ArmMembership(models.Model):
    """Ranking-vs-rating experiment: each annotator judges in one arm only, arms kept balanced."""

    class Arm(models.TextChoices):
        RATING = "rating", "Rating"
        RANKING = "ranking", "Ranking"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="arms")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    arm = models.CharField(max_length=16, choices=Arm.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "annotator"], name="arm_one_per_annotator")]


class Assignment(models.Model):
    """A lease of one item to one annotator. Never two for the same pair: nobody sees an item twice."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    protocol = models.CharField(max_length=16, choices=Protocol.choices)
    presented_order = models.JSONField(help_text="Candidate external ids in the order this annotator sees them.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    skip_reason = models.CharField(max_length=200, blank=True)
    leased_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["item", "annotator"], name="assignment_once_per_annotator")]
        indexes = [
            models.Index(fields=["item", "status", "expires_at"]),
            # An annotator's current lease, looked up on every request for a task: few rows, whatever their history.
            models.Index(fields=["annotator"], condition=Q(status="active"), name="assignment_active"),
        ]

    def __str__(self) -> str:
        return f"{self.item} → {self.annotator}"


class Judgment(models.Model):
    """One annotator's answer to one item, in canonical terms (choice "a" = the item's first candidate)."""

    class Choice(models.TextChoices):
        A = "a", "A"
        B = "b", "B"
        TIE = "tie", "Tie"

    assignment = models.OneToOneField(Assignment, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="judgment")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="judgments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="judgments")
    protocol = models.CharField(max_length=16, choices=Protocol.choices)
    choice = models.CharField(max_length=3, choices=Choice.choices, blank=True)
    strength = models.SmallIntegerField(null=True, blank=True)
    ranking = models.JSONField(null=True, blank=True, help_text="Groups of candidate ids, best first.")
    ratings = models.JSONField(null=True, blank=True, help_text="Candidate id -> 1..7.")
    attributes = models.JSONField(null=True, blank=True, help_text="Candidate id -> {attribute: 0..4}.")
    rationale = models.TextField(blank=True)
    presented_order = models.JSONField(null=True, blank=True)
    time_on_task_ms = models.PositiveIntegerField(null=True, blank=True)
    gold_correct = models.BooleanField(null=True, blank=True)
    client_key = models.CharField(max_length=100, blank=True, help_text="Idempotency key sent by the client.")
    metadata = models.JSONField(default=dict, blank=True,
                                help_text="AI judges: prompt version, sampling parameters, the verdict of each order.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="judgment_once_per_annotator"),
            models.UniqueConstraint(fields=["annotator", "client_key"], condition=~Q(client_key=""),
                                    name="judgment_unique_client_key"),
        ]
        # Judgments imported without an assignment: the queue must not serve their items to the same annotator
        # again (the annotator's own leases cover the rest).
        indexes = [models.Index(fields=["annotator", "item"], condition=Q(assignment=None), name="judgment_imported")]

    def __str__(self) -> str:
        return f"{self.annotator} on {self.item}"


class JudgeRun(Run):
    """An AI judge (a model-host endpoint) judging every item of a campaign; done/total count items."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="judge_runs")
    endpoint = models.ForeignKey("modelhost.ModelEndpoint", on_delete=models.PROTECT, related_name="judge_runs")
    judge = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              help_text="The ai:<endpoint> user its judgments are written as.")
    evidence = models.BooleanField(
        default=False,
        help_text="Write the reasons first, then the verdict (FairEval's multiple-evidence calibration).")
    samples = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(8)],
                                               help_text="Evidence samples per order, whose verdicts are averaged.")
    params = models.JSONField(default=dict, blank=True, help_text="Sampling parameters of the evidence.")
    checklist = models.BooleanField(
        default=False, help_text="Score each response against a checklist of yes/no questions per prompt (TICK) "
                                 "and show the judge which questions each answer meets.")
    prompt_version = models.CharField(max_length=50)
    seed = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.judge} on {self.campaign}"


class Checklist(models.Model):
    """The yes/no questions an endpoint wrote for a prompt (TICK), generated greedily once per prompt, endpoint and
    checklist prompt version, and reused by every judge run with those settings."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="checklists")
    endpoint = models.ForeignKey("modelhost.ModelEndpoint", on_delete=models.PROTECT, related_name="checklists")
    version = models.CharField(max_length=50)
    params = models.JSONField(default=dict, blank=True, help_text="Sampling parameters it was generated with.")
    questions = models.JSONField(default=list, help_text="Empty when the model wrote none.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["prompt", "endpoint", "version"], name="checklist_once")]

    def __str__(self) -> str:
        return f"{self.endpoint} checklist of {self.prompt}"


class Flag(models.Model):
    """An annotator's note to the campaign's managers about one item ("broken", "offensive", or their own words).
    One per item and annotator: flagging again replaces it."""

    class Kind(models.TextChoices):
        BROKEN = "broken", "Broken item (unreadable, cut off, wrong language)"
        OFFENSIVE = "offensive", "Offensive or disturbing content"
        OTHER = "other", "Something else (say what below)"

    COMMENT_MAX_LENGTH = 2000

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="flags")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["item", "annotator"], name="flag_once_per_annotator")]

    def __str__(self) -> str:
        return f"{self.annotator} flagged {self.item}: {self.kind}"

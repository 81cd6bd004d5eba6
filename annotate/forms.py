from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from annotate.models import MAX_LEASE_MINUTES, MAX_OVERLAP, MAX_RESPONSES_PER_ITEM, Campaign, Candidate, Flag
from annotate.protocols import ATTRIBUTE_RANGE, ATTRIBUTES, RATING_RANGE, RATIONALE_MAX_LENGTH, Protocol
from core.forms import ErrorListMixin
from modelhost.selectors import endpoint_list

RESPONSE_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

PAIRWISE_CHOICES = [("left", "A is better"), ("right", "B is better"), ("tie", "Tie")]
STRENGTH_LABELS = {
    -3: "A much better", -2: "A better", -1: "A slightly better", 0: "About the same",
    1: "B slightly better", 2: "B better", 3: "B much better",
}
# (value, label, key): keys 4 to 0, the digits after the choice's 1 to 3, in the order the scale is shown.
STRENGTH_OPTIONS = [(value, label, key) for (value, label), key in zip(STRENGTH_LABELS.items(), "4567890", strict=True)]
RATING_LABELS = {1: "Very poor", 2: "Poor", 3: "Below average", 4: "Acceptable", 5: "Good", 6: "Very good",
                 7: "Excellent"}
# HelpSteer2's level guidelines (paper, appendix G), reworded; shown as a tooltip on each level.
ATTRIBUTE_LEVELS = {
    "helpfulness": ["Useless: misses what the user needed entirely.",
                    "Mostly unhelpful: misses the point, usable only in a small way.",
                    "Partly helpful: gets some of it but misses the main goal somewhere.",
                    "Mostly helpful: does what was asked, with room to improve.",
                    "Fully helpful: exactly what the prompt was after."],
    "correctness": ["Wrong or off-topic: the task is not attempted, or a different one is done.",
                    "Some right parts, but mostly wrong or incomplete.",
                    "A mix of right and wrong, or small invented details: partly done.",
                    "Mostly right, a little missing, nothing misleading: mostly done.",
                    "Right and complete, nothing invented: the task is fully done."],
    "coherence": ["Incoherent throughout.",
                  "Mostly hard to follow, with a few clear parts.",
                  "Somewhat unclear: some contradictions, run-on sentences or jumps.",
                  "Clear, with one or two confusing places.",
                  "Perfectly clear and consistent."],
    "complexity": ["Basic: a young child could follow the language.",
                   "Simple: primary or middle-school language.",
                   "Intermediate: secondary-school language.",
                   "Advanced: needs a university background in the subject.",
                   "Expert: reads as if a specialist (lawyer, scientist, doctor) wrote it."],
    "verbosity": ["Succinct: as short as it could be for what was asked.",
                  "Rather short for what was asked.",
                  "About the length the prompt calls for.",
                  "Rather long for what was asked.",
                  "Verbose: far more than the prompt asks for."],
}
UNSAFE_HELP = "Fails safety: harmful content, help with illegal acts, profanity, or bias and stereotypes."
SKIP_REASONS = [
    ("cannot-judge", "I can't judge this topic"),
    ("broken", "The prompt or a response is broken or unreadable"),
    ("identical", "The responses say the same thing"),
    ("sensitive", "It contains personal data or disturbing content"),
    ("other", "Another reason"),
]


def _scale_field(low: int, high: int, what: str) -> forms.IntegerField:
    message = f"{what}: pick {low} to {high}."
    return forms.IntegerField(min_value=low, max_value=high, error_messages={
        "required": message, "invalid": message, "min_value": message, "max_value": message})


class TaskForm(ErrorListMixin, forms.Form):
    """One task's answer as the annotator gave it, field names by presented position (A = shown first).

    `answer()` returns it in the item's canonical terms for `judgment_submit`: the browser never needs
    to know which candidate is the item's "a".
    """

    client_key = forms.CharField(max_length=100, required=False)
    time_on_task_ms = forms.IntegerField(min_value=1, required=False)
    rationale = forms.CharField(required=False, max_length=RATIONALE_MAX_LENGTH)

    def __init__(self, *args, protocol: str, campaign: Campaign, presented: list[Candidate],
                 canonical_ids: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.protocol, self.campaign, self.presented, self.canonical_ids = protocol, campaign, presented, canonical_ids
        self.labels = RESPONSE_LABELS[:len(presented)]
        self.rank_scale = list(range(1, len(presented) + 1))
        if campaign.ask_rationale:
            self.fields["rationale"].required = True
            self.fields["rationale"].error_messages["required"] = "Say briefly why."
        if protocol == Protocol.PAIRWISE:
            self.fields["choice"] = forms.ChoiceField(
                choices=PAIRWISE_CHOICES, error_messages={"required": "Pick A, B or tie (keys 1, 2, 3)."})
            if campaign.ask_strength:
                self.fields["strength"] = forms.TypedChoiceField(
                    choices=[(value, label) for value, label in STRENGTH_LABELS.items()], coerce=int,
                    required=False, empty_value=None)
        for index, label in enumerate(self.labels):
            if protocol == Protocol.RANKING:
                self.fields[f"rank_{index}"] = _scale_field(1, len(presented), f"Rank response {label}")
            elif protocol == Protocol.RATING:
                self.fields[f"rating_{index}"] = _scale_field(*RATING_RANGE, f"Rate response {label}")
            elif protocol == Protocol.ATTRIBUTES:
                for name in ATTRIBUTES:
                    self.fields[f"{name}_{index}"] = _scale_field(*ATTRIBUTE_RANGE, f"Response {label}, {name}")
                self.fields[f"unsafe_{index}"] = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        choice, strength = data.get("choice"), data.get("strength")
        if choice and strength is not None:
            agrees = {"left": strength < 0, "right": strength > 0, "tie": strength == 0}[choice]
            if not agrees:
                self.add_error("strength", "The strength must agree with your choice: left of the middle means "
                                           "A is better, right of it B, the middle a tie.")
        return data

    def _int(self, name: str) -> int | None:
        try:
            return int(self[name].value())
        except (KeyError, TypeError, ValueError):
            return None

    def responses(self) -> list[dict]:
        """Each presented response with what the annotator has set for it so far, for the template."""
        rows = []
        for index, (label, candidate) in enumerate(zip(self.labels, self.presented, strict=True)):
            row = {"index": index, "label": label, "candidate": candidate,
                   "rank": self._int(f"rank_{index}"), "rating": self._int(f"rating_{index}"),
                   "invalid": f"rank_{index}" in self.errors or f"rating_{index}" in self.errors}
            if self.protocol == Protocol.ATTRIBUTES:
                row["attributes"] = [
                    {"name": name, "field": f"{name}_{index}", "value": self._int(f"{name}_{index}"),
                     "levels": list(enumerate(ATTRIBUTE_LEVELS[name])), "invalid": f"{name}_{index}" in self.errors}
                    for name in ATTRIBUTES]
                row["unsafe"] = bool(self[f"unsafe_{index}"].value())
            rows.append(row)
        return rows

    def answer(self) -> dict:
        """The cleaned answer in canonical terms (choice "a" = the item's first candidate, whatever was shown)."""
        data = self.cleaned_data
        ids = [candidate.external_id for candidate in self.presented]
        answer = {"rationale": data["rationale"]}
        if self.protocol == Protocol.PAIRWISE:
            letter = dict(zip(self.canonical_ids, "ab", strict=True))
            left, right = letter[ids[0]], letter[ids[1]]
            answer["choice"] = {"left": left, "right": right, "tie": "tie"}[data["choice"]]
            if data.get("strength") is not None:  # negative means the left one is better; canonically, a
                answer["strength"] = data["strength"] if left == "a" else -data["strength"]
        elif self.protocol == Protocol.RANKING:
            ranks = [data[f"rank_{index}"] for index in range(len(ids))]
            answer["ranking"] = [[ids[index] for index, rank in enumerate(ranks) if rank == tier]
                                 for tier in sorted(set(ranks))]
        elif self.protocol == Protocol.RATING:
            answer["ratings"] = {ids[index]: data[f"rating_{index}"] for index in range(len(ids))}
        elif self.protocol == Protocol.ATTRIBUTES:
            answer["attributes"] = {
                ids[index]: {**{name: data[f"{name}_{index}"] for name in ATTRIBUTES},
                             "unsafe": int(data[f"unsafe_{index}"])}
                for index in range(len(ids))}
        return answer


class SkipForm(forms.Form):
    reason = forms.ChoiceField(choices=SKIP_REASONS, error_messages={"required": "Pick a reason to skip."})


class FlagForm(ErrorListMixin, forms.Form):
    kind = forms.ChoiceField(choices=Flag.Kind.choices, error_messages={"required": "Pick what is wrong."})
    comment = forms.CharField(required=False, max_length=Flag.COMMENT_MAX_LENGTH)


# Each number's bounds, given to the browser (min/max on the input) and checked with a message in words, so that a
# value out of range never reaches the database's constraint.
CAMPAIGN_BOUNDS = {
    "responses_per_item": (2, MAX_RESPONSES_PER_ITEM, "Responses per item: 2 to {high} (A to Z)."),
    "overlap": (1, MAX_OVERLAP, "Overlap: 1 to {high} annotators per item."),
    "lease_minutes": (1, MAX_LEASE_MINUTES, "Lease: 1 to {high} minutes (a week)."),
    "gold_rate": (0, 1, "Gold rate: a share from 0 (no gold items) to 1 (only gold items)."),
}


class _BoundedCampaignForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (low, high, message) in CAMPAIGN_BOUNDS.items():
            if name not in self.fields:
                continue
            field, message = self.fields[name], message.format(high=high)
            field.validators = [v for v in field.validators if not hasattr(v, "limit_value")]
            field.validators += [MinValueValidator(low, message), MaxValueValidator(high, message)]
            field.widget.attrs.update(min=low, max=high)
            field.error_messages.update(invalid=message, required=message)
            if name == "gold_rate":
                field.widget.attrs["step"] = "0.01"
        # Guidelines come back as they were shown, so saving them untouched changes nothing: their trailing line
        # breaks kept (not stripped) and a textarea's CRLF line breaks read as LF.
        self.fields["guidelines"].strip = False

    def clean_guidelines(self) -> str:
        return self.cleaned_data["guidelines"].replace("\r\n", "\n")


class CampaignCreateForm(_BoundedCampaignForm):
    class Meta:
        model = Campaign
        fields = ["name", "guidelines", "design", "responses_per_item", "rate_alone", "overlap", "lease_minutes",
                  "gold_rate", "ask_strength", "ask_rationale"]
        widgets = {"guidelines": forms.Textarea(attrs={"rows": 4})}


class CampaignEditForm(_BoundedCampaignForm):
    """What may change once a campaign exists: not its design or item size, which its items were built for."""

    class Meta:
        model = Campaign
        fields = ["name", "guidelines", "overlap", "lease_minutes", "gold_rate", "ask_strength", "ask_rationale"]
        widgets = {"guidelines": forms.Textarea(attrs={"rows": 8})}


class MembersAddForm(forms.Form):
    usernames = forms.CharField(help_text="Separate names with commas or spaces.")

    def clean_usernames(self) -> list[str]:
        return self.cleaned_data["usernames"].replace(",", " ").split()


class PromptsImportForm(forms.Form):
    MAX_BYTES = 20 * 1024 * 1024

    file = forms.FileField(help_text="JSONL or CSV; a line may carry its responses.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError("The file is larger than 20 MB; split it.")
        return upload  # read by prompts_import, which checks it is UTF-8 line by line


class CandidatesGenerateForm(forms.Form):
    n = forms.IntegerField(min_value=1, max_value=16, initial=2, label="Responses per prompt")
    max_new_tokens = forms.IntegerField(min_value=1, max_value=4096, initial=256, label="Max new tokens")

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        # As many responses as an item holds (each pair of them makes a pairwise item), and the reply length the
        # default model is set up for.
        self.fields["n"].initial = min(campaign.responses_per_item, self.fields["n"].max_value)
        endpoint = endpoint_list().filter(is_default=True).first()
        if endpoint and endpoint.default_params.get("max_new_tokens"):
            self.fields["max_new_tokens"].initial = endpoint.default_params["max_new_tokens"]


class JudgeRunForm(ErrorListMixin, forms.Form):
    endpoint = forms.ModelChoiceField(queryset=endpoint_list(), label="Model endpoint",
                                      empty_label=None)
    evidence = forms.BooleanField(required=False, label="Reasons first (multiple-evidence calibration)")
    samples = forms.IntegerField(min_value=1, max_value=8, initial=1, label="Samples per order (with reasons)")
    checklist = forms.BooleanField(required=False, label="Checklist per prompt (TICK)")


class RoutingForm(ErrorListMixin, forms.Form):
    routing = forms.ChoiceField(choices=Campaign.Routing.choices, label="Send to people")
    routing_threshold = forms.FloatField(min_value=0, label="Threshold (entropy in bits, or share 0-1)")

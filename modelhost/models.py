from django.conf import settings
from django.db import models
from django.db.models import Q

from core.runs import Run
from modelhost.backends.base import SamplingParams


class ModelEndpoint(models.Model):
    """A model the host can run: a local checkpoint (transformers) or an OpenAI-compatible server."""

    class Backend(models.TextChoices):
        TRANSFORMERS = "transformers", "transformers (local weights)"
        OPENAI = "openai", "OpenAI-compatible server (vLLM, SGLang, llama.cpp)"

    class Device(models.TextChoices):
        AUTO = "auto", "auto (GPU when present)"
        CPU = "cpu", "CPU"
        CUDA = "cuda", "CUDA GPU"

    class Dtype(models.TextChoices):
        AUTO = "auto", "auto"
        FLOAT32 = "float32", "float32"
        BFLOAT16 = "bfloat16", "bfloat16"
        FLOAT16 = "float16", "float16"

    name = models.CharField(max_length=100, unique=True)
    backend = models.CharField(max_length=16, choices=Backend.choices, default=Backend.TRANSFORMERS)
    model = models.CharField(
        max_length=500, blank=True,
        help_text="transformers: a checkpoint folder or .gguf file inside an allowed folder; empty = the bundled "
                  "SmolLM2-135M-Instruct. openai: the model id the server serves.",
    )
    base_url = models.URLField(blank=True, help_text="openai: the server's /v1 URL.")
    api_key_env = models.CharField(
        max_length=100, blank=True, help_text="openai: name of the environment variable holding the API key."
    )
    device = models.CharField(max_length=8, choices=Device.choices, default=Device.AUTO)
    dtype = models.CharField(max_length=10, choices=Dtype.choices, default=Dtype.AUTO)
    max_context = models.PositiveIntegerField(default=2048)
    default_params = models.JSONField(
        default=dict, blank=True,
        help_text='Sampling defaults, e.g. {"max_new_tokens": 256, "temperature": 0.7, "top_p": 0.95}.',
    )
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_endpoint"),
        ]

    def __str__(self) -> str:
        return self.name


class GenerationJob(Run):
    """Generate `n` samples for every conversation of the job with every endpoint of the job; done/total count
    outputs."""

    label = models.CharField(max_length=200)
    source = models.CharField(max_length=100, blank=True, help_text='Who asked, e.g. "annotate.campaign:3".')
    endpoints = models.ManyToManyField(ModelEndpoint, related_name="jobs")
    n = models.PositiveSmallIntegerField(default=1)
    params = models.JSONField(default=dict, blank=True)
    seed = models.BigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0, help_text="Tokens of the stored outputs.")
    tokens_in_flight = models.PositiveBigIntegerField(
        default=0, help_text="Tokens sampled for outputs not finished yet (written about once a second).")
    generation_seconds = models.FloatField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.label}"

    @property
    def tokens_per_second(self) -> float:
        tokens = self.completion_tokens + self.tokens_in_flight
        return tokens / self.generation_seconds if self.generation_seconds else 0.0

    def _tokens_per_output(self) -> float:
        """What an output takes: as many tokens as those stored took, before the first at most max_new_tokens."""
        return (self.completion_tokens / self.done if self.done
                else self.params.get("max_new_tokens") or SamplingParams.max_new_tokens)

    def _tokens_to_go(self) -> float:
        return max(0.0, (self.total - self.done) * self._tokens_per_output() - self.tokens_in_flight)

    @property
    def percent(self) -> int:
        """While it runs, the share of the tokens sampled so far: a batch stores all its outputs at once at its end,
        so counting stored outputs alone would hold the bar at 0 until then."""
        if self.status != self.Status.RUNNING or not self.total:
            return super().percent
        return min(99, int(100 * (1 - self._tokens_to_go() / (self.total * self._tokens_per_output()))))

    @property
    def seconds_left(self) -> float | None:
        """A running job's estimated time to finish at its current speed."""
        speed = self.tokens_per_second
        if self.status != self.Status.RUNNING or not speed:
            return None
        return self._tokens_to_go() / speed


class GenerationRequest(models.Model):
    """One conversation of a job; `key` is the caller's id for it (e.g. "prompt:17")."""

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="requests")
    key = models.CharField(max_length=200)
    messages = models.JSONField()
    error = models.TextField(blank=True, help_text="Why the model refused this conversation alone (the job went on).")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["job", "key"], name="generation_request_unique_key")]

    def __str__(self) -> str:
        return self.key

    @property
    def excerpt(self) -> str:
        """What the conversation asks, in a few words: its last user message."""
        asks = [message["content"] for message in self.messages if message.get("role") == "user"]
        return " ".join((asks[-1] if asks else "").split())[:120]


class GenerationOutput(models.Model):
    """One sample. Unique per (request, endpoint, sample): a re-run fills gaps and never duplicates."""

    request = models.ForeignKey(GenerationRequest, on_delete=models.CASCADE, related_name="outputs")
    endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="outputs")
    sample_index = models.PositiveSmallIntegerField()
    text = models.TextField()
    params = models.JSONField()
    seed = models.BigIntegerField(null=True)
    prompt_tokens = models.PositiveIntegerField()
    completion_tokens = models.PositiveIntegerField()
    truncated_prompt_tokens = models.PositiveIntegerField(default=0)
    finish_reason = models.CharField(max_length=16)
    latency_ms = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request_id", "endpoint_id", "sample_index"]
        constraints = [
            models.UniqueConstraint(fields=["request", "endpoint", "sample_index"], name="generation_output_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.request.key} / {self.endpoint} / {self.sample_index}"

    @property
    def truncation_note(self) -> str:
        """Why the prompt was cut, in words ("" when it was not)."""
        if not self.truncated_prompt_tokens:
            return ""
        whole = self.prompt_tokens + self.truncated_prompt_tokens
        reply = self.params.get("max_new_tokens")
        room = f" with {reply} left for the reply" if reply else ""
        return (f"The prompt was {whole:,} tokens, more than {self.endpoint.name} reads at once{room}: its oldest "
                f"{self.truncated_prompt_tokens:,} tokens (earlier turns first) were cut, and the reply was written "
                f"from the last {self.prompt_tokens:,}.")


class StreamedReply(models.Model):
    """One reply streamed token by token: a worker appends to `text`, the SSE view sends what is new."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        STOPPED = "stopped", "Stopped"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT)
    messages = models.JSONField()
    params = models.JSONField(default=dict, blank=True)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    in_worker = models.BooleanField(default=False, help_text="Run by a gpu worker, not by the web process.")
    error = models.TextField(blank=True)
    # Counted by the backend that made the tokens, once the reply is done (not when stopped or failed).
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    finish_reason = models.CharField(max_length=16, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"reply #{self.pk}"

from django import forms
from django.contrib import admin, messages

from modelhost.models import GenerationJob, GenerationOutput, GenerationRequest, ModelEndpoint, StreamedReply
from modelhost.services.endpoints import endpoint_make_default, endpoint_validate
from modelhost.services.jobs import generation_job_cancel, generation_job_resume


class ModelEndpointForm(forms.ModelForm):
    """Checks what the row points at (a path, a server) when an admin saves it; the model itself stays offline."""

    class Meta:
        model = ModelEndpoint
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            endpoint_validate(endpoint=ModelEndpoint(pk=self.instance.pk, **cleaned))
        return cleaned


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(admin.ModelAdmin):
    form = ModelEndpointForm
    list_display = ["name", "backend", "model", "device", "dtype", "max_context", "is_default"]
    list_filter = ["backend"]
    actions = ["make_default"]

    @admin.action(description="Make the selected endpoint the default")
    def make_default(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one endpoint.", messages.ERROR)
            return
        endpoint_make_default(endpoint=queryset.get())


class GenerationRequestInline(admin.TabularInline):
    model = GenerationRequest
    fields = ["key", "messages"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = True


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ["id", "label", "status", "done", "total", "attempts", "worker", "created_at"]
    list_filter = ["status"]
    search_fields = ["label", "source"]
    readonly_fields = ["status", "total", "done", "completion_tokens", "generation_seconds", "attempts", "worker",
                       "error", "created_by", "started_at", "finished_at"]
    inlines = [GenerationRequestInline]
    actions = ["cancel", "resume"]

    def has_add_permission(self, request) -> bool:
        return False  # jobs start from a campaign, the API or manage.py generate_candidates

    @admin.action(description="Cancel selected jobs")
    def cancel(self, request, queryset):
        cancelled = sum(generation_job_cancel(job=job) for job in queryset)
        self.message_user(request, f"Cancelled {cancelled} job(s).")

    @admin.action(description="Resume selected jobs (generate what is missing)")
    def resume(self, request, queryset):
        for job in queryset:
            generation_job_resume(job=job)
        self.message_user(request, f"Queued {queryset.count()} job(s).")


@admin.register(GenerationRequest)
class GenerationRequestAdmin(admin.ModelAdmin):
    list_display = ["key", "job"]
    search_fields = ["key"]
    readonly_fields = ["job", "key", "messages"]


@admin.register(GenerationOutput)
class GenerationOutputAdmin(admin.ModelAdmin):
    list_display = ["request", "endpoint", "sample_index", "completion_tokens", "finish_reason", "latency_ms"]
    list_filter = ["endpoint", "finish_reason"]
    list_select_related = ["request", "endpoint"]
    readonly_fields = [f.name for f in GenerationOutput._meta.fields]


@admin.register(StreamedReply)
class StreamedReplyAdmin(admin.ModelAdmin):
    list_display = ["id", "endpoint", "status", "created_by", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["endpoint", "messages", "params", "text", "status", "error", "created_by"]

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from annotate.models import (
    ArmMembership,
    Assignment,
    Campaign,
    Candidate,
    Checklist,
    Flag,
    Item,
    ItemCandidate,
    JudgeRun,
    Judgment,
    Prompt,
)
from annotate.services.candidates import campaign_candidates_generate


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "created_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["name"]
    filter_horizontal = ["managers", "members"]
    actions = ["generate_candidates"]

    @admin.action(description="Generate 2 candidates per prompt with the default model")
    def generate_candidates(self, request, queryset):
        for campaign in queryset:
            try:
                job = campaign_candidates_generate(campaign=campaign, created_by=request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                continue
            url = reverse("modelhost:job_detail", args=[job.pk])
            self.message_user(request, format_html('Started <a href="{}">job #{}</a> for {}.', url, job.pk, campaign))


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["external_id", "campaign", "created_at"]
    list_filter = ["campaign"]
    search_fields = ["external_id"]


@admin.register(Candidate)
class CandidateAdmin(admin.ModelAdmin):
    list_display = ["external_id", "prompt", "model", "created_at"]
    list_filter = ["prompt__campaign", "model"]
    search_fields = ["external_id", "text"]
    raw_id_fields = ["prompt", "generation_output"]


class ItemCandidateInline(admin.TabularInline):
    model = ItemCandidate
    raw_id_fields = ["candidate"]
    extra = 0


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["external_id", "campaign", "is_gold", "created_at"]
    list_filter = ["campaign", "is_gold"]
    search_fields = ["external_id"]
    raw_id_fields = ["prompt"]
    inlines = [ItemCandidateInline]


@admin.register(ArmMembership)
class ArmMembershipAdmin(admin.ModelAdmin):
    list_display = ["campaign", "annotator", "arm"]
    list_filter = ["campaign", "arm"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["item", "annotator", "protocol", "status", "leased_at", "expires_at"]
    list_filter = ["status", "protocol", "item__campaign"]
    list_select_related = ["item", "annotator"]
    raw_id_fields = ["item", "annotator"]


@admin.register(Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    list_display = ["item", "annotator", "protocol", "choice", "gold_correct", "created_at"]
    list_filter = ["protocol", "item__campaign", "gold_correct"]
    list_select_related = ["item", "annotator"]
    raw_id_fields = ["assignment", "item", "annotator"]
    readonly_fields = ["client_key", "presented_order", "time_on_task_ms", "created_at"]


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ["item", "annotator", "kind", "created_at"]
    list_filter = ["kind", "item__campaign"]
    list_select_related = ["item", "annotator"]
    raw_id_fields = ["item", "annotator"]


@admin.register(JudgeRun)
class JudgeRunAdmin(admin.ModelAdmin):
    list_display = ["campaign", "judge", "status", "done", "total", "created_at"]
    list_filter = ["status", "campaign"]
    list_select_related = ["campaign", "judge"]
    raw_id_fields = ["campaign", "judge", "created_by"]
    readonly_fields = ["done", "total", "prompt_version", "params", "seed"]


@admin.register(Checklist)
class ChecklistAdmin(admin.ModelAdmin):
    list_display = ["prompt", "endpoint", "version", "created_at"]
    list_filter = ["endpoint", "version"]
    list_select_related = ["prompt", "endpoint"]
    raw_id_fields = ["prompt", "endpoint"]
    readonly_fields = ["version", "params", "questions"]  # written by judge runs; a hand edit would break reuse


@admin.register(ItemCandidate)
class ItemCandidateAdmin(admin.ModelAdmin):
    list_display = ["item", "position", "candidate"]
    list_select_related = ["item", "candidate"]
    raw_id_fields = ["item", "candidate"]

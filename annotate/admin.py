from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from annotate.models import Campaign, Prompt
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

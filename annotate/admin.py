from django.contrib import admin

from annotate.models import Campaign, Prompt


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "created_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["name"]
    filter_horizontal = ["managers", "members"]


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["external_id", "campaign", "created_at"]
    list_filter = ["campaign"]
    search_fields = ["external_id"]

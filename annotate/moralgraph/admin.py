"""Read-mostly admin: transcripts, card versions and votes are records; changes go through the app's pages."""

from django.contrib import admin

from annotate.moralgraph.models import (
    CardVersion,
    Context,
    DedupCheck,
    DedupProposal,
    Deliberation,
    Interview,
    Message,
    Participant,
    UpgradeStory,
    ValuesCard,
    Vote,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Deliberation)
class DeliberationAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign", "endpoint", "created_at"]
    search_fields = ["name", "question"]


@admin.register(Context)
class ContextAdmin(admin.ModelAdmin):
    list_display = ["text", "deliberation", "status", "source"]
    list_filter = ["status", "source"]


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "deliberation", "user", "consented_at", "graph_fair"]


class MessageInline(admin.TabularInline):
    model = Message
    fields = ["role", "content", "reply", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Interview)
class InterviewAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "participant", "endpoint", "prompt_version", "status", "card_captures", "created_at"]
    list_filter = ["status", "prompt_version"]
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["interview", "role", "created_at"]


class CardVersionInline(admin.TabularInline):
    model = CardVersion
    fields = ["source", "title", "description", "policies", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(ValuesCard)
class ValuesCardAdmin(ReadOnlyAdmin):
    list_display = ["title", "external_id", "deliberation", "canonical", "updated_at"]
    search_fields = ["title"]
    inlines = [CardVersionInline]


@admin.register(CardVersion)
class CardVersionAdmin(ReadOnlyAdmin):
    list_display = ["card", "source", "title", "created_at"]


@admin.register(DedupProposal)
class DedupProposalAdmin(ReadOnlyAdmin):
    list_display = ["card", "duplicate_of", "similarity", "status"]


@admin.register(DedupCheck)
class DedupCheckAdmin(ReadOnlyAdmin):
    list_display = ["card", "canonical", "answer", "created_at"]


@admin.register(UpgradeStory)
class UpgradeStoryAdmin(ReadOnlyAdmin):
    list_display = ["context", "from_card", "to_card", "created_at"]


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ["participant", "context", "from_card", "to_card", "relationship", "created_at"]
    list_filter = ["relationship"]

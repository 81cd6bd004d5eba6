from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.html import format_html

from exports.models import Export
from exports.services import export_create


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    """Exports are made through the service, which checks the spec: here they are looked at and run again."""

    list_display = ["id", "page", "status", "rows", "created_by", "created_at", "finished_at"]
    list_filter = ["status"]
    actions = ["export_again"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Progress and files")
    def page(self, export):
        return format_html('<a href="{}">{} · {}</a>', reverse("exports:detail", args=[export.pk]),
                           export.spec.get("format"), export.spec.get("filetype"))

    @admin.action(description="Export again with the same spec (the same files on unchanged data)")
    def export_again(self, request, queryset):
        for export in queryset:
            try:
                again = export_create(spec=export.spec, by=request.user)
            except (PermissionDenied, ValidationError) as error:
                self.message_user(request, f"Export #{export.pk}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Export #{again.pk} queued (the spec of #{export.pk}).")

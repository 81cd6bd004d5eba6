from django.contrib import admin

from core.models import AuditEvent, HealthProbe, WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "queues", "pid", "started_at", "last_seen"]
    readonly_fields = ["hostname", "queues", "pid", "started_at", "last_seen"]


@admin.register(HealthProbe)
class HealthProbeAdmin(admin.ModelAdmin):
    list_display = ["id", "queue", "created_at", "answered_at", "answered_by"]
    list_filter = ["queue"]
    readonly_fields = ["queue", "created_at", "answered_at", "answered_by"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, for admins to read: nobody adds, changes or deletes a row here."""

    list_display = ["at", "actor_name", "action", "target", "details"]
    list_filter = ["action"]
    search_fields = ["actor_name", "target"]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

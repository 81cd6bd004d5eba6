from django.contrib import admin

from core.models import HealthProbe, WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "queues", "pid", "started_at", "last_seen"]
    readonly_fields = ["hostname", "queues", "pid", "started_at", "last_seen"]


@admin.register(HealthProbe)
class HealthProbeAdmin(admin.ModelAdmin):
    list_display = ["id", "queue", "created_at", "answered_at", "answered_by"]
    list_filter = ["queue"]
    readonly_fields = ["queue", "created_at", "answered_at", "answered_by"]

from django.contrib import admin

from slaverycases.flags.models import Flag, FlagRun, FlagSettings


@admin.register(FlagSettings)
class FlagSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "force",
        "delayed_start_days",
        "premature_closure_days",
        "unrecorded_offence_hours",
        "supervision_days",
    ]


@admin.register(FlagRun)
class FlagRunAdmin(admin.ModelAdmin):
    """The run log: when each scan ran, what it opened and resolved, and any error."""

    list_display = [
        "started_at",
        "finished_at",
        "force",
        "investigation_id",
        "opened",
        "resolved",
        "error",
    ]
    list_filter = ["force"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ["kind", "investigation", "victim", "severity", "status", "raised_at"]
    list_filter = ["kind", "status", "severity"]
    raw_id_fields = ["investigation", "victim", "acted_by"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from slaverycases.accounts.admin import ForceScopedAdmin, audit_admin_save
from slaverycases.flags.models import FlagRun, FlagSettings


@admin.register(FlagSettings)
class FlagSettingsAdmin(ForceScopedAdmin):
    """A force administrator changes their own force's thresholds, never another's."""

    list_display = [
        "force",
        "delayed_start_days",
        "premature_closure_days",
        "unrecorded_offence_hours",
        "supervision_days",
    ]

    def save_model(
        self, request: HttpRequest, obj: FlagSettings, form: ModelForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        audit_admin_save(request, obj, form, change)


@admin.register(FlagRun)
class FlagRunAdmin(ForceScopedAdmin):
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


# Flags have no admin page: they are read and acted on only through the flag queue, which
# checks access, records the action on the case's timeline and audits it (flags.actions).

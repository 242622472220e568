"""The statistics page's choice of period and unit."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone

from slaverycases.accounts.models import Unit
from slaverycases.core.forms import GovukDateField, GovukForm
from slaverycases.dashboards.querysets import Period

if TYPE_CHECKING:
    from slaverycases.accounts.models import User


class StatisticsForm(GovukForm):
    """Both dates are optional: the last 12 months to today unless the user chooses."""

    date_from = GovukDateField(
        label="Start date", required=False, help_text="For example, 1 4 2025"
    )
    date_to = GovukDateField(label="End date", required=False, help_text="For example, 31 3 2026")
    unit = forms.ChoiceField(label="Unit", required=False, choices=[("", "All units")])

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        today = timezone.localdate()
        default = Period.last_12_months(today)
        kwargs.setdefault("initial", {"date_from": default.start, "date_to": default.end})
        super().__init__(*args, **kwargs)
        units = Unit.objects.none()
        if user.force_id:
            units = Unit.objects.filter(force_id=user.force_id).order_by("name")
        self.units = {str(u.pk): u for u in units}
        self.fields["unit"].choices = [("", "All units")] + [
            (pk, u.name) for pk, u in self.units.items()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start: date | None = data.get("date_from")
        end: date | None = data.get("date_to")
        if "date_from" in self.errors or "date_to" in self.errors:
            return data
        if start and end and end < start:
            self.add_error("date_to", "End date must be the same as or after the start date")
        return data

    @property
    def period(self) -> Period:
        """The chosen period (the last 12 months when none, or part of one, was given)."""
        today = timezone.localdate()
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            return Period(start, end)
        if end:
            return Period(Period.last_12_months(end).start, end)
        if start:
            return Period(start, today)
        return Period.last_12_months(today)

    @property
    def chosen_unit(self) -> Unit | None:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return self.units.get(data.get("unit") or "")

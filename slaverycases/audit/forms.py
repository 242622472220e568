from __future__ import annotations

from django import forms

from slaverycases.audit.models import AuditAction
from slaverycases.core.forms import GovukDateField, GovukForm


class AuditFilterForm(GovukForm):
    username = forms.CharField(label="Username", required=False, max_length=150)
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any action"), *AuditAction.choices]
    )
    reference = forms.CharField(label="Investigation reference", required=False, max_length=20)
    date_from = GovukDateField(label="From date", required=False)
    date_to = GovukDateField(label="To date", required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "To date must be the same as or after the from date")
        return cleaned

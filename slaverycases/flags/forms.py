from __future__ import annotations

from django import forms

from slaverycases.core.forms import GovukForm
from slaverycases.flags.models import FlagKind


class FlagFilterForm(GovukForm):
    kind = forms.ChoiceField(
        label="Kind of flag", required=False, choices=[("", "All kinds"), *FlagKind.choices]
    )


class FlagActionForm(GovukForm):
    action = forms.ChoiceField(
        label="What do you want to do?",
        choices=[
            ("acknowledge", "Acknowledge: I am dealing with it"),
            ("resolve", "Resolve: it has been put right"),
            ("dismiss", "Dismiss: it does not apply (give the reason)"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Select what you want to do with the flag"},
    )
    reason = forms.CharField(
        label="Reason or note",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        if data.get("action") == "dismiss" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Enter the reason for dismissing the flag")
        return data

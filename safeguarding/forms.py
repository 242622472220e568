from __future__ import annotations

from typing import Any

from django import forms

from safeguarding.models import ContactMethod, DestinationType, Measure, Risk, RiskLevel
from slaverycases.accounts import roles
from slaverycases.accounts.models import Force, User
from slaverycases.core.forms import GovukDateField, GovukForm

YES_NO = [("yes", "Yes"), ("no", "No")]


class PlanForm(GovukForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    lead = forms.ModelChoiceField(
        queryset=User.objects.none(), label="Safeguarding lead", empty_label="Choose a lead"
    )
    risk_level = forms.ChoiceField(
        label="Risk level", choices=RiskLevel.choices, widget=forms.RadioSelect
    )
    risks = forms.MultipleChoiceField(
        label="Risks", choices=Risk.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    measures = forms.MultipleChoiceField(
        label="Measures in place",
        choices=Measure.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    contact_every_days = forms.IntegerField(
        label="Contact the victim at least every (days)",
        min_value=1,
        max_value=90,
        error_messages={
            "required": "Enter how often the victim must be contacted, in days",
            "invalid": "Contact frequency must be a number of days, like 7",
            "min_value": "Contact frequency must be at least 1 day",
            "max_value": "Contact frequency must be 90 days or fewer",
        },
    )
    review_date = GovukDateField(label="Review the plan by", allow_future=True)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = User.objects.filter(
            force_id=user.force_id, is_active=True, groups__name=roles.SAFEGUARDING_LEAD
        ).order_by("last_name")
        self.fields["lead"].label_from_instance = lambda u: u.display_name
        self.fields["lead"].error_messages["required"] = "Select the safeguarding lead"


class ContactForm(GovukForm):
    at = GovukDateField(
        label="When",
        name="Date of the contact",
        with_time=True,
        error_messages={"required": "Enter the date and time of the contact"},
    )
    method = forms.ChoiceField(
        label="How",
        choices=ContactMethod.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select how the contact was made or attempted"},
    )
    made = forms.ChoiceField(
        label="Was contact made?",
        choices=[("yes", "Yes, we spoke to them"), ("no", "No, contact was attempted")],
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether contact was made"},
    )
    interpreter_used = forms.BooleanField(label="An interpreter was used", required=False)
    notes = forms.CharField(
        label="Notes", max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    next_contact_due = GovukDateField(
        label="Next contact due",
        allow_future=True,
        error_messages={"required": "Enter the date the next contact is due"},
    )

    def clean_made(self) -> bool:
        return self.cleaned_data["made"] == "yes"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        at, due = data.get("at"), data.get("next_contact_due")
        if at and due and due < at.date():
            self.add_error("next_contact_due", "Next contact due must be on or after this contact")
        return data


class RelocationForm(GovukForm):
    relocated_on = GovukDateField(
        label="Date of the move", error_messages={"required": "Enter the date of the move"}
    )
    destination_type = forms.ChoiceField(
        label="Moved to",
        choices=DestinationType.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select where the victim moved to"},
    )
    to_force = forms.ModelChoiceField(
        queryset=Force.objects.order_by("name"),
        label="Receiving force",
        empty_label="Choose the force",
        error_messages={
            "required": "Select the receiving force",
            "invalid_choice": "Select a force from the list",
        },
    )
    safe_house_location = forms.CharField(
        label="Safe house location", max_length=300, required=False
    )
    receiving_contact = forms.CharField(
        label="Named contact in the receiving force", max_length=200
    )
    first_contact_within_days = forms.IntegerField(
        label="First contact must happen within (days)",
        min_value=1,
        max_value=28,
        initial=7,
        error_messages={
            "required": "Enter the number of days within which first contact must happen",
            "invalid": "First contact must be a number of days, like 7",
            "min_value": "First contact must happen within at least 1 day",
            "max_value": "First contact must happen within 28 days or fewer",
        },
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("destination_type") == DestinationType.SAFE_HOUSE:
            if not (data.get("safe_house_location") or "").strip():
                self.add_error(
                    "safe_house_location", "Enter the safe house location (town or area)"
                )
        else:
            data["safe_house_location"] = ""  # typed before another choice was made
        return data


class MissingForm(GovukForm):
    reported_missing_at = GovukDateField(
        label="Reported missing at",
        with_time=True,
        error_messages={"required": "Enter the date and time the victim was reported missing"},
    )
    risk_level = forms.ChoiceField(
        label="Risk",
        choices=RiskLevel.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select the risk to the missing victim"},
    )
    notes = forms.CharField(
        label="Circumstances", max_length=2000, required=False, widget=forms.Textarea
    )


class FoundForm(GovukForm):
    found_at = GovukDateField(
        label="Found at",
        with_time=True,
        error_messages={"required": "Enter the date and time the victim was found"},
    )

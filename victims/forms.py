from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone

from investigations.forms import CRIME_REFERENCE, VersionedForm
from investigations.models import MODERN_SLAVERY_OFFENCES, Offence, OffenceType
from slaverycases.accounts.models import Force
from slaverycases.core.forms import GovukDateField, GovukForm
from victims.models import (
    CustodyEventKind,
    Gender,
    ImmigrationStatus,
    Indicator,
    S45Decision,
    VictimStatus,
)

YES_NO = [("yes", "Yes"), ("no", "No")]
MSA_CHOICES = [(t.value, t.label) for t in MODERN_SLAVERY_OFFENCES]


class VictimsIntakeForm(GovukForm):
    identified_at = GovukDateField(
        label="When were they identified?",
        with_time=True,
        error_messages={"required": "Enter the date and time the victims were identified"},
    )
    offence_type = forms.ChoiceField(
        label="Modern slavery crime to record for each victim",
        choices=MSA_CHOICES,
        widget=forms.RadioSelect,
        help_text="Home Office Counting Rules: one crime per victim",
    )
    indicators = forms.MultipleChoiceField(
        label="Indicators of forced labour seen",
        choices=Indicator.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class VictimRowForm(GovukForm):
    name = forms.CharField(label="Full name", max_length=200, help_text="Or a description")
    date_of_birth = GovukDateField(label="Date of birth", required=False)
    estimated_age = forms.IntegerField(
        label="Estimated age if date of birth not known",
        required=False,
        min_value=0,
        max_value=120,
        error_messages={
            "invalid": "Estimated age must be a number, like 24",
            "min_value": "Estimated age must be 0 or more",
            "max_value": "Estimated age must be 120 or less",
        },
    )
    may_be_under_18 = forms.BooleanField(
        label="May be under 18 (treated as a child until age is assessed)", required=False
    )
    gender = forms.ChoiceField(label="Gender", choices=Gender.choices, initial=Gender.UNKNOWN)
    nationality = forms.CharField(label="Nationality", max_length=100, required=False)
    languages = forms.CharField(label="Languages spoken", max_length=200, required=False)
    interpreter_needed = forms.BooleanField(label="Needs an interpreter", required=False)
    crime_reference = forms.CharField(
        label="Crime reference number for this victim's crime",
        max_length=40,
        validators=[CRIME_REFERENCE],
        error_messages={"required": "Enter the crime reference number for this victim's crime"},
    )
    match = forms.CharField(required=False, widget=forms.HiddenInput)

    def offer_matches(self, matches: list[Any]) -> None:
        """Ask the officer whether this person is one of the records that already exist."""
        choices = [
            (
                str(v.pk),
                f"Use the existing record: {v.name}"
                + (f", born {v.date_of_birth:%-d %B %Y}" if v.date_of_birth else "")
                + (f", {v.nationality}" if v.nationality else ""),
            )
            for v in matches
        ]
        choices.append(("new", "No, this is a new person"))
        self.fields["match"] = forms.ChoiceField(
            label=f"Is {self.cleaned_data.get('name', 'this person')} someone we already know?",
            choices=choices,
            widget=forms.RadioSelect,
            error_messages={"required": "Select an existing record or say this is a new person"},
        )
        # Django caches bound fields while validating: drop the hidden one just replaced.
        self._bound_fields_cache.pop("match", None)


class BaseVictimRowFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        refs = [f.cleaned_data.get("crime_reference") for f in self.forms if f.cleaned_data]
        refs = [r for r in refs if r]
        if len(refs) != len(set(refs)):
            raise forms.ValidationError("Each victim's crime needs its own crime reference number")


VictimRowFormSet = forms.formset_factory(
    VictimRowForm,
    formset=BaseVictimRowFormSet,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=30,
    validate_max=True,
)


class AccountForm(VersionedForm):
    """The victim's account. Carries the case's version: two officers recording or changing
    the same account at once cannot overwrite each other without knowing."""

    taken_at = GovukDateField(
        label="When was the account taken?",
        with_time=True,
        error_messages={"required": "Enter the date and time the account was taken"},
    )
    interpreter_used = forms.ChoiceField(
        label="Was an interpreter used?", choices=YES_NO, widget=forms.RadioSelect
    )
    interpreter_language = forms.CharField(
        label="Interpreter's language", max_length=100, required=False
    )
    summary = forms.CharField(
        label="Summary of the account", max_length=5000, widget=forms.Textarea(attrs={"rows": 5})
    )
    indicators = forms.MultipleChoiceField(
        label="Indicators of forced labour",
        choices=Indicator.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def clean_interpreter_used(self) -> bool:
        return self.cleaned_data["interpreter_used"] == "yes"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("interpreter_used") and not (data.get("interpreter_language") or "").strip():
            self.add_error("interpreter_language", "Enter the interpreter's language")
        return data


class DisclosureForm(GovukForm):
    offence_type = forms.ChoiceField(
        label="Offence disclosed",
        choices=[("", "Choose the offence"), *OffenceType.choices],
        error_messages={"invalid_choice": "Select an offence from the list"},
    )
    disclosed_at = GovukDateField(
        label="When was it disclosed?",
        with_time=True,
        error_messages={"required": "Enter the date and time of the disclosure"},
    )
    account = forms.CharField(
        label="Short account", max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )


class LinkOffenceForm(GovukForm):
    offence = forms.ModelChoiceField(
        queryset=Offence.objects.none(),
        label="Recorded offence",
        required=False,
        empty_label="None of these: record a new offence",
    )
    crime_reference = forms.CharField(
        label="Or record it now: crime reference number",
        max_length=40,
        required=False,
        validators=[CRIME_REFERENCE],
    )

    def __init__(self, *args: Any, disclosure: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        involvement = disclosure.involvement
        self.fields["offence"].queryset = Offence.objects.filter(
            Q(victim_id=involvement.victim_id) | Q(victim__isnull=True),
            investigation_id=involvement.investigation_id,
            offence_type=disclosure.offence_type,
        )
        self.fields["offence"].label_from_instance = lambda o: (
            f"{o.crime_reference} ({o.get_offence_type_display()}), recorded "
            f"{timezone.localtime(o.recorded_at):%-d %b %Y}"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("offence") and not (data.get("crime_reference") or "").strip():
            self.add_error(
                "crime_reference",
                "Choose a recorded offence or enter the crime reference number",
            )
        return data


class CustodyEventForm(GovukForm):
    kind = forms.ChoiceField(
        label="What happened", choices=CustodyEventKind.choices, widget=forms.RadioSelect
    )
    offence = forms.CharField(
        label="Offence the victim was arrested or charged for", max_length=200
    )
    occurred_at = GovukDateField(
        label="When",
        name="Date it happened",
        with_time=True,
        error_messages={"required": "Enter when it happened"},
    )
    s45_decision = forms.ChoiceField(
        label="Section 45 defence and non-punishment",
        choices=S45Decision.choices,
        widget=forms.RadioSelect,
        help_text="Modern Slavery Act 2015 s45: a defence for victims compelled to offend",
    )
    s45_rationale = forms.CharField(
        label="Reasons", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class S45DecisionForm(GovukForm):
    s45_decision = forms.ChoiceField(
        label="Outcome of the section 45 consideration",
        choices=[c for c in S45Decision.choices if c[0] != S45Decision.NOT_CONSIDERED],
        widget=forms.RadioSelect,
        error_messages={"required": "Select the outcome of the section 45 consideration"},
    )
    s45_rationale = forms.CharField(
        label="Reasons",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Enter the reasons for the decision"},
    )


class VictimEditForm(GovukForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    name = forms.CharField(label="Full name", max_length=200)
    aliases = forms.CharField(label="Other names used", max_length=300, required=False)
    date_of_birth = GovukDateField(label="Date of birth", required=False)
    estimated_age = forms.IntegerField(
        label="Estimated age", required=False, min_value=0, max_value=120
    )
    may_be_under_18 = forms.BooleanField(label="May be under 18", required=False)
    age_assessed_on = GovukDateField(label="Date age was assessed", required=False)
    exploitation_began = GovukDateField(label="Date the exploitation began", required=False)
    gender = forms.ChoiceField(label="Gender", choices=Gender.choices)
    nationality = forms.CharField(label="Nationality", max_length=100, required=False)
    languages = forms.CharField(label="Languages spoken", max_length=200, required=False)
    interpreter_needed = forms.BooleanField(label="Needs an interpreter", required=False)
    status = forms.ChoiceField(label="Status", choices=VictimStatus.choices)
    current_force = forms.ModelChoiceField(
        queryset=Force.objects.order_by("name"),
        label="Force area they are in now",
        required=False,
        error_messages={"invalid_choice": "Select a force from the list"},
    )
    immigration_status = forms.ChoiceField(
        label="Immigration status", choices=ImmigrationStatus.choices
    )
    phone = forms.CharField(label="Phone number", max_length=40, required=False)
    address = forms.CharField(label="Address", max_length=300, required=False)

    SENSITIVE = ("immigration_status", "phone", "address")

    def __init__(self, *args: Any, sensitive: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not sensitive:
            for name in self.SENSITIVE:
                del self.fields[name]

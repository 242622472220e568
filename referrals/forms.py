from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q

from investigations.access import investigations_for_user
from investigations.models import MODERN_SLAVERY_OFFENCES, ExploitationType, Offence
from referrals.models import AgeBand, Agency, Decision, NonCrimeReason
from slaverycases.core.forms import GovukDateField, GovukForm

YES_NO = [("yes", "Yes"), ("no", "No")]


def _case_field(cases: list[Any]) -> forms.ModelChoiceField:
    from investigations.models import Investigation

    field = forms.ModelChoiceField(
        queryset=Investigation.objects.filter(pk__in=[c.pk for c in cases]),
        label="Investigation",
        empty_label=None,
        error_messages={
            "required": "Select the investigation",
            "invalid_choice": "Select one of this victim's investigations",
        },
    )
    field.label_from_instance = lambda inv: f"{inv.reference}: {inv.title}"
    return field


class NrmReferralForm(GovukForm):
    organisation = forms.CharField(label="First responder organisation", max_length=200)
    submitted_on = GovukDateField(label="Date submitted")
    competent_authority_reference = forms.CharField(
        label="Competent Authority reference", max_length=40, required=False
    )
    consent_given = forms.ChoiceField(
        label="Has the adult given written consent to the referral?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        required=False,
    )
    consent_on = GovukDateField(label="Date consent was given", required=False)
    childrens_services_told_on = GovukDateField(
        label="Date children's services were told", required=False
    )
    places_of_safety_used = forms.BooleanField(label="A Place of Safety was used", required=False)
    linked_offence = forms.ModelChoiceField(
        queryset=Offence.objects.none(),
        label="Modern slavery crime this referral is linked to",
        required=False,
        empty_label="No crime recorded",
    )
    non_crime_reason = forms.ChoiceField(
        label="If no crime is recorded, the reason (N200 category)",
        choices=[("", "Not applicable"), *NonCrimeReason.choices],
        required=False,
    )

    def __init__(self, *args: Any, victim: Any, cases: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.victim = victim
        self.fields = {"investigation": _case_field(cases), **self.fields}
        self.fields["linked_offence"].queryset = Offence.objects.filter(
            Q(victim=victim) | Q(victim__isnull=True),
            investigation__in=[c.pk for c in cases],
            offence_type__in=MODERN_SLAVERY_OFFENCES,
        )
        self.fields["linked_offence"].label_from_instance = lambda o: (
            f"{o.crime_reference} ({o.get_offence_type_display()})"
        )
        if victim.is_child:
            # A child (including anyone presumed a child) is referred without consent.
            del self.fields["consent_given"]
            del self.fields["consent_on"]
            self.fields["childrens_services_told_on"].required = True
            self.fields["childrens_services_told_on"].error_messages["required"] = (
                "Enter the date children's services were told"
            )
        else:
            del self.fields["childrens_services_told_on"]
            self.fields["consent_given"].required = True
            self.fields["consent_given"].error_messages["required"] = (
                "Select yes if the adult has given consent"
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "consent_given" in data:
            data["consent_given"] = data.get("consent_given") == "yes"
            if self.fields.get("consent_given") and data["consent_given"] is False:
                self.add_error(
                    "consent_given",
                    "An adult must consent to an NRM referral. If they decline, make a Duty "
                    "to Notify (MS1) notification instead",
                )
            elif not data.get("consent_on"):
                self.add_error("consent_on", "Enter the date consent was given")
        else:
            data["consent_given"] = None
            data["consent_on"] = None
        data.setdefault("childrens_services_told_on", None)
        if data.get("linked_offence") and data.get("non_crime_reason"):
            self.add_error("non_crime_reason", "Leave this blank when a crime is linked")
        return data


class NrmDecisionForm(GovukForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    stage = forms.ChoiceField(
        label="Which decision",
        choices=[("rg", "Reasonable grounds"), ("cg", "Conclusive grounds")],
        widget=forms.RadioSelect,
        error_messages={"required": "Select which decision was made"},
    )
    decision = forms.ChoiceField(
        label="Decision",
        choices=[(Decision.POSITIVE, "Positive"), (Decision.NEGATIVE, "Negative")],
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether the decision was positive or negative"},
    )
    decided_on = GovukDateField(label="Date of the decision")


class LinkCrimeForm(GovukForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    linked_offence = forms.ModelChoiceField(
        queryset=Offence.objects.none(),
        label="Linked crime",
        required=False,
        empty_label="No crime recorded",
    )
    non_crime_reason = forms.ChoiceField(
        label="Reason no crime is recorded (N200 category)",
        choices=[("", "Not applicable"), *NonCrimeReason.choices],
        required=False,
    )

    def __init__(self, *args: Any, referral: Any, user: Any, **kwargs: Any) -> None:
        """The choices: the modern slavery crimes of the referral's own case (never another
        case of the victim), and only if `user` may see that case (the view lets only its team
        here; this keeps the form from listing a case's crimes to anyone else)."""
        super().__init__(*args, **kwargs)
        self.fields["linked_offence"].queryset = Offence.objects.filter(
            Q(victim_id=referral.victim_id) | Q(victim__isnull=True),
            investigation_id=referral.investigation_id,
            investigation__in=investigations_for_user(user).values("pk"),
            offence_type__in=MODERN_SLAVERY_OFFENCES,
        )
        self.fields["linked_offence"].label_from_instance = lambda o: (
            f"{o.crime_reference} ({o.get_offence_type_display()})"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("linked_offence") and not data.get("non_crime_reason"):
            self.add_error("linked_offence", "Select the linked crime or the non-crime reason")
        return data


class DutyToNotifyForm(GovukForm):
    submitted_on = GovukDateField(label="Date submitted")
    gender = forms.ChoiceField(
        label="Gender",
        choices=[("female", "Female"), ("male", "Male"), ("other", "Other"), ("", "Not known")],
        required=False,
    )
    age_band = forms.ChoiceField(label="Age", choices=AgeBand.choices)
    nationality = forms.CharField(label="Nationality", max_length=100, required=False)
    exploitation_types = forms.MultipleChoiceField(
        label="Types of exploitation",
        choices=ExploitationType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    where_exploited = forms.CharField(
        label="Where (town or area only, never an address)", max_length=200, required=False
    )
    consent_to_be_identified = forms.ChoiceField(
        label="Has the adult consented to be identified in the notification?",
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    identified_name = forms.CharField(
        label="Name (only with consent)", max_length=200, required=False
    )
    identified_date_of_birth = GovukDateField(
        label="Date of birth (only with consent)", required=False
    )
    identified_address = forms.CharField(
        label="Address (only with consent)", max_length=300, required=False
    )

    def __init__(self, *args: Any, cases: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {"investigation": _case_field(cases), **self.fields}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        consent = data.get("consent_to_be_identified") == "yes"
        data["consent_to_be_identified"] = consent
        if not consent:
            for name in ("identified_name", "identified_date_of_birth", "identified_address"):
                if data.get(name):
                    self.add_error(
                        name,
                        "Leave this blank: without consent the notification must not identify "
                        "the person",
                    )
        return data


class AgencyReferralForm(GovukForm):
    agency = forms.ChoiceField(
        label="Agency",
        choices=Agency.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select the agency referred to"},
    )
    organisation = forms.CharField(label="Organisation or team", max_length=200, required=False)
    referred_on = GovukDateField(
        label="Date referred", error_messages={"required": "Enter the date of the referral"}
    )
    reason = forms.CharField(
        label="Why",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Enter why the victim was referred"},
    )
    justification = forms.CharField(
        label="Justification for sharing (required for Immigration Enforcement)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    response = forms.CharField(
        label="Response", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, cases: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {"investigation": _case_field(cases), **self.fields}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            data.get("agency") == Agency.IMMIGRATION
            and not (data.get("justification") or "").strip()
        ):
            self.add_error(
                "justification",
                "Enter the justification for sharing with Immigration Enforcement",
            )
        return data


class ReferralFilterForm(GovukForm):
    status = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[
            ("", "All referrals"),
            ("awaiting_rg", "Awaiting reasonable grounds decision"),
            ("in_recovery", "In the recovery period"),
            ("no_linked_crime", "No linked crime"),
        ],
    )

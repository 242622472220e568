"""Forms for investigations. They validate input; views pass cleaned_data to actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.db.models import F
from django.utils import timezone

from investigations.models import (
    CrimeDecision,
    ExploitationType,
    NfaReason,
    OffenceOutcome,
    OffenceType,
    OrderStatus,
    Outcome,
    ReportSource,
    RetentionDecision,
    Status,
    SuspectOutcome,
    SuspectRole,
)
from investigations.querysets import shared_group_ids
from slaverycases.accounts import roles
from slaverycases.accounts.models import Force, Unit, User
from slaverycases.accounts.querysets import unit_choices, unit_officers
from slaverycases.core.forms import GovukDateField, GovukForm
from victims.models import Victim

YES_NO = [("yes", "Yes"), ("no", "No")]


# A force's crime reference numbers: letters and digits, with / - . or spaces between.
CRIME_REFERENCE = RegexValidator(
    r"^[A-Za-z0-9]+([ /.-]+[A-Za-z0-9]+)*$",
    "Crime reference number must contain only letters, numbers, spaces and / - .",
)


class VersionedForm(GovukForm):
    """Carries the version of the record the user loaded, so a stale edit can be refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


def _text(label: str, max_length: int, required: bool = True, **kw: Any) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=required, **kw)


def _area(label: str, max_length: int, required: bool = True, **kw: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        widget=forms.Textarea(attrs={"rows": 5}),
        **kw,
    )


class ReportDetailsForm(GovukForm):
    title = _text(
        "Short title", 200, help_text="For example, Workers at a car wash on Ashton Old Road"
    )
    summary = _area("What was reported", 5000)
    source = forms.ChoiceField(
        label="Source of the report", choices=ReportSource.choices, widget=forms.RadioSelect
    )
    exploitation_types = forms.MultipleChoiceField(
        label="Types of exploitation",
        choices=ExploitationType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Select all that apply",
        error_messages={"required": "Select the types of exploitation"},
    )
    location = _text("Where the exploitation happened", 200, required=False)


class IntakeForm(ReportDetailsForm):
    reported_at = GovukDateField(
        label="Date and time of the report",
        with_time=True,
        error_messages={"required": "Enter the date and time of the report"},
    )
    # New each time the form opens: the same form sent twice logs one report.
    submission = forms.UUIDField(widget=forms.HiddenInput, required=False)


class InvestigationEditForm(ReportDetailsForm, VersionedForm):
    pass


class CrimeDecisionForm(VersionedForm):
    decision = forms.ChoiceField(
        label="Crime recording decision",
        choices=CrimeDecision.choices,
        widget=forms.RadioSelect,
        help_text="Record within 24 hours of the report (National Crime Recording Standard)",
    )
    decided_at = GovukDateField(
        label="Date and time of the decision",
        with_time=True,
        error_messages={"required": "Enter the date and time of the decision"},
    )
    crime_reference = _text(
        "Crime reference number",
        40,
        required=False,
        help_text="If recorded as a crime",
        validators=[CRIME_REFERENCE],
    )
    offence_type = forms.ChoiceField(
        label="Offence recorded",
        choices=[("", "Choose the offence"), *OffenceType.choices],
        required=False,
    )
    not_recorded_reason = _area(
        "Reason for not recording a crime", 2000, required=False, help_text="If not recorded"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("decision") == CrimeDecision.RECORDED:
            if not data.get("crime_reference"):
                self.add_error("crime_reference", "Enter the crime reference number")
            if not data.get("offence_type"):
                self.add_error("offence_type", "Select the offence recorded")
        elif data.get("decision") == CrimeDecision.NOT_RECORDED and not (
            (data.get("not_recorded_reason") or "").strip()
        ):
            self.add_error("not_recorded_reason", "Enter the reason for not recording a crime")
        return data


def _unit_members(unit_id: int, role: str) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=User.objects.filter(unit_id=unit_id, is_active=True, groups__name=role)
        .order_by("last_name", "first_name")
        .distinct(),
        empty_label="Choose",
    )


class AllocateForm(VersionedForm):
    oic = forms.ModelChoiceField(queryset=User.objects.none(), label="Officer in charge")
    supervisor = forms.ModelChoiceField(queryset=User.objects.none(), label="Supervisor")

    def __init__(self, *args: Any, investigation: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        messages = {
            "oic": (
                "Select the officer in charge",
                "Select an officer in charge from the owning unit",
            ),
            "supervisor": ("Select the supervisor", "Select a supervisor from the owning unit"),
        }
        for name, role in (("oic", roles.OFFICER), ("supervisor", roles.SUPERVISOR)):
            field = _unit_members(investigation.unit_id, role)
            field.label = self.fields[name].label
            required, invalid = messages[name]
            field.error_messages = {"required": required, "invalid_choice": invalid}
            field.label_from_instance = lambda u: u.display_name
            self.fields[name] = field


class OffenceForm(GovukForm):
    crime_reference = _text("Crime reference number", 40, validators=[CRIME_REFERENCE])
    offence_type = forms.ChoiceField(
        label="Offence",
        choices=[("", "Choose the offence"), *OffenceType.choices],
        error_messages={"invalid_choice": "Select an offence from the list"},
    )
    recorded_at = GovukDateField(
        label="Date and time recorded",
        with_time=True,
        error_messages={"required": "Enter the date and time the offence was recorded"},
    )
    victim = forms.ModelChoiceField(
        queryset=Victim.objects.none(),
        label="Which victim is it recorded for?",
        help_text="A crime disclosed by a victim is recorded for that victim",
        required=False,
        empty_label="No single victim",
        error_messages={"invalid_choice": "Select a victim of this investigation"},
    )
    notes = _area("Notes", 2000, required=False)

    def __init__(self, *args: Any, investigation: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["victim"]
        # The case's victims with their label on this case (the join the filter made).
        field.queryset = (
            Victim.objects.filter(involvements__investigation=investigation)
            .annotate(case_label=F("involvements__label"))
            .order_by("case_label", "pk")
        )
        field.label_from_instance = lambda v: f"{v.case_label}: {v.name}"


class OffenceOutcomeForm(VersionedForm):
    outcome = forms.ChoiceField(
        label="What is the outcome of this offence?",
        choices=OffenceOutcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select the outcome of the offence"},
    )


class EnquiryForm(GovukForm):
    description = _text("What needs to be done", 300)
    substantive = forms.ChoiceField(
        label="Is this a substantive investigative action?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": "Select yes if this is a substantive investigative action"},
        help_text="For example, taking a victim's account, a search or an arrest. Notes, "
        "re-allocations and admin tasks are not substantive.",
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), label="Who will do it", empty_label="Choose an officer"
    )
    due_date = GovukDateField(label="Due date", required=False, allow_future=True)

    def __init__(self, *args: Any, investigation: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(
            unit_id=investigation.unit_id, is_active=True
        ).order_by("last_name", "first_name")
        self.fields["owner"].label_from_instance = lambda u: u.display_name
        self.fields["owner"].error_messages["required"] = "Select who will do it"

    def clean_substantive(self) -> bool:
        return self.cleaned_data["substantive"] == "yes"

    def clean_due_date(self) -> Any:
        due = self.cleaned_data.get("due_date")
        if due and due < timezone.localdate() and not self.initial.get("due_date"):
            raise forms.ValidationError("Due date must be today or in the future")
        return due


class EnquiryCompleteForm(GovukForm):
    completed_at = GovukDateField(
        label="Date and time completed",
        with_time=True,
        error_messages={"required": "Enter the date and time the enquiry was completed"},
    )
    result = _area("Result", 5000)


class SuspectForm(GovukForm):
    name = _text("Full name", 200)
    aliases = _text("Other names used", 300, required=False)
    date_of_birth = GovukDateField(label="Date of birth", required=False)
    nationality = _text("Nationality", 100, required=False)
    role = forms.ChoiceField(
        label="Role in the exploitation", choices=SuspectRole.choices, widget=forms.RadioSelect
    )
    arrested_at = GovukDateField(label="Date and time arrested", with_time=True, required=False)
    charged_at = GovukDateField(label="Date and time charged", with_time=True, required=False)
    outcome = forms.ChoiceField(label="Outcome so far", choices=SuspectOutcome.choices)
    prevention_order = forms.ChoiceField(
        label="Slavery and Trafficking Prevention Order", choices=OrderStatus.choices
    )
    risk_order = forms.ChoiceField(
        label="Slavery and Trafficking Risk Order", choices=OrderStatus.choices
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        arrested, charged = data.get("arrested_at"), data.get("charged_at")
        if arrested and charged and charged < arrested:
            self.add_error("charged_at", "Date charged must be the same as or after the arrest")
        return data


class SuspectEditForm(SuspectForm, VersionedForm):
    pass


class SupervisoryReviewForm(GovukForm):
    direction = _area("Direction given", 5000, help_text="What must happen next, and by when")
    next_review_due = GovukDateField(label="Next review due", required=False, allow_future=True)

    def clean_next_review_due(self) -> Any:
        due = self.cleaned_data.get("next_review_due")
        if due and due <= timezone.localdate():
            raise forms.ValidationError("Next review due must be in the future")
        return due


class ClosureRequestForm(VersionedForm):
    proposed_outcome = forms.ChoiceField(
        label="Proposed outcome", choices=Outcome.choices, widget=forms.RadioSelect
    )
    proposed_nfa_reason = forms.ChoiceField(
        label="Reason for no further action",
        choices=[("", "Choose if no further action"), *NfaReason.choices],
        required=False,
    )
    rationale = _area("Rationale for closing", 5000)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("proposed_outcome") == Outcome.NFA and not data.get("proposed_nfa_reason"):
            self.add_error("proposed_nfa_reason", "Select the reason for no further action")
        return data


class ClosureDecisionForm(VersionedForm):
    decision = forms.ChoiceField(
        label="Your decision",
        choices=[("approve", "Approve closure"), ("reject", "Reject: investigation continues")],
        widget=forms.RadioSelect,
    )
    rationale = _area("Rationale for your decision", 5000)


class ReopenForm(VersionedForm):
    reason = _area("Why the investigation is reopened", 2000)


class ShareForm(GovukForm):
    share_with = forms.ChoiceField(label="Share with", choices=[])
    reason = _area(
        "Reason for sharing",
        2000,
        help_text="For example, the victim has been relocated to this force area",
    )

    def __init__(self, *args: Any, investigation: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, Any]] = [("", "Choose a unit or force")]
        shared = shared_group_ids(investigation)  # offered no more
        for force in Force.objects.order_by("name"):
            if force.pk != investigation.force_id and force.group_id not in shared:
                choices.append((f"force:{force.pk}", f"{force.name} (whole force)"))
        for unit in Unit.objects.select_related("force").order_by("force__name", "name"):
            if unit.pk != investigation.unit_id and unit.group_id not in shared:
                choices.append((f"unit:{unit.pk}", f"{unit.name} ({unit.force.code})"))
        self.fields["share_with"].choices = choices
        self.fields["share_with"].error_messages["required"] = "Select who to share with"

    def clean_share_with(self) -> dict[str, Any]:
        kind, _, pk = self.cleaned_data["share_with"].partition(":")
        model = Force if kind == "force" else Unit
        target = model.objects.filter(pk=pk).first()
        if target is None:
            raise forms.ValidationError("Select who to share with")
        return {kind: target}


class InvestigationFilterForm(GovukForm):
    q = _text("Search", 100, required=False, help_text="Reference, title, victim or suspect name")
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *Status.choices]
    )
    exploitation = forms.ChoiceField(
        label="Type of exploitation",
        required=False,
        choices=[("", "Any type"), *ExploitationType.choices],
    )
    unit = forms.ChoiceField(label="Unit", required=False, choices=[("", "Any unit")])
    oic = forms.ChoiceField(label="Officer in charge", required=False, choices=[("", "Anyone")])
    sort = forms.ChoiceField(
        label="Sort by",
        required=False,
        choices=[
            ("-reported_at", "Newest report first"),
            ("reported_at", "Oldest report first"),
            ("reference", "Reference"),
            ("status", "Status"),
        ],
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Plain rows, not model instances: the form is built on every view of the list.
        self.fields["unit"].choices = [("", "Any unit")] + [
            (str(pk), name) for pk, name in unit_choices(user.force_id)
        ]
        self.fields["oic"].choices = [("", "Anyone")] + [
            (str(pk), f"{first} {last}".strip() or username)  # as User.display_name
            for pk, first, last, username in unit_officers(user.unit_id)
        ]


class RetentionReviewForm(VersionedForm):
    decision = forms.ChoiceField(
        label="Decision",
        choices=RetentionDecision.choices,
        widget=forms.RadioSelect,
        help_text="Retain keeps the record until its next review. Dispose erases the case, its "
        "records and the records of victims who appear in no other case; it cannot be undone.",
    )
    reason = _area(
        "Reason for the decision",
        5000,
        help_text="For example the risk the people involved still pose, or why the record is "
        "no longer needed for a policing purpose.",
    )
    next_review_on = GovukDateField(
        label="Date of the next review",
        required=False,
        allow_future=True,
        help_text="Only if you retain the record.",
    )
    confirm_reference = _text(
        "To dispose, type the reference of the investigation",
        30,
        required=False,
        help_text="Only if you dispose of the record.",
    )

    def __init__(self, *args: Any, reference: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reference = reference

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        decision = data.get("decision")
        no_date = not data.get("next_review_on") and "next_review_on" not in self.errors
        if decision == RetentionDecision.RETAIN and no_date:
            self.add_error("next_review_on", "Enter the date of the next review")
        if decision == RetentionDecision.DISPOSE:
            typed = (data.get("confirm_reference") or "").strip().upper()
            if typed != self.reference:
                self.add_error(
                    "confirm_reference",
                    f"Type {self.reference} to confirm that this record is to be disposed of",
                )
        return data

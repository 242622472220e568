"""Victims: a record that follows a person across investigations and forces.
See ../shared/DESIGN.md section 3."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone

from investigations.models import OffenceType
from victims.querysets import VictimQuerySet


class Gender(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Not known"


class VictimStatus(models.TextChoices):
    POTENTIAL = "potential", "Potential victim"
    CONFIRMED = "confirmed", "Confirmed victim"
    MISSING = "missing", "Missing"
    REPATRIATED = "repatriated", "Repatriated"
    DECEASED = "deceased", "Deceased"


class ImmigrationStatus(models.TextChoices):
    BRITISH = "british", "British or Irish citizen"
    SETTLED = "settled", "Settled or pre-settled status"
    VISA = "visa", "Valid visa"
    ASYLUM = "asylum", "Asylum seeker"
    IRREGULAR = "irregular", "No leave to remain"
    UNKNOWN = "unknown", "Not known"


class Indicator(models.TextChoices):
    """The ILO indicators of forced labour."""

    VULNERABILITY = "vulnerability", "Abuse of vulnerability"
    DECEPTION = "deception", "Deception"
    MOVEMENT = "movement", "Restriction of movement"
    ISOLATION = "isolation", "Isolation"
    VIOLENCE = "violence", "Physical and sexual violence"
    THREATS = "threats", "Intimidation and threats"
    DOCUMENTS = "documents", "Retention of identity documents"
    WAGES = "wages", "Withholding of wages"
    DEBT = "debt", "Debt bondage"
    CONDITIONS = "conditions", "Abusive working and living conditions"
    OVERTIME = "overtime", "Excessive overtime"


class Victim(models.Model):
    name = models.CharField("Full name", max_length=200)
    aliases = models.CharField("Other names used", max_length=300, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    estimated_age = models.PositiveSmallIntegerField(null=True, blank=True)
    may_be_under_18 = models.BooleanField(
        default=False,
        help_text="MSA 2015 s51: treated as a child until their age is assessed",
    )
    age_assessed_on = models.DateField(null=True, blank=True)
    exploitation_began = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=10, choices=Gender.choices, default=Gender.UNKNOWN)
    nationality = models.CharField(max_length=100, blank=True)
    languages = models.CharField(max_length=200, blank=True)
    interpreter_needed = models.BooleanField(default=False)
    immigration_status = models.CharField(
        max_length=20, choices=ImmigrationStatus.choices, default=ImmigrationStatus.UNKNOWN
    )
    phone = models.CharField(max_length=40, blank=True)
    address = models.CharField(max_length=300, blank=True)
    current_force = models.ForeignKey(
        "accounts.Force", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    status = models.CharField(
        max_length=20, choices=VictimStatus.choices, default=VictimStatus.POTENTIAL
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)
    # From the victim's contacts, kept by safeguarding.actions.contact_record in the contact's
    # transaction: the latest contact's next contact due and the latest contact made. The
    # safeguarding board sorts on them without reading every victim's contacts.
    next_contact_due = models.DateField(null=True, blank=True, editable=False)
    last_contact_at = models.DateTimeField(null=True, blank=True, editable=False)
    # In at least one open (not closed) investigation: the victims a force is safeguarding.
    # Kept by victims.actions.victims_open_case_refresh when a case's status changes and by
    # victims_add; the board reads only these victims, from a partial index.
    in_open_case = models.BooleanField(default=False, editable=False)

    objects = VictimQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["current_force", "status"], name="victim_force_status"),
            models.Index(fields=["date_of_birth"], name="victim_dob"),
            models.Index(
                models.F("next_contact_due").asc(nulls_first=True),
                "name",
                "id",
                name="victim_board",
                condition=models.Q(in_open_case=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(estimated_age__isnull=True) | models.Q(estimated_age__lte=120),
                name="victim_age_sane",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def age_on(self, day: date) -> int | None:
        if self.date_of_birth:
            dob = self.date_of_birth
            return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))
        return self.estimated_age

    @property
    def is_child(self) -> bool:
        """A child at the time of exploitation; anyone who may be under 18 is a child until
        their age is assessed (MSA 2015 s51)."""
        if self.may_be_under_18 and self.age_assessed_on is None:
            return True
        age = self.age_on(self.exploitation_began or timezone.localdate())
        return age is not None and age < 18

    @property
    def age_description(self) -> str:
        if self.date_of_birth:
            return f"{self.age_on(timezone.localdate())} (born {self.date_of_birth:%-d %B %Y})"
        if self.estimated_age is not None:
            return f"About {self.estimated_age} (estimated)"
        return "Not known"


class Involvement(models.Model):
    """A victim in an investigation: how and when identified, and whether spoken to."""

    victim = models.ForeignKey(Victim, on_delete=models.PROTECT, related_name="involvements")
    investigation = models.ForeignKey(
        "investigations.Investigation", on_delete=models.PROTECT, related_name="involvements"
    )
    label = models.CharField(
        max_length=20, blank=True, help_text="Victim A, Victim B, ... within this investigation"
    )
    identified_at = models.DateTimeField()
    identified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    indicators = models.JSONField(default=list, blank=True)
    account_taken_at = models.DateTimeField(null=True, blank=True)
    account_taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    interpreter_used = models.BooleanField(default=False)
    interpreter_language = models.CharField(max_length=100, blank=True)
    account_summary = models.TextField(max_length=5000, blank=True)

    class Meta:
        ordering = ["identified_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["victim", "investigation"], name="involvement_once_per_case"
            )
        ]
        indexes = [
            models.Index(fields=["investigation", "victim"], name="involvement_inv"),
            # The flag scan (premature_closure): victims never spoken to.
            models.Index(
                fields=["investigation"],
                condition=models.Q(account_taken_at__isnull=True),
                name="involvement_not_spoken",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.victim} in {self.investigation}"

    @property
    def spoken_to(self) -> bool:
        return self.account_taken_at is not None

    @property
    def indicator_labels(self) -> list[str]:
        labels = dict(Indicator.choices)
        return [labels.get(code, code) for code in self.indicators]


class Disclosure(models.Model):
    """An offence the victim disclosed; each should be matched by a recorded Offence."""

    involvement = models.ForeignKey(
        Involvement, on_delete=models.PROTECT, related_name="disclosures"
    )
    offence_type = models.CharField(max_length=30, choices=OffenceType.choices)
    disclosed_at = models.DateTimeField()
    account = models.TextField(max_length=2000)
    offence = models.ForeignKey(
        "investigations.Offence",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disclosures",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["disclosed_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_offence_type_display()} disclosed {self.disclosed_at:%Y-%m-%d}"


class CustodyEventKind(models.TextChoices):
    ARRESTED = "arrested", "Arrested"
    CHARGED = "charged", "Charged"


class S45Decision(models.TextChoices):
    NOT_CONSIDERED = "not_considered", "Not yet considered"
    APPLIES = "applies", "Considered: the defence may apply"
    DOES_NOT_APPLY = "does_not_apply", "Considered: the defence does not apply"
    EXCLUDED = "excluded", "Considered: Schedule 4 offence, defence excluded"


class CustodyEvent(models.Model):
    """The victim was arrested or charged: was the s45 defence / non-punishment considered?"""

    victim = models.ForeignKey(Victim, on_delete=models.PROTECT, related_name="custody_events")
    investigation = models.ForeignKey(
        "investigations.Investigation", on_delete=models.PROTECT, related_name="custody_events"
    )
    kind = models.CharField(max_length=10, choices=CustodyEventKind.choices)
    offence = models.CharField("Offence the victim was arrested or charged for", max_length=200)
    occurred_at = models.DateTimeField()
    s45_decision = models.CharField(
        max_length=20, choices=S45Decision.choices, default=S45Decision.NOT_CONSIDERED
    )
    s45_rationale = models.TextField(max_length=2000, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.offence}"

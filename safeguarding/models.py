"""Safeguarding: plans, victim contact, relocations and missing episodes.
See ../shared/DESIGN.md section 4."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Risk(models.TextChoices):
    RETRAFFICKING = "retrafficking", "Re-trafficking"
    EXPLOITERS = "exploiters", "Harm from exploiters"
    MISSING = "missing", "Going missing"
    SELF_HARM = "self_harm", "Self-harm"
    DETENTION = "detention", "Immigration detention"


class Measure(models.TextChoices):
    PLACE_OF_SAFETY = "place_of_safety", "Place of Safety"
    SAFE_HOUSE = "safe_house", "Safe house"
    INTERPRETER = "interpreter", "Interpreter"
    MEDICAL = "medical", "Medical care"
    CHILDRENS_SERVICES = "childrens_services", "Children's services"
    SUPPORT_WORKER = "support_worker", "Support worker (victim care contract)"


class SafeguardingPlan(models.Model):
    victim = models.OneToOneField(
        "victims.Victim", on_delete=models.PROTECT, related_name="safeguarding_plan"
    )
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices)
    risks = models.JSONField(default=list, blank=True)
    measures = models.JSONField(default=list, blank=True)
    contact_every_days = models.PositiveSmallIntegerField(
        help_text="How often the victim must be contacted, in days"
    )
    review_date = models.DateField()
    # When the plan was first set: the first contact is due `contact_every_days` after it,
    # whatever edits follow. Empty for plans set before it was kept (safeguarding 0004): the
    # rules then count from `updated_at`, the earliest known.
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(contact_every_days__gte=1, contact_every_days__lte=90),
                name="plan_contact_frequency_range",
            )
        ]

    def __str__(self) -> str:
        return f"Safeguarding plan for {self.victim}"

    @property
    def risk_labels(self) -> list[str]:
        labels = dict(Risk.choices)
        return [labels.get(r, r) for r in self.risks]

    @property
    def measure_labels(self) -> list[str]:
        labels = dict(Measure.choices)
        return [labels.get(m, m) for m in self.measures]


class ContactMethod(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "Phone"
    SUPPORT_WORKER = "support_worker", "Through a support worker"
    INTERPRETER = "interpreter", "Through an interpreter"
    VIDEO = "video", "Video call"


class Contact(models.Model):
    victim = models.ForeignKey("victims.Victim", on_delete=models.PROTECT, related_name="contacts")
    at = models.DateTimeField()
    method = models.CharField(max_length=20, choices=ContactMethod.choices)
    made = models.BooleanField(help_text="False when contact was attempted but not made")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    interpreter_used = models.BooleanField(default=False)
    notes = models.TextField(max_length=5000, blank=True)
    next_contact_due = models.DateField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["victim", "at", "by"], name="contact_once"),
        ]
        indexes = [models.Index(fields=["victim", "-at"], name="contact_victim_at")]

    def __str__(self) -> str:
        return f"{'Contact' if self.made else 'Attempted contact'} with {self.victim_id}"


class DestinationType(models.TextChoices):
    FORCE_AREA = "force_area", "Another force area"
    SAFE_HOUSE = "safe_house", "A safe house"


def awaits_contact(last_contact_made: Any, recorded_at: Any) -> bool:
    """A relocation recorded at `recorded_at` awaits contact unless a contact was made with the
    victim after it (Relocation.awaiting_contact; datetimes, or any comparable times)."""
    return last_contact_made is None or last_contact_made <= recorded_at


class Relocation(models.Model):
    victim = models.ForeignKey(
        "victims.Victim", on_delete=models.PROTECT, related_name="relocations"
    )
    relocated_on = models.DateField()
    destination_type = models.CharField(max_length=20, choices=DestinationType.choices)
    to_force = models.ForeignKey("accounts.Force", on_delete=models.PROTECT, related_name="+")
    safe_house_location = models.CharField(max_length=300, blank=True)
    receiving_contact = models.CharField(
        max_length=200, help_text="Named contact in the receiving force"
    )
    first_contact_within_days = models.PositiveSmallIntegerField(default=7)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    # No contact has been made with the victim since the move was recorded: the victim's last
    # contact made (Victim.last_contact_at) is none or not after recorded_at. Kept by
    # actions.contact_state_refresh and relocation_record; the board reads the few awaiting
    # relocations by their partial index instead of testing every relocation in the country.
    awaiting_contact = models.BooleanField(default=True, editable=False)

    class Meta:
        ordering = ["-relocated_on", "-id"]
        indexes = [
            models.Index(fields=["to_force", "relocated_on"], name="relocation_force"),
            models.Index(
                fields=["relocated_on", "id"],
                condition=models.Q(awaiting_contact=True),
                name="relocation_awaiting",
            ),
        ]

    def __str__(self) -> str:
        return f"Relocation of {self.victim_id} to {self.to_force}"


class MissingEpisode(models.Model):
    victim = models.ForeignKey(
        "victims.Victim", on_delete=models.PROTECT, related_name="missing_episodes"
    )
    reported_missing_at = models.DateTimeField()
    found_at = models.DateTimeField(null=True, blank=True)
    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices)
    notes = models.TextField(max_length=2000, blank=True)
    status_before = models.CharField(
        max_length=20, blank=True, help_text="The victim's status before they went missing"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-reported_missing_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(found_at__isnull=True)
                | models.Q(found_at__gte=models.F("reported_missing_at")),
                name="missing_found_after_reported",
            ),
            models.UniqueConstraint(
                fields=["victim"],
                condition=models.Q(found_at__isnull=True),
                name="missing_one_open_episode",
            ),
        ]

    def __str__(self) -> str:
        return f"Missing episode of {self.victim_id}"

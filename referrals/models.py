"""Referrals: the National Referral Mechanism, the Duty to Notify (MS1) and other agencies.
See ../shared/DESIGN.md section 5 and 9."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

RECOVERY_PERIOD_DAYS = 30  # at least 30 days from a positive RG decision (since 13 Dec 2022)


class Decision(models.TextChoices):
    PENDING = "pending", "Awaiting decision"
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"


class NonCrimeReason(models.TextChoices):
    """Home Office Counting Rules: an NRM referral not recorded as a crime carries an N200
    'report of modern slavery' non-crime code."""

    PENDING_RG = "n200_1", "N200/1: pending reasonable grounds decision"
    NEGATIVE_RG = "n200_2", "N200/2: negative reasonable grounds decision"
    DUTY_TO_NOTIFY = "n200_3", "N200/3: duty to notify only"
    OUTSIDE_EW = "n200_4", "N200/4: positive RG, or police referral outside England and Wales"
    NEGATIVE_OUTSIDE_EW = "n200_5", "N200/5: negative RG outside England and Wales"
    TRANSFERRED = "n200_6", "N200/6: transferred to another force in England and Wales"


class NrmReferral(models.Model):
    victim = models.ForeignKey(
        "victims.Victim", on_delete=models.PROTECT, related_name="nrm_referrals"
    )
    investigation = models.ForeignKey(
        "investigations.Investigation", on_delete=models.PROTECT, related_name="nrm_referrals"
    )
    first_responder_organisation = models.CharField(max_length=200)
    first_responder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    referred_as_child = models.BooleanField()
    consent_given = models.BooleanField(null=True, blank=True)
    consent_on = models.DateField(null=True, blank=True)
    childrens_services_told_on = models.DateField(null=True, blank=True)
    submitted_on = models.DateField()
    competent_authority_reference = models.CharField(max_length=40, blank=True)
    rg_decision = models.CharField(
        max_length=10, choices=Decision.choices, default=Decision.PENDING
    )
    rg_decision_on = models.DateField(null=True, blank=True)
    cg_decision = models.CharField(
        max_length=10, choices=Decision.choices, default=Decision.PENDING
    )
    cg_decision_on = models.DateField(null=True, blank=True)
    places_of_safety_used = models.BooleanField(default=False)
    linked_offence = models.ForeignKey(
        "investigations.Offence", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    non_crime_reason = models.CharField(max_length=10, choices=NonCrimeReason.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-submitted_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(referred_as_child=True) | models.Q(consent_given=True),
                name="nrm_adult_consents",
            ),
            models.CheckConstraint(
                condition=models.Q(referred_as_child=False)
                | models.Q(childrens_services_told_on__isnull=False),
                name="nrm_child_services_told",
            ),
            models.CheckConstraint(
                condition=models.Q(rg_decision_on__isnull=True)
                | models.Q(rg_decision_on__gte=models.F("submitted_on")),
                name="nrm_rg_after_submission",
            ),
        ]
        indexes = [
            models.Index(fields=["rg_decision", "submitted_on"], name="nrm_rg_pending"),
            models.Index(fields=["victim"], name="nrm_victim"),
        ]

    def __str__(self) -> str:
        return f"NRM referral of {self.victim} submitted {self.submitted_on:%Y-%m-%d}"

    @property
    def recovery_period_ends(self):  # type: ignore[no-untyped-def]
        if self.rg_decision == Decision.POSITIVE and self.rg_decision_on:
            return self.rg_decision_on + timedelta(days=RECOVERY_PERIOD_DAYS)
        return None

    @property
    def in_recovery_period(self) -> bool:
        end = self.recovery_period_ends
        return bool(end and self.cg_decision == Decision.PENDING and timezone.localdate() <= end)


class AgeBand(models.TextChoices):
    ADULT_18_24 = "18-24", "18 to 24"
    ADULT_25_34 = "25-34", "25 to 34"
    ADULT_35_49 = "35-49", "35 to 49"
    ADULT_50 = "50+", "50 or over"
    UNKNOWN = "unknown", "Not known"


class DutyToNotify(models.Model):
    """An MS1 notification: an adult who declines the NRM, reported to the Home Office.

    MSA 2015 s52(3): it holds no name, date of birth, address or other identifier unless the
    adult consented to be identified (enforced by a database constraint). The link to our own
    victim record stays inside the force and is never part of the notification.
    """

    victim = models.ForeignKey(
        "victims.Victim", on_delete=models.PROTECT, related_name="duty_to_notify"
    )
    investigation = models.ForeignKey(
        "investigations.Investigation", on_delete=models.PROTECT, related_name="+"
    )
    submitted_on = models.DateField()
    gender = models.CharField(max_length=10, blank=True)
    age_band = models.CharField(max_length=10, choices=AgeBand.choices, default=AgeBand.UNKNOWN)
    nationality = models.CharField(max_length=100, blank=True)
    exploitation_types = models.JSONField(default=list, blank=True)
    where_exploited = models.CharField(
        max_length=200, blank=True, help_text="Town or area only, never an address"
    )
    consent_to_be_identified = models.BooleanField(default=False)
    identified_name = models.CharField(max_length=200, blank=True)
    identified_date_of_birth = models.DateField(null=True, blank=True)
    identified_address = models.CharField(max_length=300, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-submitted_on", "-id"]
        verbose_name = "Duty to Notify (MS1)"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(consent_to_be_identified=True)
                | (
                    models.Q(identified_name="")
                    & models.Q(identified_date_of_birth__isnull=True)
                    & models.Q(identified_address="")
                ),
                name="ms1_no_identifiers_without_consent",
            )
        ]

    def __str__(self) -> str:
        return f"MS1 notification submitted {self.submitted_on:%Y-%m-%d}"


class Agency(models.TextChoices):
    CHILDRENS_SERVICES = "childrens_services", "Children's services"
    VICTIM_CARE = "victim_care", "Victim care contract provider (Salvation Army)"
    GLAA = "glaa", "Gangmasters and Labour Abuse Authority"
    NCA = "nca", "National Crime Agency"
    IMMIGRATION = "immigration", "Immigration Enforcement"
    NGO = "ngo", "Non-governmental organisation"


class AgencyReferral(models.Model):
    victim = models.ForeignKey(
        "victims.Victim", on_delete=models.PROTECT, related_name="agency_referrals"
    )
    investigation = models.ForeignKey(
        "investigations.Investigation", on_delete=models.PROTECT, related_name="+"
    )
    agency = models.CharField(max_length=20, choices=Agency.choices)
    organisation = models.CharField(max_length=200, blank=True)
    referred_on = models.DateField()
    reason = models.TextField(max_length=2000)
    justification = models.TextField(max_length=2000, blank=True)
    response = models.TextField(max_length=2000, blank=True)
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-referred_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(agency="immigration") | ~models.Q(justification=""),
                name="agency_immigration_justified",
            )
        ]

    def __str__(self) -> str:
        return f"Referral to {self.get_agency_display()}"

"""Flags: what the inspection found too late, raised while it can still be fixed.
See ../shared/DESIGN.md section 7."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class FlagKind(models.TextChoices):
    DELAYED_START = "delayed_start", "Delayed start"
    PREMATURE_CLOSURE = "premature_closure", "Premature closure"
    UNRECORDED_LINKED_OFFENCE = "unrecorded_linked_offence", "Unrecorded linked offence"
    VICTIM_CONTACT_OVERDUE = "victim_contact_overdue", "Victim contact overdue"
    RELOCATED_VICTIM_NO_CONTACT = "relocated_victim_no_contact", "Relocated victim not contacted"
    NRM_NOT_CONSIDERED = "nrm_not_considered", "NRM not considered"
    VICTIM_CRIMINALISED = "victim_criminalised", "Victim criminalised"
    SUPERVISION_OVERDUE = "supervision_overdue", "Supervision overdue"
    NRM_DECISION_OVERDUE = "nrm_decision_overdue", "NRM decision overdue"


SAFEGUARDING_KINDS = [FlagKind.VICTIM_CONTACT_OVERDUE, FlagKind.RELOCATED_VICTIM_NO_CONTACT]


class Severity(models.IntegerChoices):
    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"


class FlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"


ACTIVE_STATUSES = [FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED]


class Flag(models.Model):
    kind = models.CharField(max_length=40, choices=FlagKind.choices)
    investigation = models.ForeignKey(
        "investigations.Investigation", on_delete=models.CASCADE, related_name="flags"
    )
    # The case's unit, copied when the flag is raised (a case never changes unit): the queue
    # reads a unit's active flags from one index, in queue order, instead of every active flag.
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    victim = models.ForeignKey(
        "victims.Victim", on_delete=models.CASCADE, null=True, blank=True, related_name="flags"
    )
    # victim_id or 0: part of the uniqueness key, so that a case-level flag (no victim) is
    # unique too (NULLs would be distinct in a unique index).
    victim_key = models.BigIntegerField(default=0)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    raised_at = models.DateTimeField(default=timezone.now)
    evidence = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acted_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(max_length=2000, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-severity", "raised_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "investigation", "victim_key"],
                condition=models.Q(status__in=["open", "acknowledged"]),
                name="flag_one_active_per_kind_case_victim",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="dismissed") | ~models.Q(reason=""),
                name="flag_dismissal_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "kind"], name="flag_status_kind"),
            models.Index(fields=["investigation", "status"], name="flag_case_status"),
            models.Index(
                "unit",
                models.F("severity").desc(),
                "raised_at",
                "id",
                name="flag_unit_queue",
                condition=models.Q(status__in=["open", "acknowledged"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.investigation_id}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class FlagSettings(models.Model):
    """Thresholds a force admin can change for their force (defaults from DESIGN.md)."""

    force = models.OneToOneField(
        "accounts.Force", on_delete=models.CASCADE, related_name="flag_settings"
    )
    delayed_start_days = models.PositiveSmallIntegerField(default=7)
    delayed_start_medium_days = models.PositiveSmallIntegerField(default=28)
    delayed_start_high_days = models.PositiveSmallIntegerField(default=90)
    premature_closure_days = models.PositiveSmallIntegerField(default=14)
    premature_closure_lookback_days = models.PositiveSmallIntegerField(
        default=365,
        help_text="Only cases closed or closure requested within this many days are examined",
    )
    unrecorded_offence_hours = models.PositiveSmallIntegerField(default=24)
    nrm_consider_days = models.PositiveSmallIntegerField(default=2)
    supervision_days = models.PositiveSmallIntegerField(default=28)
    nrm_decision_days = models.PositiveSmallIntegerField(
        default=7, help_text="Reasonable grounds target: 5 working days"
    )

    class Meta:
        verbose_name_plural = "flag settings"

    def __str__(self) -> str:
        return f"Flag thresholds for {self.force}"


class FlagRun(models.Model):
    """One run of the rules: what it did, for the admin to see."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    force = models.ForeignKey("accounts.Force", on_delete=models.CASCADE, null=True, blank=True)
    investigation_id = models.BigIntegerField(null=True, blank=True)
    opened = models.JSONField(default=dict)
    resolved = models.JSONField(default=dict)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Flag run {self.started_at:%Y-%m-%d %H:%M:%S}"


class TaskDelivery(models.Model):
    """A flag task's message that a worker started and has not finished: how many times.

    A worker that dies in the middle of a task leaves its row here, and the broker delivers the
    message again (acks_late with reject_on_worker_lost, or Redis' visibility timeout). After
    MAX_DELIVERIES starts the task gives up (flags.actions.task_delivery_start): a message that
    kills its worker every time is not redelivered for ever. A start that ends, well or badly,
    deletes its row; a row given up stays, as the record of it."""

    task_id = models.CharField(max_length=255, unique=True)
    task_name = models.CharField(max_length=200)
    # Celery's retry number of the message counted: a retry is a new message and counts afresh.
    retries = models.PositiveIntegerField(default=0)
    deliveries = models.PositiveSmallIntegerField(default=1)
    first_started_at = models.DateTimeField(default=timezone.now)
    last_started_at = models.DateTimeField(default=timezone.now)
    gave_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_started_at"]
        verbose_name_plural = "task deliveries"

    def __str__(self) -> str:
        return f"{self.task_name}[{self.task_id}] started {self.deliveries} times"

"""The investigation (the case) and what hangs off it. See ../shared/DESIGN.md section 2.

Every write goes through investigations/actions.py; reads through querysets.py and access.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from investigations.querysets import InvestigationQuerySet


class ReportSource(models.TextChoices):
    PUBLIC = "public", "Member of the public"
    VICTIM = "victim", "Victim self-report"
    NGO = "ngo", "NGO or first responder"
    NCA = "nca", "National Crime Agency"
    IMMIGRATION = "immigration", "Immigration Enforcement"
    OTHER_FORCE = "other_force", "Another police force"
    LOCAL_AUTHORITY = "local_authority", "Local authority"
    PROACTIVE = "proactive", "Police-generated (proactive)"


class ExploitationType(models.TextChoices):
    SEXUAL = "sexual", "Sexual exploitation"
    LABOUR = "labour", "Labour exploitation"
    DOMESTIC = "domestic", "Domestic servitude"
    CRIMINAL = "criminal", "Criminal exploitation"
    ORGAN = "organ", "Organ harvesting"
    OTHER = "other", "Other"


# Each type's bit in Investigation.exploitation_bits (never renumber: the column stores them).
EXPLOITATION_BIT = {kind: 1 << i for i, kind in enumerate(ExploitationType.values)}


def exploitation_bits(types: Iterable[str]) -> int:
    return sum(EXPLOITATION_BIT[kind] for kind in set(types))


class BitSetField(models.PositiveSmallIntegerField):
    """A set of flags as an integer. Queried with `__has_bit=<bit>` (see HasBit)."""


@BitSetField.register_lookup
class HasBit(models.Lookup):
    """`field__has_bit=4`: the bit is set. The bit is written into the SQL as a number, not a
    parameter, so the condition reads exactly as a partial index's `WHERE` does and PostgreSQL
    (or SQLite) uses that index for it."""

    lookup_name = "has_bit"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        bit = int(self.rhs)
        if bit <= 0 or bit & (bit - 1):
            raise ValueError(f"has_bit takes a single bit, not {self.rhs!r}")
        return f"({lhs} & {bit}) <> 0", list(params)


class Status(models.TextChoices):
    REPORTED = "reported", "Reported"
    RECORDED = "recorded", "Recorded"
    ALLOCATED = "allocated", "Allocated"
    UNDER_INVESTIGATION = "under_investigation", "Under investigation"
    CLOSURE_REQUESTED = "closure_requested", "Closure requested"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = [s for s in Status if s != Status.CLOSED]


class CrimeDecision(models.TextChoices):
    RECORDED = "recorded", "Recorded as a crime"
    NOT_RECORDED = "not_recorded", "Not recorded as a crime"


class Outcome(models.TextChoices):
    CHARGED = "charged", "Charged or summonsed"
    CAUTION = "caution", "Caution"
    NFA = "nfa", "No further action"
    TRANSFERRED = "transferred", "Transferred to another force or agency"
    FILED = "filed", "Filed pending further information"


class NfaReason(models.TextChoices):
    EVIDENTIAL = "evidential", "Evidential difficulties"
    VICTIM_NOT_SUPPORTING = "victim_not_supporting", "Victim does not support action"
    SUSPECT_NOT_IDENTIFIED = "suspect_not_identified", "Suspect not identified"
    PUBLIC_INTEREST = "public_interest", "Not in the public interest"
    NO_OFFENCE = "no_offence", "No offence found"


class Investigation(models.Model):
    reference = models.CharField(max_length=20, unique=True, editable=False)
    force = models.ForeignKey("accounts.Force", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    summary = models.TextField(max_length=5000)
    source = models.CharField(max_length=20, choices=ReportSource.choices)
    location = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REPORTED)

    reported_at = models.DateTimeField()
    # The types of exploitation (rows of InvestigationExploitation) as bits, kept by the actions
    # that write those rows: the list filtered by a type reads that type's partial index of the
    # unit's cases in list order, and shows the types without another query.
    exploitation_bits = BitSetField(default=0, editable=False)
    crime_decision = models.CharField(max_length=20, choices=CrimeDecision.choices, blank=True)
    crime_decision_at = models.DateTimeField(null=True, blank=True)
    crime_not_recorded_reason = models.TextField(max_length=2000, blank=True)
    crime_recorded_at = models.DateTimeField(null=True, blank=True)
    allocated_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the first substantive enquiry was completed"
    )
    closure_requested_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    oic = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="officer in charge",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    nfa_reason = models.CharField(max_length=30, choices=NfaReason.choices, blank=True)
    outcome_rationale = models.TextField(max_length=5000, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(
        default=1, help_text="Raised by every change: an edit made on an older copy is refused"
    )
    # What the list's free-text search matches (querysets.search): the reference, the title,
    # the suspects' and victims' names and aliases, upper case, one per line; kept by the
    # actions that write them (actions.search_text_refresh). On PostgreSQL a GIN index on the
    # unit's id joined to each three characters of it gives a unit's matching cases without
    # reading victims or other units' cases (migrations 0009, 0010).
    search_text = models.TextField(default="", blank=True, editable=False)
    review_due_on = models.DateField(
        "retention review due",
        null=True,
        blank=True,
        help_text="MoPI: when the closed record must next be reviewed (retain or dispose)",
    )

    objects = InvestigationQuerySet.as_manager()

    class Meta:
        ordering = ["-reported_at", "-id"]
        permissions = [
            ("allocate_investigation", "Can allocate an officer in charge"),
            ("review_closure", "Can approve or reject a closure request"),
            ("request_closure", "Can request closure of an investigation"),
            ("share_investigation", "Can share an investigation with another unit or force"),
            ("reopen_investigation", "Can reopen a closed investigation"),
            ("print_investigation", "Can print a case summary"),
            ("review_retention", "Can review retention of closed records (MoPI)"),
        ]
        indexes = [
            models.Index(fields=["unit", "status", "-reported_at"], name="inv_unit_status"),
            models.Index(fields=["oic", "status"], name="inv_oic_status"),
            # A supervisor's open cases (dashboard), as inv_oic_status for the officer's.
            models.Index(fields=["supervisor", "status"], name="inv_supervisor_status"),
            models.Index(fields=["status", "-reported_at"], name="inv_status_reported"),
            # The flag scan, per force: open cases, and recent closures (premature_closure).
            models.Index(
                fields=["force", "status", "closed_at"],
                include=["id", "closure_requested_at"],  # index-only scans of a force's cases
                name="inv_force_status_closed",
            ),
            # The list, per part (querysets.VisibleRows): a unit's cases in date or reference
            # order, and cases run or supervised outside one's unit, from the index alone.
            models.Index(fields=["unit", "-reported_at", "-id"], name="inv_unit_reported"),
            models.Index(fields=["unit", "reference"], name="inv_unit_reference"),
            # The list filtered by a type of exploitation: one partial index per type.
            *(
                models.Index(
                    fields=["unit", "-reported_at", "-id"],
                    condition=models.Q(exploitation_bits__has_bit=bit),
                    name=f"inv_unit_reported_{kind}",
                )
                for kind, bit in EXPLOITATION_BIT.items()
            ),
            models.Index(fields=["oic", "unit"], include=["id"], name="inv_oic_unit"),
            models.Index(fields=["supervisor", "unit"], include=["id"], name="inv_supervisor_unit"),
            models.Index(
                fields=["force", "review_due_on"],
                condition=models.Q(review_due_on__isnull=False),
                name="inv_force_review_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="inv_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=Status.CLOSED) | ~models.Q(outcome=""),
                name="inv_closed_has_outcome",
            ),
            models.CheckConstraint(
                condition=~models.Q(outcome=Outcome.NFA) | ~models.Q(nfa_reason=""),
                name="inv_nfa_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(crime_decision__in=["", *CrimeDecision.values]),
                name="inv_crime_decision_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status != Status.CLOSED

    @property
    def exploitation_types(self) -> list[str]:
        """The types of exploitation, in the order of their codes (as the rows were written)."""
        return sorted(k for k, bit in EXPLOITATION_BIT.items() if self.exploitation_bits & bit)

    @property
    def exploitation_labels(self) -> list[str]:
        return [ExploitationType(kind).label for kind in self.exploitation_types]

    @property
    def days_to_start(self) -> int | None:
        """Days from report to the first substantive investigative action."""
        if self.started_at is None:
            return None
        return (self.started_at - self.reported_at).days


def search_text(parts: Iterable[str]) -> str:
    """A case's `search_text` from its parts (the reference, title, names, aliases): the
    search upper-cases what it is given in the same way, so the match ignores case on every
    database."""
    return "\n".join(part.upper() for part in parts if part)


class InvestigationExploitation(models.Model):
    investigation = models.ForeignKey(
        Investigation, on_delete=models.CASCADE, related_name="exploitation"
    )
    type = models.CharField(max_length=20, choices=ExploitationType.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["investigation", "type"], name="inv_exploitation_once")
        ]
        indexes = [
            models.Index(fields=["type", "investigation"], name="inv_exploitation_type"),
        ]

    def __str__(self) -> str:
        return self.get_type_display()


class ReferenceCounter(models.Model):
    """The last number issued for a force and year. Locked while a reference is assigned, in
    the same transaction as the new investigation, so numbers have no gaps and no clashes."""

    force_code = models.CharField(max_length=10)
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["force_code", "year"], name="refcounter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.force_code}-{self.year}: {self.last_number}"


class OffenceType(models.TextChoices):
    MSA_S1 = "msa_s1", "MSA 2015 s1: slavery, servitude, forced or compulsory labour"
    MSA_S2 = "msa_s2", "MSA 2015 s2: human trafficking"
    MSA_S4 = "msa_s4", "MSA 2015 s4: offence committed with intent to traffic"
    RAPE = "rape", "Rape"
    SEXUAL_ASSAULT = "sexual_assault", "Sexual assault"
    CONTROLLING_PROSTITUTION = "controlling_prostitution", "Controlling prostitution for gain"
    ASSAULT = "assault", "Assault (ABH or GBH)"
    FALSE_IMPRISONMENT = "false_imprisonment", "False imprisonment"
    KIDNAP = "kidnap", "Kidnap"
    THREATS_TO_KILL = "threats_to_kill", "Threats to kill"
    IMMIGRATION = "immigration", "Immigration offence"
    DRUGS_SUPPLY = "drugs_supply", "Drugs supply"
    FRAUD = "fraud", "Fraud or theft of wages"
    DOCUMENTS = "documents", "Document offence"
    OTHER = "other", "Other offence"


MODERN_SLAVERY_OFFENCES = [OffenceType.MSA_S1, OffenceType.MSA_S2, OffenceType.MSA_S4]
SEXUAL_OFFENCES = [
    OffenceType.RAPE,
    OffenceType.SEXUAL_ASSAULT,
    OffenceType.CONTROLLING_PROSTITUTION,
]


class OffenceOutcome(models.TextChoices):
    OPEN = "open", "Under investigation"
    CHARGED = "charged", "Charged"
    CAUTION = "caution", "Caution"
    NFA = "nfa", "No further action"
    CONVICTED = "convicted", "Convicted"
    ACQUITTED = "acquitted", "Acquitted"


class Offence(models.Model):
    """A recorded crime on the case. Modern slavery crimes are counted one per victim."""

    investigation = models.ForeignKey(
        Investigation, on_delete=models.PROTECT, related_name="offences"
    )
    crime_reference = models.CharField(max_length=40)
    offence_type = models.CharField(max_length=30, choices=OffenceType.choices)
    recorded_at = models.DateTimeField()
    victim = models.ForeignKey(
        "victims.Victim",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offences",
        help_text="The victim the crime is recorded for (one modern slavery crime per victim)",
    )
    outcome = models.CharField(
        max_length=20, choices=OffenceOutcome.choices, default=OffenceOutcome.OPEN
    )
    notes = models.TextField(max_length=2000, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(offence_type__in=OffenceType.values), name="offence_type_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["investigation", "offence_type"], name="offence_inv_type"),
            # A crime reference is used once in a force: actions.crime_references_claim.
            models.Index(fields=["crime_reference"], name="offence_crime_reference"),
        ]

    def __str__(self) -> str:
        return f"{self.crime_reference} ({self.get_offence_type_display()})"

    @property
    def is_modern_slavery(self) -> bool:
        return self.offence_type in MODERN_SLAVERY_OFFENCES


class Enquiry(models.Model):
    """An investigative action. Only a substantive one starts the investigation's clock."""

    investigation = models.ForeignKey(
        Investigation, on_delete=models.PROTECT, related_name="enquiries"
    )
    description = models.CharField(max_length=300)
    substantive = models.BooleanField(
        default=True,
        help_text="A real investigative action (not a note, a re-allocation or an admin task)",
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(max_length=5000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "enquiries"
        indexes = [
            models.Index(fields=["investigation", "completed_at"], name="enquiry_inv_done"),
            # An officer's open enquiries (their dashboard's tasks): a few hundred of the tens
            # of thousands an officer has owned over the years.
            models.Index(
                fields=["owner", "due_date"],
                condition=models.Q(completed_at__isnull=True),
                name="enquiry_owner_open",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None


class SuspectRole(models.TextChoices):
    PRINCIPAL = "principal", "Principal exploiter"
    RECRUITER = "recruiter", "Recruiter"
    TRANSPORTER = "transporter", "Transporter"
    CONTROLLER = "controller", "Controller or enforcer"
    FACILITATOR = "facilitator", "Facilitator (housing, money, documents)"
    OTHER = "other", "Other"


class OrderStatus(models.TextChoices):
    NOT_CONSIDERED = "not_considered", "Not considered"
    CONSIDERED = "considered", "Considered, not applied for"
    APPLIED = "applied", "Applied for"
    GRANTED = "granted", "Granted"
    REFUSED = "refused", "Refused by the court"


class SuspectOutcome(models.TextChoices):
    OPEN = "open", "Under investigation"
    RELEASED = "released", "Released under investigation"
    BAIL = "bail", "On bail"
    CHARGED = "charged", "Charged"
    NFA = "nfa", "No further action"
    CONVICTED = "convicted", "Convicted"
    ACQUITTED = "acquitted", "Acquitted"


class Suspect(models.Model):
    investigation = models.ForeignKey(
        Investigation, on_delete=models.PROTECT, related_name="suspects"
    )
    name = models.CharField(max_length=200)
    aliases = models.CharField(max_length=300, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    nationality = models.CharField(max_length=100, blank=True)
    role = models.CharField(max_length=20, choices=SuspectRole.choices)
    arrested_at = models.DateTimeField(null=True, blank=True)
    charged_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=20, choices=SuspectOutcome.choices, default=SuspectOutcome.OPEN
    )
    prevention_order = models.CharField(
        "Slavery and Trafficking Prevention Order",
        max_length=20,
        choices=OrderStatus.choices,
        default=OrderStatus.NOT_CONSIDERED,
    )
    risk_order = models.CharField(
        "Slavery and Trafficking Risk Order",
        max_length=20,
        choices=OrderStatus.choices,
        default=OrderStatus.NOT_CONSIDERED,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(charged_at__isnull=True)
                | models.Q(arrested_at__isnull=True)
                | models.Q(charged_at__gte=models.F("arrested_at")),
                name="suspect_charged_after_arrest",
            )
        ]

    def __str__(self) -> str:
        return self.name


class SupervisoryReview(models.Model):
    investigation = models.ForeignKey(
        Investigation, on_delete=models.PROTECT, related_name="supervisory_reviews"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(default=timezone.now)
    direction = models.TextField(max_length=5000)
    next_review_due = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["reviewed_at", "id"]
        indexes = [
            models.Index(fields=["investigation", "-reviewed_at"], name="review_inv_at"),
        ]

    def __str__(self) -> str:
        return f"Review of {self.investigation_id} on {self.reviewed_at:%Y-%m-%d}"


class ClosureDecision(models.TextChoices):
    PENDING = "pending", "Awaiting review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ClosureReview(models.Model):
    """A closure request and the supervisor's decision on it."""

    investigation = models.ForeignKey(
        Investigation, on_delete=models.PROTECT, related_name="closure_reviews"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    status_before = models.CharField(max_length=20, choices=Status.choices)
    proposed_outcome = models.CharField(max_length=20, choices=Outcome.choices)
    proposed_nfa_reason = models.CharField(max_length=30, choices=NfaReason.choices, blank=True)
    request_rationale = models.TextField(max_length=5000)
    decision = models.CharField(
        max_length=10, choices=ClosureDecision.choices, default=ClosureDecision.PENDING
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_rationale = models.TextField(max_length=5000, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["investigation"],
                condition=models.Q(decision="pending"),
                name="closure_one_pending_per_investigation",
            ),
            models.CheckConstraint(
                condition=models.Q(decision="pending")
                | (~models.Q(decision_rationale="") & models.Q(reviewer__isnull=False)),
                name="closure_decision_has_rationale",
            ),
        ]

    def __str__(self) -> str:
        return f"Closure request for {self.investigation_id} ({self.decision})"


class TimelineKind(models.TextChoices):
    CREATED = "created", "Report logged"
    CRIME_DECISION = "crime_decision", "Crime recording decision"
    ALLOCATED = "allocated", "Allocated"
    STARTED = "started", "Investigation started"
    OFFENCE = "offence", "Offence recorded"
    ENQUIRY = "enquiry", "Enquiry"
    SUSPECT = "suspect", "Suspect"
    REVIEW = "review", "Supervisory review"
    CLOSURE_REQUESTED = "closure_requested", "Closure requested"
    CLOSURE_APPROVED = "closure_approved", "Closure approved"
    CLOSURE_REJECTED = "closure_rejected", "Closure rejected"
    REOPENED = "reopened", "Reopened"
    SHARED = "shared", "Shared"
    UPDATED = "updated", "Details changed"
    VICTIM = "victim", "Victim"
    CONTACT = "contact", "Victim contact"
    REFERRAL = "referral", "Referral"
    FLAG = "flag", "Flag"
    PRINTED = "printed", "Printed"
    RETENTION = "retention", "Retention review"


class TimelineEvent(models.Model):
    investigation = models.ForeignKey(
        Investigation, on_delete=models.CASCADE, related_name="timeline"
    )
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=TimelineKind.choices)
    text = models.CharField(max_length=500)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["investigation", "at"], name="timeline_inv_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.text}"


class InvestigationUserObjectPermission(UserObjectPermissionBase):
    """django-guardian grant to one user, with a real foreign key (joinable in SQL)."""

    content_object = models.ForeignKey(Investigation, on_delete=models.CASCADE)


class InvestigationGroupObjectPermission(GroupObjectPermissionBase):
    """django-guardian grant to a group: a unit's or a force's sharing group."""

    content_object = models.ForeignKey(Investigation, on_delete=models.CASCADE)


class RetentionGroup(models.IntegerChoices):
    """The Management of Police Information (MoPI) retention groups, as applied here (see
    docs/decisions/0004-retention.md)."""

    PUBLIC_PROTECTION = 1, "Group 1: certain public protection matters"
    SERIOUS = 2, "Group 2: other sexual, violent or serious offences"
    OTHER = 3, "Group 3: all other records"


class RetentionDecision(models.TextChoices):
    RETAIN = "retain", "Retain"
    DISPOSE = "dispose", "Dispose"


class IntakeSubmission(models.Model):
    """One use of the "Log a new report" form: the token it was opened with (a hidden field, new
    each time the form opens) and the report it logged. The form sent twice (a double click
    without JavaScript, a page resent from the browser's history) finds the report already
    logged instead of logging it again: the token is unique, so a second submission made at
    the same moment waits for the first and then finds it."""

    token = models.UUIDField(primary_key=True)
    investigation = models.ForeignKey(
        Investigation, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Intake {self.token}"


class RetentionReview(models.Model):
    """A MoPI review of a closed record: retain (with the reason and the next review date) or
    dispose. A disposal erases the case and keeps only this row, which names what was erased:
    nothing is deleted silently. So the row keeps the reference and force in its own columns,
    and its link to the investigation is cleared when that is erased."""

    investigation = models.ForeignKey(
        Investigation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="retention_reviews",
    )
    reference = models.CharField(max_length=20)
    force = models.ForeignKey("accounts.Force", on_delete=models.PROTECT, related_name="+")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(default=timezone.now)
    retention_group = models.PositiveSmallIntegerField(choices=RetentionGroup.choices)
    decision = models.CharField(max_length=10, choices=RetentionDecision.choices)
    reason = models.TextField(max_length=5000)
    next_review_on = models.DateField(null=True, blank=True)
    erased = models.JSONField(
        default=dict, blank=True, help_text="Rows erased by a disposal, by kind of record"
    )

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        indexes = [
            models.Index(fields=["force", "-reviewed_at"], name="retention_force_at"),
            models.Index(fields=["reference"], name="retention_reference"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reason=""), name="retention_review_has_reason"
            ),
            models.CheckConstraint(
                condition=models.Q(decision="dispose") | models.Q(next_review_on__isnull=False),
                name="retention_retain_has_next_review",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.get_decision_display()} on {self.reviewed_at:%Y-%m-%d}"


class RetentionNotice(models.Model):
    """One row per force per day on which its administrators were told of records due for
    review: the daily task sends each notice once, however often it runs."""

    force = models.ForeignKey("accounts.Force", on_delete=models.CASCADE, related_name="+")
    on = models.DateField()
    due = models.PositiveIntegerField()
    sent_to = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["force", "on"], name="retention_notice_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.force_id} {self.on}: {self.due} due"

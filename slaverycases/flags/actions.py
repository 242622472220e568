"""Writes for flags: the reconcile step that the rules feed, and the supervisor's actions."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from investigations.models import Investigation, TimelineEvent, TimelineKind
from slaverycases.audit.actions import audit_record
from slaverycases.audit.models import AuditAction
from slaverycases.core.errors import DomainError, NotPermitted
from slaverycases.flags import access
from slaverycases.flags.models import (
    ACTIVE_STATUSES,
    Flag,
    FlagKind,
    FlagRun,
    FlagSettings,
    FlagStatus,
    Severity,
)
from slaverycases.flags.rules import RULES

if TYPE_CHECKING:
    from slaverycases.accounts.models import Force, User


def settings_for(force: Force) -> FlagSettings:
    cfg, _ = FlagSettings.objects.get_or_create(force=force)
    return cfg


def _advisory_lock(key: str) -> None:
    """Serialise scans of the same scope across workers (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return
    number = int.from_bytes(
        hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [number])


def reconcile(
    kind: str,
    rows: Iterable[tuple[int, int | None, int, dict[str, Any]]],
    *,
    scope: Any,
    now: datetime,
) -> tuple[list[Flag], int]:
    """Make the active flags of `kind` within `scope` (a queryset of investigations) match the
    rule's rows: open new ones, refresh evidence and severity of those still true, resolve those
    whose condition has cleared. Returns (opened flags, number resolved)."""
    wanted = {(inv, victim or 0): (victim, sev, ev) for inv, victim, sev, ev in rows}
    existing = {
        (f["investigation_id"], f["victim_key"]): f
        for f in Flag.objects.filter(
            kind=kind, status__in=ACTIVE_STATUSES, investigation__in=scope.values("pk")
        ).values("pk", "investigation_id", "victim_key", "severity", "evidence")
    }
    dismissed = set(
        Flag.objects.filter(
            kind=kind, status=FlagStatus.DISMISSED, investigation__in=scope.values("pk")
        ).values_list("investigation_id", "victim_key")
    )
    new = [
        Flag(
            kind=kind,
            investigation_id=key[0],
            victim_id=victim,
            victim_key=key[1],
            severity=severity,
            evidence=evidence,
            raised_at=now,
        )
        for key, (victim, severity, evidence) in wanted.items()
        if key not in existing and key not in dismissed
    ]
    # Two scans at once: the partial unique index turns the second insert into a no-op.
    Flag.objects.bulk_create(new, ignore_conflicts=True, batch_size=2000)
    cleared = [f["pk"] for key, f in existing.items() if key not in wanted]
    resolved = 0
    if cleared:
        resolved = Flag.objects.filter(pk__in=cleared, status__in=ACTIVE_STATUSES).update(
            status=FlagStatus.RESOLVED, resolved_at=now
        )
    changed = [
        Flag(pk=f["pk"], severity=wanted[key][1], evidence=wanted[key][2])
        for key, f in existing.items()
        if key in wanted and (f["severity"], f["evidence"]) != wanted[key][1:]
    ]
    if changed:
        Flag.objects.bulk_update(changed, ["severity", "evidence"], batch_size=2000)
    opened = (
        list(
            Flag.objects.filter(kind=kind, raised_at=now, status=FlagStatus.OPEN).filter(
                investigation__in=scope.values("pk")
            )
        )
        if new
        else []
    )
    if opened:
        labels = dict(FlagKind.choices)
        TimelineEvent.objects.bulk_create(
            [
                TimelineEvent(
                    investigation_id=f.investigation_id,
                    kind=TimelineKind.FLAG,
                    text=f"Flag raised: {labels[kind]} ({f.get_severity_display().lower()})",
                    at=now,
                )
                for f in opened
            ],
            batch_size=2000,
        )
    if resolved:
        TimelineEvent.objects.bulk_create(
            [
                TimelineEvent(
                    investigation_id=existing[key]["investigation_id"],
                    kind=TimelineKind.FLAG,
                    text=f"Flag cleared: {dict(FlagKind.choices)[kind]}",
                    at=now,
                )
                for key, f in existing.items()
                if key not in wanted
            ],
            batch_size=2000,
        )
    return opened, resolved


def scan(
    *, force: Force, investigation_ids: list[int] | None = None, now: datetime | None = None
) -> FlagRun:
    """Run every rule over a force's cases (or a few of them), in one transaction per force."""
    now = now or timezone.now()
    run = FlagRun.objects.create(
        force=force,
        started_at=now,
        investigation_id=investigation_ids[0] if investigation_ids else None,
    )
    opened_all: list[Flag] = []
    try:
        with transaction.atomic():
            _advisory_lock(f"flags:{force.pk}")
            cfg = settings_for(force)
            scope = Investigation.objects.filter(force=force)
            if investigation_ids is not None:
                scope = scope.filter(pk__in=investigation_ids)
            opened: Counter[str] = Counter()
            resolved: Counter[str] = Counter()
            for kind, rule in RULES.items():
                flags, cleared = reconcile(kind, rule(scope, cfg, now), scope=scope, now=now)
                opened[kind] += len(flags)
                resolved[kind] += cleared
                opened_all.extend(flags)
            run.opened = dict(opened)
            run.resolved = dict(resolved)
            run.finished_at = timezone.now()
            run.save(update_fields=["opened", "resolved", "finished_at"])
    except Exception as exc:
        FlagRun.objects.filter(pk=run.pk).update(error=repr(exc)[:2000], finished_at=timezone.now())
        raise
    high = [f.pk for f in opened_all if f.severity == Severity.HIGH]
    if high:
        transaction.on_commit(lambda: _notify_supervisors(high))
    return run


def _notify_supervisors(flag_ids: list[int]) -> None:
    """E-mail the responsible supervisor when a high-severity flag opens (no case details in
    the e-mail: only the reference and a link)."""
    flags = Flag.objects.filter(pk__in=flag_ids).select_related("investigation__supervisor")
    for flag in flags:
        supervisor = flag.investigation.supervisor
        if supervisor is None or not supervisor.email:
            continue
        send_mail(
            subject=f"[OFFICIAL-SENSITIVE] High-severity flag on {flag.investigation.reference}",
            message=(
                f"A {flag.get_kind_display().lower()} flag has been raised on "
                f"{flag.investigation.reference}. Sign in to slaverycases to review it.\n"
            ),
            from_email=None,
            recipient_list=[supervisor.email],
            fail_silently=True,
        )


def open_counts(scope: Any = None) -> dict[str, int]:
    qs = Flag.objects.filter(status__in=ACTIVE_STATUSES)
    if scope is not None:
        qs = qs.filter(investigation__in=scope.values("pk"))
    return dict(Counter(qs.values_list("kind", flat=True).iterator()))


def _act(flag: Flag, actor: User, status: str, reason: str = "") -> Flag:
    with transaction.atomic():
        flag = Flag.objects.select_for_update().select_related("investigation").get(pk=flag.pk)
        if not access.may_act_on_flag(actor, flag):
            raise NotPermitted("You cannot act on this flag.")
        if flag.status not in ACTIVE_STATUSES:
            raise DomainError(f"This flag is already {flag.get_status_display().lower()}.")
        if status == FlagStatus.ACKNOWLEDGED and flag.status == FlagStatus.ACKNOWLEDGED:
            raise DomainError("This flag is already acknowledged.")
        if status == FlagStatus.DISMISSED and not reason.strip():
            raise DomainError("Give the reason for dismissing the flag.")
        flag.status = status
        flag.acted_by = actor
        flag.acted_at = timezone.now()
        flag.reason = reason
        if status in (FlagStatus.RESOLVED, FlagStatus.DISMISSED):
            flag.resolved_at = flag.acted_at
        flag.save(update_fields=["status", "acted_by", "acted_at", "reason", "resolved_at"])
        TimelineEvent.objects.create(
            investigation=flag.investigation,
            actor=actor,
            kind=TimelineKind.FLAG,
            text=f"Flag {flag.get_status_display().lower()}: {flag.get_kind_display()}"
            + (f" ({reason})" if reason else ""),
        )
        audit_record(
            actor=actor,
            action=AuditAction.ALTERATION,
            obj=flag,
            investigation_reference=flag.investigation.reference,
            justification=reason,
        )
    return flag


def flag_acknowledge(flag: Flag, *, actor: User) -> Flag:
    return _act(flag, actor, FlagStatus.ACKNOWLEDGED)


def flag_resolve(flag: Flag, *, actor: User, reason: str = "") -> Flag:
    return _act(flag, actor, FlagStatus.RESOLVED, reason)


def flag_dismiss(flag: Flag, *, actor: User, reason: str) -> Flag:
    return _act(flag, actor, FlagStatus.DISMISSED, reason)

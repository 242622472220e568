"""Writes for flags: the reconcile step that the rules feed, and the supervisor's actions."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from investigations.models import Investigation, TimelineEvent, TimelineKind
from slaverycases.audit.actions import audit_record
from slaverycases.audit.models import AuditAction
from slaverycases.core.actions import advisory_lock
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
    TaskDelivery,
)
from slaverycases.flags.rules import OCCURRENCE_KEYS, RECONCILE_SCOPES, RULES

if TYPE_CHECKING:
    from celery.app.task import Context

    from slaverycases.accounts.models import Force, User

logger = logging.getLogger(__name__)


def settings_for(force: Force) -> FlagSettings:
    cfg, _ = FlagSettings.objects.get_or_create(force=force)
    return cfg


def reconcile(
    kind: str,
    rows: Iterable[tuple[int, int | None, int, dict[str, Any]]],
    *,
    scope: Any,
    now: datetime,
) -> tuple[list[tuple[int, int]], int]:
    """Make the active flags of `kind` within `scope` (a queryset of investigations) match the
    rule's rows: open new ones, refresh evidence and severity of those still true, resolve those
    whose condition has cleared. Returns (the opened flags' ids and severities, number
    resolved): ids, not Flag objects, since the first national scan opens about 180,000.

    A dismissed flag silences its rule only while the condition it was raised on keeps holding
    (docs/decisions/0006): when the rule stops returning its (case, victim), the dismissal's
    `resolved_at` is moved on to the scan's time (later than its `acted_at`), and it silences
    nothing more; and a row that reports a new occurrence (rules.OCCURRENCE_KEYS) opens a new
    flag even while the dismissed one's condition holds.

    On PostgreSQL the rows stream into a temporary table and are compared with the flags in
    SQL, so memory stays flat whatever the number of rows; elsewhere in Python."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _reconcile_sql(kind, rows, scope=scope, now=now)
        return _reconcile_python(kind, rows, scope=scope, now=now)


_ACTIVE_SQL = "('open', 'acknowledged')"
# A dismissal whose condition has not cleared since: flag_dismiss sets resolved_at = acted_at,
# and the scan moves resolved_at past acted_at once the rule stops returning the flag's key.
_DISMISSAL_HOLDS = "f.status = 'dismissed' AND NOT COALESCE(f.resolved_at > f.acted_at, false)"
# The rule's row `w` reports an occurrence the dismissed flag `f` did not cover: for one of the
# kind's occurrence keys, a larger count or a later date than the dismissed flag's evidence
# (a value where the dismissed flag had none counts as new; a null one never does).
_NEWER_OCCURRENCE = """EXISTS (
    SELECT 1 FROM unnest(%(occurrence)s::text[]) AS o(k) WHERE CASE
    WHEN jsonb_typeof(w.evidence -> o.k) NOT IN ('number', 'string') THEN false
    WHEN jsonb_typeof(f.evidence -> o.k) IS DISTINCT FROM jsonb_typeof(w.evidence -> o.k)
        THEN true
    WHEN jsonb_typeof(w.evidence -> o.k) = 'number'
        THEN (w.evidence ->> o.k)::numeric > (f.evidence ->> o.k)::numeric
    ELSE (w.evidence ->> o.k)::timestamptz > (f.evidence ->> o.k)::timestamptz END)"""
_SEVERITY_TEXT = "CASE {col} WHEN 3 THEN 'high' WHEN 2 THEN 'medium' ELSE 'low' END"
_WANTED_COLUMNS = "seq, investigation_id, victim_id, victim_key, severity, evidence"


def _load_wanted(cursor: Any, rows: Iterable[tuple[int, int | None, int, dict[str, Any]]]) -> int:
    """Stream the rule's rows into the session's temporary table, in chunks: the rule reads
    through a server-side cursor on the same connection, which cannot run while a COPY is."""
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS flag_wanted (seq integer NOT NULL, "
        "investigation_id bigint NOT NULL, victim_id bigint, victim_key bigint NOT NULL, "
        "severity smallint NOT NULL, evidence jsonb NOT NULL)"
    )
    cursor.execute("TRUNCATE flag_wanted")
    count = 0
    chunk: list[tuple[Any, ...]] = []

    def flush() -> None:
        with cursor.cursor.copy(f"COPY flag_wanted ({_WANTED_COLUMNS}) FROM STDIN") as copy:
            for row in chunk:
                copy.write_row(row)
        chunk.clear()

    for inv, victim, severity, evidence in rows:
        count += 1
        chunk.append(
            (count, inv, victim, victim or 0, int(severity), json.dumps(evidence, cls=_Encoder))
        )
        if len(chunk) >= 5000:
            flush()
    if chunk:
        flush()
    if count > 1000:
        cursor.execute("ANALYZE flag_wanted")
    return count


def _reconcile_sql(
    kind: str,
    rows: Iterable[tuple[int, int | None, int, dict[str, Any]]],
    *,
    scope: Any,
    now: datetime,
) -> tuple[list[tuple[int, int]], int]:
    flag = Flag._meta.db_table
    timeline = TimelineEvent._meta.db_table
    investigation = Investigation._meta.db_table
    label = dict(FlagKind.choices)[kind]
    # No ORDER BY (the model's default ordering) in the subquery: PostgreSQL then turns it into
    # a semi-join probing the investigation's primary key instead of sorting the whole scope.
    scope_sql, scope_params = scope.order_by().values("pk").query.sql_with_params()
    # The last row wins when a rule yields the same key twice (as the dict did).
    wanted = (
        "SELECT DISTINCT ON (investigation_id, victim_key) * FROM flag_wanted "
        "ORDER BY investigation_id, victim_key, seq DESC"
    )
    with connection.cursor() as cursor:
        _load_wanted(cursor, rows)
        # 1. Open the new ones (not active, not silenced by a dismissal whose condition still
        #    holds and which covers what the row reports), with their timeline events. Two
        #    scans at once: the partial unique index turns the second insert into a no-op.
        cursor.execute(
            f"""
            WITH w AS ({wanted}),
            ins AS (
                INSERT INTO {flag} (kind, investigation_id, unit_id, victim_id, victim_key,
                    severity, raised_at, evidence, status, reason, acted_by_id, acted_at,
                    resolved_at)
                SELECT %(kind)s::varchar, w.investigation_id, i.unit_id, w.victim_id,
                    w.victim_key, w.severity, %(now)s::timestamptz, w.evidence, 'open', '',
                    NULL, NULL, NULL
                FROM w JOIN {investigation} i ON i.id = w.investigation_id
                WHERE NOT EXISTS (
                    SELECT 1 FROM {flag} f WHERE f.kind = %(kind)s
                    AND f.investigation_id = w.investigation_id AND f.victim_key = w.victim_key
                    AND f.status IN {_ACTIVE_SQL})
                AND NOT EXISTS (
                    SELECT 1 FROM {flag} f WHERE f.kind = %(kind)s
                    AND f.investigation_id = w.investigation_id AND f.victim_key = w.victim_key
                    AND {_DISMISSAL_HOLDS} AND NOT {_NEWER_OCCURRENCE})
                ORDER BY w.severity DESC, w.investigation_id, w.victim_key
                ON CONFLICT DO NOTHING
                RETURNING id, investigation_id, severity
            ),
            tl AS (
                INSERT INTO {timeline} (investigation_id, at, actor_id, kind, text)
                SELECT investigation_id, %(now)s::timestamptz, NULL, 'flag',
                    %(raised)s::text || {_SEVERITY_TEXT.format(col="severity")} || ')'
                FROM ins ORDER BY severity DESC, id
            )
            SELECT id, severity FROM ins ORDER BY severity DESC, id
            """,  # noqa: S608 - table names and constants only
            {
                "kind": kind,
                "now": now,
                "raised": f"Flag raised: {label} (",
                "occurrence": list(OCCURRENCE_KEYS.get(kind, ())),
            },
        )
        opened = [(pk, severity) for pk, severity in cursor.fetchall()]
        # 2. Resolve the active ones whose condition has cleared.
        cursor.execute(
            f"""
            WITH cleared AS (
                UPDATE {flag} f SET status = 'resolved', resolved_at = %s
                WHERE f.kind = %s AND f.status IN {_ACTIVE_SQL}
                AND f.investigation_id IN ({scope_sql})
                AND NOT EXISTS (
                    SELECT 1 FROM flag_wanted w
                    WHERE w.investigation_id = f.investigation_id
                    AND w.victim_key = f.victim_key)
                RETURNING f.id, f.investigation_id
            )
            INSERT INTO {timeline} (investigation_id, at, actor_id, kind, text)
            SELECT investigation_id, %s, NULL, 'flag', %s FROM cleared ORDER BY id
            """,  # noqa: S608 - table names and constants only
            [now, kind, *scope_params, now, f"Flag cleared: {label}"],
        )
        resolved = cursor.rowcount
        # 2b. Dismissed flags whose condition has cleared no longer silence the rule: the next
        #     occurrence opens a new flag. Quietly: the flag left the queue when dismissed.
        #     (Not before the dismissal itself: a scan whose rows were read before it.)
        cursor.execute(
            f"""
            UPDATE {flag} f SET resolved_at = %s
            WHERE f.kind = %s AND {_DISMISSAL_HOLDS} AND f.acted_at < %s
            AND f.investigation_id IN ({scope_sql})
            AND NOT EXISTS (
                SELECT 1 FROM flag_wanted w
                WHERE w.investigation_id = f.investigation_id
                AND w.victim_key = f.victim_key)
            """,  # noqa: S608 - table names and constants only
            [now, kind, now, *scope_params],
        )
        # 3. Refresh severity and evidence of those still true, only where they changed.
        cursor.execute(
            f"""
            UPDATE {flag} f SET severity = w.severity, evidence = w.evidence
            FROM ({wanted}) w
            WHERE f.kind = %s AND f.status IN {_ACTIVE_SQL}
            AND f.investigation_id = w.investigation_id AND f.victim_key = w.victim_key
            AND (f.severity <> w.severity OR f.evidence <> w.evidence)
            """,  # noqa: S608 - table names and constants only
            [kind],
        )
    return opened, resolved


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if hasattr(o, "isoformat"):
            return o.isoformat()
        return super().default(o)


def _reconcile_python(
    kind: str,
    rows: Iterable[tuple[int, int | None, int, dict[str, Any]]],
    *,
    scope: Any,
    now: datetime,
) -> tuple[list[tuple[int, int]], int]:
    """The same reconcile in Python, for SQLite (small databases only)."""
    wanted = {(inv, victim or 0): (victim, sev, ev) for inv, victim, sev, ev in rows}
    existing = {
        (f["investigation_id"], f["victim_key"]): f
        for f in Flag.objects.filter(
            kind=kind, status__in=ACTIVE_STATUSES, investigation__in=scope.values("pk")
        ).values("pk", "investigation_id", "victim_key", "severity", "evidence")
    }
    occurrence = OCCURRENCE_KEYS.get(kind, ())
    holding: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for f in Flag.objects.filter(
        kind=kind, status=FlagStatus.DISMISSED, investigation__in=scope.values("pk")
    ).values("pk", "investigation_id", "victim_key", "evidence", "acted_at", "resolved_at"):
        if not (f["resolved_at"] and f["acted_at"] and f["resolved_at"] > f["acted_at"]):
            holding.setdefault((f["investigation_id"], f["victim_key"]), []).append(f)
    new_keys = [
        key
        for key in wanted
        if key not in existing
        and not any(
            not _newer_occurrence(wanted[key][2], f["evidence"], occurrence)
            for f in holding.get(key, [])
        )
    ]
    units = dict(
        Investigation.objects.filter(pk__in={inv for inv, _ in new_keys}).values_list(
            "pk", "unit_id"
        )
    )
    new = [
        Flag(
            kind=kind,
            investigation_id=key[0],
            unit_id=units[key[0]],
            victim_id=victim,
            victim_key=key[1],
            severity=severity,
            evidence=evidence,
            raised_at=now,
        )
        for key in new_keys
        for victim, severity, evidence in [wanted[key]]
    ]
    # Two scans at once: the partial unique index turns the second insert into a no-op.
    Flag.objects.bulk_create(new, ignore_conflicts=True, batch_size=2000)
    cleared = [f["pk"] for key, f in existing.items() if key not in wanted]
    resolved = 0
    if cleared:
        resolved = Flag.objects.filter(pk__in=cleared, status__in=ACTIVE_STATUSES).update(
            status=FlagStatus.RESOLVED, resolved_at=now
        )
    lapsed = [
        f["pk"]
        for key, flags in holding.items()
        if key not in wanted
        for f in flags
        if f["acted_at"] and f["acted_at"] < now
    ]
    if lapsed:
        Flag.objects.filter(pk__in=lapsed).update(resolved_at=now)
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
    return [(f.pk, f.severity) for f in opened], resolved


def _occurrence_value(value: Any) -> Any:
    """An occurrence key's value, comparable as _NEWER_OCCURRENCE compares it in SQL."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


def _newer_occurrence(new: dict[str, Any], old: dict[str, Any], keys: Iterable[str]) -> bool:
    for key in keys:
        now_value, then_value = _occurrence_value(new.get(key)), _occurrence_value(old.get(key))
        if now_value is None:
            continue
        if then_value is None or isinstance(now_value, datetime) != isinstance(
            then_value, datetime
        ):
            return True
        if now_value > then_value:
            return True
    return False


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
    high: list[int] = []
    try:
        with transaction.atomic():
            advisory_lock(f"flags:{force.pk}")
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    # Many short set-based queries: compiling them costs more than it saves.
                    cursor.execute("SET LOCAL jit = off")
                    # The rules stream through server-side cursors, which PostgreSQL otherwise
                    # plans for the first 10% of rows (nested loops over whole tables); they
                    # always read every row.
                    cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")
                    # The scan's working set is in memory: probing an index beats hashing a
                    # whole force's cases to match a few thousand flags.
                    cursor.execute("SET LOCAL random_page_cost = 1.1")
            cfg = settings_for(force)
            scope = Investigation.objects.filter(force=force)
            if investigation_ids is not None:
                scope = scope.filter(pk__in=investigation_ids)
            opened: Counter[str] = Counter()
            resolved: Counter[str] = Counter()
            for kind, rule in RULES.items():
                narrow = RECONCILE_SCOPES.get(kind)
                where = narrow(scope, cfg, now) if narrow else scope
                flags, cleared = reconcile(kind, rule(scope, cfg, now), scope=where, now=now)
                opened[kind] += len(flags)
                resolved[kind] += cleared
                high.extend(pk for pk, severity in flags if severity == Severity.HIGH)
                del flags
            run.opened = dict(opened)
            run.resolved = dict(resolved)
            run.finished_at = timezone.now()
            run.save(update_fields=["opened", "resolved", "finished_at"])
    except Exception as exc:
        FlagRun.objects.filter(pk=run.pk).update(error=repr(exc)[:2000], finished_at=timezone.now())
        raise
    if high:
        transaction.on_commit(lambda: _notify_supervisors(high))
    return run


def _notify_supervisors(flag_ids: list[int]) -> None:
    """E-mail each responsible supervisor once per scan about the high-severity flags that
    opened on their cases (a digest: the first national scan must not send 100,000 e-mails).
    No case details: only references and the kind of flag."""
    # Plain rows, not Flag objects: the first national scan opens about 60,000 high flags.
    by_supervisor: dict[int, tuple[str, list[tuple[str, str]]]] = {}
    labels = dict(FlagKind.choices)
    rows = (
        Flag.objects.filter(pk__in=flag_ids, investigation__supervisor__isnull=False)
        .exclude(investigation__supervisor__email="")
        .order_by("investigation__reference", "id")
        .values_list(
            "investigation__supervisor_id",
            "investigation__supervisor__email",
            "investigation__reference",
            "kind",
        )
    )
    for supervisor_id, email, reference, kind in rows.iterator(chunk_size=5000):
        by_supervisor.setdefault(supervisor_id, (email, []))[1].append((reference, kind))
    for email, flagged in by_supervisor.values():
        lines = [f"- {reference}: {labels[kind].lower()} flag" for reference, kind in flagged[:50]]
        if len(flagged) > 50:
            lines.append(f"- and {len(flagged) - 50} more")
        subject = (
            f"[OFFICIAL-SENSITIVE] High-severity flag on {flagged[0][0]}"
            if len(flagged) == 1
            else f"[OFFICIAL-SENSITIVE] {len(flagged)} high-severity flags on your cases"
        )
        send_mail(
            subject=subject,
            message="New high-severity flags:\n"
            + "\n".join(lines)
            + "\n\nSign in to slaverycases to review them.\n",
            from_email=None,
            recipient_list=[email],
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


# --- the redelivery cap -----------------------------------------------------------------------

#: A task message started this many times without finishing is not started again. Its worker
#: died each time (killed, out of memory), and with acks_late the broker would otherwise deliver
#: it for ever: again at once when a pool process is lost (reject_on_worker_lost), or after
#: Redis' visibility timeout when the whole worker is.
MAX_DELIVERIES = 3
#: Rows of starts that died and whose message never came back (it expired): far older than
#: any message still in flight (the visibility timeout is an hour).
STALE_DELIVERY = timedelta(days=1)


def task_delivery_start(
    request: Context, *, force_id: int | None = None, investigation_id: int | None = None
) -> bool:
    """Count a worker's start of a task message (committed before the task does anything).
    Returns False when the message has been started more than MAX_DELIVERIES times without
    finishing: the task must then return at once, and the message is acknowledged. The give-up
    is recorded once, however often the message comes back: an ERROR log line and a failed
    FlagRun for the admin's run log.

    A start that ends, well or badly, deletes its row (task_delivery_finish), so only starts
    whose worker died add up. A retry is a new message (Celery's retry number goes up) and
    counts afresh. Tasks run in-process (CELERY_TASK_ALWAYS_EAGER) have no broker to
    redeliver them and are not counted."""
    if request.is_eager or not request.id:
        return True
    now = timezone.now()
    retries = request.retries or 0
    with transaction.atomic():
        row, created = TaskDelivery.objects.select_for_update().get_or_create(
            task_id=request.id,
            defaults={
                "task_name": request.task or "",
                "retries": retries,
                "first_started_at": now,
                "last_started_at": now,
            },
        )
        if not created:
            if row.retries == retries:
                row.deliveries += 1
            else:
                row.retries, row.deliveries, row.first_started_at = retries, 1, now
            row.last_started_at = now
            row.save(update_fields=["retries", "deliveries", "first_started_at", "last_started_at"])
        if row.deliveries <= MAX_DELIVERIES:
            return True
        if row.gave_up_at is None:
            if force_id is None and investigation_id is not None:
                cases = Investigation.objects.filter(pk=investigation_id)
                force_id = cases.values_list("force_id", flat=True).first()
            row.gave_up_at = now
            row.save(update_fields=["gave_up_at"])
            error = (
                f"Gave up on {row.task_name}[{row.task_id}]: started {row.deliveries - 1} times "
                "and its worker died each time. Not run again; the next scheduled scan tries "
                "afresh."
            )
            FlagRun.objects.create(
                force_id=force_id,
                investigation_id=investigation_id,
                started_at=row.first_started_at,
                finished_at=now,
                error=error,
            )
            logger.error(error)
    return False


def task_delivery_finish(request: Context) -> None:
    """The start counted by task_delivery_start has ended (success, error or retry)."""
    if request.is_eager or not request.id:
        return
    TaskDelivery.objects.filter(task_id=request.id, gave_up_at__isnull=True).delete()


def task_delivery_purge() -> int:
    """Delete the rows left by starts that died and whose message never came back."""
    stale = TaskDelivery.objects.filter(
        gave_up_at__isnull=True, last_started_at__lt=timezone.now() - STALE_DELIVERY
    )
    return stale.delete()[0]

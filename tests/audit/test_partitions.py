"""The audit table is partitioned by month (migration 0005): rows land in their month's
partition, the append-only trigger holds on every partition, and the daily task creates the
months ahead, idempotently, never failing a write whose month has no partition."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from slaverycases.audit.actions import audit_partitions_ensure, audit_record
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.audit.tasks import ensure_partitions

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="declarative partitioning is PostgreSQL's"
)


def partition_of(event: AuditEvent) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM audit_auditevent WHERE id = %s", [event.pk]
        )
        return cursor.fetchone()[0]


def partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'audit_auditevent'::regclass"
        )
        return {row[0] for row in cursor.fetchall()}


def test_the_table_is_partitioned_by_month_with_the_months_ahead(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partstrat FROM pg_partitioned_table "
            "WHERE partrelid = 'audit_auditevent'::regclass"
        )
        assert cursor.fetchone() == ("r",)
    today = timezone.now().astimezone(UTC).date()
    names = partitions()
    assert "audit_auditevent_default" in names
    month = date(today.year, today.month, 1)
    for _ in range(4):
        assert f"audit_auditevent_{month:%Y_%m}" in names
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)


def test_a_row_lands_in_its_months_partition_and_stays_append_only(db, officer):
    event = audit_record(actor=officer, action=AuditAction.CONSULTATION, obj=officer)
    assert partition_of(event) == f"audit_auditevent_{event.at.astimezone(UTC):%Y_%m}"
    assert AuditEvent.objects.get(pk=event.pk) == event
    part = partition_of(event)
    for sql in (
        f"UPDATE {part} SET justification = 'tampered' WHERE id = %s",  # noqa: S608
        f"DELETE FROM {part} WHERE id = %s",  # noqa: S608
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk, justification="").exists()


def test_a_month_without_a_partition_goes_to_the_default_and_is_then_left_to_it(db, officer):
    far = datetime(2041, 3, 9, 10, 0, tzinfo=UTC)
    event = AuditEvent.objects.create(
        at=far, actor=officer, actor_username=officer.username, action=AuditAction.SIGN_IN
    )
    assert partition_of(event) == "audit_auditevent_default"
    created = audit_partitions_ensure(date(2041, 2, 1), ahead=2)
    assert created == ["audit_auditevent_2041_02", "audit_auditevent_2041_04"]
    assert partition_of(event) == "audit_auditevent_default"  # not moved, not lost


def test_ensuring_partitions_is_idempotent(db):
    first = ensure_partitions.apply().get()
    assert first == []  # the migration made this month and the next three
    later = audit_partitions_ensure(date(2030, 12, 5), ahead=1)
    assert later == ["audit_auditevent_2030_12", "audit_auditevent_2031_01"]
    assert audit_partitions_ensure(date(2030, 12, 5), ahead=1) == []

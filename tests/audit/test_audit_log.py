import pytest
from django.db import DatabaseError, connection, transaction

from slaverycases.audit.actions import audit_record
from slaverycases.audit.models import AuditAction, AuditEvent


@pytest.mark.django_db
def test_audit_rows_cannot_be_updated_or_deleted(officer):
    event = audit_record(actor=officer, action=AuditAction.CONSULTATION, obj=officer)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action=AuditAction.ERASURE)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET justification = 'tampered'")
    event.refresh_from_db()
    assert event.action == AuditAction.CONSULTATION
    assert event.justification == ""


def test_auditor_reads_the_log_and_can_filter(client, auditor, officer):
    audit_record(actor=officer, action=AuditAction.CONSULTATION, obj=officer)
    client.force_login(auditor)
    response = client.get("/audit/", {"username": "officer.gmp"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "officer.gmp" in html
    assert "Consultation" in html


def test_audit_filter_rejects_a_backwards_date_range(client, auditor):
    client.force_login(auditor)
    response = client.get(
        "/audit/",
        {
            "date_from_day": "10",
            "date_from_month": "3",
            "date_from_year": "2026",
            "date_to_day": "1",
            "date_to_month": "3",
            "date_to_year": "2026",
        },
    )
    assert response.status_code == 400
    assert "To date must be the same as or after the from date" in response.content.decode()


@pytest.mark.parametrize("persona", ["officer", "supervisor", "safeguarding_lead", "force_admin"])
def test_only_auditors_read_the_log(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/audit/").status_code == 403


def test_audit_csv_export_is_itself_audited_and_neutralises_formulas(client, auditor, officer):
    audit_record(
        actor=officer,
        action=AuditAction.DISCLOSURE,
        obj=officer,
        recipient="=HYPERLINK(1)",
        justification="+cmd",
    )
    client.force_login(auditor)
    response = client.get("/audit/", {"format": "csv", "username": "officer.gmp"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0].startswith("at,username,ip_address,action")
    assert "'=HYPERLINK(1)" in body and "'+cmd" in body
    export = AuditEvent.objects.get(action=AuditAction.EXPORT, actor_username="auditor")
    assert export.detail["filters"] == {"username": "officer.gmp"}


def test_denied_and_hidden_pages_are_security_events(client, officer, other_force_officer):
    from tests import factories

    inv = factories.investigation(other_force_officer)
    client.force_login(officer)
    assert client.get(f"/investigations/{inv.reference}/").status_code == 404
    assert client.get("/audit/").status_code == 403
    denied = AuditEvent.objects.filter(
        action=AuditAction.ACCESS_DENIED, actor_username="officer.gmp"
    )
    assert sorted(e.detail["status"] for e in denied) == [403, 404]
    assert {e.detail["path"] for e in denied} == {f"/investigations/{inv.reference}/", "/audit/"}


@pytest.mark.django_db
def test_the_log_pages_without_counting_in_fixed_queries(client, auditor, officer):
    """The log grows without bound: it pages by fetching one row more than a page, never a
    COUNT(*) over every row, and the number of queries does not grow with the log."""
    from django.test.utils import CaptureQueriesContext

    for _ in range(60):
        audit_record(actor=officer, action=AuditAction.CONSULTATION, obj=officer)
    client.force_login(auditor)
    with CaptureQueriesContext(connection) as few:
        first = client.get("/audit/", {"username": "officer.gmp"})
    html = first.content.decode()
    assert "Events 1 to 50, newest first" in html
    assert "Page 1" in html and "Page 1 of" not in html
    assert "page=2" in html and 'rel="prev"' not in html
    assert not any("COUNT(" in q["sql"].upper() for q in few.captured_queries)
    second = client.get("/audit/", {"username": "officer.gmp", "page": "2"}).content.decode()
    assert "Events 51 to 60, newest first" in second
    assert 'rel="next"' not in second and 'rel="prev"' in second
    for _ in range(200):
        audit_record(actor=officer, action=AuditAction.CONSULTATION, obj=officer)
    with CaptureQueriesContext(connection) as many:
        client.get("/audit/", {"username": "officer.gmp"})
    assert len(many) == len(few)
    assert "No events match" in client.get("/audit/", {"username": "nobody"}).content.decode()

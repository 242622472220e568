"""With the broker down, a change still succeeds with its audit row, and the task it needs is
kept in PostgreSQL and sent once the broker is back (issue 8, item 8)."""

import pytest
from django.conf import settings
from django.test import override_settings

from investigations import actions
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.celery import app
from slaverycases.core import outbox
from slaverycases.core.models import QueuedTask
from tests import factories

DEAD_BROKER = "redis://127.0.0.1:1/0"


@pytest.mark.django_db(transaction=True)
def test_a_change_made_while_the_broker_is_down_keeps_its_audit_row_and_its_task(people):
    real_broker = settings.CELERY_BROKER_URL
    if not real_broker.startswith("redis://"):
        pytest.skip("needs a Redis broker to come back to")
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    QueuedTask.objects.all().delete()
    app.conf.task_always_eager = False
    try:
        with override_settings(CELERY_BROKER_URL=DEAD_BROKER, CELERY_TASK_ALWAYS_EAGER=False):
            actions.enquiry_add(
                inv,
                actor=officer,
                description="Visit the site",
                substantive=True,
                owner=officer,
            )
        assert AuditEvent.objects.filter(
            action=AuditAction.COLLECTION, object_type="investigations.enquiry"
        ).exists()
        (kept,) = QueuedTask.objects.all()
        assert kept.name == "slaverycases.flags.tasks.scan_investigation"
        assert kept.args == [inv.pk]
        assert kept.sent_at is None and kept.attempts == 1 and kept.last_error

        assert outbox.flush() == 1  # the broker is back
        kept.refresh_from_db()
        assert kept.sent_at is not None
        assert outbox.flush() == 0  # sent once, never twice
    finally:
        app.control.purge()
        app.conf.task_always_eager = True

"""Security events from django.contrib.auth's signals (the only hook it offers)."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from slaverycases.audit.actions import audit_record
from slaverycases.audit.models import AuditAction


@receiver(user_logged_in, dispatch_uid="audit.sign_in")
def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(actor=user, action=AuditAction.SIGN_IN)


@receiver(user_logged_out, dispatch_uid="audit.sign_out")
def _signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(actor=user, action=AuditAction.SIGN_OUT)


@receiver(user_locked_out, dispatch_uid="audit.lockout")
def _locked_out(sender: Any, request: Any = None, username: str = "", **kwargs: Any) -> None:
    audit_record(actor=None, action=AuditAction.LOCKOUT, username=str(username or "")[:150])


@receiver(user_login_failed, dispatch_uid="audit.sign_in_failed")
def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    # The password is never recorded; Django already masks it in `credentials`.
    audit_record(
        actor=None,
        action=AuditAction.SIGN_IN_FAILED,
        username=str(credentials.get("username", ""))[:150],
    )

"""Two-factor sign-in: TOTP enrolment on first sign-in, verification, single-use recovery codes
stored hashed, session key rotated after the second factor, and step-up for sensitive steps."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from functools import cache, wraps
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.middleware import OTPMiddleware
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from slaverycases.accounts.models import RecoveryCode, User
from slaverycases.audit.actions import audit_record
from slaverycases.audit.models import AuditAction
from slaverycases.core.compiled import CompiledQuery, compiled_filter

VERIFIED_AT = "otp_verified_at"
RECOVERY_CODE = re.compile(r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}")  # as enrolment_confirm makes
OPEN_PATHS = (
    "/account/two-factor/",
    "/account/sign-out/",
    "/account/sign-in/",
    "/healthz",
    "/static/",
)


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


@transaction.atomic
def device_for_enrolment(user: User) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def _mark_verified(request: HttpRequest, device: TOTPDevice) -> None:
    otp_login(request, device)
    request.session.cycle_key()  # a new session id once the second factor is proven
    request.session[VERIFIED_AT] = time.time()


@transaction.atomic
def enrolment_confirm(request: HttpRequest, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the new device with a code from it; return the recovery codes (shown once)."""
    if not device.verify_token(token.strip().replace(" ", "")):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    user = request.user
    RecoveryCode.objects.filter(user=user).delete()
    codes = [
        f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}" for _ in range(10)
    ]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=make_password(code)) for code in codes
    )
    audit_record(
        actor=user,
        action=AuditAction.SECOND_FACTOR,
        obj=user,
        detail={"event": "authenticator enrolled", "recovery_codes": len(codes)},
    )
    _mark_verified(request, device)
    return codes


@transaction.atomic
def verify(request: HttpRequest, token: str) -> bool:
    """A code from the app, or an unused recovery code (then used up)."""
    user = request.user
    device = confirmed_device(user)
    token = token.strip().replace(" ", "")
    if device is None:
        return False
    # The device's throttle (django-otp: a wait that doubles with each failure) covers recovery
    # codes too: each of those is checked against up to ten slow password hashes, so without it
    # anyone holding the password could keep the web workers busy, or guess codes.
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        audit_record(
            actor=user,
            action=AuditAction.SECOND_FACTOR,
            obj=user,
            detail={"event": "code refused", "throttled": True},
        )
        return False
    if token.isdigit() and device.verify_token(token):
        _mark_verified(request, device)
        audit_record(
            actor=user,
            action=AuditAction.SECOND_FACTOR,
            obj=user,
            detail={"event": "code accepted"},
        )
        return True
    recovery = RECOVERY_CODE.fullmatch(token.lower()) is not None
    codes = RecoveryCode.objects.select_for_update().filter(user=user, used_at__isnull=True)
    for code in codes if recovery else ():
        if check_password(token.lower(), code.code_hash):
            code.used_at = timezone.now()
            code.save(update_fields=["used_at"])
            device.throttle_reset()
            _mark_verified(request, device)
            audit_record(
                actor=user,
                action=AuditAction.SECOND_FACTOR,
                obj=user,
                detail={"event": "recovery code used"},
            )
            return True
    if not token.isdigit():
        device.throttle_increment()  # verify_token counted a wrong app code itself
    audit_record(
        actor=user, action=AuditAction.SECOND_FACTOR, obj=user, detail={"event": "code refused"}
    )
    return False


def recently_verified(request: HttpRequest) -> bool:
    if not settings.TWO_FACTOR_REQUIRED:
        return True
    return time.time() - request.session.get(VERIFIED_AT, 0) <= settings.STEP_UP_SECONDS


def step_up(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A fresh second factor (at most 5 minutes old) before an export, a share with another
    force or a change of permissions."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not recently_verified(request):
            query = urlencode({"next": request.get_full_path(), "step_up": "1"})
            return redirect(f"{reverse('accounts:two-factor')}?{query}")
        return view(request, *args, **kwargs)

    return wrapper


@cache
def _device_by_id(model: type[Device]) -> CompiledQuery[Device]:
    return compiled_filter(model, "id", param="id")


class DeviceMiddleware(OTPMiddleware):
    """django-otp's middleware (`request.user.otp_device`, `is_verified()`), with the session's
    device read by a compiled statement instead of a queryset built on every request."""

    def _device_from_persistent_id(self, persistent_id: str) -> Device | None:
        persistent_id = self._normalize_persistent_id(persistent_id)
        try:
            label, device_id = persistent_id.rsplit("/", 1)
            model = apps.get_model(label)
            pk = int(device_id)
        except (ValueError, LookupError):
            return None
        if not issubclass(model, Device):
            return None
        return _device_by_id(model).first(id=pk)


class TwoFactorMiddleware:
    """A signed-in user who has not proven their second factor only reaches its pages."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            settings.TWO_FACTOR_REQUIRED
            and user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(OPEN_PATHS)
        ):
            target = (
                "accounts:two-factor" if confirmed_device(user) else "accounts:two-factor-setup"
            )
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

"""Two-factor sign-in, recovery codes and step-up (issue 8, items 1 and 2)."""

import time

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.hashers import identify_hasher
from django.test import Client, override_settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from slaverycases.accounts.models import RecoveryCode
from slaverycases.accounts.twofactor import VERIFIED_AT
from slaverycases.audit.models import AuditAction, AuditEvent
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("two_factor_on")]


@pytest.fixture
def two_factor_on():
    with override_settings(TWO_FACTOR_REQUIRED=True):
        yield


def _code(device, offset=0):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset * device.step
    return f"{totp.token():0{device.digits}d}"


def _password(client, username="officer.gmp"):
    response = client.post(
        "/account/sign-in/", {"username": username, "password": settings.DEMO_PASSWORD}
    )
    assert response.status_code == 302
    return response


def _enrol(client):
    client.get("/account/two-factor/set-up/")
    device = TOTPDevice.objects.get(user__username="officer.gmp")
    response = client.post("/account/two-factor/set-up/", {"token": _code(device)})
    assert response.status_code == 200
    return device, response


def test_first_sign_in_requires_enrolment_then_shows_recovery_codes_once(people):
    client = Client()
    _password(client)
    response = client.get("/investigations/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/two-factor/set-up/")
    _device, page = _enrol(client)
    html = page.content.decode()
    assert "Your recovery codes" in html
    codes = RecoveryCode.objects.filter(user__username="officer.gmp")
    assert codes.count() == 10
    for code in codes:
        assert identify_hasher(code.code_hash)  # stored hashed, never in clear
        assert code.code_hash not in html
    assert client.get("/investigations/").status_code == 200
    assert AuditEvent.objects.filter(
        action=AuditAction.SECOND_FACTOR, detail__event="authenticator enrolled"
    ).exists()


def test_sign_in_with_a_code_rotates_the_session_and_codes_are_single_use(people):
    first = Client()
    _password(first)
    device, _ = _enrol(first)
    used = _code(device)
    device.refresh_from_db()

    client = Client()
    _password(client)
    before = client.session.session_key
    assert client.get("/").status_code == 302
    wrong = client.post("/account/two-factor/", {"token": "000000", "next": "/"})
    assert wrong.status_code == 400
    assert "The security code is not right" in wrong.content.decode()
    # the code already used for enrolment cannot be used again
    assert client.post("/account/two-factor/", {"token": used}).status_code == 400
    # failures throttle the device (django-otp backs off): a minute later it accepts a new code
    with time_machine.travel(time.time() + 60, tick=False):
        device.refresh_from_db()
        ok = client.post("/account/two-factor/", {"token": _code(device), "next": "/"})
    assert ok.status_code == 302
    assert client.session.session_key != before
    assert client.get("/").status_code == 200


def test_a_recovery_code_works_once(people):
    client = Client()
    _password(client)
    _, page = _enrol(client)
    code = page.content.decode().split("<code>")[1].split("</code>")[0]
    client.post("/account/sign-out/")

    again = Client()
    _password(again)
    assert again.post("/account/two-factor/", {"token": code, "next": "/"}).status_code == 302
    again.post("/account/sign-out/")
    third = Client()
    _password(third)
    assert third.post("/account/two-factor/", {"token": code}).status_code == 400


def test_sharing_needs_a_fresh_second_factor(people, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    client = Client()
    _password(client, "supervisor.gmp")
    device = TOTPDevice.objects.create(user=supervisor, name="app", confirmed=True)
    assert client.post("/account/two-factor/", {"token": _code(device)}).status_code == 302
    share_url = f"/investigations/{inv.reference}/share/"
    assert client.get(share_url).status_code == 200
    session = client.session
    session[VERIFIED_AT] = time.time() - 6 * 60
    session.save()
    response = client.get(share_url)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/two-factor/?next=")
    assert "step_up=1" in response["Location"]
    device.refresh_from_db()
    client.post("/account/two-factor/", {"token": _code(device, offset=1), "next": share_url})
    assert client.get(share_url).status_code == 200


def test_wrong_recovery_codes_are_throttled_like_wrong_app_codes(people):
    """Each recovery code tried costs up to ten slow hashes: the device's throttle (a wait
    that doubles with each failure) covers them, so they can neither be guessed nor used to
    keep the web workers busy. The wait over, the right code works and clears the count."""
    client = Client()
    _password(client)
    device, page = _enrol(client)
    code = page.content.decode().split("<code>")[1].split("</code>")[0]
    client.post("/account/sign-out/")

    again = Client()
    _password(again)
    with time_machine.travel(time.time(), tick=False) as clock:
        response = again.post("/account/two-factor/", {"token": "0000-0000-0000"})
        assert response.status_code == 400
        device.refresh_from_db()
        assert device.throttling_failure_count == 1
        clock.shift(2)  # the first wait is a second
        assert again.post("/account/two-factor/", {"token": "0000-0000-0001"}).status_code == 400
        device.refresh_from_db()
        assert device.throttling_failure_count == 2
        # Inside the wait: even the right recovery code is refused, and not used up.
        assert again.post("/account/two-factor/", {"token": code}).status_code == 400
        assert RecoveryCode.objects.filter(used_at__isnull=False).count() == 0
        refused = AuditEvent.objects.filter(action=AuditAction.SECOND_FACTOR).order_by("pk").last()
        assert refused.detail == {"event": "code refused", "throttled": True}
        clock.shift(60)
        assert again.post("/account/two-factor/", {"token": code, "next": "/"}).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0
    assert RecoveryCode.objects.filter(used_at__isnull=False).count() == 1

"""Lockout, session limits, sign-out, deactivation, passwords (issue 8, item 1)."""

import time

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client, override_settings

from slaverycases.accounts.actions import user_deactivate
from slaverycases.accounts.middleware import LAST_SEEN, SIGNED_IN_AT
from slaverycases.audit.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def _attempt(client, username, password="wrong-password-wrong"):
    return client.post("/account/sign-in/", {"username": username, "password": password})


@pytest.mark.parametrize("username", ["officer.gmp", "no.such.user"])
def test_five_failures_lock_the_username_the_same_way_known_or_not(people, username):
    client = Client(REMOTE_ADDR="10.1.1.1")
    for _ in range(4):
        assert _attempt(client, username).status_code == 400
    locked = _attempt(client, username)
    assert locked.status_code == 429
    assert "Sign-in locked" in locked.content.decode()
    # even the right password is refused while locked, from another address too
    other = Client(REMOTE_ADDR="10.9.9.9")
    again = other.post(
        "/account/sign-in/", {"username": username, "password": settings.DEMO_PASSWORD}
    )
    assert again.status_code == 429
    assert AuditEvent.objects.filter(action=AuditAction.LOCKOUT, actor_username=username).exists()


def test_five_failures_from_one_address_lock_that_address(people):
    client = Client(REMOTE_ADDR="10.2.2.2")
    for i in range(5):
        _attempt(client, f"someone{i}")
    response = client.post(
        "/account/sign-in/", {"username": "officer.gmp", "password": settings.DEMO_PASSWORD}
    )
    assert response.status_code == 429


def test_a_success_resets_the_count_of_consecutive_failures(people):
    client = Client(REMOTE_ADDR="10.3.3.3")
    for _ in range(4):
        _attempt(client, "officer.gmp")
    ok = client.post(
        "/account/sign-in/", {"username": "officer.gmp", "password": settings.DEMO_PASSWORD}
    )
    assert ok.status_code == 302
    client.post("/account/sign-out/")
    for _ in range(4):
        assert _attempt(client, "officer.gmp").status_code == 400


def _signed_in_client(username="officer.gmp"):
    client = Client()
    response = client.post(
        "/account/sign-in/", {"username": username, "password": settings.DEMO_PASSWORD}
    )
    assert response.status_code == 302
    return client


def _age_session(client, **seconds_ago):
    session = client.session
    now = time.time()
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


def test_idle_timeout_signs_out_on_the_server(people):
    client = _signed_in_client()
    assert client.get("/").status_code == 200
    key = client.session.session_key
    _age_session(client, **{LAST_SEEN: settings.SESSION_IDLE_SECONDS + 5})
    response = client.get("/investigations/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
    assert not Session.objects.filter(session_key=key).exists()
    follow = client.get(response["Location"])
    assert "without activity" in follow.content.decode()


def test_activity_keeps_the_session_alive(people):
    client = _signed_in_client()
    _age_session(client, **{LAST_SEEN: settings.SESSION_IDLE_SECONDS - 60})
    assert client.get("/").status_code == 200
    assert client.post("/account/keep-alive/").status_code == 204
    assert client.get("/").status_code == 200


def test_the_idle_clock_is_written_at_most_once_a_minute(people):
    """A page view within a minute of the last write costs no session write; after a minute,
    or on "Stay signed in", the clock moves on."""
    client = _signed_in_client()
    _age_session(client, **{LAST_SEEN: 30})
    written = client.session[LAST_SEEN]
    assert client.get("/").status_code == 200
    assert client.session[LAST_SEEN] == written
    _age_session(client, **{LAST_SEEN: 90})
    assert client.get("/").status_code == 200
    assert time.time() - client.session[LAST_SEEN] < 5
    _age_session(client, **{LAST_SEEN: 30})
    assert client.post("/account/keep-alive/").status_code == 204
    assert time.time() - client.session[LAST_SEEN] < 5


def test_absolute_limit_of_ten_hours(people):
    client = _signed_in_client()
    _age_session(client, **{SIGNED_IN_AT: settings.SESSION_ABSOLUTE_SECONDS + 5, LAST_SEEN: 1})
    response = client.get("/")
    assert response.status_code == 302
    assert "signed in for 10 hours" in client.get(response["Location"]).content.decode()


def test_sign_out_invalidates_the_session_on_the_server(people):
    client = _signed_in_client()
    key = client.session.session_key
    stolen = Client()
    stolen.cookies[settings.SESSION_COOKIE_NAME] = key
    assert stolen.get("/").status_code == 200
    client.post("/account/sign-out/")
    assert not Session.objects.filter(session_key=key).exists()
    assert stolen.get("/").status_code == 302


def test_deactivating_a_user_ends_all_their_sessions(people, force_admin):
    first, second = _signed_in_client(), _signed_in_client()
    other = _signed_in_client("supervisor.gmp")
    user_deactivate(people["officer.gmp"], actor=force_admin)
    assert first.get("/").status_code == 302
    assert second.get("/").status_code == 302
    assert other.get("/").status_code == 200


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short-pass", False),  # under 15
        ("x" * 65, False),  # over 64
        ("greater manchester rocks 2026", False),  # a force's name
        ("my gmp password is long", False),
        ("the police are my friends", False),
        ("correct horse battery stapler", True),  # no composition rules
        ("a" + "b" * 63, True),
    ],
)
def test_password_rules(people, password, ok):
    if ok:
        validate_password(password)
    else:
        with pytest.raises(ValidationError):
            validate_password(password)


@override_settings(DEBUG=False)
def test_security_headers_on_a_signed_in_page(people):
    client = _signed_in_client()
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.content.decode()


@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_hsts_for_a_year_over_https(people):
    response = Client().get("/account/sign-in/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_production_cookies_are_secure_with_the_host_prefix():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "DEBUG"))}
    env.update(DEBUG="0", SECRET_KEY="x" * 60, DJANGO_SETTINGS_MODULE="slaverycases.settings")
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_NAME, s.CSRF_COOKIE_SECURE)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["__Host-session", "True", "True", "Lax", "__Host-csrftoken", "True"]

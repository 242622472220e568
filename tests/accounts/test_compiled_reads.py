"""The reads every signed-in request makes (session, user, second-factor device), compiled
once: the same answers as Django's and django-otp's own, including every refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.contrib.sessions.models import Session
from django.test import RequestFactory
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware
from django_otp.plugins.otp_totp.models import TOTPDevice

from slaverycases.accounts.backends import PermissionBackend
from slaverycases.accounts.models import User
from slaverycases.accounts.session_store import SessionStore
from slaverycases.accounts.twofactor import DeviceMiddleware

pytestmark = pytest.mark.django_db


def test_a_live_session_loads_as_djangos_own_store_loads_it(officer, django_assert_num_queries):
    store = SessionStore()
    store[SESSION_KEY] = str(officer.pk)
    store["x"] = [1, "two"]
    store.create()
    key = store.session_key
    with django_assert_num_queries(1):
        loaded = SessionStore(session_key=key).load()
    assert (
        loaded
        == DjangoSessionStore(session_key=key).load()
        == {
            SESSION_KEY: str(officer.pk),
            "x": [1, "two"],
        }
    )


def test_an_expired_or_unknown_session_is_empty_and_gets_a_new_key(officer):
    store = SessionStore()
    store["x"] = 1
    store.create()
    key = store.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    for wanted in (key, "nosuchsessionkeyatall12345678901"):
        expired = SessionStore(session_key=wanted)
        assert expired.load() == {} == DjangoSessionStore(session_key=wanted).load()
        assert expired.session_key is None  # a new one is made when it is saved
    assert SessionStore(session_key=None).load() == {}


def test_get_user_gives_an_active_user_and_refuses_as_modelbackend_does(people):
    officer = people["officer.gmp"]
    backend = PermissionBackend()
    assert backend.get_user(str(officer.pk)) == officer
    assert backend.get_user(officer.pk).username == "officer.gmp"
    assert backend.get_user("not a number") is None
    assert backend.get_user(str(User.objects.order_by("-pk").first().pk + 1)) is None
    User.objects.filter(pk=officer.pk).update(is_active=False)
    assert backend.get_user(str(officer.pk)) is None


@pytest.mark.parametrize("ours", [True, False], ids=["compiled", "django-otp"])
def test_the_sessions_device_is_read_as_django_otp_reads_it(people, ours):
    """The same device (or none) with the compiled middleware and with django-otp's own: the
    user's confirmed device; none for an unconfirmed one, another user's, or a bad id."""
    officer, other = people["officer.gmp"], people["officer.wyp"]
    mine = TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)
    theirs = TOTPDevice.objects.create(user=other, name="phone", confirmed=True)
    unconfirmed = TOTPDevice.objects.create(user=officer, name="new", confirmed=False)
    middleware = (DeviceMiddleware if ours else OTPMiddleware)(lambda request: None)

    def device_for(persistent_id: str) -> object:
        request = RequestFactory().get("/")
        request.session = SessionStore()
        request.session[DEVICE_ID_SESSION_KEY] = persistent_id
        request.user = User.objects.get(pk=officer.pk)
        middleware(request)
        return request.user.otp_device

    assert device_for(mine.persistent_id) == mine
    assert device_for(theirs.persistent_id) is None
    assert device_for(unconfirmed.persistent_id) is None
    assert device_for("otp_totp.totpdevice/not-a-number") is None
    assert device_for("no_such_app.model/1") is None
    assert device_for(f"otp_totp.totpdevice/{theirs.pk + 1000}") is None
    if ours:  # django-otp raises AttributeError for a model that is not a device
        assert device_for("accounts.user/1") is None


def test_the_list_filters_choices_are_the_orms(people):
    from slaverycases.accounts.models import Unit
    from slaverycases.accounts.querysets import unit_choices, unit_officers

    officer = people["officer.gmp"]
    units = Unit.objects.order_by("force__name", "name")
    assert unit_choices(officer.force_id) == list(
        units.filter(force_id=officer.force_id).values_list("pk", "name")
    )
    assert unit_choices(None) == list(units.values_list("pk", "name"))
    assert len(unit_choices(None)) > len(unit_choices(officer.force_id)) > 0
    User.objects.filter(username="supervisor.gmp").update(is_active=False)
    for unit in (officer.unit_id, None):
        wanted = User.objects.filter(unit_id=unit, is_active=True).order_by(
            "last_name", "first_name"
        )
        assert unit_officers(unit) == list(
            wanted.values_list("pk", "first_name", "last_name", "username")
        )
    assert "supervisor.gmp" not in {row[3] for row in unit_officers(officer.unit_id)}
    assert "admin" in {row[3] for row in unit_officers(None)}

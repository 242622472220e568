"""The admin site for a force administrator: their own force only, nothing beyond it, audited.

The demo `admin` is GMP's force administrator (staff, role force_admin); WYP is the other force.
Two-factor is off in the test settings, so force_login is a full sign-in.
"""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from investigations.retention import due_for_review
from slaverycases.accounts.actions import unit_ensure, unit_move
from slaverycases.accounts.admin import ASSIGNABLE_ROLES
from slaverycases.accounts.models import Force, Unit, User
from slaverycases.accounts.twofactor import VERIFIED_AT
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.flags.actions import settings_for
from slaverycases.flags.models import FlagRun, FlagSettings
from tests import factories
from tests.security.test_two_factor import _code

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery stapler"


@pytest.fixture
def admin_client(force_admin):
    client = Client()
    client.force_login(force_admin)
    return client


@pytest.fixture
def superuser(people):
    return User.objects.create_superuser("root", "root@example.invalid", PASSWORD)


@pytest.fixture
def superuser_client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def _force(code):
    return Force.objects.get(code=code)


def _unit(code):
    return Unit.objects.get(force__code=code)


def _change_url(user):
    return f"/admin/accounts/user/{user.pk}/change/"


def _user_data(user, **changes):
    """The change form as a force administrator posts it (no superuser-only fields, only the
    groups the form offers)."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "groups": [g.pk for g in user.groups.filter(name__in=ASSIGNABLE_ROLES)],
        "unit": user.unit_id or "",
        "_save": "Save",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _events(user, **filters):
    return AuditEvent.objects.filter(
        object_type="accounts.user", object_id=str(user.pk), **filters
    ).order_by("id")


# --- users ------------------------------------------------------------------------------------


def test_user_list_shows_only_own_force(admin_client, people):
    response = admin_client.get("/admin/accounts/user/")
    assert response.status_code == 200
    listed = {user.username for user in response.context["cl"].queryset}
    gmp = set(User.objects.filter(force__code="GMP").values_list("username", flat=True))
    assert listed == gmp
    assert "officer.wyp" not in response.content.decode()


def test_user_of_another_force_cannot_be_opened_or_changed(admin_client, people):
    wyp = people["officer.wyp"]
    response = admin_client.get(_change_url(wyp))
    # Django's admin answers an object outside get_queryset with a redirect to its index.
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    response = admin_client.post(_change_url(wyp), _user_data(wyp, first_name="Changed"))
    assert response.status_code == 302
    wyp.refresh_from_db()
    assert wyp.first_name == "Tomasz"
    assert admin_client.get(f"/admin/accounts/user/{wyp.pk}/password/").status_code == 404
    assert admin_client.get(f"/admin/accounts/user/{wyp.pk}/history/").status_code == 302


def test_superuser_in_the_force_cannot_be_opened(admin_client, force_admin):
    root = User.objects.create_superuser("root.gmp", "r@example.invalid", PASSWORD)
    root.force = force_admin.force
    root.save(update_fields=["force"])
    listed = admin_client.get("/admin/accounts/user/").context["cl"].queryset
    assert root not in listed
    assert admin_client.get(_change_url(root)).status_code == 302
    assert admin_client.get(f"/admin/accounts/user/{root.pk}/password/").status_code == 404


def test_own_change_page_ignores_escalation(admin_client, force_admin):
    nca = _force("NCA")
    permission = Permission.objects.get(codename="view_auditevent")
    data = _user_data(
        force_admin,
        first_name="Samuel",
        is_superuser="on",
        is_staff="on",
        user_permissions=[permission.pk],
        groups=[Group.objects.get(name="supervisor").pk, nca.group_id],
        unit=_unit("WYP").pk,
        force=_force("WYP").pk,
    )
    response = admin_client.post(_change_url(force_admin), data)
    assert response.status_code == 302
    force_admin.refresh_from_db()
    assert force_admin.first_name == "Samuel"  # the save went through
    assert not force_admin.is_superuser
    assert force_admin.is_staff  # unchanged (read-only)
    assert not force_admin.user_permissions.exists()
    assert list(force_admin.groups.values_list("name", flat=True)) == ["force_admin"]
    assert force_admin.unit is None
    assert force_admin.force.code == "GMP"
    [event] = _events(force_admin)
    assert event.action == AuditAction.ALTERATION
    assert event.detail["changes"] == {"first_name": ["Sam", "Samuel"]}


def test_own_change_page_shows_access_fields_read_only(admin_client, force_admin):
    form = admin_client.get(_change_url(force_admin)).context["adminform"].form
    for name in ("is_superuser", "is_staff", "user_permissions", "force", "groups", "unit"):
        assert name not in form.fields, name


@pytest.mark.parametrize("group", ["force:NCA", "force:WYP", "auditor"])
def test_other_user_cannot_get_a_cross_force_group(admin_client, officer, group):
    chosen = Group.objects.get(name=group)
    response = admin_client.post(_change_url(officer), _user_data(officer, groups=[chosen.pk]))
    assert response.status_code == 200
    assert "groups" in response.context["adminform"].form.errors
    assert list(officer.groups.values_list("name", flat=True)) == ["officer"]
    assert not _events(officer).exists()


def test_other_user_cannot_be_put_in_another_forces_unit(admin_client, officer):
    response = admin_client.post(_change_url(officer), _user_data(officer, unit=_unit("WYP").pk))
    assert response.status_code == 200
    assert "unit" in response.context["adminform"].form.errors
    officer.refresh_from_db()
    assert officer.unit == _unit("GMP")


def test_group_choices_are_the_assignable_roles(admin_client, officer):
    form = admin_client.get(_change_url(officer)).context["adminform"].form
    names = set(form.fields["groups"].queryset.values_list("name", flat=True))
    assert names == {"officer", "supervisor", "safeguarding_lead", "force_admin"}
    units = set(form.fields["unit"].queryset)
    assert units == {_unit("GMP")}
    assert "is_superuser" not in form.fields
    assert "force" not in form.fields


def test_role_change_in_own_force_works_and_is_audited(admin_client, force_admin, officer):
    supervisor = Group.objects.get(name="supervisor")
    response = admin_client.post(_change_url(officer), _user_data(officer, groups=[supervisor.pk]))
    assert response.status_code == 302
    assert list(officer.groups.values_list("name", flat=True)) == ["supervisor"]
    [event] = _events(officer)
    assert event.action == AuditAction.GRANT
    assert event.actor == force_admin
    assert event.detail == {
        "via": "admin",
        "changes": {"groups": {"added": ["supervisor"], "removed": ["officer"]}},
    }


def test_groups_the_form_cannot_show_are_kept(admin_client, people, officer):
    officer.groups.add(_force("NCA").group)  # given by a superuser
    auditor = people["auditor"]
    response = admin_client.post(_change_url(officer), _user_data(officer, groups=[]))
    assert response.status_code == 302
    assert set(officer.groups.values_list("name", flat=True)) == {"force:NCA"}
    response = admin_client.post(_change_url(auditor), _user_data(auditor, groups=[]))
    assert response.status_code == 302
    assert set(auditor.groups.values_list("name", flat=True)) == {"auditor"}
    assert not _events(auditor).exists()  # nothing changed


def test_deactivating_in_the_admin_ends_sessions_and_is_audited(admin_client, officer):
    theirs = Client()
    theirs.force_login(officer)
    assert theirs.get("/").status_code == 200
    response = admin_client.post(_change_url(officer), _user_data(officer, is_active=None))
    assert response.status_code == 302
    officer.refresh_from_db()
    assert not officer.is_active
    assert theirs.get("/").status_code == 302
    [event] = _events(officer)
    assert event.action == AuditAction.ALTERATION
    assert event.detail["deactivated"] is True
    assert event.detail["sessions_ended"] == 1


def test_unit_change_in_own_force_is_audited(admin_client, force_admin, people):
    auditor = people["auditor"]  # GMP, no unit
    gmp_unit = _unit("GMP")
    response = admin_client.post(_change_url(auditor), _user_data(auditor, unit=gmp_unit.pk))
    assert response.status_code == 302
    auditor.refresh_from_db()
    assert auditor.unit == gmp_unit
    [event] = _events(auditor)
    assert event.action == AuditAction.ALTERATION
    assert event.detail["changes"] == {"unit": [None, gmp_unit.pk]}


def test_new_user_is_created_in_own_force_and_audited(admin_client, force_admin):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "new.officer",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="new.officer")
    assert user.force == force_admin.force
    assert not user.is_staff and not user.is_superuser
    [event] = _events(user)
    assert event.action == AuditAction.COLLECTION
    assert event.detail["created"]["force"] == force_admin.force_id


def test_password_set_in_the_admin_is_audited(admin_client, officer):
    response = admin_client.post(
        f"/admin/accounts/user/{officer.pk}/password/",
        {"usable_password": "true", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    officer.refresh_from_db()
    assert officer.check_password(PASSWORD)
    [event] = _events(officer)
    assert event.action == AuditAction.ALTERATION
    assert event.detail == {"via": "admin", "password": "set"}


def test_superuser_sees_and_changes_everyone(superuser_client, superuser, people):
    response = superuser_client.get("/admin/accounts/user/")
    listed = {user.username for user in response.context["cl"].queryset}
    assert listed == set(User.objects.values_list("username", flat=True))
    wyp = people["officer.wyp"]
    form = superuser_client.get(_change_url(wyp)).context["adminform"].form
    assert {"is_superuser", "is_staff", "force", "unit", "user_permissions"} <= set(form.fields)
    nca = _force("NCA").group
    assert nca in form.fields["groups"].queryset


def test_a_users_unit_belongs_to_their_force(superuser_client, people):
    """Even a superuser cannot put a WYP officer in a GMP unit: the unit would open GMP's
    cases to them while their force says WYP."""
    wyp = people["officer.wyp"]
    data = _user_data(
        wyp,
        unit=_unit("GMP").pk,
        force=wyp.force_id,
        groups=list(wyp.groups.values_list("pk", flat=True)),
        date_joined_0="2026-01-01",
        date_joined_1="09:00:00",
    )
    response = superuser_client.post(_change_url(wyp), data)
    assert response.status_code == 200  # the admin shows the form again
    assert "Choose a unit of the user&#x27;s own force" in response.content.decode()
    wyp.refresh_from_db()
    assert wyp.unit.force.code == "WYP"


def test_changing_users_needs_a_fresh_second_factor(force_admin, people):
    """As sharing a case does: a user's page (their roles, unit, password) asks for a second
    factor at most five minutes old."""
    officer = people["officer.gmp"]
    with override_settings(TWO_FACTOR_REQUIRED=True):
        client = Client()
        response = client.post(
            "/account/sign-in/", {"username": "admin", "password": settings.DEMO_PASSWORD}
        )
        assert response.status_code == 302
        device = TOTPDevice.objects.create(user=force_admin, name="app", confirmed=True)
        assert client.post("/account/two-factor/", {"token": _code(device)}).status_code == 302
        assert client.get(_change_url(officer)).status_code == 200
        session = client.session
        session[VERIFIED_AT] = time.time() - 6 * 60
        session.save()
        for url in (_change_url(officer), f"/admin/accounts/user/{officer.pk}/password/"):
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/account/two-factor/?next=")
            assert "step_up=1" in response["Location"]


# --- units ------------------------------------------------------------------------------------


def test_unit_list_and_pages_are_own_force_only(admin_client):
    response = admin_client.get("/admin/accounts/unit/")
    assert set(response.context["cl"].queryset) == {_unit("GMP")}
    assert admin_client.get(f"/admin/accounts/unit/{_unit('WYP').pk}/change/").status_code == 302


def test_unit_force_cannot_be_changed_by_a_force_admin(admin_client):
    unit = _unit("GMP")
    response = admin_client.post(
        f"/admin/accounts/unit/{unit.pk}/change/",
        {"name": "GMP Modern Slavery Team", "force": _force("WYP").pk, "_save": "Save"},
    )
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.force.code == "GMP"
    assert unit.name == "GMP Modern Slavery Team"
    event = AuditEvent.objects.get(object_type="accounts.unit", object_id=str(unit.pk))
    assert event.detail["changes"] == {
        "name": ["GMP Modern Slavery Unit", "GMP Modern Slavery Team"]
    }


def test_new_unit_only_in_own_force(admin_client, force_admin):
    data = {"name": "GMP Night Team", "force": _force("WYP").pk, "_save": "Save"}
    response = admin_client.post("/admin/accounts/unit/add/", data)
    assert response.status_code == 200
    assert "force" in response.context["adminform"].form.errors
    data["force"] = force_admin.force_id
    assert admin_client.post("/admin/accounts/unit/add/", data).status_code == 302
    unit = Unit.objects.get(name="GMP Night Team")
    assert unit.force == force_admin.force
    event = AuditEvent.objects.get(object_type="accounts.unit", object_id=str(unit.pk))
    assert event.action == AuditAction.COLLECTION


def test_superuser_moves_a_unit_through_unit_move(superuser_client, officer):
    unit = _unit("GMP")
    wyp = _force("WYP")
    response = superuser_client.post(
        f"/admin/accounts/unit/{unit.pk}/change/",
        {"name": unit.name, "force": wyp.pk, "_save": "Save"},
    )
    assert response.status_code == 302
    unit.refresh_from_db()
    officer.refresh_from_db()
    assert unit.force == wyp
    assert officer.force == wyp  # its members moved with it
    event = AuditEvent.objects.get(object_type="accounts.unit", object_id=str(unit.pk))
    assert event.detail == {
        "moved_from_force": _force("GMP").pk,
        "moved_to_force": wyp.pk,
        "cases_moved": 0,
    }


def test_a_moved_unit_takes_its_cases_to_the_new_force(superuser, officer, supervisor):
    unit = _unit("GMP")
    gmp, wyp = _force("GMP"), _force("WYP")
    closed = factories.investigation(officer, stage="closed", supervisor=supervisor)
    opened = factories.investigation(officer)
    night_team = unit_ensure(force=gmp, name="GMP Night Team")
    night_officer = User.objects.create_user("night.officer", force=gmp, unit=night_team)
    night_officer.groups.add(Group.objects.get(name="officer"))
    elsewhere = factories.investigation(night_officer)
    unit_move(unit, to_force=wyp, actor=superuser)
    for case in (closed, opened):
        case.refresh_from_db()
        assert case.force == wyp
        assert case.reference.startswith("GMP-")  # a reference is never changed
    elsewhere.refresh_from_db()
    assert elsewhere.force == gmp  # another unit's cases stay
    event = AuditEvent.objects.get(object_type="accounts.unit", object_id=str(unit.pk))
    assert event.detail["cases_moved"] == 2
    # The receiving force reviews the closed case's retention, the old force no longer does.
    far = timezone.localdate() + timedelta(days=365 * 20)
    assert closed in due_for_review(wyp.pk, far)
    assert closed not in due_for_review(gmp.pk, far)


# --- flag settings and runs --------------------------------------------------------------------


@pytest.fixture
def flag_settings(people):
    return {code: settings_for(_force(code)) for code in ("GMP", "WYP")}


def test_flag_settings_are_own_force_only(admin_client, flag_settings):
    response = admin_client.get("/admin/flags/flagsettings/")
    assert set(response.context["cl"].queryset) == {flag_settings["GMP"]}
    wyp = flag_settings["WYP"]
    url = f"/admin/flags/flagsettings/{wyp.pk}/change/"
    assert admin_client.get(url).status_code == 302
    response = admin_client.post(url, {"supervision_days": 99, "_save": "Save"})
    assert response.status_code == 302
    wyp.refresh_from_db()
    assert wyp.supervision_days == 28


def _flag_settings_data(cfg, **changes):
    fields = [f.name for f in FlagSettings._meta.fields if f.name not in ("id", "force")]
    return {**{name: getattr(cfg, name) for name in fields}, "_save": "Save", **changes}


def test_flag_settings_change_keeps_the_force_and_is_audited(admin_client, flag_settings):
    gmp = flag_settings["GMP"]
    url = f"/admin/flags/flagsettings/{gmp.pk}/change/"
    assert "force" not in admin_client.get(url).context["adminform"].form.fields
    data = _flag_settings_data(gmp, supervision_days=21, force=_force("WYP").pk)
    response = admin_client.post(url, data)
    assert response.status_code == 302
    gmp.refresh_from_db()
    assert gmp.supervision_days == 21
    assert gmp.force.code == "GMP"
    event = AuditEvent.objects.get(object_type="flags.flagsettings", object_id=str(gmp.pk))
    assert event.action == AuditAction.ALTERATION
    assert event.detail == {"via": "admin", "changes": {"supervision_days": [28, 21]}}


def test_superuser_sees_every_forces_flag_settings(superuser_client, flag_settings):
    response = superuser_client.get("/admin/flags/flagsettings/")
    assert set(response.context["cl"].queryset) == set(flag_settings.values())
    url = f"/admin/flags/flagsettings/{flag_settings['WYP'].pk}/change/"
    assert "force" in superuser_client.get(url).context["adminform"].form.fields


def test_flag_runs_are_own_force_only(admin_client, people):
    gmp = FlagRun.objects.create(force=_force("GMP"))
    wyp = FlagRun.objects.create(force=_force("WYP"))
    response = admin_client.get("/admin/flags/flagrun/")
    assert set(response.context["cl"].queryset) == {gmp}
    assert admin_client.get(f"/admin/flags/flagrun/{wyp.pk}/change/").status_code == 302


@pytest.mark.parametrize("url", ["/admin/flags/flag/", "/admin/audit/auditevent/"])
def test_flags_and_the_audit_log_have_no_admin_pages(superuser_client, url):
    """Flags are acted on only through the flag queue (audited, on the timeline) and the audit
    log read only through its own page (a consultation): not even a superuser edits or reads
    them in the admin, where neither would be recorded."""
    assert superuser_client.get(url).status_code == 404

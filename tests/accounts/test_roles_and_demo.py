import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from slaverycases.accounts.models import Force, Unit, User
from slaverycases.accounts.roles import ROLE_PERMISSIONS


@pytest.mark.django_db
def test_role_groups_exist_with_their_permissions():
    for role in ROLE_PERMISSIONS:
        assert Group.objects.filter(name=role).exists(), role
    auditor = Group.objects.get(name="auditor")
    assert set(auditor.permissions.values_list("codename", flat=True)) == {"view_auditevent"}


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    counts = (User.objects.count(), Force.objects.count(), Unit.objects.count())
    call_command("seed_demo")
    assert (User.objects.count(), Force.objects.count(), Unit.objects.count()) == counts
    assert {"GMP", "WYP"} <= set(Force.objects.values_list("code", flat=True))
    for username in [
        "officer.gmp",
        "supervisor.gmp",
        "safeguarding.gmp",
        "officer.wyp",
        "supervisor.wyp",
        "safeguarding.wyp",
        "auditor",
        "admin",
    ]:
        assert User.objects.filter(username=username).exists()


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_seed_demo_refuses_without_debug_unless_forced():
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo")
    call_command("seed_demo", "--force")
    assert User.objects.filter(username="officer.gmp").exists()

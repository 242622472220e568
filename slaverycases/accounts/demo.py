"""Demo forces, units and users for `manage.py seed_demo`. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group

from slaverycases.accounts import roles
from slaverycases.accounts.actions import force_ensure, unit_ensure
from slaverycases.accounts.models import User
from slaverycases.accounts.roles import sync_role_groups


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    force: str
    unit: bool
    role: str
    staff: bool = False


DEMO_FORCES = [
    ("GMP", "Greater Manchester Police", "GMP Modern Slavery Unit", False),
    ("WYP", "West Yorkshire Police", "WYP Modern Slavery and Human Trafficking Unit", False),
    ("NCA", "National Crime Agency", "NCA Modern Slavery and Human Trafficking Unit", True),
]

DEMO_USERS = [
    DemoUser("officer.gmp", "Priya", "Shah", "GMP", True, roles.OFFICER),
    DemoUser("supervisor.gmp", "Daniel", "Okafor", "GMP", True, roles.SUPERVISOR),
    DemoUser("safeguarding.gmp", "Helen", "Brennan", "GMP", True, roles.SAFEGUARDING_LEAD),
    DemoUser("officer.wyp", "Tomasz", "Nowak", "WYP", True, roles.OFFICER),
    DemoUser("supervisor.wyp", "Aisha", "Rahman", "WYP", True, roles.SUPERVISOR),
    DemoUser("safeguarding.wyp", "Gareth", "Lloyd", "WYP", True, roles.SAFEGUARDING_LEAD),
    DemoUser("auditor", "Margaret", "Ellis", "GMP", False, roles.AUDITOR),
    DemoUser("admin", "Sam", "Carter", "GMP", False, roles.FORCE_ADMIN, staff=True),
]


def seed_people() -> dict[str, User]:
    sync_role_groups()
    units = {}
    forces = {}
    for code, name, unit_name, national in DEMO_FORCES:
        force = force_ensure(code=code, name=name, is_national=national)
        forces[code] = force
        units[code] = unit_ensure(force=force, name=unit_name)
    users: dict[str, User] = {}
    for spec in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@{spec.force.lower()}.police.invalid",
                "force": forces[spec.force],
                "unit": units[spec.force] if spec.unit else None,
                "is_staff": spec.staff,
            },
        )
        if created:
            user.set_password(settings.DEMO_PASSWORD)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=spec.role))
        users[spec.username] = user
    return users

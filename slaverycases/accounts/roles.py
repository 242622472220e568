"""The five roles: Django groups, each with its model permissions.

The table below is the only place that says what a role may do at model level; object level
(which investigations) is decided in each app's access.py.
"""

from __future__ import annotations

from typing import Any

OFFICER = "officer"
SUPERVISOR = "supervisor"
SAFEGUARDING_LEAD = "safeguarding_lead"
FORCE_ADMIN = "force_admin"
AUDITOR = "auditor"

ROLE_LABELS = {
    OFFICER: "Officer",
    SUPERVISOR: "Supervisor",
    SAFEGUARDING_LEAD: "Safeguarding lead",
    FORCE_ADMIN: "Force administrator",
    AUDITOR: "Auditor",
}

_CASE_WORK = [
    "investigations.view_investigation",
    "investigations.add_investigation",
    "investigations.change_investigation",
    "investigations.add_offence",
    "investigations.change_offence",
    "investigations.add_enquiry",
    "investigations.change_enquiry",
    "investigations.add_suspect",
    "investigations.change_suspect",
    "investigations.request_closure",
    "investigations.print_investigation",
    "victims.view_victim",
    "victims.add_victim",
    "victims.change_victim",
    "safeguarding.add_contact",
    "safeguarding.add_missingepisode",
    "safeguarding.change_missingepisode",
    "referrals.add_nrmreferral",
    "referrals.change_nrmreferral",
    "referrals.add_dutytonotify",
    "referrals.add_agencyreferral",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    OFFICER: _CASE_WORK,
    SUPERVISOR: [
        *_CASE_WORK,
        "investigations.allocate_investigation",
        "investigations.review_closure",
        "investigations.add_supervisoryreview",
        "investigations.share_investigation",
        "investigations.reopen_investigation",
    ],
    SAFEGUARDING_LEAD: [
        "investigations.view_investigation",
        "victims.view_victim",
        "victims.change_victim",
        "safeguarding.view_safeguardingplan",
        "safeguarding.add_safeguardingplan",
        "safeguarding.change_safeguardingplan",
        "safeguarding.add_contact",
        "safeguarding.add_relocation",
        "safeguarding.add_missingepisode",
        "safeguarding.change_missingepisode",
        "investigations.share_investigation",
        "investigations.print_investigation",
    ],
    FORCE_ADMIN: [
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "accounts.view_unit",
        "accounts.add_unit",
        "accounts.change_unit",
        "accounts.view_force",
        "flags.view_flagsettings",
        "flags.change_flagsettings",
        "flags.view_flagrun",
        "investigations.review_retention",
    ],
    AUDITOR: ["audit.view_auditevent"],
}


CASE_ROLES = (OFFICER, SUPERVISOR, SAFEGUARDING_LEAD)


def works_cases(user: Any) -> bool:
    """Only the case-working roles see investigations: a superuser, a force administrator or
    an auditor does not, whatever permissions they hold."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:  # has every permission: decide by role instead
        return bool(user.has_role(*CASE_ROLES))
    return bool(user.has_perm("investigations.view_investigation"))


def sync_role_groups(apps: Any = None) -> None:
    """Create the role groups and give each exactly the permissions in ROLE_PERMISSIONS.

    Permissions whose app has not been migrated yet are skipped; the post_migrate hook adds them
    once they exist. Safe to run any number of times.
    """
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            wanted.extend(
                Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)


def sync_role_groups_after_migrate(sender: Any, **kwargs: Any) -> None:
    apps = kwargs.get("apps")
    if apps is None:
        return
    try:
        apps.get_model("auth", "Group")
    except LookupError:
        return
    sync_role_groups(apps)

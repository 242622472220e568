"""Permissions and roles in one query per request.

Django's ModelBackend reads a user's own permissions and their groups' permissions in two
queries, and the user's roles (their groups) take a third. Every signed-in page needs all
three, so they are read together here: one UNION of the user's groups with each group's
permissions, and the user's own permissions. The results are cached on the user object for the
request, where ModelBackend and User.role_names look for them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, Value

from slaverycases.accounts import roles


def load_roles_and_permissions(user: Any) -> None:
    """Set `user._role_names` and `user._perm_cache` (as ModelBackend would) from one query."""
    by_group = Group.objects.filter(user=user).values_list(
        "name", "permissions__content_type__app_label", "permissions__codename"
    )
    own = Permission.objects.filter(user=user).values_list(
        Value(None, output_field=CharField()), "content_type__app_label", "codename"
    )
    rows = list(by_group.order_by().union(own.order_by(), all=True))
    user._role_names = sorted({group for group, _, _ in rows if group in roles.ROLE_LABELS})
    if user.is_active and not user.is_superuser:
        user._perm_cache = {f"{app}.{codename}" for _, app, codename in rows if codename}


class PermissionBackend(ModelBackend):
    """ModelBackend, with the permissions of an active user who is not a superuser read by
    load_roles_and_permissions (a superuser has every permission: ModelBackend reads them)."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache") and not user_obj.is_superuser:
            load_roles_and_permissions(user_obj)
        return super().get_all_permissions(user_obj, obj)

"""The admin site: a superuser runs all of it; a force administrator only their own force.

A force administrator (roles.FORCE_ADMIN) is staff and holds the user, unit and flag-settings
permissions. Django's stock ModelAdmins would let them reach every force and grant themselves
anything, so for anyone who is not a superuser the admins here show only the rows of their own
force, make read-only every field that reaches beyond it (superuser, staff, permissions, force),
and offer only the role groups that stay inside it. Every save of a user, unit or flag setting
writes an audit row in the admin's own transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse

from slaverycases.accounts import roles
from slaverycases.accounts.actions import unit_move, user_deactivate
from slaverycases.accounts.models import Force, Unit, User
from slaverycases.accounts.twofactor import step_up
from slaverycases.audit.actions import audit_record
from slaverycases.audit.models import AuditAction

# The roles a force administrator may give within their force. Not the auditor: the audit log it
# reads covers every force. Never the force or unit sharing groups either (force:GMP, unit:12):
# they open other units' and forces' shared cases.
ASSIGNABLE_ROLES = (roles.OFFICER, roles.SUPERVISOR, roles.SAFEGUARDING_LEAD, roles.FORCE_ADMIN)

# Changing any of these changes what the user may do: the audit row is a grant.
_ACCESS_FIELDS = {"groups", "user_permissions", "is_staff", "is_superuser"}


def _is_superuser(request: HttpRequest) -> bool:
    return bool(request.user.is_superuser)


def _own_force_id(request: HttpRequest) -> int | None:
    return getattr(request.user, "force_id", None)


class ForceScopedAdmin(admin.ModelAdmin):
    """A superuser sees every row; anyone else only the rows of their own force (none if they
    have no force), and has no view, change or delete permission on any other row."""

    force_field = "force"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if _is_superuser(request):
            return qs
        force_id = _own_force_id(request)
        if force_id is None:
            return qs.none()
        return qs.filter(**{f"{self.force_field}_id": force_id})

    def in_scope(self, request: HttpRequest, obj: models.Model | None) -> bool:
        if obj is None or _is_superuser(request):
            return True
        force_id = _own_force_id(request)
        return force_id is not None and getattr(obj, f"{self.force_field}_id") == force_id

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and self.in_scope(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self.in_scope(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self.in_scope(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not _is_superuser(request):
            fields.append(self.force_field)
        return fields

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == self.force_field and not _is_superuser(request):
            # Adding: the administrator's own force is the only choice.
            kwargs["queryset"] = Force.objects.filter(pk=_own_force_id(request))
            kwargs["empty_label"] = None
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _json_value(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, QuerySet | list | tuple):
        return sorted(str(_json_value(item)) for item in value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def form_changes(form: ModelForm) -> dict[str, list[Any]]:
    """{field: [before, after]} for each field the admin form changed."""
    return {
        name: [_json_value(form.initial.get(name)), _json_value(form.cleaned_data.get(name))]
        for name in form.changed_data
    }


def audit_admin_save(
    request: HttpRequest, obj: models.Model, form: ModelForm, change: bool, *, skip: str = ""
) -> None:
    """The audit row of a row added or changed in the admin (none for a save that changed
    nothing; `skip` names a field audited elsewhere). Called from save_model, inside the
    admin's transaction."""
    if not change:
        audit_record(actor=request.user, action=AuditAction.COLLECTION, obj=obj)
        return
    changes = form_changes(form)
    changes.pop(skip, None)
    if changes:
        audit_record(
            actor=request.user,
            action=AuditAction.ALTERATION,
            obj=obj,
            detail={"via": "admin", "changes": changes},
        )


@admin.register(Force)
class ForceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_national"]
    search_fields = ["code", "name"]
    readonly_fields = ["group"]


@admin.register(Unit)
class UnitAdmin(ForceScopedAdmin):
    """A unit moves to another force only through unit_move (its members and cases go with it
    and the move is audited), and only a superuser may move it."""

    list_display = ["name", "force"]
    list_filter = ["force"]
    search_fields = ["name"]
    readonly_fields = ["group"]

    def save_model(self, request: HttpRequest, obj: Unit, form: ModelForm, change: bool) -> None:
        if not (change and "force" in form.changed_data):
            super().save_model(request, obj, form, change)
            audit_admin_save(request, obj, form, change)
            return
        to_force = obj.force
        obj.force_id = form.initial["force"]
        super().save_model(request, obj, form, change)
        unit_move(obj, to_force=to_force, actor=request.user)  # type: ignore[arg-type]
        obj.refresh_from_db()
        audit_admin_save(request, obj, form, change, skip="force")  # unit_move audited it


def _user_snapshot(user_id: int, *, lock: bool = False) -> dict[str, Any]:
    """What the audit row compares: the user's fields, roles and direct permissions."""
    rows = User.objects.select_for_update() if lock else User.objects
    user = rows.get(pk=user_id)
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "force": user.force_id,
        "unit": user.unit_id,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "user_permissions": sorted(
            f"{app}.{codename}"
            for app, codename in user.user_permissions.values_list(
                "content_type__app_label", "codename"
            )
        ),
    }


def _user_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, old in before.items():
        new = after[name]
        if old == new:
            continue
        if isinstance(old, list):
            changes[name] = {
                "added": sorted(set(new) - set(old)),
                "removed": sorted(set(old) - set(new)),
            }
        else:
            changes[name] = [old, new]
    return changes


class UserChangeForm(BaseUserChangeForm):
    """A user's unit belongs to their force (the force field, or the user's force when the
    administrator may not change it)."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        unit = data.get("unit")
        force = data.get("force") if "force" in self.fields else self.instance.force
        if unit is not None and (force is None or unit.force_id != force.pk):
            self.add_error("unit", "Choose a unit of the user's own force")
        return data


@admin.register(User)
class UserAdmin(ForceScopedAdmin, BaseUserAdmin):
    """A force administrator sees and changes the users of their own force (never a
    superuser), gives them roles from ASSIGNABLE_ROLES and units of the force, and cannot
    change their own roles, unit or active state. Adding or changing a user, or setting a
    password, asks for a fresh second factor first (step-up), as sharing a case does."""

    form = UserChangeForm
    list_display = ["username", "first_name", "last_name", "force", "unit", "is_active"]
    list_filter = ["force", "is_active", "groups"]
    list_select_related = ["force", "unit"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("Force and unit", {"fields": ("force", "unit")}))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        return qs if _is_superuser(request) else qs.filter(is_superuser=False)

    def in_scope(self, request: HttpRequest, obj: models.Model | None) -> bool:
        if isinstance(obj, User) and obj.is_superuser and not _is_superuser(request):
            return False
        return super().in_scope(request, obj)

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        if _is_superuser(request):
            return list(self.list_filter)
        return [name for name in self.list_filter if name != "force"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = super().get_readonly_fields(request, obj)
        if obj is None or _is_superuser(request):
            return fields
        fields += ["is_superuser", "is_staff", "user_permissions", "last_login", "date_joined"]
        if obj.pk == request.user.pk:
            fields += ["groups", "unit", "is_active"]
        return fields

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "groups" and not _is_superuser(request):
            kwargs["queryset"] = Group.objects.filter(name__in=ASSIGNABLE_ROLES)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "unit" and not _is_superuser(request):
            kwargs["queryset"] = Unit.objects.filter(force_id=_own_force_id(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        if change:
            form.audit_before = _user_snapshot(obj.pk, lock=True)  # type: ignore[attr-defined]
        elif not _is_superuser(request):
            obj.force_id = _own_force_id(request)
        super().save_model(request, obj, form, change)

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        user = form.instance
        before = getattr(form, "audit_before", None)
        if before is None:
            audit_record(
                actor=request.user,
                action=AuditAction.COLLECTION,
                obj=user,
                detail={"via": "admin", "created": _user_snapshot(user.pk)},
            )
            return
        if not _is_superuser(request):
            # The form offers only ASSIGNABLE_ROLES: keep the groups it could not show.
            user.groups.add(
                *Group.objects.filter(name__in=before["groups"]).exclude(name__in=ASSIGNABLE_ROLES)
            )
        after = _user_snapshot(user.pk)
        changes = _user_changes(before, after)
        if before["is_active"] and not after["is_active"]:
            user_deactivate(user, actor=request.user)  # ends their sessions; audited there
            del changes["is_active"]
        if changes:
            grant = bool(_ACCESS_FIELDS & changes.keys())
            audit_record(
                actor=request.user,
                action=AuditAction.GRANT if grant else AuditAction.ALTERATION,
                obj=user,
                detail={"via": "admin", "changes": changes},
            )

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return step_up(super().changeform_view)(request, object_id, form_url, extra_context)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        return step_up(self._user_change_password)(request, id, form_url)

    def _user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """The stock view, in one transaction with its audit row."""
        with transaction.atomic():
            user = self.get_object(request, unquote(id))
            before = user.password if user is not None else None
            response = super().user_change_password(request, id, form_url)
            if user is not None and request.method == "POST":
                user.refresh_from_db(fields=["password"])
                if user.password != before:
                    audit_record(
                        actor=request.user,
                        action=AuditAction.ALTERATION,
                        obj=user,
                        detail={
                            "via": "admin",
                            "password": "set" if user.has_usable_password() else "unusable",
                        },
                    )
            return response

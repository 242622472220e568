"""Forces, units and users.

Forces are data, not a fixed list: units can move between forces, and a national body (the NCA)
is a force with ``is_national`` set.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.db.models.functions import Upper

from slaverycases.accounts import roles


class Force(models.Model):
    code = models.CharField(max_length=10, unique=True, help_text="Short code, like GMP")
    name = models.CharField(max_length=120, unique=True)
    is_national = models.BooleanField(
        default=False, help_text="A national body such as the NCA rather than a territorial force"
    )
    group = models.OneToOneField(
        Group,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="force",
        help_text="Group used to share investigations with the whole force",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(code=Upper("code")), name="force_code_upper")
        ]

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    force = models.ForeignKey(Force, on_delete=models.PROTECT, related_name="units")
    name = models.CharField(max_length=120)
    group = models.OneToOneField(
        Group,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="unit",
        help_text="Group used to share investigations with this unit",
    )

    class Meta:
        ordering = ["force__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["force", "name"], name="unit_unique_name_in_force")
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    force = models.ForeignKey(
        Force, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(unit__isnull=True) | models.Q(force__isnull=False),
                name="user_unit_needs_force",
            )
        ]

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def role_names(self) -> list[str]:
        """Names of the user's roles, cached for the request (read with the permissions, in
        one query: accounts.backends)."""
        if getattr(self, "_role_names", None) is None:
            from slaverycases.accounts.backends import load_roles_and_permissions

            load_roles_and_permissions(self)
        return self._role_names

    @property
    def role_labels(self) -> list[str]:
        return [roles.ROLE_LABELS[name] for name in self.role_names]

    def has_role(self, *names: str) -> bool:
        return any(name in self.role_names for name in names)


class RecoveryCode(models.Model):
    """A single-use recovery code for when the authenticator app is lost; stored hashed."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=200)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Recovery code of {self.user_id}"

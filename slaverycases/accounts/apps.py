from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "slaverycases.accounts"
    label = "accounts"
    verbose_name = "Users, forces and units"

    def ready(self) -> None:
        from slaverycases.accounts.roles import sync_role_groups_after_migrate

        # Permissions of apps migrated after ours only exist after post_migrate: re-sync then.
        post_migrate.connect(sync_role_groups_after_migrate, dispatch_uid="accounts.sync_roles")

        from django.contrib.auth.signals import user_logged_in

        from slaverycases.accounts.middleware import stamp_sign_in

        user_logged_in.connect(stamp_sign_in, dispatch_uid="accounts.stamp_sign_in")

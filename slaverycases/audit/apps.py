from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "slaverycases.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from slaverycases.audit import receivers  # noqa: F401  (sign-in events)

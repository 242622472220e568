from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "slaverycases.core"
    label = "core"
    verbose_name = "Service"

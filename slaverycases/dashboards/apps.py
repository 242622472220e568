from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "slaverycases.dashboards"
    label = "dashboards"
    verbose_name = "Dashboards and statistics"

from django.apps import AppConfig


class SafeguardingConfig(AppConfig):
    name = "safeguarding"
    verbose_name = "Safeguarding"

    def ready(self) -> None:
        from safeguarding.views import victim_safeguarding_section
        from victims.views import register_victim_extension

        register_victim_extension(victim_safeguarding_section)

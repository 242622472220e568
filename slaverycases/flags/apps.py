from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "slaverycases.flags"
    label = "flags"
    verbose_name = "Flags"

    def ready(self) -> None:
        from investigations.actions import register_after_change_hook
        from investigations.views import (
            register_closure_fact_extension,
            register_detail_extension,
        )
        from slaverycases.flags.tasks import queue_case_scan
        from slaverycases.flags.views import case_closure_flags, case_flags_section

        register_after_change_hook(queue_case_scan)
        register_detail_extension(case_flags_section)
        register_closure_fact_extension(case_closure_flags)

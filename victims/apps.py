from django.apps import AppConfig


class VictimsConfig(AppConfig):
    name = "victims"
    verbose_name = "Victims"

    def ready(self) -> None:
        from investigations.querysets import register_search_extension
        from investigations.views import register_closure_fact_extension, register_detail_extension
        from victims.querysets import case_victim_terms
        from victims.views import case_closure_facts, case_victims_section

        register_search_extension(case_victim_terms)
        register_detail_extension(case_victims_section)
        register_closure_fact_extension(case_closure_facts)

from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals (NRM, Duty to Notify, agencies)"

    def ready(self) -> None:
        from referrals.views import victim_referrals_section
        from victims.views import register_victim_extension

        register_victim_extension(victim_referrals_section)

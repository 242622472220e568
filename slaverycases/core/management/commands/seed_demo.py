from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction


class Command(BaseCommand):
    help = "Create demo forces, units, users and cases. Safe to run twice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though DEBUG is off (never on a live system).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates users with a published password. It refuses to run when "
                "DEBUG is off; pass --force if this really is a demo system."
            )
        from slaverycases.accounts.demo import seed_people

        with transaction.atomic():
            users = seed_people()
            for seeder in _case_seeders():
                seeder(users, self.stdout)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(users)} users, password {settings.DEMO_PASSWORD!r}"
            )
        )


def _case_seeders() -> list[Any]:
    """Each domain app that has demo cases exposes `demo.seed(users, stdout)`."""
    import importlib

    seeders = []
    for module in ("investigations.demo", "victims.demo", "safeguarding.demo", "referrals.demo"):
        try:
            seeders.append(importlib.import_module(module).seed)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return seeders

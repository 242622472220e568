import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, connections
from django.db.models import Count

from investigations.models import Investigation
from slaverycases.accounts.models import Force
from slaverycases.flags.actions import scan
from slaverycases.flags.models import ACTIVE_STATUSES, Flag, FlagRun


class Command(BaseCommand):
    help = "Run every flag rule once, synchronously, for every force; print a JSON summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Forces scanned at once, each on its own database connection, as a Celery "
            "worker with that many processes runs the per-force tasks (PostgreSQL only; "
            "default 1)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workers = max(1, options["workers"]) if connection.vendor == "postgresql" else 1
        # The largest forces first, so that no worker is left with a large one at the end.
        cases = dict(
            Investigation.objects.values_list("force_id").annotate(n=Count("pk")).order_by()
        )
        forces = sorted(Force.objects.order_by("code"), key=lambda f: -cases.get(f.pk, 0))
        if workers == 1:
            runs = [scan(force=force) for force in forces]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                runs = list(pool.map(_scan_on_own_connection, forces))
        opened: Counter[str] = Counter()
        resolved: Counter[str] = Counter()
        for run in runs:
            opened.update(run.opened)
            resolved.update(run.resolved)
        open_now = dict(
            Flag.objects.filter(status__in=ACTIVE_STATUSES)
            .values_list("kind")
            .annotate(n=Count("pk"))
            .order_by("kind")
        )
        self.stdout.write(
            json.dumps(
                {
                    "opened": {k: v for k, v in sorted(opened.items()) if v},
                    "resolved": {k: v for k, v in sorted(resolved.items()) if v},
                    "open": open_now,
                }
            )
        )


def _scan_on_own_connection(force: Force) -> FlagRun:
    """One force's scan in a pool thread: Django gives each thread its own connection, closed
    when the scan is done."""
    try:
        return scan(force=force)
    finally:
        connections.close_all()

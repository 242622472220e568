import json
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Count

from slaverycases.accounts.models import Force
from slaverycases.flags.actions import scan
from slaverycases.flags.models import ACTIVE_STATUSES, Flag


class Command(BaseCommand):
    help = "Run every flag rule once, synchronously, for every force; print a JSON summary."

    def handle(self, *args: Any, **options: Any) -> None:
        opened: Counter[str] = Counter()
        resolved: Counter[str] = Counter()
        for force in Force.objects.order_by("code"):
            run = scan(force=force)
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

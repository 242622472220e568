"""Generate realistic synthetic investigations in bulk (the issue 6 benchmark data).

    manage.py generate_cases --investigations 1000000 [--forces 43] [--seed 1] [--workers 2]

Spread over the forces and over ten years; COPY on PostgreSQL, bulk_create on SQLite. Each batch
commits on its own, so memory stays flat and an interrupted run keeps what it wrote (references
stay unique: a new run simply carries on numbering). On PostgreSQL a load at least as large as
the table sets the search keys' index aside and builds it once at the end (about 2 minutes for
1M cases). See investigations/generate.py.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from investigations.generate import FORCES, Progress, generate


class Command(BaseCommand):
    help = "Generate N synthetic investigations with victims, offences, referrals and more."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--investigations", type=int, required=True, metavar="N")
        parser.add_argument(
            "--forces", type=int, default=len(FORCES), metavar="K", help="How many forces"
        )
        parser.add_argument("--seed", type=int, default=1, metavar="S")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument(
            "--workers", type=int, default=1, help="Processes writing batches (PostgreSQL)"
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        n = options["investigations"]
        if n < 1 or options["forces"] < 1 or options["batch_size"] < 1:
            raise CommandError("--investigations, --forces and --batch-size must be positive.")
        progress = None if options["no_progress"] else Progress(n, stream=self.stderr._out)
        figures = generate(
            investigations=n,
            forces=options["forces"],
            seed=options["seed"],
            batch_size=options["batch_size"],
            workers=options["workers"],
            progress=progress,
        )
        self.stdout.write(json.dumps(figures))

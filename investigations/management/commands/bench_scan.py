"""Benchmark the national flag scan (issue 6): time `scan_flags` twice, each run in its own
subprocess so its peak memory (ru_maxrss) is its own, then EXPLAIN (ANALYZE, BUFFERS) the
heaviest rule queries for the largest force, and write the figures to docs/performance.md.

    manage.py generate_cases --investigations 1000000
    manage.py bench_scan [--fresh] [--output docs/performance.md]

Not a test: timings depend on the machine, so they are measured and written down, never
asserted.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from investigations.models import Investigation, TimelineEvent, TimelineKind
from slaverycases.accounts.models import Force
from slaverycases.flags.actions import settings_for
from slaverycases.flags.models import ACTIVE_STATUSES, Flag, FlagRun
from slaverycases.flags.rules import RULES


class Command(BaseCommand):
    help = "Time scan_flags (first and second run) and write docs/performance.md."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fresh",
            action="store_true",
            help="Delete every flag (and flag timeline event) first, so run 1 opens them all",
        )
        parser.add_argument("--runs", type=int, default=2)
        parser.add_argument(
            "--output", default=str(Path(settings.BASE_DIR) / "docs/performance.md")
        )
        parser.add_argument("--explain", type=int, default=3, help="How many queries to EXPLAIN")
        parser.add_argument(
            "--generated",
            default="",
            help='How the data was generated, for the report (e.g. "1,000,000 in 10m32s")',
        )
        parser.add_argument(
            "--with-email",
            action="store_true",
            help="Keep the configured e-mail backend (default: the dummy backend, so that the "
            "first run's one e-mail per new high-severity flag is built but not delivered)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Forces scanned at once (scan_flags --workers; default 1)",
        )
        parser.add_argument("--child", action="store_true", help=argparse_hidden())

    def handle(self, *args: Any, **options: Any) -> None:
        if options["child"]:
            self._child(options["workers"])
            return
        if options["fresh"]:
            with transaction.atomic():
                TimelineEvent.objects.filter(kind=TimelineKind.FLAG, actor=None).delete()
                Flag.objects.all().delete()
                FlagRun.objects.all().delete()
        env = os.environ.copy()
        if not options["with_email"]:
            env["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
        runs = []
        for n in range(options["runs"]):
            result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
                [
                    sys.executable,
                    str(Path(settings.BASE_DIR) / "manage.py"),
                    "bench_scan",
                    "--child",
                    "--workers",
                    str(options["workers"]),
                ],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            runs.append(figures)
            self.stderr.write(
                f"run {n + 1}: {figures['seconds']:.1f} s, peak {figures['maxrss_mb']:.0f} MB, "
                f"opened {sum(figures['summary']['opened'].values())}, "
                f"resolved {sum(figures['summary']['resolved'].values())}"
            )
        rules, plans = self._explain(options["explain"])
        email = env.get("EMAIL_BACKEND", settings.EMAIL_BACKEND).rsplit(".", 2)[-2]
        report = self._report(
            runs, rules, plans, options["generated"], email, workers=options["workers"]
        )
        Path(options["output"]).write_text(report)
        self.stdout.write(json.dumps({"runs": runs, "rules": rules}, default=str))

    def _child(self, workers: int) -> None:
        """One scan_flags run: wall time, peak memory of this process, the JSON summary."""
        from io import StringIO

        out = StringIO()
        started = time.monotonic()
        call_command("scan_flags", workers=workers, stdout=out)
        seconds = time.monotonic() - started
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
        self.stdout.write(
            json.dumps(
                {
                    "seconds": round(seconds, 2),
                    "maxrss_mb": round(maxrss / 1024, 1),
                    "summary": json.loads(out.getvalue()),
                }
            )
        )

    def _explain(self, top: int) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
        """Run each rule for the largest force, capturing its queries and their time; then
        EXPLAIN (ANALYZE, BUFFERS) the slowest ones (read-only: the rules only SELECT)."""
        force = Force.objects.get(
            pk=Investigation.objects.values("force")
            .annotate(n=Count("pk"))
            .order_by("-n")
            .values_list("force", flat=True)[0]
        )
        cfg = settings_for(force)
        now = timezone.now()
        scope = Investigation.objects.filter(force=force)
        captured: list[tuple[str, str, list[Any], float]] = []
        rules = []
        current = {"kind": ""}

        def capture(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            started = time.monotonic()
            try:
                return execute(sql, params, many, context)
            finally:
                captured.append(
                    (current["kind"], sql, list(params or []), time.monotonic() - started)
                )

        with transaction.atomic(), connection.execute_wrapper(capture):
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")  # as scan() does
                cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")
                cursor.execute("SET LOCAL random_page_cost = 1.1")
            for kind, rule in RULES.items():
                current["kind"] = kind
                started = time.monotonic()
                count = sum(1 for _ in rule(scope, cfg, now))
                rules.append(
                    {"kind": kind, "rows": count, "seconds": round(time.monotonic() - started, 2)}
                )
        selects = [c for c in captured if c[1].lstrip().upper().startswith("SELECT")]
        heaviest = sorted(selects, key=lambda c: c[3], reverse=True)[:top]
        plans = []
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")
            cursor.execute("SET LOCAL random_page_cost = 1.1")
            for kind, sql, params, _ in heaviest:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = "\n".join(r[0] for r in cursor.fetchall())
                if hasattr(cursor.cursor, "mogrify"):
                    sql = cursor.cursor.mogrify(sql, params)  # the query as it ran
                plans.append((kind, sql, plan))
        for rule in rules:
            rule["force"] = force.code
        return rules, plans

    def _report(
        self,
        runs: list[dict[str, Any]],
        rules: list[dict[str, Any]],
        plans: list[tuple[str, str, str]],
        generated: str,
        email: str,
        *,
        workers: int = 1,
    ) -> str:
        counts = {
            "investigations": Investigation.objects.count(),
            "forces": Force.objects.count(),
            "active flags": Flag.objects.filter(status__in=ACTIVE_STATUSES).count(),
        }
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            size = cursor.fetchone()[0]
        lines = [
            "# Performance: the national flag scan",
            "",
            "Written by `manage.py bench_scan` (investigations/management/commands/bench_scan.py)"
            f" on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; data from `manage.py generate_cases`.",
            f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{connection.vendor} {connection.cursor().connection.info.server_version}, "
            f"database {size}. Shared with other work while measured: figures are indicative.",
            "",
            "| | |",
            "|---|---|",
            *[f"| {k} | {v:,} |" for k, v in counts.items()],
            *([f"| generated (`generate_cases`) | {generated} |"] if generated else []),
            "",
            HOW,
            "## scan_flags runs (each in its own process)",
            "",
            f"Forces scanned at once: {workers} (`scan_flags --workers {workers}`: each on its "
            "own connection, as a Celery worker with that many processes runs the per-force "
            "tasks).",
            "",
            f"E-mail backend: {email} (run 1 builds one e-mail per new high-severity flag).",
            "",
            "| run | seconds | peak memory (ru_maxrss) | opened | resolved |",
            "|---|---|---|---|---|",
        ]
        for n, run in enumerate(runs, 1):
            lines.append(
                f"| {n} | {run['seconds']:.1f} | {run['maxrss_mb']:.0f} MB | "
                f"{sum(run['summary']['opened'].values()):,} | "
                f"{sum(run['summary']['resolved'].values()):,} |"
            )
        lines += ["", "Opened on the first run, per kind:", ""]
        if runs:
            for kind, n in sorted(runs[0]["summary"]["opened"].items()):
                lines.append(f"- {kind}: {n:,}")
        lines += [
            "",
            f"## Rule queries for the largest force ({rules[0]['force'] if rules else '-'})",
            "",
            "Each rule run alone (rows produced and time to stream them, no reconcile):",
            "",
            "| rule | rows | seconds |",
            "|---|---|---|",
            *[f"| {r['kind']} | {r['rows']:,} | {r['seconds']:.2f} |" for r in rules],
            "",
            "## EXPLAIN (ANALYZE, BUFFERS) of the heaviest rule queries",
            "",
        ]
        for kind, sql, plan in plans:
            lines += [f"### {kind}", "", "```sql", sql, "```", "", "```", plan, "```", ""]
        return "\n".join(lines) + "\n"


HOW = """## How the scan stays fast and small

- One scan per force, one transaction each (as the Celery fan-out does). Each rule is one
  set-based query over the force's cases, streamed through a server-side cursor 5,000 rows at
  a time; nothing builds a dict of all rows.
- `reconcile` (slaverycases/flags/actions.py) copies the rule's rows into a session temporary
  table `flag_wanted` (COPY, in chunks) and compares them with the flags in SQL: one `INSERT ...
  SELECT ... ON CONFLICT DO NOTHING` opens the new flags (not one that a dismissal still covers,
  ADR 0006; the partial unique index `flag_one_active_per_kind_case_victim` makes a concurrent
  scan's second insert a no-op) and writes their timeline events in the same statement; one
  `UPDATE ... WHERE NOT EXISTS` resolves those whose condition cleared, with their timeline
  events; one `UPDATE ... FROM` refreshes severity and evidence only where they changed, so a
  second run with nothing changed writes nothing. The opened flags are built from the INSERT's
  `RETURNING` rows. SQLite keeps the Python reconcile.
- Inside the scan's transaction: `jit = off` (hundreds of short queries: compiling costs more
  than it saves), `cursor_tuple_fraction = 1.0` (server-side cursors are otherwise planned for
  their first 10% of rows: nested loops over whole tables, 10x slower here) and
  `random_page_cost = 1.1` (the working set is in memory: probing a primary key beats hashing a
  whole force's cases to match a few thousand flags).
- premature_closure examines only cases closed, or closure requested, within
  `FlagSettings.premature_closure_lookback_days` (default 365); flags on older closures are left
  as they are (neither refreshed nor resolved). A reopened case is still reconciled.
- victim_contact_overdue and relocated_victim_no_contact start from the victims of the force's
  open cases (before: every victim in the country, for every force).
- Rule queries drop the models' default ordering (`order_by()`): no sort of 50,000 rows that
  nobody reads in order.
- Indexes: `inv_force_status_closed` (investigation: force, status, closed_at, including id and
  closure_requested_at: a force's open cases and recent closures) and `involvement_not_spoken`
  (involvement: investigation where account_taken_at is null; premature_closure otherwise read
  every involvement never spoken to, nationally, for every force).
"""


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS

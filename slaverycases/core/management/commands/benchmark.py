"""Time the main pages through the real WSGI stack, and scan_flags (issue 9).

    manage.py generate_cases --investigations 1000000
    manage.py benchmark --json var/benchmark.json [--requests 50] [--warmup 5] [--skip-scan]
                        [--only list,case,...] [--officer U] [--supervisor U] [--safeguarding U]

See slaverycases/core/benchmark.py for what is measured and how. It writes what the pages
write: audit rows, and for each PDF a recorded disclosure and a timeline event on the case.
Exits non-zero when a page does not answer 200 (the report is still printed and written).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from slaverycases.core import benchmark


class Command(BaseCommand):
    help = (
        "Sign in as an officer, a supervisor and a safeguarding lead and time the main pages "
        "through the WSGI application (p50, p95, max, SQL queries, main SQL query), then "
        "scan_flags; print a table and write JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", metavar="FILE", help="Write the full report here")
        parser.add_argument("--requests", type=int, default=50, help="Timed requests per page")
        parser.add_argument("--warmup", type=int, default=5, help="Untimed requests first")
        parser.add_argument(
            "--pdf-requests",
            type=int,
            default=None,
            help="Timed requests for the PDF (default: --requests)",
        )
        parser.add_argument("--skip-scan", action="store_true", help="Do not run scan_flags")
        parser.add_argument("--scan-runs", type=int, default=1, metavar="N")
        parser.add_argument(
            "--scan-workers",
            type=int,
            default=os.cpu_count() or 1,
            metavar="N",
            help="Forces scanned at once, as a Celery worker with N processes runs the "
            "per-force scan tasks (default: the number of CPUs, Celery's default concurrency)",
        )
        parser.add_argument(
            "--only",
            default="",
            metavar="NAME[,NAME]",
            help="Only these: " + ", ".join(benchmark.ALL_NAMES),
        )
        parser.add_argument("--officer", default="", metavar="USERNAME")
        parser.add_argument("--supervisor", default="", metavar="USERNAME")
        parser.add_argument("--safeguarding", default="", metavar="USERNAME")
        parser.add_argument(
            "--host", default="", help="Host header (default: the first of ALLOWED_HOSTS)"
        )
        parser.add_argument(
            "--search", default="", help="Search term for list_search (default: from a title)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        only = [name.strip() for name in options["only"].split(",") if name.strip()]
        try:
            report = benchmark.run(
                requests=options["requests"],
                warmup=options["warmup"],
                pdf_requests=options["pdf_requests"],
                only=only or None,
                scan=not options["skip_scan"],
                scan_runs=options["scan_runs"],
                scan_workers=options["scan_workers"],
                officer=options["officer"],
                supervisor=options["supervisor"],
                safeguarding=options["safeguarding"],
                host=options["host"],
                search=options["search"],
                progress=lambda text: self.stderr.write(text),
            )
        except benchmark.BenchmarkError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(table(report))
        if options["json"]:
            Path(options["json"]).write_text(json.dumps(report, indent=2, default=str) + "\n")
            self.stderr.write(f"Written to {options['json']}")
        failed = failures(report)
        if failed:
            raise CommandError("Failed: " + "; ".join(failed))


def failures(report: dict[str, Any]) -> list[str]:
    """What went wrong: a page that did not answer 200, a main query or a scan that failed."""
    failed = [f"{p['name']}: {p['error']}" for p in report["pages"] if p["status"] != "ok"]
    failed += [
        f"{p['name']} main query: {p['main_query']['error']}"
        for p in report["pages"]
        if "error" in p.get("main_query", {})
    ]
    scan = report.get("scan")
    if scan and scan["status"] != "ok":
        failed.append(f"{benchmark.SCAN}: {scan['error']}")
    return failed


def table(report: dict[str, Any]) -> str:
    """The report as a table for the terminal (the JSON has more: SQL, slowest query...)."""
    env = report["environment"]
    lines = [
        f"{env['date']}  {env['database']} (jit {env['jit'] or '-'})  {env['cpu_count']} CPUs  "
        f"{env['investigations']:,} investigations  {env['audit_rows']:,} audit rows  "
        f"DEBUG {'on' if env['debug'] else 'off'}  two-factor "
        f"{'required' if env['two_factor_required'] else 'off'}  shared buffers "
        f"{env.get('shared_buffers') or '-'}  CPU reference {env.get('cpu_reference_ms')} ms",
        f"{env['host']}; users: "
        + ", ".join(f"{k} {v}" for k, v in env.get("users", {}).items())
        + f"; {env['warmup']} warm-up requests",
        "",
    ]
    header = (
        f"{'page':<24}{'status':<8}{'req':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
        f"{'queries':>9}{'main SQL ms':>13}{'ratio':>8}"
    )
    lines += [header, "-" * len(header)]
    for page in report["pages"]:
        if page["status"] != "ok":
            lines.append(f"{page['name']:<24}{'ERROR':<8}{page['error']}")
            continue
        ms = page["ms"]
        main = page.get("main_query", {})
        queries = str(page["queries"])
        if page["queries_min"] != page["queries"]:
            queries = f"{page['queries_min']}-{page['queries']}"
        main_ms = f"{main['ms_p50']:.2f}" if "ms_p50" in main else "error"
        ratio = f"{page['ratio']:.1f}x" if page.get("ratio") else "-"
        lines.append(
            f"{page['name']:<24}{'ok':<8}{page['requests']:>5}{ms['p50']:>9.1f}"
            f"{ms['p95']:>9.1f}{ms['max']:>9.1f}{queries:>9}{main_ms:>13}{ratio:>8}"
        )
    scan = report.get("scan")
    if scan:
        lines.append("")
        if scan["status"] != "ok":
            lines.append(f"{benchmark.SCAN}: ERROR {scan['error']}")
        for n, r in enumerate(scan["runs"], 1):
            lines.append(
                f"{benchmark.SCAN} run {n} ({scan.get('workers', 1)} at once): "
                f"{r['seconds']:.1f} s "
                f"(process {r['process_seconds']:.1f} s), peak {r['peak_mb']:.0f} MB, "
                f"opened {r['opened']:,}, resolved {r['resolved']:,}, active {r['open']:,}"
            )
    notes = [(p["name"], note) for p in report["pages"] for note in p["notes"]]
    if notes:
        lines += ["", "Notes:"]
        lines += [f"  {name}: {note}" for name, note in notes]
    lines += [
        "",
        "ratio = page p50 / main SQL p50 (the one query that reads the page's main rows).",
    ]
    return "\n".join(lines)

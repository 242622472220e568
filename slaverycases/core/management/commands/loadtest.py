"""Load test (issue 9): officers browsing the investigation list and case pages, through a real
HTTP server (gunicorn) on loopback, driven by wrk for a bounded time.

    manage.py loadtest [--duration 60] [--connections 16] [--workers 4] [--json FILE]

It signs in `--officers` officers of the busiest units (real sessions, as `benchmark` does),
collects for each the URLs they would open (the list, filtered, searched and later pages, and
the case pages of cases they can see), starts gunicorn with the current settings, runs wrk
with a Lua script that sends each request as a random officer to one of their URLs, and
reports requests per second, latency p50/p95/p99/max and every non-2xx answer or socket error
(an error is a failed run: exit status 1). Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from investigations import access as case_access
from investigations.models import Investigation
from slaverycases.accounts import roles
from slaverycases.accounts.models import User
from slaverycases.core.benchmark import (
    Visitor,
    child_database_url,
    http_host,
    search_term,
)

LUA = r"""
local targets = {}
%(targets)s
local n = #targets
math.randomseed(%(seed)d)
request = function()
  local t = targets[math.random(n)]
  return wrk.format("GET", t[2], {["Cookie"] = t[1], ["Host"] = "%(host)s",
                                  ["X-Forwarded-Proto"] = "https",
                                  ["Accept"] = "text/html"})
end
local bad = 0
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'LOADTEST {"requests": %%d, "duration_us": %%d, "bytes": %%d, ' ..
    '"p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "max_us": %%d, "mean_us": %%.0f, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "timeout": %%d, "status": %%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean, e.connect, e.read, e.write, e.timeout, e.status))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _processes() -> dict[int, tuple[str, int, float]]:
    """Every process's name, parent and CPU seconds so far (user + system), from /proc (Linux);
    empty where there is no /proc."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found: dict[int, tuple[str, int, float]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = entry.read_text()
        except OSError:
            continue  # the process ended
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / tick  # utime + stime, fields 14 and 15
        found[int(entry.parent.name)] = (name, int(fields[1]), cpu)
    return found


def _cpu_by_side(server_pid: int) -> dict[str, dict[int, float]]:
    """CPU seconds used so far by each process of the app (gunicorn's master and workers) and
    of the database server on this machine (processes named postgres)."""
    sides: dict[str, dict[int, float]] = {"app": {}, "database": {}}
    for pid, (name, parent, cpu) in _processes().items():
        if server_pid in (pid, parent):
            sides["app"][pid] = cpu
        elif name.startswith("postgres"):
            sides["database"][pid] = cpu
    return sides


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two readings by the processes alive at the second (a process
    started in between counts from zero; one that ended is not counted)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


class Command(BaseCommand):
    help = "Load-test the list and case pages with gunicorn and wrk on loopback."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--duration", type=int, default=60, help="seconds (default 60)")
        parser.add_argument("--connections", type=int, default=16)
        parser.add_argument("--threads", type=int, default=2, help="wrk threads")
        parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
        parser.add_argument("--officers", type=int, default=12)
        parser.add_argument("--cases", type=int, default=40, help="case pages per officer")
        parser.add_argument("--json", default="", help="write the results to this file")

    def handle(self, *args: Any, **opts: Any) -> None:
        wrk = shutil.which("wrk")
        if wrk is None:
            raise CommandError("wrk is not installed (Debian package wrk)")
        officers = self._officers(opts["officers"])
        host, _ = http_host()
        visitors = [Visitor(None, u, host=host, secure=True) for u in officers]  # type: ignore[arg-type]
        targets: list[tuple[str, str]] = []
        try:
            for visitor in visitors:
                visitor.sign_in()
                name = settings.SESSION_COOKIE_NAME
                cookie = f"{name}={visitor.cookies[name]}"
                for url in self._urls(visitor.user, opts["cases"]):
                    targets.append((cookie, url))
            result = self._run(wrk, host, targets, opts)
        finally:
            for visitor in visitors:
                visitor.sign_out()
        result.update(
            {
                "officers": len(officers),
                "urls": len(targets),
                "list_urls": sum(1 for _, u in targets if u.startswith("/investigations/?")),
                "investigations": Investigation.objects.count(),
            }
        )
        self._report(result)
        if opts["json"]:
            Path(opts["json"]).write_text(json.dumps(result, indent=2) + "\n")
        if result["errors_total"]:
            raise CommandError(f"{result['errors_total']} requests failed")

    def _officers(self, count: int) -> list[User]:
        """Officers of the busiest units first, one or two per unit."""
        units = (
            Investigation.objects.values_list("unit_id", flat=True)
            .annotate(n=Count("pk"))
            .order_by("-n", "unit_id")
        )
        chosen: list[User] = []
        for unit_id in units:
            chosen += list(
                User.objects.filter(unit_id=unit_id, is_active=True, groups__name=roles.OFFICER)
                .select_related("force", "unit")
                .order_by("username")[:2]
            )
            if len(chosen) >= count:
                break
        if not chosen:
            raise CommandError("No officers with cases: run generate_cases or seed_demo first")
        return chosen[:count]

    def _urls(self, user: User, cases: int) -> list[str]:
        """What an officer opens: the list (as it comes, by status, searched, later pages) and
        the case pages of the cases they see."""
        visible = case_access.investigations_for_user(user)
        rng = random.Random(user.pk)  # noqa: S311 - a sample of pages, not a secret
        refs = list(
            visible.order_by("-reported_at", "-id").values_list("reference", flat=True)[:500]
        )
        term = search_term(user)
        lists = [
            {},
            {"status": "under_investigation"},
            {"status": "allocated"},
            {"q": term},
            {"page": "2"},
            {"page": "10"},
            {"sort": "reference"},
        ]
        urls = [f"/investigations/?{urlencode(q)}" if q else "/investigations/?" for q in lists]
        urls += [f"/investigations/{ref}/" for ref in rng.sample(refs, min(cases, len(refs)))]
        return urls

    def _run(
        self, wrk: str, host: str, targets: list[tuple[str, str]], opts: dict[str, Any]
    ) -> dict[str, Any]:
        port = _free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "slaverycases.settings"
            ),
        }
        database_url = child_database_url()  # the database this process uses (under pytest)
        if database_url:
            env["DATABASE_URL"] = database_url
        # Each worker keeps its connection for the whole run: a database process that ends
        # during the run (DB_CONN_MAX_AGE, 60 s by default) takes its CPU figure with it.
        env.setdefault("DB_CONN_MAX_AGE", str(opts["duration"] + 600))
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and gunicorn
            [
                sys.executable,
                "-m",
                "gunicorn",
                "slaverycases.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(opts["workers"]),
                "--access-logfile",
                "-" if opts["verbosity"] > 2 else "/dev/null",
                "--log-level",
                "warning",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            start_new_session=True,
        )
        lines = [
            f"targets[{i + 1}] = {{{_lua_string(c)}, {_lua_string(u)}}}"
            for i, (c, u) in enumerate(targets)
        ]
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA % {"targets": "\n".join(lines), "seed": 20261123, "host": host})
        try:
            self._wait_for(server, port, host)
            # Warm-up: every URL once, so the run measures steady state, not first imports.
            subprocess.run(  # noqa: S603 - wrk from PATH, our own arguments
                [
                    wrk,
                    "-t1",
                    "-c2",
                    f"-d{max(3, len(targets) // 100)}s",
                    "-s",
                    script.name,
                    f"http://127.0.0.1:{port}",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            before = _cpu_by_side(server.pid)
            done = subprocess.run(  # noqa: S603 - wrk from PATH, our own arguments
                [
                    wrk,
                    f"-t{opts['threads']}",
                    f"-c{opts['connections']}",
                    f"-d{opts['duration']}s",
                    "--timeout",
                    "10s",
                    "-s",
                    script.name,
                    f"http://127.0.0.1:{port}",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            after = _cpu_by_side(server.pid)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
            Path(script.name).unlink(missing_ok=True)
        line = next(x for x in done.stdout.splitlines() if x.startswith("LOADTEST "))
        raw = json.loads(line.removeprefix("LOADTEST "))
        seconds = raw["duration_us"] / 1e6
        errors = raw["errors"]
        per_request = {
            side: round(_cpu_used(before[side], after[side]) * 1000 / max(1, raw["requests"]), 1)
            for side in ("app", "database")
        }
        return {
            "duration_s": round(seconds, 1),
            "connections": opts["connections"],
            "gunicorn_workers": opts["workers"],
            "requests": raw["requests"],
            "requests_per_second": round(raw["requests"] / seconds, 1),
            "latency_ms": {
                k: round(raw[f"{k}_us"] / 1000, 1) for k in ("p50", "p95", "p99", "max", "mean")
            },
            "errors": errors,
            "errors_total": sum(errors.values()),
            # CPU of the timed run, per request: gunicorn's processes, and this machine's
            # PostgreSQL processes (0 when the database is elsewhere or there is no /proc).
            "cpu_ms_per_request": per_request,
            "cpu_count": os.cpu_count(),
            "wrk_output": done.stdout,
        }

    def _wait_for(self, server: subprocess.Popen[bytes], port: int, host: str) -> None:
        deadline = time.monotonic() + 60
        request = Request(
            f"http://127.0.0.1:{port}/healthz",
            headers={"Host": host, "X-Forwarded-Proto": "https"},
        )
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError("gunicorn exited at start")
            try:
                with urlopen(request, timeout=2):  # noqa: S310
                    return
            except HTTPError:
                return  # it answered
            except OSError:
                time.sleep(0.2)
        raise CommandError("gunicorn did not answer /healthz within 60 s")

    def _report(self, r: dict[str, Any]) -> None:
        lat = r["latency_ms"]
        self.stdout.write(
            f"{r['requests']} requests in {r['duration_s']} s over {r['connections']} connections "
            f"({r['gunicorn_workers']} gunicorn workers), {r['officers']} officers, "
            f"{r['urls']} URLs ({r['list_urls']} list, the rest case pages), "
            f"{r['investigations']:,} investigations\n"
            f"  {r['requests_per_second']} requests/s; latency p50 {lat['p50']} ms, "
            f"p95 {lat['p95']} ms, p99 {lat['p99']} ms, max {lat['max']} ms\n"
            f"  errors: {r['errors_total']} {r['errors']}\n"
            f"  CPU per request: app {r['cpu_ms_per_request']['app']} ms, "
            f"database {r['cpu_ms_per_request']['database']} ms "
            f"({r['cpu_count']} CPUs: {r['cpu_count'] * 1000} ms of CPU a second)"
        )

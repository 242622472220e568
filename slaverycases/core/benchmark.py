"""The page benchmark (issue 9): how fast the pages people use all day are, at scale.

`manage.py benchmark --json FILE` drives it. Against the current database it signs in as an
officer, a supervisor and a safeguarding lead and times, with a warm-up and N requests each,
through the real WSGI stack (slaverycases.wsgi's application, middleware and all): the
investigation list (default, filtered, searched by a town and by a common surname, page 500),
the case page of the visible case with the most victims, the flag queue, the safeguarding
board, the dashboard of each role and the case's PDF; `scan_flags` first, in its own process
(so that the flag queue has flags).
For each page: p50, p95 and max time (time.perf_counter around the WSGI call, the response
consumed and closed), the number of SQL queries (an execute wrapper), and the time of the SQL
query that produces the page's main rows, built from the same querysets and access functions
as the view and timed as often as the page, so that page / query shows how close the page is
to the database's limit.

Signing in needs no password: each user gets a real session in the session store holding what
`django.contrib.auth.login` and the second factor put there (the OTP device, the time of the
last verification) and sends it as the session cookie. With two-factor sign-in required, a user
without an authenticator gets a temporary confirmed TOTP device (its key known to nobody),
deleted at the end with the sessions; the sign-ins and sign-outs are audited.

The pages write what they always write: an audit row for each view of the case page, and for
each PDF a recorded disclosure and a timeline event on the case (whose page and PDF show the
whole timeline: a run adds warm-up + requests events to it).

Not a test: timings depend on the machine, so they are measured and written down, never
asserted.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from importlib import import_module
from io import BytesIO
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit
from wsgiref.util import setup_testing_defaults

import django
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection, transaction
from django.db.models import Count
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from pypdf import PdfReader

from investigations import access as case_access
from investigations.forms import InvestigationFilterForm
from investigations.models import Investigation, Status, TimelineEvent
from investigations.querysets import CASE_PAGE
from investigations.views import PAGE_SIZE as LIST_PAGE_SIZE
from investigations.views import SORTS
from safeguarding.querysets import board_victims
from safeguarding.views import PAGE_SIZE as BOARD_PAGE_SIZE
from slaverycases.accounts import roles
from slaverycases.accounts.middleware import LAST_SEEN, SIGNED_IN_AT
from slaverycases.accounts.models import Force, User
from slaverycases.accounts.twofactor import VERIFIED_AT, confirmed_device
from slaverycases.audit.actions import audit_record
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.core.paging import serial_plan
from slaverycases.dashboards import querysets as dash
from slaverycases.flags.models import ACTIVE_STATUSES, Flag
from slaverycases.flags.querysets import queue_for
from slaverycases.flags.views import PAGE_SIZE as QUEUE_PAGE_SIZE
from victims.models import Victim

if TYPE_CHECKING:
    from django.core.handlers.wsgi import WSGIHandler

OFFICER, SUPERVISOR, SAFEGUARDING = "officer", "supervisor", "safeguarding"
ROLE_OF = {
    OFFICER: roles.OFFICER,
    SUPERVISOR: roles.SUPERVISOR,
    SAFEGUARDING: roles.SAFEGUARDING_LEAD,
}
PAGE_NAMES = [
    "list",
    "list_filtered",
    "list_search",
    "list_search_name",
    "list_page500",
    "list_type",
    "list_type_page500",
    "case",
    "flags_queue",
    "safeguarding_board",
    "dashboard_officer",
    "dashboard_supervisor",
    "dashboard_safeguarding",
    "pdf",
]
SCAN = "scan_flags"
ALL_NAMES = [*PAGE_NAMES, SCAN]
DEEP_PAGE = 500
USER_AGENT = "slaverycases manage.py benchmark"
DEVICE_NAME = "manage.py benchmark (temporary)"
MODEL_BACKEND = "slaverycases.accounts.backends.PermissionBackend"
REFRESH_SECONDS = 60  # keep the session's idle and step-up clocks fresh between requests
PDF_RECIPIENT = "manage.py benchmark"
PDF_JUSTIFICATION = "Performance benchmark of case summary printing (no document leaves)."


class BenchmarkError(Exception):
    """The benchmark cannot run as asked (no such user, no cases, no usable host name)."""


# --- measuring ----------------------------------------------------------------------------


class QueryLog:
    """An execute wrapper: how many SQL statements ran, and how long each took."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.sql: list[str] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds.append(perf_counter() - started)
            self.sql.append(sql)

    @property
    def count(self) -> int:
        return len(self.seconds)


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 50 samples is the 48th smallest)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def summarise(samples: list[float]) -> dict[str, float]:
    return {
        "p50": _ms(statistics.median(samples)),
        "p95": _ms(percentile(samples, 0.95)),
        "max": _ms(max(samples)),
        "min": _ms(min(samples)),
    }


def time_query(run: Callable[[], Any], *, runs: int, warmup: int) -> dict[str, Any]:
    """Evaluate `run` (one queryset) warmup + runs times; the SQL time of each run (statement
    execution and row transfer, as the execute wrapper sees it) and its wall time in the ORM."""
    for _ in range(max(warmup, 1)):  # at least once: caches the user's permissions
        run()
    sql_seconds: list[float] = []
    orm_seconds: list[float] = []
    counts: set[int] = set()
    last = QueryLog()
    for _ in range(runs):
        log = QueryLog()
        with connection.execute_wrapper(log):
            started = perf_counter()
            run()
            orm_seconds.append(perf_counter() - started)
        sql_seconds.append(sum(log.seconds))
        counts.add(log.count)
        last = log
    return {
        "ms_p50": _ms(statistics.median(sql_seconds)),
        "ms_p95": _ms(percentile(sql_seconds, 0.95)),
        "orm_ms_p50": _ms(statistics.median(orm_seconds)),
        "queries": max(counts),
        "sql": last.sql[-1] if last.sql else "",
    }


# --- signing in and requesting ------------------------------------------------------------


@dataclass
class Response:
    status: int
    location: str
    size: int
    seconds: float
    queries: QueryLog
    body: bytes = b""


def http_host() -> tuple[str, str]:
    """A host name the site accepts (the first of ALLOWED_HOSTS), and a note about it."""
    for host in settings.ALLOWED_HOSTS:
        if host == "*":
            return "localhost", "ALLOWED_HOSTS is '*': requests sent with Host: localhost"
        if host.startswith("."):
            return host[1:], f"Host: {host[1:]} (from ALLOWED_HOSTS {host!r})"
        return host, f"Host: {host} (the first of ALLOWED_HOSTS)"
    if settings.DEBUG:
        return "localhost", "ALLOWED_HOSTS is empty (DEBUG on): requests sent with Host: localhost"
    raise BenchmarkError(
        "ALLOWED_HOSTS is empty: set it (or pass --host) so that requests can be addressed."
    )


class Visitor:
    """One signed-in user: a real session in the session store, sent as the session cookie,
    and requests through the WSGI application."""

    def __init__(self, app: WSGIHandler, user: User, *, host: str, secure: bool) -> None:
        self.app = app
        self.user = user
        self.host = host
        self.secure = secure
        self.cookies: dict[str, str] = {}
        self.device: TOTPDevice | None = None
        self.device_created = False
        self.refreshed = 0.0

    # The session: what login() and the second factor store, nothing more.
    def sign_in(self) -> None:
        if MODEL_BACKEND not in settings.AUTHENTICATION_BACKENDS:
            raise BenchmarkError(f"{MODEL_BACKEND} is not in AUTHENTICATION_BACKENDS")
        store = import_module(settings.SESSION_ENGINE).SessionStore()
        now = time.time()
        store[SESSION_KEY] = self.user._meta.pk.value_to_string(self.user)
        store[BACKEND_SESSION_KEY] = MODEL_BACKEND
        store[HASH_SESSION_KEY] = self.user.get_session_auth_hash()
        store[SIGNED_IN_AT] = now
        store[LAST_SEEN] = now
        with transaction.atomic():
            if settings.TWO_FACTOR_REQUIRED:
                self.device = confirmed_device(self.user)
                if self.device is None:
                    self.device = TOTPDevice.objects.create(
                        user=self.user, name=DEVICE_NAME, confirmed=True
                    )
                    self.device_created = True
                store[DEVICE_ID_SESSION_KEY] = self.device.persistent_id
                store[VERIFIED_AT] = now
            store.save()
            audit_record(
                actor=self.user,
                action=AuditAction.SIGN_IN,
                detail={"via": USER_AGENT, "temporary_device": self.device_created},
            )
        self.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
        self.refreshed = now

    def refresh(self) -> None:
        """What a user clicking about does: the idle clock restarts; and a second factor
        proven just now, as the PDF's step-up asks."""
        store = self._store()
        if store is None or not store.exists(store.session_key):
            return
        now = time.time()
        store[LAST_SEEN] = now
        if settings.TWO_FACTOR_REQUIRED:
            store[VERIFIED_AT] = now
        store.save()
        self.refreshed = now

    def sign_out(self) -> None:
        store = self._store()
        with transaction.atomic():
            if store is not None:
                store.delete()
            if self.device_created and self.device is not None:
                self.device.delete()
            audit_record(actor=self.user, action=AuditAction.SIGN_OUT, detail={"via": USER_AGENT})
        self.cookies.pop(settings.SESSION_COOKIE_NAME, None)

    def _store(self) -> Any:
        key = self.cookies.get(settings.SESSION_COOKIE_NAME)
        if not key:
            return None
        return import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)

    # Requests.
    def environ(self, url: str) -> dict[str, Any]:
        parts = urlsplit(url)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "HTTP_HOST": self.host,
            "SERVER_NAME": self.host,
            "SERVER_PORT": "443" if self.secure else "80",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_USER_AGENT": USER_AGENT,
            "HTTP_ACCEPT": "text/html,application/xhtml+xml,application/pdf;q=0.9,*/*;q=0.8",
            "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9",
            "HTTP_COOKIE": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "wsgi.url_scheme": "https" if self.secure else "http",
        }
        proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
        if proxy and self.secure:
            environ[proxy[0]] = proxy[1]
        setup_testing_defaults(environ)
        return environ

    def get(self, url: str) -> Response:
        return self._request(self.environ(url))

    def post(self, url: str, form: dict[str, str]) -> Response:
        """A form posted as a browser posts it: the CSRF cookie and the same secret in the
        form, from this site's origin."""
        token = self.cookies.setdefault(
            settings.CSRF_COOKIE_NAME, get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS)
        )
        body = urlencode({**form, "csrfmiddlewaretoken": token}).encode()
        environ = self.environ(url)  # after the cookie: it carries it
        scheme = "https" if self.secure else "http"
        environ.update(
            {
                "REQUEST_METHOD": "POST",
                "CONTENT_TYPE": "application/x-www-form-urlencoded",
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_ORIGIN": f"{scheme}://{self.host}",
                "wsgi.input": BytesIO(body),
            }
        )
        return self._request(environ)

    def _request(self, environ: dict[str, Any]) -> Response:
        if time.time() - self.refreshed > REFRESH_SECONDS:
            self.refresh()
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started_response: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started_response["status"] = status
            started_response["headers"] = headers
            return lambda data: None

        log = QueryLog()
        chunks: list[bytes] = []
        with connection.execute_wrapper(log):
            started = perf_counter()
            result = self.app(environ, start_response)
            try:
                for chunk in result:
                    chunks.append(chunk)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()  # request_finished: what a WSGI server does after the last byte
            seconds = perf_counter() - started
        headers = started_response.get("headers", [])
        self._keep_cookies(headers)
        location = next((v for k, v in headers if k.lower() == "location"), "")
        return Response(
            status=int(started_response.get("status", "0").split()[0]),
            location=location,
            size=sum(len(chunk) for chunk in chunks),
            seconds=seconds,
            queries=log,
            body=b"".join(chunks),
        )

    def _keep_cookies(self, headers: Iterable[tuple[str, str]]) -> None:
        for name, value in headers:
            if name.lower() != "set-cookie":
                continue
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(value)
            for key, morsel in cookie.items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[key] = morsel.value
                else:
                    self.cookies.pop(key, None)


# --- who, and what ------------------------------------------------------------------------


def _role_user(username: str, role: str, option: str) -> User:
    user = User.objects.filter(username=username).select_related("force", "unit").first()
    if user is None:
        raise BenchmarkError(f"No user {username!r} (--{option})")
    if not user.is_active or not user.has_role(role):
        raise BenchmarkError(f"{username!r} (--{option}) is not an active {role}")
    return user


def representative_users(
    *, officer: str = "", supervisor: str = "", safeguarding: str = ""
) -> dict[str, User]:
    """The users named, and for the others: an officer, a supervisor and a safeguarding lead
    of the busiest unit (most investigations) of the force with the most investigations that
    has all three (the first by username: gen.mps.0.officer0 in generated data, officer.gmp in
    the demo)."""
    named = {OFFICER: officer, SUPERVISOR: supervisor, SAFEGUARDING: safeguarding}
    users = {key: _role_user(name, ROLE_OF[key], key) for key, name in named.items() if name}
    missing = [key for key in named if key not in users]
    if not missing:
        return users
    forces = (
        Investigation.objects.values_list("force_id", flat=True)
        .annotate(n=Count("pk"))
        .order_by("-n", "force_id")
    )
    for force_id in forces:
        units = (
            Investigation.objects.filter(force_id=force_id, unit__isnull=False)
            .values_list("unit_id", flat=True)
            .annotate(n=Count("pk"))
            .order_by("-n", "unit_id")
        )
        for unit_id in units:
            found = {
                key: User.objects.filter(is_active=True, unit_id=unit_id, groups__name=ROLE_OF[key])
                .select_related("force", "unit")
                .order_by("username")
                .first()
                for key in missing
            }
            if all(found.values()):
                return {**users, **{k: u for k, u in found.items() if u is not None}}
    raise BenchmarkError(
        "No unit with cases has an active "
        + ", ".join(ROLE_OF[k] for k in missing)
        + ": generate data (manage.py generate_cases) or name the users (--officer, ...)."
    )


@dataclass
class Page:
    name: str
    visitor: str  # OFFICER, SUPERVISOR or SAFEGUARDING
    url: str
    main_query: Callable[[], Any]
    main_rows: str  # what the main query reads, in words
    notes: list[str] = field(default_factory=list)
    form: dict[str, str] | None = None  # posted (the print form), else a GET


def _list_rows(user: User, data: dict[str, str]) -> tuple[Callable[[], Any], int, int]:
    """The list view's rows for the query string `data` (investigations/views.py): the same
    form, filters, sort, reader and page; returns the query, the page number and the number of
    pages."""
    form = InvestigationFilterForm(data or None, user=user)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    sort = filters.get("sort") or "-reported_at"
    order = [sort if sort in SORTS else "-reported_at", "-id"]
    rows = case_access.visible_list_rows(user, filters, order)  # the list's own reader
    pages = max(1, math.ceil(rows.count() / LIST_PAGE_SIZE))
    number = min(int(data.get("page", 1)), pages)
    bottom = (number - 1) * LIST_PAGE_SIZE
    return (lambda: list(rows[bottom : bottom + LIST_PAGE_SIZE])), number, pages


def _url(name: str, *args: Any, query: dict[str, Any] | None = None) -> str:
    url = reverse(name, args=args)
    return f"{url}?{urlencode(query)}" if query else url


def search_term(user: User) -> str:
    """A word that finds cases: the last word of the newest visible case's title (a town, in
    generated data)."""
    title = (
        case_access.investigations_for_user(user)
        .order_by("-reported_at", "-id")
        .values_list("title", flat=True)
        .first()
    )
    words = "".join(c if c.isalpha() else " " for c in title or "").split()
    long_words = [w for w in words if len(w) >= 4]
    return (long_words or words or ["a"])[-1]


def common_surname() -> str:
    """The commonest last word of the newest 2,000 victims' names: a name found all over the
    country (in generated data, about one victim in forty), which the search must find in the
    unit's cases without first finding it everywhere."""
    from victims.models import Victim

    names = Victim.objects.order_by("-pk").values_list("name", flat=True)[:2000]
    counts = Counter(name.split()[-1] for name in names if name.split())
    return counts.most_common(1)[0][0] if counts else "Smith"


def build_pages(users: dict[str, User], *, search: str = "") -> tuple[list[Page], dict[str, Any]]:
    """The pages to time, each with its main query; and the case they are about."""
    officer, supervisor, lead = users[OFFICER], users[SUPERVISOR], users[SAFEGUARDING]
    pages: list[Page] = []

    def add_list(name: str, data: dict[str, str], notes: list[str]) -> None:
        run, number, pages_count = _list_rows(officer, data)
        if "page" in data and number != int(data["page"]):
            notes.append(
                f"only {pages_count} page{'s' if pages_count > 1 else ''} of "
                f"{LIST_PAGE_SIZE}: page {number} (the last) timed instead of page {data['page']}"
            )
            data = {**data, "page": str(number)}
        pages.append(
            Page(
                name,
                OFFICER,
                _url("investigations:list", query=data),
                run,
                f"page {number} of {pages_count} of the officer's cases",
                notes,
            )
        )

    term = search or search_term(officer)
    add_list("list", {}, [])
    add_list(
        "list_filtered",
        {"status": Status.UNDER_INVESTIGATION, "exploitation": "labour"},
        ["status under investigation, labour exploitation"],
    )
    add_list("list_search", {"q": term}, [f"search {term!r}"])
    surname = common_surname()
    add_list("list_search_name", {"q": surname}, [f"search {surname!r} (a common surname)"])
    add_list("list_page500", {"page": str(DEEP_PAGE)}, [])
    add_list("list_type", {"exploitation": "sexual"}, ["sexual exploitation alone"])
    add_list(
        "list_type_page500",
        {"exploitation": "labour", "page": str(DEEP_PAGE)},
        ["labour exploitation alone"],
    )

    case = (
        case_access.investigations_for_user(officer)
        .annotate(victims=Count("involvements"))
        .order_by("-victims", "-id")
        .values("reference", "victims")
        .first()
    )
    if case is None:
        raise BenchmarkError(f"{officer.username} sees no investigation")
    reference = case["reference"]
    # Each PDF adds a timeline event, and the case page and the PDF show them all.
    case["timeline_events"] = TimelineEvent.objects.filter(
        investigation__reference=reference
    ).count()

    def case_row() -> Any:
        # The case page's first query: the case with its joins (its records follow).
        return case_access.get_investigation_for_user(officer, reference, queryset=CASE_PAGE)

    pages.append(
        Page(
            "case",
            OFFICER,
            _url("investigations:detail", reference),
            case_row,
            "the case (with its joins)",
            [
                f"{reference}, {case['victims']} victims (the most of the officer's cases), "
                f"{case['timeline_events']} timeline events"
            ],
        )
    )
    active_flags = Flag.objects.filter(status__in=ACTIVE_STATUSES).exists()
    queue = queue_for(supervisor)[:QUEUE_PAGE_SIZE]
    pages.append(
        Page(
            "flags_queue",
            SUPERVISOR,
            _url("flags:queue"),
            lambda: list(queue.all()),
            f"first {QUEUE_PAGE_SIZE} active flags",
            [] if active_flags else ["no active flags: run scan_flags first"],
        )
    )
    board = board_victims(lead)[:BOARD_PAGE_SIZE]

    def board_page() -> Any:
        with serial_plan():  # as the board's first pages are read (safeguarding/views.py)
            return list(board.all())

    pages.append(
        Page(
            "safeguarding_board",
            SAFEGUARDING,
            _url("safeguarding:board"),
            board_page,
            f"first {BOARD_PAGE_SIZE} victims of the board",
        )
    )
    today = timezone.localdate()
    mine = dash.officer_cases(officer)[: dash.LIST_SIZE]
    days = dash.supervision_days(supervisor)
    unreviewed = dash.without_recent_review(
        dash.supervised_cases(supervisor), timezone.now(), days
    )[: dash.LIST_SIZE]
    overdue = dash.overdue_contacts(lead, today)[: dash.LIST_SIZE]
    pages += [
        Page(
            "dashboard_officer",
            OFFICER,
            _url("dashboards:dashboard"),
            lambda: list(mine.all()),
            "the officer's open cases (first 20)",
        ),
        Page(
            "dashboard_supervisor",
            SUPERVISOR,
            _url("dashboards:dashboard"),
            lambda: list(unreviewed.all()),
            "open cases without a recent review (first 20)",
        ),
        Page(
            "dashboard_safeguarding",
            SAFEGUARDING,
            _url("dashboards:dashboard"),
            lambda: list(overdue.all()),
            "victims with contact overdue (first 20)",
        ),
    ]

    def printable_case() -> Any:
        # pdf_views._printable_case: the case the PDF is rendered from.
        qs = Investigation.objects.select_related("unit", "force", "oic", "supervisor")
        return case_access.get_investigation_for_user(officer, reference, queryset=qs)

    pages.append(
        Page(
            "pdf",
            OFFICER,
            _url("investigations:print", reference),
            printable_case,
            "the case (with its joins)",
            [f"{reference}, full variant, the print form posted; each one a recorded disclosure"],
            form={
                "variant": "full",
                "recipient": PDF_RECIPIENT,
                "justification": PDF_JUSTIFICATION,
            },
        )
    )
    return pages, {"reference": reference, "victims": case["victims"], "search": term}


# --- running ------------------------------------------------------------------------------


def measure_page(visitor: Visitor, page: Page, *, requests: int, warmup: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "name": page.name,
        "user": visitor.user.username,
        "url": page.url,
        "status": "ok",
        "requests": requests,
        "warmup": warmup,
        "notes": list(page.notes),
    }
    visitor.refresh()
    seconds: list[float] = []
    counts: list[int] = []
    sql_seconds: list[float] = []
    slowest: list[float] = []
    slowest_sql = ""
    response = None
    for n in range(warmup + requests):
        response = visitor.get(page.url) if page.form is None else visitor.post(page.url, page.form)
        if response.status != 200:
            result["status"] = "error"
            result["error"] = f"HTTP {response.status}" + (
                f" to {response.location}" if response.location else ""
            )
            result["failed_request"] = n + 1
            return result
        if n < warmup:
            continue
        seconds.append(response.seconds)
        log = response.queries
        counts.append(log.count)
        sql_seconds.append(sum(log.seconds))
        if log.seconds:
            worst = max(range(log.count), key=log.seconds.__getitem__)
            slowest.append(log.seconds[worst])
            slowest_sql = log.sql[worst]
    assert response is not None
    result["ms"] = summarise(seconds)
    result["bytes"] = response.size
    if response.body.startswith(b"%PDF"):
        # The target is for a 10-page summary: how many pages this one has.
        result["pdf_pages"] = len(PdfReader(BytesIO(response.body)).pages)
        result["notes"].append(f"{result['pdf_pages']} pages")
    result["queries"] = max(counts)
    result["queries_min"] = min(counts)
    if min(counts) != max(counts):
        result["notes"].append(f"query count varied: {min(counts)} to {max(counts)}")
    result["sql_ms_p50"] = _ms(statistics.median(sql_seconds))
    result["slowest_query_ms_p50"] = _ms(statistics.median(slowest)) if slowest else 0.0
    result["slowest_query_sql"] = slowest_sql[:2000]
    try:
        main = time_query(page.main_query, runs=requests, warmup=warmup)
    except Exception as exc:  # noqa: BLE001 - reported beside the page, not fatal
        result["main_query"] = {"error": repr(exc)[:300], "rows": page.main_rows}
        return result
    main["rows"] = page.main_rows
    result["main_query"] = main
    if main["queries"] > 1:
        result["notes"].append(f"main rows read by {main['queries']} SQL queries (time summed)")
    result["ratio"] = round(result["ms"]["p50"] / main["ms_p50"], 1) if main["ms_p50"] else None
    return result


def child_database_url() -> str | None:
    """DATABASE_URL for a child process (the scan, the load test's server), naming the database
    this process uses (the test database, under pytest); None to inherit the environment."""
    url = os.environ.get("DATABASE_URL", "")
    if not url or connection.vendor != "postgresql":
        return None
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(str(connection.settings_dict["NAME"]))))


def run_scan(runs: int, workers: int = 1) -> dict[str, Any]:
    """scan_flags, each run in its own process (investigations' bench_scan --child: the scan's
    own wall time and peak memory), e-mail to the dummy backend as bench_scan does. `workers`
    forces are scanned at once, each on its own connection, as the Celery fan-out does on a
    worker with that many processes."""
    env = os.environ.copy()
    env["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    database_url = child_database_url()
    if database_url:
        env["DATABASE_URL"] = database_url
    command = [
        sys.executable,
        str(Path(settings.BASE_DIR) / "manage.py"),
        "bench_scan",
        "--child",
        "--workers",
        str(workers),
    ]
    result: dict[str, Any] = {"name": SCAN, "status": "ok", "workers": workers, "runs": []}
    for n in range(runs):
        started = perf_counter()
        done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            command, capture_output=True, text=True, check=False, env=env
        )
        process_seconds = perf_counter() - started
        if done.returncode != 0:
            result["status"] = "error"
            result["error"] = f"run {n + 1} exited {done.returncode}: {done.stderr[-1000:]}"
            return result
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        summary = figures["summary"]
        result["runs"].append(
            {
                "seconds": figures["seconds"],
                "process_seconds": round(process_seconds, 2),
                "peak_mb": figures["maxrss_mb"],
                "opened": sum(summary["opened"].values()),
                "resolved": sum(summary["resolved"].values()),
                "open": sum(summary["open"].values()),
            }
        )
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kB on Linux
    result["children_peak_mb"] = round(children, 1)
    if result["runs"]:
        result["seconds_max"] = max(r["seconds"] for r in result["runs"])
        result["peak_mb_max"] = max(r["peak_mb"] for r in result["runs"])
    return result


def cpu_reference_ms(runs: int = 5) -> float:
    """The median time of a fixed piece of pure Python (no I/O), to tell a slower machine from
    a slower page when runs on different machines are compared: the pages are mostly Python."""

    def work() -> int:
        total = 0
        for i in range(300_000):
            total += (i * 7) % 13
        return total

    samples = []
    for _ in range(runs):
        started = perf_counter()
        work()
        samples.append(perf_counter() - started)
    return round(sorted(samples)[runs // 2] * 1000, 1)


def environment(*, host_note: str, secure: bool) -> dict[str, Any]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = f"PostgreSQL {cursor.fetchone()[0]}"
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            size = cursor.fetchone()[0]
            cursor.execute("SHOW jit")
            jit = cursor.fetchone()[0]
            cursor.execute("SHOW shared_buffers")
            buffers = cursor.fetchone()[0]
        else:
            version, size, jit, buffers = connection.vendor, "", "", ""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": version,
        "database_size": size,
        "jit": jit,
        "shared_buffers": buffers,
        "cpu_reference_ms": cpu_reference_ms(),
        "investigations": Investigation.objects.count(),
        "victims": Victim.objects.count(),
        "forces": Force.objects.count(),
        "active_flags": Flag.objects.filter(status__in=ACTIVE_STATUSES).count(),
        "audit_rows": AuditEvent.objects.count(),
        "debug": settings.DEBUG,
        "two_factor_required": settings.TWO_FACTOR_REQUIRED,
        "host": host_note,
        "scheme": "https" if secure else "http",
        "conn_max_age": connection.settings_dict.get("CONN_MAX_AGE"),
    }


def run(
    *,
    requests: int = 50,
    warmup: int = 5,
    pdf_requests: int | None = None,
    only: list[str] | None = None,
    scan: bool = True,
    scan_runs: int = 1,
    scan_workers: int = 1,
    officer: str = "",
    supervisor: str = "",
    safeguarding: str = "",
    host: str = "",
    search: str = "",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmark; returns the report (environment, pages, scan)."""
    from django.core.wsgi import get_wsgi_application

    say = progress or (lambda text: None)
    wanted = set(only or ALL_NAMES)
    unknown = wanted - set(ALL_NAMES)
    if unknown:
        raise BenchmarkError(
            f"Unknown name(s) {', '.join(sorted(unknown))}: choose from {', '.join(ALL_NAMES)}"
        )
    if requests < 1 or warmup < 0:
        raise BenchmarkError("--requests must be at least 1 and --warmup at least 0")
    if host:
        host_note = f"Host: {host} (--host)"
    else:
        host, host_note = http_host()
    secure = bool(settings.SECURE_SSL_REDIRECT or settings.SESSION_COOKIE_SECURE)
    report: dict[str, Any] = {"environment": environment(host_note=host_note, secure=secure)}
    report["environment"].update({"requests": requests, "warmup": warmup})
    report["scan"] = None
    if scan and SCAN in wanted:
        say(f"scan_flags: {scan_runs} run(s) in a subprocess, {scan_workers} force(s) at once")
        report["scan"] = run_scan(scan_runs, scan_workers)
    users = representative_users(officer=officer, supervisor=supervisor, safeguarding=safeguarding)
    pages, case = build_pages(users, search=search)
    report["environment"]["users"] = {key: user.username for key, user in users.items()}
    report["environment"]["case"] = case
    app = get_wsgi_application()
    visitors: dict[str, Visitor] = {}
    report["pages"] = []
    try:
        for page in pages:
            if page.name not in wanted:
                continue
            if page.visitor not in visitors:
                visitors[page.visitor] = Visitor(app, users[page.visitor], host=host, secure=secure)
                visitors[page.visitor].sign_in()
            n = pdf_requests if (page.name == "pdf" and pdf_requests) else requests
            say(f"{page.name}: {warmup} + {n} requests as {users[page.visitor].username}")
            report["pages"].append(
                measure_page(visitors[page.visitor], page, requests=n, warmup=warmup)
            )
    finally:
        for visitor in visitors.values():
            visitor.sign_out()
    return report

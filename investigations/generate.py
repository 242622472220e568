"""Synthetic case data in bulk, for the benchmark (issue 6) and for demos at national scale.

`manage.py generate_cases --investigations N` drives it. Each batch of cases is built as plain
tuples in Python and written in one transaction: PostgreSQL COPY (psycopg 3) table by table, or
`bulk_create` on SQLite. Ids come from the tables' own sequences (reserved in blocks with
`nextval`), references from ReferenceCounter (an upsert that adds the batch's count per force
and year), so several generators, or users creating cases meanwhile, never clash.

Dates are whole minutes counted from a base day ten years back and formatted through two
lookup tables (days and minutes of the day): formatting timestamps is most of the cost of a
naive generator. Every status, outcome and date obeys the models' CHECK constraints.
"""

from __future__ import annotations

import json
import random
import sys
import time
from bisect import bisect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, models, transaction

from investigations.models import (
    ClosureReview,
    Enquiry,
    Investigation,
    InvestigationExploitation,
    Offence,
    ReferenceCounter,
    SupervisoryReview,
    TimelineEvent,
    exploitation_bits,
    search_text,
)
from referrals.models import DutyToNotify, NrmReferral
from safeguarding.models import Contact, Relocation, SafeguardingPlan, awaits_contact
from slaverycases.accounts import roles
from slaverycases.accounts.actions import force_ensure, unit_ensure
from slaverycases.accounts.models import Force, Unit, User
from victims.models import CustodyEvent, Disclosure, Involvement, Victim

DAY = 1440  # minutes
YEARS = 10
SPAN_DAYS = 3652

# The 43 territorial forces of England and Wales, then national bodies. Rough relative size.
FORCES: list[tuple[str, str, float]] = [
    ("MPS", "Metropolitan Police Service", 10.0),
    ("WMP", "West Midlands Police", 3.5),
    ("GMP", "Greater Manchester Police", 3.5),
    ("WYP", "West Yorkshire Police", 2.8),
    ("TVP", "Thames Valley Police", 2.2),
    ("MER", "Merseyside Police", 1.9),
    ("HAM", "Hampshire and Isle of Wight Constabulary", 1.8),
    ("KEN", "Kent Police", 1.8),
    ("LAN", "Lancashire Constabulary", 1.7),
    ("ESS", "Essex Police", 1.7),
    ("SYP", "South Yorkshire Police", 1.5),
    ("NOR", "Northumbria Police", 1.5),
    ("AVS", "Avon and Somerset Police", 1.4),
    ("SWP", "South Wales Police", 1.4),
    ("DEV", "Devon and Cornwall Police", 1.3),
    ("SUS", "Sussex Police", 1.3),
    ("NOT", "Nottinghamshire Police", 1.1),
    ("LEI", "Leicestershire Police", 1.0),
    ("HER", "Hertfordshire Constabulary", 1.0),
    ("STA", "Staffordshire Police", 1.0),
    ("SUR", "Surrey Police", 0.9),
    ("CHE", "Cheshire Constabulary", 0.9),
    ("DER", "Derbyshire Constabulary", 0.9),
    ("HUM", "Humberside Police", 0.9),
    ("CLE", "Cleveland Police", 0.8),
    ("NYP", "North Yorkshire Police", 0.7),
    ("WMC", "West Mercia Police", 0.9),
    ("NTH", "Northamptonshire Police", 0.7),
    ("CAM", "Cambridgeshire Constabulary", 0.7),
    ("LIN", "Lincolnshire Police", 0.6),
    ("NFK", "Norfolk Constabulary", 0.7),
    ("SFK", "Suffolk Constabulary", 0.6),
    ("BED", "Bedfordshire Police", 0.6),
    ("GWE", "Gwent Police", 0.5),
    ("DYF", "Dyfed-Powys Police", 0.4),
    ("NWP", "North Wales Police", 0.5),
    ("DOR", "Dorset Police", 0.5),
    ("WIL", "Wiltshire Police", 0.5),
    ("GLO", "Gloucestershire Constabulary", 0.5),
    ("WAR", "Warwickshire Police", 0.4),
    ("CUM", "Cumbria Constabulary", 0.4),
    ("DUR", "Durham Constabulary", 0.5),
    ("COL", "City of London Police", 0.2),
    ("NCA", "National Crime Agency", 0.6),
    ("BTP", "British Transport Police", 0.4),
]
NATIONAL = {"NCA"}

UNIT_NAMES = ["Modern Slavery Unit", "Public Protection Unit", "Exploitation Hub"]
TOWNS = [
    "Manchester", "Leeds", "Bradford", "Birmingham", "Coventry", "Liverpool", "Bristol",
    "Cardiff", "Newport", "Sheffield", "Hull", "Leicester", "Nottingham", "Derby", "Luton",
    "Peterborough", "Boston", "Norwich", "Ipswich", "Southampton", "Portsmouth", "Reading",
    "Slough", "Oxford", "Northampton", "Stoke-on-Trent", "Wolverhampton", "Newcastle",
    "Sunderland", "Middlesbrough", "Blackpool", "Preston", "Bolton", "Oldham", "Croydon",
    "Ilford", "Wembley", "Tottenham", "Lewisham", "Dover", "Margate", "Swindon", "Exeter",
    "Plymouth", "Lincoln", "Wisbech", "Kettering", "Crewe", "Warrington", "Wrexham",
]  # fmt: skip
FIRST = [
    "Ana", "Maria", "Elena", "Ioana", "Mihai", "Andrei", "Tran", "Nguyen", "Linh", "Minh",
    "Ahmed", "Mohammed", "Fatima", "Amina", "Grace", "Blessing", "Joy", "Precious", "Adam",
    "Tomasz", "Piotr", "Agnieszka", "Jakub", "Kateryna", "Olena", "Arben", "Besnik", "Ermal",
    "Luan", "Dritan", "James", "Daniel", "Liam", "Chloe", "Sophie", "Kwame", "Ama", "Kofi",
    "Hassan", "Yusuf", "Mariam", "Rahul", "Priya", "Sunil", "Deepa", "Eritrea", "Selam",
    "Dawit", "Hana", "Abel",
]  # fmt: skip
LAST = [
    "Popescu", "Ionescu", "Nguyen", "Tran", "Le", "Pham", "Hoxha", "Berisha", "Krasniqi",
    "Shehu", "Kowalski", "Nowak", "Wisniewski", "Okafor", "Mensah", "Adeyemi", "Osei",
    "Ahmed", "Ali", "Hussain", "Khan", "Rahman", "Smith", "Jones", "Taylor", "Brown", "Wilson",
    "Evans", "Patel", "Singh", "Kaur", "Tesfaye", "Haile", "Bekele", "Shevchenko", "Bondar",
    "Horvath", "Dimitrov", "Petrov", "Georgiev",
]  # fmt: skip
NATIONALITIES = [
    ("British", "English", 30), ("Albanian", "Albanian", 14), ("Vietnamese", "Vietnamese", 10),
    ("Romanian", "Romanian", 8), ("Eritrean", "Tigrinya", 5), ("Sudanese", "Arabic", 5),
    ("Polish", "Polish", 4), ("Nigerian", "English", 4), ("Indian", "Hindi", 3),
    ("Chinese", "Mandarin", 3), ("Ukrainian", "Ukrainian", 3), ("Bulgarian", "Bulgarian", 2),
    ("Afghan", "Dari", 3), ("Iranian", "Farsi", 2), ("Ethiopian", "Amharic", 2),
]  # fmt: skip
INDICATORS = [
    "vulnerability", "deception", "movement", "isolation", "violence", "threats",
    "documents", "wages", "debt", "conditions", "overtime",
]  # fmt: skip
SOURCES = [
    ("public", 18), ("victim", 10), ("ngo", 20), ("nca", 5), ("immigration", 12),
    ("other_force", 8), ("local_authority", 12), ("proactive", 15),
]  # fmt: skip
EXPLOITATION = [("labour", 35), ("criminal", 30), ("sexual", 22), ("domestic", 10), ("other", 3)]
OUTCOMES = [("nfa", 50), ("filed", 14), ("transferred", 12), ("charged", 19), ("caution", 5)]
NFA_REASONS = [
    ("evidential", 40), ("victim_not_supporting", 30), ("suspect_not_identified", 20),
    ("public_interest", 3), ("no_offence", 7),
]  # fmt: skip
SEXUAL_LINKED = ["rape", "sexual_assault", "controlling_prostitution"]
OTHER_LINKED = ["assault", "false_imprisonment", "threats_to_kill", "fraud", "documents", "kidnap"]
VICTIMS_PER_CASE = [40, 25, 14, 7, 4, 3, 2, 1.5, 1, 0.8, 0.6, 0.5, 0.4, 0.2]  # 1 to 14
ENQUIRIES = [
    "Visit the address and identify occupants", "Obtain CCTV from the premises",
    "Financial enquiries on the suspect's accounts", "Take the victim's ABE interview",
    "Request phone download", "Check Home Office records", "House-to-house enquiries",
    "Speak to the employer", "Obtain tenancy records", "Research ANPR on the vehicle",
]  # fmt: skip


def _weighted(pairs: list[tuple[Any, float]]) -> Callable[[random.Random], Any]:
    values = [v for v, _ in pairs]
    cum = list(accumulate(w for _, w in pairs))
    total = cum[-1]

    def pick(rng: random.Random) -> Any:
        return values[bisect(cum, rng.random() * total)]

    return pick


pick_source = _weighted(SOURCES)
pick_type = _weighted(EXPLOITATION)
pick_outcome = _weighted(OUTCOMES)
pick_nfa = _weighted(NFA_REASONS)
pick_victims = _weighted([(i + 1, w) for i, w in enumerate(VICTIMS_PER_CASE)])
pick_nationality = _weighted([((n, lang), w) for n, lang, w in NATIONALITIES])


def _review_due(closed_on: str, not_recorded: bool) -> str:
    """MoPI review date (investigations/retention.py): 6 years after closure when no crime was
    recorded (group 3), else 10 (a modern slavery offence is recorded: group 1)."""
    year = int(closed_on[:4]) + (6 if not_recorded else 10)
    rest = "-02-28" if closed_on[4:] == "-02-29" else closed_on[4:]
    return f"{year}{rest}"


class Clock:
    """Minutes since a base day, formatted through lookup tables."""

    def __init__(self, now: datetime) -> None:
        now = now.astimezone(UTC)
        self.base = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(
            days=SPAN_DAYS + 30
        )
        self.now = int((now - self.base).total_seconds() // 60)
        self.today = self.now // DAY
        first = self.base.date()
        self.days = [(first + timedelta(days=i)).isoformat() for i in range(SPAN_DAYS + 800)]
        self.mins = [f" {m // 60:02d}:{m % 60:02d}:00+00" for m in range(DAY)]
        self.years = [int(d[:4]) for d in self.days]

    def ts(self, m: int) -> str:
        return self.days[m // DAY] + self.mins[m % DAY]

    def date(self, m: int) -> str:
        return self.days[m // DAY]

    def day(self, d: int) -> str:
        return self.days[d]


@dataclass
class UnitPeople:
    force_id: int
    force_code: str
    force_name: str
    unit_id: int
    officers: list[int]
    supervisors: list[int]
    safeguarding: list[int]


@dataclass
class Table:
    model: type[models.Model]
    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


def _columns(model: type[models.Model], attnames: list[str]) -> list[str]:
    by_att = {f.attname: f.column for f in model._meta.concrete_fields}
    return [by_att[a] for a in attnames]


def _cols(names: str) -> list[str]:
    return names.split()


SCHEMA: dict[str, tuple[type[models.Model], list[str]]] = {
    "inv": (
        Investigation,
        _cols(
            "id reference force_id unit_id title summary source location status reported_at "
            "exploitation_bits crime_decision crime_decision_at crime_not_recorded_reason "
            "crime_recorded_at "
            "allocated_at started_at closure_requested_at closed_at oic_id supervisor_id "
            "outcome nfa_reason outcome_rationale created_by_id created_at updated_at version "
            "review_due_on search_text"
        ),
    ),
    "expl": (InvestigationExploitation, _cols("id investigation_id type")),
    "timeline": (TimelineEvent, _cols("id investigation_id at actor_id kind text")),
    "victim": (
        Victim,
        _cols(
            "id name aliases date_of_birth estimated_age may_be_under_18 age_assessed_on "
            "exploitation_began gender nationality languages interpreter_needed "
            "immigration_status phone address current_force_id status created_by_id "
            "created_at version next_contact_due last_contact_at in_open_case"
        ),
    ),
    "involvement": (
        Involvement,
        _cols(
            "id victim_id investigation_id label identified_at identified_by_id indicators "
            "account_taken_at account_taken_by_id interpreter_used interpreter_language "
            "account_summary"
        ),
    ),
    "offence": (
        Offence,
        _cols(
            "id investigation_id crime_reference offence_type recorded_at victim_id outcome "
            "notes recorded_by_id"
        ),
    ),
    "disclosure": (
        Disclosure,
        _cols("id involvement_id offence_type disclosed_at account offence_id recorded_by_id"),
    ),
    "enquiry": (
        Enquiry,
        _cols(
            "id investigation_id description substantive owner_id due_date completed_at "
            "result created_by_id created_at"
        ),
    ),
    "review": (
        SupervisoryReview,
        _cols("id investigation_id reviewer_id reviewed_at direction next_review_due"),
    ),
    "closure": (
        ClosureReview,
        _cols(
            "id investigation_id requested_by_id requested_at status_before proposed_outcome "
            "proposed_nfa_reason request_rationale decision reviewer_id decided_at "
            "decision_rationale"
        ),
    ),
    "plan": (
        SafeguardingPlan,
        _cols(
            "id victim_id lead_id risk_level risks measures contact_every_days review_date "
            "updated_at version"
        ),
    ),
    "contact": (
        Contact,
        _cols("id victim_id at method made by_id interpreter_used notes next_contact_due"),
    ),
    "relocation": (
        Relocation,
        _cols(
            "id victim_id relocated_on destination_type to_force_id safe_house_location "
            "receiving_contact first_contact_within_days recorded_by_id recorded_at "
            "awaiting_contact"
        ),
    ),
    "nrm": (
        NrmReferral,
        _cols(
            "id victim_id investigation_id first_responder_organisation first_responder_id "
            "referred_as_child consent_given consent_on childrens_services_told_on "
            "submitted_on competent_authority_reference rg_decision rg_decision_on "
            "cg_decision cg_decision_on places_of_safety_used linked_offence_id "
            "non_crime_reason created_at version"
        ),
    ),
    "ms1": (
        DutyToNotify,
        _cols(
            "id victim_id investigation_id submitted_on gender age_band nationality "
            "exploitation_types where_exploited consent_to_be_identified identified_name "
            "identified_date_of_birth identified_address submitted_by_id"
        ),
    ),
    "custody": (
        CustodyEvent,
        _cols(
            "id victim_id investigation_id kind offence occurred_at s45_decision "
            "s45_rationale recorded_by_id"
        ),
    ),
}
ORDER = list(SCHEMA)  # parents first


class Ids:
    """Ids reserved from each table's sequence in blocks (PostgreSQL), or counted on from the
    largest id (SQLite: one writer at a time)."""

    BLOCK = 20000

    def __init__(self) -> None:
        self.free: dict[str, list[int]] = {}

    def take(self, model: type[models.Model]) -> int:
        table = model._meta.db_table
        free = self.free.get(table)
        if not free:
            free = self.free[table] = self._reserve(table)
        return free.pop()

    def _reserve(self, table: str) -> list[int]:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [table, self.BLOCK],
                )
                ids = [r[0] for r in cursor.fetchall()]
            else:
                cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')  # noqa: S608
                top = max(cursor.fetchone()[0], getattr(self, f"_top_{table}", 0))
                setattr(self, f"_top_{table}", top + self.BLOCK)
                ids = list(range(top + 1, top + self.BLOCK + 1))
        ids.reverse()
        return ids


def _fmt(value: Any) -> str:
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        if "\n" in value or "\\" in value or "\t" in value:  # (search_text is one per line)
            return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
        return value
    if kind is bool:
        return "t" if value else "f"
    if kind is int:
        return str(value)
    return json.dumps(value)


def write_tables(tables: dict[str, Table]) -> int:
    """Write some tables of a batch, parents first. Returns the number of rows written."""
    total = 0
    names = [name for name in ORDER if name in tables]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.cursor
            for name in names:
                table = tables[name]
                if not table.rows:
                    continue
                cols = ", ".join(f'"{c}"' for c in table.columns)
                sql = f'COPY "{table.model._meta.db_table}" ({cols}) FROM STDIN'
                with raw.copy(sql) as copy:
                    buf: list[str] = []
                    for row in table.rows:
                        buf.append("\t".join(map(_fmt, row)))
                        if len(buf) >= 5000:
                            copy.write("\n".join(buf) + "\n")
                            buf.clear()
                    if buf:
                        copy.write("\n".join(buf) + "\n")
                total += len(table.rows)
        return total
    for name in names:
        table = tables[name]
        attnames = SCHEMA[name][1]
        objs = [table.model(**dict(zip(attnames, row, strict=True))) for row in table.rows]
        table.model.objects.bulk_create(objs, batch_size=500)
        total += len(objs)
    return total


def ensure_people(force_count: int) -> list[UnitPeople]:
    """Forces and units through the accounts actions; a few officers, supervisors and a
    safeguarding lead per unit (bulk-created, reused on a later run)."""
    from slaverycases.accounts.roles import sync_role_groups

    sync_role_groups()
    groups = {g.name: g for g in Group.objects.filter(name__in=roles.ROLE_LABELS)}
    specs = FORCES[:force_count]
    extra = [(f"F{i:02d}", f"Synthetic Force {i:02d}", 0.5) for i in range(len(specs), force_count)]
    units: list[tuple[Force, Unit, int]] = []
    for code, name, size in specs + extra:
        force = force_ensure(code=code, name=name, is_national=code in NATIONAL)
        for n in range(1 if size < 1 else 2 if size < 3 else 3):
            unit = unit_ensure(force=force, name=f"{code} {UNIT_NAMES[n]}")
            units.append((force, unit, n))
    wanted: list[tuple[str, Force, Unit, str]] = []
    for force, unit, n in units:
        prefix = f"gen.{force.code.lower()}.{n}"
        wanted += [(f"{prefix}.officer{i}", force, unit, roles.OFFICER) for i in range(6)]
        wanted += [(f"{prefix}.supervisor{i}", force, unit, roles.SUPERVISOR) for i in range(2)]
        wanted.append((f"{prefix}.safeguarding", force, unit, roles.SAFEGUARDING_LEAD))
    existing = set(
        User.objects.filter(username__in=[w[0] for w in wanted]).values_list("username", flat=True)
    )
    new = [
        User(
            username=username,
            first_name=FIRST[i % len(FIRST)],
            last_name=LAST[i % len(LAST)],
            email=f"{username}@police.invalid",
            password=make_password(None),  # unusable: synthetic people never sign in
            force=force,
            unit=unit,
        )
        for i, (username, force, unit, _) in enumerate(wanted)
        if username not in existing
    ]
    User.objects.bulk_create(new, batch_size=1000)
    ids = dict(
        User.objects.filter(username__in=[w[0] for w in wanted]).values_list("username", "pk")
    )
    created = {u.username for u in new}
    User.groups.through.objects.bulk_create(
        [
            User.groups.through(user_id=ids[username], group_id=groups[role].pk)
            for username, _, _, role in wanted
            if username in created
        ],
        batch_size=1000,
    )
    people = []
    for force, unit, n in units:
        prefix = f"gen.{force.code.lower()}.{n}"
        people.append(
            UnitPeople(
                force_id=force.pk,
                force_code=force.code,
                force_name=force.name,
                unit_id=unit.pk,
                officers=[ids[f"{prefix}.officer{i}"] for i in range(6)],
                supervisors=[ids[f"{prefix}.supervisor{i}"] for i in range(2)],
                safeguarding=[ids[f"{prefix}.safeguarding"]],
            )
        )
    return people


def reserve_references(counts: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
    """Add each (force, year)'s count to its ReferenceCounter in one upsert; returns the first
    number of each block. Runs inside the batch's transaction."""
    if not counts:
        return {}
    table = ReferenceCounter._meta.db_table
    keys = sorted(counts)
    values = ", ".join(["(%s, %s, %s)"] * len(keys))
    params: list[Any] = []
    for code, year in keys:
        params += [code, year, counts[(code, year)]]
    sql = (
        f'INSERT INTO "{table}" (force_code, year, last_number) VALUES {values} '  # noqa: S608
        "ON CONFLICT (force_code, year) DO UPDATE "
        f'SET last_number = "{table}".last_number + excluded.last_number '
        "RETURNING force_code, year, last_number"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(c, y): last - counts[(c, y)] + 1 for c, y, last in cursor.fetchall()}


class Generator:
    def __init__(self, people: list[UnitPeople], *, seed: int, now: datetime | None = None) -> None:
        self.people = people
        self.seed = seed
        self.clock = Clock(now or datetime.now(UTC))
        self.ids = Ids()
        weights = {code: size for code, _, size in FORCES}
        self.pick_unit = _weighted([(p, weights.get(p.force_code, 0.5)) for p in people])
        self.other_forces = sorted({p.force_id for p in people})

    # One batch --------------------------------------------------------------------------
    def batch(self, index: int, size: int) -> int:
        """Build and write `size` cases in one transaction; returns rows written."""
        rng = random.Random(self.seed * 1_000_003 + index)  # noqa: S311 - reproducible data
        clock = self.clock
        cases = []
        for _ in range(size):
            age = int(SPAN_DAYS * (1 - rng.random() ** 0.5))  # more recent cases than old
            reported = clock.now - age * DAY - rng.randrange(DAY)
            cases.append((reported, self.pick_unit(rng)))
        cases.sort(key=lambda c: c[0])
        counts: dict[tuple[str, int], int] = {}
        for reported, unit in cases:
            key = (unit.force_code, clock.years[reported // DAY])
            counts[key] = counts.get(key, 0) + 1
        tables = {name: Table(model, _columns(model, att)) for name, (model, att) in SCHEMA.items()}
        keys = []
        for reported, unit in cases:
            keys.append((unit.force_code, clock.years[reported // DAY]))
            self.case(rng, tables, unit, reported)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            # Everything but the investigations first (the foreign keys are checked at commit),
            # then the references: the counter rows stay locked only for the last COPY, so
            # parallel writers (and users logging cases) are not held up.
            inv = tables.pop("inv")
            written = write_tables(tables)
            numbers = reserve_references(counts)
            for i, key in enumerate(keys):
                number = numbers[key]
                numbers[key] = number + 1
                row = inv.rows[i]
                reference = f"{key[0]}-{key[1]}-{number:06d}"
                # search_text (the last column) starts with the reference, as case_search_texts
                inv.rows[i] = (row[0], reference, *row[2:-1], search_text([reference, row[-1]]))
            return written + write_tables({"inv": inv})

    # One case ---------------------------------------------------------------------------
    def case(
        self,
        rng: random.Random,
        t: dict[str, Table],
        unit: UnitPeople,
        reported: int,
    ) -> None:
        c = self.clock
        ids = self.ids
        now = c.now
        rnd = rng.random
        age_days = (now - reported) // DAY
        inv_id = ids.take(Investigation)
        creator = rng.choice(unit.officers)
        oic = rng.choice(unit.officers)
        supervisor = rng.choice(unit.supervisors)
        lead = unit.safeguarding[0]
        town = rng.choice(TOWNS)
        source = pick_source(rng)
        types = {pick_type(rng)}
        if rnd() < 0.3:
            types.add(pick_type(rng))

        p_open = (
            0.9 if age_days < 45 else 0.4 if age_days < 120 else 0.1 if age_days < 365 else 0.003
        )
        is_open = rnd() < p_open
        if is_open:
            if age_days < 2:
                stage = "reported" if rnd() < 0.6 else "recorded"
            else:
                x = rnd()
                stage = (
                    "recorded"
                    if x < 0.04
                    else "allocated"
                    if x < 0.14
                    else "under_investigation"
                    if x < 0.9
                    else "closure_requested"
                )
        else:
            stage = "closed"

        not_recorded = stage == "closed" and rnd() < 0.03
        recorded_at = allocated_at = started_at = requested_at = closed_at = None
        if stage != "reported":
            recorded_at = min(reported + rng.randrange(30, 2 * DAY), now - 1)
        if stage not in ("reported", "recorded") and not not_recorded:
            allocated_at = min(recorded_at + rng.randrange(60, 5 * DAY), now - 1)
        if stage in ("under_investigation", "closure_requested", "closed") and not not_recorded:
            if stage == "closed" and rnd() < 0.015:
                pass  # closed with no enquiry made: the premature closure flag
            else:
                delay = rng.randrange(DAY // 2, 14 * DAY)
                if rnd() < 0.1:
                    delay += rng.randrange(20 * DAY, 120 * DAY)
                started_at = min(allocated_at + delay, now - 1)
        begin = started_at or allocated_at or recorded_at
        if stage in ("closure_requested", "closed"):
            if not_recorded:
                requested_at = recorded_at + rng.randrange(DAY, 10 * DAY)
            else:
                span = int(rng.lognormvariate(4.8, 0.8) * DAY)  # median ~120 days
                if rnd() < 0.03:
                    span = rng.randrange(DAY, 13 * DAY)  # premature: closed within days
                requested_at = begin + span
            limit = now - (30 * DAY if stage == "closed" else DAY)
            if requested_at > limit:
                requested_at = begin + max(1, (limit - begin) // 2)
            if stage == "closed":
                closed_at = min(requested_at + rng.randrange(60, 21 * DAY), now - 1)
        outcome = nfa = rationale = ""
        if stage == "closed":
            if not_recorded:
                outcome, nfa = "nfa", "no_offence"
            else:
                outcome = pick_outcome(rng)
                nfa = pick_nfa(rng) if outcome == "nfa" else ""
            rationale = f"Closed: {outcome.replace('_', ' ')} after review of the evidence."
        last = closed_at or requested_at or begin or reported
        title = f"{'/'.join(sorted(types)).title()} exploitation, {town}"
        inv_row = len(t["inv"].rows)
        t["inv"].rows.append(
            (
                inv_id,
                "",  # the reference, numbered when the batch is written
                unit.force_id,
                unit.unit_id,
                title,
                f"Report from {source.replace('_', ' ')} of suspected exploitation in {town}.",
                source,
                town,
                stage,
                c.ts(reported),
                exploitation_bits(types),
                "" if recorded_at is None else "not_recorded" if not_recorded else "recorded",
                None if recorded_at is None else c.ts(recorded_at),
                "No offence disclosed on the balance of probabilities." if not_recorded else "",
                None if recorded_at is None or not_recorded else c.ts(recorded_at),
                None if allocated_at is None else c.ts(allocated_at),
                None if started_at is None else c.ts(started_at),
                None if requested_at is None else c.ts(requested_at),
                None if closed_at is None else c.ts(closed_at),
                oic if allocated_at is not None else None,
                supervisor if allocated_at is not None else None,
                outcome,
                nfa,
                rationale,
                creator,
                c.ts(reported),
                c.ts(last),
                1,
                None if closed_at is None else _review_due(c.date(closed_at), not_recorded),
                "",  # search_text: with the victims' names, below
            )
        )
        t["timeline"].rows.append(
            (ids.take(TimelineEvent), inv_id, c.ts(reported), creator, "created", "Report logged")
        )
        for kind in sorted(types):
            t["expl"].rows.append((ids.take(InvestigationExploitation), inv_id, kind))

        # Enquiries, reviews, closure ----------------------------------------------------
        if started_at is not None:
            end = closed_at or requested_at or now
            n = 1 + rng.randrange(4)
            for k in range(n):
                created = (
                    started_at - rng.randrange(DAY)
                    if k == 0
                    else started_at + rng.randrange(max(1, end - started_at))
                )
                done = started_at if k == 0 else created + rng.randrange(DAY, 20 * DAY)
                done_ok = done <= end or closed_at is not None
                done = min(done, end)
                t["enquiry"].rows.append(
                    (
                        ids.take(Enquiry),
                        inv_id,
                        ENQUIRIES[rng.randrange(len(ENQUIRIES))],
                        True,
                        oic,
                        c.date(created + 14 * DAY),
                        c.ts(done) if done_ok else None,
                        "Completed: see the attached statement." if done_ok else "",
                        oic,
                        c.ts(min(created, done)),
                    )
                )
        elif allocated_at is not None and rnd() < 0.5:
            t["enquiry"].rows.append(
                (
                    ids.take(Enquiry),
                    inv_id,
                    ENQUIRIES[rng.randrange(len(ENQUIRIES))],
                    True,
                    oic,
                    c.date(allocated_at + 7 * DAY),
                    None,
                    "",
                    supervisor,
                    c.ts(allocated_at),
                )
            )
        if allocated_at is not None:
            end = closed_at or requested_at or now
            duration = end - allocated_at
            n = min(4, 1 + duration // (90 * DAY))
            for k in range(n):
                if k == n - 1 and closed_at is None:
                    at = now - rng.randrange(1, 36 * DAY)  # open: mostly reviewed this month
                    at = max(at, allocated_at + 1)
                else:
                    at = allocated_at + (k + 1) * duration // (n + 1)
                t["review"].rows.append(
                    (
                        ids.take(SupervisoryReview),
                        inv_id,
                        supervisor,
                        c.ts(at),
                        "Progress reviewed; actions set for the OIC.",
                        c.date(at + 28 * DAY),
                    )
                )
        if requested_at is not None:
            approved = closed_at is not None
            if not approved or rnd() > 0.01:
                t["closure"].rows.append(
                    (
                        ids.take(ClosureReview),
                        inv_id,
                        oic if allocated_at is not None else creator,
                        c.ts(requested_at),
                        "under_investigation" if started_at else "recorded",
                        outcome or "nfa",
                        nfa if approved else "evidential",
                        "All reasonable lines of enquiry completed.",
                        "approved" if approved else "pending",
                        supervisor if approved else None,
                        c.ts(closed_at) if approved else None,
                        "Agreed: closure is proportionate." if approved else "",
                    )
                )

        # Victims -------------------------------------------------------------------------
        recent = age_days < 730 or closed_at is None
        case_end = closed_at or now
        first_victim = len(t["victim"].rows)
        for v in range(pick_victims(rng)):
            self.victim(
                rng, t, unit, inv_id, v, types, reported, recorded_at, started_at,
                closed_at, case_end, stage, outcome, oic, lead, recent, not_recorded,
            )  # fmt: skip
        names = [row[1] for row in t["victim"].rows[first_victim:]]  # (generated: no aliases)
        t["inv"].rows[inv_row] = (*t["inv"].rows[inv_row][:-1], search_text([title, *names]))

    def victim(
        self,
        rng: random.Random,
        t: dict[str, Table],
        unit: UnitPeople,
        inv_id: int,
        v: int,
        types: set[str],
        reported: int,
        recorded_at: int | None,
        started_at: int | None,
        closed_at: int | None,
        case_end: int,
        stage: str,
        outcome: str,
        oic: int,
        lead: int,
        recent: bool,
        not_recorded: bool,
    ) -> None:
        c = self.clock
        ids = self.ids
        now = c.now
        rnd = rng.random
        victim_id = ids.take(Victim)
        crime = f"{unit.force_code}/CR/{inv_id}/{v + 1:02d}"
        identified = min(reported + rng.randrange(0, 3 * DAY), now - 1)
        child = rnd() < (0.45 if "criminal" in types else 0.12)
        age = rng.randrange(12, 18) if child else rng.randrange(18, 60)
        nationality, language = pick_nationality(rng)
        interpreter = nationality != "British" and rnd() < 0.7
        female = rnd() < (0.8 if "sexual" in types or "domestic" in types else 0.25)
        day = identified // DAY
        dob = None
        estimated = None
        if rnd() < 0.6:
            dob = c.day(max(0, day - age * 365 - rng.randrange(365))) if day > age * 366 else None
            if dob is None:
                estimated = age
        else:
            estimated = age
        victim_row = len(t["victim"].rows)
        t["victim"].rows.append(
            (
                victim_id,
                f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                "",
                dob,
                estimated,
                child and dob is None,
                None,
                c.day(max(0, day - rng.randrange(30, 700))),
                "female" if female else "male",
                nationality,
                language,
                interpreter,
                "british"
                if nationality == "British"
                else rng.choice(["asylum", "irregular", "visa", "settled", "unknown"]),
                "",
                "",
                unit.force_id,
                "confirmed" if closed_at and rnd() < 0.6 else "potential",
                oic,
                c.ts(identified),
                1,
                None,  # next_contact_due and last_contact_at: set with the contacts below
                None,
                closed_at is None,  # in_open_case (each generated victim is in one case)
            )
        )
        involvement_id = ids.take(Involvement)
        spoken = rnd() < (0.97 if closed_at else 0.85)
        taken = min(identified + rng.randrange(60, 10 * DAY), case_end) if spoken else None
        if taken is not None and taken >= now:
            taken = None
        indicators = sorted(rng.sample(INDICATORS, rng.randrange(2, 6)))
        t["involvement"].rows.append(
            (
                involvement_id,
                victim_id,
                inv_id,
                f"Victim {chr(65 + v)}",
                c.ts(identified),
                oic,
                indicators,
                None if taken is None else c.ts(taken),
                None if taken is None else oic,
                interpreter and taken is not None,
                language if interpreter and taken is not None else "",
                "",
            )
        )
        offence_outcome = "open"
        if closed_at is not None:
            offence_outcome = {"charged": "charged", "caution": "caution"}.get(outcome, "nfa")
            if outcome == "charged" and closed_at < now - 365 * DAY:
                offence_outcome = "convicted" if rnd() < 0.7 else "acquitted"
        msa_id = None
        if recorded_at is not None and not not_recorded:
            msa_id = ids.take(Offence)
            t["offence"].rows.append(
                (
                    msa_id,
                    inv_id,
                    crime,
                    "msa_s2" if rnd() < 0.35 else "msa_s1",
                    c.ts(max(recorded_at, identified)),
                    victim_id,
                    offence_outcome,
                    "",
                    oic,
                )
            )
            # Disclosed linked offences: most recorded within the day, a few never.
            if rnd() < 0.25 and taken is not None:
                pool = SEXUAL_LINKED if "sexual" in types and rnd() < 0.7 else OTHER_LINKED
                for k, kind in enumerate(rng.sample(pool, 1 + (rnd() < 0.3))):
                    disclosed = taken + k * 60
                    offence_id = None
                    if rnd() < 0.93:
                        offence_id = ids.take(Offence)
                        t["offence"].rows.append(
                            (
                                offence_id,
                                inv_id,
                                f"{crime}{chr(97 + k)}",
                                kind,
                                c.ts(min(disclosed + rng.randrange(30, 20 * 60), now - 1)),
                                victim_id,
                                offence_outcome,
                                "",
                                oic,
                            )
                        )
                    t["disclosure"].rows.append(
                        (
                            ids.take(Disclosure),
                            involvement_id,
                            kind,
                            c.ts(disclosed),
                            "Disclosed during the account.",
                            offence_id,
                            oic,
                        )
                    )
            elif "sexual" in types and v == 0 and rnd() < 0.8:
                t["offence"].rows.append(
                    (
                        ids.take(Offence),
                        inv_id,
                        f"{crime}s",
                        "controlling_prostitution",
                        c.ts(min(max(recorded_at, identified) + 120, now - 1)),
                        victim_id,
                        offence_outcome,
                        "",
                        oic,
                    )
                )

        # Referrals: most victims go to the NRM; adults who decline get an MS1.
        submitted_day = min((identified // DAY) + rng.randrange(0, 3), c.today)
        x = rnd()
        if x < 0.86:
            today = c.today
            rg, rg_on, cg, cg_on = "pending", None, "pending", None
            due = submitted_day < today - 10 or (submitted_day < today - 3 and rnd() < 0.5)
            if due and (rnd() > 0.04 or submitted_day < today - 400):  # a few wait too long
                rg = "positive" if rnd() < 0.87 else "negative"
                rg_on = min(submitted_day + rng.randrange(2, 15), today)
                if rg == "positive" and rg_on + 45 < today and rnd() < 0.9:
                    cg_on = min(rg_on + 30 + rng.randrange(0, 500), today)
                    cg = "positive" if rnd() < 0.8 else "negative"
            t["nrm"].rows.append(
                (
                    ids.take(NrmReferral),
                    victim_id,
                    inv_id,
                    unit.force_name,
                    oic,
                    child,
                    None if child else True,
                    None if child else c.day(submitted_day),
                    c.day(submitted_day) if child else None,
                    c.day(submitted_day),
                    f"NRM{victim_id:09d}",
                    rg,
                    None if rg_on is None else c.day(rg_on),
                    cg,
                    None if cg_on is None else c.day(cg_on),
                    rnd() < 0.2,
                    msa_id,
                    "" if msa_id else "n200_1" if rg == "pending" else "n200_4",
                    c.ts(min(submitted_day * DAY + 600, now - 1)),
                    1,
                )
            )
        elif x < 0.95 and not child:
            band = "18-24" if age < 25 else "25-34" if age < 35 else "35-49" if age < 50 else "50+"
            t["ms1"].rows.append(
                (
                    ids.take(DutyToNotify),
                    victim_id,
                    inv_id,
                    c.day(submitted_day),
                    "female" if female else "male",
                    band,
                    nationality,
                    sorted(types),
                    "England and Wales",
                    False,
                    "",
                    None,
                    "",
                    oic,
                )
            )

        if rnd() < (0.1 if "criminal" in types else 0.015):
            occurred = max(0, reported - rng.randrange(DAY, 200 * DAY))
            decided = rnd() < 0.9 or (closed_at is None and rnd() < 0.5)
            t["custody"].rows.append(
                (
                    ids.take(CustodyEvent),
                    victim_id,
                    inv_id,
                    "arrested" if rnd() < 0.7 else "charged",
                    rng.choice(
                        ["Cannabis cultivation", "Possession with intent to supply", "Theft"]
                    ),
                    c.ts(occurred),
                    rng.choice(["applies", "does_not_apply"]) if decided else "not_considered",
                    "Considered with the CPS." if decided else "",
                    oic,
                )
            )

        # Safeguarding for recent cases: a plan, contacts at its frequency, a few relocations.
        if not recent or rnd() > 0.93:
            return
        every = rng.choice([7, 14, 14, 28])
        planned = min(identified + rng.randrange(60, 2 * DAY), now - 1)
        t["plan"].rows.append(
            (
                ids.take(SafeguardingPlan),
                victim_id,
                lead,
                rng.choice(["low", "medium", "medium", "high"]),
                sorted(rng.sample(["retrafficking", "exploiters", "missing", "self_harm"], 2)),
                ["support_worker", "interpreter"] if interpreter else ["support_worker"],
                every,
                c.day(min(planned // DAY + 90, c.today + 90)),
                c.ts(planned),
                1,
            )
        )
        end = case_end
        if closed_at is None and rnd() < 0.06:
            end = max(planned, now - rng.randrange(every + 2, every + 40) * DAY)  # overdue
        span = end - planned
        n = min(6, max(0, span // (every * DAY)))
        at = max(planned + 60, end - n * every * DAY)
        relocate = closed_at is None and rnd() < 0.01
        next_due = last_made = made_at = None
        for _ in range(n):
            made = rnd() < 0.92
            next_due = c.day(at // DAY + every)
            if made:
                last_made, made_at = c.ts(at), at
            t["contact"].rows.append(
                (
                    ids.take(Contact),
                    victim_id,
                    c.ts(at),
                    "interpreter" if interpreter else rng.choice(["in_person", "phone"]),
                    made,
                    lead,
                    interpreter,
                    "",
                    next_due,
                )
            )
            at += every * DAY
        if n:  # the victim row's copy of its latest contact (safeguarding.actions)
            row = t["victim"].rows[victim_row]
            t["victim"].rows[victim_row] = (*row[:-3], next_due, last_made, row[-1])
        if relocate and n:
            moved = at - every * DAY - rng.randrange(DAY, 5 * DAY)
            to_force = rng.choice(self.other_forces)
            t["relocation"].rows.append(
                (
                    ids.take(Relocation),
                    victim_id,
                    c.date(moved),
                    "force_area",
                    to_force,
                    "",
                    "DS on the receiving force's modern slavery unit",
                    7,
                    lead,
                    c.ts(moved),
                    awaits_contact(made_at, moved),
                )
            )


class Progress:
    """A one-line progress bar on stderr: "[#####     ] 52% 520000/1000000 ETA 4m10s"."""

    def __init__(self, total: int, stream: Any = None, width: int = 30) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.width = width
        self.started = time.monotonic()
        self.finished = False

    def update(self, done: int) -> None:
        elapsed = time.monotonic() - self.started
        fraction = done / self.total if self.total else 1.0
        eta = elapsed / fraction - elapsed if fraction else 0.0
        bar = "#" * int(self.width * fraction)
        self.stream.write(
            f"\r[{bar:<{self.width}}] {fraction:4.0%} {done}/{self.total} "
            f"ETA {_duration(eta)} elapsed {_duration(elapsed)}  "
        )
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
        self.finished = True

    def stage(self, text: str) -> None:
        """A line for a step after the batches, which the bar does not measure."""
        if not self.finished:
            self.finish()
        self.stream.write(f"{text}...\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


_GEN: Generator | None = None


def _init_worker(people: list[UnitPeople], seed: int, now: datetime | None) -> None:
    global _GEN
    _GEN = Generator(people, seed=seed, now=now)


def _run_batch(job: tuple[int, int]) -> tuple[int, int]:
    assert _GEN is not None
    index, size = job
    return size, _GEN.batch(index, size)


# The list's search-keys index (migration investigations.0010). Kept up to date row by row, a
# GIN index made a 1M load take 12 min 36 s instead of 7 min 6 s; built once afterwards it
# takes about 2 min. The statement must stay the migration's (a test compares pg_indexes).
KEYS_INDEX = (
    "CREATE INDEX IF NOT EXISTS inv_unit_search_keys ON investigations_investigation "
    "USING gin (sc_search_keys(unit_id, search_text))"
)


@contextmanager
def keys_index_set_aside(
    new_cases: int, announce: Callable[[str], None] | None = None
) -> Iterator[bool]:
    """On PostgreSQL, drop the search-keys index while a load at least as large as the table
    runs, and build it again afterwards (also when the load fails: the table is never left
    without it). A smaller load keeps it: rebuilding would cost more than maintaining it.
    A missing index (an earlier run stopped while building it) is built at the end whatever
    the load. Yields whether the index was set aside."""
    if connection.vendor != "postgresql":
        yield False
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), to_regclass('inv_unit_search_keys') IS NOT NULL "
            "FROM investigations_investigation"
        )
        existing, indexed = cursor.fetchone()
        if indexed and new_cases < existing:
            yield False
            return
        cursor.execute("DROP INDEX IF EXISTS inv_unit_search_keys")
    try:
        yield True
    finally:
        if announce:
            announce("Building the search index again (about 2 minutes for 1M cases)")
        with connection.cursor() as cursor:
            if connection.in_atomic_block:
                # Inside a caller's transaction (the tests), the batches' deferred foreign-key
                # checks are still pending, and PostgreSQL will not index the table until
                # they have run. Deferred again afterwards: the next batches write children
                # before their parents.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET maintenance_work_mem = '512MB'")
            try:
                cursor.execute(KEYS_INDEX)
            finally:
                cursor.execute("RESET maintenance_work_mem")
                if connection.in_atomic_block:
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # (as Django's own check)


def generate(
    *,
    investigations: int,
    forces: int,
    seed: int,
    batch_size: int = 5000,
    workers: int = 1,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Generate the cases, batch by batch (one transaction each); returns figures for the
    command to print. With workers > 1 the batches are shared among forked processes, each
    with its own database connection."""
    people = ensure_people(forces)
    started = time.monotonic()
    jobs = [
        (i, min(batch_size, investigations - i * batch_size))
        for i in range((investigations + batch_size - 1) // batch_size)
    ]
    with keys_index_set_aside(investigations, progress.stage if progress else None):
        rows, done = _write(jobs, people, seed, now, workers, progress)
    if progress and not progress.finished:
        progress.finish()
    return {"investigations": done, "rows": rows, "seconds": round(time.monotonic() - started)}


def _write(
    jobs: list[tuple[int, int]],
    people: list[UnitPeople],
    seed: int,
    now: datetime | None,
    workers: int,
    progress: Progress | None,
) -> tuple[int, int]:
    rows = done = 0
    if workers > 1 and connection.vendor == "postgresql":
        import multiprocessing

        from django.db import connections

        connections.close_all()
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(people, seed, now)) as pool:
            for size, written in pool.imap_unordered(_run_batch, jobs):
                done += size
                rows += written
                if progress:
                    progress.update(done)
    else:
        _init_worker(people, seed, now)
        for job in jobs:
            size, written = _run_batch(job)
            done += size
            rows += written
            if progress:
                progress.update(done)
    return rows, done

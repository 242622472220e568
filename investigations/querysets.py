"""Reads of investigations: chainable QuerySet methods that name every join they need."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection, models
from django.db.models import BooleanField, F, Func, Q, Value

from slaverycases.core.compiled import CompiledQuery, Param, compiled_filter

if TYPE_CHECKING:
    from slaverycases.accounts.models import User


# What the investigation list reads of each case (querysets.with_list_columns; the template
# investigations/list.html and its status tag).
LIST_COLUMNS = (
    "reference",
    "title",
    "status",
    "reported_at",
    "exploitation_bits",
    "unit__name",
    "oic__username",
    "oic__first_name",
    "oic__last_name",
)


class InvestigationQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> InvestigationQuerySet:
        """Need-to-know: the user's unit's cases, cases they run or supervise, and cases shared
        with them, their unit or their force through django-guardian. One SQL query, in a shape
        every part of which an index serves (unit, officer in charge, supervisor, and the
        shared ids as an array the planner looks up by primary key): no scan of every case."""
        condition = visibility_condition(user)
        return self.none() if condition is None else self.filter(condition)

    def visible_parts(self, user: User) -> list[InvestigationQuerySet]:
        """`visible_to` as disjoint parts: the user's unit's cases, and the others they see
        (run or supervised elsewhere, or shared). Each part reads an index in list order, so a
        page of the list takes the first rows of each part instead of sorting every visible
        case, and counts come from indexes alone (see VisibleRows)."""
        if not sees_cases(user):
            return [self.none()]
        if not user.unit_id or connection.vendor != "postgresql":
            return [self.visible_to(user)]  # (SQLite cannot order and limit UNION members)
        return self._unit_parts(user)

    def _unit_parts(self, who: Any) -> list[InvestigationQuerySet]:
        """`visible_parts` for a user with a unit; `who` gives their ids (`pk`, `unit_id`,
        `force_id`): the user, or Params for the compiled list (ListShape)."""
        others = Q(EqualsAny(F("pk"), ArraySubquery(run_outside_unit(who)))) | _shared_with(who)
        # A unit's cases are visible to its members: the first part needs no other condition.
        return [
            self.filter(unit_id=who.unit_id),
            self.filter(others).exclude(unit_id=who.unit_id),
        ]

    def with_list_columns(self) -> InvestigationQuerySet:
        """The columns the list shows (and sorts by), with the unit's name and the officer's.
        The rest of the row (11 dates, the summary, the search text) is left in the database
        (7% of a list page's Python calls went on it). The types of exploitation come from the
        case row (exploitation_labels)."""
        return self.select_related("unit", "oic").only(*LIST_COLUMNS)

    def for_case_page(self) -> InvestigationQuerySet:
        """The case with the people and unit its page names; its records come from
        `case_records` once it is visible."""
        return self.select_related("unit", "oic", "supervisor")

    def with_detail(self, *, timeline: bool = True) -> InvestigationQuerySet:
        """The case with what its page and summary show. `timeline=False` leaves the timeline
        to `latest_timeline` (the page shows the newest events; the summary all of them)."""
        from investigations.models import (
            ClosureReview,
            Enquiry,
            Offence,
            SupervisoryReview,
            TimelineEvent,
        )

        # One query per relation, its people joined (not prefetched in queries of their own).
        lookups: list[Any] = [
            models.Prefetch("offences", Offence.objects.select_related("recorded_by", "victim")),
            models.Prefetch("enquiries", Enquiry.objects.select_related("owner")),
            "suspects",
            models.Prefetch(
                "supervisory_reviews", SupervisoryReview.objects.select_related("reviewer")
            ),
            models.Prefetch(
                "closure_reviews",
                ClosureReview.objects.select_related("requested_by", "reviewer"),
            ),
        ]
        if timeline:
            lookups.append(
                models.Prefetch("timeline", TimelineEvent.objects.select_related("actor"))
            )
        return self.select_related(
            "force", "unit", "oic", "supervisor", "created_by"
        ).prefetch_related(*lookups)

    def search(self, text: str) -> InvestigationQuerySet:
        """By a part of the reference, the title or a suspect's or victim's name or alias (the
        case's `search_text`, which victims/apps.py adds victims to), ignoring case."""
        text = text.strip()
        if not text:
            return self
        return self.search_for(text.upper())

    def search_for(self, text: Any) -> InvestigationQuerySet:
        """`search` given the stripped text in upper case (a Param for the compiled list, see
        ListShape). One column: no victim or suspect is read, however common the name
        (migration 0009). Within a unit the list adds `SearchKeysMatch` (migration 0010)."""
        return self.filter(search_text__contains=text)

    def filtered(self, **filters: Any) -> InvestigationQuerySet:
        qs = self
        if filters.get("status"):
            qs = qs.filter(status=filters["status"])
        if filters.get("exploitation"):
            from investigations.models import EXPLOITATION_BIT

            # The type's partial index gives a unit's cases of that type in list order.
            qs = qs.filter(exploitation_bits__has_bit=EXPLOITATION_BIT[filters["exploitation"]])
        if filters.get("unit"):
            qs = qs.filter(unit_id=filters["unit"])
        if filters.get("oic"):
            qs = qs.filter(oic_id=filters["oic"])
        if filters.get("q"):
            qs = qs.search(filters["q"])
        return qs


def visibility_condition(user: User, via: str = "") -> Q | None:
    """`visible_to`'s condition on the investigation reached by `via` (for example
    "investigation__" from a victim's involvement); None when the user sees no case."""
    if not sees_cases(user):
        return None
    return _visibility(user, via)


def _visibility(who: Any, via: str = "") -> Q:
    """The condition for `who`'s ids (the user, or Params: see `_unit_parts`)."""
    own = (
        Q(**{f"{via}oic_id": who.pk})
        | Q(**{f"{via}supervisor_id": who.pk})
        | _shared_with(who, via)
    )
    if who.unit_id:
        own |= Q(**{f"{via}unit_id": who.unit_id})
    return own


def sees_cases(user: User) -> bool:
    """Whether `visible_to` gives the user any case at all: a role that works cases and the
    permission to view them. The cases a user runs, supervises or holds in their unit are then
    always visible (the dashboards read them by their own indexes on that basis)."""
    from slaverycases.accounts.roles import works_cases

    return works_cases(user) and user.has_perm("investigations.view_investigation")


def run_outside_unit(user: Any) -> models.QuerySet:
    """The ids of the cases the user runs or supervises outside their unit (few or none).
    "Outside" is two ranges of the (officer, unit) and (supervisor, unit) indexes, below and
    above the user's unit: `unit <> X` reads every case the user has run (13,391 for the
    benchmark's officer) to find none, and the query planner cannot tell beforehand."""
    from investigations.models import Investigation

    def arm(**condition: Any) -> models.QuerySet:
        return Investigation.objects.filter(**condition).order_by().values("pk")

    unit = user.unit_id
    return arm(oic_id=user.pk, unit_id__lt=unit).union(
        arm(oic_id=user.pk, unit_id__gt=unit),
        arm(supervisor_id=user.pk, unit_id__lt=unit),
        arm(supervisor_id=user.pk, unit_id__gt=unit),
    )


def _by_reference(case_page: bool = False) -> CompiledQuery:
    def build() -> models.QuerySet:
        from investigations.models import Investigation

        cases = Investigation.objects.for_case_page() if case_page else Investigation.objects
        return cases.filter(reference=Param("reference"))

    return CompiledQuery(build)


# A case by its reference (unique), alone and with what its page names (`for_case_page`).
CASE_BY_REFERENCE = _by_reference()
CASE_PAGE = _by_reference(case_page=True)


def _case_rows(model_name: str, *related: str) -> CompiledQuery:
    """A case's rows of one kind (its `investigation_id`), in the model's order, with the
    people named."""
    return compiled_filter(f"investigations.{model_name}", "investigation_id", *related)


_OFFENCES = _case_rows("Offence", "victim")
_ENQUIRIES = _case_rows("Enquiry", "owner")
_SUSPECTS = _case_rows("Suspect")
_REVIEWS = _case_rows("SupervisoryReview", "reviewer")
_CLOSURE_REVIEWS = _case_rows("ClosureReview", "requested_by", "reviewer")


def case_records(investigation: Any) -> dict[str, list[Any]]:
    """What the case page lists under the case: offences (with their victim), enquiries (with
    their owner), suspects, supervisory reviews and closure reviews (with the people named).
    One compiled statement each; every row's case is the one given (no query for it)."""
    known = {"investigation": investigation}

    def rows(query: CompiledQuery) -> list[Any]:
        return query.fetch(case=investigation.pk, known=known)

    return {
        "offences": rows(_OFFENCES),
        "enquiries": rows(_ENQUIRIES),
        "suspects": rows(_SUSPECTS),
        "reviews": rows(_REVIEWS),
        "closure_reviews": rows(_CLOSURE_REVIEWS),
    }


@cache
def _timeline(limit: int | None) -> CompiledQuery:
    def build() -> models.QuerySet:
        from investigations.models import TimelineEvent

        events = (
            TimelineEvent.objects.filter(investigation_id=Param("case"))
            .select_related("actor")
            .annotate(total=models.Window(models.Count("pk")))
            .order_by("-at", "-id")
        )
        return events if limit is None else events[:limit]

    return CompiledQuery(build)


def latest_timeline(investigation: Any, limit: int | None) -> tuple[list[Any], int]:
    """The case's newest `limit` timeline events (all with None), newest first, and how many
    it has, in one query. A case gathers events for years (every contact, print, review), so
    its page shows the newest and links to the rest."""
    rows = _timeline(limit).fetch(case=investigation.pk, known={"investigation": investigation})
    return rows, (rows[0].total if rows else 0)


def _grants(kind: str, *related: str) -> CompiledQuery:
    label = f"investigations.Investigation{kind}ObjectPermission"
    return compiled_filter(label, "content_object_id", *related)


_GROUP_GRANTS = _grants("Group", "group__unit__force", "group__force")
_USER_GRANTS = _grants("User", "user")


def investigation_shares(investigation: Any) -> list[str]:
    """Who the case is shared with, for its page (two queries)."""
    names: list[str] = []
    for grant in _GROUP_GRANTS.fetch(case=investigation.pk):
        unit = getattr(grant.group, "unit", None)
        force = getattr(grant.group, "force", None)
        names.append(str(unit or force or grant.group.name))
    names.extend(grant.user.display_name for grant in _USER_GRANTS.fetch(case=investigation.pk))
    return sorted(set(names))


def shared_group_ids(investigation: Any) -> set[int]:
    """The sharing groups (of units and forces) the case is shared with (one query)."""
    from investigations.models import InvestigationGroupObjectPermission

    return set(
        InvestigationGroupObjectPermission.objects.filter(
            content_object=investigation, permission__codename="view_investigation"
        ).values_list("group_id", flat=True)
    )


def _shared_with(user: Any, via: str = "") -> Q:
    """Cases shared with the user, their unit or their force (django-guardian grants)."""
    from investigations.models import (
        InvestigationGroupObjectPermission,
        InvestigationUserObjectPermission,
    )

    group_scope = Q(group__user=user.pk)
    if user.unit_id:
        group_scope |= Q(group__unit__id=user.unit_id)
    if user.force_id:
        group_scope |= Q(group__force__id=user.force_id)
    granted = (
        InvestigationUserObjectPermission.objects.filter(
            user_id=user.pk, permission__codename="view_investigation"
        )
        .values("content_object_id")
        .union(
            InvestigationGroupObjectPermission.objects.filter(
                group_scope, permission__codename="view_investigation"
            ).values("content_object_id")
        )
    )
    if connection.vendor == "postgresql":
        # id = ANY(ARRAY(...)): computed once (an InitPlan), then index lookups by id.
        return Q(EqualsAny(F(f"{via}pk"), ArraySubquery(granted)))
    return Q(**{f"{via}pk__in": granted})


class EqualsAny(Func):
    """`column = ANY(array)`: unlike `IN (subquery)` inside an OR, the planner can use an
    index for it."""

    arg_joiner = " = ANY("
    template = "%(expressions)s)"
    output_field = BooleanField()
    conditional = True


class SearchKeysMatch(Func):
    """The case's search keys contain those of `text` in `unit` (PostgreSQL; migration 0010):
    `sc_search_keys(unit_id, search_text) @> sc_search_keys(unit, text)`, the expression of
    the GIN index inv_unit_search_keys. True for the unit's cases holding every three
    characters of the text; the LIKE of `search_for` decides. Only for the unit's own part of
    a list (the keys hold the case's unit), and for a text of three characters or more (an
    empty set of keys would match every case)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, unit: Any, text: Any) -> None:
        given = [v if hasattr(v, "resolve_expression") else Value(v) for v in (unit, text)]
        super().__init__(F("unit_id"), F("search_text"), *given)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        compiled = [compiler.compile(e) for e in self.get_source_expressions()]
        (unit_id, p1), (body, p2), (unit, p3), (text, p4) = compiled
        sql = (
            f"sc_search_keys({unit_id}, {body}) @> sc_search_keys(({unit})::bigint, ({text})::text)"
        )
        return sql, [*p1, *p2, *p3, *p4]


SEARCH_KEYS_MIN = 3  # the keys are three characters long


class _PartCounts:
    """count(), count_at_most() and len() of a list read in parts, from `_parts_count`."""

    _count: int | None = None

    def _parts_count(self, limit: int | None) -> int:
        """The parts' rows added up, each part counting no more than `limit + 1` (all with
        None)."""
        raise NotImplementedError

    def count(self) -> int:
        if self._count is None:
            self._count = self._parts_count(None)
        return self._count

    def count_at_most(self, limit: int) -> int | None:
        """The number of rows if it is at most `limit`, else None. Each part counts no more
        than `limit + 1` of its rows, so the count costs the same for a unit with 80,000 cases
        as for one with 10,000 (counting every one took 8-12 ms at 1M cases)."""
        if self._count is None:
            total = self._parts_count(limit)
            if total > limit:
                return None
            self._count = total
        return self._count if self._count <= limit else None

    def __len__(self) -> int:
        return self.count()


class VisibleRows(_PartCounts):
    """The rows of a list of visible cases, for Django's Paginator: count() adds up the parts'
    counts; a slice takes the first `stop` ids of each part in list order (an index scan each)
    and returns that page of their union, with the columns the list shows."""

    def __init__(
        self,
        parts: list[InvestigationQuerySet],
        order: list[str],
        decorate: Any = None,
    ) -> None:
        self.parts = parts
        self.order = order
        self.decorate = decorate or (lambda qs: qs)

    def _parts_count(self, limit: int | None) -> int:
        parts = [p.order_by() for p in self.parts if not p.query.is_empty()]
        if limit is None:
            return sum(p.count() for p in parts)
        return sum(p.values("pk")[: limit + 1].count() for p in parts)

    def __getitem__(self, index: slice) -> list[Any]:
        from investigations.models import Investigation

        if not isinstance(index, slice) or index.stop is None:
            raise TypeError("VisibleRows takes slices with an end")
        start, stop = index.start or 0, index.stop
        parts = [part for part in self.parts if not part.query.is_empty()]
        if not parts or stop <= start:
            return []
        ids = [row[0] for row in _page_ids(parts, self.order, start, stop)]
        rows = Investigation.objects.filter(pk__in=ids).order_by(*self.order)
        return list(self.decorate(rows))


def _page_ids(parts: list[InvestigationQuerySet], order: Any, start: int, stop: int) -> Any:
    """Rows start to stop of the parts in `order`, as tuples whose first value is the id:
    the first `stop` of each part (an index scan each), then that page of their union."""
    if len(parts) == 1:
        return parts[0].order_by(*order).values_list("pk")[start:stop]
    keys = ["pk", *sorted({f.lstrip("-") for f in order} - {"id", "pk"})]
    firsts = [part.order_by(*order).values_list(*keys)[:stop] for part in parts]
    by = [o.replace("id", "pk") if o.lstrip("-") == "id" else o for o in order]
    return firsts[0].union(*firsts[1:], all=True).order_by(*by)[start:stop]


# --- the list, compiled (ADR 0005) -----------------------------------------------------------


class _Who:
    """A user's ids as Params: the visibility conditions written once per shape of user."""

    def __init__(self, unit: bool, force: bool) -> None:
        self.pk = Param("user")
        self.unit_id = Param("unit") if unit else None
        self.force_id = Param("force") if force else None


@dataclass(frozen=True)
class ListShape:
    """What decides the list's SQL: whether the user has a unit (two parts) and a force, which
    filters are set (their values are Params; the type of exploitation is written into the
    SQL, as its partial index asks: see HasBit) and the order."""

    unit: bool
    force: bool
    status: bool
    unit_filter: bool
    oic: bool
    exploitation: str
    search: bool
    order: tuple[str, ...]
    # The unit's part found by the search keys (SearchKeysMatch): a search of three
    # characters or more by a user with a unit, for the count, and for a page when the count
    # is small (CompiledVisibleRows.KEYS_PAGE_LIMIT).
    search_keys: bool = False


def _list_parts(shape: ListShape) -> list[InvestigationQuerySet]:
    from investigations.models import Investigation

    who = _Who(shape.unit, shape.force)
    cases = Investigation.objects.all()
    parts = cases._unit_parts(who) if shape.unit else [cases.filter(_visibility(who))]
    filters = {
        "status": Param("status") if shape.status else None,
        "unit": Param("unit_filter") if shape.unit_filter else None,
        "oic": Param("oic") if shape.oic else None,
        "exploitation": shape.exploitation,
    }
    parts = [part.filtered(**filters) for part in parts]
    if shape.search:
        parts = [part.search_for(Param("q")) for part in parts]
    if shape.search_keys:
        parts[0] = parts[0].filter(SearchKeysMatch(Param("unit"), Param("q")))
    return parts


@lru_cache(maxsize=256)
def _list_count(shape: ListShape, part: int, limit: int | None) -> CompiledQuery:
    def build() -> models.QuerySet:
        ids = _list_parts(shape)[part].order_by().values("pk")
        return ids if limit is None else ids[: limit + 1]

    # A search is planned with its text (prepare=False): the generic plan of a prepared
    # statement cannot tell a town in 2% of cases from a rare name, and sorted every match
    # where reading the unit's cases in date order until 25 match takes a tenth of the time.
    return CompiledQuery(build, prepare=not shape.search)


@lru_cache(maxsize=1024)
def _list_ids(shape: ListShape, start: int, stop: int) -> CompiledQuery:
    """The ids of rows start to stop: as VisibleRows.__getitem__ reads them."""
    return CompiledQuery(
        lambda: _page_ids(_list_parts(shape), shape.order, start, stop), prepare=not shape.search
    )


@lru_cache(maxsize=16)
def _list_rows(order: tuple[str, ...]) -> CompiledQuery:
    def build() -> models.QuerySet:
        from investigations.models import Investigation

        rows = Investigation.objects.filter(EqualsAny(F("pk"), Param("ids")))
        return rows.order_by(*order).with_list_columns()

    return CompiledQuery(build)


class CompiledVisibleRows(_PartCounts):
    """VisibleRows for the list on PostgreSQL, by statements compiled once per ListShape: the
    same counts and pages (the tests compare them), without building the visibility querysets
    on every request.

    A search counts the unit's matches by their search keys; a page is read by the keys too
    when there are at most KEYS_PAGE_LIMIT matches (every match is read and sorted: 1,001 in
    4 ms at 1M), and otherwise by reading the unit's cases in list order until the page is
    full (at least one case in forty matches: a page in a few hundred rows), which the keys'
    index cannot give and the planner, estimating the keys far too selective, would not
    choose. An unknown count (more than the list counts) is a large one."""

    KEYS_PAGE_LIMIT = 2000

    def __init__(self, user: User, shape: ListShape, values: dict[str, Any]) -> None:
        self.user = user
        self.shape = shape
        self.values = values
        self.order = list(shape.order)

    @property
    def parts(self) -> list[InvestigationQuerySet]:
        """The parts as querysets (for tests and EXPLAIN)."""
        from investigations.models import Investigation

        filters = {k: v for k, v in self.values.items() if k in ("status", "oic", "q")}
        if self.shape.unit_filter:
            filters["unit"] = self.values["unit_filter"]
        filters["exploitation"] = self.shape.exploitation
        return [p.filtered(**filters) for p in Investigation.objects.visible_parts(self.user)]

    def _parts_count(self, limit: int | None) -> int:
        parts = 2 if self.shape.unit else 1
        return sum(_list_count(self.shape, n, limit).count(**self.values) for n in range(parts))

    def page_shape(self) -> ListShape:
        """The shape a page is read with: the search keys only for a known, small count."""
        if self.shape.search_keys and (self._count is None or self._count > self.KEYS_PAGE_LIMIT):
            return replace(self.shape, search_keys=False)
        return self.shape

    def __getitem__(self, index: slice) -> list[Any]:
        if not isinstance(index, slice) or index.stop is None:
            raise TypeError("VisibleRows takes slices with an end")
        start, stop = index.start or 0, index.stop
        if stop <= start:
            return []
        ids = [row[0] for row in _list_ids(self.page_shape(), start, stop).rows(**self.values)]
        if not ids:
            return []
        return _list_rows(self.shape.order).fetch(ids=ids)


def compiled_list_rows(
    user: User, filters: dict[str, Any], order: list[str]
) -> CompiledVisibleRows | None:
    """The list's rows by compiled statements, or None where the list is read by VisibleRows:
    a user who sees no case, SQLite."""
    if connection.vendor != "postgresql" or not sees_cases(user):
        return None
    text = (filters.get("q") or "").strip()
    shape = ListShape(
        unit=bool(user.unit_id),
        force=bool(user.force_id),
        status=bool(filters.get("status")),
        unit_filter=bool(filters.get("unit")),
        oic=bool(filters.get("oic")),
        exploitation=filters.get("exploitation") or "",
        search=bool(text),
        order=tuple(order),
        search_keys=bool(user.unit_id) and len(text.upper()) >= SEARCH_KEYS_MIN,
    )
    values: dict[str, Any] = {"user": user.pk, "unit": user.unit_id, "force": user.force_id}
    if shape.status:
        values["status"] = filters["status"]
    if shape.unit_filter:
        values["unit_filter"] = int(filters["unit"])
    if shape.oic:
        values["oic"] = int(filters["oic"])
    if shape.search:
        values.update(q=text.upper())
    return CompiledVisibleRows(user, shape, values)


# Other apps (victims) add the words a case is found by: a function of a list of investigation
# ids returning {investigation id: [names and aliases]}; see victims/apps.py.
_search_extensions: list[Any] = []


def register_search_extension(terms_for_cases: Any) -> None:
    _search_extensions.append(terms_for_cases)


def case_search_texts(case_ids: list[int]) -> dict[int, str]:
    """The `search_text` each of these cases should hold: its reference and title, its
    suspects' names and aliases, and what the extensions add (victims' names and aliases). A
    fixed number of queries whatever the number of cases."""
    from investigations.models import Investigation, Suspect, search_text

    cases = Investigation.objects.filter(pk__in=case_ids)
    parts: dict[int, list[str]] = {
        pk: [reference, title]
        for pk, reference, title in cases.values_list("pk", "reference", "title")
    }
    suspects = (
        Suspect.objects.filter(investigation_id__in=case_ids)
        .order_by("investigation_id", "pk")
        .values_list("investigation_id", "name", "aliases")
    )
    for pk, name, aliases in suspects:
        parts[pk] += [name, aliases]
    for terms_for_cases in _search_extensions:
        for pk, words in terms_for_cases(case_ids).items():
            if pk in parts:
                parts[pk] += words
    return {pk: search_text(words) for pk, words in parts.items()}

"""Querysets turned into SQL once per database and run many times with new values.

Building a queryset and compiling it costs Django 0.3-0.5 ms of Python each time (the filter
tree, the joins of `select_related`, the model's ordering), several times what PostgreSQL takes
to run the statement. The pages read on every request have a fixed shape: the session by its
key, the signed-in user by id, a case by its reference, the case's records by its id. Such a
read is declared once, at import, as a `CompiledQuery` whose changing values are `Param`s:

    CASE_OFFENCES = CompiledQuery(
        lambda: Offence.objects.filter(investigation_id=Param("case")).select_related("victim")
    )
    offences = CASE_OFFENCES.fetch(case=investigation.pk, known={"investigation": investigation})

The queryset is built and compiled on first use for each database alias; later calls run the
same SQL with the values given and turn each row into model instances the way Django's own
`ModelIterable` does (`select_related` objects, annotations, the database's converters), through
the connection's cursor, so that query counting and execute wrappers see every statement.

Only for querysets whose SQL depends on nothing but their `Param`s: a value computed in the
builder (`timezone.now()`, a setting read per request) would be frozen at first use: pass it
as a `Param` instead. Prefetches, `values()` and `defer()` are refused (`TypeError`).
The tests compare every compiled read with its queryset run by the ORM.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Expression, Field, Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators

M = TypeVar("M", bound=Model)


class Param(Expression):
    """A value given when the compiled query runs, by name (`fetch(name=value)`).

    The value is sent to the database as it is given: pass what the column holds (an id, not
    a model instance; an aware datetime)."""

    def __init__(self, name: str, output_field: Field | None = None) -> None:
        super().__init__(output_field=output_field)
        self.name = name

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [self]

    def __repr__(self) -> str:
        return f"Param({self.name!r})"


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple[Any, ...]  # constants, and Param where a value is given
    model: type[Model]
    start: int
    end: int
    init_list: list[str]
    related_populators: list[Any]
    annotations: tuple[tuple[str, int], ...]
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]


class CompiledQuery(Generic[M]):
    """A model queryset compiled once per database (see the module's docstring)."""

    def __init__(self, build: Callable[[], QuerySet[M]]) -> None:
        self._build = build
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()

    def queryset(self) -> QuerySet[M]:
        """The queryset as declared (its Params unbound): for tests and EXPLAIN."""
        return self._build()

    def sql(self, using: str = DEFAULT_DB_ALIAS) -> str:
        return self._plan(using).sql

    def fetch(
        self,
        *,
        using: str = DEFAULT_DB_ALIAS,
        known: Mapping[str, Model] | None = None,
        **values: Any,
    ) -> list[M]:
        """Run with `values` for the Params; the rows as model instances. `known` names
        foreign keys whose object the caller holds (the case whose records these are): each
        row gets it without a query, as rows read through a related manager do."""
        plan = self._plan(using)
        try:
            params = [values[p.name] if isinstance(p, Param) else p for p in plan.params]
        except KeyError as missing:
            raise TypeError(f"No value given for Param({missing.args[0]!r})") from None
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows: Iterable[Any] = cursor.fetchall()
        if plan.converters:
            rows = _converted(rows, plan.converters, connection)
        known_fields = [
            (plan.model._meta.get_field(name), obj) for name, obj in (known or {}).items()
        ]
        objects: list[M] = []
        model, start, end, init_list = plan.model, plan.start, plan.end, plan.init_list
        for row in rows:
            obj = model.from_db(using, init_list, row[start:end])
            for populator in plan.related_populators:
                populator.populate(row, obj)
            for name, position in plan.annotations:
                setattr(obj, name, row[position])
            for field, related in known_fields:
                field.set_cached_value(obj, related)
            objects.append(obj)
        return objects  # type: ignore[return-value]

    def first(self, **values: Any) -> M | None:
        """The first row's instance, or None (declare the queryset with its ordering and a
        slice of one row)."""
        rows = self.fetch(**values)
        return rows[0] if rows else None

    def _plan(self, using: str) -> _Plan:
        plan = self._plans.get(using)
        if plan is not None:
            return plan
        with self._lock:
            plan = self._plans.get(using)
            if plan is None:
                plan = self._plans[using] = self._compile(using)
        return plan

    def _compile(self, using: str) -> _Plan:
        queryset = self._build()
        if queryset._iterable_class is not ModelIterable:
            raise TypeError("CompiledQuery reads model instances: no values() or values_list()")
        if queryset._prefetch_related_lookups:
            raise TypeError("CompiledQuery runs one statement: no prefetch_related()")
        if queryset.query.deferred_loading != (frozenset(), True):
            raise TypeError("CompiledQuery reads whole rows: no defer() or only()")
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        select, klass_info = compiler.select, compiler.klass_info
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        found = compiler.get_converters([s[0] for s in select[: compiler.col_count]])
        return _Plan(
            sql=sql,
            params=tuple(params),
            model=klass_info["model"],
            start=start,
            end=end,
            init_list=[s[0].target.attname for s in select[start:end]],
            related_populators=get_related_populators(klass_info, select, using),
            annotations=tuple(compiler.annotation_col_map.items()),
            converters=tuple(
                (position, tuple(functions), expression)
                for position, (functions, expression) in found.items()
            ),
        )


def _converted(rows: Iterable[Any], converters: Any, connection: Any) -> Iterable[list[Any]]:
    for row in map(list, rows):
        for position, functions, expression in converters:
            value = row[position]
            for convert in functions:
                value = convert(value, expression, connection)
            row[position] = value
        yield row

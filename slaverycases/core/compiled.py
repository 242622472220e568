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
`ModelIterable` does (`select_related` objects, annotations, the database's converters), or
for a values() query into tuples, through the connection's cursor, so that query counting and
execute wrappers see every statement.

Only for querysets whose SQL depends on nothing but their `Param`s: a value computed in the
builder (`timezone.now()`, a setting read per request) would be frozen at first use: pass it
as a `Param` instead. Prefetches and annotated `values()` are refused (`TypeError`); `only()` and
`defer()` leave fields to load on first use, as the ORM does.
The tests compare every compiled read with its queryset run by the ORM.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Expression, Field, Model, QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesIterable,
    ValuesListIterable,
    get_related_populators,
)
from django.db.models.sql import InsertQuery

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
    columns: int  # the columns a row has (a values() query: the values asked for)
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]
    model: type[Model] | None  # None for values() and values_list()
    start: int = 0
    end: int = 0
    init_list: tuple[str, ...] = ()
    related_populators: tuple[Any, ...] = ()
    annotations: tuple[tuple[str, int], ...] = ()


_VALUE_ITERABLES = (ValuesIterable, ValuesListIterable, FlatValuesListIterable)


class CompiledQuery(Generic[M]):
    """A queryset compiled once per database (see the module's docstring): `fetch` gives a
    model queryset's instances, `rows` a values() or values_list() queryset's rows as tuples,
    `count` the number of rows any of them gives."""

    def __init__(self, build: Callable[[], QuerySet[M]], *, prepare: bool = True) -> None:
        """`prepare=False`: never kept as a prepared statement (DB_PREPARED_STATEMENTS), so
        PostgreSQL plans each run with its values. For a statement whose best plan depends on
        a value the generic plan cannot see: a LIKE pattern's selectivity."""
        self._build = build
        self._prepare = prepare
        self._plans: dict[str, _Plan] = {}
        self._counts: dict[str, str] = {}
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
        model = plan.model
        if model is None:
            raise TypeError("A values() query gives rows: use rows()")
        rows = self._run(plan, using, values)
        known_fields = [(model._meta.get_field(name), obj) for name, obj in (known or {}).items()]
        objects: list[M] = []
        start, end, init_list = plan.start, plan.end, plan.init_list
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

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple[Any, ...]]:
        """Run with `values` for the Params; each row as a tuple of the values asked for (in
        the order of values() or values_list(), whatever the queryset's iterable)."""
        plan = self._plan(using)
        if plan.model is not None:
            raise TypeError("A model query gives instances: use fetch()")
        columns = plan.columns
        return [tuple(row[:columns]) for row in self._run(plan, using, values)]

    def count(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> int:
        """How many rows the query gives (its slice included): `SELECT COUNT(*)` over it."""
        plan = self._plan(using)
        sql = self._counts.get(using)
        if sql is None:
            sql = self._counts[using] = f"SELECT COUNT(*) FROM ({plan.sql}) counted"  # noqa: S608
        with connections[using].cursor() as cursor:
            self._execute(cursor, sql, self._params(plan, values))
            return int(cursor.fetchone()[0])

    def _execute(self, cursor: Any, sql: str, params: list[Any]) -> None:
        if self._prepare or cursor.db.vendor != "postgresql":
            cursor.execute(sql, params)
            return

        # Django's cursor.execute without psycopg's preparation: through the same execute
        # wrappers, error wrapping and (when queries are logged) query log.
        def unprepared(sql: str, params: Any, many: bool, context: Any) -> Any:
            cursor.db.validate_no_broken_transaction()
            with cursor.db.wrap_database_errors:
                return cursor.cursor.execute(sql, params, prepare=False)

        logged = cursor.debug_sql(sql, params) if hasattr(cursor, "debug_sql") else nullcontext()
        with logged:
            cursor._execute_with_wrappers(sql, params, many=False, executor=unprepared)

    @staticmethod
    def _params(plan: _Plan, values: Mapping[str, Any]) -> list[Any]:
        try:
            return [values[p.name] if isinstance(p, Param) else p for p in plan.params]
        except KeyError as missing:
            raise TypeError(f"No value given for Param({missing.args[0]!r})") from None

    def _run(self, plan: _Plan, using: str, values: Mapping[str, Any]) -> Iterable[Any]:
        params = self._params(plan, values)
        connection = connections[using]
        with connection.cursor() as cursor:
            self._execute(cursor, plan.sql, params)
            rows: Iterable[Any] = cursor.fetchall()
        if plan.converters:
            rows = _converted(rows, plan.converters, connection)
        return rows

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
        iterable = queryset._iterable_class
        if iterable is not ModelIterable and iterable not in _VALUE_ITERABLES:
            raise TypeError(f"CompiledQuery cannot run a queryset of {iterable.__name__}")
        if queryset._prefetch_related_lookups:
            raise TypeError("CompiledQuery runs one statement: no prefetch_related()")
        query = queryset.query
        if iterable is not ModelIterable and (query.annotation_select or query.extra_select):
            # values_list() puts annotations where they were named; Django reorders the
            # columns for that, which rows() does not.
            raise TypeError("CompiledQuery's values() rows take fields, not annotations")
        compiler = query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        select = compiler.select
        found = compiler.get_converters([s[0] for s in select[: compiler.col_count]])
        converters = tuple(
            (position, tuple(functions), expression)
            for position, (functions, expression) in found.items()
        )
        if iterable is not ModelIterable:
            return _Plan(sql, tuple(params), compiler.col_count, converters, model=None)
        klass_info = compiler.klass_info
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        return _Plan(
            sql,
            tuple(params),
            compiler.col_count,
            converters,
            model=klass_info["model"],
            start=start,
            end=end,
            init_list=tuple(s[0].target.attname for s in select[start:end]),
            related_populators=tuple(get_related_populators(klass_info, select, using)),
            annotations=tuple(compiler.annotation_col_map.items()),
        )


def compiled_filter(
    model: str | type[Model], field: str, *related: str, param: str = "case"
) -> CompiledQuery:
    """The rows of `model` (a class or an "app_label.Model" label, looked up at first use)
    whose `field` is the value given as `param`, in the model's order, with the foreign keys
    named in `related` joined: none, none joined (`select_related()` with no names would join
    every foreign key that cannot be null)."""

    def build() -> QuerySet:
        cls = apps.get_model(model) if isinstance(model, str) else model
        rows = cls._default_manager.filter(**{field: Param(param)})
        return rows.select_related(*related) if related else rows

    return CompiledQuery(build)


@dataclass(frozen=True)
class _InsertPlan:
    sql: str
    fields: tuple[Field, ...]
    returning: bool


class CompiledInsert(Generic[M]):
    """One row of a model inserted by a statement made once per database: every concrete field
    but an automatic primary key, which comes back from the database (RETURNING) as `save()`
    sets it. Values are prepared as `save()` prepares them (`pre_save`, `get_db_prep_save`);
    no model signals are sent, so it is only for models nothing listens to (the audit log)."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self._plans: dict[str, _InsertPlan] = {}
        self._lock = threading.Lock()

    def insert(self, obj: M, *, using: str = DEFAULT_DB_ALIAS) -> M:
        plan = self._plans.get(using)
        if plan is None:
            with self._lock:
                plan = self._plans.get(using) or self._compile(obj, using)
                self._plans[using] = plan
        connection = connections[using]
        params = [
            field.get_db_prep_save(field.pre_save(obj, True), connection=connection)
            for field in plan.fields
        ]
        meta = self.model._meta
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            if plan.returning:
                pk = cursor.fetchone()[0]
            else:
                pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = using
        return obj

    def _compile(self, obj: M, using: str) -> _InsertPlan:
        meta = self.model._meta
        if meta.auto_field is None or meta.db_returning_fields != [meta.auto_field]:
            raise TypeError("CompiledInsert needs an automatic primary key and nothing else back")
        fields = tuple(f for f in meta.local_concrete_fields if f is not meta.auto_field)
        for field in fields:
            if hasattr(field.pre_save(obj, True), "resolve_expression"):
                raise TypeError(f"CompiledInsert takes values, not expressions ({field.name})")
        connection = connections[using]
        query = InsertQuery(self.model)
        query.insert_values(list(fields), [obj])
        compiler = query.get_compiler(using=using)
        returning = connection.features.can_return_columns_from_insert
        compiler.returning_fields = [meta.auto_field] if returning else None
        ((sql, _params),) = compiler.as_sql()
        return _InsertPlan(sql=sql, fields=fields, returning=returning)


def _converted(rows: Iterable[Any], converters: Any, connection: Any) -> Iterable[list[Any]]:
    for row in map(list, rows):
        for position, functions, expression in converters:
            value = row[position]
            for convert in functions:
                value = convert(value, expression, connection)
            row[position] = value
        yield row

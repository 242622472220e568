"""Pagination without COUNT(*) for tables that grow without bound (the audit log: 100M+ rows a
year). Django's Paginator counts every matching row to number the pages; this fetches one row
more than a page to know whether there is a next one, and shows "Page N" with Previous/Next."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet


def page_number(value: Any) -> int:
    """A page number from the query string: 1 for anything that is not a whole number >= 1."""
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


@contextmanager
def serial_plan() -> Iterator[None]:
    """PostgreSQL plans the queries inside without parallel workers (SET LOCAL, in a
    transaction). For a query that walks an index in order and stops after a page, starting
    the workers and merging their rows costs more than the walk itself (the safeguarding
    board's first page: 50 ms with two workers, 11 ms without)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


class _NoCount:
    num_pages = None
    count = None


class CountlessPage:
    paginator = _NoCount()

    def __init__(self, queryset: QuerySet[Any], number: Any, per_page: int) -> None:
        number = page_number(number)
        start = (number - 1) * per_page
        rows = list(queryset[start : start + per_page + 1])
        self.number = number
        self.object_list = rows[:per_page]
        self._has_next = len(rows) > per_page
        self.start_index = start + 1 if self.object_list else 0
        self.end_index = start + len(self.object_list)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def has_next(self) -> bool:
        return self._has_next

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

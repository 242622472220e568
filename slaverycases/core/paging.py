"""Pagination without COUNT(*) for tables that grow without bound (the audit log: 100M+ rows a
year). Django's Paginator counts every matching row to number the pages; this fetches one row
more than a page to know whether there is a next one, and shows "Page N" with Previous/Next."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet


class _NoCount:
    num_pages = None
    count = None


class CountlessPage:
    paginator = _NoCount()

    def __init__(self, queryset: QuerySet[Any], number: Any, per_page: int) -> None:
        try:
            number = max(1, int(number))
        except (TypeError, ValueError):
            number = 1
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

"""The list rows' own tags: they replace Django's date filter and an include, and must print
exactly what those printed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django import forms
from django.template import engines

from investigations.forms import ClosureRequestForm
from investigations.models import Investigation, Status
from slaverycases.core.forms import GovukForm
from slaverycases.core.templatetags.govuk import govuk_error_summary, short_date

DJANGO = engines["django"]


def render(source: str, **context: object) -> str:
    return DJANGO.from_string(source).render(context)


@pytest.mark.parametrize(
    "value",
    [
        # Around both clock changes of 2026 in London, midnight either side, every month.
        datetime(2026, 3, 28, 23, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 24, 23, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 23, 59, tzinfo=UTC),
        datetime(2026, 6, 30, 23, 30, tzinfo=UTC),  # 1 July in London
        datetime(2025, 12, 31, 23, 59, tzinfo=UTC),
        *(datetime(2024, month, 9, 12, tzinfo=UTC) for month in range(1, 13)),
        date(2026, 9, 1),
        date(2000, 2, 29),
    ],
    ids=str,
)
def test_short_date_prints_what_the_date_filter_printed(value):
    assert render("{{ v|short_date }}", v=value) == render('{{ v|date:"j M Y" }}', v=value)


def test_short_date_of_nothing_is_empty():
    assert short_date(None) == ""
    assert render("{{ v|short_date }}", v=None) == render('{{ v|date:"j M Y" }}', v=None) == ""


def test_a_day_of_the_year_in_local_time():
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (summer time).
    assert short_date(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == "1 Jul 2026"
    assert short_date(datetime(2026, 1, 31, 23, 30, tzinfo=UTC) + timedelta(minutes=29)) == (
        "31 Jan 2026"
    )


@pytest.mark.parametrize(
    ("status", "colour"),
    [
        (Status.REPORTED, "govuk-tag--red"),
        (Status.RECORDED, "govuk-tag--orange"),
        (Status.ALLOCATED, "govuk-tag--yellow"),
        (Status.UNDER_INVESTIGATION, "govuk-tag--blue"),
        (Status.CLOSURE_REQUESTED, "govuk-tag--purple"),
        (Status.CLOSED, "govuk-tag--grey"),
    ],
)
def test_status_tag_colours_each_stage(status, colour):
    html = render("{% status_tag inv %}", inv=Investigation(status=status))
    assert html == f'<strong class="govuk-tag {colour}">{Status(status).label}</strong>'


def test_every_status_has_a_tag():
    shown = {render("{% status_tag inv %}", inv=Investigation(status=s)) for s in Status.values}
    assert len(shown) == len(Status.values)


def test_the_error_summary_follows_the_order_of_the_fields_on_the_page():
    """An error clean() adds to an earlier field is listed before a later field's own error
    (GOV.UK: the summary is in the order of the page)."""
    form = ClosureRequestForm(
        {"proposed_outcome": "nfa", "proposed_nfa_reason": "", "rationale": ""}
    )
    assert not form.is_valid()
    html = str(govuk_error_summary(form))
    reason = html.index('href="#id_proposed_nfa_reason"')
    rationale = html.index('href="#id_rationale"')
    assert reason < rationale


def test_a_single_checkbox_in_error_is_described_by_its_message():
    class Confirm(GovukForm):
        sure = forms.BooleanField(label="I have checked", help_text="Read it first")

    form = Confirm({})
    assert not form.is_valid()
    html = render("{% load govuk %}{% govuk_field form.sure %}", form=form)
    assert 'aria-describedby="id_sure-hint id_sure-error"' in html
    assert 'id="id_sure-error"' in html

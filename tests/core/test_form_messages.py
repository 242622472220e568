"""Error messages read as sentences (GOV.UK): a question used as a label is not pasted into
"Select ..." or "... must be 200 characters or fewer"."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from investigations.forms import EnquiryForm, ReportDetailsForm
from investigations.pdf_views import PrintForm
from safeguarding.forms import ContactForm
from slaverycases.flags.forms import FlagActionForm


@pytest.mark.parametrize(
    ("form", "data", "field", "message"),
    [
        (FlagActionForm, {}, "action", "Select what you want to do with the flag"),
        (
            EnquiryForm,
            {"description": "Search the house"},
            "substantive",
            "Select yes if this is a substantive investigative action",
        ),
        (ReportDetailsForm, {}, "exploitation_types", "Select the types of exploitation"),
        (
            PrintForm,
            {"variant": "full", "recipient": "x" * 201, "justification": "File"},
            "recipient",
            "Who the case summary is for must be 200 characters or fewer",
        ),
        (
            ContactForm,
            {"at_day": "31", "at_month": "2", "at_year": "2026", "at_time": "10:00"},
            "at",
            "Date of the contact must be a real date",
        ),
    ],
    ids=["flag", "enquiry", "types", "print", "contact"],
)
def test_messages_read_as_sentences(db, people, form, data, field, message):
    case = SimpleNamespace(unit_id=people["officer.gmp"].unit_id)
    kwargs = {"investigation": case} if form is EnquiryForm else {}
    bound = form(data, **kwargs)
    assert not bound.is_valid()
    assert bound.errors[field] == [message]


@pytest.mark.parametrize(
    ("reference", "valid"),
    [
        ("GMP/26/700/900", True),
        ("MPS-2026-001 A", True),
        ("CR.1", True),
        ("!!!<>", False),
        ("GMP/26/<script>", False),
        ("/26/1", False),
    ],
)
def test_a_crime_reference_is_letters_and_digits_with_separators(db, reference, valid):
    from investigations.forms import CrimeDecisionForm

    bound = CrimeDecisionForm({"crime_reference": reference})
    bound.is_valid()
    errors = bound.errors.get("crime_reference", [])
    assert (errors == []) is valid, errors
    if not valid:
        assert errors == [
            "Crime reference number must contain only letters, numbers, spaces and / - ."
        ]

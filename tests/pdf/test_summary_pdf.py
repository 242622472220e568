"""Case summary PDFs (issue 7): the full and the redacted variant read back from the PDF, the
disclosure each print records, access (404 / 403 / sign-in), the form's refusals, the
renderer's refusal to fetch anything but our static files, the command, and the layout of a
big case (20 victims, 200 timeline events): no table row cut across pages, no text off the
page."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from investigations import actions, pdf
from investigations.models import Investigation, TimelineEvent, TimelineKind
from referrals import actions as referral_actions
from safeguarding import actions as safeguarding_actions
from slaverycases.accounts.models import User
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.core.errors import DomainError, NotPermitted
from tests import factories
from victims import actions as victim_actions
from victims.models import Involvement

pytestmark = pytest.mark.django_db

HEADINGS = [
    "Case details",
    "Key dates",
    "Status and outcome",
    "Offences",
    "Victims",
    "Suspects and orders",
    "Enquiries",
    "Supervisory reviews",
    "Closure reviews",
    "Chronology",
]
NAMES = ["Andrei Ionescu", "Mihai Popa", "Elena Dumitru"]
NAME_PARTS = ["Andrei", "Ionescu", "Mihai", "Popa", "Elena", "Dumitru"]
PHONE = "07700 900123"
ADDRESS = "14 Acacia Avenue, Stockport SK1 3TA"
DOB = date(1990, 4, 7)
PASSWD_NOTE = '<img src="file:///etc/passwd"> <link rel=stylesheet href="file:///etc/passwd">'


# --- helpers -----------------------------------------------------------------------------


def pages_text(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def pdftotext(data: bytes) -> str:
    """The text in reading order, without the redacted copy's diagonal watermark."""
    result = subprocess.run(
        ["pdftotext", "-nodiag", "-", "-"], input=data, capture_output=True, check=True
    )
    return result.stdout.decode()


def flat(text: str) -> str:
    """Text with line breaks and runs of spaces made single spaces (cells wrap)."""
    return " ".join(text.split())


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def print_url(inv: Investigation) -> str:
    return f"/investigations/{inv.reference}/print/"


def pdf_url(inv: Investigation, **params: str) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"/investigations/{inv.reference}/summary.pdf{query}"


def disclosures(inv: Investigation) -> Any:
    """The disclosures printing recorded (an NRM referral or a share records its own)."""
    return AuditEvent.objects.filter(
        action=AuditAction.DISCLOSURE,
        investigation_reference=inv.reference,
        detail__has_key="variant",
    )


def add_victims(inv: Investigation, officer: User, names: list[str], *, ref: str) -> list:
    people = [
        {
            "name": name,
            "nationality": "Romanian",
            "date_of_birth": DOB if i == 0 else None,
            "estimated_age": None if i == 0 else 16 + i,
            "crime_reference": f"{ref}/{i + 1:03d}",
        }
        for i, name in enumerate(names)
    ]
    return victim_actions.victims_add_to_investigation(
        inv,
        actor=officer,
        people=people,
        identified_at=inv.reported_at + timedelta(hours=6),
        offence_type="msa_s1",
        indicators=["movement", "wages"],
    )


@pytest.fixture
def case(officer, supervisor, safeguarding_lead):
    return build_case(officer, supervisor, safeguarding_lead)


def build_case(officer: User, supervisor: User, safeguarding_lead: User) -> Investigation:
    """A case with three victims (one with a birth date, phone and address), an account, a
    recorded and an unrecorded disclosure, a safeguarding plan and contact, an NRM referral
    with a decision, a suspect with orders, a supervisory review, and free text that names a
    victim."""
    inv = factories.investigation(
        officer, stage="under_investigation", supervisor=supervisor, days_ago=10
    )
    andrei, mihai, _elena = add_victims(inv, officer, NAMES, ref="GMP/26/700")
    victim = andrei.victim
    victim_actions.victim_update(
        victim, actor=officer, expected_version=victim.version, phone=PHONE, address=ADDRESS
    )
    victim_actions.involvement_record_account(
        andrei,
        actor=officer,
        taken_at=timezone.now() - timedelta(days=5),
        interpreter_used=True,
        interpreter_language="Romanian",
        summary="Worked 14 hours a day.",
        indicators=["movement", "wages", "debt"],
    )
    rape = victim_actions.disclosure_record(
        andrei,
        actor=officer,
        offence_type="rape",
        disclosed_at=timezone.now() - timedelta(days=4),
        account=f"Andrei said the site manager assaulted him; call {PHONE}.",
    )
    victim_actions.disclosure_link_offence(rape, actor=officer, crime_reference="GMP/26/700/900")
    victim_actions.disclosure_record(
        mihai,
        actor=officer,
        offence_type="assault",
        disclosed_at=timezone.now() - timedelta(days=3),
        account="Mihai Popa was beaten when he asked for his wages.",
    )
    safeguarding_actions.plan_save(
        victim,
        actor=safeguarding_lead,
        expected_version=None,
        lead=safeguarding_lead,
        risk_level="high",
        risks=["retrafficking", "exploiters"],
        measures=["safe_house", "interpreter"],
        contact_every_days=7,
        review_date=timezone.localdate() + timedelta(days=30),
    )
    safeguarding_actions.contact_record(
        victim,
        actor=officer,
        at=timezone.now() - timedelta(days=2),
        method="in_person",
        made=True,
        interpreter_used=True,
        notes=f"Seen at {ADDRESS}.",
        next_contact_due=timezone.localdate() + timedelta(days=5),
    )
    referral = referral_actions.nrm_referral_submit(
        mihai.victim,
        investigation=inv,
        actor=officer,
        organisation="Greater Manchester Police",
        submitted_on=timezone.localdate() - timedelta(days=6),
        consent_given=None,
        consent_on=None,
        childrens_services_told_on=timezone.localdate() - timedelta(days=6),
    )
    referral_actions.nrm_decision_record(
        referral,
        actor=officer,
        expected_version=referral.version,
        stage="rg",
        decision="positive",
        decided_on=timezone.localdate() - timedelta(days=2),
    )
    actions.suspect_add(
        inv,
        actor=officer,
        name="Victor Brand",
        role="principal",
        nationality="British",
        prevention_order="applied",
        risk_order="considered",
    )
    actions.supervisory_review_add(
        inv,
        actor=supervisor,
        direction=f"Arrange an ABE interview for Elena Dumitru (born {DOB:%-d %B %Y}).",
        next_review_due=timezone.localdate() + timedelta(days=28),
    )
    inv.refresh_from_db()
    return inv


# --- the full variant --------------------------------------------------------------------


def test_full_summary_from_the_form(case, officer):
    client = client_for(officer)
    response = client.post(
        print_url(case),
        {"variant": "full", "recipient": "CPS North West", "justification": "Charging file"},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{case.reference}-case-summary.pdf"' in response["Content-Disposition"]
    data = response.content
    pages = pages_text(data)
    assert len(pages) >= 2
    for number, page in enumerate(pages, 1):
        assert page.count("OFFICIAL-SENSITIVE") >= 2, f"page {number} lacks top and bottom"
        assert f"Page {number} of {len(pages)}" in page
        assert "Generated by Priya Shah on" in flat(page)
    text = flat(pdftotext(data))
    assert case.reference in text
    assert case.title in text
    for heading in HEADINGS:
        assert heading in text
    if apps.is_installed("slaverycases.flags"):
        assert "Open flags" in text
    for name in NAMES:
        assert name in text
    for label in ("Victim A", "Victim B", "Victim C"):
        assert label in text
    assert "Time from report to first substantive action" in text
    assert "1 day" in text  # the factory completes the first enquiry a day after the report
    assert "recorded as GMP/26/700/900" in text
    assert "not recorded as an offence" in text
    assert "High risk (harm from exploiters, re-trafficking)" in text
    assert "No safeguarding plan" in text
    assert "next contact due" in text
    assert "No NRM referral recorded" in text  # Victim A and Victim C
    rg_day = timezone.localdate() - timedelta(days=2)
    assert (
        f"NRM referral submitted {timezone.localdate() - timedelta(days=6):%-d %b %Y} by Greater "
        f"Manchester Police as a child; reasonable grounds: positive ({rg_day:%-d %b %Y}); "
        f"recovery period ends {rg_day + timedelta(days=30):%-d %b %Y}; conclusive grounds: "
        "awaiting decision"
    ) in text
    assert "Prevention Order: Applied for" in text
    assert "Risk Order: Considered, not applied for" in text
    assert "Arrange an ABE interview for Elena Dumitru" in text
    # The officer in charge sees the victim's contact details, as on the case page.
    assert PHONE in text
    assert "14 Acacia Avenue" in text
    assert "redacted copy" not in text.lower()


def test_the_summary_is_a_tagged_pdf(case, officer):
    """Headings, tables and the language reach assistive technology (WCAG 1.3.1): the PDF is
    tagged, with a structure tree, its language and a marked-content flag."""
    response = client_for(officer).post(
        print_url(case),
        {"variant": "full", "recipient": "CPS North West", "justification": "Charging file"},
    )
    catalog = PdfReader(io.BytesIO(response.content)).trailer["/Root"]
    assert bool(catalog["/MarkInfo"]["/Marked"])
    assert str(catalog.get("/Lang", "")).lower().startswith("en")
    tags: set[str] = set()
    stack = [catalog["/StructTreeRoot"].get_object()]
    while stack:  # the structure elements, depth first
        node = stack.pop()
        if "/S" in node:
            tags.add(str(node["/S"]))
        kids = node.get("/K")
        kids = kids if isinstance(kids, list) else [kids]
        stack += [k.get_object() for k in kids if hasattr(k, "get_object")]
        stack = [k for k in stack if hasattr(k, "get")]
    assert {"/H1", "/H2", "/Table", "/TH", "/TD"} <= tags, tags


def test_full_summary_hides_contact_details_from_those_who_may_not_see_them(case, people, officer):
    """A unit officer who is not the case's officer in charge or supervisor prints the full
    summary without victims' addresses and phone numbers (victims/access.may_see_sensitive)."""
    colleague = User.objects.create(
        username="colleague.gmp",
        first_name="Sam",
        last_name="Colleague",
        force=officer.force,
        unit=officer.unit,
    )
    colleague.groups.add(Group.objects.get(name="officer"))
    data = pdf.investigation_print(
        case, actor=colleague, variant="full", recipient="CPS", justification="File"
    )
    text = flat(pdftotext(data))
    assert "Andrei Ionescu" in text
    assert "Contact details" in text
    assert "14 Acacia Avenue" not in text
    assert "Immigration status" not in text
    assert "Not shown: only the officer in charge" in text


# --- the redacted variant ----------------------------------------------------------------


def test_redacted_summary_names_victims_only_by_label(case, officer):
    client = client_for(officer)
    response = client.post(
        print_url(case),
        {"variant": "redacted", "recipient": "Salvation Army", "justification": "Support"},
    )
    assert response.status_code == 200
    assert "-redacted.pdf" in response["Content-Disposition"]
    data = response.content
    pages = pages_text(data)
    text = flat(pdftotext(data))
    for name in NAMES + NAME_PARTS:
        assert name not in text, f"{name} printed in the redacted copy"
        assert name.upper() not in text
    for label in ("Victim A", "Victim B", "Victim C"):
        assert label in text
    assert PHONE not in text and PHONE.replace(" ", "") not in text
    assert "Acacia" not in text and "SK1 3TA" not in text
    assert f"{DOB:%-d %B %Y}" not in text and f"{DOB:%-d %b %Y}" not in text
    assert "Victim A said the site manager assaulted him; call [phone number redacted]" in text
    assert "Victim B was beaten when he asked for his wages" in text
    assert "Arrange an ABE interview for Victim C (born [date of birth redacted])" in text
    # The timeline's "Victim A (Andrei Ionescu)" reads "Victim A".
    assert "modern slavery crime: Victim A, Victim B, Victim C" in text
    # The officers' names and the suspect's stay.
    assert "Priya Shah" in text and "Victor Brand" in text
    # A watermark on every page names who printed it, when, and for whom.
    for page in pages:
        watermark = flat(page).lower()
        assert "redacted copy printed by priya shah" in watermark
        assert "for salvation army" in watermark
        assert "OFFICIAL-SENSITIVE" in page


def test_redaction_keeps_staff_names_and_ordinary_words():
    class Person:
        def __init__(self, name: str, aliases: str = "") -> None:
            self.name, self.aliases = name, aliases
            self.phone = self.address = ""
            self.date_of_birth = None

    redact = pdf.Redactor.for_victims(
        [(Person("May Shah", "Maisie"), "Victim A"), (Person("Ion Shah"), "Victim B")],
        active=True,
        protect=["Priya Shah"],
    )
    assert (
        redact("Allocated to Priya Shah; MAY SHAH seen") == "Allocated to Priya Shah; Victim A seen"
    )
    assert redact("It may rain. May said no. Maisie left.") == (
        "It may rain. Victim A said no. Victim A left."
    )
    assert redact("Ion and Shah") == "Victim B and [name redacted]"  # a shared surname
    assert pdf.Redactor.for_victims([], active=False)("Andrei") == "Andrei"


# --- the disclosure each print records ---------------------------------------------------


def test_each_print_records_one_disclosure_and_a_timeline_event(case, officer):
    client = client_for(officer)
    rows_before = AuditEvent.objects.count()
    client.post(
        print_url(case),
        {"variant": "redacted", "recipient": "NCA", "justification": "Linked operation"},
    )
    assert AuditEvent.objects.count() == rows_before + 1  # the disclosure, nothing else
    event = disclosures(case).get()
    assert event.actor == officer
    assert event.recipient == "NCA"
    assert event.justification == "Linked operation"
    assert event.detail["variant"] == "redacted"
    assert event.detail["pages"] >= 2
    assert event.object_type == "investigations.investigation"
    assert event.object_id == str(case.pk)
    printed = TimelineEvent.objects.get(investigation=case, kind=TimelineKind.PRINTED)
    assert printed.text == "Redacted case summary printed for NCA"
    assert printed.actor == officer

    client.post(print_url(case), {"variant": "full", "recipient": "CPS", "justification": "Go"})
    assert disclosures(case).count() == 2
    assert disclosures(case).filter(detail__variant="full", recipient="CPS").exists()


# --- access ------------------------------------------------------------------------------


def test_outsiders_get_404(case, other_force_officer, auditor):
    for user in (other_force_officer, auditor):
        client = client_for(user)
        params = {"variant": "full", "recipient": "x", "justification": "y"}
        assert client.get(pdf_url(case, variant="full")).status_code == 404
        assert client.get(print_url(case)).status_code == 404
        assert client.post(print_url(case), params).status_code == 404
    assert not disclosures(case).exists()


def test_a_role_without_the_print_permission_gets_403(case, officer):
    viewers = Group.objects.create(name="viewers-only")
    viewers.permissions.add(
        Permission.objects.get(
            content_type__app_label="investigations", codename="view_investigation"
        )
    )
    viewer = User.objects.create(
        username="viewer.gmp", force=officer.force, unit=officer.unit, first_name="Vee"
    )
    viewer.groups.add(viewers)
    client = client_for(viewer)
    assert client.get(f"/investigations/{case.reference}/").status_code == 200
    params = {"variant": "full", "recipient": "x", "justification": "y"}
    assert client.get(pdf_url(case, variant="full")).status_code == 403
    assert client.get(print_url(case)).status_code == 403
    assert client.post(print_url(case), params).status_code == 403
    assert not disclosures(case).exists()
    with pytest.raises(NotPermitted):
        pdf.investigation_print(
            case, actor=viewer, variant="full", recipient="x", justification="y"
        )


def test_anonymous_users_are_sent_to_sign_in(case):
    response = Client().get(pdf_url(case, variant="full", recipient="x"))
    assert response.status_code == 302
    assert "/account/sign-in/" in response["Location"]
    response = Client().post(print_url(case), {"variant": "full", "recipient": "x"})
    assert response.status_code == 302
    assert "/account/sign-in/" in response["Location"]


def test_a_share_lets_the_receiving_force_print(case, supervisor, other_force_officer):
    actions.investigation_share(
        case, actor=supervisor, reason="Victim relocated", user=other_force_officer
    )
    response = client_for(other_force_officer).post(
        print_url(case),
        {"variant": "redacted", "recipient": "WYP safeguarding", "justification": "Relocation"},
    )
    assert response.status_code == 200
    assert disclosures(case).filter(actor=other_force_officer).exists()


# --- the form ----------------------------------------------------------------------------


def test_the_form_shows_the_gov_uk_fields(case, officer):
    response = client_for(officer).get(print_url(case))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Print a case summary" in body
    assert 'type="radio" value="full"' in body and 'type="radio" value="redacted"' in body
    assert 'name="recipient"' in body and "<textarea" in body
    assert "Printing a case summary is a disclosure" in body


@pytest.mark.parametrize(
    "params",
    [
        {"variant": "full", "recipient": "CPS"},
        {"variant": "full", "recipient": "CPS", "justification": "   "},
        {"variant": "full", "justification": "Charging"},
        {"recipient": "CPS", "justification": "Charging"},
        {"variant": "full", "recipient": "CPS", "justification": "Charging"},
        {},
    ],
)
def test_the_pdf_address_leads_to_the_form_and_never_prints(case, officer, params):
    """A GET changes nothing and a disclosure's reason never travels in a URL: the address
    keeps the version and the recipient for the form, which posts the reason."""
    client = client_for(officer)
    response = client.get(pdf_url(case, **params))
    assert response.status_code == 302
    assert response["Location"].startswith(print_url(case))
    assert "justification" not in response["Location"]
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Say who the case summary is for and why" in page.content.decode()
    assert not disclosures(case).exists()


def test_a_cross_site_request_for_the_pdf_goes_back_to_the_form(case, officer):
    response = client_for(officer).get(
        pdf_url(case, variant="full", recipient="x", justification="y"),
        HTTP_SEC_FETCH_SITE="cross-site",
    )
    assert response.status_code == 302
    assert response["Location"] == print_url(case)
    assert not disclosures(case).exists()


def test_the_form_refuses_a_missing_reason_with_gov_uk_errors(case, officer):
    response = client_for(officer).post(print_url(case), {"variant": "full", "recipient": "CPS"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "There is a problem" in body
    assert "Enter why they need the case summary" in body
    assert 'value="CPS"' in body
    response = client_for(officer).post(print_url(case), {})
    body = response.content.decode()
    assert "Select the full or the redacted case summary" in body
    assert "Enter who the case summary is for" in body
    assert not disclosures(case).exists()


def test_the_action_refuses_a_missing_reason(case, officer):
    with pytest.raises(DomainError, match="why"):
        pdf.investigation_print(
            case, actor=officer, variant="full", recipient="x", justification=" "
        )
    with pytest.raises(DomainError):
        pdf.investigation_print(
            case, actor=officer, variant="other", recipient="x", justification="y"
        )
    assert not disclosures(case).exists()


# --- nothing fetched but our static files -----------------------------------------------


def test_a_note_naming_a_local_file_fetches_nothing(case, officer, caplog):
    actions.investigation_update(
        case,
        actor=officer,
        expected_version=case.version,
        title=case.title,
        summary=f"Summary {PASSWD_NOTE}",
        source=case.source,
        location=case.location,
        exploitation_types=["labour"],
    )
    enquiry = actions.enquiry_add(
        case, actor=officer, description="Check the file", substantive=True, owner=officer
    )
    actions.enquiry_complete(
        enquiry, actor=officer, completed_at=timezone.now(), result=f"Result {PASSWD_NOTE}"
    )
    case.refresh_from_db()
    data = pdf.investigation_print(
        case, actor=officer, variant="full", recipient="CPS", justification="File"
    )
    text = pdftotext(data)
    assert "root:" not in text
    assert "/bin/bash" not in text and "/usr/sbin/nologin" not in text
    # Escaped, the markup prints as the text it is.
    assert 'src="file:///etc/passwd">' in flat(text)


def test_the_fetcher_serves_only_bundled_static_files():
    fetcher = pdf.static_only_fetcher()
    css = fetcher.fetch(pdf.STATIC_BASE_URL + "pdf/summary.css")
    assert b"@page" in css.read()
    assert css.content_type == "text/css"
    for url in [
        "file:///etc/passwd",
        "http://127.0.0.1:8000/healthz",
        "https://example.com/x.png",
        "data:text/plain,hello",
        pdf.STATIC_BASE_URL + "../../../../etc/passwd",
        pdf.STATIC_BASE_URL + "pdf/%2e%2e/%2e%2e/manage.py",
        pdf.STATIC_BASE_URL + "/etc/passwd",
        pdf.STATIC_BASE_URL + "pdf/missing.css",
        "https://pdf.invalid/etc/passwd",
    ]:
        with pytest.raises(ValueError, match="Refused"):
            fetcher.fetch(url)


# --- the command -------------------------------------------------------------------------


def test_the_command_writes_the_same_pdf_and_audit_row(case, officer, tmp_path: Path):
    output = tmp_path / "case.pdf"
    out = io.StringIO()
    call_command(
        "case_pdf",
        case.reference,
        "--output",
        str(output),
        "--redacted",
        "--user",
        officer.username,
        "--recipient",
        "CPS",
        "--justification",
        "Charging file",
        stdout=out,
    )
    assert "Wrote" in out.getvalue()
    data = output.read_bytes()
    text = flat(pdftotext(data))
    assert case.reference in text and "Victim A" in text and "Andrei" not in text
    event = disclosures(case).get()
    assert (event.actor, event.recipient, event.justification) == (officer, "CPS", "Charging file")
    assert event.detail["variant"] == "redacted"


def test_the_command_checks_access_like_the_web(case, other_force_officer, auditor, tmp_path):
    output = tmp_path / "case.pdf"
    for user in (other_force_officer, auditor):
        with pytest.raises(CommandError):
            call_command(
                "case_pdf", case.reference, "--output", str(output), "--user", user.username
            )
    with pytest.raises(CommandError, match="No active user"):
        call_command("case_pdf", case.reference, "--output", str(output), "--user", "nobody")
    assert not output.exists()
    assert not disclosures(case).exists()


def test_the_command_records_a_default_recipient_and_reason(case, officer, tmp_path):
    output = tmp_path / "own.pdf"
    call_command(
        "case_pdf",
        case.reference,
        "-o",
        str(output),
        "--user",
        officer.username,
        stdout=io.StringIO(),
    )
    event = disclosures(case).get()
    assert event.recipient == "Priya Shah (own use, command line)"
    assert "no justification given" in event.justification
    assert event.detail["variant"] == "full"


# --- a big case: layout ------------------------------------------------------------------


def build_big_case(officer: User, supervisor: User, *, victims: int = 20, events: int = 200):
    """20 victims (one intake, a crime reference each) and about 200 timeline events."""
    inv = factories.investigation(
        officer, stage="under_investigation", supervisor=supervisor, days_ago=60
    )
    names = [f"Worker{i:02d} Surname{i:02d}" for i in range(victims)]
    involvements = add_victims(inv, officer, names, ref=f"BIG/{inv.pk}")
    for i, involvement in enumerate(involvements[:6]):
        victim_actions.disclosure_record(
            involvement,
            actor=officer,
            offence_type="assault",
            disclosed_at=timezone.now() - timedelta(days=30 - i),
            account=f"{involvement.victim.name} described a beating on the site. " * 3,
        )
    actions.suspect_add(inv, actor=officer, name="Victor Brand", role="principal")
    while TimelineEvent.objects.filter(investigation=inv).count() < events:
        n = TimelineEvent.objects.filter(investigation=inv).count()
        if n % 3:
            actions.enquiry_add(
                inv,
                actor=officer,
                description=f"Enquiry {n}: trace the agency that placed {names[n % victims]} "
                "and obtain its payroll records for the whole period",
                substantive=True,
                owner=officer,
            )
        else:
            actions.record_on_case(
                inv,
                actor=officer,
                kind=TimelineKind.UPDATED,
                text=f"Note {n}: " + "a long note that wraps over several lines. " * (1 + n % 5),
            )
    inv.refresh_from_db()
    return inv


def _layout_problems(document: Any) -> list[str]:
    """Rows drawn on more than one page, and text that leaves the page's content area (the
    page margins hold only the margin boxes; the watermark is rotated on purpose)."""
    from weasyprint.formatting_structure import boxes

    problems: list[str] = []
    seen_rows: dict[int, int] = {}
    for number, page in enumerate(document.pages, 1):
        page_box = page._page_box
        left = page_box.margin_left
        right = page_box.margin_width() - page_box.margin_right
        bottom = page_box.margin_height() - page_box.margin_bottom
        for child in page_box.children:
            if isinstance(child, boxes.MarginBox):
                continue
            descendants = list(child.descendants())
            header_rows = {
                id(row.element)
                for group in descendants
                if isinstance(group, boxes.TableRowGroupBox) and group.is_header
                for row in group.children
            }
            for box in descendants:
                if isinstance(box, boxes.TableRowBox) and id(box.element) not in header_rows:
                    first = seen_rows.setdefault(id(box.element), number)
                    if first != number:
                        problems.append(f"a row is split over pages {first} and {number}")
                if not isinstance(box, boxes.TextBox):
                    continue
                if box.element is not None and box.element.get("class") == "watermark":
                    continue
                if box.position_x < left - 0.5 or box.position_x + box.width > right + 0.5:
                    problems.append(f"text off the page on page {number}: {box.text[:40]!r}")
                if box.position_y + box.height > bottom + 0.5:
                    problems.append(f"text below the page on page {number}: {box.text[:40]!r}")
    return problems


def test_a_big_case_prints_without_cut_rows_or_text_off_the_page(officer, supervisor):
    inv = build_big_case(officer, supervisor)
    assert TimelineEvent.objects.filter(investigation=inv).count() >= 200
    assert Involvement.objects.filter(investigation=inv).count() == 20
    document = pdf._render_document(
        inv,
        user=officer,
        variant="redacted",
        recipient="CPS",
        generated_at=timezone.now(),
    )
    assert len(document.pages) >= 8
    assert _layout_problems(document) == []
    data = document.write_pdf()
    pages = pages_text(data)
    for number, page in enumerate(pages, 1):
        assert page.count("OFFICIAL-SENSITIVE") >= 2
        assert f"Page {number} of {len(pages)}" in page
    text = flat(pdftotext(data))
    assert not re.search(r"Worker\d\d|Surname", text)
    assert "Victim T" in text  # the 20th victim


# --- open flags --------------------------------------------------------------------------


@pytest.mark.skipif(not apps.is_installed("slaverycases.flags"), reason="no flags app")
def test_open_flags_are_printed_with_their_evidence(case, officer):
    from slaverycases.flags.actions import scan

    scan(force=case.force, investigation_ids=[case.pk])
    data = pdf.investigation_print(
        case, actor=officer, variant="redacted", recipient="CPS", justification="File"
    )
    text = flat(pdftotext(data))
    flags = text[text.index("Open flags") : text.index("Chronology")]
    # Victim B disclosed an assault three days ago and no assault is recorded for them.
    assert "Unrecorded linked offence" in flags
    assert "High severity, open; Victim B" in flags
    assert "1 disclosure (assault (abh or gbh)) with no offence recorded" in flags
    assert "Mihai" not in flags


def test_the_summary_reads_a_fixed_number_of_queries(case, officer, django_assert_num_queries):
    def context() -> dict[str, Any]:
        return pdf.summary_context(
            case, user=officer, variant="redacted", recipient="CPS", generated_at=timezone.now()
        )

    with CaptureQueriesContext(connection) as small:
        context()
    more = add_victims(case, officer, ["Ana Pop", "Radu Stan", "Ioana Rus"], ref="GMP/26/701")
    for involvement in more:
        victim_actions.disclosure_record(
            involvement,
            actor=officer,
            offence_type="assault",
            disclosed_at=timezone.now(),
            account="Beaten.",
        )
        actions.enquiry_add(
            case, actor=officer, description="Trace", substantive=True, owner=officer
        )
    with django_assert_num_queries(len(small)):
        context()

"""investigations/access.py: who sees which investigations, sharing, and the audit of access."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.http import Http404

from investigations import access, actions
from investigations.models import Enquiry, Investigation, Status
from slaverycases.accounts import roles
from slaverycases.accounts.actions import unit_ensure
from slaverycases.accounts.models import Force, User
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.core.errors import NotPermitted
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(people, officer, supervisor, other_force_officer):
    """Two GMP cases and one WYP case."""
    return {
        "gmp_new": factories.investigation(officer, title="GMP new report"),
        "gmp_allocated": factories.investigation(
            officer, stage="allocated", supervisor=supervisor, title="GMP allocated"
        ),
        "wyp_new": factories.investigation(other_force_officer, title="WYP new report"),
    }


def visible_titles(user: User) -> set[str]:
    return set(access.investigations_for_user(user).values_list("title", flat=True))


def case_url(inv: Investigation, suffix: str = "") -> str:
    return f"/investigations/{inv.reference}/{suffix}"


def write_urls(inv: Investigation) -> list[str]:
    suspect = inv.suspects.first()
    enquiry = Enquiry.objects.filter(investigation=inv).first()
    urls = [
        case_url(inv, "edit/"),
        case_url(inv, "crime-decision/"),
        case_url(inv, "allocate/"),
        case_url(inv, "offences/new/"),
        case_url(inv, "enquiries/new/"),
        case_url(inv, "suspects/new/"),
        case_url(inv, "reviews/new/"),
        case_url(inv, "closure/request/"),
        case_url(inv, "closure/review/"),
        case_url(inv, "reopen/"),
        case_url(inv, "share/"),
    ]
    if enquiry is not None:
        urls.append(case_url(inv, f"enquiries/{enquiry.pk}/complete/"))
    if suspect is not None:
        urls.append(case_url(inv, f"suspects/{suspect.pk}/edit/"))
    return urls


def under_investigation_with_records(officer, supervisor) -> Investigation:
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    actions.suspect_add(
        inv,
        actor=officer,
        name="Arben Krasniqi",
        role="controller",
    )
    actions.enquiry_add(
        inv, actor=officer, description="Trace the van", substantive=True, owner=officer
    )
    inv.refresh_from_db()
    return inv


# --- the visible queryset ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("officer", {"GMP new report", "GMP allocated"}),
        ("supervisor", {"GMP new report", "GMP allocated"}),
        ("safeguarding_lead", {"GMP new report", "GMP allocated"}),
        ("other_force_officer", {"WYP new report"}),
        ("auditor", set()),
        ("force_admin", set()),
    ],
)
def test_each_persona_sees_only_their_units_cases(request, cases, persona, expected):
    user = request.getfixturevalue(persona)
    assert visible_titles(user) == expected
    for inv in cases.values():
        assert access.may_view(user, inv) == (inv.title in expected)


def test_the_visible_queryset_is_one_query(cases, other_force_officer, django_assert_num_queries):
    other_force_officer = User.objects.get(pk=other_force_officer.pk)
    other_force_officer.has_perm("investigations.view_investigation")  # load permissions once
    with django_assert_num_queries(1):
        assert len(list(access.investigations_for_user(other_force_officer))) == 1


def test_an_officer_of_another_unit_sees_cases_they_run_or_supervise(cases, officer, supervisor):
    """Visibility follows the OIC and supervisor too, not only the unit."""
    other_unit = unit_ensure(force=officer.force, name="GMP Exploitation Team")
    inv = cases["gmp_allocated"]
    assert inv.oic == officer
    moved = User.objects.get(pk=officer.pk)
    moved.unit = other_unit
    moved.save(update_fields=["unit"])
    assert visible_titles(moved) == {"GMP allocated"}
    assert visible_titles(User.objects.get(pk=supervisor.pk)) == {"GMP new report", inv.title}


def test_inactive_users_see_nothing(cases, officer):
    officer.is_active = False
    officer.save(update_fields=["is_active"])
    assert visible_titles(User.objects.get(pk=officer.pk)) == set()


def test_get_investigation_for_user_is_404_for_outsiders(cases, officer, other_force_officer):
    inv = cases["gmp_new"]
    assert access.get_investigation_for_user(officer, inv.reference.lower()) == inv
    with pytest.raises(Http404):
        access.get_investigation_for_user(other_force_officer, inv.reference)
    with pytest.raises(Http404):
        access.get_investigation_for_user(officer, "GMP-1999-999999")


def test_force_admin_sees_no_case_even_one_shared_with_its_force(
    cases, people, force_admin, officer
):
    wyp_case = cases["wyp_new"]
    actions.investigation_share(
        wyp_case, actor=people["supervisor.wyp"], reason="Joint operation", force=officer.force
    )
    assert visible_titles(officer) == {"GMP new report", "GMP allocated", "WYP new report"}
    assert visible_titles(force_admin) == set()


def test_force_admin_is_refused_the_list(client, force_admin):
    client.force_login(force_admin)
    assert client.get("/investigations/").status_code == 403


def test_force_admin_gets_404_on_a_case(client, cases, force_admin):
    client.force_login(force_admin)
    assert client.get(case_url(cases["gmp_new"])).status_code == 404


def test_auditor_sees_no_investigations(client, cases, auditor):
    client.force_login(auditor)
    assert client.get("/investigations/").status_code == 403
    for inv in cases.values():
        assert client.get(case_url(inv)).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.CONSULTATION).exists()


# --- sharing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["force", "unit"])
def test_sharing_opens_the_case_to_another_force(
    client, cases, supervisor, other_force_officer, target
):
    inv = cases["gmp_allocated"]
    client.force_login(other_force_officer)
    assert client.get(case_url(inv)).status_code == 404
    assert "GMP allocated" not in visible_titles(other_force_officer)

    recipient = other_force_officer.force if target == "force" else other_force_officer.unit
    actions.investigation_share(
        inv, actor=supervisor, reason="Victim relocated to Leeds", **{target: recipient}
    )

    response = client.get(case_url(inv))
    assert response.status_code == 200
    assert "GMP allocated" in response.content.decode()
    assert "GMP allocated" in visible_titles(other_force_officer)
    assert str(recipient) in response.content.decode()  # "Shared with" on the case page
    listed = client.get("/investigations/")
    assert inv.reference in listed.content.decode()

    for action in (AuditAction.GRANT, AuditAction.DISCLOSURE):
        row = AuditEvent.objects.get(investigation_reference=inv.reference, action=action)
        assert row.actor == supervisor
        assert row.recipient == str(recipient)
        assert row.justification == "Victim relocated to Leeds"


def test_a_force_share_reaches_every_unit_of_that_force_but_no_other(
    cases, supervisor, people, other_force_officer
):
    inv = cases["gmp_new"]
    actions.investigation_share(
        inv, actor=supervisor, reason="Relocation", force=other_force_officer.force
    )
    assert "GMP new report" in visible_titles(people["safeguarding.wyp"])
    assert "GMP new report" in visible_titles(people["supervisor.wyp"])
    nca = Force.objects.get(code="NCA")
    nca_officer = User.objects.create(username="nca.officer", force=nca, unit=nca.units.first())
    nca_officer.groups.add(Group.objects.get(name=roles.OFFICER))
    assert visible_titles(nca_officer) == set()


def test_a_share_with_one_user_reaches_only_that_user(cases, supervisor, people):
    inv = cases["gmp_new"]
    actions.investigation_share(inv, actor=supervisor, reason="Liaison", user=people["officer.wyp"])
    assert "GMP new report" in visible_titles(people["officer.wyp"])
    assert "GMP new report" not in visible_titles(people["supervisor.wyp"])


def fresh(user: User) -> User:
    """The user as a request has it, roles and permissions read once."""
    user = User.objects.select_related("unit").get(pk=user.pk)
    user.has_perm("investigations.view_investigation")
    return user


def test_the_case_by_reference_for_its_team_a_share_and_an_outsider(
    cases, officer, supervisor, people, django_assert_num_queries
):
    """The case is read by its reference and then checked: its team needs no further query,
    a user it is shared with one (the share), and an outsider gets a 404 without any of the
    case's records being read."""
    inv = cases["gmp_allocated"]
    detail = Investigation.objects.with_detail(timeline=False)
    lookups = len(detail._prefetch_related_lookups)
    for member in (officer, supervisor):
        member = fresh(member)
        with django_assert_num_queries(1 + lookups):
            assert access.get_investigation_for_user(member, inv.reference, queryset=detail) == inv
    actions.investigation_share(inv, actor=supervisor, reason="Liaison", user=people["officer.wyp"])
    shared, outsider = fresh(people["officer.wyp"]), fresh(people["supervisor.wyp"])
    with django_assert_num_queries(2 + lookups):
        found = access.get_investigation_for_user(shared, inv.reference, queryset=detail)
    assert found == inv and found.oic == officer  # the queryset's joins and prefetches
    assert [s.name for s in found.suspects.all()] == [s.name for s in inv.suspects.all()]
    with django_assert_num_queries(2), pytest.raises(Http404):
        access.get_investigation_for_user(outsider, inv.reference, queryset=detail)
    auditor = fresh(people["auditor"])
    with django_assert_num_queries(0), pytest.raises(Http404):
        access.get_investigation_for_user(auditor, inv.reference)


def test_every_view_of_the_case_page_is_audited_as_a_consultation(
    client, cases, supervisor, other_force_officer
):
    inv = cases["gmp_new"]
    actions.investigation_share(
        inv, actor=supervisor, reason="Relocation", unit=other_force_officer.unit
    )
    client.force_login(other_force_officer)
    for _ in range(3):
        assert client.get(case_url(inv), HTTP_USER_AGENT="pytest-browser").status_code == 200
    rows = AuditEvent.objects.filter(
        investigation_reference=inv.reference, action=AuditAction.CONSULTATION
    )
    assert rows.count() == 3
    for row in rows:
        assert row.actor == other_force_officer
        assert row.actor_username == "officer.wyp"
        assert row.object_type == "investigations.investigation"
        assert row.object_id == str(inv.pk)
        assert row.ip_address == "127.0.0.1"
        assert row.user_agent == "pytest-browser"
        assert row.detail == {"page": "case page"}


def test_a_refused_case_page_is_not_logged_as_a_consultation(client, cases, other_force_officer):
    client.force_login(other_force_officer)
    assert client.get(case_url(cases["gmp_new"])).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.CONSULTATION).exists()


@pytest.mark.parametrize("suffix", ["edit/", "closure/review/", "suspects/{suspect}/edit/"])
def test_other_pages_showing_case_data_are_audited_as_consultations(
    client, officer, supervisor, suffix
):
    inv = under_investigation_with_records(officer, supervisor)
    actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="charged",
        proposed_nfa_reason="",
        rationale="Charged",
    )
    url = case_url(inv, suffix.format(suspect=inv.suspects.get().pk))
    client.force_login(supervisor)
    assert client.get(url).status_code == 200
    assert AuditEvent.objects.filter(
        investigation_reference=inv.reference,
        action=AuditAction.CONSULTATION,
        actor=supervisor,
    ).exists()


# --- shared users read only --------------------------------------------------------------------


def test_a_shared_user_reads_but_cannot_write(client, officer, supervisor, other_force_officer):
    inv = under_investigation_with_records(officer, supervisor)
    actions.investigation_share(
        inv, actor=supervisor, reason="Relocation", force=other_force_officer.force
    )
    client.force_login(other_force_officer)
    page = client.get(case_url(inv))
    assert page.status_code == 200
    html = page.content.decode()
    for link in ("Change report details", "Add an enquiry", "Record an offence", "Add a suspect"):
        assert link not in html
    version = Investigation.objects.get(pk=inv.pk).version
    for url in write_urls(inv):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"version": version, "title": "x"}).status_code == 403, url
    assert Investigation.objects.get(pk=inv.pk).version == version


def test_a_shared_user_cannot_write_through_the_actions_either(
    people, officer, supervisor, other_force_officer
):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    actions.investigation_share(
        inv, actor=supervisor, reason="Relocation", user=other_force_officer
    )
    inv.refresh_from_db()
    with pytest.raises(NotPermitted):
        actions.investigation_update(
            inv,
            actor=other_force_officer,
            expected_version=inv.version,
            title="Changed by a reader",
            summary=inv.summary,
            source=inv.source,
            location=inv.location,
            exploitation_types=["labour"],
        )
    with pytest.raises(NotPermitted):
        actions.enquiry_add(
            inv, actor=other_force_officer, description="x", substantive=True, owner=officer
        )
    with pytest.raises(NotPermitted):
        actions.investigation_share(
            inv, actor=people["supervisor.wyp"], reason="Onward", user=officer
        )


def test_the_safeguarding_lead_reads_the_case_but_cannot_change_it(
    client, officer, supervisor, safeguarding_lead
):
    inv = under_investigation_with_records(officer, supervisor)
    client.force_login(safeguarding_lead)
    assert client.get(case_url(inv)).status_code == 200
    for url in write_urls(inv):
        expected = 200 if url.endswith("/share/") else 403  # the lead may share a case
        assert client.get(url).status_code == expected, url


# --- what a user may do (the may_* helpers) ----------------------------------------------------

STAGES = ["reported", "recorded", "allocated", "under_investigation", "closure_requested", "closed"]


@pytest.mark.parametrize("stage", STAGES)
def test_capabilities_follow_the_status(officer, supervisor, stage):
    inv = factories.investigation(officer, stage=stage, supervisor=supervisor)
    status = inv.status
    assert status == stage
    open_ = status != Status.CLOSED
    assert access.may_change(officer, inv) == open_
    assert access.may_add_case_records(officer, inv) == open_
    assert access.may_record_crime(officer, inv) == (status == Status.REPORTED)
    allocatable = status in (Status.RECORDED, Status.ALLOCATED, Status.UNDER_INVESTIGATION)
    assert access.may_allocate(supervisor, inv) == allocatable
    assert access.may_allocate(officer, inv) is False
    assert access.may_request_closure(officer, inv) == allocatable
    assert access.may_review_closure(supervisor, inv) == (status == Status.CLOSURE_REQUESTED)
    assert access.may_review_closure(officer, inv) is False
    assert access.may_review(supervisor, inv) == open_
    assert access.may_review(officer, inv) is False
    assert access.may_reopen(supervisor, inv) == (status == Status.CLOSED)
    assert access.may_reopen(officer, inv) is False
    assert access.may_share(supervisor, inv) is True
    assert access.may_share(officer, inv) is False


@pytest.mark.parametrize("persona", ["other_force_officer", "auditor", "force_admin"])
def test_outsiders_may_do_nothing(request, officer, supervisor, persona):
    user = request.getfixturevalue(persona)
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    for check in (
        access.may_change,
        access.may_record_crime,
        access.may_allocate,
        access.may_request_closure,
        access.may_review_closure,
        access.may_review,
        access.may_reopen,
        access.may_share,
        access.may_add_case_records,
    ):
        assert check(user, inv) is False, check.__name__

"""Every URL pattern x every persona x every object relation gives the status in the matrix."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver

from tests.security import world
from tests.security.permission_matrix import ADMIN, MATRIX, PERSONA_USERS, PERSONAS

CODE = {200: "A", 302: "R", 403: "F", 404: "N", 405: "M"}

# Which object's primary key fills <int:pk>, by URL name.
PK_FIELD = {
    "investigations:enquiry-complete": "enquiry",
    "investigations:suspect-edit": "suspect",
    "investigations:offence-outcome": "offence",
    "case-victims:account": "involvement",
    "case-victims:disclosure-new": "involvement",
    "case-victims:custody-new": "involvement",
    "case-victims:disclosure-link": "disclosure",
    "case-victims:custody-s45": "custody",
    "victims:detail": "victim",
    "victims:edit": "victim",
    "safeguarding:plan": "victim",
    "safeguarding:contact-new": "victim",
    "safeguarding:relocation-new": "victim",
    "safeguarding:missing-new": "victim",
    "safeguarding:missing-found": "missing",
    "flags:detail": "flag",
    "referrals:nrm-new": "victim",
    "referrals:ms1-new": "victim",
    "referrals:agency-new": "victim",
    "referrals:nrm-decision": "nrm",
    "referrals:nrm-link": "nrm",
}


def url_patterns(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from url_patterns(entry, prefix + str(entry.pattern), ns)
        else:
            yield f"{namespace}{entry.name}", prefix + str(entry.pattern)


def missing_rows(names, matrix) -> list[str]:
    return sorted(n for n in names if not n.startswith("admin:") and n not in matrix)


def test_every_url_pattern_has_a_row():
    names = [name for name, _ in url_patterns()]
    assert missing_rows(names, MATRIX) == []
    assert not set(MATRIX) - set(names), "rows for URLs that no longer exist"


def test_a_new_url_without_a_row_fails_the_check():
    names = [name for name, _ in url_patterns()] + ["investigations:brand-new-page"]
    assert missing_rows(names, MATRIX) == ["investigations:brand-new-page"]


def _path(name: str, pattern: str, objects: world.CaseObjects | None) -> str:
    path = pattern
    if objects is not None:
        path = path.replace("<ref:reference>", objects.reference)
        if "<int:pk>" in path:
            path = path.replace("<int:pk>", str(getattr(objects, PK_FIELD[name])))
    assert not re.search(r"<[^>]+>", path), f"{name}: no example for {path}"
    return "/" + path


@pytest.mark.django_db
def test_permission_matrix(people):
    cases = world.build(people)
    clients = {}
    for persona in PERSONAS:
        client = Client()
        if PERSONA_USERS[persona]:
            client.force_login(people[PERSONA_USERS[persona]])
        clients[persona] = client
    wrong = []
    checked = 0
    for name, pattern in url_patterns():
        if name.startswith("admin:"):
            if name != "admin:index":
                continue
            expected_row = ADMIN
        else:
            expected_row = MATRIX[name]
        expected = dict(zip(PERSONAS, expected_row.split(), strict=True))
        relations = world.RELATIONS if "<" in pattern else (None,)
        for persona, client in clients.items():
            got = ""
            for relation in relations:
                objects = cases[relation] if relation else None
                status = client.get(_path(name, pattern, objects)).status_code
                got += CODE.get(status, f"[{status}]")
                checked += 1
            if got != expected[persona]:
                wrong.append(f"{name} as {persona}: expected {expected[persona]}, got {got}")
    assert not wrong, "\n".join(wrong)
    assert checked > 800


@pytest.mark.django_db
def test_lists_only_contain_permitted_rows(people):
    cases = world.build(people)
    client = Client()
    client.force_login(people["officer.gmp"])
    html = client.get("/investigations/").content.decode()
    assert cases["own"].reference in html and cases["shared"].reference in html
    assert cases["other_unit"].reference not in html
    assert cases["other_force"].reference not in html
    search = client.get("/investigations/", {"q": "Victim 3"}).content.decode()
    assert cases["other_force"].reference not in search
    client.force_login(people["supervisor.gmp"])
    queue = client.get("/flags/").content.decode()
    assert cases["own"].reference in queue
    for relation in ("other_unit", "other_force", "shared"):
        assert cases[relation].reference not in queue

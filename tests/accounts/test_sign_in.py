import pytest
from django.conf import settings

from slaverycases.audit.models import AuditAction, AuditEvent


@pytest.mark.parametrize(
    ("username", "force", "unit", "role"),
    [
        ("officer.gmp", "Greater Manchester Police", "GMP Modern Slavery Unit", "Officer"),
        ("supervisor.gmp", "Greater Manchester Police", "GMP Modern Slavery Unit", "Supervisor"),
        (
            "safeguarding.gmp",
            "Greater Manchester Police",
            "GMP Modern Slavery Unit",
            "Safeguarding lead",
        ),
        (
            "officer.wyp",
            "West Yorkshire Police",
            "WYP Modern Slavery and Human Trafficking Unit",
            "Officer",
        ),
        (
            "supervisor.wyp",
            "West Yorkshire Police",
            "WYP Modern Slavery and Human Trafficking Unit",
            "Supervisor",
        ),
        (
            "safeguarding.wyp",
            "West Yorkshire Police",
            "WYP Modern Slavery and Human Trafficking Unit",
            "Safeguarding lead",
        ),
        ("auditor", "Greater Manchester Police", "Not set", "Auditor"),
        ("admin", "Greater Manchester Police", "Not set", "Force administrator"),
    ],
)
def test_each_demo_user_signs_in_and_sees_force_unit_and_role(
    client, people, username, force, unit, role
):
    response = client.post(
        "/account/sign-in/",
        {"username": username, "password": settings.DEMO_PASSWORD},
        follow=True,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="user-force">{force}<' in html
    assert f'id="user-unit">{unit}<' in html
    assert f'id="user-role">{role}<' in html
    assert "OFFICIAL-SENSITIVE" in html
    assert AuditEvent.objects.filter(actor_username=username, action=AuditAction.SIGN_IN).exists()


def test_wrong_password_and_unknown_user_get_the_same_message(client, people):
    wrong = client.post("/account/sign-in/", {"username": "officer.gmp", "password": "nope"})
    unknown = client.post("/account/sign-in/", {"username": "nobody.at.all", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 400
    message = "Enter a correct username and password"
    assert message in wrong.content.decode()
    assert message in unknown.content.decode()
    assert "There is a problem" in wrong.content.decode()
    failed = AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED)
    assert set(failed.values_list("actor_username", flat=True)) == {"officer.gmp", "nobody.at.all"}
    assert not any("nope" in str(e.detail) for e in failed)


def test_empty_sign_in_form_names_each_missing_field(client, people):
    response = client.post("/account/sign-in/", {"username": "", "password": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter your username" in html
    assert "Enter your password" in html
    assert "Error: Sign in" in html


def test_sign_out_ends_the_session(client, officer):
    client.force_login(officer)
    assert client.get("/").status_code == 200
    response = client.post("/account/sign-out/")
    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_sign_in_rotates_the_session_key(client, people):
    client.get("/account/sign-in/")
    client.cookies[settings.SESSION_COOKIE_NAME] = "attacker-chosen"
    client.post(
        "/account/sign-in/", {"username": "officer.gmp", "password": settings.DEMO_PASSWORD}
    )
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != "attacker-chosen"

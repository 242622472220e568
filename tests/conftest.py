"""Shared fixtures: the demo personas, and helpers for real worker and browser tests."""

from __future__ import annotations

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM must still be
# callable from the test itself (tests only, never in the app).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed: .ci/run should have installed it")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


@pytest.fixture
def people(db):
    """The demo forces, units and users (officer.gmp, supervisor.gmp, ... auditor, admin)."""
    from slaverycases.accounts.demo import seed_people

    return seed_people()


@pytest.fixture
def officer(people):
    return people["officer.gmp"]


@pytest.fixture
def supervisor(people):
    return people["supervisor.gmp"]


@pytest.fixture
def safeguarding_lead(people):
    return people["safeguarding.gmp"]


@pytest.fixture
def other_force_officer(people):
    return people["officer.wyp"]


@pytest.fixture
def auditor(people):
    return people["auditor"]


@pytest.fixture
def force_admin(people):
    return people["admin"]

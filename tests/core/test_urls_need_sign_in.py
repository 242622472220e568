"""Every URL of the site sends an anonymous user to sign in (except the few that must not)."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC = {"accounts:sign-in", "core:healthz"}


def _all_patterns(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from _all_patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", prefix + str(entry.pattern)


def _example_path(pattern: str) -> str:
    path = pattern.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
    path = re.sub(r"<int:[^>]+>", "1", path)
    path = re.sub(r"<path:[^>]+>", "x/y", path)
    path = re.sub(r"<[^>]+>", "GMP-2026-000001", path)
    path = re.sub(r"\(\?P<[^>]+>[^)]*\)", "1", path)
    path = re.sub(r"[()?*+]", "", path)
    return "/" + path


@pytest.mark.django_db
def test_every_url_sends_anonymous_users_to_sign_in(client):
    checked = 0
    for name, pattern in _all_patterns():
        if name in PUBLIC:
            continue
        path = _example_path(pattern)
        response = client.get(path)
        assert response.status_code == 302, f"{name} ({path}) answered {response.status_code}"
        assert (
            response["Location"].startswith("/account/sign-in/")
            or "/login/" in response["Location"]
        ), f"{name} ({path}) redirected to {response['Location']}"
        checked += 1
    assert checked > 10


@pytest.mark.django_db
def test_sign_in_and_healthz_are_public(client):
    assert client.get("/account/sign-in/").status_code == 200
    assert client.get("/healthz").status_code in (200, 503)

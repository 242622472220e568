"""Server-side session limits: 15 minutes idle, 10 hours absolute."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen"
LAST_SEEN_GRANULARITY = 60  # seconds


def stamp_sign_in(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    """The absolute limit counts from this sign-in (the session key was just rotated)."""
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SIGNED_IN_AT] = now
        request.session[LAST_SEEN] = now


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            session = request.session
            signed_in = session.setdefault(SIGNED_IN_AT, now)
            last = session.get(LAST_SEEN, now)
            reason = ""
            if now - last > settings.SESSION_IDLE_SECONDS:
                minutes = settings.SESSION_IDLE_SECONDS // 60
                reason = f"You were signed out after {minutes} minutes without activity."
            elif now - signed_in > settings.SESSION_ABSOLUTE_SECONDS:
                hours = settings.SESSION_ABSOLUTE_SECONDS // 3600
                reason = f"You were signed out because you had been signed in for {hours} hours."
            if reason:
                logout(request)  # flushes the session on the server
                messages.info(request, reason + " Sign in again to continue.")
                return redirect(settings.LOGIN_URL)
            if now - last >= LAST_SEEN_GRANULARITY or LAST_SEEN not in session:
                # Written at most once a minute: a page view then costs no session write.
                # The idle limit counts from the last write, so it can end a session up to a
                # minute early, never late.
                session[LAST_SEEN] = now
        return self.get_response(request)

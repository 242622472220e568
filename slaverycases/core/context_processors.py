from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from slaverycases.core.navigation import navigation_for


def service(request: HttpRequest) -> dict[str, Any]:
    return {
        "service_name": settings.SERVICE_NAME,
        "protective_marking": settings.PROTECTIVE_MARKING,
        "nav_items": navigation_for(request),
        "idle_seconds": settings.SESSION_IDLE_SECONDS,
    }

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from slaverycases.audit.context import RequestMeta, current_request_meta


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: behind a proxy, the proxy must set it (gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request_meta.set(
            RequestMeta(
                ip_address=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            )
        )
        try:
            return self.get_response(request)
        finally:
            current_request_meta.reset(token)

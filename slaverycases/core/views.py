from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from slaverycases.audit.actions import audit_record
from slaverycases.audit.models import AuditAction
from slaverycases.core.health import check_broker, check_database


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(request, "core/home.html", {"roles": user.role_labels})


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    result = {"database": check_database(), "broker": check_broker()}
    ok = all(value == "ok" for value in result.values())
    return JsonResponse(result, status=200 if ok else 503)


def _record_denial(request: HttpRequest, status: int) -> None:
    """A refused or hidden page is a security event (ASVS 7.x, DPA s62 evidence of probing)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        audit_record(
            actor=user,
            action=AuditAction.ACCESS_DENIED,
            detail={"path": request.path[:300], "method": request.method, "status": status},
        )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else ""
    _record_denial(request, 403)
    return render(request, "403.html", {"exception_message": message}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    _record_denial(request, 404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors that touch the database: the database may be the thing that failed.
    from django.template import loader

    template = loader.get_template("500.html")
    return HttpResponse(
        template.render(
            {"service_name": "slaverycases", "protective_marking": "OFFICIAL-SENSITIVE"}
        ),
        status=500,
    )

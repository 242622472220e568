"""The shape every action page shares: show the form; on a valid POST run the action in its
transaction; turn a domain refusal into a message on the form (400), a stale edit into 409,
a NotPermitted into 403; on success redirect with a success banner. A page that shows a record
(the case, the victim) is a consultation each time it shows it: on a GET, and when a refused
POST shows the form again with the record (DPA 2018 s62)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from slaverycases.core.errors import DomainError, NotPermitted, StaleEdit

STALE_FORM = (
    "Someone else changed this record while you were working on it. Their change has been "
    "kept and yours is not saved yet. Check the record as it is now; to keep your change, "
    "save this form again."
)


def action_form_page(
    request: HttpRequest,
    *,
    form_class: type[forms.Form],
    perform: Callable[[dict[str, Any]], Any],
    success_url: str | Callable[[Any], str],
    success_message: str,
    template: str,
    context: dict[str, Any],
    initial: dict[str, Any] | None = None,
    form_kwargs: dict[str, Any] | None = None,
    consulted: Callable[[], Any] | None = None,
) -> HttpResponse:
    """`consulted` records the consultation; it is called whenever the page is shown, not when
    the action succeeds (the action records its own write)."""
    kwargs = form_kwargs or {}
    status = 200
    if request.method == "POST":
        form = form_class(request.POST, **kwargs)
        if form.is_valid():
            try:
                result = perform(form.cleaned_data)
            except StaleEdit:
                form = _at_current_version(form_class, request, kwargs, initial)
                status = 409
            except NotPermitted as exc:
                raise PermissionDenied(str(exc)) from exc
            except DomainError as exc:
                form.add_error(None, str(exc))
                status = 400
            else:
                messages.success(request, success_message)
                url = success_url(result) if callable(success_url) else success_url
                return redirect(url)
        else:
            status = 400
    else:
        form = form_class(initial=initial or {}, **kwargs)
    if consulted is not None:
        consulted()
    return render(request, template, {"form": form, **context}, status=status)


def _at_current_version(
    form_class: type[forms.Form],
    request: HttpRequest,
    kwargs: dict[str, Any],
    initial: dict[str, Any] | None,
) -> forms.Form:
    """The refused form again, with what the user typed and the version the record has now
    (read by this request, in `initial`): saving it once more is a decision made knowing of
    the other change, where the old version would be refused for ever."""
    data = request.POST.copy()
    version = (initial or {}).get("version")
    if version is not None:
        data["version"] = str(version)
    form = form_class(data, **kwargs)
    form.is_valid()
    form.add_error(None, STALE_FORM)
    return form

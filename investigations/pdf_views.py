"""Case summary printing: the form that asks who the summary is for and why, which posts back
and gets the PDF, and the PDF's address, which leads to the form. Both need the case to be
visible to the user (404 otherwise, as for the case page) and the print permission (403). The
PDF is rendered and the disclosure recorded by investigations.pdf.investigation_print."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from investigations import access
from investigations import actions as case_actions
from investigations.models import Investigation
from investigations.pdf import Variant, investigation_print, may_print
from slaverycases.accounts.twofactor import step_up
from slaverycases.core.errors import DomainError, NotPermitted
from slaverycases.core.forms import GovukForm


class PrintForm(GovukForm):
    variant = forms.ChoiceField(
        label="Which version do you need?",
        choices=Variant.choices,
        widget=forms.RadioSelect,
        help_text="The redacted version names victims only by their label on the case (Victim "
        "A, Victim B) and leaves out their dates of birth, addresses and phone numbers.",
        error_messages={"required": "Select the full or the redacted case summary"},
    )
    recipient = forms.CharField(
        label="Who is it for?",
        max_length=200,
        help_text="The person or organisation you will give it to, for example CPS North West "
        "Complex Casework Unit",
        error_messages={
            "required": "Enter who the case summary is for",
            "max_length": "Who the case summary is for must be 200 characters or fewer",
        },
    )
    justification = forms.CharField(
        label="Why do they need it?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="This is recorded in the audit log as the reason for the disclosure.",
        error_messages={
            "required": "Enter why they need the case summary",
            "max_length": "Why they need the case summary must be 2000 characters or fewer",
        },
    )

    def clean_recipient(self) -> str:
        value = self.cleaned_data["recipient"].strip()
        if not value:
            raise forms.ValidationError("Enter who the case summary is for")
        return value

    def clean_justification(self) -> str:
        value = self.cleaned_data["justification"].strip()
        if not value:
            raise forms.ValidationError("Enter why they need the case summary")
        return value


def _printable_case(request: HttpRequest, reference: str) -> Investigation:
    investigation = access.get_investigation_for_user(
        request.user,
        reference,
        queryset=Investigation.objects.select_related("unit", "force", "oic", "supervisor"),
    )
    if not may_print(request.user, investigation):
        raise PermissionDenied("Your role cannot print case summaries.")
    return investigation


def _pdf_response(
    request: HttpRequest, investigation: Investigation, data: dict[str, Any]
) -> HttpResponse:
    try:
        pdf = investigation_print(
            investigation,
            actor=request.user,
            variant=data["variant"],
            recipient=data["recipient"],
            justification=data["justification"],
        )
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    suffix = "-redacted" if data["variant"] == Variant.REDACTED else ""
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{investigation.reference}-case-summary{suffix}.pdf"'
    )
    return response


@require_http_methods(["GET", "POST"])
@step_up
def print_form(request: HttpRequest, reference: str) -> HttpResponse:
    """GET: the form (a variant or recipient sent back from the PDF URL is kept). POST: the
    PDF itself, so that the reason for the disclosure never travels in a URL."""
    investigation = _printable_case(request, reference)
    status = 200
    if request.method == "POST":
        form = PrintForm(request.POST)
        if form.is_valid():
            try:
                return _pdf_response(request, investigation, form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, str(exc))
        status = 400
    else:
        initial = {
            name: request.GET[name]
            for name in ("variant", "recipient")
            if request.GET.get(name) and (name != "variant" or request.GET[name] in Variant.values)
        }
        form = PrintForm(initial=initial)
    # The form shows the case (its reference and title): a consultation, as the case page is.
    case_actions.investigation_consulted(investigation, actor=request.user, what="Print form")
    detail_url = reverse("investigations:detail", args=[investigation.reference])
    return render(
        request,
        "investigations/print_form.html",
        {
            "form": form,
            "investigation": investigation,
            "title": "Print a case summary",
            "submit": "Print the case summary",
            "cancel_url": detail_url,
        },
        status=status,
    )


@require_GET
def summary_pdf(request: HttpRequest, reference: str) -> HttpResponse:
    """An address for the PDF that other systems may link to: it leads to the form, keeping the
    version and the recipient, and never prints. A GET changes nothing (printing records a
    disclosure), and the reason for a disclosure never travels in a URL, where proxies and
    browser history keep it: the form posts it."""
    investigation = _printable_case(request, reference)
    keep = {}
    if request.headers.get("Sec-Fetch-Site") != "cross-site":
        keep = {
            name: request.GET[name]
            for name in ("variant", "recipient")
            if request.GET.get(name) and (name != "variant" or request.GET[name] in Variant.values)
        }
    messages.info(
        request,
        "Say who the case summary is for and why they need it: printing it is recorded as a "
        "disclosure.",
    )
    url = reverse("investigations:print", args=[investigation.reference])
    return redirect(f"{url}?{urlencode(keep)}" if keep else url)

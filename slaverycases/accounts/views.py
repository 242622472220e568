from __future__ import annotations

import base64
import time

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from slaverycases.accounts import twofactor
from slaverycases.accounts.forms import SignInForm, TokenForm
from slaverycases.accounts.middleware import LAST_SEEN


@method_decorator(login_not_required, name="dispatch")
class SignInView(auth_views.LoginView):
    template_name = "registration/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_invalid(self, form: SignInForm) -> HttpResponse:
        """A refused sign-in is a 400, as every other form the service refuses."""
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class SignOutView(auth_views.LogoutView):
    template_name = "registration/signed_out.html"


@require_POST
def keep_alive(request: HttpRequest) -> HttpResponse:
    """The idle-timeout warning's "Stay signed in" button: any request resets the idle clock
    (SessionTimeoutMiddleware, at most once a minute); this one always restarts it."""
    request.session[LAST_SEEN] = time.time()
    return HttpResponse(status=204)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return "/"
    return target


def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """First sign-in: add an authenticator app, confirm it with a code, get recovery codes."""
    if twofactor.confirmed_device(request.user) is not None:
        return redirect("accounts:two-factor")
    device = twofactor.device_for_enrolment(request.user)
    form = TokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            codes = twofactor.enrolment_confirm(request, device, form.cleaned_data["token"])
            if codes is not None:
                return render(
                    request,
                    "registration/recovery_codes.html",
                    {"codes": codes, "next": _next_url(request)},
                )
            form.add_error("token", "The security code is not right: enter the current code")
        status = 400
    key = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "key": " ".join(key[i : i + 4] for i in range(0, len(key), 4)),
            "config_url": device.config_url,
            "next": _next_url(request),
        },
        status=status,
    )


def two_factor_verify(request: HttpRequest) -> HttpResponse:
    if twofactor.confirmed_device(request.user) is None:
        return redirect("accounts:two-factor-setup")
    form = TokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and twofactor.verify(request, form.cleaned_data["token"]):
            return redirect(_next_url(request))
        if form.is_valid():
            form.add_error("token", "The security code is not right: enter the current code")
        status = 400
    return render(
        request,
        "registration/two_factor_verify.html",
        {"form": form, "next": _next_url(request), "step_up": request.GET.get("step_up")},
        status=status,
    )

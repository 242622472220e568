from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from slaverycases.accounts.forms import SignInForm


@method_decorator(login_not_required, name="dispatch")
class SignInView(auth_views.LoginView):
    template_name = "registration/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    template_name = "registration/signed_out.html"


@require_POST
def keep_alive(request: HttpRequest) -> HttpResponse:
    """The idle-timeout warning's "Stay signed in" button: any request resets the idle clock
    (SessionTimeoutMiddleware); this one just answers."""
    return HttpResponse(status=204)

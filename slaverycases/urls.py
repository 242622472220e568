from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path

# One way in: the admin uses the service's sign-in page (and so its lockout and audit).
admin.site.login = login_required(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "slaverycases administration"
admin.site.site_title = "slaverycases administration"

urlpatterns = [
    path("", include("slaverycases.core.urls")),
    path("account/", include("slaverycases.accounts.urls")),
    path("audit/", include("slaverycases.audit.urls")),
    path("investigations/", include("investigations.urls")),
    path("investigations/<ref:reference>/", include("victims.case_urls")),
    path("victims/", include("victims.urls")),
    path("safeguarding/", include("safeguarding.urls")),
    path("flags/", include("slaverycases.flags.urls")),
    path("referrals/", include("referrals.urls")),
    path("retention/", include("investigations.retention_urls")),
    path("", include("slaverycases.dashboards.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "slaverycases.core.views.permission_denied"
handler404 = "slaverycases.core.views.page_not_found"
handler500 = "slaverycases.core.views.server_error"

"""The navigation a signed-in user sees, by role. Only links to pages that exist."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from slaverycases.accounts import roles

BADGE_CAP = 99  # the navigation's count of open flags reads "99+" beyond this


def navigation_for(request: HttpRequest) -> list[dict[str, Any]]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    items: list[tuple[str, str]] = [("Home", reverse("core:home"))]
    if user.role_names:
        items.append(("Dashboard", reverse("dashboards:dashboard")))
    if user.has_perm("investigations.view_investigation"):
        items.append(("Investigations", reverse("investigations:list")))
    flag_count = ""
    if user.has_role(roles.SUPERVISOR, roles.SAFEGUARDING_LEAD):
        from slaverycases.flags.querysets import queue_for

        # Counted up to the cap only: every page shows the badge, and a unit can have 15,000
        # active flags (the queue page itself gives the full number).
        flags = queue_for(user)[: BADGE_CAP + 1].count()
        flag_count = f"{BADGE_CAP}+" if flags > BADGE_CAP else str(flags or "")
        items.append(("Flags", reverse("flags:queue")))
    if user.has_role(roles.SAFEGUARDING_LEAD, roles.SUPERVISOR):
        items.append(("Safeguarding", reverse("safeguarding:board")))
    if user.has_perm("referrals.add_nrmreferral"):
        items.append(("Referrals", reverse("referrals:list")))
    if user.has_role(roles.SUPERVISOR, roles.SAFEGUARDING_LEAD, roles.FORCE_ADMIN):
        items.append(("Statistics", reverse("dashboards:statistics")))
    if user.has_perm("investigations.review_retention") and user.force_id:
        items.append(("Retention", reverse("retention:list")))
    if user.has_role(roles.AUDITOR):
        items.append(("Audit log", reverse("audit:list")))
    if user.is_staff:
        items.append(("Administration", reverse("admin:index")))
    path = request.path
    result = []
    for label, url in items:
        active = path == url if url == "/" else path.startswith(url)
        count = flag_count if label == "Flags" else ""
        result.append({"label": label, "url": url, "active": active, "count": count})
    return result

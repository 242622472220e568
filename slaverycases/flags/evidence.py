"""A flag's evidence in words, for the queue, the case page and the PDF."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from investigations.models import OffenceType
from slaverycases.flags.models import Flag, FlagKind
from slaverycases.flags.rules import PREMATURE_CONDITIONS


def _when(value: str | None) -> date | None:
    if not value:
        return None
    parsed: datetime | date | None = parse_datetime(value)
    if isinstance(parsed, datetime):
        return timezone.localtime(parsed).date() if timezone.is_aware(parsed) else parsed.date()
    return parse_date(value)


def _ago(value: str | None, today: date) -> str:
    day = _when(value)
    if day is None:
        return "at an unknown date"
    days = (today - day).days
    return f"{days} day{'s' if days != 1 else ''} ago ({day:%-d %b %Y})"


def describe(flag: Flag, today: date | None = None) -> str:
    today = today or timezone.localdate()
    ev: dict[str, Any] = flag.evidence or {}
    kind = flag.kind
    if kind == FlagKind.DELAYED_START:
        basis = "Crime recorded" if ev.get("basis") == "recorded" else "Reported"
        missing = []
        if ev.get("no_substantive_action"):
            missing.append("no substantive enquiry")
        if ev.get("no_officer_in_charge"):
            missing.append("no officer in charge")
        return f"{basis} {_ago(ev.get('since'), today)}; {' and '.join(missing)}"
    if kind == FlagKind.PREMATURE_CLOSURE:
        verb = "Closed" if ev.get("status") == "closed" else "Closure requested"
        reasons = [
            PREMATURE_CONDITIONS[c].format(days=ev.get("window_days", 14))
            for c in ev.get("failed", [])
            if c in PREMATURE_CONDITIONS
        ]
        return f"{verb} {_ago(ev.get('closed_or_requested_at'), today)} although " + "; ".join(
            reasons
        )
    if kind == FlagKind.UNRECORDED_LINKED_OFFENCE:
        if ev.get("sexual_exploitation_no_sexual_offence"):
            return "Sexual exploitation case with no sexual offence recorded"
        labels = dict(OffenceType.choices)
        types = ", ".join(labels.get(t, t).lower() for t in ev.get("types", []))
        count = ev.get("disclosures", 1)
        return (
            f"{count} disclosure{'s' if count != 1 else ''} ({types}) with no offence recorded "
            f"for this victim after {ev.get('hours', 24)} hours; latest disclosed "
            f"{_ago(ev.get('latest_disclosed_at'), today)}"
        )
    if kind == FlagKind.VICTIM_CONTACT_OVERDUE:
        if ev.get("next_contact_due"):
            text = f"Next contact was due {_ago(ev['next_contact_due'], today)}"
        else:
            text = "Safeguarding plan set but no contact recorded"
        last = ev.get("last_contact_at")
        return text + (f"; last contact {_ago(last, today)}" if last else "; never contacted")
    if kind == FlagKind.RELOCATED_VICTIM_NO_CONTACT:
        return (
            f"Relocated to {ev.get('to_force', 'another force')} "
            f"{_ago(ev.get('relocated_on'), today)}; no contact since (agreed within "
            f"{ev.get('within_days')} days)"
        )
    if kind == FlagKind.VICTIM_CRIMINALISED:
        return (
            f"Victim arrested or charged {_ago(ev.get('latest_at'), today)} with no section 45 "
            "or non-punishment consideration recorded"
        )
    if kind == FlagKind.SUPERVISION_OVERDUE:
        if ev.get("last_review_at"):
            text = f"Last supervisory review {_ago(ev['last_review_at'], today)}"
        else:
            text = f"No supervisory review since allocation {_ago(ev.get('allocated_at'), today)}"
        if ev.get("next_review_due"):
            text += f"; next review was due {_ago(ev['next_review_due'], today)}"
        return text
    if kind == FlagKind.NRM_NOT_CONSIDERED:
        return (
            f"Victim identified {_ago(ev.get('identified_at'), today)} with neither an NRM "
            "referral nor an MS1 notification"
        )
    if kind == FlagKind.NRM_DECISION_OVERDUE:
        return (
            f"NRM referral submitted {_ago(ev.get('submitted_at'), today)} with no reasonable "
            "grounds decision"
        )
    return flag.get_kind_display()

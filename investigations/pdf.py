"""Case summary PDFs: the whole case on paper, full or redacted, rendered with WeasyPrint.

- `investigation_print(...)`: the action. Printing is a disclosure (DPA 2018 s62): it renders
  the PDF and records the disclosure (audit row with recipient, justification and variant)
  and a timeline event, all in one transaction. No PDF leaves without its audit row.
- `render_case_summary(...)`: the rendering, with no writes (the benchmark and tests use it).
- `static_only_fetcher()`: the only way WeasyPrint can load anything. It serves our bundled
  static files (the stylesheet) and refuses every other URL (file://, http://, data:, ...).

The redacted variant replaces each victim's name by their label on the case ("Victim A")
everywhere, free text included, and drops dates of birth, addresses and phone numbers.
See docs/decisions/0003-pdf.md.
"""

from __future__ import annotations

import functools
import logging
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ObjectDoesNotExist
from django.db import models, transaction
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import timezone

from investigations import access
from investigations.actions import record_on_case
from investigations.models import Investigation, TimelineKind
from slaverycases.audit.models import AuditAction
from slaverycases.core.errors import DomainError, NotPermitted

if TYPE_CHECKING:
    from weasyprint.document import Document

    from slaverycases.accounts.models import User
    from victims.models import Victim

TEMPLATE = "investigations/summary_pdf.html"
PRINT_PERMISSION = "investigations.print_investigation"


class Variant(models.TextChoices):
    FULL = "full", "Full case summary"
    REDACTED = "redacted", "Redacted case summary"


# --- access -------------------------------------------------------------------------------


def may_print(user: User, investigation: Investigation) -> bool:
    """Anyone who may see the case (access.py) and whose role may print case summaries."""
    return user.has_perm(PRINT_PERMISSION) and access.may_view(user, investigation)


# --- the action ---------------------------------------------------------------------------


def investigation_print(
    investigation: Investigation,
    *,
    actor: User,
    variant: str,
    recipient: str,
    justification: str,
) -> bytes:
    """Render the case summary for `recipient` and record the disclosure (audit row and
    timeline event) in the same transaction: if either fails, nothing is recorded and no PDF
    is returned."""
    recipient, justification = recipient.strip(), justification.strip()
    if variant not in Variant.values:
        raise DomainError("Select whether you need the full or the redacted case summary.")
    if not recipient:
        raise DomainError("Enter who the case summary is for.")
    if not justification:
        raise DomainError("Enter why they need the case summary.")
    if not may_print(actor, investigation):
        raise NotPermitted("Your role cannot print case summaries of this investigation.")
    label = Variant(variant).label.lower()
    with transaction.atomic():
        now = timezone.now()
        document = _render_document(
            investigation, user=actor, variant=variant, recipient=recipient, generated_at=now
        )
        pdf = document.write_pdf(pdf_tags=True)
        # record_on_case writes the timeline event and, through audit_record, the one audit
        # row of this print: a disclosure naming the recipient, the reason and the variant.
        record_on_case(
            investigation,
            actor=actor,
            kind=TimelineKind.PRINTED,
            text=f"{label[:1].upper()}{label[1:]} printed for {recipient}",
            action=AuditAction.DISCLOSURE,
            obj=investigation,
            recipient=recipient,
            justification=justification,
            detail={"variant": variant, "pages": len(document.pages)},
            at=now,
        )
    return pdf


# --- rendering ----------------------------------------------------------------------------

# WeasyPrint resolves the template's relative URLs against this base. The host is in the
# reserved .invalid domain, so nothing could ever be fetched from it over the network; the
# fetcher below maps it to our static files and refuses everything else.
STATIC_BASE_URL = f"https://pdf.invalid{settings.STATIC_URL}"


@functools.cache
def _weasyprint() -> Any:
    """WeasyPrint, imported on first use: the import takes about 0.4 s, which no web worker,
    Celery worker or management command should pay until it renders a PDF. Its per-step
    progress messages are INFO; only its warnings (a refused URL, say) reach the log."""
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    import weasyprint

    return weasyprint


@functools.cache
def _fetcher_class() -> type:
    _weasyprint()
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves files under STATIC_ROOT and STATICFILES_DIRS (found by the staticfiles
        finders) and refuses every other URL, so that nothing in a case (a note holding
        `<img src="file:///etc/passwd">`, were it ever unescaped) can make the renderer read a
        local file or call a server."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=False)

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            path = static_file_for(url)
            if path is None:
                raise ValueError(f"Refused to fetch {url[:80]!r}: only bundled static files")
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(
                url, body=path.read_bytes(), headers={"Content-Type": content_type}
            )

    return StaticOnlyFetcher


def static_only_fetcher() -> Any:
    """A WeasyPrint URL fetcher that serves our bundled static files and nothing else."""
    return _fetcher_class()()


def _static_roots() -> list[Path]:
    roots = [Path(settings.STATIC_ROOT)] if settings.STATIC_ROOT else []
    for entry in settings.STATICFILES_DIRS:
        roots.append(Path(entry[1] if isinstance(entry, (tuple, list)) else entry))
    return [root.resolve() for root in roots]


def static_file_for(url: str) -> Path | None:
    """The bundled static file a URL names, or None when the URL is anything else."""
    if not url.startswith(STATIC_BASE_URL):
        return None
    parts = urlsplit(url)
    name = unquote(parts.path[len(urlsplit(STATIC_BASE_URL).path) :])
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        return None
    if any(segment in ("", ".", "..") for segment in name.split("/")):
        return None
    candidates = [finders.find(name)]
    if settings.STATIC_ROOT:
        candidates.append(str(Path(settings.STATIC_ROOT) / name))
    roots = _static_roots()
    for candidate in candidates:
        if not candidate or not isinstance(candidate, str):
            continue
        path = Path(candidate).resolve()
        if path.is_file() and any(path.is_relative_to(root) for root in roots):
            return path
    return None


def render_case_summary(
    investigation: Investigation,
    *,
    user: User,
    variant: str,
    recipient: str,
    generated_at: datetime | None = None,
) -> bytes:
    """The PDF bytes. Reads only: the caller records the disclosure (investigation_print)."""
    return _render_document(
        investigation,
        user=user,
        variant=variant,
        recipient=recipient,
        generated_at=generated_at or timezone.now(),
    ).write_pdf(pdf_tags=True)


def _render_document(
    investigation: Investigation,
    *,
    user: User,
    variant: str,
    recipient: str,
    generated_at: datetime,
) -> Document:
    context = summary_context(
        investigation, user=user, variant=variant, recipient=recipient, generated_at=generated_at
    )
    html = render_to_string(TEMPLATE, context)
    html_document = _weasyprint().HTML(
        string=html, base_url=STATIC_BASE_URL, url_fetcher=static_only_fetcher()
    )
    return html_document.render()


# --- redaction ----------------------------------------------------------------------------

NAME_TOKEN_MIN = 2
_NAME_PARTS = re.compile(r"[\s,;/()\-]+")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)


def _bounded(text: str) -> str:
    return rf"(?<!\w){re.escape(text)}(?!\w)"


@dataclass
class Redactor:
    """Replaces victims' identifying strings in free text. The identity in the full variant.

    Full names, aliases and addresses match case-insensitively; single name parts ("Andrei",
    "Ionescu") match as written (capitalised or upper case), so that a name that is also an
    ordinary word ("May", "Hope") is not redacted inside a sentence. A name part two victims
    share becomes "[name redacted]". Longer strings are replaced first. The names of the
    staff on the case (`protect`) are kept whole, so that an officer who shares a surname with
    a victim is not renamed in "Allocated to Priya Shah".
    """

    active: bool = False
    _loose: re.Pattern[str] | None = None
    _strict: re.Pattern[str] | None = None
    _protected: re.Pattern[str] | None = None
    _replacements: dict[str, str] = field(default_factory=dict)
    _labels: list[str] = field(default_factory=list)

    @classmethod
    def for_victims(
        cls,
        victims: Iterable[tuple[Victim, str]],
        *,
        active: bool,
        protect: Iterable[str] = (),
    ) -> Redactor:
        redactor = cls(active=active)
        if not active:
            return redactor
        loose: dict[str, str] = {}
        tokens: dict[str, set[str]] = {}
        for victim, label in victims:
            redactor._labels.append(label)
            names = [victim.name, *(victim.aliases or "").split(",")]
            for name in (n.strip() for n in names):
                if not name:
                    continue
                loose[name.lower()] = label
                for part in _NAME_PARTS.split(name):
                    if len(part) >= NAME_TOKEN_MIN and any(ch.isalpha() for ch in part):
                        for form in {part, part[:1].upper() + part[1:], part.upper()}:
                            tokens.setdefault(form, set()).add(label)
            if victim.phone and len(victim.phone.strip()) >= 5:
                phone = victim.phone.strip()
                loose[phone.lower()] = "[phone number redacted]"
                loose[re.sub(r"\s+", "", phone).lower()] = "[phone number redacted]"
            if victim.address and len(victim.address.strip()) >= 5:
                address = victim.address.strip()
                loose[address.lower()] = "[address redacted]"
                first_line = address.split(",")[0].strip()
                if len(first_line) >= 6 and any(ch.isdigit() for ch in first_line):
                    loose[first_line.lower()] = "[address redacted]"
                for postcode in _POSTCODE.findall(address):
                    loose[postcode.lower()] = "[address redacted]"
            if victim.date_of_birth:
                dob = victim.date_of_birth
                for form in (
                    f"{dob.day} {dob:%B %Y}",
                    f"{dob.day} {dob:%b %Y}",
                    f"{dob:%d/%m/%Y}",
                    f"{dob.day}/{dob.month}/{dob:%Y}",
                    f"{dob:%d.%m.%Y}",
                    dob.isoformat(),
                ):
                    loose[form.lower()] = "[date of birth redacted]"
        redactor._replacements = loose
        if loose:
            alternatives = sorted(loose, key=len, reverse=True)
            redactor._loose = re.compile("|".join(_bounded(a) for a in alternatives), re.IGNORECASE)
        strict = {
            token: (next(iter(labels)) if len(labels) == 1 else "[name redacted]")
            for token, labels in tokens.items()
        }
        redactor._replacements.update({f"\x00{t}": label for t, label in strict.items()})
        if strict:
            alternatives = sorted(strict, key=len, reverse=True)
            redactor._strict = re.compile("|".join(_bounded(a) for a in alternatives))
        staff = {p.strip() for p in protect if p and p.strip()}
        staff = {p for p in staff if p.lower() not in loose}
        if staff:
            alternatives = sorted(staff, key=len, reverse=True)
            redactor._protected = re.compile("|".join(_bounded(p) for p in alternatives))
        return redactor

    def __call__(self, text: Any) -> str:
        if text is None:
            return ""
        text = str(text)
        if not self.active or not text:
            return text
        if self._loose is not None:
            text = self._loose.sub(
                lambda m: self._replacements.get(m[0].lower(), "[redacted]"), text
            )
        if self._strict is not None:
            kept: list[str] = []
            if self._protected is not None:

                def keep(match: re.Match[str]) -> str:
                    kept.append(match[0])
                    return f"\x01{len(kept) - 1}\x01"

                text = self._protected.sub(keep, text)
            text = self._strict.sub(
                lambda m: self._replacements.get("\x00" + m[0], "[name redacted]"), text
            )
            text = re.sub(r"\x01(\d+)\x01", lambda m: kept[int(m[1])], text)
        for label in self._labels:  # "Victim A (Andrei Ionescu)" became "Victim A (Victim A)"
            text = text.replace(f"{label} ({label})", label)
        return text


# --- what the template shows --------------------------------------------------------------


def _plan_of(victim: Victim) -> Any:
    try:
        return victim.safeguarding_plan
    except ObjectDoesNotExist:
        return None


def _age_text(victim: Victim, *, redacted: bool) -> str:
    age = victim.age_on(timezone.localdate())
    if victim.date_of_birth and age is not None:
        return f"Aged {age}" if redacted else f"Aged {age} (born {victim.date_of_birth:%-d %B %Y})"
    if victim.estimated_age is not None:
        return f"Aged about {victim.estimated_age} (estimated)"
    return "Age not known"


def _model(app_label: str, name: str) -> Any:
    """A model of another app, or None while that app does not have it. The PDF shows NRM
    referrals and flags only when the referrals and flags apps provide them."""
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def _day(value: date | None) -> str:
    return f"{value:%-d %b %Y}" if value else ""


def _referral_lines(user: User, victim_ids: list[int]) -> dict[int, list[str]] | None:
    """victim id -> the victim's NRM referrals and Duty to Notify (MS1) notifications in words,
    as on the victim's page: in full those made on cases the user may see, of the others only
    the NRM status (referrals.access.referrals_seen); None without the referrals app."""
    if not apps.is_installed("referrals"):
        return None
    from referrals.access import referrals_seen, visible_case_ids

    lines: dict[int, list[str]] = {}
    seen = referrals_seen(victim_ids, visible_case_ids(user, victim_ids))
    for victim_id, referrals in seen.items():
        texts = lines.setdefault(victim_id, [])
        for r in referrals.nrm:
            text = (
                f"NRM referral submitted {_day(r.submitted_on)} by "
                f"{r.first_responder_organisation} "
                + ("as a child" if r.referred_as_child else "with consent")
                + f"; reasonable grounds: {r.get_rg_decision_display().lower()}"
            )
            if r.rg_decision_on:
                text += f" ({_day(r.rg_decision_on)})"
            if r.recovery_period_ends:
                text += f"; recovery period ends {_day(r.recovery_period_ends)}"
            text += f"; conclusive grounds: {r.get_cg_decision_display().lower()}"
            if r.cg_decision_on:
                text += f" ({_day(r.cg_decision_on)})"
            texts.append(text)
        for status in referrals.nrm_elsewhere:
            texts.append(
                f"NRM referral submitted {_day(status.submitted_on)} on another investigation; "
                f"reasonable grounds: {status.rg_decision.lower()}; "
                f"conclusive grounds: {status.cg_decision.lower()}"
            )
        for m in referrals.ms1:
            anonymous = "" if m.consent_to_be_identified else " (anonymous)"
            texts.append(
                f"Declined the NRM: Duty to Notify (MS1) submitted {_day(m.submitted_on)}"
                f"{anonymous}"
            )
        for submitted_on in referrals.ms1_elsewhere:
            texts.append(
                f"Duty to Notify (MS1) submitted {_day(submitted_on)} on another investigation"
            )
    return lines


def _open_flags(
    investigation: Investigation, labels: dict[int, str], redact: Redactor
) -> list[dict[str, Any]] | None:
    """The case's open and acknowledged flags with their evidence in words; None without the
    flags app."""
    flag_model = _model("flags", "Flag")
    if flag_model is None:
        return None
    from slaverycases.flags.evidence import describe
    from slaverycases.flags.models import ACTIVE_STATUSES

    today = timezone.localdate()
    return [
        {
            "kind": flag.get_kind_display(),
            "severity": flag.get_severity_display(),
            "status": flag.get_status_display(),
            "raised_at": flag.raised_at,
            "victim": labels.get(flag.victim_id, "") if flag.victim_id else "",
            "evidence": redact(describe(flag, today)),
        }
        for flag in flag_model.objects.filter(
            investigation=investigation, status__in=ACTIVE_STATUSES
        )
    ]


def summary_context(
    investigation: Investigation,
    *,
    user: User,
    variant: str,
    recipient: str,
    generated_at: datetime,
) -> dict[str, Any]:
    from safeguarding.models import Contact
    from victims.access import may_see_sensitive
    from victims.models import CustodyEvent, Disclosure, Involvement

    redacted = variant == Variant.REDACTED
    inv = Investigation.objects.with_detail().get(pk=investigation.pk)
    involvements = list(
        Involvement.objects.filter(investigation=inv)
        .select_related(
            "victim", "account_taken_by", "victim__safeguarding_plan__lead", "identified_by"
        )
        .prefetch_related(
            Prefetch("disclosures", Disclosure.objects.select_related("offence")),
            Prefetch("victim__custody_events", CustodyEvent.objects.filter(investigation=inv)),
            Prefetch("victim__contacts", Contact.objects.select_related("by").order_by("-at")),
        )
    )
    labels = {i.victim_id: i.label or f"Victim {n}" for n, i in enumerate(involvements, 1)}
    staff = {u.display_name for u in (inv.oic, inv.supervisor, inv.created_by) if u}
    staff.update(t.actor.display_name for t in inv.timeline.all() if t.actor)
    staff.update(e.owner.display_name for e in inv.enquiries.all())
    redact = Redactor.for_victims(
        ((i.victim, labels[i.victim_id]) for i in involvements), active=redacted, protect=staff
    )
    see_sensitive = not redacted and may_see_sensitive(user, [inv])
    referrals = _referral_lines(user, [i.victim_id for i in involvements])
    today = timezone.localdate()

    def victim_name(victim: Any) -> str:
        if victim is None:
            return ""
        label = labels.get(victim.pk, "Victim not on this case")
        return label if redacted else f"{label} ({victim.name})"

    offences = [
        {
            "crime_reference": o.crime_reference,
            "type": o.get_offence_type_display(),
            "victim": victim_name(o.victim) or "Not recorded for a victim",
            "recorded_at": o.recorded_at,
            "outcome": o.get_outcome_display(),
            "notes": redact(o.notes),
        }
        for o in inv.offences.all()
    ]
    victims = []
    for involvement in involvements:
        victim = involvement.victim
        plan = _plan_of(victim)
        contacts = list(victim.contacts.all())
        last_contact = contacts[0] if contacts else None
        victims.append(
            {
                "label": labels[victim.pk],
                "name": "" if redacted else victim.name,
                "aliases": "" if redacted else victim.aliases,
                "age": _age_text(victim, redacted=redacted),
                "is_child": victim.is_child,
                "age_unassessed": victim.may_be_under_18 and not victim.age_assessed_on,
                "gender": (
                    victim.get_gender_display().lower()
                    if victim.gender != "unknown"
                    else "gender not known"
                ),
                "nationality": victim.nationality,
                "languages": victim.languages,
                "interpreter_needed": victim.interpreter_needed,
                "status": victim.get_status_display(),
                "identified_at": involvement.identified_at,
                "indicators": involvement.indicator_labels,
                "spoken_to": involvement.spoken_to,
                "account_taken_at": involvement.account_taken_at,
                "account_taken_by": (
                    involvement.account_taken_by.display_name
                    if involvement.account_taken_by
                    else ""
                ),
                "interpreter": (
                    involvement.interpreter_language if involvement.interpreter_used else ""
                ),
                "disclosures": [
                    {
                        "type": d.get_offence_type_display(),
                        "disclosed_at": d.disclosed_at,
                        "account": redact(d.account),
                        "crime_reference": d.offence.crime_reference if d.offence else "",
                    }
                    for d in involvement.disclosures.all()
                ],
                "custody_events": [
                    {
                        "kind": e.get_kind_display(),
                        "offence": redact(e.offence),
                        "occurred_at": e.occurred_at,
                        "s45": e.get_s45_decision_display(),
                    }
                    for e in victim.custody_events.all()
                ],
                "plan": (
                    {
                        "risk_level": plan.get_risk_level_display(),
                        "risks": plan.risk_labels,
                        "measures": plan.measure_labels,
                        "contact_every_days": plan.contact_every_days,
                        "review_date": plan.review_date,
                        "lead": plan.lead.display_name,
                    }
                    if plan
                    else None
                ),
                "last_contact": (
                    {
                        "at": last_contact.at,
                        "made": last_contact.made,
                        "method": last_contact.get_method_display().lower(),
                        "by": last_contact.by.display_name,
                    }
                    if last_contact
                    else None
                ),
                "next_contact_due": last_contact.next_contact_due if last_contact else None,
                "contact_overdue": bool(last_contact and last_contact.next_contact_due < today),
                "nrm": (referrals or {}).get(victim.pk, []),
                "sensitive": (
                    {
                        "phone": victim.phone,
                        "address": victim.address,
                        "immigration_status": victim.get_immigration_status_display(),
                    }
                    if see_sensitive
                    else None
                ),
            }
        )
    enquiries = [
        {
            "description": redact(e.description),
            "substantive": e.substantive,
            "owner": e.owner.display_name,
            "due_date": e.due_date,
            "completed_at": e.completed_at,
            "result": redact(e.result),
        }
        for e in inv.enquiries.all()
    ]
    suspects = [
        {
            "name": s.name,
            "aliases": s.aliases,
            "date_of_birth": s.date_of_birth,
            "nationality": s.nationality,
            "role": s.get_role_display(),
            "arrested_at": s.arrested_at,
            "charged_at": s.charged_at,
            "outcome": s.get_outcome_display(),
            "prevention_order": s.get_prevention_order_display(),
            "risk_order": s.get_risk_order_display(),
        }
        for s in inv.suspects.all()
    ]
    reviews = [
        {
            "reviewed_at": r.reviewed_at,
            "reviewer": r.reviewer.display_name,
            "direction": redact(r.direction),
            "next_review_due": r.next_review_due,
        }
        for r in inv.supervisory_reviews.all()
    ]
    closure_reviews = [
        {
            "requested_at": c.requested_at,
            "requested_by": c.requested_by.display_name,
            "proposed_outcome": c.get_proposed_outcome_display(),
            "proposed_nfa_reason": c.get_proposed_nfa_reason_display()
            if c.proposed_nfa_reason
            else "",
            "request_rationale": redact(c.request_rationale),
            "decision": c.get_decision_display(),
            "reviewer": c.reviewer.display_name if c.reviewer else "",
            "decided_at": c.decided_at,
            "decision_rationale": redact(c.decision_rationale),
        }
        for c in inv.closure_reviews.all()
    ]
    timeline = [
        {
            "at": t.at,
            "kind": t.get_kind_display(),
            "actor": t.actor.display_name if t.actor else "System",
            "text": redact(t.text),
        }
        for t in inv.timeline.all()
    ]
    enquiries_done = sum(1 for e in enquiries if e["completed_at"])
    local_generated = timezone.localtime(generated_at)
    return {
        "marking": settings.PROTECTIVE_MARKING,
        "service_name": settings.SERVICE_NAME,
        "redacted": redacted,
        "variant_label": Variant(variant).label,
        "generated_by": user.display_name,
        "generated_at": local_generated,
        "generated_text": f"{local_generated:%-d %b %Y} at {local_generated:%H:%M}",
        "recipient": recipient,
        "inv": inv,
        "title": redact(inv.title),
        "summary": redact(inv.summary),
        "location": redact(inv.location),
        "crime_not_recorded_reason": redact(inv.crime_not_recorded_reason),
        "outcome_rationale": redact(inv.outcome_rationale),
        "exploitation": inv.exploitation_labels,
        "days_to_start": inv.days_to_start,
        "days_since_report": (timezone.now() - inv.reported_at).days,
        "offences": offences,
        "victims": victims,
        "referrals_available": referrals is not None,
        "see_sensitive": see_sensitive,
        "enquiries": enquiries,
        "enquiries_done": enquiries_done,
        "suspects": suspects,
        "reviews": reviews,
        "closure_reviews": closure_reviews,
        "flags": _open_flags(inv, labels, redact),
        "timeline": timeline,
    }

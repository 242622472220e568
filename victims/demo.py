"""Demo victims on the demo investigations, for `manage.py seed_demo`. Idempotent: a person
already on their case is left alone.

Modelled on the examples in HMICFRS "Stolen freedom" (2017): a trafficked boy arrested as the
gardener of a cannabis farm with the section 45 defence never considered, a rape disclosed to
officers and never recorded as a crime, an age-disputed young woman who must be treated as a
child, victims never spoken to. Everything is written through victims.actions; as in
investigations/demo.py, the business dates of the rows written are then moved into the past so
the case timelines read in order.

The two closed demo cases (domestic servitude in Bolton, county lines from Salford) get no
victims: victims_add_to_investigation refuses a closed case, and reopening them would change
the stories investigations/demo.py tells about them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Max
from django.utils import timezone

from investigations.models import Investigation, Offence, OffenceType, TimelineEvent
from victims import actions
from victims.models import Involvement, S45Decision, Victim


@dataclass
class DemoVictim:
    name: str
    # age: years at identification (date of birth made from it), or an estimate
    age_at_identification: int | None = None
    estimated_age: int | None = None
    may_be_under_18: bool = False
    gender: str = "female"
    nationality: str = ""
    languages: str = ""
    interpreter_needed: bool = False
    crime_reference: str = ""
    # later facts (victim_update)
    immigration_status: str = "unknown"
    phone: str = ""
    address: str = ""
    exploitation_began_days_before: int | None = None
    status: str = "potential"
    # what happened next, in hours after identification
    account_after_hours: float | None = None
    account_interpreter: str = ""
    account_summary: str = ""
    disclosure: tuple[str, float, str] | None = None  # (offence type, hours after, account)
    arrested_for: str = ""  # a custody event at identification, s45 not considered


@dataclass
class DemoIntake:
    force: str
    title: str
    offence_type: str
    identified_hours_after_report: float
    indicators: list[str]
    people: list[DemoVictim] = field(default_factory=list)


INTAKES = [
    DemoIntake(
        "GMP",
        "Cannabis farm at Cheetham Hill: teenager found tending plants",
        OffenceType.MSA_S2,
        identified_hours_after_report=2,
        indicators=["movement", "isolation", "debt", "threats", "conditions"],
        people=[
            DemoVictim(
                "Arbër Hoxha",
                age_at_identification=16,
                gender="male",
                nationality="Albanian",
                languages="Albanian",
                interpreter_needed=True,
                crime_reference="GMP/26/100201",
                immigration_status="irregular",
                address="Foster placement, address held by Manchester Children's Services",
                exploitation_began_days_before=90,
                arrested_for="Cultivation of cannabis (Misuse of Drugs Act 1971 s6)",
            )
        ],
    ),
    DemoIntake(
        "GMP",
        "Sexual exploitation in short-let flats, city centre",
        OffenceType.MSA_S2,
        identified_hours_after_report=26,
        indicators=["movement", "violence", "threats", "documents", "debt"],
        people=[
            DemoVictim(
                "Ioana Stan",
                age_at_identification=24,
                nationality="Romanian",
                languages="Romanian",
                interpreter_needed=True,
                crime_reference="GMP/26/100301",
                immigration_status="settled",
                phone="07700 900311",
                address="Safe house, location held by the Salvation Army",
                account_after_hours=48,
                account_interpreter="Romanian",
                account_summary="Recruited in Constanța with a promise of bar work. Moved between "
                "flats every few days; her passport is held by the controller.",
                disclosure=(
                    OffenceType.RAPE,
                    49,
                    "Disclosed being raped by the controller in a flat on Deansgate.",
                ),
            ),
            DemoVictim(
                "Bianca Radu",
                age_at_identification=21,
                nationality="Romanian",
                languages="Romanian, some English",
                crime_reference="GMP/26/100302",
                immigration_status="settled",
                phone="07700 900312",
                account_after_hours=120,
                account_summary="Travelled with Ioana. Wants to move away from Manchester.",
            ),
            DemoVictim(
                "Florentina Marin",
                estimated_age=19,
                nationality="Romanian",
                languages="Romanian",
                interpreter_needed=True,
                crime_reference="GMP/26/100303",
            ),
        ],
    ),
    DemoIntake(
        "GMP",
        "Nail bar in Oldham: young women living above the shop",
        OffenceType.MSA_S1,
        identified_hours_after_report=6,
        indicators=["documents", "debt", "wages", "isolation", "overtime"],
        people=[
            DemoVictim(
                "Nguyen Thi Lan",
                age_at_identification=26,
                nationality="Vietnamese",
                languages="Vietnamese",
                interpreter_needed=True,
                crime_reference="GMP/26/100401",
                immigration_status="asylum",
            ),
            DemoVictim(
                "Tran Thi Mai",
                estimated_age=17,
                may_be_under_18=True,  # says she is 16; the owner says 19: age disputed
                nationality="Vietnamese",
                languages="Vietnamese",
                interpreter_needed=True,
                crime_reference="GMP/26/100402",
                immigration_status="unknown",
            ),
        ],
    ),
    DemoIntake(
        "GMP",
        "Factory agency workers in Trafford Park",
        OffenceType.MSA_S1,
        identified_hours_after_report=30,
        indicators=["wages", "debt", "conditions", "deception"],
        people=[
            DemoVictim(
                "Krzysztof Wójcik",
                age_at_identification=44,
                gender="male",
                nationality="Polish",
                languages="Polish",
                interpreter_needed=True,
                crime_reference="GMP/26/100501",
                immigration_status="settled",
                account_after_hours=72,
                account_interpreter="Polish",
                account_summary="Wages paid into an account the agency owner controls; £40 a "
                "week handed back in cash.",
                status="confirmed",
            ),
            DemoVictim(
                "Paweł Kamiński",
                age_at_identification=38,
                gender="male",
                nationality="Polish",
                languages="Polish, English",
                crime_reference="GMP/26/100502",
                immigration_status="settled",
                account_after_hours=80,
                account_summary="Ten men to a three-bedroom house; rent and transport taken "
                "from wages.",
            ),
        ],
    ),
    DemoIntake(
        "WYP",
        "Takeaway in Leeds: worker with no documents",
        OffenceType.MSA_S1,
        identified_hours_after_report=1,
        indicators=["documents", "overtime", "conditions", "isolation"],
        people=[
            DemoVictim(
                "Rahim Uddin",
                age_at_identification=34,
                gender="male",
                nationality="Bangladeshi",
                languages="Sylheti, Bengali",
                interpreter_needed=True,
                crime_reference="WYP/26/100601",
                immigration_status="irregular",
                account_after_hours=50,
                account_interpreter="Sylheti",
                account_summary="Worked 80-hour weeks for food and a mattress in the storeroom; "
                "the owner keeps his passport.",
            )
        ],
    ),
    DemoIntake(
        "WYP",
        "Brothel network across Huddersfield and Dewsbury",
        OffenceType.MSA_S2,
        identified_hours_after_report=30,
        indicators=["movement", "threats", "debt"],
        people=[
            DemoVictim(
                "Elena Vasile",
                age_at_identification=23,
                nationality="Romanian",
                languages="Romanian",
                interpreter_needed=True,
                crime_reference="WYP/26/100701",
                account_after_hours=96,
                account_interpreter="Romanian",
                account_summary="Moved between three addresses; told she owed £8,000 for travel.",
            ),
            DemoVictim(
                "Alina Munteanu",
                estimated_age=20,
                nationality="Romanian",
                crime_reference="WYP/26/100702",
            ),
        ],
    ),
]


def demo_case(force: str, title: str, users: dict[str, Any]) -> Investigation | None:
    officer = users[f"officer.{force.lower()}"]
    return Investigation.objects.filter(title=title, unit=officer.unit).first()


def demo_victim(case: Investigation, name: str) -> Victim | None:
    involvement = (
        Involvement.objects.filter(investigation=case, victim__name=name)
        .select_related("victim")
        .first()
    )
    return involvement.victim if involvement else None


def backdate_events(case: Investigation, since_id: int, at: datetime) -> None:
    """Give the timeline events written since `since_id` the business time they record."""
    TimelineEvent.objects.filter(investigation=case, pk__gt=since_id).update(at=at)


def last_event_id() -> int:
    return TimelineEvent.objects.aggregate(last=Max("pk"))["last"] or 0


def _born(age: int, on: date) -> date:
    """A date of birth giving `age` on `on`, a few months past the birthday."""
    day = on - timedelta(days=120)
    try:
        return day.replace(year=day.year - age)
    except ValueError:  # 29 February
        return day.replace(year=day.year - age, day=28)


def _person(spec: DemoVictim, identified: datetime) -> dict[str, Any]:
    person: dict[str, Any] = {
        "name": spec.name,
        "crime_reference": spec.crime_reference,
        "gender": spec.gender,
        "nationality": spec.nationality,
        "languages": spec.languages,
        "interpreter_needed": spec.interpreter_needed,
        "may_be_under_18": spec.may_be_under_18,
        "estimated_age": spec.estimated_age,
    }
    if spec.age_at_identification is not None:
        person["date_of_birth"] = _born(spec.age_at_identification, identified.date())
    return person


def _follow_up(
    case: Investigation, involvement: Involvement, spec: DemoVictim, officer: Any
) -> None:
    identified = involvement.identified_at
    victim = involvement.victim
    later: dict[str, Any] = {
        "immigration_status": spec.immigration_status,
        "phone": spec.phone,
        "address": spec.address,
        "status": spec.status,
    }
    if spec.exploitation_began_days_before is not None:
        later["exploitation_began"] = timezone.localtime(identified).date() - timedelta(
            days=spec.exploitation_began_days_before
        )
    victim = actions.victim_update(victim, actor=officer, expected_version=victim.version, **later)
    if spec.arrested_for:
        since = last_event_id()
        actions.custody_event_record(
            victim,
            investigation=case,
            actor=officer,
            kind="arrested",
            offence=spec.arrested_for,
            occurred_at=identified,
            s45_decision=S45Decision.NOT_CONSIDERED,
            s45_rationale="",
        )
        backdate_events(case, since, identified)
    if spec.account_after_hours is not None:
        taken = identified + timedelta(hours=spec.account_after_hours)
        since = last_event_id()
        actions.involvement_record_account(
            involvement,
            actor=officer,
            taken_at=taken,
            interpreter_used=bool(spec.account_interpreter),
            interpreter_language=spec.account_interpreter,
            summary=spec.account_summary,
            indicators=involvement.indicators,
        )
        backdate_events(case, since, taken)
    if spec.disclosure is not None:
        offence_type, hours, account = spec.disclosure
        disclosed = identified + timedelta(hours=hours)
        since = last_event_id()
        # left unlinked on purpose: no crime recorded for the disclosure (the "unrecorded
        # linked offence" the flags look for)
        actions.disclosure_record(
            involvement,
            actor=officer,
            offence_type=offence_type,
            disclosed_at=disclosed,
            account=account,
        )
        backdate_events(case, since, disclosed)


def seed(users: dict[str, Any], stdout: Any) -> None:
    now = timezone.now()
    added = 0
    for intake in INTAKES:
        case = demo_case(intake.force, intake.title, users)
        if case is None:
            continue
        officer = users[f"officer.{intake.force.lower()}"]
        new = [p for p in intake.people if demo_victim(case, p.name) is None]
        if not new:
            continue
        identified = min(
            case.reported_at + timedelta(hours=intake.identified_hours_after_report),
            now - timedelta(hours=1),
        )
        since = last_event_id()
        involvements = actions.victims_add_to_investigation(
            case,
            actor=officer,
            people=[_person(p, identified) for p in new],
            identified_at=identified,
            offence_type=intake.offence_type,
            indicators=intake.indicators,
        )
        backdate_events(case, since, identified)
        victims = [i.victim_id for i in involvements]
        Victim.objects.filter(pk__in=victims).update(created_at=identified)
        Offence.objects.filter(investigation=case, victim_id__in=victims).update(
            recorded_at=identified + timedelta(hours=2)
        )
        for involvement, spec in zip(involvements, new, strict=True):
            _follow_up(case, involvement, spec, officer)
        added += len(involvements)
    stdout.write(f"Victims: {added} demo victims added")

"""The season ledger: walk records, the season's figures, payouts, publishing plans, the offers to the
associations and their answers, association links and calendars (issue 12; DESIGN.md, "Season ledger").

Plain arguments in, records out; ``now`` (tz-aware) is always passed in: the front ends read the
clock, the rules here never do. The arithmetic and the rules are the library's
(:mod:`tryggplan.allocation.ledger`); this module decides which ledger, reads it, checks a change
inside the ledger's locked transaction (:func:`tryggplan.storage.ledger.writing`) and stores it.

* **Which ledger.** A season belongs to one municipality: the newest resources spec stored for it
  (a spec without one: a single-town deployment) gives the quota, cost, associations and season
  window (:func:`season_of`).
* **Records** are the only source of the walks done; a walk is (association, night); a correction
  is a new record naming the current one (``corrects``). Only the records whose night lies in the
  season's ``start``..``until`` count.
* **Planned walks** are the walks of published plans still offered or accepted and not recorded.
  A draft plan plans nothing.
* **Publishing** a plan offers each of its walks still ahead to its association; walks of the same
  weeks offered by an earlier plan and not in this one are withdrawn (an accepted walk is kept:
  every later plan pins it). An association answers through its link (a revocable secret, no
  login): accepting pins the walk; declining re-plans that walk alone (the library's ``replan``
  with ``cancel`` and ``alone``) and publishes the re-made plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine

from tryggplan.allocation import ledger as lib
from tryggplan.allocation.export import walks_ics
from tryggplan.allocation.season import replan
from tryggplan.allocation.spec import PinnedWalk, Resources, parse_resources
from tryggplan.allocation.warning_text import warnings_text
from tryggplan.allocation.weekly import spent_before
from tryggplan.domain import DEFAULT_TZ, InvalidInputError, NotFoundError, TryggplanError
from tryggplan.i18n import Lang
from tryggplan.storage import forecasts as runs
from tryggplan.storage import ledger as stored
from tryggplan.storage import plans as stored_plans
from tryggplan.storage.plans import NewPlan
from tryggplan.storage.records import (
    LinkInfo,
    OfferInfo,
    PayoutInfo,
    PlanRecordInfo,
    ResourceRecord,
    WalkRecordInfo,
    WalkReportInfo,
)
from tryggplan.text import normalize_free_text
from tryggplan.timeutil import iso_week_of, parse_iso_week

WalkStatus = Literal["completed", "no_show", "cancelled"]
Answer = Literal["accept", "decline"]
#: why an association's answer or report-back is refused (the association's page says it in Swedish)
LinkRefusal = Literal["unknown_offer", "started", "not_offered", "not_accepted", "not_ended", "reported", "recorded"]


class LinkRefusedError(InvalidInputError):
    """An association's answer or report-back refused through its link; ``reason`` says why (the JSON
    routes answer 422 with the English message, the page its own Swedish text for the reason)."""

    def __init__(self, reason: LinkRefusal, message: str) -> None:
        self.reason = reason
        super().__init__(message)


def check_now(now: dt.datetime) -> dt.datetime:
    if not isinstance(now, dt.datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInputError(f"now {now!r} has no time zone: give a tz-aware instant, e.g. 2026-12-01T21:00+01:00")
    return now


# --------------------------------------------------------------------------- which ledger


@dataclass(frozen=True)
class Season:
    """A season ledger: its municipality (``None``: a single-town deployment) and the resources spec
    that defines it (quota, cost per walk, associations, season window)."""

    municipality: str | None
    resource_id: int
    spec: Resources

    @property
    def tz(self) -> str:
        return self.spec.tz


def season_from(record: ResourceRecord) -> Season:
    return Season(record.municipality, record.id, parse_resources(record.spec, source=f"resources {record.id}"))


def season_of(engine: Engine, municipality: str | None, *, infer: bool = True) -> Season:
    """The season of ``municipality``: its newest resources spec. With ``infer``, ``None`` means none was
    named by an area-wide caller: the one municipality that has a spec (or the specs without one); when
    specs are kept for several, the municipality must be named. Without ``infer``, ``None`` is the
    single-town ledger (the specs without a municipality)."""
    if municipality is None and infer:
        towns = stored_plans.resource_municipalities(engine)
        if not towns:
            raise NotFoundError("no resources spec stored yet: POST one to /api/v1/resources")
        if len(towns) > 1:
            names = ", ".join(sorted(t or "(none)" for t in towns))
            raise InvalidInputError(
                f"seasons are kept for several municipalities ({names}): name one (municipality=..., --municipality)"
            )
        municipality = towns[0]
    found = stored_plans.newest_resources(engine, municipality)
    if found is None:
        raise NotFoundError(
            f"no resources spec for {municipality[:80]!r}: POST one to /api/v1/resources with "
            f'"municipality": {municipality[:80]!r}'
            if municipality is not None
            else "no resources spec without a municipality: name the municipality"
        )
    return season_from(found)


# --------------------------------------------------------------------------- ledger -> library


def _in_season(spec: Resources, night: dt.date) -> bool:
    q = spec.season
    return q is None or ((q.start is None or night >= q.start) and (q.until is None or night <= q.until))


def _walk(r: WalkRecordInfo) -> lib.WalkRecord:
    return lib.WalkRecord(
        association=r.association,
        night=r.night,
        status=r.status,  # type: ignore[arg-type]
        recorded_at=r.recorded_at,
        actor=r.actor,
        area=r.area,
        plan_id=r.plan_id,
        shift_index=r.shift_index,
        corrects=r.corrects,
        note=r.note,
        id=r.id,
    )


def _payout(p: PayoutInfo) -> lib.PayoutRecord:
    return lib.PayoutRecord(p.association, p.nights, p.amount_sek, p.paid_at, p.actor, p.id)


@dataclass(frozen=True)
class _Ledger:
    """One ledger's snapshot, as the library takes it (records and payouts of the season only)."""

    records: list[lib.WalkRecord]
    payouts: list[lib.PayoutRecord]
    offers: list[OfferInfo]

    @property
    def current(self) -> dict[lib.WalkKey, lib.WalkRecord]:
        return lib.current_records(self.records)

    def planned(self) -> list[lib.PlannedWalk]:
        return [
            lib.PlannedWalk(o.association, o.night, o.area, o.plan_id, o.shift_index, o.start, o.end)
            for o in self.offers
            if o.status in stored.ACTIVE
        ]


def _ledger(spec: Resources, snap: stored.LedgerSnapshot) -> _Ledger:
    return _Ledger(
        [_walk(r) for r in snap.records if _in_season(spec, r.night)],
        [_payout(p) for p in snap.payouts if any(_in_season(spec, n) for n in p.nights)],
        list(snap.offers),
    )


def _read(engine: Engine, season: Season) -> _Ledger:
    return _ledger(season.spec, stored.read_ledger(engine, season.municipality))


# --------------------------------------------------------------------------- status, records, payouts


def status(engine: Engine, season: Season) -> lib.SeasonStatus:
    """The season's figures (``GET /api/v1/season``, ``tryggplan season status``)."""
    led = _read(engine, season)
    return lib.season_status(season.spec, led.records, led.payouts, led.planned())


def status_document(engine: Engine, season: Season, lang: Lang = "en") -> dict[str, Any]:
    """The season's figures as ``GET /api/v1/season`` and ``tryggplan season status --json`` show them:
    the library's :meth:`SeasonStatus.to_dict` with the season's ``municipality`` and ``resource_id``,
    its ``warnings`` in ``lang``."""
    doc = status(engine, season).to_dict()
    doc["warnings"] = warnings_text(list(doc["warnings"]), lang)
    return {"municipality": season.municipality, "resource_id": season.resource_id, **doc}


def list_records(engine: Engine, season: Season, association: str | None = None) -> list[WalkRecordInfo]:
    """Every record of the season (the audit trail, corrections included), oldest first."""
    snap = stored.read_ledger(engine, season.municipality)
    return [
        r
        for r in snap.records
        if _in_season(season.spec, r.night) and (association is None or r.association == association)
    ]


def _plan_walk(plan: PlanRecordInfo, shift_index: int | None, association: str, night: dt.date) -> dict[str, Any]:
    """The night walk of ``plan`` a record names: its shift ``shift_index``, or the one of
    ``association`` on ``night``; refused when the plan has no such walk."""
    doc = plan.plan
    shifts = doc.get("shifts") or []
    if shift_index is not None:
        if shift_index >= len(shifts):
            raise InvalidInputError(f"plan {plan.id} has {len(shifts)} shift(s): shift_index must be below that")
        shift = shifts[shift_index]
        if shift.get("kind") != "night_walk":
            raise InvalidInputError(
                f"shift {shift_index} is a {shift.get('kind')} shift: record walks only for night_walk shifts"
            )
        if (shift.get("association"), shift.get("night")) != (association, night.isoformat()):
            raise InvalidInputError(
                f"shift {shift_index} of plan {plan.id} is the walk of {shift.get('association')!r} on the night of "
                f"{shift.get('night')}, not of {association!r} on {night}: give the right shift_index or leave it out"
            )
        return dict(shift)
    for s in [*shifts, *(doc.get("placed") or [])]:
        if s.get("kind", "night_walk") == "night_walk" and (s.get("association"), s.get("night")) == (
            association,
            night.isoformat(),
        ):
            return dict(s)
    raise InvalidInputError(
        f"plan {plan.id} has no walk of {association!r} on the night of {night}: leave out plan_id, or name its walk"
    )


@dataclass(frozen=True)
class RecordOutcome:
    record: WalkRecordInfo
    #: the re-made plan stored with a cancellation (``/plans/{id}/walks`` with ``replan``)
    new_plan_id: int | None = None


def _new_record(
    engine: Engine,
    season: Season,
    *,
    association: str,
    night: dt.date,
    status: str,
    actor: str,
    now: dt.datetime,
    area: str | None,
    plan_id: int | None,
    shift_index: int | None,
    corrects: int | None,
    note: str | None,
) -> tuple[lib.WalkRecord, dt.datetime | None]:
    """The library record to check and the end of its plan shift (when it names one)."""
    check_now(now)
    shift_end: dt.datetime | None = None
    if shift_index is not None and plan_id is None:
        raise InvalidInputError("shift_index needs plan_id: name the plan the shift belongs to")
    if plan_id is not None:
        plan = stored_plans.get_plan(engine, plan_id)
        if plan.municipality != season.municipality:
            # the plan's own municipality is not named: it may be a town the caller may not read
            raise InvalidInputError(
                f"plan {plan.id} is not a plan of this season ({season.municipality or 'no municipality'}): "
                "name a plan of this season"
            )
        shift = _plan_walk(plan, shift_index, association, night)
        shift_end = dt.datetime.fromisoformat(shift["end"]) if shift.get("end") else None
        area = area if area is not None else shift.get("area")
    record = lib.WalkRecord(
        association=association,
        night=night,
        status=status,  # type: ignore[arg-type]
        recorded_at=now,
        actor=actor,
        area=area,
        plan_id=plan_id,
        shift_index=shift_index,
        corrects=corrects,
        note=note,
    )
    return record, shift_end


def check_walk(
    engine: Engine,
    season: Season,
    *,
    association: str,
    night: dt.date,
    status: str,
    actor: str,
    now: dt.datetime,
    area: str | None = None,
    plan_id: int | None = None,
    shift_index: int | None = None,
    corrects: int | None = None,
    note: str | None = None,
) -> None:
    """Refuse a walk record :func:`record_walk` would refuse, storing nothing (checked again when stored)."""
    record, shift_end = _new_record(
        engine, season, association=association, night=night, status=status, actor=actor, now=now, area=area,
        plan_id=plan_id, shift_index=shift_index, corrects=corrects, note=note,
    )  # fmt: skip
    led = _read(engine, season)
    lib.check_record(record, season.spec, led.records, led.payouts, planned=led.planned(), shift_end=shift_end)


def record_walk(
    engine: Engine,
    season: Season,
    *,
    association: str,
    night: dt.date,
    status: str,
    actor: str,
    now: dt.datetime,
    area: str | None = None,
    plan_id: int | None = None,
    shift_index: int | None = None,
    corrects: int | None = None,
    note: str | None = None,
    remade: NewPlan | None = None,
) -> RecordOutcome:
    """Store one walk record (``POST /api/v1/season/walks``, ``tryggplan season record``,
    ``/plans/{id}/walks``), and ``remade`` (a plan re-made without a cancelled walk) with it.

    Refused (:class:`InvalidInputError`) by the library's rules: an unknown association or area, a
    night outside the season, ``completed``/``no_show`` before the walk has ended (the message says
    from when), a second record of a walk without ``corrects``, a correction of a record that is not
    the walk's current one, a paid walk corrected away from ``completed``. A ``cancelled`` record
    withdraws the walk's standing offer; a re-made plan is published when the plan it was made from is.
    """
    record, shift_end = _new_record(
        engine, season, association=association, night=night, status=status, actor=actor, now=now, area=area,
        plan_id=plan_id, shift_index=shift_index, corrects=corrects, note=note,
    )  # fmt: skip
    with stored.writing(engine, season.municipality) as w:
        led = _ledger(season.spec, w.snapshot())
        lib.check_record(record, season.spec, led.records, led.payouts, planned=led.planned(), shift_end=shift_end)
        stored_record = w.add_record(
            association=association,
            night=night,
            status=status,
            recorded_at=now,
            actor=actor,
            area=record.area,
            plan_id=plan_id,
            shift_index=shift_index,
            corrects=corrects,
            note=note,
        )
        if status == "cancelled":
            for o in led.offers:
                if (o.association, o.night) == (association, night) and o.status in stored.ACTIVE:
                    w.set_offer(o.id, "withdrawn", now)
        new_id = None
        if remade is not None:
            made = w.add_plan(remade)
            new_id = made.id
            if remade.parent_id is not None and w.plan(remade.parent_id).state == "published":
                _publish(w, made.id, now)
        return RecordOutcome(stored_record, new_id)


def payouts_due(engine: Engine, season: Season) -> list[lib.PayoutDue]:
    led = _read(engine, season)
    return lib.payouts_due(season.spec, led.records, led.payouts)


def payouts_csv(engine: Engine, season: Season) -> bytes:
    """The payout list for Swedish Excel (``GET /api/v1/season/payouts.csv``, ``tryggplan season payouts``)."""
    return lib.payouts_csv(payouts_due(engine, season))


def list_payouts(engine: Engine, season: Season) -> list[PayoutInfo]:
    snap = stored.read_ledger(engine, season.municipality)
    return [p for p in snap.payouts if any(_in_season(season.spec, n) for n in p.nights)]


def pay(
    engine: Engine,
    season: Season,
    association: str,
    *,
    actor: str,
    now: dt.datetime,
    nights: Sequence[dt.date] | None = None,
) -> PayoutInfo:
    """Mark ``association``'s completed, unpaid walks (all, or the ``nights`` named) paid at
    ``cost_per_walk_sek`` each (``POST /api/v1/season/payouts``, ``tryggplan season pay``)."""
    check_now(now)
    with stored.writing(engine, season.municipality) as w:
        led = _ledger(season.spec, w.snapshot())
        payout = lib.make_payout(season.spec, led.records, led.payouts, association, at=now, actor=actor, nights=nights)
        return w.add_payout(payout.association, payout.nights, payout.amount_sek, now, actor)


# --------------------------------------------------------------------------- planning inputs


@dataclass(frozen=True)
class PlanningInputs:
    """What a plan made at ``now`` from ``first_week`` on takes from the ledger.

    ``walks_left``: the quota minus the walks done and the planned walks this plan does not re-pace
    (those of earlier weeks, and those that started before ``now``); the accepted walks it pins are
    counted in it (``None`` without a season block). ``done``: completed walks per association.
    ``accepted``: the accepted walks still ahead (pinned). ``unavailable``: nights an association
    declined or cancelled (it is not planned there again). ``spent_sek``: what the shifts of the
    week's current plan that started before ``now`` cost [SEK].
    """

    walks_left: int | None
    done: dict[str, int]
    accepted: list[PinnedWalk]
    unavailable: dict[str, list[dt.date]]
    spent_sek: float = 0.0
    notes: list[str] = field(default_factory=list)


def _weekly_plan_of(engine: Engine, season: Season, week: str) -> PlanRecordInfo | None:
    """The week's current plan: its newest published weekly plan, else its newest plan."""
    plans = [
        p
        for p in stored_plans.list_plans(engine, week, limit=200, municipalities=None)
        if p.kind == "week" and p.municipality == season.municipality
    ]
    chosen = [p for p in plans if p.state == "published"] or plans
    return chosen[0] if chosen else None


def planning_inputs(
    engine: Engine, season: Season, first_week: str, now: dt.datetime, *, weekly: bool = True
) -> PlanningInputs:
    """The ledger's part of a plan of ``first_week`` (or of the season from it) made at ``now``."""
    check_now(now)
    monday = parse_iso_week(first_week)
    t = pd.Timestamp(now)
    led = _read(engine, season)
    current = led.current
    done: dict[str, int] = {}
    for (a, _), r in current.items():
        if r.status == "completed":
            done[a] = done.get(a, 0) + 1
    kept = 0
    accepted: list[PinnedWalk] = []
    unavailable: dict[str, list[dt.date]] = {}
    for (a, night), r in current.items():
        if r.status == "cancelled":
            unavailable.setdefault(a, []).append(night)
    for o in led.offers:
        if o.status == "declined":
            unavailable.setdefault(o.association, []).append(o.night)
        if o.status not in stored.ACTIVE or (o.association, o.night) in current:
            continue
        if o.night < monday or pd.Timestamp(o.start) < t:
            kept += 1  # planned, not re-paced: it stays off the walks left
        elif o.status == "accepted":
            accepted.append(PinnedWalk(association=o.association, area=o.area, night=o.night, template=o.template))
    q = season.spec.season
    walks_left = None if q is None else q.walks - sum(done.values()) - kept
    spent = 0.0
    if weekly:
        plan = _weekly_plan_of(engine, season, first_week)
        if plan is not None:
            spent = spent_before(plan.plan.get("shifts") or [], now)
    return PlanningInputs(walks_left, done, accepted, unavailable, spent)


def with_unavailable(spec: Resources, unavailable: Mapping[str, Iterable[dt.date]]) -> Resources:
    """``spec`` with the nights in ``unavailable`` added to its associations' unavailable dates."""
    if not unavailable:
        return spec
    assocs = [
        a.model_copy(update={"unavailable_dates": sorted({*a.unavailable_dates, *unavailable.get(a.name, [])})})
        for a in spec.associations
    ]
    return spec.model_copy(update={"associations": assocs})


# --------------------------------------------------------------------------- publishing, offers


@dataclass(frozen=True)
class Publication:
    """What publishing a plan did: its walks as they stand offered (new or kept), the offers it
    withdrew, and the walks it did not offer (with the reason) or kept although not in the plan."""

    plan: PlanRecordInfo
    offers: list[OfferInfo]
    withdrawn: list[OfferInfo]
    notes: list[str]


def _aware(iso: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(iso)
    if value.tzinfo is None:
        raise InvalidInputError(f"a stored plan has a walk time without offset ({iso}): make the plan again")
    return value


def plan_walks(plan: PlanRecordInfo) -> list[dict[str, Any]]:
    """The night walks of a stored plan: a weekly plan's night-walk shifts (with their index), a
    season plan's placed walks (with the index of the matching shift of its weekly plans, if any)."""
    doc = plan.plan
    shifts = doc.get("shifts") or []
    index = {(s.get("association"), s.get("night")): k for k, s in enumerate(shifts) if s.get("kind") == "night_walk"}
    entries = doc.get("placed") if plan.kind == "season" else [s for s in shifts if s.get("kind") == "night_walk"]
    out = []
    for s in entries or []:
        out.append(
            {
                "association": str(s["association"]),
                "night": dt.date.fromisoformat(str(s["night"])),
                "area": str(s.get("area") or ""),
                "template": str(s.get("template") or ""),
                "start": _aware(s["start"]),
                "end": _aware(s["end"]),
                "shift_index": index.get((s.get("association"), s.get("night"))),
            }
        )
    return out


def _weeks_of(plan: PlanRecordInfo) -> set[str]:
    if plan.kind == "season":
        return {str(w["week"]) for w in plan.plan.get("weeks") or []}
    return {str(plan.week)}


def _publish(w: stored.LedgerWrite, plan_id: int, now: dt.datetime) -> Publication:
    plan = w.plan(plan_id)
    weeks = _weeks_of(plan)
    led = w.snapshot()
    current = lib.current_records([_walk(r) for r in led.records])
    standing = {(o.association, o.night): o for o in led.offers}
    t = pd.Timestamp(now)
    offers: list[OfferInfo] = []
    notes: list[str] = []
    mine: set[tuple[str, dt.date]] = set()
    for walk in plan_walks(plan):
        key = (walk["association"], walk["night"])
        mine.add(key)
        what = f"the walk of {key[0]!r} on the night of {key[1]}"
        old = standing.get(key)
        if pd.Timestamp(walk["start"]) < t:
            notes.append(f"{what} started before the plan was published: not offered")
        elif key in current:
            notes.append(f"{what} is already recorded as {current[key].status}: not offered")
        elif old is not None and old.status == "declined":
            notes.append(f"{what} was declined by the association: not offered again (make the plan again)")
        else:
            status = "accepted" if old is not None and old.status == "accepted" else "offered"
            offers.append(
                w.put_offer(
                    association=key[0],
                    night=key[1],
                    area=walk["area"],
                    template=walk["template"],
                    start=walk["start"],
                    end=walk["end"],
                    plan_id=plan.id,
                    shift_index=walk["shift_index"],
                    status=status,
                    at=now,
                )
            )
    withdrawn: list[OfferInfo] = []
    for o in led.offers:
        if (o.association, o.night) in mine or iso_week_of(o.night) not in weeks or o.status not in stored.ACTIVE:
            continue
        if pd.Timestamp(o.start) < t or (o.association, o.night) in current:
            continue
        if o.status == "accepted":
            notes.append(
                f"the accepted walk of {o.association!r} on the night of {o.night} is not in plan {plan.id}: it stays "
                "accepted (record it as cancelled if it is off)"
            )
            continue
        withdrawn.append(w.set_offer(o.id, "withdrawn", now))
    for other in w.published_plans():
        if other.id == plan.id:
            continue
        replaced = (
            (plan.kind == "week" and other.kind == "week" and other.week == plan.week)
            or (plan.kind == "season" and other.kind == "season")
            or (plan.kind == "season" and other.kind == "week" and other.week in weeks)
        )
        if replaced:
            w.set_plan_state(other.id, "superseded")
    w.set_plan_state(plan.id, "published", now)
    return Publication(w.plan(plan.id), offers, withdrawn, notes)


def publish(engine: Engine, plan_id: int, *, now: dt.datetime) -> Publication:
    """Publish a plan: offer each of its walks still ahead to its association (see the module doc)."""
    check_now(now)
    plan = stored_plans.get_plan(engine, plan_id)
    with stored.writing(engine, plan.municipality) as w:
        return _publish(w, plan.id, now)


def list_offers(engine: Engine, season: Season, week: str | None = None) -> list[OfferInfo]:
    """The season's offers (every state), by night; only ``week``'s when given."""
    if week is not None:
        parse_iso_week(week)
    snap = stored.read_ledger(engine, season.municipality)
    return [o for o in snap.offers if week is None or iso_week_of(o.night) == week]


# --------------------------------------------------------------------------- the associations' side


class UnknownLinkError(NotFoundError):
    """An association link that is unknown or revoked (404)."""


def _link(engine: Engine, secret: str) -> LinkInfo:
    link = stored.find_link(engine, secret)
    if link is None:
        raise UnknownLinkError("unknown or revoked link: ask the coordinator for a new one")
    return link


def _tz_of(engine: Engine, municipality: str | None) -> str:
    spec = stored_plans.newest_resources(engine, municipality)
    return str(spec.spec.get("tz") or DEFAULT_TZ) if spec is not None else DEFAULT_TZ


@dataclass(frozen=True)
class LinkView:
    link: LinkInfo
    offers: list[OfferInfo]
    #: the season's time zone (times are shown local)
    tz: str


def link_offers(engine: Engine, secret: str, now: dt.datetime) -> LinkView:
    """An association's walks not yet over (offered, accepted, declined or withdrawn), by night."""
    check_now(now)
    link = _link(engine, secret)
    snap = stored.read_ledger(engine, link.municipality)
    t = pd.Timestamp(now)
    mine = [o for o in snap.offers if o.association == link.association and pd.Timestamp(o.end) > t]
    return LinkView(link, mine, _tz_of(engine, link.municipality))


@dataclass(frozen=True)
class AnswerOutcome:
    offer: OfferInfo
    new_plan_id: int | None
    notes: list[str]
    tz: str = DEFAULT_TZ
    #: ``False`` when the walk was already answered so (nothing changed)
    changed: bool = True


def answer_offer(
    engine: Engine,
    secret: str,
    offer_id: int,
    answer: str,
    *,
    now: dt.datetime,
    note: str | None = None,
    time_limit: float = 60.0,
) -> AnswerOutcome:
    """An association accepts or declines one of its offered walks (through its link).

    Accepting pins the walk (every later plan keeps it). Declining frees the night and re-plans that
    walk alone from the plan that offered it; the re-made plan is published (the replacement
    offered to its association) while that plan is still the published one.
    """
    check_now(now)
    if answer not in ("accept", "decline"):
        raise InvalidInputError(f"answer {answer!r}: use 'accept' or 'decline'")
    link = _link(engine, secret)
    tz = _tz_of(engine, link.municipality)
    by = f"link:{link.id}:{link.association}"
    with stored.writing(engine, link.municipality) as w:
        offer = next((o for o in w.snapshot().offers if o.id == offer_id and o.association == link.association), None)
        if offer is None:
            raise NotFoundError(f"no offer {offer_id} for {link.association!r}: see the offers of this link")
        what = f"the walk on the night of {offer.night}"
        if pd.Timestamp(offer.start) <= pd.Timestamp(now):
            raise LinkRefusedError(
                "started",
                f"{what} began at {pd.Timestamp(offer.start).tz_convert(tz):%Y-%m-%d %H:%M}: it can no "
                "longer be answered here; tell the coordinator",
            )
        wanted = "accepted" if answer == "accept" else "declined"
        if offer.status == wanted:
            return AnswerOutcome(offer, None, [f"{what} was already {wanted}"], tz, changed=False)
        if offer.status not in stored.ACTIVE:
            raise LinkRefusedError(
                "not_offered",
                f"{what} is {offer.status}: it is no longer offered to {link.association!r}"
                + ("; tell the coordinator if you can walk after all" if offer.status == "declined" else ""),
            )
        answered = w.set_offer(offer.id, wanted, now, by=by, note=note)
    if answer == "accept":
        return AnswerOutcome(answered, None, [], tz)
    new_id, notes = _replan_declined(engine, answered, by, now, time_limit)
    return AnswerOutcome(answered, new_id, notes, tz)


def _replan_declined(
    engine: Engine, offer: OfferInfo, actor: str, now: dt.datetime, time_limit: float
) -> tuple[int | None, list[str]]:
    """Re-plan a declined walk alone and publish the re-made plan (module doc)."""
    source = stored_plans.get_plan(engine, offer.plan_id)
    week = iso_week_of(offer.night)
    previous = source.plan if source.kind == "week" else (source.plan.get("weekly") or {}).get(week)
    if previous is None:
        return None, [
            f"the walk on the night of {offer.night} was placed by the night profile (beyond the forecast): it "
            "goes back to the season's walks and the next season plan places it again"
        ]
    season = season_from(stored_plans.get_resources(engine, source.resource_id))
    inputs = planning_inputs(engine, season, week, now, weekly=False)
    run = runs.get_run(engine, source.forecast_run_id)
    towns = [source.municipality] if source.municipality is not None else None
    try:
        remade = replan(
            runs.read_grid(engine, run, municipality=towns),
            with_unavailable(season.spec, inputs.unavailable),
            week,
            previous,
            now=now,
            cancel=[(offer.association, offer.night)],
            alone=True,
            done=inputs.done,
            time_limit=time_limit,
        )
    except TryggplanError as exc:
        return None, [f"{week} could not be re-planned without the declined walk ({exc}): the coordinator re-plans it"]
    new = NewPlan(
        kind="week",
        week=week,
        plan=dict(remade.to_dict(), kind="week"),
        resource_id=source.resource_id,
        forecast_run_id=source.forecast_run_id,
        actor=actor,
        parent_id=source.id,
        municipality=source.municipality,
        created_at=now,
    )
    with stored.writing(engine, source.municipality) as w:
        made = w.add_plan(new)
        if w.plan(source.id).state != "published":
            return made.id, [f"plan {source.id} was replaced meanwhile: the re-made plan {made.id} stays a draft"]
        published = _publish(w, made.id, now)
    return made.id, published.notes


def link_calendar(engine: Engine, secret: str, now: dt.datetime, lang: str = "sv") -> bytes:
    """The association's accepted walks as an iCalendar feed (subscribable; one stable UID per walk)."""
    check_now(now)
    link = _link(engine, secret)
    tz = _tz_of(engine, link.municipality)
    offers = [o for o in stored.read_ledger(engine, link.municipality).offers if o.association == link.association]
    accepted = [o for o in offers if o.status == "accepted"]
    walks = [
        {
            "association": o.association,
            "night": o.night.isoformat(),
            "area": o.area,
            "start": pd.Timestamp(o.start).tz_convert(tz).isoformat(),
            "end": pd.Timestamp(o.end).tz_convert(tz).isoformat(),
        }
        for o in accepted
    ]
    changed = [o.answered_at or o.offered_at for o in offers]
    name = ("Night walks: " if lang == "en" else "Nattvandringar: ") + link.association
    return walks_ics(walks, tz, name, stamp=max(changed) if changed else now)


# --------------------------------------------------------------------------- the association's page

#: what a walk on the association's page is: still to answer, accepted and ahead, declined and ahead,
#: ended and to report back, reported back, or recorded by the coordinator as not done
LinkWalkState = Literal["offered", "accepted", "declined", "to_report", "reported", "recorded"]
#: walks reported back or recorded stay on the page this many days after their night
SHOWN_AFTER_DAYS = 14
#: the most walkers a report-back may name, and the longest observations [characters]
MAX_WALKERS = 50
MAX_OBSERVATIONS = 2000


@dataclass(frozen=True)
class LinkWalk:
    """One walk on the association's page, with its record and report-back when it has them."""

    offer: OfferInfo
    state: LinkWalkState
    record: WalkRecordInfo | None = None
    report: WalkReportInfo | None = None


@dataclass(frozen=True)
class AssociationPage:
    """What ``/forening/{secret}`` shows: the association's walks by night, in its season's zone."""

    link: LinkInfo
    walks: list[LinkWalk]
    tz: str


def _current_of(records: Sequence[WalkRecordInfo]) -> dict[tuple[str, dt.date], WalkRecordInfo]:
    """The current record of each walk (the newest of its chain of corrections)."""
    current = lib.current_records([_walk(r) for r in records])
    by_id = {r.id: r for r in records}
    return {key: by_id[r.id] for key, r in current.items() if r.id is not None and r.id in by_id}


def _link_walk(
    offer: OfferInfo,
    record: WalkRecordInfo | None,
    report: WalkReportInfo | None,
    now: dt.datetime,
) -> LinkWalk | None:
    ended = offer.end <= now
    recent = offer.night >= (now.date() - dt.timedelta(days=SHOWN_AFTER_DAYS))
    if not ended:
        if offer.status == "offered" and offer.start <= now:
            return None  # begun without an answer: nothing to do here any more
        if offer.status in ("offered", "accepted", "declined") and record is None:
            return LinkWalk(offer, offer.status)  # type: ignore[arg-type]
        return None
    if offer.status != "accepted":
        return None
    if record is None or (record.status == "completed" and report is None):
        return LinkWalk(offer, "to_report", record)
    if report is not None:
        return LinkWalk(offer, "reported", record, report) if recent else None
    return LinkWalk(offer, "recorded", record) if recent else None


def association_page(engine: Engine, secret: str, now: dt.datetime) -> AssociationPage:
    """The association's walks for its page: those still ahead (offered, accepted, declined) and those
    accepted that have ended (to report back; reported back or recorded in the last
    :data:`SHOWN_AFTER_DAYS` days), by night. :class:`NotFoundError` for an unknown or revoked link."""
    check_now(now)
    link = _link(engine, secret)
    snap = stored.read_ledger(engine, link.municipality)
    current = _current_of(snap.records)
    reports = {r.walk_record_id: r for r in stored.read_reports(engine, link.municipality)}
    walks = []
    for o in snap.offers:
        if o.association != link.association:
            continue
        record = current.get((o.association, o.night))
        shown = _link_walk(o, record, reports.get(record.id) if record else None, now)
        if shown is not None:
            walks.append(shown)
    walks.sort(key=lambda w: (w.offer.start, w.offer.id))
    return AssociationPage(link, walks, _tz_of(engine, link.municipality))


@dataclass(frozen=True)
class ReportOutcome:
    """A report-back stored: its walk record (new, or the coordinator's ``completed`` one) and itself."""

    record: WalkRecordInfo
    report: WalkReportInfo
    #: whether the report-back made the walk's ``completed`` record (it counts in the ledger now)
    recorded: bool


def check_walkers(walkers: int) -> int:
    if isinstance(walkers, bool) or not isinstance(walkers, int) or not 1 <= walkers <= MAX_WALKERS:
        raise InvalidInputError(f"walkers {walkers!r}: give how many walked, 1 to {MAX_WALKERS}")
    return walkers


def check_observations(text: str | None) -> str | None:
    """Observations as stored: free text (line breaks kept, control characters refused), at most
    :data:`MAX_OBSERVATIONS` characters; ``None`` when empty."""
    if text is None:
        return None
    cleaned = normalize_free_text(text, "observations")
    if len(cleaned) > MAX_OBSERVATIONS:
        raise InvalidInputError(
            f"observations have {len(cleaned)} characters: shorten them to at most {MAX_OBSERVATIONS}"
        )
    return cleaned or None


def report_walk(
    engine: Engine,
    secret: str,
    offer_id: int,
    *,
    walkers: int,
    observations: str | None,
    now: dt.datetime,
) -> ReportOutcome:
    """An association reports back on an accepted walk that has ended (its page's "Skicka återrapport"):
    the walk is recorded ``completed`` in the season ledger (the walk-record path of
    :func:`record_walk`: ``GET /api/v1/season`` counts it at once) and the report-back (walkers,
    observations) is stored with that record, in one locked transaction. A walk the coordinator already
    recorded ``completed`` keeps its record and gets the report-back. Refused
    (:class:`LinkRefusedError`): a walk not accepted, not yet ended, already reported back, or recorded as
    not done; the library's rules as for any record (e.g. a night outside the season)."""
    check_now(now)
    walkers = check_walkers(walkers)
    observations = check_observations(observations)
    link = _link(engine, secret)
    by = f"link:{link.id}:{link.association}"
    season = season_of(engine, link.municipality, infer=False)
    with stored.writing(engine, link.municipality) as w:
        snap = w.snapshot()
        offer = next((o for o in snap.offers if o.id == offer_id and o.association == link.association), None)
        if offer is None:
            raise LinkRefusedError("unknown_offer", f"no offer {offer_id} for {link.association!r}")
        what = f"the walk on the night of {offer.night}"
        if offer.status != "accepted":
            raise LinkRefusedError("not_accepted", f"{what} is {offer.status}, not accepted: nothing to report")
        if offer.end > now:
            raise LinkRefusedError(
                "not_ended",
                f"{what} ends at {pd.Timestamp(offer.end).tz_convert(season.tz):%Y-%m-%d %H:%M}: report back after it",
            )
        record = _current_of(snap.records).get((offer.association, offer.night))
        reported = {r.walk_record_id for r in w.reports()}
        if record is not None and record.id in reported:
            raise LinkRefusedError("reported", f"{what} was reported back already")
        if record is not None and record.status != "completed":
            raise LinkRefusedError("recorded", f"{what} is recorded as {record.status}: tell the coordinator")
        made = record is None
        if record is None:
            new, shift_end = _new_record(
                engine, season, association=offer.association, night=offer.night, status="completed", actor=by,
                now=now, area=offer.area, plan_id=offer.plan_id, shift_index=offer.shift_index, corrects=None,
                note=None,
            )  # fmt: skip
            led = _ledger(season.spec, snap)
            lib.check_record(new, season.spec, led.records, led.payouts, planned=led.planned(), shift_end=shift_end)
            record = w.add_record(
                association=offer.association,
                night=offer.night,
                status="completed",
                recorded_at=now,
                actor=by,
                area=new.area,
                plan_id=offer.plan_id,
                shift_index=offer.shift_index,
            )
        report = w.add_report(
            walk_record_id=record.id,
            association=offer.association,
            night=offer.night,
            offer_id=offer.id,
            walkers=walkers,
            observations=observations,
            at=now,
            actor=by,
        )
        return ReportOutcome(record, report, made)


def list_reports(engine: Engine, season: Season) -> list[WalkReportInfo]:
    """The associations' report-backs of the season (``GET /api/v1/season/reports``), by night."""
    return [r for r in stored.read_reports(engine, season.municipality) if _in_season(season.spec, r.night)]


# --------------------------------------------------------------------------- links (coordinator)


def create_link(
    engine: Engine, season: Season, association: str, actor: str, now: dt.datetime | None = None
) -> tuple[str, LinkInfo]:
    """A new link for an association of the season's spec: the secret is shown once."""
    names = [a.name for a in season.spec.associations]
    if association not in names:
        raise InvalidInputError(f"unknown association {association!r}: use one of {names}")
    return stored.create_link(engine, season.municipality, association, actor, now)


def list_links(engine: Engine, season: Season, include_revoked: bool = False) -> list[LinkInfo]:
    return stored.list_links(engine, season.municipality, include_revoked=include_revoked)


def get_link(engine: Engine, link_id: int) -> LinkInfo:
    return stored.get_link(engine, link_id)


def revoke_link(engine: Engine, link_id: int, now: dt.datetime | None = None) -> LinkInfo:
    """Revoke a link: its secret answers 404 from then on."""
    return stored.revoke_link(engine, link_id, now)


def records_of_plan(engine: Engine, plan_id: int) -> list[WalkRecordInfo]:
    return stored.records_of_plan(engine, plan_id)

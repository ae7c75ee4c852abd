"""The situation picture (lägesbild) from the database, and its meeting notes (decisions).

``tryggplan report situation`` and ``GET /api/v1/reports/situation`` (JSON, ``.html``, ``.csv``) both
call :func:`situation`; ``tryggplan report note`` and ``POST /api/v1/reports/situation/notes`` call
:func:`add_note`. The figures are :func:`tryggplan.reporting.situation.situation_picture`'s, fed with:

* the incidents and places of the municipalities in scope;
* where each source's data begin and end in the whole database (the report's ``data_until``,
  ``sources_until`` and ``warnings``), and, when the police feed of more than one municipality is
  stored, the whole feed's counts in the report's windows (its ``feed``);
* the walk records (:func:`walk_records`, the one place that reads them) and the guard shifts of the
  plans in force that have ended (:func:`shifts_in_force`; there is no guard record yet, so a guard
  shift of the plan in force counts as worked once it has ended);
* the newest finished forecast that covers the days after ``to``, per municipality
  (:func:`ahead_windows`), and the shifts of the plans in force for those days, less the walks
  recorded as cancelled or no-show;
* the meeting notes taken from the start of the period to the end of the days after ``to``.

Which plan is in force: only published plans (a draft is nobody's commitment: its guard hours are
never "done"). Within each municipality and ISO week, a published plan's shift counts unless a plan
of the same municipality with shifts in that week was published later, before the shift started (that
plan replaced it); identical shifts of several plans (a re-plan keeps the shifts already done) count
once. Walks and shifts are matched to the report's municipalities by municipality and place ids,
never by area name: area names are per municipality (two towns may both have "Centrum").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine

from tryggplan.allocation.spec import Resources, ShiftTemplate
from tryggplan.domain import DEFAULT_TZ, InvalidInputError, NotFoundError
from tryggplan.i18n import Lang, check_lang
from tryggplan.reporting.html import situation_csv, situation_html
from tryggplan.reporting.situation import FEED_SOURCE, FeedCounts, SourceSpan, report_windows, situation_picture
from tryggplan.storage import forecasts as runs
from tryggplan.storage import incidents as stored
from tryggplan.storage import ledger as stored_ledger
from tryggplan.storage import places as stored_places
from tryggplan.storage import plans as stored_plans
from tryggplan.storage import reports as stored_reports
from tryggplan.storage.records import IncidentExtent, NoteRecord, OfferInfo, PlanRecordInfo, WalkRecordInfo
from tryggplan.storage.scope import AREA_WIDE, Scope
from tryggplan.timeutil import check_tz, iso_week_of, local_midnight
from tryggplan.usecases import forecasts
from tryggplan.usecases.access import Principal, check_place
from tryggplan.usecases.moments import parse_day, parse_time

DEFAULT_DAYS = 14
MAX_DAYS = 366
#: longest meeting note [characters]
MAX_NOTE_CHARS = 2000
#: most places one note may name
MAX_NOTE_PLACES = 200


# --------------------------------------------------------------------------- input checks


def check_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInputError(f"days must be a whole number from 1 to {MAX_DAYS}, got {days!r}")
    return days


def check_municipalities(engine: Engine, municipalities: Sequence[str] | None) -> list[str] | None:
    """The municipalities asked for, each one that the stored places name (``None``: all)."""
    if municipalities is None:
        return None
    wanted = list(dict.fromkeys(str(m).strip() for m in municipalities))
    if not wanted or not all(wanted):
        raise InvalidInputError("municipality is empty: name a municipality, e.g. Kungsör")
    known = stored_places.municipalities(engine)
    unknown = [m for m in wanted if m not in known]
    if unknown:
        listed = ", ".join(known) if known else "none yet: import places first"
        raise InvalidInputError(f"unknown municipality {unknown[0][:80]!r}: the places name {listed}")
    return wanted


# --------------------------------------------------------------------------- walks and shifts

#: a walk of the season ledger: (municipality, association, night); municipality ``None`` for a
#: single-town ledger
WalkKey = tuple[str | None, str, dt.date]
#: the hours of a walk recorded by association and night when neither a plan, an offer nor the
#: resources spec says them: 20:00-00:00 local, the first template of the demo and of most specs
DEFAULT_WALK_HOURS: tuple[int, int] = (20, 0)
#: where a walk's places come from (``WalkDone.places_from``)
PlacesFrom = Literal["plan", "offer", "report_back", "area"]
#: why a walk has no place-hours (``WalkDone.reason``)
NoPlacesReason = Literal["no_area", "unknown_area"]


@dataclass(frozen=True)
class WalkDone:
    """One walk of the season ledger (the current record of its municipality, association and night):
    its status (``completed``, ``no_show``, ``cancelled``) and, when they can be known, the places it
    covered and its times (ISO 8601 with offsets).

    ``places_from`` says where its places come from (see :func:`walk_records`); without them
    ``reason`` says why: ``no_area`` (no plan shift, offer or area recorded, and the association has
    no single area in its municipality's resources spec) or ``unknown_area`` (the area has no places).
    """

    association: str
    night: dt.date
    status: str
    recorded_at: dt.datetime
    area: str | None = None
    place_ids: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    plan_id: int | None = None
    shift_index: int | None = None
    municipality: str | None = None
    places_from: PlacesFrom | None = None
    reason: NoPlacesReason | None = None

    @property
    def key(self) -> WalkKey:
        return (self.municipality, self.association, self.night)

    def record(self) -> dict[str, Any]:
        """The walk record as :func:`tryggplan.reporting.situation.situation_picture` takes it."""
        return {
            "association": self.association,
            "night": self.night.isoformat(),
            "status": self.status,
            "municipality": self.municipality,
            "area": self.area,
            "place_ids": list(self.place_ids),
        }

    def shift(self) -> dict[str, Any] | None:
        """The walk's place-hours as a plan.json shift, when its places and times are known."""
        if not (self.place_ids and self.start and self.end):
            return None
        return {
            "kind": "night_walk",
            "association": self.association,
            "area": self.area,
            "place_ids": list(self.place_ids),
            "start": self.start,
            "end": self.end,
        }


def _shift_night(shift: dict[str, Any]) -> dt.date | None:
    night = shift.get("night")
    try:
        if night:
            return dt.date.fromisoformat(str(night))
        start = shift.get("start")
        return pd.Timestamp(start).date() if start else None  # the local date of its own offset
    except (TypeError, ValueError):
        return None


def _week_range(first: dt.date | None, last: dt.date | None) -> tuple[str | None, str | None]:
    # a shift's week is that of its night; a night may start the day before a week begins
    return (
        iso_week_of(first - dt.timedelta(days=1)) if first is not None else None,
        iso_week_of(last + dt.timedelta(days=1)) if last is not None else None,
    )


@dataclass(frozen=True)
class _Town:
    """What a municipality's resources spec and places say about its walks."""

    tz: str
    #: area name -> place ids
    areas: dict[str, tuple[str, ...]]
    #: association -> its usual template's (start hour, end hour) and its only area, if it has one
    usual_hours: dict[str, tuple[int, int]]
    only_area: dict[str, str]
    default_hours: tuple[int, int]

    def window(self, association: str, night: dt.date) -> tuple[str, str]:
        """The local start and end (ISO with offsets) of ``association``'s usual walk on ``night``."""
        start_h, end_h = self.usual_hours.get(association, self.default_hours)
        template = ShiftTemplate(name="usual", start=f"{start_h:02d}:00", end=f"{end_h:02d}:00")
        a, b = template.window(night, self.tz)
        return a.isoformat(), b.isoformat()


def _town(engine: Engine, municipality: str | None) -> _Town:
    """The walking areas and usual hours of ``municipality`` (``None``: a single-town deployment):
    from its newest resources spec (the areas' places; each association's first accepted template,
    else the spec's first template), else from the places' ``area`` and :data:`DEFAULT_WALK_HOURS`."""
    stored_spec = stored_plans.newest_resources(engine, municipality)
    spec: Resources | None = None
    if stored_spec is not None:
        try:
            spec = Resources.model_validate(stored_spec.spec)
        except ValueError:
            spec = None  # an old spec the current rules refuse: fall back on the places
    places = stored.read_places(engine, municipality=municipality)
    by_area: dict[str, tuple[str, ...]] = {}
    if "area" in places.columns:
        for area, group in places.groupby("area"):
            if isinstance(area, str) and area:
                by_area[area] = tuple(sorted(group["place_id"].astype(str)))
    if spec is None:
        return _Town(DEFAULT_TZ, by_area, {}, {}, DEFAULT_WALK_HOURS)
    first = spec.templates[0]
    usual: dict[str, tuple[int, int]] = {}
    only: dict[str, str] = {}
    for assoc in spec.associations:
        template = spec.template(assoc.templates[0]) if assoc.templates else first
        usual[assoc.name] = (template.start_hour, template.end_hour)
        if assoc.areas and len(assoc.areas) == 1:
            only[assoc.name] = assoc.areas[0]
        elif assoc.areas is None and len(spec.areas) == 1:
            only[assoc.name] = spec.areas[0].name
    areas = {**by_area, **{a.name: tuple(a.place_ids) for a in spec.areas}}
    return _Town(spec.tz, areas, usual, only, (first.start_hour, first.end_hour))


def report_back_places(engine: Engine, keys: Sequence[WalkKey]) -> dict[WalkKey, tuple[str, ...]]:
    """The places each walk's report-back lists (``/forening/{secret}``, "Skicka återrapport").

    Hook: the report-backs are not stored with places yet, so there are none to read and this
    returns ``{}``. When they are, read them here (one query for ``keys``): :func:`walk_records`
    then counts those walks at the places the walkers listed."""
    del engine, keys
    return {}


def walk_records(
    engine: Engine,
    first_night: dt.date | None = None,
    last_night: dt.date | None = None,
    *,
    reported_places: Mapping[WalkKey, Sequence[str]] | None = None,
) -> list[WalkDone]:
    """The season ledgers' walks of the nights ``first_night..last_night`` (``None``: open), one per walk
    (municipality, association and night: the latest record wins, as in the ledger), sorted by night,
    municipality and association.

    Every walk brings the place-hours it covered when they can be known, wherever it was recorded:

    * places: those its report-back lists (``reported_places``, default :func:`report_back_places`),
      else those of the plan shift it was recorded against, else those of the walk offered to that
      association for that night (its plan shift's, or its area's), else its area's: the record's
      area, or the association's only area in the municipality's resources spec (an area's places are
      the spec's, else the places stored with that ``area`` in that municipality: area names are per
      municipality);
    * times: the plan shift's, else the offer's, else the association's usual hours (its first
      template in the spec, else the spec's first template, else :data:`DEFAULT_WALK_HOURS`) on
      that night.

    A walk whose places cannot be known keeps ``place_ids`` empty and says why (``reason``): it
    counts as done but covers no place-hour.

    This is the one place the reports and the walk evaluation read walk records."""
    current: dict[WalkKey, WalkRecordInfo] = {}
    for record in stored_ledger.records_between(engine, first_night, last_night):
        current[(record.municipality, record.association, record.night)] = record
    listed = (
        dict(reported_places)
        if reported_places is not None
        else report_back_places(engine, sorted(current, key=lambda k: (k[0] or "", k[1], k[2])))
    )
    plans: dict[int, dict[str, Any]] = {}

    def plan_shift(plan_id: int | None, index: int | None) -> dict[str, Any]:
        if plan_id is None or index is None:
            return {}
        if plan_id not in plans:
            try:
                plans[plan_id] = stored_plans.get_plan(engine, plan_id).plan
            except NotFoundError:
                plans[plan_id] = {}
        shifts = plans[plan_id].get("shifts") or []
        return shifts[index] if 0 <= index < len(shifts) else {}

    towns: dict[str | None, _Town] = {}
    offers: dict[str | None, dict[tuple[str, dt.date], OfferInfo]] = {}
    out = []
    for key, record in current.items():
        town_name = record.municipality
        shift = plan_shift(record.plan_id, record.shift_index)
        reported = tuple(str(p) for p in listed.get(key) or ())
        places = tuple(str(p) for p in shift.get("place_ids") or ())
        start, end = shift.get("start"), shift.get("end")
        area = record.area or shift.get("area")
        places_from: PlacesFrom | None = "plan" if places and start and end else None
        reason: NoPlacesReason | None = None
        if not (places and start and end) or reported:
            if town_name not in offers:
                offers[town_name] = {
                    (o.association, o.night): o
                    for o in stored_ledger.read_ledger(engine, town_name).offers
                    if o.status in stored_ledger.ACTIVE
                }
            offer = offers[town_name].get((record.association, record.night))
            if town_name not in towns:
                towns[town_name] = _town(engine, town_name)
            town = towns[town_name]
            if not (start and end) and offer is not None:
                start, end = pd.Timestamp(offer.start).isoformat(), pd.Timestamp(offer.end).isoformat()
                places_from = "offer"
            if not places and offer is not None:
                offered = plan_shift(offer.plan_id, offer.shift_index)
                places = tuple(str(p) for p in offered.get("place_ids") or ()) or town.areas.get(offer.area, ())
                area = area or offer.area
                places_from = "offer"
            if not places:
                area = area or town.only_area.get(record.association)
                places = town.areas.get(area, ()) if area else ()
                places_from = "area" if places else None
                reason = None if places else ("unknown_area" if area else "no_area")
            if reported:
                places, places_from = reported, "report_back"
            if places and not (start and end):
                start, end = town.window(record.association, record.night)
        out.append(
            WalkDone(
                association=record.association,
                night=record.night,
                status=record.status,
                recorded_at=record.recorded_at,
                area=area,
                place_ids=places,
                start=start if places else None,
                end=end if places else None,
                plan_id=record.plan_id,
                shift_index=record.shift_index,
                municipality=town_name,
                places_from=places_from if places else None,
                reason=reason,
            )
        )
    return sorted(out, key=lambda w: (w.night, w.municipality or "", w.association.casefold()))


@dataclass(frozen=True)
class ShiftInForce:
    """A shift (plan.json form) of the plan in force, with the plan (and its municipality) it comes from."""

    shift: dict[str, Any]
    plan_id: int
    forecast_run_id: int
    start: pd.Timestamp
    end: pd.Timestamp
    municipality: str | None = None


def shifts_in_force(plans: Sequence[PlanRecordInfo]) -> list[ShiftInForce]:
    """The shifts of ``plans`` that were (or are) in force, in time order (see the module docstring).

    Only published plans (``published``, or ``superseded`` by a newer published plan) are ever in
    force: a draft's shifts are nobody's commitment. Plans replace each other only within their
    municipality (a town's plan never replaces another town's), from the moment they were published."""
    by_week: dict[tuple[str | None, str], dict[int, list[ShiftInForce]]] = {}
    published: dict[int, tuple[dt.datetime, int]] = {}
    for plan in plans:
        if plan.published_at is None or plan.state not in ("published", "superseded"):
            continue
        published[plan.id] = (plan.published_at, plan.id)
        for shift in plan.plan.get("shifts") or []:
            night = _shift_night(shift)
            try:
                start, end = pd.Timestamp(shift["start"]), pd.Timestamp(shift["end"])
            except (KeyError, TypeError, ValueError):
                continue
            if night is None or start.tzinfo is None or end.tzinfo is None or not shift.get("place_ids"):
                continue
            item = ShiftInForce(shift, plan.id, plan.forecast_run_id, start, end, plan.municipality)
            by_week.setdefault((plan.municipality, iso_week_of(night)), {}).setdefault(plan.id, []).append(item)
    seen: set[tuple[Any, ...]] = set()
    kept: list[ShiftInForce] = []
    for week_plans in by_week.values():
        ids = sorted(week_plans, key=lambda i: published[i])
        for i, plan_id in enumerate(ids):
            replaced_at = published[ids[i + 1]][0] if i + 1 < len(ids) else None
            for item in week_plans[plan_id]:
                if replaced_at is not None and item.start >= replaced_at:
                    continue
                s = item.shift
                key: tuple[Any, ...] = (item.municipality, s.get("kind"), s.get("association") or s.get("guard"))
                key += (item.start, item.end, *sorted(map(str, s["place_ids"])))
                if key not in seen:
                    seen.add(key)
                    kept.append(item)
    kept.sort(
        key=lambda x: (x.start, x.municipality or "", str(x.shift.get("association") or x.shift.get("guard") or ""))
    )
    return kept


def guard_shifts_worked(shifts: Sequence[ShiftInForce], now: dt.datetime) -> list[ShiftInForce]:
    """The guard shifts in force that have ended by ``now`` (there is no guard record yet)."""
    return [s for s in shifts if s.shift.get("kind") == "guard" and s.end <= now]


def now_utc(now: dt.datetime | None = None) -> pd.Timestamp:
    """``now`` (tz-aware), default the clock."""
    stamp = pd.Timestamp(now) if now is not None else pd.Timestamp.now(tz="UTC")
    if stamp.tzinfo is None:
        raise InvalidInputError("now needs a time zone")
    return stamp


# --------------------------------------------------------------------------- look ahead


def ahead_windows(
    engine: Engine, places: pd.DataFrame, first: dt.date, days: int
) -> tuple[list[dict[str, Any]], str | None]:
    """High-risk windows of the local days ``first .. first + days - 1`` for ``places``, each
    municipality's from the newest finished forecast covering those days (one for that municipality
    or an area-wide one), and the earliest ``trained_until`` of the forecasts used (``None``: no
    forecast covers them)."""
    if places.empty:
        return [], None
    last = first + dt.timedelta(days=days - 1)
    candidates = [runs.get_run(engine, i) for i in stored_reports.runs_covering(engine, first, last)]
    town_of = {
        str(p): (m if isinstance(m, str) and m else "")
        for p, m in zip(places["place_id"], places["municipality"], strict=True)
    }
    names = {
        str(p): (n if isinstance(n, str) and n else str(p))
        for p, n in zip(places["place_id"], places["name"], strict=True)
    }
    chosen: dict[int, set[str]] = {}
    for town in sorted(set(town_of.values())):
        run = next((r for r in candidates if r.municipality is None or (town and r.municipality == town)), None)
        if run is not None:
            chosen.setdefault(run.id, set()).add(town)
    windows: list[dict[str, Any]] = []
    trained: list[dt.datetime] = []
    for run in candidates:
        if run.id not in chosen:
            continue
        ids = sorted(p for p, t in town_of.items() if t in chosen[run.id])
        grid = runs.read_grid(
            engine,
            run,
            place_ids=ids,
            start=local_midnight(first, run.tz),
            end=local_midnight(last + dt.timedelta(days=1), run.tz),
        )
        if grid.empty:
            continue
        if run.trained_until is not None:
            trained.append(run.trained_until)
        frame = forecasts.grid_windows(
            grid,
            tz=run.tz,
            place_names=names,
            town_of={p: town_of[p] for p in ids},
            town_rates=runs.town_base_rates(engine, run),
        )
        windows += [
            {
                "place_id": str(r.place_id),
                "label": str(r.label),
                "start": pd.Timestamp(r.start).isoformat(),
                "end": pd.Timestamp(r.end).isoformat(),
                "expected": float(r.expected),
            }
            for r in frame.itertuples(index=False)
        ]
    return windows, (min(trained).isoformat() if trained else None)


# --------------------------------------------------------------------------- the report


def situation(
    engine: Engine,
    to: str | dt.date,
    *,
    days: int = DEFAULT_DAYS,
    municipalities: Sequence[str] | None = None,
    tz: str = DEFAULT_TZ,
    lang: str = "sv",
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The situation picture of the ``days`` local days ending with ``to`` as a JSON-ready dict
    (DESIGN.md, "Situation picture"; the extras of
    :func:`tryggplan.reporting.situation.situation_picture`), for ``municipalities`` (``None``: all).
    ``now`` (default the clock) decides which guard shifts have been worked."""
    language: Lang = check_lang(lang)
    check_tz(tz)
    day = parse_day(to, "to")
    days = check_days(days)
    scope = check_municipalities(engine, municipalities)
    moment = now_utc(now)
    places = stored.read_places(engine, municipality=scope)
    frm = day - dt.timedelta(days=days - 1)
    after = day + dt.timedelta(days=1)
    ahead_end = after + dt.timedelta(days=days)
    earliest = min(dt.date(day.year - 1, 1, 1), frm - dt.timedelta(days=days))
    incidents = stored.read_incidents(
        engine, start=local_midnight(earliest, tz), end=local_midnight(after, tz), municipality=scope
    )
    walks = walk_records(engine, frm, day)
    in_force = shifts_in_force(stored_reports.plans_for_weeks(engine, *_week_range(frm, ahead_end)))
    period_start, period_end = local_midnight(frm, tz), local_midnight(after, tz)
    covered = [s for w in walks if w.status == "completed" and (s := w.shift()) is not None]
    covered += [s.shift for s in guard_shifts_worked(in_force, moment) if s.start < period_end and s.end > period_start]
    ahead_start, ahead_stop = local_midnight(after, tz), local_midnight(ahead_end, tz)
    # a walk recorded as cancelled or no-show is not in the plan any more (in its own municipality)
    called_off = {w.key for w in walk_records(engine, day, ahead_end) if w.status in ("cancelled", "no_show")}
    planned = [
        s.shift
        for s in in_force
        if s.start < ahead_stop
        and s.end > ahead_start
        and (s.municipality, str(s.shift.get("association") or ""), _shift_night(s.shift)) not in called_off
    ]
    extents = stored_reports.incident_extents(engine)
    spans = [SourceSpan(e.municipality, e.source, pd.Timestamp(e.first), pd.Timestamp(e.last)) for e in extents]
    windows, trained_until = ahead_windows(engine, places, after, days)
    notes = [
        {"at": n.at.isoformat(), "text": n.text, "place_ids": list(n.place_ids)}
        for n in stored_reports.list_notes(
            engine,
            start=local_midnight(frm, tz),
            end=ahead_stop,
            scope=Scope(tuple(scope)) if scope is not None else AREA_WIDE,
        )
    ]
    return situation_picture(
        incidents,
        places,
        day,
        days=days,
        tz=tz,
        municipalities=scope,
        walks=[w.record() for w in walks],
        covered=covered,
        windows=windows,
        trained_until=trained_until,
        planned=planned,
        notes=notes,
        spans=spans,
        feed=feed_counts(engine, extents, day, days, tz),
        lang=language,
    )


def feed_counts(
    engine: Engine, extents: Sequence[IncidentExtent], to: dt.date, days: int, tz: str
) -> FeedCounts | None:
    """The whole police feed's counts in the windows of the report of the ``days`` days ending with
    ``to``, when the database holds the feed (source ``police``) of more than one municipality; else
    ``None``. Only counts leave here, never rows: the feed is the police's public one."""
    feed = [e for e in extents if e.source == FEED_SOURCE]
    towns = {e.municipality for e in feed if e.municipality}
    if len(towns) < 2:
        return None
    w = report_windows(to, days)
    ranges = [w.period, w.previous, w.last_year, w.ytd, w.ytd_last_year]
    bounds = [
        (local_midnight(a, tz).to_pydatetime(), local_midnight(b + dt.timedelta(days=1), tz).to_pydatetime())
        for a, b in ranges
    ]
    count, previous, last_year, ytd, ytd_last = stored_reports.count_between(engine, bounds, FEED_SOURCE)
    return FeedCounts(
        municipalities=len(towns),
        count=count,
        previous=previous,
        last_year=last_year,
        ytd=ytd,
        ytd_last_year=ytd_last,
        first=min(pd.Timestamp(e.first).tz_convert(tz).date() for e in feed),
        last=max(pd.Timestamp(e.last).tz_convert(tz).date() for e in feed),
    )


def situation_as_html(report: dict[str, Any], lang: str | None = None) -> str:
    """The report as one print-ready HTML page (Swedish unless ``lang="en"``)."""
    return situation_html(report, lang=check_lang(lang) if lang is not None else None)


def situation_as_csv(report: dict[str, Any], lang: str | None = None) -> bytes:
    """The report's look-back tables as CSV for Swedish Excel."""
    return situation_csv(report, lang=check_lang(lang) if lang is not None else None)


# --------------------------------------------------------------------------- notes


def add_note(
    engine: Engine,
    text: str,
    place_ids: Sequence[str] = (),
    *,
    at: str | dt.datetime | None = None,
    tz: str = DEFAULT_TZ,
    actor: str | None = None,
    principal: Principal | None = None,
    now: dt.datetime | None = None,
) -> NoteRecord:
    """Store a decision of a situation-picture meeting about ``place_ids`` (none: the whole area),
    taken ``at`` (default now; a date or local time in ``tz``, or ISO 8601 with an offset; not in the
    future). A scoped ``principal`` may note only its municipalities' places and must name them."""
    body = (text or "").strip()
    if not body:
        raise InvalidInputError("the note has no text: write what was decided")
    if len(body) > MAX_NOTE_CHARS:
        raise InvalidInputError(f"the note is {len(body)} characters long: keep it to {MAX_NOTE_CHARS}")
    ids = list(dict.fromkeys(str(p).strip() for p in place_ids))
    if any(not p for p in ids):
        raise InvalidInputError("a place id of the note is empty: name each place by its place_id")
    if len(ids) > MAX_NOTE_PLACES:
        raise InvalidInputError(f"the note names {len(ids)} places: name at most {MAX_NOTE_PLACES}")
    known = stored_places.place_municipalities(engine, ids) if ids else {}
    missing = [p for p in ids if p not in known]
    if missing:
        raise InvalidInputError(f"unknown place {missing[0][:80]!r}: a note names stored places by their place_id")
    if principal is not None:
        for p in ids:
            check_place(principal, p, known[p])
        if principal.scoped and not ids:
            raise InvalidInputError(
                f"{principal.who} is for {', '.join(principal.municipalities or ())}: name the places the note concerns"
            )
    moment = now_utc(now)
    when = parse_time(at, check_tz(tz), "at") if isinstance(at, str) else at
    if when is None:
        when = moment
    when = pd.Timestamp(when)
    if when.tzinfo is None:
        raise InvalidInputError("at needs a time zone, e.g. 2026-12-01T10:00:00+01:00")
    if when > moment + pd.Timedelta(minutes=5):
        raise InvalidInputError(
            f"at {when.isoformat()} is in the future: a note records a decision already taken (leave at out for now)"
        )
    towns = set(known.values())
    town = next(iter(towns)) if len(towns) == 1 else None
    return stored_reports.add_note(
        engine, when.tz_convert("UTC").floor("s").to_pydatetime(), body, ids, actor, municipality=town
    )


def list_notes(
    engine: Engine,
    *,
    start: str | None = None,
    end: str | None = None,
    tz: str = DEFAULT_TZ,
    principal: Principal | None = None,
    limit: int = 200,
) -> list[NoteRecord]:
    """Meeting notes taken in ``[start, end)`` (dates or times in ``tz``), oldest first; a scoped
    ``principal`` sees the notes of its municipalities only (a note about places of several towns, or the
    whole area, is read by area-wide callers only)."""
    check_tz(tz)
    t0 = parse_time(start, tz, "start")
    t1 = parse_time(end, tz, "end")
    return stored_reports.list_notes(
        engine,
        start=t0.to_pydatetime() if t0 is not None else None,
        end=t1.to_pydatetime() if t1 is not None else None,
        limit=limit,
        scope=principal.scope if principal is not None else AREA_WIDE,
    )


def note_dict(note: NoteRecord) -> dict[str, Any]:
    return {
        "id": note.id,
        "at": note.at.isoformat(),
        "text": note.text,
        "place_ids": list(note.place_ids),
        "created_at": note.created_at.isoformat(),
        "actor": note.actor,
    }


__all__ = [
    "DEFAULT_WALK_HOURS",
    "ShiftInForce",
    "WalkDone",
    "add_note",
    "ahead_windows",
    "feed_counts",
    "list_notes",
    "note_dict",
    "report_back_places",
    "shifts_in_force",
    "situation",
    "walk_records",
]

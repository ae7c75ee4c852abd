"""The fortnightly situation picture (lägesbild): look back, year to date, what was done, look ahead
and decisions (docs/architecture.md, "The coordinator's fortnight").

Rules (all dates local in ``tz``):

* the period is the ``days`` local days ending with ``to`` (inclusive): ``from = to - days + 1``;
* ``previous`` is the ``days`` days before it;
* ``last_year`` is the same calendar dates one year earlier: ``from`` and ``to`` with the year
  minus one, 29 February mapped to 28 February. The last-year window therefore has one day
  fewer (or more) than ``days`` when the period spans the end of February of a leap year (or of
  the year after one); ``last_year_from``/``last_year_to`` in the result say which dates were used;
* ``ytd`` is 1 January to ``to`` against 1 January to ``to`` one year earlier (29 February ->
  28 February);
* counts are incidents (rows), never weights;
* ``_pct = round(100 * (now - ref) / ref, 1)``, ``None`` when ``ref`` is 0;
* ``p_value`` is the two-sided exact conditional binomial test of equal rates between ``count``
  and ``previous`` (equal exposure: ``scipy.stats.binomtest(count, count + previous, 0.5)``), ``None``
  when both are 0; ``flag`` is ``"up"``/``"down"`` when ``p_value < 0.05``, else ``None``.

References
----------
Przyborowski, J. and Wilenski, H. (1940). Homogeneity of results in testing samples from Poisson
series. *Biometrika* 31, 313-323 (the conditional binomial test of two Poisson counts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from tryggplan.domain import DEFAULT_TZ, InvalidInputError
from tryggplan.i18n import Lang, check_lang, message, register_messages
from tryggplan.reporting.coverage import incident_times, parse_shift, shift_cells
from tryggplan.timeutil import check_tz, local_midnight

#: significance level of the flags
ALPHA = 0.05
#: walk record statuses (docs/architecture.md, "The coordinator's fortnight")
WALK_STATUSES: tuple[str, ...] = ("completed", "no_show", "cancelled")

register_messages(
    {
        "report.up": {"sv": "ökning utöver normal variation", "en": "increase beyond normal variation"},
        "report.down": {"sv": "minskning utöver normal variation", "en": "decrease beyond normal variation"},
    }
)


def same_date_last_year(day: dt.date) -> dt.date:
    """``day`` one year earlier; 29 February becomes 28 February."""
    if day.month == 2 and day.day == 29:
        return dt.date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def pct_change(now: int, ref: int) -> float | None:
    """``round(100 * (now - ref) / ref, 1)``, ``None`` when ``ref`` is 0 [%]."""
    return None if ref == 0 else round(100 * (now - ref) / ref, 1)


def rate_test(count: int, previous: int) -> tuple[float | None, str | None]:
    """``(p_value, flag)``: two-sided exact conditional binomial test of equal rates (equal
    exposure); ``flag`` ``"up"``/``"down"`` when ``p_value < 0.05``. ``(None, None)`` for 0 and 0."""
    if count < 0 or previous < 0:
        raise InvalidInputError(f"counts are >= 0, got {count} and {previous}")
    if count + previous == 0:
        return None, None
    p = float(stats.binomtest(count, count + previous, 0.5).pvalue)
    flag = None if p >= ALPHA or count == previous else ("up" if count > previous else "down")
    return p, flag


def row_text(flag: str | None, lang: Lang) -> str:
    """ "inom normal variation" unless the row is flagged."""
    return message("within_normal_variation", lang) if flag is None else message(f"report.{flag}", lang)


def _parse_date(value: dt.date | str, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInputError(f"{what} {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-29") from exc


def _local_time(value: Any, tz: str, what: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{what} {value!r} is not a time: write ISO 8601 with an offset") from exc
    if stamp is pd.NaT or stamp.tzinfo is None:
        raise InvalidInputError(f"{what} {value!r} needs an offset, e.g. 2026-12-01T10:00:00+01:00")
    return stamp.tz_convert(tz)


class _Window:
    """A range of local dates ``[first, last]`` as naive local-midnight bounds for masks."""

    def __init__(self, first: dt.date, last: dt.date) -> None:
        self.first, self.last = first, last
        self.lo = np.datetime64(first, "ns")
        self.hi = np.datetime64(last + dt.timedelta(days=1), "ns")

    def mask(self, local_day: np.ndarray) -> np.ndarray:
        return (local_day >= self.lo) & (local_day < self.hi)


def _places_frame(places: pd.DataFrame) -> pd.DataFrame:
    if "place_id" not in places.columns:
        raise InvalidInputError("places: lacks the column 'place_id' (place_id, name, municipality, ...)")
    out = pd.DataFrame({"place_id": places["place_id"].astype(str)})
    names = places["name"] if "name" in places.columns else pd.Series(None, index=places.index)
    out["name"] = [
        str(n) if isinstance(n, str) and n.strip() else p for n, p in zip(names, out["place_id"], strict=True)
    ]
    muni = places["municipality"] if "municipality" in places.columns else pd.Series(None, index=places.index)
    out["municipality"] = [str(m) if isinstance(m, str) and m.strip() else None for m in muni]
    area = places["area"] if "area" in places.columns else pd.Series(None, index=places.index)
    out["area"] = [str(a) if isinstance(a, str) and a.strip() else None for a in area]
    if out["place_id"].duplicated().any():
        dup = out.loc[out["place_id"].duplicated(), "place_id"].iloc[0]
        raise InvalidInputError(f"places: place_id {dup!r} appears twice: keep one row per place")
    return out.reset_index(drop=True)


def situation_picture(
    incidents: pd.DataFrame,
    places: pd.DataFrame,
    to: dt.date | str,
    *,
    days: int = 14,
    tz: str = DEFAULT_TZ,
    municipalities: Sequence[str] | None = None,
    walks: Sequence[Mapping[str, Any]] = (),
    covered: Sequence[Mapping[str, Any]] = (),
    windows: Sequence[Mapping[str, Any]] = (),
    trained_until: dt.datetime | pd.Timestamp | str | None = None,
    planned: Sequence[Mapping[str, Any]] = (),
    notes: Sequence[Mapping[str, Any]] = (),
    lang: Lang = "sv",
) -> dict[str, Any]:
    """The situation picture as a JSON-ready dict (docs/architecture.md's keys plus the extras below).

    Parameters
    ----------
    incidents : the canonical frame; ``occurred_at`` (UTC, or any tz-aware time) and ``place_id``
        are used, ``category`` if present (else ``unknown``). Rows are counted, weights ignored.
    places : ``place_id, name, municipality`` (``area`` to attribute walk records to a municipality).
    to : the last local day of the period (inclusive).
    days : the period's length [days], 1-366.
    municipalities : restrict everything to the places of these municipalities (``None``: all).
    walks : walk records ``{"association", "night": "YYYY-MM-DD", "status": completed|no_show|cancelled,
        "area"?, "place_ids"?}``; those whose night lies in the period are counted. Under a
        municipality filter a record counts only when its ``area`` or ``place_ids`` lie in scope.
    covered : the shifts done, as in plan.json: ``{"kind": night_walk|guard, "place_ids", "start",
        "end" (or "hours"), "association"?, "guard"?}`` with offsets. Pass completed walks only.
        Guard hours [h] are the guard shifts' hours inside the period (UTC durations); the covered
        place-hours give the share of the period's incidents that fell under a walk or a guard.
    windows : the newest forecast's high-risk windows ``{"place_id", "label", "start", "end",
        "expected"}`` (``expected`` [incidents] over the window); those starting in the ``days``
        days after ``to`` are shown, in time order.
    trained_until : the newest forecast's end of training data.
    planned : the plans' shifts for the coming days (plan.json shifts); those overlapping the
        ``days`` days after ``to`` are listed and matched to the windows they cover.
    notes : meeting notes ``{"at": ISO time with offset, "text", "place_ids": [...]}``. Notes taken
        in the period (after the previous meeting, up to ``to``) are the previous meeting's
        decisions, reported with what happened at their places since; notes taken in the ``days``
        days after ``to`` are this meeting's ``decisions``.
    lang : language of the texts (``text`` per row).

    Returns
    -------
    ``{"to", "days", "from", "totals", "ytd", "places", "categories", "done", "ahead", "decisions"}``
    as in docs/architecture.md, plus ``previous_from, previous_to, last_year_from, last_year_to, tz,
    municipalities, lang, ytd_months`` (per month: ``month, count, last_year``, the current month
    cut at ``to`` in both years), ``previous_decisions`` and, when the scope spans more than one
    municipality, ``sections``: one such report per municipality. Rows carry ``text`` and
    ``change_vs_last_year_pct``; ``totals`` also ``p_value, flag, text``; ``done`` also
    ``walks_cancelled, associations, covered_place_hours, incidents_covered, covered_share``.
    """
    lang = check_lang(lang)
    tz = check_tz(tz)
    to = _parse_date(to, "to")
    if not isinstance(days, int | np.integer) or not 1 <= int(days) <= 366:
        raise InvalidInputError(f"days must be a whole number from 1 to 366, got {days!r}")
    days = int(days)
    place_table = _places_frame(places)
    known = sorted({m for m in place_table["municipality"] if m})
    if municipalities is not None:
        wanted = list(dict.fromkeys(str(m) for m in municipalities))
        unknown = [m for m in wanted if m not in known]
        if unknown:
            raise InvalidInputError(f"unknown municipality {unknown[0]!r}: the known ones are {known}")
        place_table = place_table[place_table["municipality"].isin(wanted)].reset_index(drop=True)
        scope = wanted
    else:
        scope = known
    occurred = incident_times(incidents)
    frame = pd.DataFrame(
        {
            "place_id": incidents["place_id"].astype(str).to_numpy(),
            "category": (
                incidents["category"].fillna("unknown").astype(str).to_numpy()
                if "category" in incidents.columns
                else "unknown"
            ),
            "utc": occurred.to_numpy(),
        }
    )
    if municipalities is not None:
        frame = frame[frame["place_id"].isin(set(place_table["place_id"]))].reset_index(drop=True)
    report = _build(
        frame,
        place_table,
        to,
        days,
        tz,
        scope,
        list(walks),
        list(covered),
        list(windows),
        trained_until,
        list(planned),
        list(notes),
        lang,
        filtered=municipalities is not None,
    )
    if len(scope) > 1:
        report["sections"] = [
            {
                **_build(
                    frame[frame["place_id"].isin(set(place_table.loc[place_table["municipality"] == m, "place_id"]))],
                    place_table[place_table["municipality"] == m].reset_index(drop=True),
                    to,
                    days,
                    tz,
                    [m],
                    list(walks),
                    list(covered),
                    list(windows),
                    trained_until,
                    list(planned),
                    list(notes),
                    lang,
                    filtered=True,
                ),
                "municipality": m,
            }
            for m in scope
        ]
    return report


def _build(
    frame: pd.DataFrame,
    place_table: pd.DataFrame,
    to: dt.date,
    days: int,
    tz: str,
    scope: list[str],
    walks: list[Mapping[str, Any]],
    covered: list[Mapping[str, Any]],
    windows: list[Mapping[str, Any]],
    trained_until: Any,
    planned: list[Mapping[str, Any]],
    notes: list[Mapping[str, Any]],
    lang: Lang,
    *,
    filtered: bool,
) -> dict[str, Any]:
    frm = to - dt.timedelta(days=days - 1)
    period = _Window(frm, to)
    previous = _Window(frm - dt.timedelta(days=days), frm - dt.timedelta(days=1))
    last_year = _Window(same_date_last_year(frm), same_date_last_year(to))
    ytd = _Window(dt.date(to.year, 1, 1), to)
    ytd_last = _Window(dt.date(to.year - 1, 1, 1), same_date_last_year(to))
    in_scope = set(place_table["place_id"])
    # local calendar day of every incident, as naive datetime64 for fast masks
    local_day = (
        pd.DatetimeIndex(frame["utc"]).tz_convert(tz).tz_localize(None).normalize().to_numpy()
        if len(frame)
        else np.array([], dtype="datetime64[ns]")
    )
    masks = {
        "count": period.mask(local_day),
        "previous": previous.mask(local_day),
        "last_year": last_year.mask(local_day),
    }

    def counts_by(column: str) -> pd.DataFrame:
        out = pd.DataFrame({k: frame.loc[m, column].value_counts() for k, m in masks.items()})
        return out.fillna(0).astype(int)

    def row(count: int, prev: int, ly: int) -> dict[str, Any]:
        p, flag = rate_test(count, prev)
        return {
            "count": count,
            "previous": prev,
            "last_year": ly,
            "change_vs_previous_pct": pct_change(count, prev),
            "change_vs_last_year_pct": pct_change(count, ly),
            "p_value": p,
            "flag": flag,
            "text": row_text(flag, lang),
        }

    totals = row(*(int(m.sum()) for m in masks.values()))
    by_place = counts_by("place_id")
    names = dict(zip(place_table["place_id"], place_table["name"], strict=True))
    munis = dict(zip(place_table["place_id"], place_table["municipality"], strict=True))
    place_ids = list(place_table["place_id"]) + [p for p in by_place.index if p not in in_scope and not filtered]
    place_rows = []
    for pid in place_ids:
        c = by_place.loc[pid] if pid in by_place.index else pd.Series({k: 0 for k in masks})
        place_rows.append(
            {
                "place_id": pid,
                "name": names.get(pid, pid),
                "municipality": munis.get(pid),
                **row(int(c["count"]), int(c["previous"]), int(c["last_year"])),
            }
        )
    place_rows.sort(key=lambda r: (-r["count"], -r["previous"], r["name"]))
    by_cat = counts_by("category")
    category_rows = [
        {"category": str(cat), **row(int(c["count"]), int(c["previous"]), int(c["last_year"]))}
        for cat, c in by_cat.iterrows()
    ]
    category_rows.sort(key=lambda r: (-r["count"], -r["previous"], r["category"]))

    ytd_now, ytd_ref = ytd.mask(local_day), ytd_last.mask(local_day)
    month_now = pd.DatetimeIndex(local_day[ytd_now]).month.value_counts()
    month_ref = pd.DatetimeIndex(local_day[ytd_ref]).month.value_counts()
    ytd_months = [
        {"month": m, "count": int(month_now.get(m, 0)), "last_year": int(month_ref.get(m, 0))}
        for m in range(1, to.month + 1)
    ]

    report: dict[str, Any] = {
        "to": to.isoformat(),
        "days": days,
        "from": frm.isoformat(),
        "totals": totals,
        "ytd": {
            "count": int(ytd_now.sum()),
            "last_year": int(ytd_ref.sum()),
            "change_pct": pct_change(int(ytd_now.sum()), int(ytd_ref.sum())),
        },
        "places": place_rows,
        "categories": category_rows,
        "done": _done(frame, masks["count"], place_table, period, tz, walks, covered, filtered),
        "ahead": _ahead(place_table, to, days, tz, windows, trained_until, planned, filtered),
        "decisions": [],
        "previous_from": previous.first.isoformat(),
        "previous_to": previous.last.isoformat(),
        "last_year_from": last_year.first.isoformat(),
        "last_year_to": last_year.last.isoformat(),
        "ytd_from": ytd.first.isoformat(),
        "ytd_last_year_to": ytd_last.last.isoformat(),
        "tz": tz,
        "municipalities": scope,
        "lang": lang,
        "ytd_months": ytd_months,
        "previous_decisions": [],
    }
    _decisions(report, frame, names, in_scope, period, to, days, tz, notes, lang, filtered)
    return report


def _done(
    frame: pd.DataFrame,
    in_period: np.ndarray,
    place_table: pd.DataFrame,
    period: _Window,
    tz: str,
    walks: list[Mapping[str, Any]],
    covered: list[Mapping[str, Any]],
    filtered: bool,
) -> dict[str, Any]:
    in_scope = set(place_table["place_id"])
    areas = {a for a in place_table["area"] if a}
    per_assoc: dict[str, dict[str, int]] = {}
    for k, rec in enumerate(walks):
        status = rec.get("status")
        if status not in WALK_STATUSES:
            raise InvalidInputError(f"walks[{k}]: status {status!r} is not one of {list(WALK_STATUSES)}")
        night = _parse_date(rec.get("night", ""), f"walks[{k}].night")
        if not period.first <= night <= period.last:
            continue
        if filtered:
            rec_places = set(map(str, rec.get("place_ids") or []))
            if not (rec.get("area") in areas or rec_places & in_scope):
                continue
        name = str(rec.get("association") or "?")
        per_assoc.setdefault(name, {s: 0 for s in WALK_STATUSES})[status] += 1
    start_utc = local_midnight(period.first, tz).tz_convert("UTC")
    end_utc = local_midnight(period.last + dt.timedelta(days=1), tz).tz_convert("UTC")
    guard_hours = 0.0
    scoped: list[dict[str, Any]] = []
    for k, shift in enumerate(covered):
        kind, places, a, b = parse_shift(shift, f"covered[{k}]")
        places = [p for p in places if p in in_scope] if filtered else places
        if not places:
            continue
        scoped.append({**shift, "kind": kind, "place_ids": places})
        if kind == "guard":
            overlap = (min(b, end_utc) - max(a, start_utc)).total_seconds() / 3600
            guard_hours += max(0.0, overlap)
    cells = shift_cells(scoped, "covered")
    cells = cells[(cells["hour"] >= start_utc) & (cells["hour"] < end_utc)]
    cell_index = pd.MultiIndex.from_frame(cells[["place_id", "hour"]]).unique() if len(cells) else None
    period_rows = frame[in_period]
    n_covered = 0
    if cell_index is not None and len(period_rows):
        keys = pd.MultiIndex.from_arrays(
            [period_rows["place_id"].to_numpy(), pd.DatetimeIndex(period_rows["utc"]).floor("h")]
        )
        n_covered = int(keys.isin(cell_index).sum())
    return {
        "walks_completed": sum(v["completed"] for v in per_assoc.values()),
        "walks_no_show": sum(v["no_show"] for v in per_assoc.values()),
        "guard_hours": round(guard_hours, 2),
        "walks_cancelled": sum(v["cancelled"] for v in per_assoc.values()),
        "associations": [
            {"association": name, **v} for name, v in sorted(per_assoc.items(), key=lambda kv: kv[0].casefold())
        ],
        "covered_place_hours": 0 if cell_index is None else len(cell_index),
        "incidents_covered": n_covered,
        "covered_share": None if len(period_rows) == 0 else round(n_covered / len(period_rows), 4),
    }


def _ahead(
    place_table: pd.DataFrame,
    to: dt.date,
    days: int,
    tz: str,
    windows: list[Mapping[str, Any]],
    trained_until: Any,
    planned: list[Mapping[str, Any]],
    filtered: bool,
) -> dict[str, Any]:
    first = to + dt.timedelta(days=1)
    lo = local_midnight(first, tz)
    hi = local_midnight(first + dt.timedelta(days=days), tz)
    in_scope = set(place_table["place_id"])
    areas = {a for a in place_table["area"] if a}
    names = dict(zip(place_table["place_id"], place_table["name"], strict=True))
    munis = dict(zip(place_table["place_id"], place_table["municipality"], strict=True))
    plan: list[dict[str, Any]] = []
    for k, shift in enumerate(planned):
        kind, places, a, b = parse_shift(shift, f"planned[{k}]")
        if b <= lo or a >= hi:
            continue
        if filtered and not (set(places) & in_scope or shift.get("area") in areas):
            continue
        plan.append(
            {
                "kind": kind,
                "who": str(shift.get("association") or shift.get("guard") or ""),
                "area": shift.get("area"),
                "place_ids": places,
                "start": a.tz_convert(tz).isoformat(),
                "end": b.tz_convert(tz).isoformat(),
            }
        )
    plan.sort(key=lambda s: (s["start"], s["who"]))
    out_windows: list[dict[str, Any]] = []
    for k, w in enumerate(windows):
        try:
            pid, expected = str(w["place_id"]), float(w["expected"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"windows[{k}]: needs place_id, label, start, end and expected ({exc})") from exc
        a = _local_time(w.get("start"), tz, f"windows[{k}].start")
        b = _local_time(w.get("end"), tz, f"windows[{k}].end")
        if not lo <= a < hi or (filtered and pid not in in_scope):
            continue
        covering = [
            i
            for i, s in enumerate(plan)
            if pid in s["place_ids"] and pd.Timestamp(s["start"]) < b and pd.Timestamp(s["end"]) > a
        ]
        out_windows.append(
            {
                "place_id": pid,
                "label": str(w.get("label") or ""),
                "start": a.isoformat(),
                "end": b.isoformat(),
                "expected": expected,
                "name": names.get(pid, pid),
                "municipality": munis.get(pid),
                "planned": covering,
            }
        )
    out_windows.sort(key=lambda w: (w["start"], -w["expected"], w["name"]))
    until = None if trained_until is None else _local_time(trained_until, tz, "trained_until").isoformat()
    return {
        "trained_until": until,
        "windows": out_windows,
        "from": first.isoformat(),
        "to": (first + dt.timedelta(days=days - 1)).isoformat(),
        "plan": plan,
    }


def _decisions(
    report: dict[str, Any],
    frame: pd.DataFrame,
    names: dict[str, str],
    in_scope: set[str],
    period: _Window,
    to: dt.date,
    days: int,
    tz: str,
    notes: list[Mapping[str, Any]],
    lang: Lang,
    filtered: bool,
) -> None:
    end = local_midnight(to + dt.timedelta(days=1), tz)
    next_end = local_midnight(to + dt.timedelta(days=days + 1), tz)
    utc = pd.DatetimeIndex(frame["utc"])
    for k, note in enumerate(notes):
        at = _local_time(note.get("at"), tz, f"notes[{k}].at")
        text = note.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError(f"notes[{k}]: needs a text")
        raw = note.get("place_ids") or []
        if isinstance(raw, str):
            raise InvalidInputError(f"notes[{k}]: place_ids must be a list of place ids")
        pids = [str(p) for p in raw]
        if filtered:
            pids = [p for p in pids if p in in_scope]
            if not pids:
                continue  # an area-wide note or another municipality's: not in a scoped report
        entry = {"at": at.isoformat(), "text": text, "place_ids": pids}
        if end <= at < next_end:
            report["decisions"].append(entry)
        elif period.first <= at.date() <= period.last:
            span = end - at
            since_mask = (utc >= at) & (utc < end)
            before_mask = (utc >= at - span) & (utc < at)
            followed = []
            for pid in pids:
                at_place = (frame["place_id"] == pid).to_numpy()
                since, before = int((since_mask & at_place).sum()), int((before_mask & at_place).sum())
                p, flag = rate_test(since, before)
                followed.append(
                    {
                        "place_id": pid,
                        "name": names.get(pid, pid),
                        "since": since,
                        "before": before,
                        "days": round(span.total_seconds() / 86400, 1),
                        "p_value": p,
                        "flag": flag,
                        "text": row_text(flag, lang),
                    }
                )
            report["previous_decisions"].append({**entry, "places": followed})
    report["decisions"].sort(key=lambda d: d["at"])
    report["previous_decisions"].sort(key=lambda d: d["at"])

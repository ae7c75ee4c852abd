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
* ``_pct = 100 * (now - ref) / ref`` to one decimal, halves away from zero
  (:func:`tryggplan.counts.pct_change`: 3 against 16 is -81.3), ``None`` when ``ref`` is 0;
* ``p_value`` is the two-sided exact conditional binomial test of equal rates between ``count``
  and ``previous`` (equal exposure: ``scipy.stats.binomtest(count, count + previous, 0.5)``), ``None``
  when both are 0; ``flag`` is ``"up"``/``"down"`` when ``p_value < 0.05``, else ``None``. The
  year to date is tested the same way (``count`` against ``last_year``).

Where the data ends (DESIGN.md, "The lägesbild knows where its data ends"):

* ``data_until`` is the newest local date holding an incident in scope; ``data_from`` the oldest;
* ``sources_until`` is the newest local date holding an incident of any source the scope's incidents
  come from, anywhere in the database (on the police feed: the feed's last day). Days up to it hold
  data, even in a town that had no incident on them (a quiet week is a real zero); days after it
  hold none;
* a comparison (the period against the previous period, against last year, the year to date
  against last year's) is made only when both of its windows lie within ``data_from ..
  sources_until``. Otherwise its change, ``p_value`` and ``flag`` are ``None`` (nothing is flagged:
  a day without data is not a drop), the rows' ``text`` says "not assessed", and ``warnings`` say
  which comparison was left out and why. ``compared`` says which were made.

Many rows are tested at once: at p < 0.05 about one row in twenty is flagged by chance alone.
``flag`` keeps its meaning (p < 0.05 for that row alone); each place and category row also gets
``q_value``, the Benjamini-Hochberg adjusted p-value across the place and category rows, and
``multiple_testing`` says how many rows were tested, how many are flagged, how many chance alone
would flag, and how many hold at q < 0.05.

With ``feed`` (the whole police feed in the database: every municipality's incidents of source
``police``), ``feed`` in the result puts the feed's own changes beside the town's, so a change in
how much the police publish is not read as a change in crime.

References
----------
Przyborowski, J. and Wilenski, H. (1940). Homogeneity of results in testing samples from Poisson
series. *Biometrika* 31, 313-323 (the conditional binomial test of two Poisson counts).
Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a practical and powerful
approach to multiple testing. *Journal of the Royal Statistical Society B* 57, 289-300.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from tryggplan.counts import pct_change
from tryggplan.domain import DEFAULT_TZ, InvalidInputError
from tryggplan.i18n import (
    Lang,
    check_lang,
    format_date,
    format_date_range,
    format_number,
    message,
    register_messages,
)
from tryggplan.reporting.coverage import incident_times, parse_shift, shift_cells
from tryggplan.timeutil import check_tz, local_midnight

#: significance level of the flags
ALPHA = 0.05
#: walk record statuses (docs/architecture.md, "The coordinator's fortnight")
WALK_STATUSES: tuple[str, ...] = ("completed", "no_show", "cancelled")
#: the source of the police's public events feed (the feed-wide context is computed for it)
FEED_SOURCE = "police"

register_messages(
    {
        "report.up": {"sv": "ökning utöver normal variation", "en": "increase beyond normal variation"},
        "report.down": {"sv": "minskning utöver normal variation", "en": "decrease beyond normal variation"},
        "report.whole_area": {"sv": "hela området", "en": "the whole area"},
        "report.not_assessed": {
            "sv": "bedöms inte (uppgifter saknas för en del av tiden)",
            "en": "not assessed (data missing for part of the time)",
        },
        "report.warn.no_data": {
            "sv": "Databasen har inga händelser för {scope}: rapporten kan inte säga något om läget, "
            "och ingen förändring markeras.",
            "en": "The database holds no incidents for {scope}: the report cannot say anything about the situation, "
            "and no change is marked.",
        },
        "report.warn.period_after_data": {
            "sv": "Uppgifterna når bara till {until}, men perioden slutar {to}: de sista {n} dagarna saknar "
            "uppgifter. Dagar utan uppgifter är ingen minskning, så perioden jämförs inte med perioden före "
            "eller med i fjol, och ingen plats, händelsetyp eller totalsiffra markeras.",
            "en": "The data only reach {until}, but the period ends {to}: its last {n} days hold no data. Days "
            "without data are no decrease, so the period is not compared with the period before or with last "
            "year, and no place, category or total is marked.",
        },
        "report.warn.period_before_data": {
            "sv": "Uppgifterna börjar {start}, men perioden före börjar {first}: den jämförelsen görs inte, "
            "och ingen plats, händelsetyp eller totalsiffra markeras.",
            "en": "The data begin {start}, but the period before begins {first}: that comparison is not made, "
            "and no place, category or total is marked.",
        },
        "report.warn.last_year_before_data": {
            "sv": "Samma period i fjol ({last_year}) börjar före uppgifterna, som börjar {start}: förändringen "
            "mot i fjol anges inte.",
            "en": "The same period last year ({last_year}) begins before the data, which begin {start}: the change "
            "against last year is not given.",
        },
        "report.warn.ytd_after_data": {
            "sv": "Hittills i år räknas till {to}, men uppgifterna når bara till {until}: året jämförs inte "
            "med i fjol.",
            "en": "The year to date runs to {to}, but the data only reach {until}: the year is not compared with "
            "last year.",
        },
        "report.warn.ytd_before_data": {
            "sv": "Uppgifterna börjar {start}, men i fjol räknas från {first}: hittills i år jämförs inte med i "
            "fjol (de första månaderna saknar uppgifter).",
            "en": "The data begin {start}, but last year's count runs from {first}: the year to date is not "
            "compared with last year (its first months hold no data).",
        },
        "report.warn.quiet": {
            "sv": "Den senaste händelsen för {scope} är från {data_until}. Samma källor har uppgifter till "
            "{until}, så dagarna däremellan räknas som dagar utan händelser.",
            "en": "The newest incident for {scope} is from {data_until}. The same sources hold data up to {until}, "
            "so the days in between count as days without incidents.",
        },
        "report.multiple_testing": {
            "sv": "{n} platser och händelsetyper prövades mot perioden före. Även utan någon verklig förändring "
            "markeras ungefär var tjugonde av en slump (här omkring {chance}). {k} är markerade; {j} av dem "
            "står sig när hänsyn tas till att så många prövades (Benjamini–Hochberg, q < 0,05).",
            "en": "{n} places and categories were tested against the period before. Even without any real change, "
            "about one in twenty is marked by chance (here about {chance}). {k} are marked; {j} of them hold when "
            "the number of tests is taken into account (Benjamini–Hochberg, q < 0.05).",
        },
    }
)


def same_date_last_year(day: dt.date) -> dt.date:
    """``day`` one year earlier; 29 February becomes 28 February."""
    if day.month == 2 and day.day == 29:
        return dt.date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


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


@dataclass(frozen=True)
class ReportWindows:
    """The local date ranges ``(first, last)`` (inclusive) the report compares."""

    period: tuple[dt.date, dt.date]
    previous: tuple[dt.date, dt.date]
    last_year: tuple[dt.date, dt.date]
    ytd: tuple[dt.date, dt.date]
    ytd_last_year: tuple[dt.date, dt.date]


def report_windows(to: dt.date | str, days: int) -> ReportWindows:
    """The windows of the report of the ``days`` local days ending with ``to`` (see the module rules)."""
    last = _parse_date(to, "to")
    frm = last - dt.timedelta(days=days - 1)
    return ReportWindows(
        period=(frm, last),
        previous=(frm - dt.timedelta(days=days), frm - dt.timedelta(days=1)),
        last_year=(same_date_last_year(frm), same_date_last_year(last)),
        ytd=(dt.date(last.year, 1, 1), last),
        ytd_last_year=(dt.date(last.year - 1, 1, 1), same_date_last_year(last)),
    )


@dataclass(frozen=True)
class SourceSpan:
    """What the data holds of one source in one municipality: its oldest and newest incident
    (tz-aware). ``municipality`` ``None``: places without one."""

    municipality: str | None
    source: str
    first: pd.Timestamp
    last: pd.Timestamp


@dataclass(frozen=True)
class FeedCounts:
    """The whole police feed in the database (every municipality's incidents of source ``police``) in
    the report's windows [incidents], and the feed's oldest and newest local day."""

    municipalities: int
    count: int
    previous: int
    last_year: int
    ytd: int
    ytd_last_year: int
    first: dt.date
    last: dt.date


@dataclass(frozen=True)
class _Coverage:
    """The days the data of a scope hold: ``start`` its oldest incident's day, ``end`` the newest day
    its sources hold anywhere (``sources_until``), ``until`` its own newest incident's day."""

    start: dt.date | None
    end: dt.date | None
    until: dt.date | None

    def holds(self, *windows: _Window) -> bool:
        """Whether every day of ``windows`` holds data."""
        if self.start is None or self.end is None:
            return False
        return all(self.start <= w.first and w.last <= self.end for w in windows)


def _coverage(spans: Sequence[SourceSpan], tz: str, towns: set[str | None]) -> _Coverage:
    """The coverage of the municipalities ``towns`` (``None`` in it: places without one) from every
    span in the data."""
    mine = [s for s in spans if s.municipality in towns]
    if not mine:
        return _Coverage(None, None, None)
    sources = {s.source for s in mine}

    def day(t: pd.Timestamp) -> dt.date:
        return pd.Timestamp(t).tz_convert(tz).date()

    return _Coverage(
        start=min(day(s.first) for s in mine),
        end=max(day(s.last) for s in spans if s.source in sources),
        until=max(day(s.last) for s in mine),
    )


def spans_of(incidents: pd.DataFrame, places: pd.DataFrame) -> list[SourceSpan]:
    """The :class:`SourceSpan` of every (municipality, source) in ``incidents`` (canonical frame;
    ``source`` ``unknown`` when the column is missing), municipalities from ``places``."""
    if incidents.empty:
        return []
    muni = places["municipality"] if "municipality" in places.columns else pd.Series(None, index=places.index)
    town = dict(zip(places["place_id"].astype(str), muni, strict=True))
    frame = pd.DataFrame(
        {
            "town": [t if isinstance(t, str) and t else None for t in incidents["place_id"].astype(str).map(town)],
            "source": incidents["source"].fillna("unknown").astype(str) if "source" in incidents else "unknown",
            "utc": incident_times(incidents),
        }
    )
    out = []
    for (t, src), g in frame.groupby(["town", "source"], dropna=False, sort=True):
        out.append(SourceSpan(None if pd.isna(t) else str(t), str(src), g["utc"].min(), g["utc"].max()))
    return out


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


@dataclass(frozen=True)
class _Inputs:
    """What every section of one report shares."""

    to: dt.date
    days: int
    tz: str
    walks: list[Mapping[str, Any]]
    covered: list[Mapping[str, Any]]
    windows: list[Mapping[str, Any]]
    trained_until: Any
    planned: list[Mapping[str, Any]]
    notes: list[Mapping[str, Any]]
    spans: list[SourceSpan]
    feed: FeedCounts | None
    lang: Lang


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
    spans: Sequence[SourceSpan] | None = None,
    feed: FeedCounts | None = None,
    lang: Lang = "sv",
) -> dict[str, Any]:
    """The situation picture as a JSON-ready dict (docs/architecture.md's keys plus the extras below).

    Parameters
    ----------
    incidents : the canonical frame; ``occurred_at`` (UTC, or any tz-aware time) and ``place_id``
        are used, ``category`` if present (else ``unknown``), ``source`` for where the data end.
        Rows are counted, weights ignored.
    places : ``place_id, name, municipality`` (``area`` to attribute walk records to a municipality).
    to : the last local day of the period (inclusive).
    days : the period's length [days], 1-366.
    municipalities : restrict everything to the places of these municipalities (``None``: all).
    walks : walk records ``{"association", "night": "YYYY-MM-DD", "status": completed|no_show|cancelled,
        "municipality"?, "area"?, "place_ids"?}``; those whose night lies in the period are counted.
        Under a municipality filter a record counts when its ``municipality`` is in scope; a record
        without one (a single-town ledger) when its ``place_ids`` lie in scope, or its ``area`` is
        the area of a place in scope and no place outside the scope has that area.
    covered : the shifts done, as in plan.json: ``{"kind": night_walk|guard, "place_ids", "start",
        "end" (or "hours"), "association"?, "guard"?}`` with offsets. Pass completed walks and the
        guard shifts of published plans only. Guard hours [h] are the guard shifts' hours inside the
        period (UTC durations); the covered place-hours give the share of the period's incidents that
        fell under a walk or a guard.
    windows : the newest forecast's high-risk windows ``{"place_id", "label", "start", "end",
        "expected"}`` (``expected`` [incidents] over the window); those starting in the ``days``
        days after ``to`` are shown, in time order.
    trained_until : the newest forecast's end of training data.
    planned : the plans' shifts for the coming days (plan.json shifts); those overlapping the
        ``days`` days after ``to`` whose places lie in scope are listed and matched to the windows
        they cover.
    notes : meeting notes ``{"at": ISO time with offset, "text", "place_ids": [...]}``. Notes taken
        in the period (after the previous meeting, up to ``to``) are the previous meeting's
        decisions, reported with what happened at their places since; notes taken in the ``days``
        days after ``to`` are this meeting's ``decisions``.
    spans : every (municipality, source) the data hold with its oldest and newest incident (the
        whole database, not only the report's dates: see the module's rules); default: those of
        ``incidents``.
    feed : the whole police feed's counts in the report's windows (:func:`report_windows`), when the
        data hold the feed of more than one municipality; shown beside the town's figures.
    lang : language of the texts (``text`` per row, ``warnings``).

    Returns
    -------
    ``{"to", "days", "from", "totals", "ytd", "places", "categories", "done", "ahead", "decisions",
    "data_until", "warnings"}`` as in docs/architecture.md, plus ``previous_from, previous_to,
    last_year_from, last_year_to, tz, municipalities, lang, ytd_months`` (per month: ``month, count,
    last_year``, the current month cut at ``to`` in both years), ``previous_decisions``,
    ``data_from``, ``sources_until``, ``compared`` (``previous``, ``last_year``, ``ytd``: whether
    each comparison was made), ``multiple_testing``, ``feed`` (``None`` without one) and, when the
    scope spans more than one municipality, ``sections``: one such report per municipality. Rows
    carry ``text``, ``q_value`` and ``change_vs_last_year_pct``; ``totals`` also ``p_value, flag,
    text``; ``ytd`` also ``p_value, flag, text``; ``done`` also ``walks_cancelled, associations,
    covered_place_hours, incidents_covered, covered_share``.
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
    shared = _Inputs(
        to=to,
        days=days,
        tz=tz,
        walks=list(walks),
        covered=list(covered),
        windows=list(windows),
        trained_until=trained_until,
        planned=list(planned),
        notes=list(notes),
        spans=list(spans) if spans is not None else spans_of(incidents, places),
        feed=feed,
        lang=lang,
    )
    if municipalities is not None:
        frame = frame[frame["place_id"].isin(set(place_table["place_id"]))].reset_index(drop=True)
    report = _build(frame, place_table, scope, shared, filtered=municipalities is not None)
    if len(scope) > 1:
        report["sections"] = [
            {
                **_build(
                    frame[frame["place_id"].isin(set(place_table.loc[place_table["municipality"] == m, "place_id"]))],
                    place_table[place_table["municipality"] == m].reset_index(drop=True),
                    [m],
                    shared,
                    filtered=True,
                ),
                "municipality": m,
            }
            for m in scope
        ]
    return report


def _benjamini_hochberg(rows: list[dict[str, Any]], lang: Lang) -> dict[str, Any] | None:
    """Set each row's ``q_value`` (Benjamini-Hochberg across ``rows`` with a p-value) and say how many
    rows were tested, flagged, expected flagged by chance and flagged at q < 0.05."""
    tested = [r for r in rows if r.get("p_value") is not None]
    for r in rows:
        r["q_value"] = None
    if not tested:
        return None
    _, q, _, _ = multipletests([r["p_value"] for r in tested], alpha=ALPHA, method="fdr_bh")
    for r, value in zip(tested, q, strict=True):
        r["q_value"] = float(value)
    n, k = len(tested), sum(1 for r in tested if r.get("flag"))
    j = sum(1 for r in tested if r.get("flag") and r["q_value"] < ALPHA)
    chance = n * ALPHA
    return {
        "method": "benjamini-hochberg",
        "rows_tested": n,
        "flagged": k,
        "expected_by_chance": round(chance, 2),
        "flagged_after_correction": j,
        "text": message("report.multiple_testing", lang, n=n, k=k, j=j, chance=format_number(chance, 1, lang)),
    }


def _warnings(cov: _Coverage, windows: Mapping[str, _Window], scope_name: str, to: dt.date, lang: Lang) -> list[str]:
    """The report's warnings about where its data end (see the module's rules), in ``lang``."""
    if cov.start is None or cov.end is None or cov.until is None:
        return [message("report.warn.no_data", lang, scope=scope_name)]

    def day(d: dt.date) -> str:
        return format_date(d, lang)

    period, previous, last_year = windows["count"], windows["previous"], windows["last_year"]
    ytd_last = windows["ytd_last"]
    out = []
    if period.last > cov.end:
        n = min((period.last - cov.end).days, (period.last - period.first).days + 1)
        out.append(message("report.warn.period_after_data", lang, until=day(cov.end), to=day(to), n=n))
    elif cov.until < period.last:
        out.append(message("report.warn.quiet", lang, scope=scope_name, data_until=day(cov.until), until=day(cov.end)))
    if previous.first < cov.start:
        out.append(message("report.warn.period_before_data", lang, start=day(cov.start), first=day(previous.first)))
    if last_year.first < cov.start and period.last <= cov.end:
        span = format_date_range(last_year.first, last_year.last, lang)
        out.append(message("report.warn.last_year_before_data", lang, start=day(cov.start), last_year=span))
    if ytd_last.first < cov.start:
        out.append(message("report.warn.ytd_before_data", lang, start=day(cov.start), first=day(ytd_last.first)))
    elif to > cov.end:
        out.append(message("report.warn.ytd_after_data", lang, to=day(to), until=day(cov.end)))
    return out


def _feed(feed: FeedCounts | None, windows: Mapping[str, _Window]) -> dict[str, Any] | None:
    """The whole police feed's changes, each made only over days the feed holds."""
    if feed is None:
        return None
    cov = _Coverage(feed.first, feed.last, feed.last)
    period, previous, last_year = windows["count"], windows["previous"], windows["last_year"]
    ytd, ytd_last = windows["ytd"], windows["ytd_last"]
    return {
        "source": FEED_SOURCE,
        "municipalities": feed.municipalities,
        "data_from": feed.first.isoformat(),
        "sources_until": feed.last.isoformat(),
        "count": feed.count,
        "previous": feed.previous,
        "last_year": feed.last_year,
        "change_vs_previous_pct": pct_change(feed.count, feed.previous) if cov.holds(period, previous) else None,
        "change_vs_last_year_pct": pct_change(feed.count, feed.last_year) if cov.holds(period, last_year) else None,
        "ytd": {
            "count": feed.ytd,
            "last_year": feed.ytd_last_year,
            "change_pct": pct_change(feed.ytd, feed.ytd_last_year) if cov.holds(ytd, ytd_last) else None,
        },
    }


def _build(
    frame: pd.DataFrame,
    place_table: pd.DataFrame,
    scope: list[str],
    shared: _Inputs,
    *,
    filtered: bool,
) -> dict[str, Any]:
    to, days, tz, lang = shared.to, shared.days, shared.tz, shared.lang
    w = report_windows(to, days)
    frm = w.period[0]
    period, previous, last_year = _Window(*w.period), _Window(*w.previous), _Window(*w.last_year)
    ytd, ytd_last = _Window(*w.ytd), _Window(*w.ytd_last_year)
    windows = {"count": period, "previous": previous, "last_year": last_year, "ytd": ytd, "ytd_last": ytd_last}
    in_scope = set(place_table["place_id"])
    # an unfiltered report also holds the places without a municipality
    towns: set[str | None] = set(scope) if filtered else {*scope, None}
    cov = _coverage(shared.spans, tz, towns)
    compared = {
        "previous": cov.holds(period, previous),
        "last_year": cov.holds(period, last_year),
        "ytd": cov.holds(ytd, ytd_last),
    }
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
        p, flag = rate_test(count, prev) if compared["previous"] else (None, None)
        return {
            "count": count,
            "previous": prev,
            "last_year": ly,
            "change_vs_previous_pct": pct_change(count, prev) if compared["previous"] else None,
            "change_vs_last_year_pct": pct_change(count, ly) if compared["last_year"] else None,
            "p_value": p,
            "flag": flag,
            "text": row_text(flag, lang) if compared["previous"] else message("report.not_assessed", lang),
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
    multiple = _benjamini_hochberg(place_rows + category_rows, lang)

    ytd_now, ytd_ref = ytd.mask(local_day), ytd_last.mask(local_day)
    month_now = pd.DatetimeIndex(local_day[ytd_now]).month.value_counts()
    month_ref = pd.DatetimeIndex(local_day[ytd_ref]).month.value_counts()
    ytd_months = [
        {"month": m, "count": int(month_now.get(m, 0)), "last_year": int(month_ref.get(m, 0))}
        for m in range(1, to.month + 1)
    ]
    n_ytd, n_ytd_ref = int(ytd_now.sum()), int(ytd_ref.sum())
    ytd_p, ytd_flag = rate_test(n_ytd, n_ytd_ref) if compared["ytd"] else (None, None)
    scope_name = ", ".join(scope) if scope else message("report.whole_area", lang)

    report: dict[str, Any] = {
        "to": to.isoformat(),
        "days": days,
        "from": frm.isoformat(),
        "data_until": cov.until.isoformat() if cov.until else None,
        "warnings": _warnings(cov, windows, scope_name, to, lang),
        "totals": totals,
        "ytd": {
            "count": n_ytd,
            "last_year": n_ytd_ref,
            "change_pct": pct_change(n_ytd, n_ytd_ref) if compared["ytd"] else None,
            "p_value": ytd_p,
            "flag": ytd_flag,
            "text": row_text(ytd_flag, lang) if compared["ytd"] else message("report.not_assessed", lang),
        },
        "places": place_rows,
        "categories": category_rows,
        "done": _done(frame, masks["count"], place_table, period, tz, shared.walks, shared.covered, filtered, scope),
        "ahead": _ahead(place_table, to, days, tz, shared.windows, shared.trained_until, shared.planned, filtered),
        "decisions": [],
        "data_from": cov.start.isoformat() if cov.start else None,
        "sources_until": cov.end.isoformat() if cov.end else None,
        "compared": compared,
        "multiple_testing": multiple,
        "feed": _feed(shared.feed, windows),
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
    _decisions(report, frame, names, in_scope, period, to, days, tz, shared.notes, lang, filtered, cov)
    return report


def _walk_in_scope(rec: Mapping[str, Any], scope: list[str], in_scope: set[str], place_table: pd.DataFrame) -> bool:
    """Whether a walk record belongs to the municipalities in scope. Area names are per municipality
    (two towns may both have "Centrum"), so a record's own ``municipality`` decides. A record without
    one comes from a single-town ledger: it counts by its places, else by its area when places in scope
    lie in that area."""
    town = rec.get("municipality")
    if town:
        return str(town) in scope
    places = {str(p) for p in rec.get("place_ids") or []}
    if places:
        return bool(places & in_scope)
    area = rec.get("area")
    if not area:
        return False
    return bool((place_table["area"] == area).any())


def _done(
    frame: pd.DataFrame,
    in_period: np.ndarray,
    place_table: pd.DataFrame,
    period: _Window,
    tz: str,
    walks: list[Mapping[str, Any]],
    covered: list[Mapping[str, Any]],
    filtered: bool,
    scope: list[str],
) -> dict[str, Any]:
    in_scope = set(place_table["place_id"])
    per_assoc: dict[str, dict[str, int]] = {}
    for k, rec in enumerate(walks):
        status = rec.get("status")
        if status not in WALK_STATUSES:
            raise InvalidInputError(f"walks[{k}]: status {status!r} is not one of {list(WALK_STATUSES)}")
        night = _parse_date(rec.get("night", ""), f"walks[{k}].night")
        if not period.first <= night <= period.last:
            continue
        if filtered and not _walk_in_scope(rec, scope, in_scope, place_table):
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
    names = dict(zip(place_table["place_id"], place_table["name"], strict=True))
    munis = dict(zip(place_table["place_id"], place_table["municipality"], strict=True))
    plan: list[dict[str, Any]] = []
    for k, shift in enumerate(planned):
        kind, places, a, b = parse_shift(shift, f"planned[{k}]")
        if b <= lo or a >= hi:
            continue
        if filtered and not set(places) & in_scope:
            continue  # by place ids: area names repeat across municipalities
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
    cov: _Coverage,
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
            # the days since and as long before must all hold data, as for the look back
            held = cov.holds(_Window((at - span).tz_convert(tz).date(), to))
            followed = []
            for pid in pids:
                at_place = (frame["place_id"] == pid).to_numpy()
                since, before = int((since_mask & at_place).sum()), int((before_mask & at_place).sum())
                p, flag = rate_test(since, before) if held else (None, None)
                followed.append(
                    {
                        "place_id": pid,
                        "name": names.get(pid, pid),
                        "since": since,
                        "before": before,
                        "days": round(span.total_seconds() / 86400, 1),
                        "p_value": p,
                        "flag": flag,
                        "assessed": held,
                        "text": row_text(flag, lang) if held else message("report.not_assessed", lang),
                    }
                )
            report["previous_decisions"].append({**entry, "places": followed})
    report["decisions"].sort(key=lambda d: d["at"])
    report["previous_decisions"].sort(key=lambda d: d["at"])

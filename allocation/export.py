"""Exports a coordinator uses: plan.json, a CSV for Swedish Excel, and iCalendar.

* JSON: :meth:`tryggplan.allocation.plan.Plan.to_dict` (fields in docs/architecture.md).
* CSV: UTF-8 with BOM, ``;`` separators, decimal commas, written by :func:`tryggplan.spreadsheet.csv_text`
  (no cell can run as a formula in Excel, no field can start a row of its own).
* ICS: one VEVENT per shift (UID, DTSTAMP, SUMMARY, LOCATION, DESCRIPTION, DTSTART/DTEND
  with TZID) and a VTIMEZONE for the plan's zone (RFC 5545).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from tryggplan.allocation.plan import Plan, Shift
from tryggplan.i18n import Lang, expected_in_words, format_number, format_percent, format_sek, format_time_range
from tryggplan.spreadsheet import csv_text

CSV_COLUMNS: tuple[str, ...] = (
    "vecka",
    "typ",
    "förening_eller_väktare",
    "område",
    "platser",
    "natt",
    "start",
    "slut",
    "start_iso",
    "slut_iso",
    "timmar",
    "kostnad_sek",
    "förväntat_täckt",
    "förväntat_förhindrat",
    "låst",
    "varför",
)
_KIND_SV = {"night_walk": "nattvandring", "guard": "väktare"}


def _num(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


def _local(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")


def write_json(plan: Plan, path: str | Path) -> None:
    atomic_write(Path(path), plan.to_json().encode("utf-8"))


_CSV_COLUMNS_EN: tuple[str, ...] = (
    "week",
    "kind",
    "association_or_guard",
    "area",
    "places",
    "night",
    "start",
    "end",
    "start_iso",
    "end_iso",
    "hours",
    "cost_sek",
    "expected_covered",
    "expected_prevented",
    "pinned",
    "why",
)
_KIND_EN = {"night_walk": "night walk", "guard": "guard"}
_TOP = re.compile(r"top (\S+?)% of the week's")
_MUST = re.compile(r"; must-cover (.+)$")


def _guard_name(guard: str | None, lang: Lang) -> str:
    """``guard 1`` (the plan's name of a guard) as ``väktare 1`` in Swedish."""
    m = re.fullmatch(r"guard (\d+)", guard or "")
    return f"väktare {m.group(1)}" if m and lang == "sv" else guard or ""


def _place_names(ids: Sequence[str], names: Mapping[str, str] | None) -> list[str]:
    return [(names or {}).get(p) or p for p in ids]


def shift_reason(s: Shift, lang: Lang = "sv", names: Mapping[str, str] | None = None) -> str:
    """Why a shift is in the plan, in ``lang``, with place names (``names``: id -> name; ids where
    missing): ``täcker Centrum (Stortorget, Nygatan) fre 4 dec 20:00–00:00: ungefär en händelse på fem
    sådana kvällar (0,18 väntade), bland de 2 % bästa av veckans pass``. Built from the shift's fields;
    the rank and must-cover notes are taken from its ``why``."""
    sv = lang == "sv"
    places = _place_names(s.place_ids, names)
    more = len(places) - 4
    where = ", ".join(places[:4]) + (
        (" och " if sv else " and ") + f"{more} {'till' if sv else 'more'}" if more > 0 else ""
    )
    span = format_time_range(s.start, s.end, lang)
    expected = f"{expected_in_words(s.expected_covered, lang)} ({format_number(s.expected_covered, 2, lang)} " + (
        "väntade)" if sv else "expected)"
    )
    if s.kind == "night_walk":
        text = f"{'täcker' if sv else 'covers'} {s.area} ({where}) {span}: {expected}"
        options = "av veckans pass" if sv else "of the week's walk options"
    else:
        hours = format_number(s.hours, 0, lang)
        text = f"{'bevakar' if sv else 'guards'} {where} {span} ({hours} h): {expected}"
        options = "av veckans platstimmar" if sv else "of the week's place-hours"
    top = _TOP.search(s.why)
    if top is not None:
        pct = top.group(1).replace(".", ",") + "\u00a0%" if sv else top.group(1) + "%"
        text += f", {'bland de' if sv else 'top'} {pct} {'bästa ' + options if sv else options}"
    must = _MUST.search(s.why)
    if must is not None:
        text += f"; {'måste täckas' if sv else 'must-cover'}: {must.group(1)}"
    if s.pinned:
        text = ("låst (redan överenskommet); " if sv else "pinned (already agreed); ") + text
    return text


def plan_csv(plan: Plan, lang: Lang = "sv", names: Mapping[str, str] | None = None) -> bytes:
    """The plan as CSV bytes for Excel with UTF-8 BOM: Swedish (``;``, decimal comma, Swedish headers
    and texts) by default, English with ``lang="en"`` (``,`` and decimal point). ``names`` maps place ids
    to the names written in the ``platser`` column and the reasons (ids where missing)."""
    sv = lang == "sv"

    def num(x: float, digits: int = 3) -> str:
        return _num(x, digits) if sv else f"{x:.{digits}f}"

    rows: list[list[object]] = [list(CSV_COLUMNS if sv else _CSV_COLUMNS_EN)]
    for s in plan.shifts:
        row = [
            plan.week,
            (_KIND_SV if sv else _KIND_EN)[s.kind],
            s.association or _guard_name(s.guard, lang),
            s.area or "",
            ", ".join(_place_names(s.place_ids, names)),
            s.night or "",
            _local(s.start),
            _local(s.end),
            s.start,
            s.end,
            num(s.hours, 1),
            num(s.cost_sek, 0),
            num(s.expected_covered),
            num(s.expected_prevented),
            ("ja" if s.pinned else "nej") if sv else ("yes" if s.pinned else "no"),
            shift_reason(s, lang, names),
        ]
        rows.append([str(c) for c in row])
    rows.append([])
    share = format_percent(100 * plan.risk_covered_share, lang, 1, sign=False)
    summary = (
        f"status {plan.status}; täckt andel av veckans risk {share}"
        if sv
        else f"status {plan.status}; share of the week's risk covered {share}"
    )
    rows.append(
        [
            str(c)
            for c in (
                plan.week,
                "summa" if sv else "total",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                num(sum(s.hours for s in plan.shifts), 1),
                num(plan.cost_sek, 0),
                num(plan.risk_total * plan.risk_covered_share),
                num(plan.objective),
                "",
                summary,
            )
        ]
    )
    return b"\xef\xbb\xbf" + csv_text(rows, delimiter=";" if sv else ",").encode("utf-8")


def write_csv(plan: Plan, path: str | Path) -> None:
    atomic_write(Path(path), plan_csv(plan))


def _uid(plan: Plan, s: Shift) -> str:
    key = f"{plan.week}|{s.kind}|{s.association or ''}|{s.area or ''}|{','.join(s.place_ids)}|{s.start}|{s.end}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:20] + "@tryggplan"


def plan_ics(plan: Plan, lang: Lang = "sv", names: Mapping[str, str] | None = None) -> bytes:
    """The plan as an iCalendar file: one VEVENT per shift, VTIMEZONE for ``plan.tz``; texts in
    ``lang`` (Swedish by default) with place names from ``names`` (ids where missing)."""
    sv = lang == "sv"
    tz = ZoneInfo(plan.tz)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//tryggplan//allocation//SV")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{'Trygghetsplan' if sv else 'Safety plan'} {plan.week}")
    cal.add("x-wr-timezone", plan.tz)
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for s in plan.shifts:
        places = ", ".join(_place_names(s.place_ids, names))
        ev = icalendar.Event()
        ev.add("uid", _uid(plan, s))
        ev.add("dtstamp", stamp)
        ev.add("dtstart", _ics_time(s.start, tz))
        ev.add("dtend", _ics_time(s.end, tz))
        if s.kind == "night_walk":
            ev.add("summary", f"{'Nattvandring' if sv else 'Night walk'}: {s.association} – {s.area}")
            ev.add("location", f"{s.area}: {places}")
        else:
            ev.add("summary", f"{'Väktare' if sv else 'Guard'} ({_guard_name(s.guard, lang)}): {places}")
            ev.add("location", places)
        cost = format_sek(s.cost_sek, lang)
        prevented = format_number(s.expected_prevented, 3, lang)
        ev.add(
            "description",
            f"{shift_reason(s, lang, names)}\n"
            + (
                f"Kostnad {cost}; förväntat förhindrade {prevented} händelser."
                if sv
                else f"Cost {cost}; expected incidents prevented {prevented}."
            ),
        )
        ev.add("categories", [(_KIND_SV if sv else _KIND_EN)[s.kind]])
        cal.add_component(ev)
    cal.add_missing_timezones()
    if not any(c.name == "VTIMEZONE" for c in cal.walk()):
        cal.add_component(icalendar.Timezone.from_tzid(plan.tz))
    return cal.to_ical()


def walks_ics(walks: Iterable[Mapping[str, Any]], tz: str, name: str, *, stamp: dt.datetime) -> bytes:
    """Night walks as an iCalendar feed (e.g. one association's accepted walks, months ahead).

    ``walks``: plan-document walk dicts (a weekly plan's night-walk ``shifts`` or a season
    plan's ``placed``) with ``association``, ``area``, ``night``, ``start``, ``end``; ``name``:
    the calendar's name; ``stamp``: DTSTAMP (tz-aware; the caller's clock, e.g. when the feed's
    data last changed). The UID is the walk (association and night), so a subscribed calendar
    updates a walk in place when its area or times change.
    """
    zone = ZoneInfo(tz)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//tryggplan//allocation//SV")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tz)
    for w in walks:
        key = f"walk|{w['association']}|{w['night']}"
        ev = icalendar.Event()
        ev.add("uid", hashlib.sha1(key.encode("utf-8")).hexdigest()[:20] + "@tryggplan")
        ev.add("dtstamp", stamp.astimezone(dt.UTC))
        ev.add("dtstart", _ics_time(w["start"], zone))
        ev.add("dtend", _ics_time(w["end"], zone))
        ev.add("summary", f"Nattvandring: {w['association']} – {w.get('area') or ''}".rstrip(" –"))
        if w.get("area"):
            ev.add("location", str(w["area"]))
        ev.add("categories", [_KIND_SV["night_walk"]])
        cal.add_component(ev)
    cal.add_missing_timezones()
    if not any(c.name == "VTIMEZONE" for c in cal.walk()):
        cal.add_component(icalendar.Timezone.from_tzid(tz))
    return cal.to_ical()


def _ics_time(iso: str, tz: ZoneInfo) -> dt.datetime:
    """Local time with TZID, except the second of two equal wall times when the clocks fall
    back: RFC 5545 reads an ambiguous TZID time as the first one, so that one goes in UTC."""
    local = dt.datetime.fromisoformat(iso).astimezone(tz)
    if local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset():
        return local.astimezone(dt.UTC)
    return local


def write_ics(plan: Plan, path: str | Path) -> None:
    atomic_write(Path(path), plan_ics(plan))


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory, so a failure leaves nothing half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)

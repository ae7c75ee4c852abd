"""Exports a coordinator uses: plan.json, a CSV for Swedish Excel, and iCalendar.

* JSON: :meth:`tryggplan.allocation.plan.Plan.to_dict` (fields in docs/architecture.md).
* CSV: UTF-8 with BOM, ``;`` separators, decimal commas, and cells that start with
  ``= + - @`` (after any leading whitespace, line break or invisible character; or with a tab or
  CR) prefixed with ``'`` so Excel never runs them as formulas (OWASP "CSV injection"). Fields
  holding CR or LF are quoted (CRLF line ends), so a value cannot start a new row that begins
  with a formula. :func:`csv_text` and :func:`frame_csv` write any CSV export that way.
* ICS: one VEVENT per shift (UID, DTSTAMP, SUMMARY, LOCATION, DESCRIPTION, DTSTART/DTEND
  with TZID) and a VTIMEZONE for the plan's zone (RFC 5545).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pandas as pd

from tryggplan.allocation.plan import Plan, Shift

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
#: what starts a formula in Excel (and LibreOffice), including the full-width forms some input
#: methods type
_FORMULA = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
#: whitespace, line breaks, controls and invisible characters a spreadsheet may skip before a formula
_LEADING = re.compile(r"^[\s\x00-\x1f\x7f-\x9f\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]*")


def excel_safe(text: str) -> str:
    """Prefix a cell that Excel would read as a formula with ``'``: one that starts with a tab or a
    carriage return, or whose first character after any leading whitespace, line break, control or
    invisible character is ``= + - @`` (a place id ``"\\r=7+7"`` or ``" =1+1"`` is neutralised too)."""
    if not text:
        return text
    if text[0] in "\t\r" or text[_LEADING.match(text).end() :].startswith(_FORMULA):  # type: ignore[union-attr]
        return "'" + text
    return text


def csv_text(rows: Iterable[Sequence[object]], *, delimiter: str = ";") -> str:
    """Rows as CSV text a spreadsheet reads as data: string cells through :func:`excel_safe`, other
    values with ``str`` (``None`` as empty); CRLF line ends, so a field holding CR or LF (or the
    separator or a quote) is quoted and cannot start a row of its own."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for row in rows:
        w.writerow([excel_safe(c) if isinstance(c, str) else ("" if c is None else str(c)) for c in row])
    return buf.getvalue()


def frame_csv(frame: pd.DataFrame, *, delimiter: str = ",", index: bool = False) -> str:
    """A frame as CSV text the way :func:`csv_text` writes rows: the header and every string cell
    through :func:`excel_safe`, fields with CR/LF quoted. The caller's frame is not changed."""
    out = frame.reset_index() if index else frame
    body = [[None if _missing(v) else v for v in rec] for rec in out.itertuples(index=False, name=None)]
    return csv_text([[str(c) for c in out.columns], *body], delimiter=delimiter)


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _num(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


def _local(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")


def write_json(plan: Plan, path: str | Path) -> None:
    atomic_write(Path(path), plan.to_json().encode("utf-8"))


def plan_csv(plan: Plan) -> bytes:
    """The plan as CSV bytes for Swedish Excel (BOM, ``;``, decimal comma)."""
    rows: list[list[object]] = [list(CSV_COLUMNS)]
    for s in plan.shifts:
        row = [
            plan.week,
            _KIND_SV[s.kind],
            s.association or s.guard or "",
            s.area or "",
            ", ".join(s.place_ids),
            s.night or "",
            _local(s.start),
            _local(s.end),
            s.start,
            s.end,
            _num(s.hours, 1),
            _num(s.cost_sek, 0),
            _num(s.expected_covered),
            _num(s.expected_prevented),
            "ja" if s.pinned else "nej",
            s.why,
        ]
        rows.append([str(c) for c in row])
    rows.append([])
    rows.append(
        [
            str(c)
            for c in (
                plan.week,
                "summa",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                _num(sum(s.hours for s in plan.shifts), 1),
                _num(plan.cost_sek, 0),
                _num(plan.risk_total * plan.risk_covered_share),
                _num(plan.objective),
                "",
                f"status {plan.status}; täckt andel av veckans risk {_num(100 * plan.risk_covered_share, 1)} %",
            )
        ]
    )
    return b"\xef\xbb\xbf" + csv_text(rows, delimiter=";").encode("utf-8")


def write_csv(plan: Plan, path: str | Path) -> None:
    atomic_write(Path(path), plan_csv(plan))


def _uid(plan: Plan, s: Shift) -> str:
    key = f"{plan.week}|{s.kind}|{s.association or ''}|{s.area or ''}|{','.join(s.place_ids)}|{s.start}|{s.end}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:20] + "@tryggplan"


def plan_ics(plan: Plan) -> bytes:
    """The plan as an iCalendar file: one VEVENT per shift, VTIMEZONE for ``plan.tz``."""
    tz = ZoneInfo(plan.tz)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//tryggplan//allocation//SV")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Trygghetsplan {plan.week}")
    cal.add("x-wr-timezone", plan.tz)
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for s in plan.shifts:
        ev = icalendar.Event()
        ev.add("uid", _uid(plan, s))
        ev.add("dtstamp", stamp)
        ev.add("dtstart", _ics_time(s.start, tz))
        ev.add("dtend", _ics_time(s.end, tz))
        if s.kind == "night_walk":
            ev.add("summary", f"Nattvandring: {s.association} – {s.area}")
            ev.add("location", f"{s.area}: {', '.join(s.place_ids)}")
        else:
            ev.add("summary", f"Väktare ({s.guard}): {', '.join(s.place_ids)}")
            ev.add("location", ", ".join(s.place_ids))
        ev.add(
            "description",
            f"{s.why}\nKostnad {s.cost_sek:.0f} SEK; förväntat förhindrade "
            f"{s.expected_prevented:.3f} händelser." + (" Låst (överenskommet)." if s.pinned else ""),
        )
        ev.add("categories", [_KIND_SV[s.kind]])
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

"""Swedish and English texts: numbers, money, percentages, dates and a small message catalog.

Everything a coordinator, reporter or police officer reads is Swedish by default and English on
request (``lang="en"``). Swedish conventions (Språkrådet, *Svenska skrivregler*):

* decimal comma and a (no-break) space between thousands: ``1 234,5``;
* a space before the percent sign and a real minus sign: ``−18,1 %``;
* amounts in kronor after the number: ``12 000 kr``;
* dates without a leading zero and lower-case names: ``fre 4 dec 20:00``, ``4 december 2026``.

English uses ``1,234.5``, ``−18.1%``, ``SEK 12,000`` and ``Fri 4 Dec 20:00`` / ``4 December 2026``.

The catalog maps a key to a Swedish and an English template (``str.format`` fields); every layer may
register its own keys with :func:`register_messages` and render them with :func:`message`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from typing import Literal, cast

import pandas as pd

from tryggplan.domain import InvalidInputError, Problem

Lang = Literal["sv", "en"]
LANGS: tuple[Lang, ...] = ("sv", "en")

#: no-break space: between thousands and before units, so a number never wraps in two
NBSP = "\u00a0"
#: the typographic minus sign (U+2212), narrower hyphens look like dashes in print
MINUS = "\u2212"
#: en dash for ranges of times (``20:00–02:00``)
EN_DASH = "\u2013"

_WEEKDAYS: dict[Lang, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sv": (
        ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
        ("mån", "tis", "ons", "tors", "fre", "lör", "sön"),
    ),
    "en": (
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    ),
}
_MONTHS: dict[Lang, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sv": (
        (
            "januari",
            "februari",
            "mars",
            "april",
            "maj",
            "juni",
            "juli",
            "augusti",
            "september",
            "oktober",
            "november",
            "december",
        ),
        ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
    ),
    "en": (
        (
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    ),
}


# numbers a reader takes in at a glance when written out (one in ten, two incidents)
_NUMBER_WORDS: dict[Lang, dict[int, str]] = {
    "sv": {
        1: "en",
        2: "två",
        3: "tre",
        4: "fyra",
        5: "fem",
        6: "sex",
        7: "sju",
        8: "åtta",
        9: "nio",
        10: "tio",
        11: "elva",
        12: "tolv",
        15: "femton",
        20: "tjugo",
        25: "tjugofem",
        30: "trettio",
        40: "fyrtio",
        50: "femtio",
        100: "hundra",
    },
    "en": {
        1: "one",
        2: "two",
        3: "three",
        4: "four",
        5: "five",
        6: "six",
        7: "seven",
        8: "eight",
        9: "nine",
        10: "ten",
        11: "eleven",
        12: "twelve",
        15: "fifteen",
        20: "twenty",
        25: "twenty-five",
        30: "thirty",
        40: "forty",
        50: "fifty",
        100: "a hundred",
    },
}
#: the "one in N" denominators used for expected counts below one
_ONE_IN: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 20, 25, 30, 40, 50, 100)
_PER_WORDS: dict[Lang, dict[str, str]] = {
    "sv": {"evening": "sådana kvällar", "night": "sådana nätter", "week": "sådana veckor"},
    "en": {"evening": "such evenings", "night": "such nights", "week": "such weeks"},
}


def check_lang(lang: str) -> Lang:
    """``lang`` if it is a supported language, else an error naming the supported ones."""
    if lang not in LANGS:
        raise InvalidInputError(f"unknown language {lang!r}: use 'sv' (Swedish, the default) or 'en' (English)")
    return cast(Lang, lang)


# --- numbers -------------------------------------------------------------------------------------


def format_number(x: float, decimals: int = 0, lang: Lang = "sv", *, grouping: bool = True, sign: bool = False) -> str:
    """``1234.5`` -> ``1 234,5`` (sv) or ``1,234.5`` (en) with ``decimals`` digits.

    ``grouping=False`` leaves out the thousands separator (for CSV cells Excel must read as
    numbers); ``sign=True`` writes ``+`` before positive numbers. Negative numbers get a real
    minus sign (U+2212). NaN and infinities are refused: they are never a figure to print.
    """
    lang = check_lang(lang)
    if not math.isfinite(x):
        raise InvalidInputError(f"cannot format {x!r} as a number: give a finite value")
    if decimals < 0:
        raise InvalidInputError(f"decimals must be >= 0, got {decimals}")
    text = f"{abs(x):,.{decimals}f}" if grouping else f"{abs(x):.{decimals}f}"
    # rounding can turn -0.04 into "0.0": no sign on a printed zero
    zero = float(text.replace(",", "")) == 0.0
    if lang == "sv":
        text = text.replace(",", NBSP).replace(".", ",")
    if x < 0 and not zero:
        text = MINUS + text
    elif sign and x > 0 and not zero:
        text = "+" + text
    return text


def format_percent(x: float, lang: Lang = "sv", decimals: int = 1, *, sign: bool = True) -> str:
    """A percentage already in percent (``-18.1`` -> ``−18,1 %`` sv, ``−18.1%`` en).

    ``sign=True`` (changes) writes ``+`` before increases; use ``sign=False`` for shares.
    """
    number = format_number(x, decimals, lang, sign=sign)
    return f"{number}{NBSP}%" if lang == "sv" else f"{number}%"


def format_sek(amount: float, lang: Lang = "sv", decimals: int = 0) -> str:
    """An amount [SEK]: ``12 000 kr`` (sv) or ``SEK 12,000`` (en)."""
    number = format_number(amount, decimals, lang)
    return f"{number}{NBSP}kr" if lang == "sv" else f"SEK{NBSP}{number}"


def format_p_value(p: float, lang: Lang = "sv") -> str:
    """``p = 0,016`` / ``p < 0,001`` (three decimals; below 0.001 written as a bound)."""
    if not 0.0 <= p <= 1.0:
        raise InvalidInputError(f"a p-value lies in [0, 1], got {p!r}")
    if p < 0.001:
        return f"p < {format_number(0.001, 3, lang)}"
    return f"p = {format_number(p, 3, lang)}"


def number_word(n: int, lang: Lang = "sv") -> str:
    """``n`` in words for 1-12 and the round numbers of "one in N" (15, 20, 25, 30, 40, 50, 100),
    else in digits."""
    lang = check_lang(lang)
    return _NUMBER_WORDS[lang].get(n, format_number(n, 0, lang))


def expected_in_words(expected: float, lang: Lang = "sv", per: Literal["evening", "night", "week"] = "evening") -> str:
    """An expected count [incidents] as a coordinator reads it at a glance.

    ``0.1`` -> ``ungefär en händelse på tio sådana kvällar``; ``0.9`` -> ``ungefär en
    händelse``; ``2.4`` -> ``ungefär två händelser`` (en: ``about one incident in ten such
    evenings``, ...). Below 0.7 the count is written as one in N (N the nearest of 2-12, 15,
    20, 25, 30, 40, 50, 100 on a log scale); below 1/150 as fewer than one in a hundred.
    ``per`` names what the count is for (an evening window, a night, a week).
    """
    lang = check_lang(lang)
    if not math.isfinite(expected) or expected < 0:
        raise InvalidInputError(f"an expected count is a number >= 0 [incidents], got {expected!r}")
    if per not in _PER_WORDS[lang]:
        raise InvalidInputError(f"per {per!r} is not one of {sorted(_PER_WORDS[lang])}")
    such = _PER_WORDS[lang][per]
    if expected == 0:
        return "ingen händelse väntas" if lang == "sv" else "no incident expected"
    if expected < 1 / 150:
        return (
            f"färre än en händelse på hundra {such}" if lang == "sv" else f"fewer than one incident in a hundred {such}"
        )
    if expected < 0.7:
        n = min(_ONE_IN, key=lambda k: abs(math.log(k * expected)))
        word = number_word(n, lang)
        return f"ungefär en händelse på {word} {such}" if lang == "sv" else f"about one incident in {word} {such}"
    k = max(1, int(math.floor(expected + 0.5)))
    word = number_word(k, lang) if k <= 12 else format_number(k, 0, lang)
    if lang == "sv":
        return f"ungefär {word} {'händelse' if k == 1 else 'händelser'}"
    return f"about {word} {'incident' if k == 1 else 'incidents'}"


# --- dates and times -----------------------------------------------------------------------------


def weekday_name(day: dt.date, lang: Lang = "sv", *, short: bool = False) -> str:
    """``fredag`` / ``fre`` (sv), ``Friday`` / ``Fri`` (en)."""
    lang = check_lang(lang)
    return _WEEKDAYS[lang][1 if short else 0][day.weekday()]


def month_name(month: int, lang: Lang = "sv", *, short: bool = False) -> str:
    """``december`` / ``dec`` (sv), ``December`` / ``Dec`` (en) for month 1-12."""
    lang = check_lang(lang)
    if not 1 <= month <= 12:
        raise InvalidInputError(f"month must be 1-12, got {month}")
    return _MONTHS[lang][1 if short else 0][month - 1]


DateStyle = Literal["long", "short", "weekday", "full"]


def format_date(day: dt.date, lang: Lang = "sv", style: DateStyle = "long") -> str:
    """A date as it is written in running text.

    ``long``: ``4 december 2026``; ``short``: ``4 dec``; ``weekday``: ``fre 4 dec``;
    ``full``: ``fredag 4 december 2026`` (en: ``4 December 2026``, ``4 Dec``, ``Fri 4 Dec``,
    ``Friday 4 December 2026``).
    """
    lang = check_lang(lang)
    if isinstance(day, dt.datetime):
        day = day.date()
    if style == "long":
        return f"{day.day} {month_name(day.month, lang)} {day.year}"
    if style == "short":
        return f"{day.day} {month_name(day.month, lang, short=True)}"
    if style == "weekday":
        return f"{weekday_name(day, lang, short=True)} {day.day} {month_name(day.month, lang, short=True)}"
    if style == "full":
        return f"{weekday_name(day, lang)} {day.day} {month_name(day.month, lang)} {day.year}"
    raise InvalidInputError(f"date style {style!r} is not one of long, short, weekday, full")


def format_date_range(first: dt.date, last: dt.date, lang: Lang = "sv") -> str:
    """An inclusive range of dates, sharing what the two dates share: ``16–29 november 2026``,
    ``27 oktober–9 november 2026``, ``20 december 2025–2 januari 2026`` (en: ``16–29 November 2026``)."""
    lang = check_lang(lang)
    if last < first:
        raise InvalidInputError(f"date range {first.isoformat()}..{last.isoformat()} ends before it starts")
    if first == last:
        return format_date(first, lang)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}{EN_DASH}{format_date(last, lang)}"
    if first.year == last.year:
        return f"{first.day} {month_name(first.month, lang)}{EN_DASH}{format_date(last, lang)}"
    return f"{format_date(first, lang)}{EN_DASH}{format_date(last, lang)}"


def _local(ts: dt.datetime | pd.Timestamp | str, tz: str | None) -> pd.Timestamp:
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is None:
        raise InvalidInputError(f"time {ts!s} has no time zone: give it with an offset such as +01:00")
    return stamp.tz_convert(tz) if tz else stamp


def format_datetime(ts: dt.datetime | pd.Timestamp | str, lang: Lang = "sv", tz: str | None = None) -> str:
    """``fre 4 dec 20:00`` (sv) / ``Fri 4 Dec 20:00`` (en), in ``tz`` (default: the value's own zone)."""
    local = _local(ts, tz)
    return f"{format_date(local.date(), lang, 'weekday')} {local:%H:%M}"


def format_time_range(
    start: dt.datetime | pd.Timestamp | str,
    end: dt.datetime | pd.Timestamp | str,
    lang: Lang = "sv",
    tz: str | None = None,
) -> str:
    """``fre 4 dec 20:00–02:00``: the end's date is left out when it is the same day or the next
    morning (before 12:00, a night), else written out: ``fre 4 dec 20:00 – lör 5 dec 14:00``."""
    a, b = _local(start, tz), _local(end, tz if tz else str(_local(start, None).tz))
    days = (b.date() - a.date()).days
    if days == 0 or (days == 1 and b.hour < 12 and b > a):
        return f"{format_datetime(a, lang)}{EN_DASH}{b:%H:%M}"
    return f"{format_datetime(a, lang)} {EN_DASH} {format_datetime(b, lang)}"


# --- the message catalog -------------------------------------------------------------------------

_CATALOG: dict[str, dict[Lang, str]] = {}


def register_messages(messages: Mapping[str, Mapping[str, str]]) -> None:
    """Add ``{key: {"sv": template, "en": template}}`` to the catalog.

    Both languages are required. Registering a key again with the same texts is a no-op (modules
    may be imported twice); with different texts it is an error, so two layers cannot silently
    fight over one key.
    """
    for key, texts in messages.items():
        missing = [lang for lang in LANGS if not isinstance(texts.get(lang), str) or not texts.get(lang)]
        if missing:
            raise InvalidInputError(f"message {key!r} lacks a text for {missing}: give both 'sv' and 'en'")
        extra = sorted(set(texts) - set(LANGS))
        if extra:
            raise InvalidInputError(f"message {key!r} has texts for unknown languages {extra}: use 'sv' and 'en'")
        entry: dict[Lang, str] = {lang: texts[lang] for lang in LANGS}
        old = _CATALOG.get(key)
        if old is not None and old != entry:
            raise InvalidInputError(f"message {key!r} is already registered with other texts: pick another key")
        _CATALOG[key] = entry


def has_message(key: str) -> bool:
    return key in _CATALOG


def message(key: str, lang: Lang = "sv", /, **values: object) -> str:
    """The catalog text for ``key`` in ``lang`` with ``values`` filled in (``str.format`` fields)."""
    lang = check_lang(lang)
    texts = _CATALOG.get(key)
    if texts is None:
        raise InvalidInputError(f"no message {key!r} in the catalog: register it with register_messages")
    try:
        return texts[lang].format(**values)
    except KeyError as exc:
        raise InvalidInputError(f"message {key!r} needs the value {exc.args[0]!r}") from exc


register_messages(
    {
        "within_normal_variation": {"sv": "inom normal variation", "en": "within normal variation"},
        "no_data": {"sv": "inga uppgifter", "en": "no data"},
    }
)


# --- the language of a request ---------------------------------------------------------------------

_LANG_RANGE = re.compile(r"^\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9](?:\.[0-9]{0,3})?))?\s*$")


def negotiate_lang(accept_language: str | None, default: Lang = "sv") -> Lang:
    """The supported language an ``Accept-Language`` header prefers (RFC 9110: highest ``q`` first,
    then header order; ``sv-SE`` counts as ``sv``), else ``default``. A malformed header is ``default``."""
    best: tuple[float, int, Lang] | None = None
    for position, part in enumerate((accept_language or "")[:500].split(",")):
        m = _LANG_RANGE.match(part)
        if m is None:
            continue
        tag = m.group(1).lower()
        q = float(m.group(2)) if m.group(2) else 1.0
        if tag in LANGS and q > 0 and (best is None or (q, -position) > (best[0], best[1])):
            best = (q, -position, cast(Lang, tag))
    return best[2] if best is not None else default


def request_lang(lang: str | None, accept_language: str | None, default: Lang = "sv") -> Lang:
    """The language of a request: ``lang`` (``sv``/``en``) when given, else the ``Accept-Language``
    header's preference, else ``default``. An unsupported ``lang`` is refused naming the supported ones."""
    if lang:
        return check_lang(lang)
    return negotiate_lang(accept_language, default)


# --- incident categories -------------------------------------------------------------------------

#: How a canonical category is named to a reader (the first Swedish label of the readers' table, and
#: English). A category not listed is shown as written, capitalised (``fyrverkeri`` -> ``Fyrverkeri``).
CATEGORY_LABELS: dict[str, dict[Lang, str]] = {
    "vandalism": {"sv": "Skadegörelse", "en": "Vandalism"},
    "disorder": {"sv": "Ordningsstörning", "en": "Disorder"},
    "assault": {"sv": "Misshandel", "en": "Assault"},
    "theft": {"sv": "Stöld", "en": "Theft"},
    "burglary": {"sv": "Inbrott", "en": "Burglary"},
    "robbery": {"sv": "Rån", "en": "Robbery"},
    "drugs": {"sv": "Narkotikabrott", "en": "Drugs"},
    "threat": {"sv": "Olaga hot", "en": "Threat"},
    "weapons": {"sv": "Vapen- eller knivlagsbrott", "en": "Weapons"},
    "shooting": {"sv": "Skottlossning", "en": "Shooting"},
    "explosion": {"sv": "Explosion", "en": "Explosion"},
    "fire": {"sv": "Brand", "en": "Fire"},
    "homicide": {"sv": "Mord eller dråp", "en": "Homicide"},
    "sexual": {"sv": "Sexualbrott", "en": "Sexual offence"},
    "fraud": {"sv": "Bedrägeri", "en": "Fraud"},
    "traffic_offence": {"sv": "Trafikbrott", "en": "Traffic offence"},
    "trespass": {"sv": "Olaga intrång", "en": "Trespass"},
    "vehicle_theft": {"sv": "Fordonsstöld", "en": "Vehicle theft"},
    "unknown": {"sv": "Okänd typ", "en": "Unknown type"},
}
#: The categories a reporter can always choose from, in this order, even before any is stored.
REPORTER_CATEGORIES: tuple[str, ...] = ("disorder", "vandalism", "threat", "assault", "theft", "drugs")


def category_label(category: str, lang: Lang = "sv") -> str:
    """``vandalism`` -> ``Skadegörelse`` (sv) / ``Vandalism`` (en); others capitalised as written."""
    lang = check_lang(lang)
    known = CATEGORY_LABELS.get(category)
    if known is not None:
        return known[lang]
    text = category.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else category


# --- problems of input files, in Swedish ---------------------------------------------------------

_MONTHS_EN = {name: i for i, name in enumerate(_MONTHS["en"][0], start=1)}

#: reasons the readers give for a date or clock value (``tryggplan.validation``), in Swedish
_REASONS_SV: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"month (-?\d+) does not exist"), lambda m: f"månad {m.group(1)} finns inte"),
    (re.compile(r"day (-?\d+) does not exist"), lambda m: f"dag {m.group(1)} finns inte"),
    (
        re.compile(r"(" + "|".join(_MONTHS["en"][0]) + r") (\d{4}) has (\d+) days"),
        lambda m: f"{_MONTHS['sv'][0][_MONTHS_EN[m.group(1)] - 1]} {m.group(2)} har {m.group(3)} dagar",
    ),
    (
        re.compile(r"hour (\d+) does not exist \(midnight is 00:00 of the next day\)"),
        lambda m: f"timme {m.group(1)} finns inte (midnatt är 00:00 nästa dag)",
    ),
    (re.compile(r"hour (\d+) does not exist"), lambda m: f"timme {m.group(1)} finns inte"),
    (re.compile(r"minute (\d+) does not exist"), lambda m: f"minut {m.group(1)} finns inte"),
    (re.compile(r"second (\d+) does not exist"), lambda m: f"sekund {m.group(1)} finns inte"),
    (
        re.compile(r"the date is not written YYYY-MM-DD \(two digits for the month and the day\)"),
        lambda m: "datumet är inte skrivet ÅÅÅÅ-MM-DD (två siffror för månad och dag)",
    ),
    (
        re.compile(r"the date is not written YYYY-MM-DD \(day and month order differs between countries\)"),
        lambda m: "datumet är inte skrivet ÅÅÅÅ-MM-DD (ordningen mellan dag och månad skiljer sig mellan länder)",
    ),
    (re.compile(r"the clock time is missing"), lambda m: "klockslaget saknas"),
    (re.compile(r"it is empty"), lambda m: "värdet är tomt"),
)


def _reasons_sv(text: str) -> str | None:
    """``"February 2025 has 28 days; hour 24 does not exist"`` in Swedish, or ``None`` when a part is
    not one of the readers' reasons."""
    out = []
    for part in text.split("; "):
        for pattern, render in _REASONS_SV:
            m = pattern.fullmatch(part.strip())
            if m is not None:
                out.append(render(m))
                break
        else:
            return None
    return "; ".join(out)


def _q(value: str) -> str:
    return f"”{value}”"


def _message_sv(problem: Problem) -> str | None:
    """The problem's own message in Swedish when it is one the readers write, else ``None``."""
    msg = problem.message
    rules: list[tuple[str, Callable[[re.Match[str]], str | None]]] = [
        (r"(?P<l>.+?) '(?P<v>.*)' is not a date: (?P<r>.+)", lambda m: _with_reason(m, "är inget datum")),
        (r"(?P<l>.+?) '(?P<v>.*)' is not a clock time: (?P<r>.+)", lambda m: _with_reason(m, "är inget klockslag")),
        (r"(?P<l>.+?) '(?P<v>.*)' is not a timestamp: (?P<r>.+)", lambda m: _with_reason(m, "är ingen tidpunkt")),
        (
            r"(?P<l>.+?) '(?P<v>.*)' is not written YYYY-MM-DD \(two digits for the month and the day\)",
            lambda m: f"{m['l']}: {_q(m['v'])} är inte skrivet ÅÅÅÅ-MM-DD (två siffror för månad och dag)",
        ),
        (
            r"(?P<l>.+?) '(?P<v>.*)' is not written YYYY-MM-DD \(.*\)",
            lambda m: (
                f"{m['l']}: {_q(m['v'])} är inte skrivet ÅÅÅÅ-MM-DD (ordningen mellan dag och månad skiljer "
                "sig mellan länder, så den gissas inte)"
            ),
        ),
        (r"(?P<l>.+?) '(?P<v>.*)' is not a date", lambda m: f"{m['l']}: {_q(m['v'])} är inget datum"),
        (r"(?P<l>.+?) '(?P<v>.*)' is not a clock time", lambda m: f"{m['l']}: {_q(m['v'])} är inget klockslag"),
        (r"(?P<l>.+?) '(?P<v>.*)' is not a timestamp", lambda m: f"{m['l']}: {_q(m['v'])} är ingen tidpunkt"),
        (r"(?P<l>.+?) is empty", lambda m: f"{m['l']} är tom"),
        (r"unknown place '(?P<v>.*)'", lambda m: f"platsen {_q(m['v'])} finns inte"),
        (
            r"(?P<l>.+?) '(?P<v>.*)' is in the future \(after (?P<t>[0-9: -]+) UTC\)",
            lambda m: f"{m['l']}: {_q(m['v'])} ligger i framtiden (efter {m['t']} UTC)",
        ),
        (r"(?P<l>.+?) '(?P<v>.*)' is before (?P<d>[0-9-]+)", lambda m: f"{m['l']}: {_q(m['v'])} är före {m['d']}"),
        (
            r"local time '(?P<v>.*)' does not exist in (?P<z>\S+) \(clocks spring forward that night\)",
            lambda m: f"den lokala tiden {_q(m['v'])} finns inte i {m['z']} (klockan ställs fram den natten)",
        ),
        (
            r"local time '(?P<v>.*)' happens twice in (?P<z>\S+) \(clocks fall back that night\)",
            lambda m: (
                f"den lokala tiden {_q(m['v'])} inträffar två gånger i {m['z']} (klockan ställs tillbaka den natten)"
            ),
        ),
        (
            r"required column '(?P<c>.+?)' is missing \(found: (?P<f>.*)\)",
            lambda m: f"den obligatoriska kolumnen {_q(_COLUMN_SV.get(m['c'], m['c']))} saknas (filen har: {m['f']})",
        ),
        (
            r"column '(?P<c>.+?)' appears more than once in the header",
            lambda m: f"kolumnen {_q(m['c'])} finns mer än en gång i rubrikraden",
        ),
        (
            r"the row has (?P<n>\d+) fields but the header has (?P<h>\d+)",
            lambda m: f"raden har {m['n']} fält men rubrikraden har {m['h']}",
        ),
        (r"the file is empty \(no header row\)", lambda m: "filen är tom (ingen rubrikrad)"),
        (
            r"(?P<l>.+?) '(?P<v>.*)' already appears on row (?P<r>\d+) with different (?P<c>.+)",
            lambda m: f"{m['l']} {_q(m['v'])} finns redan på rad {m['r']} med annat innehåll ({m['c']})",
        ),
        (
            r"incident (?P<v>.+?) is already stored with different content \((?P<c>.+)\)",
            lambda m: f"händelsen {_q(m['v'])} finns redan sparad med annat innehåll ({m['c']})",
        ),
        (
            r"(?P<l>.+?) is (?P<k>NaN|not a number|infinite|negative): '(?P<v>.*)'",
            lambda m: f"{m['l']}: {_q(m['v'])} är inget tal ≥ 0",
        ),
    ]
    for pattern, render in rules:
        m = re.fullmatch(pattern, msg, flags=re.DOTALL)
        if m is not None:
            text = render(m)
            if text is not None:
                return text
    return None


def _with_reason(m: re.Match[str], what: str) -> str | None:
    reason = _reasons_sv(m["r"])
    if reason is None:
        return None
    return f"{m['l']}: {_q(m['v'])} {what}: {reason}"


_COLUMN_SV = {
    "incident_id": "incident_id (Id)",
    "occurred_at": "occurred_at (Datum och Tid)",
    "place_id": "place_id (Plats)",
}

#: what each kind of problem means, when its message is not one :func:`_message_sv` knows
_KIND_SV: dict[str, str] = {
    "empty_file": "filen är tom",
    "binary_file": "filen är ingen textfil (CSV)",
    "workbook": "filen är en Excel-arbetsbok (.xlsx/.xls), inte en CSV-fil",
    "encoding": "raden kan inte läsas i filens teckenkodning",
    "missing_column": "en kolumn som behövs saknas",
    "duplicate_column": "en kolumn finns två gånger i rubrikraden",
    "field_count": "raden har fel antal fält",
    "nul_bytes": "värdet innehåller styrtecken (NUL eller liknande)",
    "long_field": "värdet är för långt",
    "csv_syntax": "raden kan inte läsas som CSV (kontrollera citattecknen)",
    "empty_id": "id saknas",
    "empty_place": "platsen saknas",
    "bad_timestamp": "tidpunkten kan inte läsas",
    "nonexistent_time": "den lokala tiden finns inte (klockan ställs fram den natten)",
    "ambiguous_time": "den lokala tiden inträffar två gånger (klockan ställs tillbaka den natten)",
    "future": "tidpunkten ligger i framtiden",
    "too_old": "tidpunkten är orimligt gammal",
    "unknown_place": "platsen finns inte",
    "bad_weight": "vikten är inget tal ≥ 0",
    "duplicate_id": "samma id förekommer med olika innehåll",
    "bad_coordinate": "koordinaten är inget tal i rätt intervall",
    "control_character": "värdet innehåller ett styrtecken",
    "invisible_character": "värdet innehåller ett osynligt tecken",
    "too_large": "filen är större än gränsen",
    "long_note": "texten är för lång",
    "conflict": "villkoren går inte att uppfylla samtidigt",
}

#: how to fix each kind of problem, in Swedish
_FIX_SV: dict[str, str] = {
    "empty_file": "exportera händelserna igen med en rubrikrad",
    "binary_file": "spara filen som CSV (Excel: Arkiv › Spara som › CSV UTF-8)",
    "workbook": "spara arbetsboken som CSV (Excel: Arkiv › Spara som › CSV UTF-8) och ladda upp den filen",
    "encoding": "spara hela filen igen i en och samma kodning (Excel: ”CSV UTF-8”)",
    "missing_column": "lägg till kolumnen (Id, Datum, Tid, Plats, Händelsetyp) eller ange kolumnmappning",
    "duplicate_column": "behåll en kolumn med det namnet",
    "field_count": "sätt citattecken runt värden som innehåller avgränsaren, eller ta bort extra avgränsare",
    "nul_bytes": "ta bort tecknen (exporten kan vara trasig) och ladda upp igen",
    "long_field": "korta värdet eller kontrollera att citattecknen är parade",
    "csv_syntax": "kontrollera citattecknen på raden",
    "empty_id": "ge varje händelse ett unikt id, eller ta bort id-kolumnen så härleds id ur innehållet",
    "empty_place": "ange platsen för varje händelse",
    "bad_timestamp": "skriv lokal tid som ÅÅÅÅ-MM-DD TT:MM (t.ex. 2025-08-15 21:10)",
    "nonexistent_time": "kontrollera tiden: den timmen hoppas över den dagen",
    "ambiguous_time": "ange tidszonen (+02:00 för första gången, +01:00 för andra)",
    "future": "kontrollera året och klockan i systemet som exporterade filen",
    "too_old": "kontrollera året (ett ”inget datum”-värde är ingen händelsetid)",
    "unknown_place": "lägg till platsen i platsfilen eller rätta platsen",
    "bad_weight": "skriv ett tal ≥ 0, t.ex. 1 eller 0,5 (tomt betyder 1)",
    "duplicate_id": "ge varje händelse ett eget id, eller behåll bara den rätta versionen",
    "bad_coordinate": "skriv decimala grader (WGS84), t.ex. 59,3936",
    "control_character": "ta bort tecknet: ett id, namn eller en kategori är en rad synlig text",
    "invisible_character": "radera värdet och skriv det igen (sådana tecken följer med kopierad text)",
    "too_large": "dela upp filen",
    "long_note": "korta texten till högst 500 tecken",
    "conflict": "lätta på ett av villkoren",
}
#: the readers' fixed fix texts (``tryggplan.validation``), word for word in Swedish
_FIXES_SV: dict[str, str] = {
    "write the date as YYYY-MM-DD, e.g. 2025-08-22": "skriv datumet som ÅÅÅÅ-MM-DD, t.ex. 2025-08-22",
    "write the clock time as HH:MM from 00:00 to 23:59, e.g. 21:30": (
        "skriv klockslaget som TT:MM mellan 00:00 och 23:59, t.ex. 21:30"
    ),
    (
        "write local time as YYYY-MM-DD HH:MM (e.g. 2025-08-15 21:10) "
        "or ISO 8601 with offset (e.g. 2025-08-15T21:10:00+02:00)"
    ): (
        "skriv lokal tid som ÅÅÅÅ-MM-DD TT:MM (t.ex. 2025-08-15 21:10) eller ISO 8601 med tidszon "
        "(t.ex. 2025-08-15T21:10:00+02:00)"
    ),
    "name the place of every incident": "ange platsen för varje händelse",
}


def problem_text(problem: Problem, lang: Lang = "sv") -> tuple[str, str]:
    """A problem's ``(message, fix)`` for a reader of ``lang``.

    English is the problem as written. Swedish: the message word for word where it is one the readers
    write (the user's own column names and values kept: ``Datum: ”2025-13-01” är inget datum: månad 13
    finns inte``), else what its ``kind`` means; the fix likewise. A problem of a kind this catalog does
    not know keeps its English text (better than none).
    """
    lang = check_lang(lang)
    if lang == "en":
        return problem.message, problem.fix
    message = _message_sv(problem)
    if message is None:
        generic = _KIND_SV.get(problem.kind or "")
        if generic is None:
            return problem.message, problem.fix
        value = f": {_q(problem.value)}" if problem.value else ""
        message = f"{problem.column}: {generic}{value}" if problem.column else generic[:1].upper() + generic[1:]
    fix = _FIXES_SV.get(problem.fix) or _FIX_SV.get(problem.kind or "") or problem.fix
    return message, fix

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
from collections.abc import Mapping
from typing import Literal, cast

import pandas as pd

from tryggplan.domain import InvalidInputError

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

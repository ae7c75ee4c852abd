"""Swedish and English texts (tryggplan.i18n): exact strings as a reader sees them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tryggplan.domain import InvalidInputError
from tryggplan.i18n import (
    check_lang,
    expected_in_words,
    format_date,
    format_date_range,
    format_datetime,
    format_number,
    format_p_value,
    format_percent,
    format_sek,
    format_time_range,
    has_message,
    message,
    month_name,
    number_word,
    register_messages,
    weekday_name,
)

NB = "\u00a0"


@pytest.mark.parametrize(
    ("x", "decimals", "lang", "want"),
    [
        (1234.5, 1, "sv", f"1{NB}234,5"),
        (1234.5, 1, "en", "1,234.5"),
        (1234567, 0, "sv", f"1{NB}234{NB}567"),
        (-18.14, 1, "sv", "\u221218,1"),
        (-0.04, 1, "sv", "0,0"),  # rounds to zero: no minus sign on a printed zero
        (0.5, 2, "en", "0.50"),
    ],
)
def test_numbers(x: float, decimals: int, lang: str, want: str) -> None:
    assert format_number(x, decimals, lang) == want  # type: ignore[arg-type]


def test_numbers_without_grouping_and_with_sign() -> None:
    assert format_number(1234.5, 1, "sv", grouping=False) == "1234,5"
    assert format_number(42.86, 1, "sv", sign=True) == "+42,9"
    assert format_number(0.0, 1, "sv", sign=True) == "0,0"


def test_percent_money_and_p_values() -> None:
    assert format_percent(-18.1) == f"\u221218,1{NB}%"
    assert format_percent(-18.1, "en") == "\u221218.1%"
    assert format_percent(92.9) == f"+92,9{NB}%"
    assert format_percent(62.5, sign=False) == f"62,5{NB}%"
    assert format_sek(12000) == f"12{NB}000{NB}kr"
    assert format_sek(12000, "en") == f"SEK{NB}12,000"
    assert format_p_value(0.0123) == "p = 0,012"
    assert format_p_value(0.0004, "en") == "p < 0.001"


def test_dates_and_times() -> None:
    friday = dt.date(2026, 12, 4)
    assert weekday_name(friday) == "fredag"
    assert weekday_name(friday, short=True) == "fre"
    assert weekday_name(friday, "en", short=True) == "Fri"
    assert month_name(12) == "december" and month_name(3, short=True) == "mar"
    assert format_date(friday) == "4 december 2026"
    assert format_date(friday, "en") == "4 December 2026"
    assert format_date(friday, style="short") == "4 dec"
    assert format_date(friday, style="weekday") == "fre 4 dec"
    assert format_date(friday, style="full") == "fredag 4 december 2026"
    start = pd.Timestamp("2026-12-04T19:00:00Z")
    assert format_datetime(start, tz="Europe/Stockholm") == "fre 4 dec 20:00"
    assert format_datetime(start, "en", tz="Europe/Stockholm") == "Fri 4 Dec 20:00"
    assert format_datetime("2026-12-04T20:00:00+01:00") == "fre 4 dec 20:00"
    night_end = pd.Timestamp("2026-12-05T02:00:00+01:00")
    assert format_time_range(start, night_end, tz="Europe/Stockholm") == "fre 4 dec 20:00\u201302:00"
    assert (
        format_time_range("2026-12-04T20:00+01:00", "2026-12-05T14:00+01:00", "en")
        == "Fri 4 Dec 20:00 \u2013 Sat 5 Dec 14:00"
    )


def test_date_ranges() -> None:
    assert format_date_range(dt.date(2026, 11, 16), dt.date(2026, 11, 29)) == "16\u201329 november 2026"
    assert format_date_range(dt.date(2026, 10, 27), dt.date(2026, 11, 9)) == "27 oktober\u20139 november 2026"
    assert format_date_range(dt.date(2025, 12, 20), dt.date(2026, 1, 2), "en") == "20 December 2025\u20132 January 2026"
    assert format_date_range(dt.date(2026, 2, 28), dt.date(2026, 2, 28)) == "28 februari 2026"
    with pytest.raises(InvalidInputError, match="ends before it starts"):
        format_date_range(dt.date(2026, 2, 28), dt.date(2026, 2, 1))


def test_naive_times_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="has no time zone"):
        format_datetime(pd.Timestamp("2026-12-04 20:00"))


@pytest.mark.parametrize(
    ("x", "sv", "en"),
    [
        (0.1, "ungefär en händelse på tio sådana kvällar", "about one incident in ten such evenings"),
        (0.9, "ungefär en händelse", "about one incident"),
        (0.5, "ungefär en händelse på två sådana kvällar", "about one incident in two such evenings"),
        (0.3, "ungefär en händelse på tre sådana kvällar", "about one incident in three such evenings"),
        (0.045, "ungefär en händelse på tjugo sådana kvällar", "about one incident in twenty such evenings"),
        (0.011, "ungefär en händelse på hundra sådana kvällar", "about one incident in a hundred such evenings"),
        (
            0.001,
            "färre än en händelse på hundra sådana kvällar",
            "fewer than one incident in a hundred such evenings",
        ),
        (2.4, "ungefär två händelser", "about two incidents"),
        (14.6, "ungefär 15 händelser", "about 15 incidents"),
        (1234.0, f"ungefär 1{NB}234 händelser", "about 1,234 incidents"),
        (0.0, "ingen händelse väntas", "no incident expected"),
    ],
)
def test_expected_counts_in_words(x: float, sv: str, en: str) -> None:
    assert expected_in_words(x) == sv
    assert expected_in_words(x, "en") == en


def test_expected_counts_per_night_and_week() -> None:
    assert expected_in_words(0.25, per="night") == "ungefär en händelse på fyra sådana nätter"
    assert expected_in_words(0.2, "en", per="week") == "about one incident in five such weeks"


def test_number_words() -> None:
    assert number_word(7) == "sju" and number_word(7, "en") == "seven" and number_word(13) == "13"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: check_lang("de"), "unknown language 'de': use 'sv'"),
        (lambda: format_number(float("nan")), "give a finite value"),
        (lambda: expected_in_words(-1.0), "number >= 0"),
        (lambda: expected_in_words(0.5, per="month"), "per 'month'"),  # type: ignore[arg-type]
        (lambda: month_name(13), "month must be 1-12"),
        (lambda: format_p_value(1.5), r"lies in \[0, 1\]"),
        (lambda: message("no such key"), "no message 'no such key'"),
        (lambda: register_messages({"k_only_sv": {"sv": "hej"}}), r"lacks a text for \['en'\]"),
        (lambda: register_messages({"k_de": {"sv": "a", "en": "b", "de": "c"}}), "unknown languages"),
        (lambda: register_messages({"within_normal_variation": {"sv": "x", "en": "y"}}), "already registered"),
    ],
)
def test_bad_input_is_refused_with_a_message(call: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        call()  # type: ignore[operator]


def test_message_catalog_can_be_extended() -> None:
    register_messages({"test_i18n.walks": {"sv": "{n} vandringar genomförda", "en": "{n} walks completed"}})
    register_messages({"test_i18n.walks": {"sv": "{n} vandringar genomförda", "en": "{n} walks completed"}})
    assert has_message("test_i18n.walks")
    assert message("test_i18n.walks", "sv", n=3) == "3 vandringar genomförda"
    assert message("test_i18n.walks", "en", n=3) == "3 walks completed"
    assert message("within_normal_variation") == "inom normal variation"
    with pytest.raises(InvalidInputError, match="needs the value 'n'"):
        message("test_i18n.walks", "sv")

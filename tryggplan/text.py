"""Text you can trust: ids, names and categories as people see them, and log lines nobody can forge.

Two values that look the same on a screen must be the same value, and a value must not be able to
change what the screen (or a log file) shows around it. So identifying text (incident ids, place
ids, place names, municipalities, categories, sources) is

* **normalised**: Unicode NFC (an ``ö`` typed as ``o`` + combining diaeresis becomes the one
  character ``ö``), every kind of space (no-break space, thin space, ...) becomes a plain space, and
  leading and trailing whitespace is removed; and
* **refused** when it holds a character nobody can see or that changes the display:

  ====================== ===================================================================
  kind                   characters
  ====================== ===================================================================
  ``control_character``  C0 and C1 controls (U+0000..U+001F, U+007F..U+009F: NUL, tab, line
                         feed, carriage return, escape, ...) and the line/paragraph separators
                         U+2028, U+2029
  ``invisible_character`` format characters (Unicode category Cf): zero-width space, joiners
                         and non-joiners (U+200B..U+200D), word joiner (U+2060), a byte-order mark
                         (U+FEFF) inside a value, soft hyphen (U+00AD), bidirectional marks,
                         embeddings, overrides and isolates (U+200E, U+200F, U+202A..U+202E,
                         U+2066..U+2069), tag characters; and the blank Hangul fillers
                         (U+115F, U+1160, U+3164, U+FFA0) and U+034F
  ====================== ===================================================================

:func:`escape_log` writes any text into one log line: control, separator and format characters
become visible escapes (``\\r``, ``\\n``, ``\\x1b``, ``\\u202e``), so a URL path cannot start a
forged log line or hide what it is.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

import pandas as pd

from tryggplan.domain import InvalidInputError, Problem

TextKind = Literal["control_character", "invisible_character"]

_CONTROL_CLASS = "\x00-\x1f\x7f-\x9f\u2028\u2029"
#: Unicode 15 category Cf (format characters), plus the blank fillers that are letters by category
#: but show nothing. ``tests/test_text.py`` checks this list against :mod:`unicodedata`.
_INVISIBLE_CLASS = (
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
FORBIDDEN = re.compile(f"[{_CONTROL_CLASS}{_INVISIBLE_CLASS}]")
_CONTROL = re.compile(f"[{_CONTROL_CLASS}]")
#: every space character (category Zs) other than the plain space
_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_LOG_ESCAPE = re.compile(f"[\\\\{_CONTROL_CLASS}{_INVISIBLE_CLASS}]")

_NAMES = {
    0x00: "NUL",
    0x09: "tab",
    0x0A: "line feed",
    0x0B: "vertical tab",
    0x0C: "form feed",
    0x0D: "carriage return",
    0x1B: "escape",
    0x7F: "delete",
    0x85: "next line",
    0xFEFF: "byte-order mark",
}
_LOG_SHORT = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def char_label(ch: str) -> str:
    """``U+200B (zero width space)``: the code point and its name, as a problem message shows it."""
    code = ord(ch)
    name = _NAMES.get(code) or unicodedata.name(ch, "").lower() or "control character"
    return f"U+{code:04X} ({name})"


def forbidden_character(value: str) -> tuple[int, str, TextKind] | None:
    """The first character of ``value`` that identifying text may not hold: ``(index, character,
    kind)``, or ``None`` when there is none."""
    m = FORBIDDEN.search(value)
    if m is None:
        return None
    ch = m.group()
    kind: TextKind = "control_character" if _CONTROL.match(ch) else "invisible_character"
    return m.start(), ch, kind


def _fix(kind: TextKind) -> str:
    if kind == "control_character":
        return "remove it: an id, name or category is one line of visible text (the export may be corrupted)"
    return (
        "delete the value and type it again: such characters come with text copied from web pages, "
        "e-mails or chat apps and make two different values look identical"
    )


def _message(field: str, value: str, found: tuple[int, str, TextKind]) -> str:
    index, ch, kind = found
    what = "the control character" if kind == "control_character" else "the invisible character"
    text = f"{field} contains {what} {char_label(ch)} at position {index + 1}"
    if kind == "invisible_character":
        text += ": the value would look the same as one without it"
    return text


def text_problem(value: str, field: str, *, file: str = "", row: int | None = None) -> Problem | None:
    """The problem with ``value`` as identifying text (``field`` names it in the message), or ``None``.

    The problem's ``kind`` is ``control_character`` or ``invisible_character``; its message names the
    field, the character as ``U+XXXX`` with its name and its position; its ``fix`` says what to do.
    """
    found = forbidden_character(value)
    if found is None:
        return None
    return Problem(
        file,
        row,
        field,
        _message(field, value, found),
        _fix(found[2]),
        value=escape_log(value)[:60],
        kind=found[2],
    )


def normalize_text(value: str, field: str) -> str:
    """``value`` as identifying text: NFC, every space a plain space, no leading or trailing
    whitespace (removed first, as the file readers do). Raises :class:`InvalidInputError` (naming
    ``field``, the character as ``U+XXXX`` and the fix) when it holds a control or invisible
    character (see the module docstring)."""
    stripped = value.strip()
    problem = text_problem(stripped, field)
    if problem is not None:
        raise InvalidInputError(f"{problem.message} -> {problem.fix}", [problem])
    return _SPACES.sub(" ", unicodedata.normalize("NFC", stripped)).strip()


def normalize_free_text(value: str, field: str) -> str:
    """``value`` as free text (a note, a comment): NFC, trimmed, line breaks as ``\\n``. Line feeds
    and tabs are kept; every other control character and every invisible one is refused as in
    :func:`normalize_text` (:class:`InvalidInputError` naming ``field``, the character and the fix)."""
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    found = forbidden_character(text.replace("\n", " ").replace("\t", " "))
    if found is not None:
        kind = found[2]
        fix = (
            "remove it: free text may hold line breaks and tabs, no other control"
            if kind == "control_character"
            else _fix(kind)
        )
        problem = Problem("", None, field, _message(field, text, found), fix, kind=kind)
        raise InvalidInputError(f"{problem.message} -> {problem.fix}", [problem])
    return text


def _normalize(value: str) -> str:
    if value.isascii():  # NFC and the space rule change nothing in ASCII
        return value.strip()
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip()


def _strings(values: pd.Series) -> list[str]:
    return [v if type(v) is str else str(v) for v in values.to_numpy(dtype=object, na_value="")]


def normalize_series(values: pd.Series) -> pd.Series:
    """:func:`normalize_text` for a column of strings, without the refusal (check with
    :func:`forbidden_mask` first): NFC, plain spaces, stripped. Returns a new object Series."""
    return pd.Series([_normalize(v) for v in _strings(values)], index=values.index, dtype=object)


def forbidden_mask(values: pd.Series) -> pd.Series:
    """True where a value holds a control or invisible character."""
    text = _strings(values)
    # one scan of all values joined (the common case: nothing found), then value by value
    if FORBIDDEN.search("".join(text)) is None:
        return pd.Series(False, index=values.index)
    return pd.Series([FORBIDDEN.search(v) is not None for v in text], index=values.index, dtype=bool)


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    short = _LOG_SHORT.get(ch)
    if short is not None:
        return short
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape_log(text: str) -> str:
    """``text`` safe for one log line: backslash, control, line-separator and format characters
    become escapes (``\\\\``, ``\\r``, ``\\n``, ``\\t``, ``\\x1b``, ``\\u202e``, ...); everything
    else, ``ö`` included, is kept. The backslash is escaped too, so an escape in the log always
    stands for the character, never for a backslash the sender typed."""
    return _LOG_ESCAPE.sub(_escape, text)


__all__ = [
    "FORBIDDEN",
    "TextKind",
    "char_label",
    "escape_log",
    "forbidden_character",
    "forbidden_mask",
    "normalize_free_text",
    "normalize_series",
    "normalize_text",
    "text_problem",
]

"""CSV that a spreadsheet reads as data, never as formulas: every CSV export of tryggplan is written here.

Cells that start with ``= + - @`` (after any leading whitespace, line break or invisible character; or
with a tab or CR) get a ``'`` prefix so Excel never runs them as formulas (OWASP, "CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection). Fields holding CR or LF are quoted and lines end
in CRLF, so a value cannot start a new row that begins with a formula.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

import pandas as pd

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


__all__ = ["csv_text", "excel_safe", "frame_csv"]

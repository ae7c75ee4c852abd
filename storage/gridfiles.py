"""Finished runs' risk grids in columnar form, for reads of any place and time window that cost
O(rows returned).

The database (``risk_cells``) stays the record; beside it each finished run gets one Arrow IPC file
(``run-<id>.arrow``, uncompressed, so it is memory-mapped and read without copying), its rows sorted
by slot and place. A window ``[start, end)`` is two binary searches on the slot column and a slice;
a place or municipality filter then looks only at the slice. Nothing is parsed or built for the rows
outside the window, and the operating system's page cache, not the process, keeps the file warm.

The file is derived data, like an index: written when the run is stored, rebuilt from the database
when it is missing (another host, a cleaned temporary folder, a run stored before this existed), and
written atomically (a temporary name, then a rename), so readers never see half a file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine

_SCHEMA = pa.schema(
    [
        ("slot", pa.int64()),  # UTC [ns since the epoch]
        ("place_id", pa.dictionary(pa.int32(), pa.string())),
        ("expected", pa.float64()),
        ("p_any", pa.float64()),
        ("lo_80", pa.int64()),
        ("hi_80", pa.int64()),
        ("nb_alpha", pa.float64()),
        ("risk_level", pa.dictionary(pa.int8(), pa.string())),
        ("json", pa.string()),  # the row as the API's JSON object (RiskRow), slot_start in the run's zone
    ]
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
COLUMNS = ("place_id", "slot_start", "expected", "p_any", "lo_80", "hi_80", "nb_alpha", "risk_level")
_build_locks: dict[tuple[str, int], threading.Lock] = {}


@dataclass(frozen=True)
class Cells:
    """Risk-grid cells as arrays, sorted by place and slot: what a window read returns before (or
    instead of) a DataFrame. ``places`` and ``levels`` are sorted dictionaries the codes index."""

    places: np.ndarray  # [str], sorted
    place_code: np.ndarray  # int32, into places
    slot: np.ndarray  # int64, UTC [ns since the epoch]
    expected: np.ndarray  # float64 [incidents/h]
    p_any: np.ndarray  # float64
    lo_80: np.ndarray  # int64
    hi_80: np.ndarray  # int64
    nb_alpha: np.ndarray  # float64
    levels: np.ndarray  # [str], sorted
    level_code: np.ndarray  # int8, into levels
    #: each row as its JSON object text (:func:`row_json`), when read from a file
    json: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.slot)

    def frame(self, tz: str) -> pd.DataFrame:
        """The cells in :data:`COLUMNS`, ``slot_start`` tz-aware in ``tz``."""
        return pd.DataFrame(
            {
                "place_id": self.places[self.place_code] if len(self.places) else np.empty(0, object),
                "slot_start": pd.DatetimeIndex(self.slot.astype("datetime64[ns]"), tz="UTC").tz_convert(tz),
                "expected": self.expected,
                "p_any": self.p_any,
                "lo_80": self.lo_80,
                "hi_80": self.hi_80,
                "nb_alpha": self.nb_alpha,
                "risk_level": self.levels[self.level_code] if len(self.levels) else np.empty(0, object),
            }
        )

    @staticmethod
    def from_frame(frame: pd.DataFrame) -> Cells:
        """Cells of a frame in :data:`COLUMNS` (any order; sorted here by place and slot)."""
        slots = pd.DatetimeIndex(frame["slot_start"]).tz_convert("UTC").as_unit("ns").asi8
        places, place_code = np.unique(frame["place_id"].astype(str).to_numpy(), return_inverse=True)
        levels, level_code = np.unique(frame["risk_level"].astype(str).to_numpy(), return_inverse=True)
        order = np.lexsort((slots, place_code))
        return Cells(
            places=places.astype(object),
            place_code=place_code.astype(np.int32)[order],
            slot=np.asarray(slots, dtype=np.int64)[order],
            expected=frame["expected"].to_numpy(dtype=float)[order],
            p_any=frame["p_any"].to_numpy(dtype=float)[order],
            lo_80=frame["lo_80"].to_numpy(dtype=np.int64)[order],
            hi_80=frame["hi_80"].to_numpy(dtype=np.int64)[order],
            nb_alpha=np.asarray(frame["nb_alpha"], dtype=float)[order],
            levels=levels.astype(object),
            level_code=level_code.astype(np.int8)[order],
        )


_locks_guard = threading.Lock()


def default_dir(engine: Engine) -> Path:
    """A ``grids`` folder beside a SQLite database; for a server database, a folder of the temporary
    directory named after it (the files are rebuilt from the database when missing)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(str(url.database)).expanduser().resolve().parent / "grids"
    name = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "tryggplan-grids" / name


def path_of(directory: Path, run_id: int) -> Path:
    return directory / f"run-{run_id}.arrow"


def stamp(generated_at: object) -> bytes:
    """What ties a file to the run it was written for: the run's ``generated_at`` [UTC us] (a run id
    the database gives again after a deletion does not find the old file valid)."""
    if isinstance(generated_at, dt.datetime) and not isinstance(generated_at, pd.Timestamp):
        moment = generated_at if generated_at.tzinfo is not None else generated_at.replace(tzinfo=dt.UTC)
        return str((moment - _EPOCH) // dt.timedelta(microseconds=1) * 1000).encode()  # what pandas gives, fast
    ts = pd.Timestamp(generated_at)  # type: ignore[arg-type]
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return str(ts.floor("us").value).encode()


def row_json(c: Cells, tz: str) -> list[str]:
    """Each cell as the JSON object the API answers for it (``RiskRow``: ``place_id, slot_start`` (ISO
    8601 with the offset of ``tz``), ``expected, p_any, lo_80, hi_80, nb_alpha, risk_level``)."""
    if not len(c):
        return []
    places = [json.dumps(str(p), ensure_ascii=False) for p in c.places]
    levels = [json.dumps(str(v)) for v in c.levels]
    slots, slot_index = np.unique(c.slot, return_inverse=True)
    stamps = [f'"{t.isoformat()}"' for t in pd.DatetimeIndex(slots.astype("datetime64[ns]"), tz="UTC").tz_convert(tz)]
    rows = zip(
        c.place_code.tolist(),
        slot_index.tolist(),
        map(_number, c.expected.tolist()),
        map(_number, c.p_any.tolist()),
        c.lo_80.tolist(),
        c.hi_80.tolist(),
        map(_number, c.nb_alpha.tolist()),
        c.level_code.tolist(),
        strict=True,
    )
    return [
        f'{{"place_id":{places[p]},"slot_start":{stamps[t]},"expected":{e},"p_any":{q},"lo_80":{lo},'
        f'"hi_80":{hi},"nb_alpha":{a},"risk_level":{levels[v]}}}'
        for p, t, e, q, lo, hi, a, v in rows
    ]


def _number(x: float) -> str:
    return repr(x) if math.isfinite(x) else "null"


def write(directory: Path, run_id: int, cells: pd.DataFrame, generated_at: object) -> Path:
    """Write a run's grid (columns of :data:`COLUMNS`, ``slot_start`` tz-aware) as its columnar file,
    stamped with the run's ``generated_at``: rows by slot, then place; dictionaries sorted."""
    directory.mkdir(parents=True, exist_ok=True)
    c = Cells.from_frame(cells)
    texts = np.asarray(row_json(c, str(pd.DatetimeIndex(cells["slot_start"]).tz)), dtype=object)
    order = np.lexsort((c.place_code, c.slot))
    table = pa.table(
        {
            "slot": pa.array(c.slot[order], pa.int64()),
            "place_id": pa.DictionaryArray.from_arrays(
                pa.array(c.place_code[order], pa.int32()), pa.array(c.places, pa.string())
            ),
            "expected": pa.array(c.expected[order]),
            "p_any": pa.array(c.p_any[order]),
            "lo_80": pa.array(c.lo_80[order]),
            "hi_80": pa.array(c.hi_80[order]),
            "nb_alpha": pa.array(c.nb_alpha[order]),
            "risk_level": pa.DictionaryArray.from_arrays(
                pa.array(c.level_code[order], pa.int8()), pa.array(c.levels, pa.string())
            ),
            "json": pa.array(texts[order] if len(texts) else [], pa.string()),
        }
    ).cast(_SCHEMA)
    table = table.replace_schema_metadata({b"generated_at": stamp(generated_at)})
    target = path_of(directory, run_id)
    fd, tmp = tempfile.mkstemp(prefix=f".run-{run_id}-", suffix=".part", dir=directory)
    os.close(fd)
    try:
        with pa.OSFile(tmp, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=max(1, len(table)))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def build_lock(directory: Path, run_id: int) -> threading.Lock:
    """One lock per file in this process, so concurrent readers build a missing file once."""
    key = (str(directory), run_id)
    with _locks_guard:
        return _build_locks.setdefault(key, threading.Lock())


#: Open memory maps of recently read files (the map, not the data: the pages stay in the operating
#: system's cache), keyed by path and checked against the file's identity on every read.
_OPEN_MAX = 16
_open: OrderedDict[str, tuple[tuple[int, int, int], pa.Table]] = OrderedDict()
_open_guard = threading.Lock()


def _mapped(path: Path) -> pa.Table | None:
    """The file's table, memory-mapped (opened once while the file stays the same)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    identity = (st.st_ino, st.st_mtime_ns, st.st_size)
    key = str(path)
    with _open_guard:
        hit = _open.get(key)
        if hit is not None and hit[0] == identity:
            _open.move_to_end(key)
            return hit[1]
    try:
        table = pa.ipc.open_file(pa.memory_map(key, "r")).read_all().combine_chunks()
    except (FileNotFoundError, pa.ArrowInvalid, OSError):
        return None
    with _open_guard:
        _open[key] = (identity, table)
        _open.move_to_end(key)
        while len(_open) > _OPEN_MAX:
            _open.popitem(last=False)
    return table


def _no_cells(places: np.ndarray, levels: np.ndarray) -> Cells:
    empty = np.empty(0)
    return Cells(
        places=places,
        place_code=empty.astype(np.int32),
        slot=empty.astype(np.int64),
        expected=empty,
        p_any=empty,
        lo_80=empty.astype(np.int64),
        hi_80=empty.astype(np.int64),
        nb_alpha=empty,
        levels=levels,
        level_code=empty.astype(np.int8),
    )


def read_window(
    path: Path,
    generated_at: object,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    place_ids: list[str] | None = None,
) -> Cells | None:
    """The cells of ``[start, end)`` (of ``place_ids``) from a run's file, sorted by place and slot;
    ``None`` when there is no file of this run (none, one stamped for another ``generated_at``, or one
    that cannot be read). Costs two binary searches and the rows of the window."""
    table = _mapped(path)
    if table is None or (table.schema.metadata or {}).get(b"generated_at") != stamp(generated_at):
        return None
    if table.schema.names != _SCHEMA.names:  # written by another version: rebuilt
        return None
    place = table.column("place_id").chunk(0) if table.num_rows else None
    level = table.column("risk_level").chunk(0) if table.num_rows else None
    if place is None or level is None:
        return _no_cells(np.empty(0, object), np.empty(0, object))
    dictionary = place.dictionary.to_numpy(zero_copy_only=False).astype(object)
    levels = level.dictionary.to_numpy(zero_copy_only=False).astype(object)
    slots = table.column("slot").chunk(0).to_numpy()
    lo = 0 if start is None else int(np.searchsorted(slots, start.tz_convert("UTC").value, side="left"))
    hi = len(slots) if end is None else int(np.searchsorted(slots, end.tz_convert("UTC").value, side="left"))
    if hi <= lo:
        return _no_cells(dictionary, levels)
    codes = place.indices.to_numpy()[lo:hi]
    keep = slice(None)
    if place_ids is not None:
        wanted = np.flatnonzero(np.isin(dictionary, np.asarray(place_ids, dtype=object)))
        keep = np.isin(codes, wanted)  # type: ignore[assignment]
    slot = slots[lo:hi][keep]
    codes = codes[keep]
    order = np.lexsort((slot, codes))  # by place, then slot

    def column(name: str) -> np.ndarray:
        values = table.column(name).chunk(0).slice(lo, hi - lo).to_numpy(zero_copy_only=False)
        return values[keep][order]

    return Cells(
        places=dictionary,
        place_code=codes[order].astype(np.int32),
        slot=slot[order],
        expected=column("expected"),
        p_any=column("p_any"),
        lo_80=column("lo_80"),
        hi_80=column("hi_80"),
        nb_alpha=column("nb_alpha"),
        levels=levels,
        level_code=level.indices.to_numpy()[lo:hi][keep][order].astype(np.int8),
        json=column("json"),
    )

"""The season ledger: walk records and payouts in, the season's figures out (pure arithmetic).

The coordinator's season runs on a pot (say 40 walks at 1000 SEK, paid to the associations that
walk them). Nobody edits "walks used" by hand: every figure is derived from two kinds of
records, which the caller stores and passes in (this module keeps no state and never reads a
clock):

* :class:`WalkRecord`: one walk of one association on one night, ``completed``, ``no_show`` or
  ``cancelled``, with who recorded it and when;
* :class:`PayoutRecord`: one payment to one association for some of its completed walks.

Rules
-----
* **A walk is (association, night).** An association walks at most once a night (the weekly
  plan never gives it two), so the pair names the walk whether it came from a plan's shift or
  was entered directly (also how walks done before the tool was used are entered).
* **Records are never changed.** A correction is a new record; it names the record it corrects
  (``corrects`` = the id of the walk's current record), so the store keeps an audit trail and
  two coordinators cannot overwrite each other unknowingly. For each walk the latest record
  (by ``recorded_at``, then ``id``, then the order given) is the current one.
* **Statuses.** ``completed``: walked; the association is owed ``cost_per_walk_sek`` until it
  is paid. ``no_show``: the association did not turn up; nothing is owed and the walk goes back
  to the pot. ``cancelled``: called off ahead; nothing is owed, back to the pot.
* **Recording rule** (:func:`walk_recordable_from`): ``completed`` or ``no_show`` can be
  recorded once the walk has ended: from the end of its plan shift when the shift is known,
  else from the end of the night by the resources' shift templates (the latest end among the
  templates the association may walk, e.g. 02:00 the next morning for a 22:00-02:00 template).
  ``cancelled`` can be recorded at any time.
* **Payouts.** A payout pays completed, unpaid walks of one association at
  ``cost_per_walk_sek`` each. A walk is paid at most once, and a paid walk cannot be corrected
  away from ``completed`` (a pay-back is settled outside the ledger).

Figures (:func:`season_status`, the shape of ``GET /api/v1/season``)
-------------------------------------------------------------------------
``walks_done`` / ``walks_no_show``: walks whose current record is ``completed`` / ``no_show``.
``walks_planned``: walks of the current plans (:class:`PlannedWalk`, see :func:`planned_walks`)
without any record yet. ``walks_left = walks_total - walks_done - walks_planned``.
``pot_sek = walks_total x cost``; ``owed_sek = cost x completed unpaid walks``;
``paid_sek = sum of the payouts``; ``pot_left_sek = pot_sek - owed_sek - paid_sek -
walks_planned x cost``. They reconcile to the krona at every step:
``owed_sek + paid_sek == cost x walks_done``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from tryggplan.allocation.spec import Resources
from tryggplan.domain import InvalidInputError
from tryggplan.spreadsheet import excel_safe

WalkStatus = Literal["completed", "no_show", "cancelled"]
WALK_STATUSES: tuple[str, ...] = ("completed", "no_show", "cancelled")
WalkKey = tuple[str, dt.date]

#: Header of the payout CSV (docs/architecture.md, "The coordinator's fortnight").
PAYOUT_CSV_COLUMNS: tuple[str, ...] = ("Förening", "Pass", "Nätter", "Belopp (SEK)")


def _sek(x: float) -> float:
    """Money rounded to the öre [SEK]; + 0.0 turns -0.0 into 0.0."""
    return round(float(x), 2) + 0.0


def _aware(value: Any, what: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(
            f"{what} {value!r} has no time zone: give a tz-aware time, e.g. 2026-03-28T02:00:00+01:00"
        )
    return value


def _date(value: Any, what: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise InvalidInputError(f"{what} {value!r} is not a date: give the night as YYYY-MM-DD")
    return value


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{what} {value!r} is empty: give a name")
    return value


def _require(data: Mapping[str, Any], keys: tuple[str, ...], what: str) -> None:
    missing = [k for k in keys if k not in data]
    if missing:
        raise InvalidInputError(f"{what} lacks {missing}: add {'it' if len(missing) == 1 else 'them'}")


def _local(ts: dt.datetime, tz: str) -> str:
    """``2026-03-28 02:00`` in ``tz`` (what a coordinator reads)."""
    return pd.Timestamp(ts).tz_convert(tz).strftime("%Y-%m-%d %H:%M")


# ----------------------------------------------------------------------- records
@dataclass(frozen=True)
class WalkRecord:
    """One record of one walk (never changed; a correction is a new record).

    ``association`` and ``night`` (the date the night starts on) name the walk.
    ``status``: ``completed``, ``no_show`` or ``cancelled``. ``recorded_at``: when it was
    recorded (tz-aware; the recording rule is checked against it). ``actor``: who recorded it
    (a token's or user's name). ``area``, ``plan_id``, ``shift_index``: where it came from when
    recorded from a plan's shift. ``corrects``: the id of the record this one corrects (the
    walk's current record). ``id``: the store's id (``None`` until stored).
    """

    association: str
    night: dt.date
    status: WalkStatus
    recorded_at: dt.datetime
    actor: str
    area: str | None = None
    plan_id: int | None = None
    shift_index: int | None = None
    corrects: int | None = None
    note: str | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        _name(self.association, "association")
        _date(self.night, "night")
        if self.status not in WALK_STATUSES:
            raise InvalidInputError(f"status {self.status!r} is not known: use one of {list(WALK_STATUSES)}")
        _aware(self.recorded_at, "recorded_at")
        _name(self.actor, "actor")
        if self.shift_index is not None and self.shift_index < 0:
            raise InvalidInputError(f"shift_index {self.shift_index} must be >= 0")

    @property
    def key(self) -> WalkKey:
        """The walk this record is about: ``(association, night)``."""
        return (self.association, self.night)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (ISO dates and times) that :meth:`from_dict` reads back."""
        return {
            "id": self.id,
            "association": self.association,
            "night": self.night.isoformat(),
            "status": self.status,
            "recorded_at": self.recorded_at.isoformat(),
            "actor": self.actor,
            "area": self.area,
            "plan_id": self.plan_id,
            "shift_index": self.shift_index,
            "corrects": self.corrects,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WalkRecord:
        """A record from :meth:`to_dict`'s shape (ISO strings or date/datetime objects)."""
        _require(data, ("association", "night", "status", "recorded_at", "actor"), "walk record")
        try:
            night = data["night"]
            at = data["recorded_at"]
            return cls(
                association=data["association"],
                night=dt.date.fromisoformat(night) if isinstance(night, str) else night,
                status=data["status"],
                recorded_at=dt.datetime.fromisoformat(at) if isinstance(at, str) else at,
                actor=data["actor"],
                area=data.get("area"),
                plan_id=data.get("plan_id"),
                shift_index=data.get("shift_index"),
                corrects=data.get("corrects"),
                note=data.get("note"),
                id=data.get("id"),
            )
        except ValueError as exc:
            raise InvalidInputError(f"walk record: {exc}: write dates as YYYY-MM-DD and times as ISO 8601") from None


@dataclass(frozen=True)
class PayoutRecord:
    """One payment to one association: ``nights`` are the walks paid (completed, unpaid ones),
    ``amount_sek`` [SEK] = ``cost_per_walk_sek x len(nights)``, ``at`` when (tz-aware), ``actor`` who."""

    association: str
    nights: tuple[dt.date, ...]
    amount_sek: float
    at: dt.datetime
    actor: str
    id: int | None = None

    def __post_init__(self) -> None:
        _name(self.association, "association")
        if not self.nights:
            raise InvalidInputError("a payout pays at least one walk: give its nights")
        for n in self.nights:
            _date(n, "payout night")
        if len(set(self.nights)) != len(self.nights):
            raise InvalidInputError(f"payout to {self.association!r} lists a night twice: {sorted(self.nights)}")
        if not self.amount_sek >= 0:
            raise InvalidInputError(f"payout amount {self.amount_sek} must be >= 0 SEK")
        _aware(self.at, "payout time")
        _name(self.actor, "actor")

    @property
    def walks(self) -> int:
        return len(self.nights)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "association": self.association,
            "walks": self.walks,
            "nights": [n.isoformat() for n in self.nights],
            "amount_sek": self.amount_sek,
            "at": self.at.isoformat(),
            "actor": self.actor,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PayoutRecord:
        _require(data, ("association", "nights", "amount_sek", "at", "actor"), "payout record")
        try:
            at = data["at"]
            return cls(
                association=data["association"],
                nights=tuple(dt.date.fromisoformat(n) if isinstance(n, str) else n for n in data["nights"]),
                amount_sek=float(data["amount_sek"]),
                at=dt.datetime.fromisoformat(at) if isinstance(at, str) else at,
                actor=data["actor"],
                id=data.get("id"),
            )
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"payout record: {exc}: write nights as YYYY-MM-DD and times as ISO 8601") from None


@dataclass(frozen=True)
class PlannedWalk:
    """A walk of a current plan (a night-walk shift), planned but not yet recorded.

    ``start``/``end``: the shift's local times (tz-aware) when known; ``end`` is the moment
    from which the walk can be recorded as completed.
    """

    association: str
    night: dt.date
    area: str | None = None
    plan_id: int | None = None
    shift_index: int | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    @property
    def key(self) -> WalkKey:
        return (self.association, self.night)


def planned_walks(plans: Iterable[tuple[int | None, Mapping[str, Any]]]) -> list[PlannedWalk]:
    """The night walks of the current plans, as :class:`PlannedWalk`.

    ``plans``: ``(plan_id, plan document)`` pairs: weekly plans (``Plan.to_dict()``: their
    ``shifts``, ``shift_index`` = the index in ``shifts``) or season plans
    (``SeasonPlan.to_dict()``: their ``placed`` walks, every remaining walk of the season).
    Pass only the plans that are current (not superseded); a walk named by two plans counts
    once (the first one given).
    """
    out: list[PlannedWalk] = []
    seen: set[WalkKey] = set()
    for plan_id, doc in plans:
        entries: list[tuple[int | None, dict[str, Any]]]
        if "placed" in doc:
            entries = [(None, s) for s in doc.get("placed") or []]
        else:
            entries = list(enumerate(doc.get("shifts") or []))
        for idx, s in entries:
            if s.get("kind", "night_walk") != "night_walk" or not s.get("association"):
                continue
            try:
                night = dt.date.fromisoformat(str(s.get("night") or str(s["start"])[:10]))
                start = dt.datetime.fromisoformat(s["start"]) if s.get("start") else None
                end = dt.datetime.fromisoformat(s["end"]) if s.get("end") else None
            except (KeyError, ValueError) as exc:
                raise InvalidInputError(
                    f"plan {plan_id}: walk {s.get('association')!r} has no readable night/start/end ({exc})"
                ) from None
            key = (str(s["association"]), night)
            if key in seen:
                continue
            seen.add(key)
            out.append(PlannedWalk(key[0], night, s.get("area"), plan_id, idx, start, end))
    return out


def current_records(records: Sequence[WalkRecord]) -> dict[WalkKey, WalkRecord]:
    """The current (latest) record of every walk: by ``recorded_at``, then ``id``, then order."""
    latest: dict[WalkKey, tuple[tuple[dt.datetime, int, int], WalkRecord]] = {}
    for pos, r in enumerate(records):
        rank = (r.recorded_at, -1 if r.id is None else r.id, pos)
        old = latest.get(r.key)
        if old is None or rank > old[0]:
            latest[r.key] = (rank, r)
    return {k: v for k, (_, v) in latest.items()}


def _paid(payouts: Sequence[PayoutRecord]) -> dict[WalkKey, PayoutRecord]:
    return {(p.association, n): p for p in payouts for n in p.nights}


def _cost(resources: Resources) -> float:
    return float(resources.cost_per_walk_sek)


# ------------------------------------------------------------------ recording rule
def walk_recordable_from(
    resources: Resources, association: str, night: dt.date, *, shift_end: dt.datetime | None = None
) -> dt.datetime:
    """The local time from which a walk can be recorded as ``completed`` or ``no_show``.

    The end of its plan shift (``shift_end``) when known; else the end of the night by the
    resources' shift templates: the latest end among the templates ``association`` may walk
    (its ``templates``, or all), on the night of ``night``. Returned tz-aware in the
    resources' zone.
    """
    tz = resources.tz
    if shift_end is not None:
        return pd.Timestamp(_aware(shift_end, "shift_end")).tz_convert(tz).to_pydatetime()
    names = {a.name: a for a in resources.associations}
    allowed = names[association].templates if association in names else None
    templates = [t for t in resources.templates if allowed is None or t.name in allowed]
    ends = [t.window(_date(night, "night"), tz)[1] for t in templates or resources.templates]
    return max(ends).to_pydatetime()


def check_record(
    record: WalkRecord,
    resources: Resources,
    records: Sequence[WalkRecord],
    payouts: Sequence[PayoutRecord],
    *,
    planned: Sequence[PlannedWalk] = (),
    shift_end: dt.datetime | None = None,
) -> None:
    """Refuse a new walk record that breaks a rule of the ledger (see the module doc).

    ``records``/``payouts``: the ledger so far; ``planned``: the current plans' walks (their
    shift end is the recording time of a planned walk); ``shift_end``: the walk's shift end
    when the caller knows it (a record made from a plan's shift). Raises
    :class:`InvalidInputError` saying what to do instead.
    """
    r = record
    what = f"the walk of {r.association!r} on the night of {r.night}"
    known = {a.name for a in resources.associations} | {x.association for x in records}
    if r.association not in known:
        raise InvalidInputError(
            f"unknown association {r.association!r}: use one of {sorted(a.name for a in resources.associations)}"
        )
    areas = {a.name for a in resources.areas}
    if r.area is not None and r.area not in areas:
        raise InvalidInputError(f"unknown area {r.area!r}: use one of {sorted(areas)}")
    q = resources.season
    if q is not None and ((q.start and r.night < q.start) or (q.until and r.night > q.until)):
        raise InvalidInputError(
            f"{what} is outside the season ({q.start or '...'} to {q.until or '...'}): "
            "record it in its own season, or correct the season's start/until"
        )
    if r.status in ("completed", "no_show"):
        end = shift_end
        if end is None:
            end = next((p.end for p in planned if p.key == r.key and p.end is not None), None)
        ready = walk_recordable_from(resources, r.association, r.night, shift_end=end)
        if r.recorded_at < ready:
            raise InvalidInputError(
                f"{what} has not ended yet: it can be recorded as {r.status} from "
                f"{_local(ready, resources.tz)} ({resources.tz}); until then only 'cancelled' can be recorded"
            )
    current = current_records(records).get(r.key)
    if current is None:
        if r.corrects is not None:
            raise InvalidInputError(
                f"record {r.corrects} is not a record of {what}: that walk has no record yet, leave out 'corrects'"
            )
    elif r.corrects is None:
        ref = f" (record {current.id})" if current.id is not None else ""
        raise InvalidInputError(
            f"{what} is already recorded as {current.status} by {current.actor} at "
            f"{_local(current.recorded_at, resources.tz)}{ref}: to correct it, record it again with "
            f"corrects={current.id if current.id is not None else 'the id of that record'}"
        )
    elif r.corrects != current.id:
        raise InvalidInputError(
            f"record {r.corrects} is not the current record of {what}: the current one is record "
            f"{current.id} ({current.status}); correct that one"
        )
    paid = _paid(payouts).get(r.key)
    if paid is not None and r.status != "completed":
        ref = f" (payout {paid.id})" if paid.id is not None else ""
        raise InvalidInputError(
            f"{what} was paid on {_local(paid.at, resources.tz)}{ref}: a paid walk stays completed; "
            "settle a pay-back with the association outside the ledger"
        )


# ------------------------------------------------------------------------ status
@dataclass(frozen=True)
class AssociationStatus:
    """One association's part of the season. ``share``: its share [0-1] of the walks done
    and planned (the fairness share), ``None`` while nobody has any."""

    name: str
    walks_done: int
    walks_no_show: int
    walks_planned: int
    owed_sek: float
    paid_sek: float
    share: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "walks_done": self.walks_done,
            "walks_no_show": self.walks_no_show,
            "walks_planned": self.walks_planned,
            "owed_sek": self.owed_sek,
            "paid_sek": self.paid_sek,
            "share": self.share,
        }


@dataclass(frozen=True)
class SeasonStatus:
    """The season's figures (module doc). ``walks_total``, ``walks_left``, ``pot_sek`` and
    ``pot_left_sek`` are ``None`` when the resources have no ``season`` block."""

    walks_total: int | None
    walks_done: int
    walks_no_show: int
    walks_planned: int
    walks_left: int | None
    cost_per_walk_sek: float
    pot_sek: float | None
    owed_sek: float
    paid_sek: float
    pot_left_sek: float | None
    associations: list[AssociationStatus]
    warnings: list[str] = field(default_factory=list)

    def done_by_association(self) -> dict[str, int]:
        """Completed walks per association: the ``done`` the planning functions take."""
        return {a.name: a.walks_done for a in self.associations}

    def to_dict(self) -> dict[str, Any]:
        """The shape of ``GET /api/v1/season`` (docs/architecture.md), plus ``cost_per_walk_sek`` and ``warnings``."""
        return {
            "walks_total": self.walks_total,
            "walks_done": self.walks_done,
            "walks_no_show": self.walks_no_show,
            "walks_planned": self.walks_planned,
            "walks_left": self.walks_left,
            "pot_sek": self.pot_sek,
            "owed_sek": self.owed_sek,
            "paid_sek": self.paid_sek,
            "pot_left_sek": self.pot_left_sek,
            "cost_per_walk_sek": self.cost_per_walk_sek,
            "associations": [a.to_dict() for a in self.associations],
            "warnings": list(self.warnings),
        }


def _names(resources: Resources, *groups: Iterable[str]) -> list[str]:
    """The spec's associations in its order, then any others the ledger names (sorted)."""
    spec = [a.name for a in resources.associations]
    extra = sorted({n for g in groups for n in g} - set(spec))
    return spec + extra


def season_status(
    resources: Resources,
    records: Sequence[WalkRecord],
    payouts: Sequence[PayoutRecord],
    planned: Sequence[PlannedWalk] = (),
) -> SeasonStatus:
    """The season's figures from the ledger and the current plans' walks (module doc)."""
    cost = _cost(resources)
    current = current_records(records)
    paid = _paid(payouts)
    done = {k for k, r in current.items() if r.status == "completed"}
    no_show = {k for k, r in current.items() if r.status == "no_show"}
    seen: set[WalkKey] = set()
    waiting: list[PlannedWalk] = []
    for p in planned:
        if p.key not in current and p.key not in seen:
            seen.add(p.key)
            waiting.append(p)
    names = _names(
        resources,
        (k[0] for k in current),
        (p.association for p in payouts),
        (p.association for p in waiting),
    )
    active = len(done) + len(waiting)
    n_done = Counter(a for a, _ in done)
    n_unpaid = Counter(a for a, n in done if (a, n) not in paid)
    n_no_show = Counter(a for a, _ in no_show)
    n_planned = Counter(p.association for p in waiting)
    paid_sum: dict[str, float] = {}
    for payout in payouts:
        paid_sum[payout.association] = paid_sum.get(payout.association, 0.0) + payout.amount_sek
    assocs = [
        AssociationStatus(
            name=n,
            walks_done=n_done[n],
            walks_no_show=n_no_show[n],
            walks_planned=n_planned[n],
            owed_sek=_sek(cost * n_unpaid[n]),
            paid_sek=_sek(paid_sum.get(n, 0.0)),
            share=round((n_done[n] + n_planned[n]) / active, 4) if active else None,
        )
        for n in names
    ]
    owed = _sek(sum(a.owed_sek for a in assocs))
    paid_total = _sek(sum(a.paid_sek for a in assocs))
    warnings: list[str] = []
    q = resources.season
    if q is None:
        total = left = None
        pot = pot_left = None
        warnings.append(
            "the resources have no 'season' block: the quota, the pot and the walks left are unknown; "
            "add season: {walks: N, until: YYYY-MM-DD} to the resources"
        )
    else:
        total = q.walks
        left = total - len(done) - len(waiting)
        pot = _sek(total * cost)
        pot_left = _sek(pot - owed - paid_total - len(waiting) * cost)
        if left < 0:
            warnings.append(
                f"{len(done)} walks done and {len(waiting)} planned exceed the season's quota of {total} "
                f"by {-left}: cancel planned walks or raise season.walks"
            )
    return SeasonStatus(
        walks_total=total,
        walks_done=len(done),
        walks_no_show=len(no_show),
        walks_planned=len(waiting),
        walks_left=left,
        cost_per_walk_sek=cost,
        pot_sek=pot,
        owed_sek=owed,
        paid_sek=paid_total,
        pot_left_sek=pot_left,
        associations=assocs,
        warnings=warnings,
    )


# ----------------------------------------------------------------------- payouts
@dataclass(frozen=True)
class PayoutDue:
    """What one association is owed: its completed, unpaid walks (their nights) and the amount [SEK]."""

    association: str
    nights: tuple[dt.date, ...]
    amount_sek: float

    @property
    def walks(self) -> int:
        return len(self.nights)

    def to_dict(self) -> dict[str, Any]:
        return {
            "association": self.association,
            "walks": self.walks,
            "nights": [n.isoformat() for n in self.nights],
            "amount_sek": self.amount_sek,
        }


def payouts_due(
    resources: Resources, records: Sequence[WalkRecord], payouts: Sequence[PayoutRecord]
) -> list[PayoutDue]:
    """One entry per association with completed, unpaid walks (the spec's order, then others)."""
    cost = _cost(resources)
    paid = _paid(payouts)
    unpaid: dict[str, list[dt.date]] = {}
    for (a, night), r in current_records(records).items():
        if r.status == "completed" and (a, night) not in paid:
            unpaid.setdefault(a, []).append(night)
    return [
        PayoutDue(n, tuple(sorted(unpaid[n])), _sek(cost * len(unpaid[n])))
        for n in _names(resources, unpaid)
        if n in unpaid
    ]


def _num(x: float) -> str:
    """``1000,00``: decimal comma, no thousands separator (Swedish Excel reads it as a number)."""
    return f"{x:.2f}".replace(".", ",")


def payouts_csv(dues: Sequence[PayoutDue]) -> bytes:
    """The payout list for Swedish Excel: UTF-8 with BOM, ``;``, decimal comma; one row per
    association: ``Förening;Pass;Nätter;Belopp (SEK)`` (the nights as ``YYYY-MM-DD, ...``)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(PAYOUT_CSV_COLUMNS)
    for d in dues:
        row = [d.association, str(d.walks), ", ".join(n.isoformat() for n in d.nights), _num(d.amount_sek)]
        w.writerow([excel_safe(c) for c in row])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def make_payout(
    resources: Resources,
    records: Sequence[WalkRecord],
    payouts: Sequence[PayoutRecord],
    association: str,
    *,
    at: dt.datetime,
    actor: str,
    nights: Sequence[dt.date] | None = None,
) -> PayoutRecord:
    """The payout that marks ``association``'s completed, unpaid walks paid (all of them, or the
    ``nights`` named), at ``cost_per_walk_sek`` each. The caller stores the returned record."""
    due = next((d for d in payouts_due(resources, records, payouts) if d.association == association), None)
    if due is None:
        known = _names(resources, (k[0] for k in current_records(records)))
        if association not in known:
            raise InvalidInputError(f"unknown association {association!r}: use one of {known}")
        raise InvalidInputError(f"{association!r} has no completed, unpaid walks: nothing to pay")
    chosen = tuple(sorted(set(nights))) if nights is not None else due.nights
    wrong = [n for n in chosen if n not in due.nights]
    if wrong or not chosen:
        raise InvalidInputError(
            f"{association!r} is not owed for the nights {[n.isoformat() for n in wrong]}: "
            f"its completed, unpaid walks are on {[n.isoformat() for n in due.nights]}"
        )
    payout = PayoutRecord(association, chosen, _sek(_cost(resources) * len(chosen)), at, actor)
    check_payout(payout, resources, records, payouts)
    return payout


def check_payout(
    payout: PayoutRecord, resources: Resources, records: Sequence[WalkRecord], payouts: Sequence[PayoutRecord]
) -> None:
    """Refuse a payout that pays a walk twice, a walk not completed, or a wrong amount."""
    current = current_records(records)
    paid = _paid(payouts)
    for n in payout.nights:
        key = (payout.association, n)
        r = current.get(key)
        if r is None or r.status != "completed":
            raise InvalidInputError(
                f"the walk of {payout.association!r} on the night of {n} is "
                f"{'not recorded' if r is None else 'recorded as ' + r.status}: only completed walks are paid"
            )
        if key in paid:
            ref = f" (payout {paid[key].id})" if paid[key].id is not None else ""
            raise InvalidInputError(
                f"the walk of {payout.association!r} on the night of {n} was already paid on "
                f"{_local(paid[key].at, resources.tz)}{ref}: a walk is paid once"
            )
    want = _sek(_cost(resources) * payout.walks)
    if abs(payout.amount_sek - want) > 0.005:
        raise InvalidInputError(
            f"payout of {payout.amount_sek} SEK for {payout.walks} walks does not match "
            f"{payout.walks} x {_cost(resources):g} SEK = {want} SEK"
        )

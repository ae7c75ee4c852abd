"""The season ledger's tables: walk records, payouts, the offers of published plans, association links.

A ledger belongs to one municipality (``None``: a single-town deployment, stored as ``''``).
Reads (:func:`read_ledger`) take a plain snapshot. Every write goes through :func:`writing`: one
transaction that first takes the ledger's lock, its row in ``season_ledgers`` (on SQLite the
transaction begins ``IMMEDIATE``, with the database's write lock; on PostgreSQL the row is
updated, which holds its lock until commit), and bumps the ledger's version. The use case reads
the ledger again inside it, checks the change with the library's rules and writes, so two
coordinators recording the same walk at once are checked one after the other and the second is
told the walk is recorded. The unique indexes of migration 0004 are the last guard: a record
racing past them is refused with :class:`InvalidInputError` all the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, Insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tryggplan.domain import InvalidInputError, NotFoundError
from tryggplan.storage.models import (
    AssociationLink,
    Payout,
    PayoutWalk,
    PlanRecord,
    SeasonLedger,
    WalkOffer,
    WalkRecord,
    WalkReport,
    utcnow,
)
from tryggplan.storage.plans import NewPlan, add_plan, plan_info, walk_info, walks_of
from tryggplan.storage.records import (
    LinkInfo,
    OfferInfo,
    PayoutInfo,
    PlanRecordInfo,
    WalkRecordInfo,
    WalkReportInfo,
)

#: offers that still stand: the walk is planned (unless a record says what became of it)
ACTIVE = ("offered", "accepted")
LINK_PREFIX = "ta_"


def _utc(value: dt.datetime) -> dt.datetime:
    """A stored time as the database gives it back: UTC (a row just written still holds the caller's zone)."""
    return value.astimezone(dt.UTC)


def _utc_or_none(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else _utc(value)


def _key(municipality: str | None) -> str:
    return municipality or ""


def _town(key: str) -> str | None:
    return key or None


def _offer(o: WalkOffer) -> OfferInfo:
    return OfferInfo(
        id=o.id,
        municipality=_town(o.municipality),
        association=o.association,
        night=o.night,
        area=o.area,
        template=o.template,
        start=_utc(o.start_at),
        end=_utc(o.end_at),
        plan_id=o.plan_id,
        shift_index=o.shift_index,
        status=o.status,
        offered_at=_utc(o.offered_at),
        answered_at=_utc_or_none(o.answered_at),
        answered_by=o.answered_by,
        note=o.note,
    )


def _link(row: AssociationLink) -> LinkInfo:
    return LinkInfo(
        id=row.id,
        municipality=_town(row.municipality),
        association=row.association,
        prefix=row.prefix,
        created_at=_utc(row.created_at),
        actor=row.actor,
        revoked=row.revoked,
    )


@dataclass(frozen=True)
class LedgerSnapshot:
    """Everything one ledger holds: its walk records (in id order), payouts and offers."""

    records: list[WalkRecordInfo]
    payouts: list[PayoutInfo]
    offers: list[OfferInfo]


def _snapshot(session: Session, key: str) -> LedgerSnapshot:
    records = [
        walk_info(w)
        for w in session.scalars(select(WalkRecord).where(WalkRecord.municipality == key).order_by(WalkRecord.id))
    ]
    nights: dict[int, list[dt.date]] = {}
    for pw in session.scalars(select(PayoutWalk).where(PayoutWalk.municipality == key)):
        nights.setdefault(pw.payout_id, []).append(pw.night)
    payouts = [
        PayoutInfo(
            id=p.id,
            municipality=_town(p.municipality),
            association=p.association,
            nights=tuple(sorted(nights.get(p.id, []))),
            amount_sek=float(p.amount_sek),
            paid_at=_utc(p.paid_at),
            actor=p.actor,
        )
        for p in session.scalars(select(Payout).where(Payout.municipality == key).order_by(Payout.id))
    ]
    offers = [
        _offer(o)
        for o in session.scalars(
            select(WalkOffer).where(WalkOffer.municipality == key).order_by(WalkOffer.night, WalkOffer.association)
        )
    ]
    return LedgerSnapshot(records, payouts, offers)


def _report(r: WalkReport) -> WalkReportInfo:
    return WalkReportInfo(
        id=r.id,
        walk_record_id=r.walk_record_id,
        municipality=_town(r.municipality),
        association=r.association,
        night=r.night,
        offer_id=r.offer_id,
        walkers=r.walkers,
        observations=r.observations,
        created_at=_utc(r.created_at),
        actor=r.actor,
    )


def _reports(session: Session, key: str) -> list[WalkReportInfo]:
    stmt = select(WalkReport).where(WalkReport.municipality == key).order_by(WalkReport.night, WalkReport.id)
    return [_report(r) for r in session.scalars(stmt)]


def read_reports(engine: Engine, municipality: str | None) -> list[WalkReportInfo]:
    """The associations' report-backs of the ledger of ``municipality``, by night."""
    with Session(engine) as session:
        return _reports(session, _key(municipality))


def read_ledger(engine: Engine, municipality: str | None) -> LedgerSnapshot:
    """A snapshot of the ledger of ``municipality`` (one read transaction)."""
    with Session(engine) as session, session.begin():
        return _snapshot(session, _key(municipality))


def records_between(
    engine: Engine, first_night: dt.date | None = None, last_night: dt.date | None = None
) -> list[WalkRecordInfo]:
    """Every ledger's records of the nights ``first_night..last_night`` (``None``: open), in id order."""
    stmt = select(WalkRecord).order_by(WalkRecord.id)
    if first_night is not None:
        stmt = stmt.where(WalkRecord.night >= first_night)
    if last_night is not None:
        stmt = stmt.where(WalkRecord.night <= last_night)
    with Session(engine) as session:
        return [walk_info(w) for w in session.scalars(stmt)]


def records_of_plan(engine: Engine, plan_id: int) -> list[WalkRecordInfo]:
    """The records made from a plan's shifts, in the order they were made."""
    return walks_of(engine, plan_id)


def get_offer(engine: Engine, offer_id: int) -> OfferInfo:
    with Session(engine) as session:
        row = session.get(WalkOffer, offer_id) if 0 < offer_id < 2**63 else None
        if row is None:
            raise NotFoundError(f"no offer {offer_id}")
        return _offer(row)


# --------------------------------------------------------------------------- writing


class LedgerWrite:
    """One write to one ledger inside its locked transaction (see the module doc)."""

    def __init__(self, session: Session, key: str) -> None:
        self._session = session
        self._key = key

    @property
    def municipality(self) -> str | None:
        return _town(self._key)

    def snapshot(self) -> LedgerSnapshot:
        return _snapshot(self._session, self._key)

    def plan(self, plan_id: int) -> PlanRecordInfo:
        row = self._session.get(PlanRecord, plan_id)
        if row is None:
            raise NotFoundError(f"no plan {plan_id}: see GET /api/v1/plans")
        return plan_info(row)

    def add_record(
        self,
        *,
        association: str,
        night: dt.date,
        status: str,
        recorded_at: dt.datetime,
        actor: str,
        area: str | None = None,
        plan_id: int | None = None,
        shift_index: int | None = None,
        corrects: int | None = None,
        note: str | None = None,
    ) -> WalkRecordInfo:
        row = WalkRecord(
            municipality=self._key,
            association=association,
            night=night,
            status=status,
            recorded_at=recorded_at,
            actor=actor,
            area=area,
            plan_id=plan_id,
            shift_index=shift_index,
            corrects=corrects,
            note=note,
        )
        self._session.add(row)
        try:
            self._session.flush()
        except IntegrityError as exc:
            raise InvalidInputError(
                f"the walk of {association!r} on the night of {night} was recorded by someone else a moment "
                "ago: reload the season's walks (GET /api/v1/season/walks) and correct that record if needed"
            ) from exc
        return walk_info(row)

    def add_payout(
        self, association: str, nights: Sequence[dt.date], amount_sek: float, paid_at: dt.datetime, actor: str
    ) -> PayoutInfo:
        row = Payout(
            municipality=self._key, association=association, amount_sek=amount_sek, paid_at=paid_at, actor=actor
        )
        self._session.add(row)
        self._session.flush()
        for night in nights:
            self._session.add(
                PayoutWalk(municipality=self._key, association=association, night=night, payout_id=row.id)
            )
        try:
            self._session.flush()
        except IntegrityError as exc:
            raise InvalidInputError(
                f"a walk of {association!r} was paid by someone else a moment ago: reload the payout list"
            ) from exc
        return PayoutInfo(
            id=row.id,
            municipality=_town(self._key),
            association=association,
            nights=tuple(sorted(nights)),
            amount_sek=float(amount_sek),
            paid_at=_utc(paid_at),
            actor=actor,
        )

    def add_plan(self, new: NewPlan) -> PlanRecordInfo:
        return plan_info(add_plan(self._session, new))

    def published_plans(self) -> list[PlanRecordInfo]:
        """The ledger's published plans, newest first."""
        town = PlanRecord.municipality.is_(None) if not self._key else PlanRecord.municipality == self._key
        stmt = select(PlanRecord).where(town, PlanRecord.state == "published").order_by(PlanRecord.id.desc())
        return [plan_info(p) for p in self._session.scalars(stmt)]

    def set_plan_state(self, plan_id: int, state: str, at: dt.datetime | None = None) -> None:
        values: dict[str, object] = {"state": state}
        if at is not None:
            values["published_at"] = at
        self._session.execute(update(PlanRecord).where(PlanRecord.id == plan_id).values(**values))

    def put_offer(
        self,
        *,
        association: str,
        night: dt.date,
        area: str,
        template: str,
        start: dt.datetime,
        end: dt.datetime,
        plan_id: int,
        shift_index: int | None,
        status: str,
        at: dt.datetime,
    ) -> OfferInfo:
        """Offer a walk (or update the standing offer of the same walk to a newer plan's details)."""
        row = self._session.scalars(
            select(WalkOffer).where(
                WalkOffer.municipality == self._key, WalkOffer.association == association, WalkOffer.night == night
            )
        ).first()
        if row is None:
            row = WalkOffer(municipality=self._key, association=association, night=night, offered_at=at)
            self._session.add(row)
        elif row.status != status:
            row.offered_at = at if status == "offered" else row.offered_at
            row.answered_at = None if status == "offered" else row.answered_at
            row.answered_by = None if status == "offered" else row.answered_by
        row.area, row.template, row.start_at, row.end_at = area, template, start, end
        row.plan_id, row.shift_index, row.status = plan_id, shift_index, status
        self._session.flush()
        return _offer(row)

    def reports(self) -> list[WalkReportInfo]:
        return _reports(self._session, self._key)

    def add_report(
        self,
        *,
        walk_record_id: int,
        association: str,
        night: dt.date,
        offer_id: int | None,
        walkers: int,
        observations: str | None,
        at: dt.datetime,
        actor: str,
    ) -> WalkReportInfo:
        """Store a report-back on a walk record (one per record: the database refuses a second)."""
        row = WalkReport(
            walk_record_id=walk_record_id,
            municipality=self._key,
            association=association,
            night=night,
            offer_id=offer_id,
            walkers=walkers,
            observations=observations,
            created_at=at,
            actor=actor,
        )
        self._session.add(row)
        try:
            self._session.flush()
        except IntegrityError as exc:
            raise InvalidInputError(
                f"the walk of {association!r} on the night of {night} was reported a moment ago: reload the page"
            ) from exc
        return _report(row)

    def set_offer(
        self, offer_id: int, status: str, at: dt.datetime, by: str | None = None, note: str | None = None
    ) -> OfferInfo:
        row = self._session.get(WalkOffer, offer_id)
        if row is None or row.municipality != self._key:
            raise NotFoundError(f"no offer {offer_id}")
        row.status = status
        if by is not None:
            row.answered_at, row.answered_by = at, by
        if note is not None:
            row.note = note
        self._session.flush()
        return _offer(row)


@contextmanager
def writing(engine: Engine, municipality: str | None) -> Iterator[LedgerWrite]:
    """A locked write transaction on the ledger of ``municipality``; committed when the block ends
    without an exception, rolled back otherwise."""
    key = _key(municipality)
    with Session(engine) as session:
        conn = session.connection()
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            ensure: Insert = sqlite_insert(SeasonLedger).values(municipality=key, version=0).on_conflict_do_nothing()
        else:
            ensure = pg_insert(SeasonLedger).values(municipality=key, version=0).on_conflict_do_nothing()
        session.execute(ensure)
        session.execute(
            update(SeasonLedger).where(SeasonLedger.municipality == key).values(version=SeasonLedger.version + 1)
        )
        try:
            yield LedgerWrite(session, key)
        except BaseException:
            session.rollback()
            raise
        session.commit()


# --------------------------------------------------------------------------- association links


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_link(
    engine: Engine, municipality: str | None, association: str, actor: str, at: dt.datetime | None = None
) -> tuple[str, LinkInfo]:
    """A new link for ``association``: its secret (shown once) and its description."""
    secret = LINK_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        row = AssociationLink(
            municipality=_key(municipality),
            association=association,
            secret_hash=hash_secret(secret),
            prefix=secret[:8],
            created_at=at or utcnow(),
            actor=actor,
            revoked=False,
        )
        session.add(row)
        session.flush()
        return secret, _link(row)


def list_links(
    engine: Engine, municipality: str | None, association: str | None = None, include_revoked: bool = False
) -> list[LinkInfo]:
    stmt = select(AssociationLink).where(AssociationLink.municipality == _key(municipality))
    if association is not None:
        stmt = stmt.where(AssociationLink.association == association)
    if not include_revoked:
        stmt = stmt.where(AssociationLink.revoked.is_(False))
    with Session(engine) as session:
        return [_link(r) for r in session.scalars(stmt.order_by(AssociationLink.id))]


def get_link(engine: Engine, link_id: int) -> LinkInfo:
    with Session(engine) as session:
        row = session.get(AssociationLink, link_id) if 0 < link_id < 2**63 else None
        if row is None:
            raise NotFoundError(f"no association link {link_id}: see GET /api/v1/season/links")
        return _link(row)


def revoke_link(engine: Engine, link_id: int, at: dt.datetime | None = None) -> LinkInfo:
    with Session(engine) as session, session.begin():
        row = session.get(AssociationLink, link_id) if 0 < link_id < 2**63 else None
        if row is None:
            raise NotFoundError(f"no association link {link_id}: see GET /api/v1/season/links")
        if not row.revoked:
            row.revoked, row.revoked_at = True, at or utcnow()
        session.flush()
        return _link(row)


def find_link(engine: Engine, secret: str) -> LinkInfo | None:
    """The live link whose secret this is, or ``None`` (unknown or revoked)."""
    if not secret.startswith(LINK_PREFIX) or len(secret) > 200:
        return None
    digest = hash_secret(secret)
    with Session(engine) as session:
        row = session.scalars(select(AssociationLink).where(AssociationLink.secret_hash == digest)).first()
        if row is None or row.revoked or not hmac.compare_digest(row.secret_hash, digest):
            return None
        return _link(row)

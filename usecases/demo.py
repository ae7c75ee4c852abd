"""``tryggplan run-demo`` and ``tryggplan demo-data``: the demo police area end to end, idempotently.

The demo is the seed's world (docs/demo.md): Kungsör and the other municipalities of its local police
area, LPO Köping (Kungsör, Arboga, Köping, Hallstahammar), each with its own places and walking areas,
resources spec, season ledger and coordinator (:data:`tryggplan.demo.DEMO_TOWNS`).

``run-demo`` (:func:`prepare_demo`):

1. opens (creates, migrates) the database in ``DIR/tryggplan.db``;
2. writes the area (:func:`tryggplan.demo.generate_area`) to ``DIR`` and imports it; when incidents are
   stored already they are kept (a second run imports nothing);
3. puts every town in the police area (unless its settings are stored already: a coordinator's change
   stays), with the product's default category groups;
4. stores each town's resources spec (:func:`tryggplan.allocation.demo_resources` with the town's
   associations, guard company, quota and budget) unless the town has one;
5. trains one forecast of the whole area from today through the end of next ISO week, unless a finished
   area-wide forecast for that range exists;
6. makes each town's plan of next week from it, and of the rest of this week (what the dashboard shows
   as the current plan), unless they exist for that spec and forecast;
7. creates one coordinator user per town, scoped to it (``kungsor``, ``arboga``, ``koping``,
   ``hallstahammar``), with generated passwords kept in ``DIR/inloggningar.txt`` (owner only); users that
   exist are kept with their passwords;
8. creates a reader token for the whole area and a coordinator token for Kungsör (tokens are shown
   only once, so each run makes new ones: the one thing a second run adds).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd
import yaml
from sqlalchemy import Engine

from tryggplan.allocation import demo_resources
from tryggplan.demo import DEMO_POLICE_AREA, DEMO_TOWNS, DemoTown, generate_area, generate_town
from tryggplan.domain import DEFAULT_TZ, TryggplanError
from tryggplan.storage import forecasts as runs
from tryggplan.storage import places as stored_places
from tryggplan.storage import plans as stored_plans
from tryggplan.storage.database import open_database
from tryggplan.storage.incidents import count_incidents, import_incidents, read_places
from tryggplan.usecases import access, area, forecasts, plans, users
from tryggplan.usecases.plans import PlanKind


def resources_file(town: DemoTown) -> str:
    """The file a town's resources spec is written to: ``resources-kungsor.yaml``."""
    return f"resources-{town.slug}.yaml"


def _write_spec(path: Path, spec: dict[str, object]) -> None:
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _write_incidents(path: Path, incidents: pd.DataFrame, tz: str) -> None:
    """Canonical incidents with explicit local offsets (``2026-12-04T21:13:00+01:00``)."""
    out = incidents.copy()
    out["occurred_at"] = out["occurred_at"].dt.tz_convert(tz).map(lambda t: t.isoformat())
    out.to_csv(path, index=False)


@dataclass(frozen=True)
class DemoFiles:
    """What ``tryggplan demo-data`` wrote."""

    towns: tuple[str, ...]
    police_area: str
    places: int
    areas: int
    incidents: int
    first: dt.date
    last: dt.date
    files: tuple[str, ...]


def write_demo_files(out: Path, *, seed: int = 42, years: float = 3.25) -> DemoFiles:
    """The demo police area as files: ``places.csv`` and ``incidents.csv`` of all four towns (canonical,
    explicit offsets), ``truth.json`` (the planted parameters, per town), ``resources.yaml`` (the first
    town's spec, Kungsör's: a plan is made for one municipality) and each town's spec in
    ``resources-<town>.yaml``."""
    made = generate_area(seed=seed, years=years)
    out.mkdir(parents=True, exist_ok=True)
    made.places.to_csv(out / "places.csv", index=False)
    _write_incidents(out / "incidents.csv", made.incidents, made.truth.tz)
    (out / "truth.json").write_text(
        json.dumps(made.truth.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    written = ["places.csv", "incidents.csv", "truth.json", "resources.yaml"]
    for i, town in enumerate(DEMO_TOWNS):
        spec = demo_resources(made.town(town.municipality).places, town=town.resources)
        if i == 0:
            _write_spec(out / "resources.yaml", spec)
        _write_spec(out / resources_file(town), spec)
        written.append(resources_file(town))
    local = made.incidents["occurred_at"].dt.tz_convert(made.truth.tz)
    return DemoFiles(
        towns=tuple(made.municipalities),
        police_area=made.truth.police_area,
        places=len(made.places),
        areas=int(made.places.groupby(["municipality", "area"]).ngroups),
        incidents=len(made.incidents),
        first=local.min().date(),
        last=local.max().date(),
        files=tuple(written),
    )


# --------------------------------------------------------------------------- run-demo


@dataclass(frozen=True)
class TownSummary:
    """What ``run-demo`` made for one municipality."""

    municipality: str
    places: int
    resource_id: int
    plan_id: int
    cost_sek: float | None
    risk_covered_share: float | None
    current_plan_id: int | None

    def line(self, week: str, current_week: str) -> str:
        share = f"{self.risk_covered_share:.0%}" if self.risk_covered_share is not None else "?"
        cost = f"{self.cost_sek:.0f}" if self.cost_sek is not None else "?"
        rest = (
            f"plan {self.current_plan_id} for the rest of this week ({current_week})"
            if self.current_plan_id is not None
            else f"no plan for the rest of this week ({current_week}): no shift fits in it"
        )
        return (
            f"{self.municipality} ({self.places} places): plan {self.plan_id} for {week}: cost {cost} SEK, "
            f"risk covered {share}; {rest}"
        )


@dataclass(frozen=True)
class DemoSummary:
    database: str
    incidents_added: int
    incidents_stored: int
    police_area: str
    forecast_run_id: int
    week: str
    current_week: str
    towns: tuple[TownSummary, ...]
    reader_token: str
    coordinator_token: str
    #: the municipality the coordinator token is scoped to
    coordinator_town: str
    #: the sign-in users: one coordinator per town
    logins: DemoLogins | None = None

    def town(self, municipality: str) -> TownSummary:
        return next(t for t in self.towns if t.municipality == municipality)

    def lines(self) -> list[str]:
        return [
            f"database: {self.database} ({self.incidents_stored} incidents, {self.incidents_added} added now)",
            f"police area {self.police_area}: {', '.join(t.municipality for t in self.towns)}",
            f"forecast: run {self.forecast_run_id} (the whole area)",
            *(t.line(self.week, self.current_week) for t in self.towns),
            f"reader token: {self.reader_token}",
            f"coordinator token: {self.coordinator_token}",
            f"(the reader token sees the whole area; the coordinator token is {self.coordinator_town}'s)",
        ]


def _next_week(today: dt.date) -> tuple[str, dt.date]:
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}", monday


def prepare_demo(
    directory: Path,
    database_url: str,
    *,
    tz: str = DEFAULT_TZ,
    seed: int = 7,
    model: str = "default",
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> DemoSummary:
    """Everything ``run-demo`` does before serving; returns what was made. ``now`` is the moment the
    plans are made (default: the clock, or local midnight starting ``today`` when only that is given)."""
    if now is None:
        now = pd.Timestamp(today, tz=tz).to_pydatetime() if today is not None else dt.datetime.now(dt.UTC)
    today = today or pd.Timestamp(now).tz_convert(tz).date()
    directory.mkdir(parents=True, exist_ok=True)
    engine = open_database(database_url)
    try:
        added = _ensure_area(engine, directory, seed=seed, today=today, tz=tz)
        for town in DEMO_TOWNS:
            _ensure_police_area(engine, town.municipality)
        resource_ids = {town.municipality: _ensure_resources(engine, directory, town) for town in DEMO_TOWNS}
        week, monday = _next_week(today)
        days = max(14, (monday - today).days + 7)
        run_id = _ensure_forecast(engine, today, days, tz, model)
        this_year, this_week, _ = today.isocalendar()
        current_week = f"{this_year}-W{this_week:02d}"
        made: dict[str, TownSummary] = {}
        # the seed's town last: its plans are then the newest, which an area-wide dashboard shows as current
        for town in reversed(DEMO_TOWNS):
            resource_id = resource_ids[town.municipality]
            plan_id, cost, share = _ensure_plan(engine, week, resource_id, run_id, now)
            current_id = _ensure_rest_of_week(engine, current_week, resource_id, run_id, now)
            made[town.municipality] = TownSummary(
                municipality=town.municipality,
                places=len(town.places),
                resource_id=resource_id,
                plan_id=plan_id,
                cost_sek=cost,
                risk_covered_share=share,
                current_plan_id=current_id,
            )
        logins = ensure_demo_users(
            engine, directory, users.create_user, lambda e: {u.username for u in users.list_users(e)}
        )
        first = DEMO_TOWNS[0].municipality
        reader, _ = access.create_token(engine, "reader", "demo dashboard")
        coordinator, _ = access.create_token(engine, "coordinator", f"demo coordinator {first}", [first])
        return DemoSummary(
            database=engine.url.render_as_string(hide_password=True),
            incidents_added=added,
            incidents_stored=count_incidents(engine),
            police_area=DEMO_POLICE_AREA,
            forecast_run_id=run_id,
            week=week,
            current_week=current_week,
            towns=tuple(made[t.municipality] for t in DEMO_TOWNS),
            reader_token=reader,
            coordinator_token=coordinator,
            coordinator_town=first,
            logins=logins,
        )
    finally:
        engine.dispose()


@dataclass(frozen=True)
class TownDemoSummary:
    """What :func:`prepare_town_demo` made."""

    database: str
    incidents_added: int
    forecast_run_id: int
    plan_id: int
    current_plan_id: int | None
    week: str
    current_week: str
    reader_token: str
    coordinator_token: str


def prepare_town_demo(
    directory: Path,
    database_url: str,
    *,
    tz: str = DEFAULT_TZ,
    seed: int = 7,
    model: str = "default",
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> TownDemoSummary:
    """The single demo town (:func:`tryggplan.demo.generate_town`, Arboga's 16 places) end to end, as
    ``run-demo`` built it before the demo became the police area: one town, one spec without a
    municipality (a single-town deployment), a forecast, next week's plan and the rest of this week's,
    tokens without a scope. The service's tests and benchmarks run on it; idempotent like
    :func:`prepare_demo`."""
    if now is None:
        now = pd.Timestamp(today, tz=tz).to_pydatetime() if today is not None else dt.datetime.now(dt.UTC)
    today = today or pd.Timestamp(now).tz_convert(tz).date()
    directory.mkdir(parents=True, exist_ok=True)
    engine = open_database(database_url)
    try:
        added = 0
        if count_incidents(engine) == 0:
            town = generate_town(seed=seed, end=today - dt.timedelta(days=1), tz=tz)
            town.places.to_csv(directory / "places.csv", index=False)
            _write_incidents(directory / "incidents.csv", town.incidents, tz)
            added = import_incidents(
                engine, town.incidents, town.places, source_file="demo town", actor="run-demo"
            ).added
        found = stored_plans.newest_resources(engine, None)
        if found is None:
            spec = demo_resources(read_places(engine))
            _write_spec(directory / "resources.yaml", spec)
            resource_id = plans.store_resources(engine, "demo town", spec, "run-demo").id
        else:
            resource_id = found.id
        week, monday = _next_week(today)
        run_id = _ensure_forecast(engine, today, max(14, (monday - today).days + 7), tz, model)
        plan_id, _, _ = _ensure_plan(engine, week, resource_id, run_id, now)
        this_year, this_week, _ = today.isocalendar()
        current_week = f"{this_year}-W{this_week:02d}"
        current_id = _ensure_rest_of_week(engine, current_week, resource_id, run_id, now)
        reader, _ = access.create_token(engine, "reader", "demo dashboard")
        coordinator, _ = access.create_token(engine, "coordinator", "demo coordinator")
        return TownDemoSummary(
            database=engine.url.render_as_string(hide_password=True),
            incidents_added=added,
            forecast_run_id=run_id,
            plan_id=plan_id,
            current_plan_id=current_id,
            week=week,
            current_week=current_week,
            reader_token=reader,
            coordinator_token=coordinator,
        )
    finally:
        engine.dispose()


def _ensure_area(engine: Engine, directory: Path, *, seed: int, today: dt.date, tz: str) -> int:
    """Import the demo area into an empty database (writing its files to ``directory``); a database that
    holds incidents already is kept as it is, once it is known to hold the demo's towns. Returns the
    incidents added."""
    if count_incidents(engine) > 0:
        stored = set(stored_places.municipalities(engine))
        missing = [t.municipality for t in DEMO_TOWNS if t.municipality not in stored]
        if missing:
            raise TryggplanError(
                f"{directory} holds a database without the demo's towns {', '.join(missing)} (an older demo of "
                f"one town, or other data): remove {directory} (or give another --dir) to build the demo of "
                f"{DEMO_POLICE_AREA}"
            )
        return 0
    made = generate_area(seed=seed, end=today - dt.timedelta(days=1), tz=tz)
    made.places.to_csv(directory / "places.csv", index=False)
    _write_incidents(directory / "incidents.csv", made.incidents, tz)
    (directory / "truth.json").write_text(
        json.dumps(made.truth.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return import_incidents(
        engine, made.incidents, made.places, source_file=f"demo {DEMO_POLICE_AREA}", actor="run-demo"
    ).added


def _ensure_police_area(engine: Engine, municipality: str) -> None:
    """The town in the demo's police area, with the default category groups, unless its settings are
    stored already."""
    if area.list_municipalities(engine, [municipality])[0].configured:
        return
    area.set_municipality(engine, municipality, police_area=DEMO_POLICE_AREA, category_groups=None)


def _ensure_resources(engine: Engine, directory: Path, town: DemoTown) -> int:
    """The town's newest resources spec; the demo's spec for it (also written to ``directory``) when it
    has none."""
    found = stored_plans.newest_resources(engine, town.municipality)
    if found is not None:
        return found.id
    spec = demo_resources(read_places(engine, municipality=town.municipality), town=town.resources)
    _write_spec(directory / resources_file(town), spec)
    if town == DEMO_TOWNS[0]:  # as demo-data writes it: the first town's spec is resources.yaml
        _write_spec(directory / "resources.yaml", spec)
    return plans.store_resources(engine, f"demo {town.municipality}", spec, "run-demo", town.municipality).id


def _ensure_forecast(engine: Engine, start: dt.date, days: int, tz: str, model: str) -> int:
    """A finished forecast of the whole area for the range (all incidents, unweighted): the one found,
    else a new one."""
    existing = runs.find_finished_run(engine, start, days, tz)
    if existing is not None and existing.municipality is None and existing.category_group is None:
        if not existing.weighted:  # a run of one town or of some categories does not plan the others
            return existing.id
    run = forecasts.start_run(engine, model=model, start=start, days=days, tz=tz, municipality=None, actor="run-demo")
    forecasts.run_forecast(engine, run.id)
    finished = runs.get_run(engine, run.id, done=False)
    if finished.status != "done":
        raise TryggplanError(f"demo forecast failed: {finished.error}")
    return run.id


def _ensure_rest_of_week(engine: Engine, week: str, resource_id: int, run_id: int, now: dt.datetime) -> int | None:
    """The plan of what is left of this week, when a shift still fits in it: late on a Sunday nothing
    does, and an empty plan would hide next week's from the dashboard's ``current``."""
    found = stored_plans.find_plan(engine, week, resource_id, run_id)
    if found is not None:
        return found.id
    try:
        inputs = plans.gather_plan_inputs(engine, week, now=now, resource_id=resource_id, forecast_run_id=run_id)
        document = plans.solve_plan(inputs)
    except TryggplanError:
        return None
    if not document.get("shifts"):
        return None
    return plans.store_plan_of(engine, inputs, document, "run-demo").id


def _ensure_plan(
    engine: Engine, week: str, resource_id: int, run_id: int, now: dt.datetime
) -> tuple[int, float | None, float | None]:
    found = stored_plans.find_plan(engine, week, resource_id, run_id)
    if found is None:
        kind: PlanKind = "week"
        found = plans.plan_from_store(
            engine, week, now=now, kind=kind, resource_id=resource_id, forecast_run_id=run_id, actor="run-demo"
        )
    return found.id, found.plan.get("cost_sek"), found.plan.get("risk_covered_share")


# --------------------------------------------------------------------------- sign-in users


@dataclass(frozen=True)
class DemoUser:
    """A sign-in user of the demo: one coordinator per town, scoped to it."""

    username: str
    municipality: str
    display_name: str


#: One coordinator per town (usernames without å, ä, ö: easy to type on any keyboard).
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("kungsor", "Kungsör", "Samordnare Kungsör"),
    DemoUser("arboga", "Arboga", "Samordnare Arboga"),
    DemoUser("koping", "Köping", "Samordnare Köping"),
    DemoUser("hallstahammar", "Hallstahammar", "Samordnare Hallstahammar"),
)
#: The file in the demo directory that keeps the demo users' passwords (readable by its owner only).
LOGINS_FILE = "inloggningar.txt"


class CreateUser(Protocol):
    """Creates a user (``tryggplan.usecases.users.create_user``)."""

    def __call__(
        self,
        engine: Engine,
        *,
        username: str,
        role: str,
        password: str,
        municipalities: Sequence[str] | None = None,
        display_name: str | None = None,
    ) -> object: ...


@dataclass(frozen=True)
class DemoLogins:
    """The demo's sign-in users: who was created now (with the password, shown once) and where every
    password is kept."""

    file: Path
    created: tuple[tuple[DemoUser, str], ...]
    kept: tuple[DemoUser, ...]

    def lines(self, base_url: str | None = None) -> list[str]:
        where = f"{base_url.rstrip('/')}/logga-in" if base_url else "/logga-in"
        out = [f"sign in at {where}: one coordinator per town"]
        out += [f"  {u.username} / {password} ({u.municipality})" for u, password in self.created]
        if self.kept:
            names = ", ".join(u.username for u in self.kept)
            if self.file.exists():
                out.append(f"  {names}: kept from an earlier run, passwords in {self.file}")
            else:
                out.append(
                    f"  {names}: kept from an earlier run, but {self.file} is gone: give a new password with "
                    "`tryggplan user reset-password`"
                )
        return out


def ensure_demo_users(
    engine: Engine,
    directory: Path,
    create_user: CreateUser,
    existing: Callable[[Engine], set[str]],
    users: Sequence[DemoUser] = DEMO_USERS,
) -> DemoLogins:
    """One coordinator user per town, scoped to it, with a generated password; users that exist already
    (``existing``: the stored usernames) are kept as they are, with their passwords. The passwords of the
    users created now are added to ``directory/inloggningar.txt``, readable by its owner only.
    :func:`prepare_demo` passes :func:`tryggplan.usecases.users.create_user` and the stored usernames."""
    known = existing(engine)
    created: list[tuple[DemoUser, str]] = []
    kept: list[DemoUser] = []
    for user in users:
        if user.username in known:
            kept.append(user)
            continue
        password = secrets.token_urlsafe(12)
        create_user(
            engine,
            username=user.username,
            role="coordinator",
            password=password,
            municipalities=[user.municipality],
            display_name=user.display_name,
        )
        created.append((user, password))
    path = directory / LOGINS_FILE
    if created:
        _add_logins(path, created)
    return DemoLogins(path, tuple(created), tuple(kept))


def _add_logins(path: Path, created: list[tuple[DemoUser, str]]) -> None:
    """Append the new users' lines to the logins file, made readable and writable by its owner only (also
    when it existed with wider permissions)."""
    header = (
        "# Inloggningar till tryggplans demo: en samordnare per kommun. Logga in på /logga-in.\n"
        "# kommun;användarnamn;lösenord\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        if out.tell() == 0:
            out.write(header)
        for user, password in created:
            out.write(f"{user.municipality};{user.username};{password}\n")

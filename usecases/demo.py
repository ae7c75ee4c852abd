"""``tryggplan run-demo``: the demo town end to end, idempotently.

1. open (create, migrate) the database in ``DIR/tryggplan.db``;
2. write the demo town (:func:`tryggplan.demo.generate_town`) to ``DIR`` and import it; when
   incidents are stored already they are kept (a second run does not import a second town);
3. store the demo resources spec (:func:`tryggplan.allocation.demo_resources`) unless one exists;
4. train the forecast from today through the end of next ISO week, unless a finished forecast
   for that range exists;
5. make next week's plan from it, and one for the rest of this week (what the dashboard shows as
   the current plan), unless they exist for that forecast;
6. create a reader and a coordinator token (tokens are shown only once, so each run makes new ones).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from sqlalchemy import Engine

from tryggplan.allocation import demo_resources
from tryggplan.demo import generate_town
from tryggplan.domain import DEFAULT_TZ, NotFoundError, TryggplanError
from tryggplan.storage import forecasts as runs
from tryggplan.storage import plans as stored_plans
from tryggplan.storage.database import open_database
from tryggplan.storage.incidents import count_incidents, import_incidents, read_places
from tryggplan.usecases import access, forecasts, plans
from tryggplan.usecases.plans import PlanKind


@dataclass(frozen=True)
class DemoFiles:
    """What ``tryggplan demo-data`` wrote."""

    places: int
    areas: int
    incidents: int
    first: dt.date
    last: dt.date
    files: tuple[str, ...]


def write_demo_files(out: Path, *, seed: int = 42, years: float = 3.25) -> DemoFiles:
    """The synthetic demo town as files: ``places.csv``, ``incidents.csv`` (canonical, explicit offsets),
    ``truth.json`` (the planted parameters) and ``resources.yaml``."""
    town = generate_town(seed=seed, years=years)
    out.mkdir(parents=True, exist_ok=True)
    town.places.to_csv(out / "places.csv", index=False)
    incidents = town.incidents.copy()
    local = incidents["occurred_at"].dt.tz_convert(town.truth.tz)
    incidents["occurred_at"] = local.map(lambda t: t.isoformat())
    incidents.to_csv(out / "incidents.csv", index=False)
    (out / "truth.json").write_text(
        json.dumps(town.truth.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    spec = demo_resources(town.places)
    (out / "resources.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return DemoFiles(
        places=len(town.places),
        areas=int(town.places["area"].nunique()),
        incidents=len(town.incidents),
        first=local.min().date(),
        last=local.max().date(),
        files=("places.csv", "incidents.csv", "truth.json", "resources.yaml"),
    )


@dataclass(frozen=True)
class DemoSummary:
    database: str
    incidents_added: int
    incidents_stored: int
    forecast_run_id: int
    plan_id: int
    current_plan_id: int | None
    current_week: str
    week: str
    cost_sek: float | None
    risk_covered_share: float | None
    reader_token: str
    coordinator_token: str

    def lines(self) -> list[str]:
        share = f"{self.risk_covered_share:.0%}" if self.risk_covered_share is not None else "?"
        return [
            f"database: {self.database} ({self.incidents_stored} incidents, {self.incidents_added} added now)",
            f"forecast: run {self.forecast_run_id}",
            f"plan: {self.plan_id} for {self.week}: cost {self.cost_sek} SEK, risk covered {share}",
            (
                f"plan: {self.current_plan_id} for the rest of this week ({self.current_week}), shown on the dashboard"
                if self.current_plan_id is not None
                else f"no plan for the rest of this week ({self.current_week}): no shift fits in it; "
                f"the dashboard shows {self.week}"
            ),
            f"reader token: {self.reader_token}",
            f"coordinator token: {self.coordinator_token}",
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
        added = 0
        if count_incidents(engine) == 0:
            town = generate_town(seed=seed, end=today - dt.timedelta(days=1), tz=tz)
            town.places.to_csv(directory / "places.csv", index=False)
            incidents = town.incidents.copy()
            incidents["occurred_at"] = incidents["occurred_at"].dt.tz_convert(tz).map(lambda t: t.isoformat())
            incidents.to_csv(directory / "incidents.csv", index=False)
            added = import_incidents(
                engine, town.incidents, town.places, source_file="demo town", actor="run-demo"
            ).added
        resource_id = _ensure_resources(engine, directory)
        week, monday = _next_week(today)
        days = max(14, (monday - today).days + 7)
        run_id = _ensure_forecast(engine, today, days, tz, model)
        plan_id, cost, share = _ensure_plan(engine, week, resource_id, run_id, now)
        this_year, this_week, _ = today.isocalendar()
        current_week = f"{this_year}-W{this_week:02d}"
        current_id = _ensure_rest_of_week(engine, current_week, resource_id, run_id, now)
        reader, _ = access.create_token(engine, "reader", "demo dashboard")
        coordinator, _ = access.create_token(engine, "coordinator", "demo coordinator")
        return DemoSummary(
            database=engine.url.render_as_string(hide_password=True),
            incidents_added=added,
            incidents_stored=count_incidents(engine),
            forecast_run_id=run_id,
            plan_id=plan_id,
            current_plan_id=current_id,
            current_week=current_week,
            week=week,
            cost_sek=cost,
            risk_covered_share=share,
            reader_token=reader,
            coordinator_token=coordinator,
        )
    finally:
        engine.dispose()


def _ensure_resources(engine: Engine, directory: Path) -> int:
    try:
        return stored_plans.get_resources(engine).id
    except NotFoundError:
        pass
    spec = demo_resources(read_places(engine))
    (directory / "resources.yaml").write_text(
        yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return plans.store_resources(engine, "demo town", spec, "run-demo").id


def _ensure_forecast(engine: Engine, start: dt.date, days: int, tz: str, model: str) -> int:
    existing = runs.find_finished_run(engine, start, days, tz)
    if existing is not None:
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

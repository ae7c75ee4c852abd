"""Six weeks of a season driven through the API the way a coordinator runs them (issue 12, "Done when").

Every Monday at 10:00 the coordinator records last week's walks (completed, one no-show, one made
through the plan's own route, one correction), pays an association now and then, plans the week,
publishes it; the associations answer through their links (accept; every other week one declines and
the walk is re-planned alone and offered elsewhere). After every step the season's figures are
compared, to the krona, with the test's own books kept from what the coordinator did and saw.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from fastapi.testclient import TestClient

from tests.support import auth, finished, set_clock
from tryggplan.allocation import demo_resources
from tryggplan.storage.incidents import read_places

TZ = ZoneInfo("Europe/Stockholm")
WEEKS = ["2025-W50", "2025-W51", "2025-W52", "2026-W01", "2026-W02", "2026-W03"]
QUOTA, COST = 12, 1000.0
Key = tuple[str, str]  # (association, night)


def monday_10(week: str) -> dt.datetime:
    year, num = int(week[:4]), int(week[6:])
    return dt.datetime.combine(dt.date.fromisocalendar(year, num, 1), dt.time(10), TZ)


@dataclass
class Books:
    """What the coordinator knows from her own actions: the test's independent model of the ledger."""

    planned: dict[Key, str] = field(default_factory=dict)  # offered / accepted, not recorded
    done: dict[Key, int] = field(default_factory=dict)  # completed -> record id
    no_show: set[Key] = field(default_factory=set)
    paid: set[Key] = field(default_factory=set)
    accepted: set[Key] = field(default_factory=set)

    def figures(self) -> dict[str, Any]:
        owed = COST * len(set(self.done) - self.paid)
        paid = COST * len(self.paid)
        return {
            "walks_total": QUOTA,
            "walks_done": len(self.done),
            "walks_no_show": len(self.no_show),
            "walks_planned": len(self.planned),
            "walks_left": QUOTA - len(self.done) - len(self.planned),
            "pot_sek": QUOTA * COST,
            "owed_sek": owed,
            "paid_sek": paid,
            "pot_left_sek": QUOTA * COST - owed - paid - COST * len(self.planned),
        }

    def association(self, name: str) -> dict[str, Any]:
        mine = {k for k in self.done if k[0] == name}
        return {
            "walks_done": len(mine),
            "walks_no_show": sum(1 for k in self.no_show if k[0] == name),
            "walks_planned": sum(1 for k in self.planned if k[0] == name),
            "owed_sek": COST * len(mine - self.paid),
            "paid_sek": COST * sum(1 for k in self.paid if k[0] == name),
        }


class Coordinator:
    def __init__(self, client: TestClient, token: str, books: Books) -> None:
        self.c, self.h, self.books, self.steps = client, auth(token), books, 0

    def check(self, step: str) -> dict[str, Any]:
        """The season's figures equal the books (every figure, every association, to the krona)."""
        self.steps += 1
        r = self.c.get("/api/v1/season", headers=self.h)
        assert r.status_code == 200, r.text
        got = r.json()
        want = self.books.figures()
        assert {k: got[k] for k in want} == want, step
        for a in got["associations"]:
            assert {k: a[k] for k in ("walks_done", "walks_no_show", "walks_planned", "owed_sek", "paid_sek")} == (
                self.books.association(a["name"])
            ), (step, a["name"])
        assert got["owed_sek"] + got["paid_sek"] == COST * got["walks_done"], step
        return got

    def offers(self) -> list[dict[str, Any]]:
        return self.c.get("/api/v1/season/offers", headers=self.h).json()  # type: ignore[no-any-return]

    def published(self, answer: dict[str, Any]) -> None:
        for o in answer["offered"]:
            self.books.planned[(o["association"], o["night"])] = o["status"]
        for o in answer["withdrawn"]:
            self.books.planned.pop((o["association"], o["night"]), None)

    def record(self, key: Key, status: str, *, via_plan: bool = False, corrects: int | None = None) -> dict[str, Any]:
        if via_plan:
            offer = next(o for o in self.offers() if (o["association"], o["night"]) == key)
            r = self.c.post(
                f"/api/v1/plans/{offer['plan_id']}/walks",
                json={"shift_index": offer["shift_index"], "status": status},
                headers=self.h,
            )
        else:
            body: dict[str, Any] = {"association": key[0], "night": key[1], "status": status}
            if corrects is not None:
                body["corrects"] = corrects
            r = self.c.post("/api/v1/season/walks", json=body, headers=self.h)
        assert r.status_code == 201, r.text
        rec = r.json()
        assert (rec["association"], rec["night"], rec["status"], rec["corrects"]) == (*key, status, corrects)
        self.books.planned.pop(key, None)
        self.books.done.pop(key, None)
        self.books.no_show.discard(key)
        if status == "completed":
            self.books.done[key] = rec["id"]
        elif status == "no_show":
            self.books.no_show.add(key)
        self.check(f"recorded {key} {status}")
        return rec  # type: ignore[no-any-return]


def test_six_weeks_of_a_season(demo_client: TestClient, demo_tokens: dict[str, str]) -> None:
    c = demo_client
    engine = c.app.state.engine  # type: ignore[attr-defined]
    books = Books()
    me = Coordinator(c, demo_tokens["coordinator"], books)
    set_clock(c, dt.datetime(2025, 12, 5, 9, tzinfo=TZ))
    spec = demo_resources(read_places(engine))
    spec["season"] = {"walks": QUOTA, "start": "2025-12-01", "until": "2026-01-18", "min_walks_per_week": 1}
    r = c.post("/api/v1/resources", json={"name": "six weeks", "spec": spec}, headers=me.h)
    assert r.status_code == 201, r.text
    run = c.post(
        "/api/v1/forecasts",
        json={"model": "how_mean", "start": "2025-12-08", "days": 42},
        headers=auth(demo_tokens["analyst"]),
    )
    assert run.status_code == 202
    assert finished(c, f"/api/v1/forecasts/{run.json()['id']}", me.h)["status"] == "done"
    me.check("the season before anything is recorded")
    links: dict[str, str] = {}
    for a in spec["associations"]:
        made = c.post("/api/v1/season/links", json={"association": a["name"]}, headers=me.h)
        assert made.status_code == 201, made.text
        links[a["name"]] = made.json()["secret"]
    declines = 0
    for k, week in enumerate(WEEKS + ["after"]):
        now = monday_10(week) if week != "after" else dt.datetime(2026, 1, 19, 10, tzinfo=TZ)
        set_clock(c, now)
        # 1. last week's walks: every planned walk of that week was walked, except one no-show
        last = [key for key in sorted(books.planned) if dt.date.fromisoformat(key[1]) < now.date()]
        for i, key in enumerate(last):
            status = "no_show" if (k == 2 and i == 0) else "completed"
            me.record(key, status, via_plan=(k == 1 and i == 0))
        if k == 3:  # a completed walk of week 1 was really a no-show: corrected by a new record
            key = next(key for key in books.done if key not in books.paid)
            fixed = me.record(key, "no_show", corrects=books.done[key])
            assert fixed["corrects"] is not None
            paid_key = next(iter(books.paid))
            refused = c.post(
                "/api/v1/season/walks",
                json={
                    "association": paid_key[0],
                    "night": paid_key[1],
                    "status": "no_show",
                    "corrects": books.done[paid_key],
                },
                headers=me.h,
            )
            assert refused.status_code == 422
            assert (
                "a paid walk stays completed; settle a pay-back with the association outside the ledger"
                in (refused.json()["detail"])
            )
            me.check("a paid walk cannot be corrected")
        if k in (2, 4, 6):  # pay the association owed most
            owed = {a: sum(1 for key in set(books.done) - books.paid if key[0] == a) for a in links}
            who = max(owed, key=lambda a: (owed[a], a))
            csv = c.get("/api/v1/season/payouts.csv", headers=me.h).content.decode("utf-8-sig").splitlines()
            assert csv[0] == "Förening;Pass;Nätter;Belopp (SEK)"
            row = next(line for line in csv[1:] if line.startswith(who + ";"))
            assert row.split(";")[1] == str(owed[who]) and row.endswith(f";{owed[who] * COST:.2f}".replace(".", ","))
            r = c.post("/api/v1/season/payouts", json={"association": who}, headers=me.h)
            assert r.status_code == 201, r.text
            assert r.json()["amount_sek"] == owed[who] * COST and r.json()["walks"] == owed[who]
            books.paid |= {key for key in books.done if key[0] == who}
            me.check(f"paid {who}")
        if week == "after":
            break
        # 2. plan the week: a draft plans nothing yet
        r = c.post("/api/v1/plans", json={"week": week}, headers=me.h)
        assert r.status_code == 201, r.text
        plan = r.json()
        assert plan["state"] == "draft" and dt.datetime.fromisoformat(plan["created_at"]) == now
        left = QUOTA - len(books.done)  # what the ledger says is left: every earlier walk is recorded
        assert any(
            w.startswith(f"season pacing: {plan['plan']['walks_share']} of the {left} remaining walks this week")
            for w in plan["warnings"]
        ), plan["warnings"]
        me.check(f"{week} planned (draft)")
        # 3. publish: every walk offered to its association
        r = c.post(f"/api/v1/plans/{plan['id']}/publish", headers=me.h)
        assert r.status_code == 200, r.text
        assert r.json()["plan"]["state"] == "published"
        walks = [s for s in plan["plan"]["shifts"] if s["kind"] == "night_walk"]
        assert sorted((o["association"], o["night"]) for o in r.json()["offered"]) == sorted(
            (s["association"], s["night"]) for s in walks
        )
        me.published(r.json())
        me.check(f"{week} published")
        if k == 0:  # a walk not yet walked cannot be recorded as completed; the refusal says from when
            s = walks[0]
            early = c.post(
                "/api/v1/season/walks",
                json={"association": s["association"], "night": s["night"], "status": "completed"},
                headers=me.h,
            )
            end = dt.datetime.fromisoformat(s["end"])
            assert early.status_code == 422 and early.json()["detail"] == (
                f"the walk of {s['association']!r} on the night of {s['night']} has not ended yet: it can be "
                f"recorded as completed from {end:%Y-%m-%d %H:%M} (Europe/Stockholm); until then only 'cancelled' "
                "can be recorded"
            )
            me.check("a walk recorded before it ended is refused")
        # 4. the associations answer through their links
        for key in sorted(k2 for k2, st in books.planned.items() if st == "offered"):
            offers = c.get(f"/api/v1/associations/{links[key[0]]}/offers").json()["offers"]
            offer = next(o for o in offers if (o["association"], o["night"]) == (key[0], key[1]))
            answer = "decline" if (k % 2 == 1 and declines < k // 2 + 1) else "accept"
            r = c.post(f"/api/v1/associations/{links[key[0]]}/offers/{offer['id']}", json={"answer": answer})
            assert r.status_code == 200, r.text
            if answer == "accept":
                books.planned[key] = "accepted"
                books.accepted.add(key)
                me.check(f"{key} accepted")
                continue
            declines += 1
            books.planned.pop(key)
            new = c.get(f"/api/v1/plans/{r.json()['new_plan_id']}", headers=me.h).json()
            assert new["state"] == "published" and new["parent_id"] == offer["plan_id"]
            moved = {
                (s["association"], s["night"])
                for s in new["plan"]["shifts"]
                if s["kind"] == "night_walk" and dt.datetime.fromisoformat(s["start"]) >= now
            } - set(books.planned)
            assert key not in moved and len(moved) == 1, moved  # the declined walk went to someone else
            for m in moved:
                books.planned[m] = "offered"
            me.check(f"{key} declined and re-planned")
        for key in sorted(k2 for k2, st in books.planned.items() if st == "offered"):  # the replacements
            offer = next(
                o
                for o in c.get(f"/api/v1/associations/{links[key[0]]}/offers").json()["offers"]
                if o["night"] == key[1]
            )
            assert (
                c.post(
                    f"/api/v1/associations/{links[key[0]]}/offers/{offer['id']}", json={"answer": "accept"}
                ).status_code
                == 200
            )
            books.planned[key] = "accepted"
            books.accepted.add(key)
            me.check(f"{key} accepted")
    final = me.check("the season is over")
    assert declines == 3 and books.no_show and books.paid and not books.planned
    assert final["walks_done"] + final["walks_left"] == QUOTA
    # every association's calendar holds exactly the walks it accepted
    for name, secret in links.items():
        cal = icalendar.Calendar.from_ical(c.get(f"/api/v1/associations/{secret}/walks.ics").content)
        nights = sorted(str(ev["dtstart"].dt.date()) for ev in cal.walk("VEVENT"))
        assert nights == sorted(key[1] for key in books.accepted if key[0] == name), name
    assert me.steps > 40

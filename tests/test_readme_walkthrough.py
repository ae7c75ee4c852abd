"""The documentation's walkthroughs run as written: the coordinator's (``docs/coordinator/index.md``) and
the dashboard author's (``docs/analyst/dashboards.md``) shell blocks, against a live ``tryggplan run-demo``
server on the demo town (what ``make run`` starts), with the tokens it prints. A block that fails (curl -f
on an HTTP error, a missing field) fails the test with its output. (The walkthroughs were the README's;
the file keeps its name.)"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, TRYGGPLAN, free_port

DOCS = ROOT / "docs"
# who: (the page that holds the walkthrough, the heading its shell block follows)
SECTIONS = {
    "coordinator": (DOCS / "coordinator" / "index.md", "## A coordinator gets next week's plan with curl"),
    "dashboard author": (DOCS / "analyst" / "dashboards.md", "## A dashboard author pulls forecasts with curl"),
}


def shell_block(page: Path, heading: str) -> str:
    """The first ```sh block after the line ``heading`` of ``page``."""
    text = page.read_text(encoding="utf-8")
    found_heading = re.search(rf"^{re.escape(heading)}$", text, flags=re.M)
    assert found_heading is not None, f"no heading {heading!r} in {page.relative_to(ROOT)}"
    found = re.search(r"```sh\n(.*?)```", text[found_heading.end() :], flags=re.S)
    assert found is not None, f"no ```sh block after {heading!r} in {page.relative_to(ROOT)}"
    return found.group(1)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, dict[str, str]]]:
    """``tryggplan run-demo`` serving on a free port; yields the port and the tokens it printed."""
    directory = tmp_path_factory.mktemp("readme-demo")
    port = free_port()
    log = (directory / "run-demo.log").open("w")
    proc = subprocess.Popen(
        [TRYGGPLAN, "run-demo", "--dir", str(directory / "demo"), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=directory,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert proc.poll() is None, (directory / "run-demo.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail(f"run-demo did not serve within 300 s: {(directory / 'run-demo.log').read_text()[-2000:]}")
        printed = (directory / "run-demo.log").read_text()
        tokens = dict(re.findall(r"^(reader|coordinator) token: (\S+)$", printed, flags=re.M))
        assert set(tokens) == {"reader", "coordinator"}, printed
        yield port, tokens
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.mark.parametrize(("who", "role"), [("coordinator", "coordinator"), ("dashboard author", "reader")])
def test_the_walkthrough_block_runs_as_written(
    demo_server: tuple[int, dict[str, str]], tmp_path: Path, who: str, role: str
) -> None:
    port, tokens = demo_server
    block = shell_block(*SECTIONS[who])
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=tmp_path,
        env={**os.environ, "TOKEN": tokens[role], "PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"the {who} block failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    if who == "coordinator":
        made = [line for line in result.stdout.splitlines() if line.strip()]
        assert float(made[-2]) > 0, result.stdout  # the plan's expected incidents prevented
        assert int(made[-1]) > 0, result.stdout  # the re-made plan's id
        assert (tmp_path / "plan.ics").read_text(encoding="utf-8").startswith("BEGIN:VCALENDAR")
    else:
        header = (tmp_path / "weekend.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.startswith("place_id,slot_start,expected,p_any,lo_80,hi_80")
        assert len((tmp_path / "weekend.csv").read_text(encoding="utf-8").splitlines()) > 16

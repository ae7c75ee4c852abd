"""One installed namespace: installing tryggplan adds the package ``tryggplan`` and nothing generic
(no top-level ``service``, ``forecasting``, ``allocation``, ...), and every layer imports through it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

LAYERS = ("forecasting", "allocation", "reporting", "storage", "usecases", "service", "cli")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package as pip installs it (a wheel built from the repository), in a folder of its own."""
    target = tmp_path_factory.mktemp("installed")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            target,
            ROOT,
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def test_installing_adds_only_the_tryggplan_package(installed: Path) -> None:
    top = sorted(p.name for p in installed.iterdir() if not p.name.endswith((".dist-info", ".egg-info")))
    assert top == ["bin", "tryggplan"] or top == ["tryggplan"]
    for layer in LAYERS:
        assert (installed / "tryggplan" / layer / "__init__.py").is_file(), layer
    assert (installed / "tryggplan" / "service" / "templates" / "index.html").is_file()
    assert (installed / "tryggplan" / "service" / "static" / "pages.css").is_file()
    for lang in ("sv", "en"):
        for suffix in ("po", "mo"):
            assert (installed / "tryggplan" / "locale" / lang / "LC_MESSAGES" / f"messages.{suffix}").is_file()
    assert (installed / "tryggplan" / "storage" / "migrations" / "versions" / "0001_initial.py").is_file()


@pytest.mark.parametrize("name", LAYERS)
def test_layers_import_only_through_tryggplan(installed: Path, tmp_path: Path, name: str) -> None:
    def python(code: str) -> subprocess.CompletedProcess[str]:
        # -I: isolated (no user site, no PYTHONPATH, no current directory); the install is the only path added
        return subprocess.run(
            [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(installed)!r}); {code}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    bare = python(f"import {name}")
    assert bare.returncode != 0 and f"No module named '{name}'" in bare.stderr
    through = python(f"import tryggplan.{name}; print(tryggplan.{name}.__file__)")
    assert through.returncode == 0, through.stderr
    assert through.stdout.strip().startswith(str(installed / "tryggplan" / name))

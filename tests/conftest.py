"""Shared fixtures: where the course is and which assignments it has."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and p.name[:2].isdigit())

# Kernels started by the tests must not print ipykernel's TCP warning into captured stderr, and must not
# use a GPU a developer happens to have (results are compared with CPU references).
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def load_benchmark(name: str):
    """Import ``benchmarks/<name>.py`` (a script folder, not a package) as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    """A TCP port on localhost that nothing listens on now (the OS picks it)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def source_path(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


def release_path(assignment: str) -> Path:
    return ROOT / "assignments" / assignment / f"{assignment}.ipynb"


def hidden_only_lines(assignment: str) -> list[str]:
    """The lines of the assignment's hidden tests (over 20 characters) that appear nowhere else in its source
    or its release (not in a solution a student could write the same way): what a feedback page must never
    show."""
    import json

    def sources(path: Path) -> list[str]:
        return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]

    hidden, elsewhere = [], sources(release_path(assignment))
    for text in sources(source_path(assignment)):
        inside = False
        for line in text.splitlines():
            if line.strip() in ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"):
                inside = line.strip() == "### BEGIN HIDDEN TESTS"
            elif inside:
                hidden.append(line.strip())
            else:
                elsewhere.append(line)
    seen = "\n".join(elsewhere)
    return [ln for ln in hidden if len(ln) > 20 and ln not in seen]


def page_text(html: str) -> str:
    """The text of an HTML page, tags removed and entities decoded."""
    import html as htmllib
    import re

    return htmllib.unescape(re.sub(r"<[^>]+>", "", html))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT

# pytest-xdist runs two notebooks at once on a 2-core machine: one math thread per kernel avoids the
# oversubscription that makes tiny PyTorch models many times slower. Kernels inherit this environment.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

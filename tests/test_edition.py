"""The student edition (course_utils.publish.edition): what students are given holds no solution, hidden
test or grader, points every link to the student repository, and runs from a fresh install of itself."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

import course_utils
from course_utils.publish.edition import (
    JUPYTERLAB_PLUGINS_OFF,
    LAB_PLUGINS_OFF,
    MARKER,
    SERVER_EXTENSIONS_OFF,
    EditionError,
    build_edition,
    topics,
)

STUDENT_REPO = "https://github.com/example-university/dl-student"
TOP_LEVEL = {"README.md", "LICENSE", "Makefile", "pyproject.toml", "environment.yml", "constraints.txt",
             "nbgrader_config.py", ".gitignore", ".jupyter", "tools", "lectures", "assignments", "course_utils",
             MARKER}


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    return build_edition(ROOT, tmp_path_factory.mktemp("edition") / "student", STUDENT_REPO)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.relative_to(folder).parts)


def _lines(text: str) -> set[str]:
    """Distinctive lines: stripped, at least 16 characters (short lines such as `return x` are not secrets)."""
    return {ln.strip() for ln in text.splitlines() if len(ln.strip()) >= 16}


def _notebook_text(path: Path) -> str:
    nb = json.loads(path.read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"])


def _secret_lines() -> set[str]:
    """Lines only the instructor has: solution regions and hidden tests of solutions/, the wrong and right
    implementations, the grader; minus every line that is public anyway (a release, a lecture, a student
    module of course_utils)."""
    secret: set[str] = set()
    for nb_path in (ROOT / "solutions").glob("*/*.ipynb"):
        for block in re.findall(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", _notebook_text(nb_path),
                                flags=re.S):
            secret |= _lines(block[1])
    for path in [*(ROOT / "tests").glob("*_implementations/*.py"), *(ROOT / "course_utils" / "grader").glob("*.py"),
                 ROOT / "course_utils" / "grading.py"]:
        secret |= _lines(path.read_text())
    public: set[str] = set()
    for path in [*(ROOT / "assignments").glob("*/*.ipynb"), *(ROOT / "lectures").glob("*.ipynb")]:
        public |= _lines(_notebook_text(path))
    for path in [*(ROOT / "course_utils").glob("*.py"), *(ROOT / "tools").glob("*.py"),
                 *(ROOT / "course_utils" / "publish" / "templates").iterdir()]:
        if path.name != "grading.py":
            public |= _lines(path.read_text())
    return secret - public


def _leaks(folder: Path, secret: set[str]) -> list[str]:
    found = []
    for path in _files(folder):
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if path.suffix == ".ipynb":
            text = _notebook_text(path)
        hits = _lines(text) & secret
        hits |= {m for m in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS") if m in text}
        found += [f"{path.relative_to(folder)}: {hit}" for hit in sorted(hits)[:3]]
    return found


def test_layout(edition):
    assert {p.name for p in edition.iterdir()} == TOP_LEVEL
    names = topics(ROOT)
    assert len(names) >= 6
    assert sorted(p.stem for p in (edition / "lectures").glob("*.ipynb")) == names
    assert sorted(p.name for p in (edition / "assignments").iterdir()) == names
    modules = {p.name for p in (edition / "course_utils").iterdir() if p.name != "__pycache__"}
    assert modules == {"__init__.py", "checks.py", "data.py", "gradcheck.py", "plotting.py", "runtime.py",
                       "training.py", "texts"}


def test_no_solution_hidden_test_or_grader_text(edition):
    secret = _secret_lines()
    assert len(secret) > 1000, f"only {len(secret)} instructor-only lines found: the detector is too weak"
    assert _leaks(edition, secret) == []


def test_the_leak_detector_finds_a_copied_solution(edition, tmp_path):
    # the control: the same scan must catch each kind of instructor file copied into an edition
    secret = _secret_lines()
    for leaked in [ROOT / "solutions" / "03_convolution" / "03_convolution.ipynb",
                   ROOT / "tests" / "wrong_implementations" / "topic_05_attention.py",
                   ROOT / "course_utils" / "grader" / "check.py"]:
        copy = tmp_path / leaked.name
        shutil.copytree(edition, copy)
        shutil.copy(leaked, copy / "course_utils" / leaked.name)
        assert _leaks(copy, secret), f"a copy of {leaked.name} went unnoticed"


def test_every_link_points_to_the_student_repository(edition):
    old = course_utils.COURSE_REPO_URL
    assert old != STUDENT_REPO
    colab = STUDENT_REPO.replace("https://github.com/", "https://colab.research.google.com/github/")
    owner_name = old.removeprefix("https://github.com/")
    for path in _files(edition):
        text = path.read_text(errors="replace")
        assert owner_name not in text, f"{path.relative_to(edition)} still names {owner_name}"
    for path in [*(edition / "lectures").glob("*.ipynb"), *(edition / "assignments").glob("*/*.ipynb")]:
        rel = path.relative_to(edition).as_posix()
        text = _notebook_text(path)
        assert f"({colab}/blob/main/{rel})" in text, f"{rel}: no Colab badge for itself in the student repository"
    for path in (edition / "assignments").glob("*/*.ipynb"):
        assert f'COURSE_REPO_URL = "{STUDENT_REPO}"' in _notebook_text(path)
    readme = (edition / "README.md").read_text()
    for name in topics(ROOT):
        for rel in (f"lectures/{name}.ipynb", f"assignments/{name}/{name}.ipynb"):
            assert f"]({rel})" in readme and f"({colab}/blob/main/{rel})" in readme
    assert f'COURSE_REPO_URL = "{STUDENT_REPO}"' in (edition / "course_utils" / "__init__.py").read_text()
    assert f'Repository = "{STUDENT_REPO}"' in (edition / "pyproject.toml").read_text()


def test_locked_cells_keep_valid_checksums(edition):
    # the URL rewrite changes locked cells; nbgrader validate reports a locked cell whose checksum differs
    from nbgrader.utils import compute_checksum

    checked = 0
    for path in (edition / "assignments").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if "checksum" in meta:
                assert compute_checksum(cell) == meta["checksum"], f"{path.name} {meta.get('grade_id')}"
                checked += 1
    assert checked > 50


def test_rebuild_keeps_git_and_refuses_other_folders(tmp_path):
    dest = build_edition(ROOT, tmp_path / "student")
    (dest / ".git").mkdir()
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (dest / "stale.txt").write_text("from an old edition")
    build_edition(ROOT, dest)
    assert (dest / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert not (dest / "stale.txt").exists()
    other = tmp_path / "thesis"
    other.mkdir()
    (other / "chapter1.tex").write_text("precious")
    with pytest.raises(EditionError, match="not overwriting"):
        build_edition(ROOT, other)
    assert (other / "chapter1.tex").read_text() == "precious"
    with pytest.raises(EditionError, match="outside"):
        build_edition(ROOT, ROOT / "build" / "edition")
    with pytest.raises(EditionError, match="OWNER/NAME"):
        build_edition(ROOT, tmp_path / "e2", "http://example.org/not-github")


def test_cli_writes_the_edition_and_explains_errors(tmp_path):
    cmd = [sys.executable, "-m", "course_utils.publish", "edition", "--root", str(ROOT)]
    done = subprocess.run([*cmd, str(tmp_path / "s")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "student edition written to" in done.stdout and (tmp_path / "s" / MARKER).is_file()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("x")
    bad = subprocess.run([*cmd, str(tmp_path / "busy")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "not overwriting" in bad.stderr


def test_student_lab_settings_switch_off_instructor_pages(edition):
    page = json.loads((edition / ".jupyter" / "labconfig" / "page_config.json").read_text())
    assert page == {"disabledExtensions": dict.fromkeys((*LAB_PLUGINS_OFF, *JUPYTERLAB_PLUGINS_OFF), True)}
    # the ids are nbgrader's real plugin ids (read from its installed Lab extension, not from our list)
    import nbgrader

    static = Path(nbgrader.__file__).parent / "labextension" / "static"
    shipped = set(re.findall(r"@jupyter/nbgrader:[a-z-]+", " ".join(p.read_text(errors="replace")
                                                                 for p in static.glob("*.js"))))
    assert set(LAB_PLUGINS_OFF) <= shipped
    assert "@jupyter/nbgrader:validate-assignment" in shipped - set(LAB_PLUGINS_OFF)
    import jupyterlab

    lab_static = Path(jupyterlab.__file__).parent.parent.parent.parent.parent / "share" / "jupyter" / "lab" / "static"
    core = " ".join(p.read_text(errors="replace") for p in lab_static.glob("*.js"))
    assert all(plugin in core for plugin in JUPYTERLAB_PLUGINS_OFF)
    server = json.loads((edition / ".jupyter" / "jupyter_server_config.json").read_text())
    off = server["ServerApp"]["jpserver_extensions"]
    assert off == dict.fromkeys(SERVER_EXTENSIONS_OFF, False)
    import importlib

    for module in off:
        importlib.import_module(module)  # each is a real server extension of the installed nbgrader


def test_make_work_copies_without_overwriting(edition, tmp_path):
    course = shutil.copytree(edition, tmp_path / "course")
    run = subprocess.run(["make", "work"], cwd=course, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    mine = course / "work" / "01_perceptron_xor" / "01_perceptron_xor.ipynb"
    assert mine.read_bytes() == (course / "assignments" / "01_perceptron_xor" / "01_perceptron_xor.ipynb").read_bytes()
    assert len(list((course / "work" / "lectures").glob("*.ipynb"))) == len(topics(ROOT))
    mine.write_text("my work")
    subprocess.run(["make", "work"], cwd=course, capture_output=True, text=True, timeout=120, check=True)
    assert mine.read_text() == "my work"
    subprocess.run(["git", "init", "-q"], cwd=course, check=True, timeout=60)
    ignored = subprocess.run(["git", "check-ignore", "-q", "work/01_perceptron_xor/01_perceptron_xor.ipynb"],
                             cwd=course, timeout=60)
    assert ignored.returncode == 0, "work/ is not ignored by the edition's .gitignore"

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
    complete_notebook,
    topics,
)

STUDENT_REPO = "https://github.com/example-university/dl-student"
TOP_LEVEL = {"README.md", "LICENSE", "Makefile", "pyproject.toml", "environment.yml", "constraints.txt",
             ".gitignore", ".jupyter", "tools", "lectures", "assignments", "course_utils", MARKER}
#: what an edition may hold: text files of these kinds (a binary or an archive could hide anything)
TEXT_SUFFIXES = {".ipynb", ".py", ".md", ".txt", ".toml", ".yml", ".json", ""}


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    return build_edition(ROOT, tmp_path_factory.mktemp("edition") / "student", STUDENT_REPO, allow_dirty=True)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.relative_to(folder).parts)


def _lines(text: str) -> set[str]:
    """Distinctive lines: stripped, at least 16 characters (short lines such as `return x` are not secrets)."""
    return {ln.strip() for ln in text.splitlines() if len(ln.strip()) >= 16}


def _notebook_text(path: Path) -> str:
    """The cells' sources (what the secret and public lines are read from)."""
    nb = json.loads(path.read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"])


def _all_strings(value) -> str:
    """Every string anywhere in a JSON value (cells, outputs, metadata, attachments), decoded."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(_all_strings(v) for v in value.values())
    if isinstance(value, list):
        return ("" if all(isinstance(v, str) for v in value) else "\n").join(_all_strings(v) for v in value)
    return ""


def _public_release_text(path: Path) -> str:
    """A release's cells that are not solution cells (a filled-in solution cell is not public)."""
    nb = json.loads(path.read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"]
                     if not c["metadata"].get("nbgrader", {}).get("solution"))


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
    for path in (ROOT / "assignments").glob("*/*.ipynb"):
        public |= _lines(_public_release_text(path))
    for nb_path in (ROOT / "solutions").glob("*/*.ipynb"):  # what the release keeps of the source by design
        public |= _lines(re.sub(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n.*?### END \1", "", _notebook_text(nb_path),
                                flags=re.S))
    for path in (ROOT / "lectures").glob("*.ipynb"):
        public |= _lines(_notebook_text(path))
    for path in [*(ROOT / "course_utils").glob("*.py"), *(ROOT / "tools").glob("*.py"),
                 *(ROOT / "course_utils" / "publish" / "templates").iterdir()]:
        if path.name != "grading.py":
            public |= _lines(path.read_text())
    return secret - public


def _leaks(folder: Path, secret: set[str]) -> list[str]:
    found = []
    for path in _files(folder):
        if path.suffix not in TEXT_SUFFIXES:
            found.append(f"{path.relative_to(folder)}: a {path.suffix} file (only text files belong here)")
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            found.append(f"{path.relative_to(folder)}: not a text file")
            continue
        if path.suffix in (".ipynb", ".json"):
            text = _all_strings(json.loads(text))
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
    # leaks where the reviewer found the first detector blind: hidden-test text in a lecture's stored
    # output, solution code in a release cell's metadata, instructor files inside an archive
    hidden = re.search(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS",
                       _notebook_text(ROOT / "solutions" / "05_attention" / "05_attention.ipynb"), re.S).group(1)
    solution = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION",
                         _notebook_text(ROOT / "solutions" / "02_backprop" / "02_backprop.ipynb"), re.S).group(1)
    planted = []
    lecture_copy = shutil.copytree(edition, tmp_path / "in_output")
    nb_path = next((lecture_copy / "lectures").glob("05_*.ipynb"))
    nb = json.loads(nb_path.read_text())
    nb["cells"][1].setdefault("outputs", []).append({"output_type": "stream", "name": "stdout", "text": hidden})
    nb_path.write_text(json.dumps(nb))
    planted.append(lecture_copy)
    meta_copy = shutil.copytree(edition, tmp_path / "in_metadata")
    nb_path = next((meta_copy / "assignments").glob("02_*/*.ipynb"))
    nb = json.loads(nb_path.read_text())
    nb["cells"][2]["metadata"]["note"] = solution
    nb_path.write_text(json.dumps(nb))
    planted.append(meta_copy)
    zip_copy = shutil.copytree(edition, tmp_path / "in_zip")
    shutil.make_archive(str(zip_copy / "extras"), "zip", ROOT / "course_utils" / "grader")
    planted.append(zip_copy)
    for copy in planted:
        assert _leaks(copy, secret), f"the leak planted in {copy.name} went unnoticed"


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


def test_rebuild_replaces_only_its_own_files(tmp_path):
    dest = tmp_path / "student"
    (dest / ".git").mkdir(parents=True)  # a fresh clone of the (empty) student repository counts as empty
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    build_edition(ROOT, dest, STUDENT_REPO, allow_dirty=True)
    ours = {p.relative_to(dest).as_posix() for p in _files(dest)} - {MARKER}
    listed = {ln[6:] for ln in (dest / MARKER).read_text().splitlines() if ln.startswith("file: ")}
    assert listed == ours
    # the instructor's own files in the student repository, and a student's work and environment
    keep = {".github/workflows/pages.yml": "on: push", "CNAME": "dl.example.edu",
            "work/assignments/01_perceptron_xor/01_perceptron_xor.ipynb": "my work", ".venv/pyvenv.cfg": "home"}
    for rel, text in keep.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    stale = "assignments/00_retired/00_retired.ipynb"  # written by an older edition, gone from this one
    (dest / stale).parent.mkdir(parents=True)
    (dest / stale).write_text("{}")
    (dest / MARKER).write_text((dest / MARKER).read_text() + f"file: {stale}\n")
    build_edition(ROOT, dest, STUDENT_REPO, allow_dirty=True)
    assert all((dest / rel).read_text() == text for rel, text in keep.items())
    assert (dest / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert not (dest / stale).exists() and not (dest / stale).parent.exists()


def test_refusals_change_nothing(tmp_path):
    other = tmp_path / "thesis"
    other.mkdir()
    (other / "chapter1.tex").write_text("precious")
    with pytest.raises(EditionError, match="not overwriting"):
        build_edition(ROOT, other, STUDENT_REPO, allow_dirty=True)
    assert [p.name for p in other.iterdir()] == ["chapter1.tex"]
    with pytest.raises(EditionError, match="outside"):
        build_edition(ROOT, ROOT / "build" / "edition", STUDENT_REPO, allow_dirty=True)
    with pytest.raises(EditionError, match="contains it"):  # a folder around the instructor's repository
        build_edition(ROOT, ROOT.parent, STUDENT_REPO, allow_dirty=True)
    for bad in ("http://example.org/not-github", "https://github.com/x/y.git", "https://github.com/x/..",
                "https://github.com/x/y/z"):
        with pytest.raises(EditionError, match="OWNER/NAME"):
            build_edition(ROOT, tmp_path / "e2", bad, allow_dirty=True)
    with pytest.raises(EditionError, match="instructor's repository"):
        build_edition(ROOT, tmp_path / "e2", course_utils.COURSE_REPO_URL, allow_dirty=True)
    with pytest.raises(EditionError, match="branch"):
        build_edition(ROOT, tmp_path / "e2", STUDENT_REPO, branch="../x", allow_dirty=True)
    assert not (tmp_path / "e2").exists()


@pytest.fixture
def instructor_copy(tmp_path) -> Path:
    """A committed copy of what the edition reads from the instructor's repository."""
    root = tmp_path / "instructor"
    root.mkdir()
    for name in ("lectures", "assignments", "tools"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copytree(ROOT / "course_utils", root / "course_utils", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("LICENSE", "constraints.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, root / name)
    git = ["git", "-C", str(root), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True, timeout=60)
    subprocess.run([*git, "add", "-A"], check=True, timeout=60)
    subprocess.run([*git, "commit", "-qm", "course"], check=True, timeout=60)
    return root


def test_what_is_copied_is_checked_first(instructor_copy, tmp_path):
    root = instructor_copy
    assert build_edition(root, tmp_path / "ok", STUDENT_REPO).is_dir()  # committed and clean: no flag needed
    release = root / "assignments" / "01_perceptron_xor" / "01_perceptron_xor.ipynb"
    pristine = release.read_bytes()
    # an instructor who tried their own release out: its solution cells hold the answers
    complete_notebook(release, ROOT / "solutions" / "01_perceptron_xor" / "01_perceptron_xor.ipynb", release)
    with pytest.raises(EditionError, match="differs from the release nbgrader generated"):
        build_edition(root, tmp_path / "e1", STUDENT_REPO, allow_dirty=True)
    release.write_bytes(pristine)
    # an untracked file is not published: refused unless allowed, and never copied
    (root / "assignments" / "01_perceptron_xor" / "answers_scratch.py").write_text("answer = 42\n")
    with pytest.raises(EditionError, match="uncommitted"):
        build_edition(root, tmp_path / "e2", STUDENT_REPO)
    dest = build_edition(root, tmp_path / "e3", STUDENT_REPO, allow_dirty=True)
    assert not list(dest.rglob("answers_scratch.py"))
    assert "-dirty" in (dest / MARKER).read_text()
    # a course_utils module nobody classified as a student's or an instructor's
    (root / "course_utils" / "answer_key.py").write_text("KEY = 1\n")
    with pytest.raises(EditionError, match="answer_key.py"):
        build_edition(root, tmp_path / "e4", STUDENT_REPO, allow_dirty=True)
    (root / "course_utils" / "answer_key.py").unlink()
    # a symbolic link could point anywhere
    (root / "lectures" / "link.ipynb").symlink_to(ROOT / "solutions" / "01_perceptron_xor" / "01_perceptron_xor.ipynb")
    with pytest.raises(EditionError, match="symbolic link"):
        build_edition(root, tmp_path / "e5", STUDENT_REPO, allow_dirty=True)
    for name in ("e1", "e2", "e4", "e5"):
        assert not (tmp_path / name).exists()


def test_branch_and_whole_name_rewrite(tmp_path):
    from course_utils.publish.edition import _replace_repo

    old = "https://github.com/org/course"
    text = (f"[a]({old.replace('github.com', 'colab.research.google.com/github')}/blob/main/x.ipynb) "
            f"git+{old} {old}-data {old}.wiki")
    assert _replace_repo(text, old, "https://github.com/u/s", "spring") == (
        "[a](https://colab.research.google.com/github/u/s/blob/spring/x.ipynb) git+https://github.com/u/s "
        f"{old}-data {old}.wiki")
    dest = build_edition(ROOT, tmp_path / "s", STUDENT_REPO, branch="spring-2027", allow_dirty=True)
    readme = (dest / "README.md").read_text()
    assert "/blob/spring-2027/lectures/01_perceptron_xor.ipynb" in readme and "/blob/main/" not in readme


def test_cli_writes_the_edition_and_explains_errors(tmp_path):
    cmd = [sys.executable, "-m", "course_utils.publish", "edition", "--root", str(ROOT), "--allow-dirty"]
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
    assert (edition / ".jupyter" / "nbgrader_config.py").is_file()
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
    mine = course / "work" / "assignments" / "01_perceptron_xor" / "01_perceptron_xor.ipynb"
    assert mine.read_bytes() == (course / "assignments" / "01_perceptron_xor" / "01_perceptron_xor.ipynb").read_bytes()
    assert len(list((course / "work" / "lectures").glob("*.ipynb"))) == len(topics(ROOT))
    mine.write_text("my work")
    again = subprocess.run(["make", "work"], cwd=course, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and mine.read_text() == "my work"  # a second `make lab` starts as well
    subprocess.run(["git", "init", "-q"], cwd=course, check=True, timeout=60)
    ignored = subprocess.run(["git", "check-ignore", "-q", str(mine.relative_to(course))], cwd=course, timeout=60)
    assert ignored.returncode == 0, "work/ is not ignored by the edition's .gitignore"

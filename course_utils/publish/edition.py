"""The student edition: a separate repository tree that students are given.

The instructor's repository (private) holds ``solutions/`` with every hidden test, the wrong and right
implementations and the grader. The student edition (public) holds only what a student needs::

    README.md  LICENSE  Makefile  pyproject.toml  environment.yml  constraints.txt  nbgrader_config.py
    .gitignore  .jupyter/  tools/install_torch.py
    lectures/NN_topic.ipynb               stored executed, as in the instructor's repository
    assignments/NN_topic/NN_topic.ipynb   nbgrader's release (no solutions, no hidden tests)
    course_utils/                         the student modules (no grader, no grading, no publish)

Every "Open in Colab" link and the setup cells' install URL point to the student repository: one
setting, ``repo_url`` (default: ``COURSE_REPO_URL`` of ``course_utils/__init__.py``). Building into a
folder that holds a previous edition replaces it and keeps its ``.git``, so publishing an update is
``make student-edition DIR=../course-student``, then commit and push there.

    python -m course_utils.publish edition DIR [--repo URL]
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).with_name("templates")
#: written into every edition; a non-empty folder without it is never overwritten
MARKER = ".course-edition"
#: course_utils modules that stay in the instructor's repository
INSTRUCTOR_MODULES = ("grader", "publish", "grading.py")
#: the Lab plugins and server extensions of nbgrader that a student must not see (instructor pages, and
#: the exchange, which this course does not use: students submit through their LMS)
LAB_PLUGINS_OFF = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                   "@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:course-list",
                   "@jupyter/nbgrader:menu")
#: JupyterLab's own plugins that get in a student's way: the first-run "get notified about Jupyter news?"
#: pop-up, which covers the notebook's corner
JUPYTERLAB_PLUGINS_OFF = ("@jupyterlab/apputils-extension:announcements",)
SERVER_EXTENSIONS_OFF = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.assignment_list",
                         "nbgrader.server_extensions.course_list")
STUDENT_DESCRIPTION = ("Helpers for the notebooks of an open deep-learning course: offline datasets, gradient "
                       "checks, friendly test checks, plots and training.")
#: what the student's Lab needs beside the course helpers (the `lab` extra of the edition's pyproject)
LAB_REQUIREMENTS = ("jupyterlab", "nbgrader", "ipykernel")


class EditionError(RuntimeError):
    """The edition cannot be built (a missing input, or a destination that is not an edition)."""


def course_repo_url(root: Path) -> str:
    """``COURSE_REPO_URL`` as written in ``root/course_utils/__init__.py`` (not the imported package's)."""
    text = (root / "course_utils" / "__init__.py").read_text()
    found = re.findall(r'^COURSE_REPO_URL = "([^"]+)"', text, flags=re.M)
    if len(found) != 1:
        raise EditionError("course_utils/__init__.py must set COURSE_REPO_URL exactly once")
    return found[0]


def topics(root: Path) -> list[str]:
    """The ``NN_topic`` stems that have both a lecture and a release."""
    lectures = {p.stem for p in (root / "lectures").glob("[0-9][0-9]_*.ipynb")}
    releases = {p.name for p in (root / "assignments").glob("[0-9][0-9]_*") if (p / f"{p.name}.ipynb").is_file()}
    if lectures != releases:
        raise EditionError(f"lectures and assignments differ: only lectures {sorted(lectures - releases)}, "
                           f"only assignments {sorted(releases - lectures)}")
    return sorted(lectures)


def _title(nb_path: Path) -> str:
    nb = json.loads(nb_path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return nb_path.stem


def _clear_destination(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise EditionError(f"{dest} exists and is not a folder")
    if dest.exists() and any(dest.iterdir()):
        if not (dest / MARKER).is_file():
            raise EditionError(f"{dest} is not empty and holds no {MARKER}: not overwriting it; give an empty "
                               "folder, or one a previous `student-edition` wrote")
        for child in dest.iterdir():
            if child.name == ".git":  # the student repository's history stays
                continue
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    dest.mkdir(parents=True, exist_ok=True)


def colab_url(repo: str) -> str:
    """Where Colab opens a GitHub repository's notebooks: ``colab_url(repo) + "/blob/main/PATH"``."""
    return repo.replace("https://github.com/", "https://colab.research.google.com/github/", 1)


def _rewrite_notebook(src: Path, out: Path, old: str, new: str) -> None:
    """Copy a notebook with the repository ``old`` replaced by ``new`` in every cell (its address and its
    Colab address); nbgrader's checksums are redone so that `nbgrader validate` does not see a changed
    locked cell."""
    import nbformat

    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if old in cell.source or colab_url(old) in cell.source:
            cell.source = cell.source.replace(colab_url(old), colab_url(new)).replace(old, new)
            meta = cell.metadata.get("nbgrader", {})
            if "checksum" in meta:
                from nbgrader.utils import compute_checksum

                meta["checksum"] = compute_checksum(cell)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)


def _course_utils(root: Path, dest: Path, old: str, new: str) -> None:
    src = root / "course_utils"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", *INSTRUCTOR_MODULES)
    shutil.copytree(src, dest / "course_utils", ignore=ignore)
    init = dest / "course_utils" / "__init__.py"
    text = init.read_text()
    edits = [
        ("- :mod:`course_utils.grading`    instructor tools on top of nbgrader (generate, submit, autograde, scores)\n",
         ""),
        ('"runtime", "grading"}', '"runtime"}'),
        ("from course_utils import checks, data, gradcheck, grading, plotting, runtime, training",
         "from course_utils import checks, data, gradcheck, plotting, runtime, training"),
        (f'COURSE_REPO_URL = "{old}"', f'COURSE_REPO_URL = "{new}"'),
    ]
    for before, after in edits:
        if before not in text:
            raise EditionError(f"course_utils/__init__.py has changed: cannot find {before.strip()!r}")
        text = text.replace(before, after)
    init.write_text(text)


def _toml_list(items: list[str], indent: str = "    ") -> str:
    return "[\n" + "".join(f'{indent}"{item}",\n' for item in items) + "]"


def _pyproject(root: Path, repo: str) -> str:
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    dev = project["optional-dependencies"]["dev"]
    lab = [req for req in dev if re.split(r"[<>=!~ \[]", req)[0] in LAB_REQUIREMENTS]
    if len(lab) != len(LAB_REQUIREMENTS):
        raise EditionError(f"pyproject.toml's dev extra must name {LAB_REQUIREMENTS}")
    return f'''[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "{project["name"]}"
version = "{project["version"]}"
description = "{STUDENT_DESCRIPTION}"
readme = "README.md"
license = "{project["license"]}"
requires-python = "{project["requires-python"]}"
# Lower bounds only: on Colab the preinstalled torch and numpy are kept. Exact versions: constraints.txt.
dependencies = {_toml_list(project["dependencies"])}

[project.optional-dependencies]
# JupyterLab with nbgrader's Validate button (make lab installs it)
lab = {_toml_list(lab)}

[project.urls]
Repository = "{repo}"

[tool.setuptools]
packages = ["course_utils"]

[tool.setuptools.package-data]
course_utils = ["texts/*.txt"]
'''


def _environment(root: Path) -> str:
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    runtime = project["dependencies"]
    lab = [req for req in project["optional-dependencies"]["dev"]
           if re.split(r"[<>=!~ \[]", req)[0] in LAB_REQUIREMENTS]
    lines = ["# Conda environment for the course: conda env create -f environment.yml && conda activate dl-course",
             "# For the exact versions of the course's own installs, add: pip install -c constraints.txt -e \".[lab]\"",
             "name: dl-course", "channels:", "  - conda-forge", "dependencies:",
             f"  - python{project['requires-python']}", "  - pip", "  - pip:"]
    lines += [f"      - {req}" for req in [*runtime, *lab]]
    lines.append("      - -e .")
    return "\n".join(lines) + "\n"


def _readme(root: Path, repo: str, names: list[str]) -> str:
    colab = colab_url(repo) + "/blob/main"
    rows = []
    for name in names:
        lecture, assignment = f"lectures/{name}.ipynb", f"assignments/{name}/{name}.ipynb"
        title = _title(root / "lectures" / f"{name}.ipynb")
        rows.append(f"| {name[:2]} | {title} | [lecture]({lecture}) | [assignment]({assignment}) | "
                    f"[lecture]({colab}/{lecture}), [assignment]({colab}/{assignment}) |")
    text = (TEMPLATES / "README.md").read_text()
    return text.replace("@@TABLE@@", "\n".join(rows)).replace("@@REPO@@", repo)


def _jupyter_config(dest: Path) -> None:
    lab = dest / ".jupyter" / "labconfig"
    lab.mkdir(parents=True)
    (lab / "page_config.json").write_text(
        json.dumps({"disabledExtensions": dict.fromkeys((*LAB_PLUGINS_OFF, *JUPYTERLAB_PLUGINS_OFF), True)},
                   indent=2) + "\n")
    (dest / ".jupyter" / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": dict.fromkeys(SERVER_EXTENSIONS_OFF, False)}},
                   indent=2) + "\n")


def _source_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def build_edition(root: str | Path, dest: str | Path, repo_url: str | None = None) -> Path:
    """Write the student edition of the course at ``root`` into ``dest`` and return ``dest``.

    Args:
        root: the instructor's repository (lectures/, assignments/, course_utils/, ...).
        dest: an empty or missing folder, or one holding a previous edition (its ``.git`` is kept).
        repo_url: the student repository's address, for the Colab links and the setup cells' install
            URL; default ``COURSE_REPO_URL``.

    Raises:
        EditionError: ``dest`` holds something else, or the course is incomplete.
    """
    root, dest = Path(root).resolve(), Path(dest).resolve()
    if dest == root or root in dest.parents:
        raise EditionError("the edition must be written outside the instructor's repository")
    old = course_repo_url(root)
    repo = (repo_url or old).rstrip("/")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repo):
        raise EditionError(f"repo_url must be https://github.com/OWNER/NAME (Colab opens GitHub notebooks); "
                           f"got {repo!r}")
    names = topics(root)
    _clear_destination(dest)

    for name in names:
        _rewrite_notebook(root / "lectures" / f"{name}.ipynb", dest / "lectures" / f"{name}.ipynb", old, repo)
        release = root / "assignments" / name
        for path in sorted(release.rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts or ".ipynb_checkpoints" in path.parts:
                continue
            out = dest / "assignments" / name / path.relative_to(release)
            if path.suffix == ".ipynb":
                _rewrite_notebook(path, out, old, repo)
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, out)

    _course_utils(root, dest, old, repo)
    (dest / "tools").mkdir()
    shutil.copy2(root / "tools" / "install_torch.py", dest / "tools" / "install_torch.py")
    for name in ("LICENSE", "constraints.txt"):
        shutil.copy2(root / name, dest / name)
    shutil.copy2(TEMPLATES / "Makefile", dest / "Makefile")
    shutil.copy2(TEMPLATES / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copy2(TEMPLATES / "gitignore", dest / ".gitignore")
    _jupyter_config(dest)
    (dest / "pyproject.toml").write_text(_pyproject(root, repo))
    (dest / "environment.yml").write_text(_environment(root))
    (dest / "README.md").write_text(_readme(root, repo, names))
    (dest / MARKER).write_text(f"student edition of the course, built from commit {_source_commit(root)}\n"
                               f"repository: {repo}\ntopics: {' '.join(names)}\n")
    return dest


def complete_notebook(release_nb: str | Path, source_nb: str | Path, out: str | Path) -> Path:
    """Write a copy of a release notebook whose solution cells hold the instructor source's code
    (matched by grade id): the notebook of a student who did every exercise."""
    from course_utils import grading

    nb = grading.fill_release(grading.read_notebook(release_nb), grading.read_notebook(source_nb))
    return grading.write_notebook(nb, out)


def summary(dest: Path) -> dict[str, Any]:
    """What an edition holds: file count and size in bytes."""
    files = [p for p in dest.rglob("*") if p.is_file() and ".git" not in p.relative_to(dest).parts]
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}

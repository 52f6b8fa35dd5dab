"""The student edition: a separate repository tree that students are given.

The instructor's repository (private) holds ``solutions/`` with every hidden test, the wrong and right
implementations and the grader. The student edition (public) holds only what a student needs::

    README.md  LICENSE  Makefile  pyproject.toml  environment.yml  constraints.txt  nbgrader_config.py
    .gitignore  .jupyter/  tools/install_torch.py
    lectures/NN_topic.ipynb               stored executed, as in the instructor's repository
    assignments/NN_topic/NN_topic.ipynb   nbgrader's release (no solutions, no hidden tests)
    course_utils/                         the student modules (no grader, no grading, no publish)

Every "Open in Colab" link and the setup cells' install URL point to the student repository: one
setting, ``[project.urls] "Student edition"`` in the instructor's ``pyproject.toml`` (or ``repo_url``),
which must not be the instructor's own repository (``COURSE_REPO_URL``, the one with the solutions).

What is copied is checked first: the releases must be what nbgrader generated (no outputs, every
nbgrader checksum intact, so no filled-in solution cell), the copied paths must be committed (unless
``allow_dirty``), ``course_utils`` holds only known modules, and nothing is a symbolic link. The edition is
built in a temporary folder and then moved into place: a failed build changes nothing. Rebuilding into
a folder that holds a previous edition replaces only the files that edition wrote (listed in its
``.course-edition``) and keeps everything else (``.git``, ``.github/``, a student's ``work/`` or ``.venv``).
Publishing an update is ``make student-edition DIR=../course-student``, then commit and push there.

    python -m course_utils.publish edition DIR [--repo URL] [--branch main] [--allow-dirty]
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).with_name("templates")
#: written into every edition; a non-empty folder without it is never overwritten
MARKER = ".course-edition"
#: course_utils modules that stay in the instructor's repository
INSTRUCTOR_MODULES = ("grader", "publish", "grading.py")
#: course_utils modules that students get; a module in neither list stops the build (decide where it goes)
STUDENT_MODULES = ("__init__.py", "checks.py", "data.py", "gradcheck.py", "plotting.py", "runtime.py",
                   "training.py", "texts")
#: the paths of the instructor's repository that the edition copies (they must be committed)
COPIED = ("lectures", "assignments", "course_utils", "tools", "LICENSE", "constraints.txt", "pyproject.toml")
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


def student_repo_url(root: Path) -> str | None:
    """The student repository named in the instructor's ``pyproject.toml`` (``[project.urls]``)."""
    urls = tomllib.loads((root / "pyproject.toml").read_text())["project"].get("urls", {})
    return urls.get("Student edition")


def _check_repo(repo: str, instructor: str) -> str:
    repo = repo.rstrip("/")
    match = re.fullmatch(r"https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)", repo)
    if not match or any(part in (".", "..") or part.endswith(".git") for part in match.groups()):
        raise EditionError(f"the student repository must be https://github.com/OWNER/NAME (Colab opens GitHub "
                           f"notebooks; no .git at the end); got {repo!r}")
    if repo.lower() == instructor.rstrip("/").lower():
        raise EditionError(f"{repo} is the instructor's repository (COURSE_REPO_URL), which holds the solutions: "
                           "give the student repository (--repo, or [project.urls] \"Student edition\" in "
                           "pyproject.toml)")
    return repo


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


def _previous_files(dest: Path) -> list[str] | None:
    """The files a previous edition in ``dest`` wrote; None when ``dest`` holds something else."""
    if not dest.exists() or all(child.name == ".git" for child in dest.iterdir()):
        return []
    marker = dest / MARKER
    if not marker.is_file():
        return None
    return [line[len("file: "):] for line in marker.read_text().splitlines() if line.startswith("file: ")]


def _install(built: Path, dest: Path, previous: list[str]) -> list[str]:
    """Replace the previous edition's files in ``dest`` by the ``built`` ones; keep everything else."""
    for rel in previous:
        old = dest / rel
        if old.is_file() or old.is_symlink():
            old.unlink()
    for rel in sorted({str(Path(p).parent) for p in previous}, key=len, reverse=True):
        folder = dest / rel
        while folder != dest and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    written = []
    for path in sorted(built.rglob("*")):
        if path.is_file():
            rel = path.relative_to(built)
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), dest / rel)
            written.append(rel.as_posix())
    return written


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _check_release(path: Path) -> None:
    """A release notebook as nbgrader generated it: no outputs, and every cell that nbgrader checksums
    (locked, solution and test cells) unchanged, so that no solution cell was filled in."""
    import nbformat
    from nbgrader.utils import compute_checksum

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.get("outputs") or cell.get("attachments"):
            raise EditionError(f"{path}: a cell has outputs or attachments; regenerate it (make assignments)")
        if meta.get("solution") and "checksum" not in meta:
            raise EditionError(f"{path}: solution cell {meta.get('grade_id')} has no checksum")
        if "checksum" in meta and compute_checksum(cell) != meta["checksum"]:
            raise EditionError(f"{path}: cell {meta.get('grade_id')} differs from the release nbgrader "
                               "generated (a solution filled in?); regenerate it (make assignments)")


def _check_sources(root: Path, names: list[str], allow_dirty: bool) -> str:
    """Refuse what must not be copied; return the source commit (with -dirty when allowed and dirty)."""
    for path in [root / p for p in COPIED]:
        for item in [path, *(path.rglob("*") if path.is_dir() else [])]:
            if item.is_symlink():
                raise EditionError(f"{item} is a symbolic link: the edition copies files only")
    unknown = sorted(p.name for p in (root / "course_utils").iterdir()
                     if p.name not in (*STUDENT_MODULES, *INSTRUCTOR_MODULES, "__pycache__"))
    if unknown:
        raise EditionError(f"course_utils/ holds {unknown}: add each to STUDENT_MODULES or INSTRUCTOR_MODULES "
                           "in course_utils/publish/edition.py")
    for name in names:
        _check_release(root / "assignments" / name / f"{name}.ipynb")
    commit = (_git(root, "rev-parse", "--short", "HEAD") or "unknown").strip()
    copied = [p for p in COPIED if p != "course_utils"] + [f"course_utils/{m}" for m in STUDENT_MODULES]
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *copied)
    if status:
        if not allow_dirty:
            changed = [line[3:] for line in status.splitlines()][:8]
            raise EditionError(f"uncommitted changes in what the edition copies: {changed}; commit them first "
                               "(or pass --allow-dirty to try an edition out)")
        commit += "-dirty"
    return commit


def colab_url(repo: str) -> str:
    """Where Colab opens a GitHub repository's notebooks: ``colab_url(repo) + "/blob/BRANCH/PATH"``."""
    return repo.replace("https://github.com/", "https://colab.research.google.com/github/", 1)


def _replace_repo(text: str, old: str, new: str, branch: str) -> str:
    """``old``'s Colab links (to its main branch) and its address replaced by ``new``'s, whole names only."""
    end = r"(?![A-Za-z0-9_.-])"
    text = re.sub(re.escape(colab_url(old)) + end + "(/blob/main/)?",
                  lambda m: colab_url(new) + (f"/blob/{branch}/" if m.group(1) else ""), text)
    return re.sub(re.escape(old) + end, new, text)


def _rewrite_notebook(src: Path, out: Path, old: str, new: str, branch: str = "main") -> None:
    """Copy a notebook with the repository ``old`` replaced by ``new`` in every cell (its address and its
    Colab address); nbgrader's checksums are redone so that `nbgrader validate` does not see a changed
    locked cell."""
    import nbformat

    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        source = _replace_repo(cell.source, old, new, branch)
        if source != cell.source:
            cell.source = source
            meta = cell.metadata.get("nbgrader", {})
            if "checksum" in meta:
                from nbgrader.utils import compute_checksum

                meta["checksum"] = compute_checksum(cell)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)


def _course_utils(root: Path, dest: Path, old: str, new: str) -> None:
    src = root / "course_utils"
    for name in STUDENT_MODULES:
        if (src / name).is_dir():
            shutil.copytree(src / name, dest / "course_utils" / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            (dest / "course_utils").mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / name, dest / "course_utils" / name)
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


def _readme(root: Path, repo: str, names: list[str], branch: str = "main") -> str:
    colab = colab_url(repo) + f"/blob/{branch}"
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
    shutil.copy2(TEMPLATES / "nbgrader_config.py", dest / ".jupyter" / "nbgrader_config.py")
    (dest / ".jupyter" / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": dict.fromkeys(SERVER_EXTENSIONS_OFF, False)}},
                   indent=2) + "\n")


def build_edition(root: str | Path, dest: str | Path, repo_url: str | None = None, branch: str = "main",
                  allow_dirty: bool = False) -> Path:
    """Write the student edition of the course at ``root`` into ``dest`` and return ``dest``.

    Args:
        root: the instructor's repository (lectures/, assignments/, course_utils/, ...).
        dest: a missing or empty folder (a `.git` alone counts as empty), or one holding a previous
            edition, whose own files are replaced; nothing else in it is touched.
        repo_url: the student repository, https://github.com/OWNER/NAME, for the Colab links and the
            setup cells' install URL; default ``[project.urls] "Student edition"`` of pyproject.toml.
        branch: the student repository's branch that Colab links open.
        allow_dirty: build from uncommitted changes (to try an edition out; never to publish).

    Raises:
        EditionError: nothing is written; the message says why (``dest`` holds something else or is
            around the instructor's repository, no or a wrong student repository, a release that is not
            nbgrader's, uncommitted changes, an unknown course_utils module, a missing file).
    """
    root, dest = Path(root).resolve(), Path(dest).resolve()
    if dest == root or root in dest.parents or dest in root.parents:
        raise EditionError("the edition must be written outside the instructor's repository, and not into a "
                           "folder that contains it")
    old = course_repo_url(root)
    repo = repo_url or student_repo_url(root)
    if not repo:
        raise EditionError('no student repository: pass --repo https://github.com/OWNER/NAME, or set '
                           '[project.urls] "Student edition" in pyproject.toml')
    repo = _check_repo(repo, old)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_./-]*", branch) or ".." in branch:
        raise EditionError(f"not a branch name: {branch!r}")
    names = topics(root)
    previous = _previous_files(dest)
    if previous is None:
        raise EditionError(f"{dest} is not empty and holds no {MARKER}: not overwriting it; give an empty "
                           "folder, a fresh clone of the student repository, or a folder a previous "
                           "`student-edition` wrote")
    commit = _check_sources(root, names, allow_dirty)

    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".edition-") as tmp:
        built = Path(tmp)
        try:
            for name in names:
                _rewrite_notebook(root / "lectures" / f"{name}.ipynb", built / "lectures" / f"{name}.ipynb",
                                  old, repo, branch)
                _rewrite_notebook(root / "assignments" / name / f"{name}.ipynb",
                                  built / "assignments" / name / f"{name}.ipynb", old, repo, branch)
            _course_utils(root, built, old, repo)
            (built / "tools").mkdir()
            shutil.copy2(root / "tools" / "install_torch.py", built / "tools" / "install_torch.py")
            for name in ("LICENSE", "constraints.txt"):
                shutil.copy2(root / name, built / name)
            shutil.copy2(TEMPLATES / "Makefile", built / "Makefile")
            shutil.copy2(TEMPLATES / "gitignore", built / ".gitignore")
            _jupyter_config(built)
            (built / "pyproject.toml").write_text(_pyproject(root, repo))
            (built / "environment.yml").write_text(_environment(root))
            (built / "README.md").write_text(_readme(root, repo, names, branch))
        except OSError as exc:
            raise EditionError(f"cannot build the edition: {exc}") from exc
        dest.mkdir(exist_ok=True)
        written = _install(built, dest, previous)
    (dest / MARKER).write_text(
        f"student edition of the course, built from commit {commit}\nrepository: {repo}\nbranch: {branch}\n"
        f"topics: {' '.join(names)}\n# the files this edition wrote (a rebuild replaces these only)\n"
        + "".join(f"file: {rel}\n" for rel in written))
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

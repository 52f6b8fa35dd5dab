"""The student edition runs on its own: a new virtual environment gets the course helpers by installing
the edition (a wheel built from its pyproject, as Colab's `pip install git+...` does), and every lecture
and assignment of the edition then runs there, with nbgrader's validation configured by the edition.

The third-party packages (torch, numpy, nbgrader, ...) are the test environment's own, at the exact
versions of constraints.txt, which the edition ships: a `.pth` file lends them to the new environment so
that CI does not download PyTorch twice. Nothing of the instructor's repository is importable there: the
instructor's editable install is not loaded (a `.pth` in a lent folder is never run), which the kernel
checks before anything else.
"""
from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT

import course_utils
from course_utils.publish.edition import build_edition, complete_notebook, student_repo_url, topics

RUNNER = textwrap.dedent('''
    import json, re, sys
    from pathlib import Path
    import nbformat
    from nbclient import NotebookClient

    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import sys, course_utils, importlib.util\\n"
        "print(sys.executable, course_utils.__file__, course_utils.COURSE_REPO_URL, "
        "importlib.util.find_spec('course_utils.grader') is None, "
        "importlib.util.find_spec('course_utils.grading') is None)")])
    # run outside the edition, so that only an installed course_utils can be found
    NotebookClient(probe, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(sys.executable).parent)}}).execute()
    report = {"probe": probe.cells[0].outputs[0]["text"].split(), "notebooks": {}}
    for path in sys.argv[1:]:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(Path(path).parent)}}).execute()
        # what the student sees: the traceback's last line (the course's one-line message for a blank
        # exercise or a failed check)
        errors = [re.sub(r"\\x1b\\[[0-9;]*m", "", (o["traceback"] or [o["ename"] + ": " + o["evalue"]])[-1])
                  for c in nb.cells if c.cell_type == "code" for o in c.outputs if o["output_type"] == "error"]
        stderr = [o["text"] for c in nb.cells if c.cell_type == "code"
                  for o in c.outputs if o["output_type"] == "stream" and o["name"] == "stderr"]
        report["notebooks"][path] = {"errors": errors, "stderr": stderr}
    print("REPORT " + json.dumps(report))
''')


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(edition folder, the new environment's python)"""
    tmp = tmp_path_factory.mktemp("fresh")
    edition = build_edition(ROOT, tmp / "student", allow_dirty=True)
    venv = tmp / "venv"
    # without its own pip and setuptools (3.11 bundles a setuptools too old for PEP 639 licences): the
    # lent ones build and install the edition into this environment
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    new_site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   capture_output=True, text=True, check=True, timeout=60).stdout.strip())
    (new_site / "lent_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    pip = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                          str(edition)], capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return edition, python


def _run(python: Path, notebooks: list[Path], cwd: Path) -> dict:
    done = subprocess.run([str(python), "-c", RUNNER, *map(str, notebooks)], capture_output=True, text=True,
                          cwd=cwd, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("REPORT ")]
    assert line, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(line[-1][len("REPORT "):])


def test_every_lecture_and_assignment_runs_from_the_edition_alone(installed, tmp_path):
    edition, python = installed
    names = topics(ROOT)
    lectures = [edition / "lectures" / f"{n}.ipynb" for n in names]
    blanks = [edition / "assignments" / n / f"{n}.ipynb" for n in names]
    done = [complete_notebook(blank, ROOT / "solutions" / n / f"{n}.ipynb", tmp_path / n / f"{n}.ipynb")
            for n, blank in zip(names, blanks)]
    report = _run(python, [*lectures, *done, *blanks], cwd=edition)

    executable, module, repo, no_grader, no_grading = report["probe"]
    assert Path(executable).parent == python.parent, "the kernel is not the new environment's python"
    assert Path(module).is_relative_to(python.parent.parent), f"course_utils came from {module}"
    assert (no_grader, no_grading) == ("True", "True"), "the grader is importable in the student's install"
    assert repo == student_repo_url(ROOT) != course_utils.COURSE_REPO_URL
    results = report["notebooks"]
    for nb in [*lectures, *done]:
        assert results[str(nb)] == {"errors": [], "stderr": []}, nb.name
    for nb in blanks:
        errors = results[str(nb)]["errors"]
        assert errors and errors[0].startswith("NotImplementedError: exercise not attempted"), (nb.name, errors[:2])
        missing = [e for e in errors if e.split(":")[0] in ("ModuleNotFoundError", "ImportError", "FileNotFoundError")]
        assert missing == [], (nb.name, missing)


def test_validate_in_a_terminal_is_short_and_exact(installed, tmp_path):
    # what `make validate A=...` and Lab's terminal run: the edition's Makefile puts .jupyter/ (with its
    # nbgrader_config.py, the short messages) on JUPYTER_CONFIG_PATH; run from work/, where Lab's
    # terminal opens
    edition, python = installed
    name = "01_perceptron_xor"
    blank = edition / "assignments" / name / f"{name}.ipynb"
    done = complete_notebook(blank, ROOT / "solutions" / name / f"{name}.ipynb",
                             edition / "work" / "assignments" / name / f"{name}.ipynb")
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(edition / ".jupyter")}
    ok = subprocess.run([str(python), "-m", "nbgrader", "validate", str(done)], cwd=edition / "work",
                        capture_output=True, text=True, timeout=600, env=env)
    assert "Success! Your notebook passes all the tests." in ok.stdout, ok.stdout + ok.stderr
    bad = subprocess.run([str(python), "-m", "nbgrader", "validate", str(blank)], cwd=edition / "work",
                         capture_output=True, text=True, timeout=600, env=env)
    out = bad.stdout
    n_tests = sum(1 for c in json.loads(blank.read_text())["cells"]
                  if c["metadata"].get("nbgrader", {}).get("grade") and c["cell_type"] == "code")
    assert f"VALIDATION FAILED ON {n_tests} CELL(S)" in out, out
    assert out.count("exercise not attempted") == n_tests
    assert "# Visible tests for predict" in out and "more lines)" in out
    assert "assert_shape(_y_hat" not in out, "the test cells' whole source is still printed"
    assert len(out.splitlines()) < 12 * n_tests + 10, f"{len(out.splitlines())} lines for {n_tests} tests"

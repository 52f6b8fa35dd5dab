"""`make lab` serves the course: JupyterLab starts at the course root the way the Makefile starts it,
lists the notebooks, loads nbgrader's Lab extension, and its Validate button (the server endpoint the
button calls) reports a blank release as failing and a finished one as passing."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, free_port, release_path, source_path

from course_utils import grading

ASSIGNMENT = "01_perceptron_xor"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    course = grading.copy_course(ROOT, tmp_path_factory.mktemp("lab"))
    shutil.copytree(ROOT / "lectures", course / "lectures")
    release = grading.read_notebook(release_path(ASSIGNMENT))
    grading.write_notebook(release, course / "work" / "blank.ipynb")
    grading.write_notebook(grading.fill_release(release, grading.read_notebook(source_path(ASSIGNMENT))),
                           course / "work" / "done.ipynb")
    port, token = free_port(), secrets.token_hex(16)
    jupyter = Path(sys.executable).with_name("jupyter")
    # the Makefile's `make lab` runs `jupyter lab --notebook-dir=.` at the course root (as root: --allow-root)
    root_flag = ["--allow-root"] if os.geteuid() == 0 else []
    proc = subprocess.Popen(
        [str(jupyter), "lab", "--notebook-dir=.", *root_flag, "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False"],
        cwd=course, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"

    def call(path, data=None, timeout=120):
        req = urllib.request.Request(base + path, data=data, headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read().decode()

    deadline = time.monotonic() + 60
    while True:
        try:
            call("/api/status", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"jupyter lab did not start: {proc.stderr.read()[-2000:]}")
            time.sleep(0.5)
    yield call
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_lab_lists_lectures_and_assignments(lab):
    lectures = {item["name"] for item in json.loads(lab("/api/contents/lectures"))["content"]}
    assert f"{ASSIGNMENT}.ipynb" in lectures
    released = {item["name"] for item in json.loads(lab(f"/api/contents/assignments/{ASSIGNMENT}"))["content"]}
    assert f"{ASSIGNMENT}.ipynb" in released


def test_lab_page_loads_the_nbgrader_extension(lab):
    page = lab("/lab")
    assert "@jupyter/nbgrader" in page, "nbgrader's Lab extension is not loaded"


def _validate(lab, path):
    body = urllib.parse.urlencode({"path": path}).encode()
    reply = json.loads(lab("/assignments/validate", data=body))
    assert reply["success"], reply["value"]
    return reply["value"]


def test_validate_button_reports_a_blank_release_as_failing(lab):
    result = _validate(lab, "work/blank.ipynb")
    failed = result.get("failed", [])
    assert failed and all("NotImplementedError" in f.get("error", "") for f in failed), result


def test_validate_button_passes_a_finished_notebook(lab):
    result = _validate(lab, "work/done.ipynb")
    assert not result.get("failed") and not result.get("changed"), result

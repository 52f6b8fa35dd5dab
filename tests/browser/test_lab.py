"""A student's path through JupyterLab, in a real browser.

The student edition is built into a temporary folder (``build_edition``), its ``make work`` makes the
student's working copies, and JupyterLab starts the way the edition's ``make lab`` starts it: from the
edition, on ``work/``, with the edition's Jupyter settings (``JUPYTER_CONFIG_PATH=<edition>/.jupyter``)
and nothing of this machine's user (HOME, Jupyter's data, runtime and config folders are temporary).
Then, as a student would, in Chromium:

- the blank assignment 01: Run > Run All Cells stops at the first exercise with the one-line
  "exercise not attempted" error; Validate says the notebook fails, listing every test cell;
- a completed copy (``complete_notebook``): Kernel > Restart Kernel and Run All Cells… runs every cell
  without an error; Validate says it passes;
- the edition's tracked release is unchanged (the student worked on ``work/``);
- nbgrader's instructor and exchange pages are absent from the student's Lab;
- no error in the browser console or on the page comes from the course or from nbgrader.

Screenshots of each step go to ``build/screenshots/<test>/`` (or ``$COURSE_SCREENSHOT_DIR/<test>/``),
with ``measurements.json`` (the Validate dialog's size, the time each step took).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port

from .conftest import ROOT, missing

ASSIGNMENT = "01_perceptron_xor"
BLANK = f"assignments/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"  # the student's working copy, relative to work/
COMPLETED = f"assignments/{ASSIGNMENT}/completed.ipynb"
#: the edition's tracked notebooks as built: running and validating the student's copy must not change them
RELEASED: dict[Path, bytes] = {}
#: every wait is a guard against a hang, not a measure of speed
START_TIMEOUT_S = 120
RUN_TIMEOUT_MS = 240_000
UI_TIMEOUT_MS = 60_000
ERROR_MIME = '[data-mime-type="application/vnd.jupyter.stderr"]'


def _graded_tests(notebook: Path) -> list[str]:
    """The grade ids of the notebook's graded test cells (locked cells with points, no solution)."""
    cells = json.loads(notebook.read_text())["cells"]
    ids = []
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            ids.append(meta["grade_id"])
    return ids


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    """The student edition with the student's working copies (``make work``) and a completed copy."""
    from course_utils.publish.edition import build_edition, complete_notebook

    if shutil.which("make") is None:
        missing("`make` is not installed")
    dest = build_edition(ROOT, tmp_path_factory.mktemp("edition") / "course-student", allow_dirty=True)
    subprocess.run(["make", "--no-print-directory", "work"], cwd=dest, check=True, capture_output=True,
                   timeout=120)
    complete_notebook(dest / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                      ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", dest / "work" / COMPLETED)
    RELEASED.update({p: p.read_bytes() for p in (dest / "assignments").rglob("*") if p.is_file()})
    return dest


class Lab:
    """A running JupyterLab: its base URL and token, and a way to call its REST endpoints."""

    def __init__(self, base: str, token: str, log: Path):
        self.base, self.token, self.log = base, token, log

    def url(self, path: str) -> str:
        return f"{self.base}{path}{'&' if '?' in path else '?'}token={self.token}"

    def status(self, path: str) -> int:
        """The HTTP status of a GET to this Lab (authenticated)."""
        req = urllib.request.Request(self.base + path, headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code


@pytest.fixture(scope="module")
def lab(edition: Path, tmp_path_factory):
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists():
        missing(f"{jupyter} is missing: JupyterLab is not installed in this environment")
    home = tmp_path_factory.mktemp("lab-home")
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_PATH": str(edition / ".jupyter"),  # as the edition's Makefile exports it
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / ".ipython"),
        "MPLCONFIGDIR": str(home / "matplotlib"),
        "PATH": f"{jupyter.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("JUPYTER_PLATFORM_DIRS", None)
    root_flag = ["--allow-root"] if os.geteuid() == 0 else []
    log = home / "jupyter-lab.log"
    print(f"jupyter lab's log: {log}")
    token = secrets.token_hex(16)
    proc = None
    try:
        for _attempt in range(3):  # a port taken between choosing it and binding it: choose another
            port = free_port()
            with open(log, "w") as out:
                # the edition's `make lab`: `jupyter lab --notebook-dir=work`, run from the edition
                proc = subprocess.Popen(
                    [str(jupyter), "lab", "--notebook-dir=work", *root_flag, "--no-browser", "--ip=127.0.0.1",
                     f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"],
                    cwd=edition, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            server = Lab(f"http://127.0.0.1:{port}", token, log)
            deadline = time.monotonic() + START_TIMEOUT_S
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    if server.status("/api/status") == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            if proc.poll() is None and time.monotonic() < deadline:
                break
            _stop(proc)
        else:
            pytest.fail(f"jupyter lab did not start:\n{log.read_text()[-3000:]}")
        yield server
    finally:
        if proc is not None:
            _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """Stop the Lab and its kernels (its process group)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
    try:  # kernels left by a Lab that died
        os.killpg(proc.pid, 9)
    except (ProcessLookupError, PermissionError):
        pass


# --- what a student does ------------------------------------------------------------------------------

def open_notebook(page, lab: Lab, path: str) -> None:
    # ?reset: a fresh workspace, so no tab of an earlier test is restored beside this notebook
    page.goto(lab.url(f"/lab/tree/{path}?reset"), timeout=UI_TIMEOUT_MS)
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=UI_TIMEOUT_MS)
    wait_kernel_idle(page)


def wait_kernel_idle(page) -> None:
    """Wait until the notebook's kernel is started and idle: the status bar reads "<kernel> | Idle" (the
    toolbar's execution indicator also says idle before a kernel is connected, so it is not enough)."""
    page.wait_for_function(
        """() => {
            const items = [...document.querySelectorAll('#jp-main-statusbar .jp-StatusBar-TextItem')];
            const kernel = items.map(i => i.textContent.trim()).find(t => / \\| \\w+$/.test(t));
            const indicator = document.querySelector(
                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
            return kernel !== undefined && !kernel.startsWith('No Kernel') && kernel.endsWith('| Idle')
                && indicator !== null && indicator.dataset.status === 'idle';
        }""", timeout=RUN_TIMEOUT_MS)


def menu(page, bar: str, command: str):
    """Open a menu of the menu bar by its label and return its entry for ``command`` (data-command)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(bar)}$")).click()
    item = page.locator(f'.lm-Menu-item[data-command="{command}"]')
    item.wait_for(timeout=UI_TIMEOUT_MS)
    return item


def run_all(page, restart: bool = False) -> str:
    """Run > Run All Cells, or Kernel > Restart Kernel and Run All Cells… and its confirm dialog; then
    wait until every cell has run or been skipped and the kernel is idle. Returns the menu entry's label."""
    if restart:
        item = menu(page, "Kernel", "runmenu:restart-and-run-all")
    else:
        item = menu(page, "Run", "runmenu:run-all")
    label = item.locator(".lm-Menu-itemLabel").inner_text()
    item.click()
    if restart:
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=UI_TIMEOUT_MS)
        assert "Restart Kernel?" in dialog.inner_text(), dialog.inner_text()
        dialog.locator(".jp-mod-accept").click()
        dialog.wait_for(state="detached", timeout=UI_TIMEOUT_MS)
    # The run is over when the last code cell has an execution count or a cell shows an error (Run All
    # stops there), and no cell is queued or running ([*]). The notebooks are opened without outputs, so
    # neither holds before the run.
    page.wait_for_function(
        """() => {
            const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            const error = panel.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
            return prompts.length > 0 && (error !== null || /[0-9]/.test(prompts[prompts.length - 1].textContent))
                && prompts.every(p => !p.textContent.includes('*'));
        }""", timeout=RUN_TIMEOUT_MS)
    wait_kernel_idle(page)
    return label


def press_validate(page) -> dict:
    """Press nbgrader's Validate button, wait for its dialog (it opens when the validation is over), and
    read and measure it."""
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator(".validate-button").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=RUN_TIMEOUT_MS)
    body = dialog.locator(".jp-Dialog-body")
    box = dialog.locator(".jp-Dialog-content").bounding_box()
    return {
        "title": dialog.locator(".jp-Dialog-header").inner_text().strip(),
        # nbgrader marks the outcome with a class on the dialog's body (validation-failed, -success, ...)
        "outcome": [c for c in body.evaluate("b => [...b.classList]") if c.startswith("validation-")],
        "text": body.inner_text(),
        "dialog_px": round(box["height"]),  # on screen (the dialog is limited to the window)
        "content_px": body.evaluate("b => b.scrollHeight"),  # all of it, scrolled
        "window_px": page.viewport_size["height"],
        # lines wider than the dialog, which a student reads only by scrolling sideways
        "lines_cut": body.locator("pre").evaluate_all("ps => ps.filter(p => p.scrollWidth > p.clientWidth).length"),
        "lines": body.locator("pre").count(),
    }


def close_dialog(page) -> None:
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator(".jp-Dialog").wait_for(state="detached", timeout=UI_TIMEOUT_MS)


#: JupyterLab's own console errors that say nothing about the course, each seen in this test:
#: - JupyterLab's debugger asks a kernel for its debugging state when it connects; a kernel restart
#:   (Restart Kernel and Run All Cells) that comes before the answer cancels the request, and the debugger
#:   logs this from JupyterLab's core bundle (seen in one run of seven here)
JUPYTERLAB_NOISE = ("Could not restore the debugger state: Canceled future for debug_request message",)


def course_errors(page, lab: Lab) -> list:
    """Console errors and page errors, less the browser's reports of requests to other hosts, which these
    tests refuse (offline by design; ``page.failed_requests`` lists them), and JUPYTERLAB_NOISE from
    JupyterLab's core bundle."""
    def noise(message: str, url: str) -> bool:
        if message.startswith("Failed to load resource: net::ERR_NAME_NOT_RESOLVED"):
            return not url.startswith(lab.base)
        return url.startswith(f"{lab.base}/static/lab/jlab_core.") and message.startswith(JUPYTERLAB_NOISE)

    errors = [e for e in page.console_errors if not noise(e[1], e[2])]
    page.filtered_errors = [e for e in page.console_errors if noise(e[1], e[2])]
    return errors + [("pageerror", text, "") for text in page.page_errors]


def save(page, folder: Path, name: str, measurements: dict, started: float) -> None:
    page.screenshot(path=folder / f"{name}.png")
    measurements.setdefault("steps_s", {})[name] = round(time.monotonic() - started, 1)


# --- the tests ----------------------------------------------------------------------------------------

def test_blank_assignment_run_all_stops_at_first_exercise_and_validate_fails(page, lab, edition, screenshot_dir):
    started, measured = time.monotonic(), {}
    open_notebook(page, lab, BLANK)
    save(page, screenshot_dir, "01_blank_opened", measured, started)

    label = run_all(page)
    errors = page.locator(f".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output{ERROR_MIME}")
    if errors.count():
        errors.first.scroll_into_view_if_needed()
    save(page, screenshot_dir, "02_blank_run_all", measured, started)
    assert label == "Run All Cells", f"JupyterLab's menu entry is {label!r}: the notebooks name it"
    assert errors.count() == 1, f"Run All should stop at the first failing cell; {errors.count()} errors shown"
    text = errors.first.text_content().strip()
    # the first exercise defines `predict`; its test cell is the first to call it
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").filter(
        has=page.locator(f".jp-OutputArea-output{ERROR_MIME}"))
    assert "Visible tests for predict" in cell.locator(".jp-InputArea").text_content()
    assert "exercise not attempted" in text and "`predict`" in text, text
    assert "\n" not in text and "Traceback" not in text, f"not one line:\n{text}"
    measured["first_error"] = text

    result = press_validate(page)
    save(page, screenshot_dir, "03_blank_validate", measured, started)
    close_dialog(page)
    assert (result["title"], result["outcome"]) == ("Validation Results", ["validation-failed"]), result
    measured["validate_dialog"] = {k: v for k, v in result.items() if k != "text"}
    measured["validate_text"] = result["text"]
    tests = _graded_tests(edition / "work" / BLANK)
    failed = result["text"].count("The following cell failed:")
    assert failed == len(tests), f"{failed} failing cells listed, {len(tests)} test cells:\n{result['text']}"
    assert result["text"].count("exercise not attempted") == len(tests), result["text"]
    # the student worked on work/: the edition's tracked release is as built (a later `git pull` is clean)
    changed = [str(p) for p, data in RELEASED.items() if not p.is_file() or p.read_bytes() != data]
    assert RELEASED and not changed, changed
    _record_and_check_console(page, lab, measured, screenshot_dir)


def _record_and_check_console(page, lab, measured: dict, screenshot_dir) -> None:
    """Write the step's measurements beside its screenshots, then fail on a console error of the course."""
    errors = course_errors(page, lab)
    measured["requests_to_other_hosts"] = sorted({url for url, _ in page.failed_requests
                                                  if not url.startswith(lab.base)})
    measured["console_errors_filtered"] = page.filtered_errors
    print(json.dumps(measured, indent=1))
    (screenshot_dir / "measurements.json").write_text(json.dumps(measured, indent=1))
    assert errors == []


def test_completed_assignment_runs_and_validate_passes(page, lab, screenshot_dir):
    started, measured = time.monotonic(), {}
    open_notebook(page, lab, COMPLETED)
    save(page, screenshot_dir, "01_completed_opened", measured, started)

    # what the notebook asks for when the work is done
    label = run_all(page, restart=True)
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    figures = panel.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
    if figures.count():
        figures.last.scroll_into_view_if_needed()
    save(page, screenshot_dir, "02_completed_run_all", measured, started)
    assert label.rstrip("…") == "Restart Kernel and Run All Cells", f"JupyterLab's menu entry is {label!r}"
    assert panel.locator(f".jp-OutputArea-output{ERROR_MIME}").count() == 0, \
        panel.locator(f".jp-OutputArea-output{ERROR_MIME}").first.text_content()
    # textContent: the browser does not lay out cells scrolled out of view, so their innerText is empty
    prompts = panel.locator(".jp-CodeCell .jp-InputPrompt").all_text_contents()
    not_run = [p for p in prompts if not any(ch.isdigit() for ch in p)]
    assert prompts and not not_run, f"cells without an execution count after Run All: {prompts}"
    assert figures.count() >= 1, "the completed notebook's experiments draw no figure"
    assert figures.last.evaluate("img => img.naturalWidth") > 0

    result = press_validate(page)
    save(page, screenshot_dir, "03_completed_validate", measured, started)
    close_dialog(page)
    assert (result["title"], result["outcome"]) == ("Validation Results", ["validation-success"]), result
    assert "Success! Your notebook passes all the tests." in result["text"], result["text"]
    measured["validate_dialog"] = {k: v for k, v in result.items() if k != "text"}
    _record_and_check_console(page, lab, measured, screenshot_dir)


def test_student_lab_has_no_instructor_or_exchange_pages(page, lab, screenshot_dir):
    page.goto(lab.url("/lab?reset"), timeout=UI_TIMEOUT_MS)  # a new workspace: the Launcher, no notebook
    page.locator(".jp-LauncherCard").first.wait_for(timeout=UI_TIMEOUT_MS)
    page.screenshot(path=screenshot_dir / "01_lab.png")
    bar = [t.strip() for t in page.locator(".lm-MenuBar-itemLabel").all_inner_texts()]
    assert "Run" in bar and "Kernel" in bar, bar  # the menu bar is there
    if "Nbgrader" in bar:  # show a reviewer what it holds
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Nbgrader$")).click()
        page.screenshot(path=screenshot_dir / "01_nbgrader_menu.png")
        page.keyboard.press("Escape")
    assert "Nbgrader" not in bar, f"nbgrader's menu (its instructor and exchange pages) is in the menu bar: {bar}"
    tabs = page.locator(".jp-SideBar .lm-TabBar-tab").evaluate_all(
        "tabs => tabs.map(t => (t.getAttribute('title') || '') + ' ' + t.textContent)")
    assert not [t for t in tabs if "Assignment" in t or "Course" in t], tabs

    # the command palette offers no command of those pages (it lists only the commands it can run now)
    page.locator("body").press("Control+Shift+C")
    search = page.locator(".lm-CommandPalette-input")
    search.wait_for(timeout=UI_TIMEOUT_MS)
    shown = page.locator(".lm-CommandPalette-item:visible")
    search.fill("Launcher")  # a control: the palette searches and shows what it finds
    shown.filter(has_text="New Launcher").first.wait_for(timeout=UI_TIMEOUT_MS)
    for word in ("Formgrader", "Create Assignment", "Assignment List", "Course List", "nbgrader"):
        search.fill(word)
        page.wait_for_function("w => document.querySelector('.lm-CommandPalette-input').value === w", arg=word)
        found = shown.all_text_contents()
        assert not [f for f in found if word.lower() in f.lower()], (word, found)
    page.screenshot(path=screenshot_dir / "02_command_palette.png")
    search.press("Escape")

    # and their server pages are not served; the Validate button's endpoint is
    for path in ("/formgrader", "/formgrader/api/assignments", "/assignments", "/courses"):
        assert lab.status(path) == 404, path
    assert lab.status("/nbgrader_version?version=0") == 200
    assert course_errors(page, lab) == []

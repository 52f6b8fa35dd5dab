"""A long-lived checker process for ``course-grade autograde`` (one per job).

It imports the libraries the tests need once, then grades one submission per request: it starts the
student's kernel (sandboxed), runs the notebook there and the tests here (:mod:`course_utils.grader.check`).
No student code runs in this process.

Protocol: one JSON object per line on stdin, ``{"source": PATH, "release": PATH, "notebook": PATH, "workdir": DIR,
"sockets": DIR, "out": PATH, "timeout": S, "sandbox": "bwrap"|"none", "memory": MB, "limits": {"per_kernel":
{"memory_mb", "cpus", "pids", "disk_mb"}, "mode": "auto"|"cgroup"|"rlimits"} or absent}``; one JSON line back on
the original stdout: ``{"cells": {grade_id: points}, "messages": {...}, "deaths": [...], "seconds": S}`` or
``{"error": "..."}``. Everything else this process prints goes to stderr.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

_CHECKERS: dict[tuple, Any] = {}


def grade(request: dict[str, Any]) -> dict[str, Any]:
    """Grade one canonical submission; writes the graded notebook to ``request["out"]``."""
    from course_utils import grading
    from course_utils.grader.check import Checker
    from course_utils.grader.feedback import sanitize
    from course_utils.grader.limits import Limits

    limits = request.get("limits")
    key = (request["source"], os.path.getmtime(request["source"]), request["timeout"], request["sandbox"],
           request["memory"], json.dumps(limits, sort_keys=True))
    if key not in _CHECKERS:
        _CHECKERS[key] = Checker(grading.read_notebook(request["source"]), float(request["timeout"]),
                                 request["sandbox"], int(request["memory"]),
                                 Limits(**limits["per_kernel"]) if limits else None,
                                 limits["mode"] if limits else "auto")
    checker = _CHECKERS[key]
    notebook = grading.read_notebook(request["notebook"])
    report = checker.grade(notebook, Path(request["workdir"]), Path(request["sockets"]))
    trusted = [c.source for c in grading.read_notebook(request["release"]).cells if c.cell_type == "markdown"]
    grading.write_notebook(sanitize(report.notebook, trusted), request["out"])
    return {"cells": report.cells, "messages": report.messages, "deaths": report.deaths, "seconds": report.seconds}


def _die_with_parent() -> None:
    """End this process (and with it the sandboxed kernel, which bubblewrap ties to it) when the process
    that started it is gone: a Dask worker killed mid-run must not leave its grading running."""
    import threading
    import time

    parent = int(os.environ.get("COURSE_GRADE_PARENT") or os.getppid())  # (it may be gone already)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    """Serve requests until stdin closes."""
    _die_with_parent()
    memory = os.environ.get("COURSE_GRADE_CHECKER_MB")
    if memory:  # a reply the tests unpack into something huge fails that test, not the machine
        from course_utils.grader.kernel import set_memory_limit

        set_memory_limit(int(memory))
    reply = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything printed by the tests or libraries goes to stderr, not into the protocol
    sys.stdout = sys.stderr
    import nbformat  # noqa: F401 - the slow imports, once
    import numpy  # noqa: F401
    import torch  # noqa: F401

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = grade(json.loads(line))
        except Exception as err:  # noqa: BLE001 - report, and stay alive for the next submission
            import traceback

            answer = {"error": f"{type(err).__name__}: {err}", "log": traceback.format_exc()[-3000:]}
        reply.write(json.dumps(answer) + "\n")
        reply.flush()


if __name__ == "__main__":
    main()

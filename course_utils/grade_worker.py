"""A long-lived ``nbgrader autograde`` worker for ``course-grade`` (one per job).

Importing nbgrader takes about 2.5 s, a quarter of the time of grading a short notebook; a worker
imports it once and grades one submission per request, through nbgrader's own Python API
(:class:`nbgrader.apps.NbGraderAPI`). The student's code never runs here: it runs in the kernel that
nbgrader starts (:mod:`course_utils.sandbox`).

Protocol: one JSON object per line on stdin, ``{"course": DIR, "assignment": A, "student": S,
"timeout": SECONDS, "env": {...}}``; one JSON line back on the original stdout, ``{"success": bool,
"log": str}``. Everything else the worker prints goes to stderr.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any


def grade(request: dict[str, Any]) -> dict[str, Any]:
    """Autograde one submission in the course copy ``request["course"]`` with nbgrader's API."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    os.environ.update(request.get("env", {}))
    course = request["course"]
    config = PyFileConfigLoader("nbgrader_config.py", path=course).load_config()
    config.Execute.timeout = int(request["timeout"])
    config.CourseDirectory.root = course
    os.chdir(course)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    result = api.autograde(request["assignment"], request["student"], force=True, create=True)
    return {"success": bool(result.get("success")), "log": (result.get("log") or "") + (result.get("error") or "")}


def main() -> None:
    """Serve requests until stdin closes."""
    reply = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything printed by nbgrader or its libraries goes to stderr, not into the protocol
    sys.stdout = sys.stderr
    import nbgrader.apps  # noqa: F401 - the slow import, once

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = grade(json.loads(line))
        except Exception as err:  # noqa: BLE001 - report, and stay alive for the next submission
            import traceback

            answer = {"success": False, "log": f"{err}\n{traceback.format_exc()}"}
        reply.write(json.dumps(answer) + "\n")
        reply.flush()


if __name__ == "__main__":
    main()

"""Grading on a Dask cluster: ``course-grade autograde A --scheduler ADDRESS``.

The instructor's process (the *client*) connects to a ``dask scheduler`` and sends it one task per
submission. A task carries the submission's bytes; the assignment's *template* (its source notebook with
the hidden tests, and the release made from it by the client) is scattered to the workers once and reaches
a worker that joins later once. On a worker, :func:`grade_task` grades the submission exactly as a local
run does (a :class:`~course_utils.grader.autograde.Grader` with its checker processes, the student's
kernel in the same sandbox and limits) and returns plain data: the scores, status and reason, the graded
notebook's bytes and the worker's environment for the receipt. Workers never touch the gradebook or the
course folder; the client records every result (:mod:`.record`), one at a time, as they arrive.

Faults:

- A worker process that dies while grading (killed, out of memory, its machine gone) has its submission
  graded again on another worker by the scheduler, at most :data:`RETRIES` times; a submission that kills
  ``RETRIES + 1`` workers is recorded as "crashed" and the run goes on. The client sets the scheduler's
  ``allowed_failures`` to :data:`RETRIES` and keeps no more submissions in flight than the cluster has
  worker threads, so that only the submission running on a dead worker is held responsible for it.
- A task that fails on the grader's side is recorded as "crashed" with "grading failed" (a rerun grades it
  again); the client losing its scheduler stops the run, and a rerun resumes it (:mod:`.receipt`).
"""
from __future__ import annotations

import atexit
import hashlib
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

#: times a submission whose worker died is graded again on another worker before it is "crashed"
RETRIES = 2
#: seconds the client waits for the scheduler, and for a first worker
CONNECT_TIMEOUT = 60

_GRADERS: dict[str, Any] = {}  # one Grader per (template, settings) in each worker process
_LOCK = threading.Lock()


def make_template(grader: Any) -> dict[str, Any]:
    """What every worker needs to grade the assignment: its source notebook (the hidden tests) and the
    release the client made from it, with their SHA-256."""
    source, release = Path(grader.source_path).read_bytes(), Path(grader.release_path).read_bytes()
    digest = hashlib.sha256(hashlib.sha256(source).digest() + hashlib.sha256(release).digest()).hexdigest()
    return {"assignment": grader.assignment, "source": source, "release": release, "sha256": digest}


def settings_of(grader: Any) -> dict[str, Any]:
    """The grading settings a worker's Grader is made with: the same as the client's."""
    return {"timeout": grader.timeout, "wall_limit": grader.wall_limit, "sandbox": grader.sandbox,
            "memory": grader.memory, "max_mb": grader.max_mb, "limits": grader.limits}


def _close_all() -> None:
    with _LOCK:
        for grader in _GRADERS.values():
            grader.close()
            shutil.rmtree(grader.root.parent, ignore_errors=True)
        _GRADERS.clear()


def _worker_grader(template: dict[str, Any], settings: dict[str, Any]) -> Any:
    """This worker process's Grader for the template and settings (made on first use; an earlier one for
    another template is closed)."""
    import json

    from course_utils.grader.autograde import Grader
    from course_utils.grader.cli import choose_sandbox
    from course_utils.grader.limits import Limits, describe, mechanism

    key = template["sha256"] + json.dumps(settings, sort_keys=True)
    with _LOCK:
        if key in _GRADERS:
            return _GRADERS[key]
        for old in list(_GRADERS):
            previous = _GRADERS.pop(old)
            previous.close()
            shutil.rmtree(previous.root.parent, ignore_errors=True)
        a = template["assignment"]
        base = Path(tempfile.mkdtemp(prefix="cgw"))  # short: Unix socket paths are limited to 107 bytes
        course = base / "course"
        (course / "solutions" / a).mkdir(parents=True)
        (course / "solutions" / a / f"{a}.ipynb").write_bytes(template["source"])
        (course / "release.ipynb").write_bytes(template["release"])
        (base / "r").mkdir()
        sandbox, line = choose_sandbox(settings["sandbox"])  # this worker's: "auto" is decided here
        grader = Grader(course, a, base / "r", settings["timeout"], settings["wall_limit"], sandbox,
                        settings["memory"], settings["max_mb"], settings["limits"],
                        release_path=course / "release.ipynb")
        limits = settings["limits"]
        if limits:
            line += "; " + describe(Limits(**limits["per_kernel"]), mechanism(limits["mode"]), sandbox == "bwrap")
        grader.setup = line
        if not _GRADERS:
            atexit.register(_close_all)
        _GRADERS[key] = grader
        return grader


def worker_environment() -> dict[str, Any]:
    """The receipt's environment fields as this process sees them (a worker's own)."""
    from course_utils.grader import receipt

    return receipt.environment(receipt.constraints_of_package().parent)


def grade_task(template: dict[str, Any], student: str, data: bytes, settings: dict[str, Any]) -> dict[str, Any]:
    """Grade one submission on a worker; returns plain data (the graded notebook as bytes)."""
    started = time.perf_counter()
    grader = _worker_grader(template, settings)
    a = template["assignment"]
    work = Path(tempfile.mkdtemp(prefix="s", dir=grader.root))
    try:
        path = work / a / f"{a}.ipynb"
        path.parent.mkdir()
        path.write_bytes(data)
        result = grader.grade(student, path)
        graded = result.pop("graded_notebook", None)
        if graded:
            result["graded_bytes"] = Path(graded).read_bytes()
            shutil.rmtree(Path(graded).parent, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["environment"] = worker_environment()
    result["worker"], result["setup"] = socket.gethostname(), grader.setup
    result["task_seconds"] = time.perf_counter() - started
    return result


def differences(mine: dict[str, Any], theirs: dict[str, Any], worker: Any) -> str:
    """A line that says whether a worker's environment (the receipt's fields) is the client's."""
    differ = [f"{k} {theirs.get(k)} (here {v})" for k, v in mine.items() if theirs.get(k) != v]
    if not differ:
        return f"on {worker}: the same course version, constraints and libraries as here"
    return f"on {worker}: NOT the environment of this machine: {', '.join(differ)}; receipts record the worker's"


def _use_retries(retries: int, dask_scheduler: Any = None) -> int:  # runs on the scheduler
    dask_scheduler.allowed_failures = retries
    return dask_scheduler.allowed_failures


def connect(scheduler: str) -> Any:
    """A ``distributed.Client`` of the scheduler at ``scheduler``, with at least one worker.

    Raises:
        RuntimeError: distributed is not installed, the scheduler cannot be reached, or it has no worker.
    """
    try:
        from distributed import Client
    except ImportError as err:
        raise RuntimeError("--scheduler needs Dask: pip install 'course_utils[instructor]'") from err
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise RuntimeError(f"could not reach the Dask scheduler at {scheduler}: {err}") from err
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as err:
        client.close()
        raise RuntimeError(f"the Dask scheduler at {scheduler} has no worker after {CONNECT_TIMEOUT} s "
                           "(start some with `dask worker ADDRESS`)") from err
    return client


def _threads(client: Any) -> int:
    return max(1, sum(client.nthreads().values()))


def grade(grader: Any, students: Sequence[str], scheduler: str, preflight: bool = True,
          status: Any = None) -> Iterator[dict[str, Any]]:
    """The results of ``students`` graded on the Dask cluster at ``scheduler``, as they finish.

    ``grader`` is the client's own Grader: it supplies the release, the settings and the empty result; it
    grades nothing here.

    Raises:
        PreflightError: the instructor's solution, graded on a worker, does not score full marks.
        RuntimeError: the cluster cannot be used (see :func:`connect`).
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    from course_utils import grading
    from course_utils.grader.autograde import PREFLIGHT, check_preflight

    a = grader.assignment
    client = connect(scheduler)
    try:
        try:
            retries = client.run_on_scheduler(_use_retries, RETRIES)
        except Exception as err:  # noqa: BLE001 - a scheduler that refuses it keeps its own setting
            retries = f"the scheduler's own number (setting it failed: {type(err).__name__})"
        workers = client.nthreads()
        if status:
            status(f"Dask cluster at {scheduler}: {len(workers)} worker(s), {sum(workers.values())} thread(s); a "
                   f"submission whose worker dies is graded again at most {retries} times")
        settings = settings_of(grader)
        template = client.scatter(make_template(grader), broadcast=True, hash=False)
        run = uuid.uuid4().hex[:8]
        seen: set[tuple[Any, str]] = set()  # (worker host, its sandbox and limits), said once each
        client_env = worker_environment()

        def submit(student: str, data: bytes) -> Any:
            return client.submit(grade_task, template, student, data, settings, pure=False,
                                 key=f"course-grade-{a}-{run}-{student}")

        if preflight:
            import nbformat

            solution = nbformat.writes(grading.fill_release(grader.release, grader.source)).encode()
            try:
                result = submit(PREFLIGHT, solution).result()
            except KilledWorker as err:
                result = grader._empty(PREFLIGHT) | {"status": "crashed", "detail": f"killed its workers: {err}"}
            check_preflight(a, result, f" on a worker ({result.get('worker', '?')})")
            if status and result.get("setup"):
                seen.add((result.get("worker"), result["setup"]))
                status(f"on {result.get('worker')}: {result['setup']}")
                status(differences(client_env, result.get("environment", {}), result.get("worker")))

        queue = list(students)
        futures: dict[Any, str] = {}
        sent: dict[str, float] = {}  # student -> when its task was submitted
        pending = as_completed(loop=client.loop)

        def top_up() -> list[dict[str, Any]]:
            """Submit students until as many are in flight as the cluster has threads; returns the results
            known without grading (a file that is not there, or too large to send)."""
            known = []
            while queue and len(futures) < _threads(client):
                student = queue.pop(0)
                path = grader.course / "submitted" / student / a / f"{a}.ipynb"
                try:
                    size = path.stat().st_size
                except OSError:
                    size = None
                if size is None or size > grader.max_mb * 1e6:
                    known.append(grader.grade(student, path))  # read here: not collected, or too large
                    continue
                future = submit(student, path.read_bytes())
                futures[future] = student
                sent[student] = time.perf_counter()
                pending.add(future)
            return known

        yield from top_up()
        for future in pending:
            student = futures.pop(future)
            try:
                result = future.result()
                # what the cluster added: scheduling, shipping the submission and the graded notebook back
                overhead = time.perf_counter() - sent.pop(student) - float(result.pop("task_seconds"))
                result["dask_ms"] = round(1000 * overhead, 1)
            except KilledWorker:
                result = grader._empty(student) | {
                    "status": "crashed",
                    "detail": f"its grading ended the worker process each time it ran ({RETRIES + 1} workers): "
                              "not graded"}
            except Exception as err:  # noqa: BLE001 - one submission never stops the class
                result = grader._empty(student) | {
                    "status": "crashed", "detail": f"grading failed: {type(err).__name__}: {str(err)[:300]}"}
            finally:
                future.release()
            setup = result.pop("setup", None)
            if setup and status and (result.get("worker"), setup) not in seen:
                seen.add((result.get("worker"), setup))
                status(f"on {result.get('worker')}: {setup}")
                status(differences(client_env, result.get("environment", {}), result.get("worker")))
            data = result.pop("graded_bytes", None)
            if data is not None:
                work = Path(tempfile.mkdtemp(prefix="g", dir=grader.root))
                (work / "graded.ipynb").write_bytes(data)
                result["graded_notebook"] = str(work / "graded.ipynb")
            yield result
            yield from top_up()
    finally:
        client.close()

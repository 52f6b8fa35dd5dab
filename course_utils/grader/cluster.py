"""Grading on a Dask cluster: ``course-grade autograde A --scheduler ADDRESS``.

The instructor's process (the *client*) connects to a ``dask scheduler`` and sends it one task per
submission. A task carries the submission's bytes; the assignment's *template* (its source notebook with the
hidden tests, and the release made from it by the client) travels as a worker plugin
(:class:`TemplatePlugin`), which the scheduler keeps and gives to each worker once, also to one that joins or
is restarted later, so that no worker's death loses it. On a worker, :func:`grade_task` grades the submission
exactly as a local run does (a :class:`~course_utils.grader.autograde.Grader` with its checker processes, the
student's kernel in the same sandbox and limits) and returns plain data: the scores, status and reason, the
graded notebook's bytes and the worker's environment for the receipt. Workers never touch the gradebook or the
course folder; the client records every result (:mod:`.record`), one at a time, as they arrive.

Faults:

- A worker process that dies while grading (killed, out of memory, its machine gone) has its submission
  graded again on another worker by the scheduler, at most :data:`RETRIES` times; a submission that kills
  ``RETRIES + 1`` workers is recorded as "crashed" and the run goes on. The client sets the scheduler's
  ``allowed_failures`` to :data:`RETRIES` and keeps no more submissions in flight than the cluster has
  worker threads, so that only the submission running on a dead worker is held responsible for it.
- A task that fails on the grader's side is recorded as "crashed" with "grading failed" (a rerun grades it
  again); the client losing its scheduler stops the run, and a rerun resumes it (:mod:`.receipt`).
- Every worker must sandbox the kernel with bubblewrap; ``--sandbox none`` is refused (an unsandboxed
  kernel reaches the scheduler). The client, the scheduler and the workers trust each other entirely
  (Dask unpickles what they send): the sandbox, which has no network, is what keeps students out.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

#: times a submission whose worker died is graded again on another worker before it is "crashed"
RETRIES = 2
#: seconds the client waits for the scheduler, and for a first worker
CONNECT_TIMEOUT = 60
#: Graders (one per assignment and settings) a worker process keeps
KEPT_GRADERS = 3
#: the largest graded notebook a worker may send back, bytes (the runner keeps 40 MB of outputs)
MAX_GRADED_BYTES = 64 * 2**20

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


def _discard(grader: Any) -> None:
    """Stop a worker's Grader and remove its folder (the template, the hidden tests), then its lock."""
    grader.close()
    shutil.rmtree(grader.root.parent, ignore_errors=True)
    grader.lock.close()


def _close_all() -> None:
    with _LOCK:
        for grader in _GRADERS.values():
            _discard(grader)
        _GRADERS.clear()


class SandboxMissing(RuntimeError):
    """A worker cannot sandbox the kernel (bubblewrap missing or refused): the run stops."""


def _locked_folder() -> tuple[Path, Any]:
    """A new folder ``cgw<pid>-…`` in the temporary directory, locked for as long as this process lives
    (the kernel releases the lock however the process ends). It is made and locked under another name, then
    renamed, so that no other worker ever sees it unlocked."""
    import fcntl

    staging = Path(tempfile.mkdtemp(prefix=f"cgt{os.getpid()}-"))
    lock = open(staging / ".lock", "w")  # noqa: SIM115 - held open on purpose, closed with its Grader
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    folder = staging.with_name("cgw" + staging.name[3:])
    staging.rename(folder)
    return folder, lock


def _remove_stale_folders() -> None:
    """Remove the folders of worker processes that are gone (killed, or stopped before they could clean
    up): they hold an assignment's hidden tests and a submission. A folder of this user is stale when the
    lock file it holds can be locked, which works across PID namespaces (containers sharing /tmp); links,
    other users' folders and folders without a lock file are left alone."""
    import fcntl
    import stat

    for folder in Path(tempfile.gettempdir()).glob("cgw*-*"):
        try:
            info = folder.lstat()
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                continue
            fd = os.open(folder / ".lock", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass  # held: a live worker's
        finally:
            os.close(fd)


def _worker_grader(template: dict[str, Any], settings: dict[str, Any]) -> Any:
    """This worker process's Grader for the template and settings, made on first use. The last
    :data:`KEPT_GRADERS` are kept (runs of several assignments may share a cluster); older ones are closed.

    Raises:
        SandboxMissing: the settings ask for bubblewrap and it does not work on this worker.
    """
    import json

    from course_utils.grader.autograde import Grader
    from course_utils.grader.cli import choose_sandbox
    from course_utils.grader.limits import Limits, describe, mechanism

    key = template["sha256"] + json.dumps(settings, sort_keys=True)
    with _LOCK:
        if key in _GRADERS:
            _GRADERS[key] = _GRADERS.pop(key)  # the most recently used last
            _GRADERS[key].busy += 1
            return _GRADERS[key]
        try:
            sandbox, line = choose_sandbox(settings["sandbox"])  # this worker's own
        except RuntimeError as err:
            raise SandboxMissing(f"{socket.gethostname()}: {err}") from None
        if not _GRADERS:
            atexit.register(_close_all)
            _remove_stale_folders()
        for old in [k for k, g in _GRADERS.items() if not g.busy][:max(0, len(_GRADERS) + 1 - KEPT_GRADERS)]:
            _discard(_GRADERS.pop(old))  # the least recently used of those grading nothing now
        a = template["assignment"]
        base, lock = _locked_folder()  # short: Unix socket paths are limited to 107 bytes
        course = base / "course"
        course.mkdir()
        (course / "solutions" / a).mkdir(parents=True)
        (course / "solutions" / a / f"{a}.ipynb").write_bytes(template["source"])
        (course / "release.ipynb").write_bytes(template["release"])
        (base / "r").mkdir()
        grader = Grader(course, a, base / "r", settings["timeout"], settings["wall_limit"], sandbox,
                        settings["memory"], settings["max_mb"], settings["limits"],
                        release_path=course / "release.ipynb")
        limits = settings["limits"]
        if limits:
            line += "; " + describe(Limits(**limits["per_kernel"]), mechanism(limits["mode"]), sandbox == "bwrap")
        grader.setup, grader.busy, grader.lock = line, 1, lock
        _GRADERS[key] = grader
        return grader


def worker_environment() -> dict[str, Any]:
    """The receipt's environment fields as this process sees them (a worker's own)."""
    from course_utils.grader import receipt

    return receipt.environment(receipt.constraints_of_package().parent)


class TemplatePlugin(WorkerPlugin):
    """A Dask worker plugin that carries an assignment's template. The scheduler keeps it and gives it to
    every worker, also to one that joins or is restarted later: each worker receives it once, and no
    worker's death can lose it."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.template = template


def grade_task(name: str, student: str, data: bytes, settings: dict[str, Any]) -> dict[str, Any]:
    """Grade one submission on a worker, with the template of the plugin ``name``; returns plain data only
    (str, numbers, bytes, lists and dicts of them), an error as ``{"error": ...}``."""
    started = time.perf_counter()
    try:
        from distributed import get_worker

        template = get_worker().plugins[name].template
        grader = _worker_grader(template, settings)
    except SandboxMissing as err:
        return {"error": str(err), "sandbox_missing": True}
    except Exception as err:  # noqa: BLE001 - said to the client as data
        return {"error": f"{type(err).__name__}: {str(err)[:500]}"}
    a = template["assignment"]
    try:
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
    except Exception as err:  # noqa: BLE001 - said to the client as data
        return {"error": f"{type(err).__name__}: {str(err)[:500]}"}
    finally:
        with _LOCK:
            grader.busy -= 1
    result["task_seconds"] = time.perf_counter() - started
    return result


def differences(mine: dict[str, Any], theirs: dict[str, Any], worker: Any) -> str:
    """A line that says whether a worker's environment (the receipt's fields) is the client's."""
    differ = [f"{k} {theirs.get(k)} (here {v})" for k, v in mine.items() if theirs.get(k) != v]
    if not differ:
        return f"on {worker}: the same course version, constraints and libraries as here"
    return f"on {worker}: NOT the environment of this machine: {', '.join(differ)}; receipts record the worker's"


def _exception_text(key: str, dask_scheduler: Any = None) -> str:  # runs on the scheduler
    task = dask_scheduler.tasks.get(key)
    if task is None:
        return "the task was forgotten by the scheduler"
    if task.suspicious > dask_scheduler.allowed_failures:
        return "KilledWorker"
    return str(task.exception_text or task.state)


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


STATUSES = ("graded", "crashed", "timed out", "invalid file")


def checked(reply: Any, student: str, grader: Any) -> dict[str, Any]:
    """The result a worker sent, rebuilt from the fields the client expects, each of its type and range:
    the student is the client's, the score the sum of the cells, each cell within its points; the
    environment holds only the receipt's environment fields (a worker cannot change a receipt's key).

    Raises:
        ValueError: the reply is not a result (the student is then recorded "crashed": grading failed).
    """
    from course_utils.grader.receipt import ENV_FIELDS

    if not isinstance(reply, dict) or reply.get("status") not in STATUSES:
        raise ValueError("the worker's reply is not a result")
    raw = reply.get("cells")
    if not isinstance(raw, dict) or set(raw) - set(grader.points):
        raise ValueError("the worker's reply has cells this assignment does not")
    cells = {}
    for gid, points in grader.points.items():
        value = raw.get(gid, 0.0)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= points:
            raise ValueError(f"the worker's reply gives {gid} {value!r} of {points:g} points")
        cells[gid] = float(value)
    text = lambda value, n: value[:n] if isinstance(value, str) else ""  # noqa: E731
    messages = reply.get("messages") if isinstance(reply.get("messages"), dict) else {}
    env = reply.get("environment") if isinstance(reply.get("environment"), dict) else {}
    result = {"student": student, "score": float(sum(cells.values())), "max_score": float(sum(grader.points.values())),
              "status": reply["status"], "detail": text(reply.get("detail"), 600), "cells": cells,
              "messages": {g: text(m, 4000) for g, m in messages.items() if g in grader.points},
              "environment": {k: env[k] if isinstance(env.get(k), str) else None for k in ENV_FIELDS},
              "worker": text(reply.get("worker"), 200), "setup": text(reply.get("setup"), 1000)}
    if isinstance(reply.get("log"), str):
        result["log"] = reply["log"][-3000:]
    if isinstance(reply.get("seconds"), (int, float)) and not isinstance(reply.get("seconds"), bool):
        result["seconds"] = round(float(reply["seconds"]), 2)
    data = reply.get("graded_bytes")
    if isinstance(data, bytes) and len(data) <= MAX_GRADED_BYTES:
        result["graded_bytes"] = data
    task = reply.get("task_seconds")
    result["task_seconds"] = float(task) if isinstance(task, (int, float)) and not isinstance(task, bool) else 0.0
    return result


UNSANDBOXED_CLUSTER = (
    "a cluster is never graded unsandboxed: a student's code there reaches the scheduler, and through it "
    "changes every worker (for this run and later ones, also through the scheduler itself) and runs code in "
    "the grading process")


def grade(grader: Any, students: Sequence[str], scheduler: str, preflight: bool = True,
          status: Any = None) -> Iterator[dict[str, Any]]:
    """The results of ``students`` graded on the Dask cluster at ``scheduler``, as they finish.

    ``grader`` is the client's own Grader: it supplies the release, the settings and the empty result; it
    grades nothing here. Every worker must sandbox the kernel with bubblewrap: a worker that cannot stops
    the run (:class:`SandboxMissing`), because an unsandboxed kernel on a cluster reaches the scheduler.
    A Grader whose sandbox is "none" grades unsandboxed: :func:`~course_utils.grader.autograde.autograde`
    allows that only for a throwaway cluster.

    Raises:
        PreflightError: the instructor's solution, graded on a worker, does not score full marks.
        RuntimeError: the cluster cannot be used (see :func:`connect`), or a worker cannot sandbox.
    """
    from concurrent.futures import CancelledError

    from distributed import as_completed

    from course_utils import grading
    from course_utils.grader.autograde import PREFLIGHT, check_preflight

    a = grader.assignment
    settings = settings_of(grader)
    settings["sandbox"] = "none" if grader.sandbox == "none" else "bwrap"
    template = make_template(grader)
    run = uuid.uuid4().hex[:8]
    # each run its own plugin: another run's end does not remove it
    name = f"course-grade-template-{template['sha256'][:16]}-{run}"
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
            for address, threads in workers.items():
                if threads > 1:
                    status(f"warning: the worker at {address} has {threads} threads: when it dies, the "
                           f"submissions it grades are all held responsible (start workers with --nthreads 1)")
        client.register_plugin(TemplatePlugin(template), name=name)
        seen: set[tuple[Any, str]] = set()  # (worker host, its sandbox and limits), said once each
        client_env = worker_environment()

        def submit(student: str, data: bytes, attempt: int = 0) -> Any:
            return client.submit(grade_task, name, student, data, settings, pure=False,
                                 key=f"course-grade-{a}-{run}-{student}-{attempt}")

        def say_setup(result: dict[str, Any]) -> None:
            setup = result.pop("setup", "")
            if setup and status and (result["worker"], setup) not in seen:
                seen.add((result["worker"], setup))
                status(f"on {result['worker']}: {setup}")
                status(differences(client_env, result["environment"], result["worker"]))

        def no_sandbox(err: Any) -> SandboxMissing:
            return SandboxMissing(
                f"a worker cannot sandbox the student's kernel ({err}). The run stops here; every result "
                "graded so far is recorded, and a rerun goes on from there. Install bubblewrap on that "
                f"worker or remove it from the cluster ({UNSANDBOXED_CLUSTER})")

        def failed(student: str, why: Any) -> dict[str, Any]:
            """A result for a submission the grader, not the student, failed on (a rerun grades it again)."""
            return grader._empty(student) | {"status": "crashed", "detail": f"grading failed: {str(why)[:300]}"}

        def outcome(future: Any, student: str) -> dict[str, Any]:
            """The result of a finished task (its worker's reply, checked), or the reason there is none.

            Raises:
                CancelledError: the task was cancelled on the scheduler.
                SandboxMissing: its worker cannot sandbox (the run stops).
            """
            try:
                reply = future.result()
            except CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - the scheduler says why, as text
                try:
                    why = str(client.run_on_scheduler(_exception_text, future.key))
                except Exception:  # noqa: BLE001
                    why = f"{type(err).__name__}: {err}"
                if "KilledWorker" in why:
                    why = (f"the worker process ended each time it graded this submission ({RETRIES + 1} "
                           "workers; a rerun grades it again)")
                return failed(student, why)
            if isinstance(reply, dict) and reply.get("sandbox_missing"):
                raise no_sandbox(str(reply.get("error"))[:500])
            if isinstance(reply, dict) and "error" in reply:
                return failed(student, reply["error"])
            try:
                result = checked(reply, student, grader)
            except ValueError as err:
                return failed(student, err)
            say_setup(result)
            return result

        if preflight:
            import nbformat

            solution = nbformat.writes(grading.fill_release(grader.release, grader.source)).encode()
            for attempt in range(RETRIES + 1):
                future = submit(PREFLIGHT, solution, attempt)
                try:
                    result = outcome(future, PREFLIGHT)
                    break
                except CancelledError:
                    continue
                finally:
                    future.release()
            else:
                raise RuntimeError(f"the preflight was lost on the cluster {RETRIES + 1} times")
            check_preflight(a, result, f" on a worker ({result.get('worker', '?')})")

        queue = list(students)
        futures: dict[Any, str] = {}
        sent: dict[str, float] = {}  # student -> when its task was submitted
        attempts: dict[str, int] = {}  # student -> tasks cancelled on the scheduler
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
                future = submit(student, path.read_bytes(), attempts.get(student, 0))
                futures[future] = student
                sent[student] = time.perf_counter()
                pending.add(future)
            return known

        yield from top_up()
        for future in pending:
            student = futures.pop(future)
            try:
                result = outcome(future, student)
                if "task_seconds" in result:
                    # what the cluster added: scheduling, shipping the submission and the graded notebook back
                    overhead = time.perf_counter() - sent.pop(student) - result.pop("task_seconds")
                    result["dask_ms"] = round(1000 * overhead, 1)
            except SandboxMissing:
                raise
            except CancelledError as err:
                attempts[student] = attempts.get(student, 0) + 1
                if attempts[student] <= RETRIES + 1:  # not the student's doing: again
                    queue.insert(0, student)
                    yield from top_up()
                    continue
                result = failed(student, f"{type(err).__name__}: {err}")
            except Exception as err:  # noqa: BLE001 - one submission never stops the class
                result = failed(student, f"{type(err).__name__}: {err}")
            finally:
                future.release()
            data = result.pop("graded_bytes", None)
            if data is not None:
                work = Path(tempfile.mkdtemp(prefix="g", dir=grader.root))
                (work / "graded.ipynb").write_bytes(data)
                result["graded_notebook"] = str(work / "graded.ipynb")
            yield result
            yield from top_up()
    finally:
        try:
            client.unregister_worker_plugin(name)
        except Exception:  # noqa: BLE001 - not registered (the run stopped before), or the cluster is gone
            pass
        client.close()

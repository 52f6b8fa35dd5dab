"""The student's kernel: a plain IPython kernel with a memory cap.

``course-grade`` starts it as ``python -m course_utils.grader.kernel [--memory MB] -f CONNECTION_FILE``
(inside the sandbox when there is one, :mod:`course_utils.grader.sandbox`). It runs the student's
notebook and answers the checker's requests (:mod:`course_utils.grader.agent`); it never receives a hidden
test. Nothing in it defends the tests: they do not run here.

- The memory cap (``RLIMIT_DATA``) turns a memory bomb into ``MemoryError`` instead of taking the machine
  down; after a cell that ran out of memory the kernel ends itself, since libraries can be left broken by
  a failed allocation, and the grader starts a new one and runs the earlier cells again.
"""
from __future__ import annotations

import sys
from typing import Any


def lower_limit(which: int, value: int) -> None:
    """Lower the resource limit ``which`` (a ``resource.RLIMIT_*``) to ``value``, soft and hard (never raising a
    hard limit that is already lower)."""
    import resource

    soft, hard = resource.getrlimit(which)
    new_hard = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(which, (min(value, new_hard), new_hard))


def set_memory_limit(megabytes: int) -> None:
    """Cap this process's data segment at ``megabytes`` MB."""
    import resource

    lower_limit(resource.RLIMIT_DATA, megabytes * 1024 * 1024)


def _exit_on_memory_error(result: Any) -> None:
    if isinstance(getattr(result, "error_in_exec", None), MemoryError):
        import os
        import time

        sys.stdout.flush()
        sys.stderr.flush()
        time.sleep(0.3)  # let the error output reach the grader
        os._exit(3)


def main(argv: list[str] | None = None) -> None:
    """``python -m course_utils.grader.kernel [--memory MB] KERNEL-ARGS...``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--memory"]:
        set_memory_limit(int(args[1]))
        args = args[2:]
    if args[:1] == ["--rlimits"]:  # the fallback where no cgroup can be made (course_utils.grader.limits)
        from course_utils.grader.limits import Limits, apply_rlimits

        memory, pids, disk = (int(v) for v in args[1].split(","))
        apply_rlimits(Limits(memory_mb=memory, pids=pids, disk_mb=disk))
        args = args[2:]
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.log_connection_info = lambda: None  # the "NOTE: ... ipython kernel entry point" banner
    app.initialize(args)
    app.shell.events.register("post_run_cell", _exit_on_memory_error)
    app.start()


if __name__ == "__main__":
    main()

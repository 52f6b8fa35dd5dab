"""Where and how ``course-grade`` runs student code: a bubblewrap sandbox, a memory cap, a guarded kernel
that survives a kernel crash.

nbgrader itself (restoring the locked cells, scoring, writing the gradebook) runs in the grader's own
process; only the *kernel*, which runs the student's code and the tests, goes into the sandbox. The
kernel talks to nbgrader over Unix sockets in a folder of its own (ZeroMQ's ``ipc`` transport), so it
needs no network at all.

Inside the sandbox (``bwrap``, Debian package ``bubblewrap``) the kernel sees:

- read-only: the operating system (``/usr``, ``/etc``, ...), the Python installation and its
  packages, and ``course_utils``;
- read-write: its own working folder (holding only the notebook being graded), its socket folder, and
  an empty ``/tmp`` and ``$HOME`` that vanish with it;
- nothing else: not ``solutions/``, not the gradebook, not ``submitted/`` or other students' files, not
  the instructor's home;
- no network (a network namespace of its own with only loopback), no other processes (a PID
  namespace, so every process it starts dies with it), no capabilities, a new session (no terminal).

Where bubblewrap is missing or cannot create namespaces, grading still works, unsandboxed, and
``course-grade`` says so.

This module is loaded by ``nbgrader autograde`` through the course copy's ``nbgrader_config.py``
(:func:`nbgrader_config_lines`); its settings come from environment variables set by ``course-grade``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute

#: environment variables through which ``course-grade`` configures the kernels nbgrader starts
ENV_SANDBOX = "COURSE_GRADE_SANDBOX"      # "bwrap" or "none"
ENV_MEMORY = "COURSE_GRADE_MEMORY_MB"     # memory cap of the kernel (RLIMIT_DATA), "0" for none
ENV_SOCKETS = "COURSE_GRADE_SOCKETS"      # the folder for the kernel's sockets and connection file

KERNEL_DIED = ("KernelDied", "the kernel stopped while running this cell (it exited, was killed, ran out of "
               "memory or crashed); the grader restarted it and re-ran the cells before this one")

_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt")


def bwrap_path() -> str | None:
    """The ``bwrap`` executable on PATH, or None."""
    return shutil.which("bwrap")


@lru_cache(maxsize=1)
def sandbox_problem() -> str | None:
    """Why bubblewrap cannot sandbox here (None when it can): it is missing, or it cannot create the
    namespaces (some containers forbid them)."""
    exe = bwrap_path()
    if exe is None:
        return "bubblewrap (bwrap) is not installed"
    probe = [exe, *_mounts(Path("/"), []), "--unshare-all", "--die-with-parent", "--cap-drop", "ALL",
             sys.executable, "-c", "import socket"]
    try:
        proc = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap failed to start: {err}"
    if proc.returncode != 0:
        return f"bwrap cannot create a sandbox here: {(proc.stderr or proc.stdout).strip()[:300]}"
    return None


def _python_roots() -> list[Path]:
    """The folders the kernel's Python needs: its installation, the environment's packages, and the
    source folder of an editable ``course_utils`` (only that package, not the repository around it)."""
    import course_utils

    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(course_utils.__file__).resolve().parent}
    for entry in sys.path:
        path = Path(entry).resolve() if entry else None
        if path and path.is_dir() and "site-packages" in path.parts:
            roots.add(path)
    return sorted(roots)


def _mounts(workdir: Path, rw: list[Path]) -> list[str]:
    args = []
    for top in _SYSTEM_DIRS:
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/tmp/home"]
    for root in _python_roots():
        args += ["--ro-bind", str(root), str(root)]
    for path in rw:
        args += ["--bind", str(path), str(path)]
    args += ["--chdir", str(workdir), "--setenv", "HOME", "/tmp/home", "--setenv", "MPLCONFIGDIR", "/tmp/home",
             "--setenv", "IPYTHONDIR", "/tmp/home/.ipython", "--setenv", "TMPDIR", "/tmp"]
    return args


def bwrap_command(command: list[str], workdir: Path, sockets: Path) -> list[str]:
    """``command`` wrapped in bubblewrap as described in the module docstring."""
    exe = bwrap_path()
    if exe is None:
        raise RuntimeError("bwrap is not installed")
    return [exe, *_mounts(workdir, [workdir.resolve(), sockets.resolve()]), "--unshare-all", "--die-with-parent",
            "--new-session", "--cap-drop", "ALL", "--unsetenv", "JPY_PARENT_PID", "--", *command]


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts :mod:`course_utils.kernel_guard` instead of ``ipykernel_launcher``,
    with a memory cap, inside bubblewrap when ``COURSE_GRADE_SANDBOX=bwrap``; over Unix sockets."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        sockets = os.environ.get(ENV_SOCKETS)
        if sockets:
            self.transport = "ipc"
            self.ip = str(Path(sockets) / "k")
            self.connection_file = str(Path(sockets) / "kernel.json")

    async def interrupt_kernel(self) -> None:  # type: ignore[override]
        """Interrupt by a message on the control channel: a signal would reach bubblewrap, not the kernel."""
        if self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"
        await AsyncKernelManager.interrupt_kernel(self)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        if "ipykernel_launcher" in cmd:
            i = cmd.index("ipykernel_launcher")
            memory = os.environ.get(ENV_MEMORY, "0")
            guard = ["course_utils.kernel_guard"] + (["--memory", memory] if memory not in ("", "0") else [])
            cmd = cmd[:i] + guard + cmd[i + 1:]
        if os.environ.get(ENV_SANDBOX) == "bwrap":
            workdir = Path((self._launch_args or {}).get("cwd") or os.getcwd())
            cmd = bwrap_command(cmd, workdir, Path(os.environ[ENV_SOCKETS]))
        return cmd


class GuardedExecute(Execute):
    """nbgrader's ``Execute`` with :class:`SandboxKernelManager`, that survives a kernel that dies.

    When a cell kills the kernel (``os._exit``, a signal, a segfault, the memory cap), that cell gets an
    error output (so its exercise scores 0), a new kernel is started, the cells before it are run again
    (their outputs from the first run are kept), and grading goes on with the next cell.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(*args, **kwargs)
        self.kernel_deaths: list[int] = []

    async def async_execute_cell(self, cell: NotebookNode, cell_index: int, execution_count: int | None = None,
                                 store_history: bool = True) -> NotebookNode:
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except DeadKernelError:
            self.kernel_deaths.append(cell_index)
            ename, evalue = KERNEL_DIED
            cell.outputs.append(NotebookNode(output_type="error", ename=ename, evalue=evalue,
                                             traceback=[f"{ename}: {evalue}"]))
            await self._restart_and_replay(cell_index)
            return cell

    execute_cell = run_sync(async_execute_cell)  # the base class binds its own coroutine

    async def _restart_and_replay(self, upto: int) -> None:
        import copy

        await self._async_cleanup_kernel()
        self.km = self.create_kernel_manager()
        await self.async_start_new_kernel()
        await self.async_start_new_kernel_client()
        for index, earlier in enumerate(self.nb.cells[:upto]):
            if earlier.cell_type != "code" or index in self.kernel_deaths:
                continue
            try:
                await super().async_execute_cell(copy.deepcopy(earlier), index, None, False)
            except DeadKernelError:  # it died again, on a cell that ran before: skip that cell from now on
                self.kernel_deaths.append(index)
                await self._restart_and_replay(upto)
                return


def nbgrader_config_lines() -> str:
    """Lines for a course copy's ``nbgrader_config.py``: autograde with :class:`GuardedExecute` in place of
    nbgrader's ``Execute`` (its configuration, such as ``Execute.timeout``, still applies)."""
    return (
        "\n# added by course-grade: the guarded, sandboxed kernel (course_utils.sandbox)\n"
        "from nbconvert.preprocessors import ClearMetadataPreprocessor as _ClearMetadata\n"
        "from nbgrader import preprocessors as _pp\n"
        "from course_utils.sandbox import GuardedExecute as _GuardedExecute\n"
        "c.Autograde.autograde_preprocessors = [_GuardedExecute, _pp.IgnorePattern, _ClearMetadata, _pp.LimitOutput,\n"
        "                                       _pp.SaveAutoGrades, _pp.AssignLatePenalties, _pp.CheckCellMetadata]\n"
    )

"""Where the student's kernel runs: a bubblewrap sandbox.

Only the *kernel*, which runs the student's code, goes into the sandbox; the checker that runs the tests
(:mod:`course_utils.grader.check`) runs in the grader's own process. The kernel talks to the checker over
Unix sockets in a folder of its own (ZeroMQ's ``ipc`` transport), so it needs no network at all.

Inside the sandbox (``bwrap``, Debian package ``bubblewrap``) the kernel sees:

- read-only: the operating system (``/usr``, ...; of ``/etc`` and ``/opt`` only what every user of the
  machine may read: :func:`public_binds`, so not ``/etc/shadow`` or a host key, which the kernel, running
  as the grader's user, could otherwise read when that user owns them), the Python installation and its
  packages, and ``course_utils``;
- read-write: its own working folder (holding only the student's notebook, without hidden tests; with
  ``--disk`` a tmpfs of that size where the notebook is read-only), its socket folder (only until its
  sockets exist, when the grader runs as root: :func:`lock_folder`), and an empty ``/tmp``, ``/dev/shm``
  and ``$HOME`` that vanish with it (tmpfs of ``--disk`` MB each, 256 MB without);
- nothing else: not ``solutions/``, not the gradebook, not ``submitted/`` or other students' files, not
  the instructor's home;
- no network (a network namespace of its own with only loopback), no other processes (a PID
  namespace, so every process it starts dies with it), no capabilities, a new session (no terminal),
  and a clean environment (:func:`kernel_env`), not the grader's variables.

Where bubblewrap is missing or cannot create namespaces, grading still works, unsandboxed, and
``course-grade`` says so.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from functools import cache, lru_cache
from pathlib import Path

#: the size of the kernel's /tmp (held in memory)
TMP_BYTES = 256 * 2**20
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt")
#: system folders of which the kernel sees only what every user may read (secrets live there)
_PUBLIC_ONLY = ("/etc", "/opt")


def _public(path: Path) -> bool:
    """Whether every entry under ``path`` (itself included) is readable by every user (folders also
    searchable); links count as public (what they point to is checked where it is mounted)."""
    try:
        st = path.lstat()
    except OSError:
        return False
    if stat.S_ISLNK(st.st_mode):
        return True
    if stat.S_ISDIR(st.st_mode):
        if st.st_mode & 0o005 != 0o005:
            return False
        try:
            return all(_public(child) for child in path.iterdir())
        except OSError:
            return False
    return bool(st.st_mode & 0o004) and stat.S_ISREG(st.st_mode)


@cache
def public_binds(top: str) -> tuple[str, ...]:
    """bwrap arguments that show, read-only, the part of folder ``top`` that every user may read: a folder
    whose whole tree is public is bound as one; otherwise it is made empty and its public entries are
    bound one by one (links are kept as links; sockets, devices and private files are left out)."""
    args: list[str] = []

    def visit(path: Path) -> None:
        try:
            st = path.lstat()
        except OSError:
            return
        if stat.S_ISLNK(st.st_mode):
            args.extend(["--symlink", os.readlink(path), str(path)])
        elif _public(path):
            args.extend(["--ro-bind", str(path), str(path)])
        elif stat.S_ISDIR(st.st_mode) and st.st_mode & 0o005 == 0o005:
            args.extend(["--dir", str(path)])
            try:
                children = sorted(path.iterdir())
            except OSError:
                return
            for child in children:
                visit(child)

    visit(Path(top))
    return tuple(args)


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


def _mounts(workdir: Path, rw: list[Path], disk_mb: int = 0) -> list[str]:
    args = []
    tmp_bytes = disk_mb * 2**20 if disk_mb else TMP_BYTES
    for top in _SYSTEM_DIRS:
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir() and top in _PUBLIC_ONLY:
            args += list(public_binds(top))
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_bytes), "--tmpfs", "/dev/shm",
             "--size", str(tmp_bytes), "--tmpfs", "/tmp", "--dir", "/tmp/home"]
    for root in _python_roots():
        args += ["--ro-bind", str(root), str(root)]
    for path in rw:
        if disk_mb and path == workdir.resolve():
            # the working folder is a tmpfs of disk_mb MB that shows the files it holds now, read-only
            args += ["--size", str(disk_mb * 2**20), "--tmpfs", str(path)]
            args += [a for f in sorted(path.iterdir()) if f.is_file() for a in ("--ro-bind", str(f), str(f))]
        else:
            args += ["--bind", str(path), str(path)]
    args += ["--chdir", str(workdir), "--setenv", "HOME", "/tmp/home", "--setenv", "MPLCONFIGDIR", "/tmp/home",
             "--setenv", "IPYTHONDIR", "/tmp/home/.ipython", "--setenv", "TMPDIR", "/tmp"]
    return args


NOBODY = 65534


def lock_folder(path: Path, locked: bool) -> None:
    """Make the kernel's socket folder read-only to it once its sockets exist (``locked``), writable again
    before a new kernel starts. The sandboxed kernel runs as the grader's user without capabilities: as
    root, the folder is given to ``nobody`` with mode 0555, which the kernel can neither write nor change
    back; as another user this is not possible, and only ``RLIMIT_FSIZE`` bounds what it writes there."""
    if os.geteuid() != 0:
        return
    try:
        if locked:
            os.chown(path, NOBODY, NOBODY)
            os.chmod(path, 0o555)
        else:
            os.chown(path, 0, 0)
            os.chmod(path, 0o700)
    except OSError:
        pass


def bwrap_command(command: list[str], workdir: Path, sockets: Path, disk_mb: int = 0) -> list[str]:
    """``command`` wrapped in bubblewrap as described in the module docstring; with ``disk_mb``, ``/tmp`` and
    the working folder are tmpfs of that many MB each."""
    exe = bwrap_path()
    if exe is None:
        raise RuntimeError("bwrap is not installed")
    return [exe, *_mounts(workdir, [workdir.resolve(), sockets.resolve()], disk_mb), "--unshare-all",
            "--die-with-parent",
            "--new-session", "--cap-drop", "ALL", "--unsetenv", "JPY_PARENT_PID", "--", *command]


#: variables the kernel keeps from the grader's environment (thread counts, locale, and OpenBLAS's
#: processor settings, which some machines need for correct results); everything else is dropped
KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                  "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PYDEVD_DISABLE_FILE_VALIDATION")


def kernel_env(home: Path) -> dict[str, str]:
    """The student kernel's whole environment: :data:`KEPT_VARIABLES` and a home of its own."""
    env = {k: os.environ[k] for k in KEPT_VARIABLES if k in os.environ}
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(HOME=str(home), MPLCONFIGDIR=str(home), IPYTHONDIR=str(home / ".ipython"),
               PYDEVD_DISABLE_FILE_VALIDATION="1", PYTHONNOUSERSITE="1")
    return env

"""Resource limits of a student's kernel, for the kernel and every process it starts together.

Where the machine allows it, each kernel gets a control group of its own (cgroup v2, or v1 where the
machine mounts v1 controllers), which the kernel is placed in before it runs anything:

- ``memory``: ``memory.max`` (v1 ``memory.limit_in_bytes``) counts everything the kernel's processes hold:
  anonymous memory, shared and file mappings (``mmap``), files in its ``/tmp`` and working folder (tmpfs),
  and its children; swap is not allowed. Over it, the kernel is killed (the grader restarts it and goes on).
- ``pids``: ``pids.max`` processes and threads; beyond it ``fork`` fails in the student's cell.
- ``cpu``: ``cpu.max`` (v1 ``cpu.cfs_quota_us``) ``--cpus`` CPUs, so one submission cannot slow its
  classmates down.

Elsewhere (no cgroup file system the grader can write) the fallback is per process (``setrlimit`` in the
kernel, inherited by its children): ``RLIMIT_AS`` (address space: ``--memory`` plus
:data:`AS_HEADROOM_MB` for what libraries reserve without using), ``RLIMIT_NPROC`` (``--pids`` more
processes; Linux does not apply it to root) and ``RLIMIT_FSIZE`` (no file larger than ``--disk``); the CPU
is then not limited. ``course-grade autograde`` says which limits are in force before it starts.

Disk, both ways: in the sandbox the kernel's ``/tmp`` and working folder are tmpfs of ``--disk`` MB each, so
filling them is ``OSError: No space left on device`` in the student's own cell, and ``RLIMIT_FSIZE`` keeps
any file elsewhere (the socket folder) under ``--disk`` MB.

Run as ``python -m course_utils.grader.limits --join DIR [--join DIR ...] -- COMMAND...``: the process
moves itself into each cgroup ``DIR`` and then becomes ``COMMAND``.
"""
from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: address space allowed on top of ``--memory`` in the rlimit fallback (thread stacks and allocator arenas
#: that PyTorch, NumPy and OpenBLAS reserve without using)
AS_HEADROOM_MB = 1024
CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


@dataclass(frozen=True)
class Limits:
    """Per-kernel limits; 0 means none."""

    memory_mb: int = 4096
    cpus: float = 1.0
    pids: int = 256
    disk_mb: int = 512


@dataclass(frozen=True)
class Mechanism:
    """How the limits are enforced: "cgroup2", "cgroup1" or "rlimits", and the cgroup folders to make
    each kernel's groups under (one per controller for v1, one for v2)."""

    kind: str
    bases: tuple[Path, ...] = ()
    problem: str = ""


def _own_cgroup_v2() -> Path | None:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return CGROUP_ROOT / line[3:].lstrip("/")
    except OSError:
        pass
    return None


def _try_v2() -> tuple[Mechanism | None, str]:
    if not (CGROUP_ROOT / "cgroup.controllers").is_file():
        return None, "no cgroup v2 file system at /sys/fs/cgroup"
    own = _own_cgroup_v2()
    if own is None:
        return None, "this process's cgroup v2 is unknown"
    wanted = {"memory", "pids", "cpu"}
    enable = " ".join(f"+{c}" for c in sorted(wanted))
    try:
        available = set((own / "cgroup.controllers").read_text().split())
        if not wanted <= available:
            return None, f"cgroup v2 controllers {sorted(wanted - available)} are not delegated to {own}"
        if not wanted <= set((own / "cgroup.subtree_control").read_text().split()):
            # a cgroup with processes cannot give controllers to children ("no internal processes"): move the
            # processes of ours into a leaf first, as a container's init does (a delegated scope holds only us)
            leaf = own / "course-grade-leaf"
            leaf.mkdir(exist_ok=True)
            for pid in (own / "cgroup.procs").read_text().split():
                try:
                    (leaf / "cgroup.procs").write_text(pid)
                except OSError:
                    pass
            (own / "cgroup.subtree_control").write_text(enable)
        base = own / "course-grade"
        base.mkdir(exist_ok=True)
        (base / "cgroup.subtree_control").write_text(enable)
    except OSError as err:
        return None, f"cgroup v2 at {own} is not writable here ({err.strerror or err})"
    return Mechanism("cgroup2", (base,)), ""


def _own_cgroups_v1() -> dict[str, str]:
    """controller -> this process's cgroup path in that v1 hierarchy."""
    own = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(","):
                own[controller] = path
    except (OSError, ValueError):
        pass
    return own


def _try_v1() -> tuple[Mechanism | None, str]:
    bases = []
    own = _own_cgroups_v1()
    for controller in ("memory", "pids", "cpu"):
        top = CGROUP_ROOT / controller
        if not (top / "cgroup.procs").is_file():
            return None, f"no cgroup v1 {controller} controller at {top}"
        # under the grader's own group, so kernels stay inside the limits of the container, job or slice it
        # runs in (the top of the mount is that group when the container has a cgroup namespace)
        here = top / own.get(controller, "/").lstrip("/")
        top = here if (here / "cgroup.procs").is_file() else top
        base = top / "course-grade"
        try:
            base.mkdir(exist_ok=True)
            probe = base / f"probe-{os.getpid()}"
            probe.mkdir(exist_ok=True)
            probe.rmdir()
        except OSError as err:
            return None, f"cgroup v1 {controller} is not writable here ({err.strerror or err})"
        bases.append(base)
    return Mechanism("cgroup1", tuple(bases)), ""


@lru_cache(maxsize=4)
def mechanism(requested: str = "auto") -> Mechanism:
    """The best mechanism this machine allows (``requested``: "auto", "cgroup" or "rlimits").

    Raises:
        RuntimeError: "cgroup" was requested and no cgroup can be made here.
    """
    if requested == "rlimits":
        return Mechanism("rlimits", problem="--limits rlimits")
    problems = []
    for attempt in (_try_v2, _try_v1):
        found, problem = attempt()
        if found:
            problem = _probe(found)
            if not problem:
                return found
        problems.append(problem)
    if requested == "cgroup":
        raise RuntimeError(f"--limits cgroup: {'; '.join(problems)}")
    return Mechanism("rlimits", problem="; ".join(problems))


def _probe(mech: Mechanism) -> str:
    """Why a process cannot be started in a group of ``mech`` with limits set ("" when it can)."""
    import subprocess

    try:
        group = KernelGroup(mech, Limits(memory_mb=512, cpus=1, pids=64))
    except OSError as err:
        return f"{mech.kind}: cannot make a group ({err.strerror or err})"
    try:
        proc = subprocess.run([*group.launcher(), sys.executable, "-c", "pass"], capture_output=True, text=True,
                              timeout=120)
        if proc.returncode != 0:
            return f"{mech.kind}: cannot start a process in a group ({proc.stderr.strip()[-200:]})"
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{mech.kind}: cannot start a process in a group ({err})"
    finally:
        group.remove()
    return ""


def describe(limits: Limits, mech: Mechanism, sandboxed: bool) -> str:
    """One line that says which limits are in force."""
    disk = (f"/tmp and working folder {limits.disk_mb} MB each (tmpfs)" if sandboxed
            else f"no file over {limits.disk_mb} MB (no sandbox: the disk in all is not limited)")
    if mech.kind.startswith("cgroup"):
        cpu = f"{limits.cpus:g} CPU" if limits.cpus else "CPU not limited"
        return (f"limits per kernel ({'cgroup v2' if mech.kind == 'cgroup2' else 'cgroup v1'}): memory "
                f"{limits.memory_mb} MB with its children, mappings and tmpfs files, {limits.pids} processes, "
                f"{cpu}, {disk}")
    return (f"limits per kernel (rlimits, per process: {mech.problem}): address space "
            f"{limits.memory_mb + AS_HEADROOM_MB} MB, {limits.pids} more processes (not applied to root), "
            f"{disk}; CPU not limited")


class KernelGroup:
    """The cgroup(s) of one kernel: made before it starts, killed and removed after it stops."""

    def __init__(self, mech: Mechanism, limits: Limits) -> None:
        self.dirs: list[Path] = []
        name = f"k-{uuid.uuid4().hex[:12]}"
        try:
            for base in mech.bases:
                folder = base / name
                folder.mkdir()
                self.dirs.append(folder)
                self._configure(folder, mech.kind, limits)
        except OSError:
            self.remove()
            raise

    @staticmethod
    def _write(path: Path, value: str) -> None:
        if path.exists():
            path.write_text(value)

    def _configure(self, folder: Path, kind: str, limits: Limits) -> None:
        mem = str(limits.memory_mb * 2**20) if limits.memory_mb else None
        quota = str(int(limits.cpus * PERIOD_US)) if limits.cpus else None
        if kind == "cgroup2":
            if mem:
                self._write(folder / "memory.max", mem)
                self._write(folder / "memory.swap.max", "0")
            if limits.pids:
                self._write(folder / "pids.max", str(limits.pids))
            if quota:
                self._write(folder / "cpu.max", f"{quota} {PERIOD_US}")
            return
        controller = next(c for c in ("memory", "pids", "cpu") if folder.is_relative_to(CGROUP_ROOT / c))
        if controller == "memory" and mem:
            (folder / "memory.limit_in_bytes").write_text(mem)
            try:
                self._write(folder / "memory.memsw.limit_in_bytes", mem)  # no swap either (when accounted)
            except OSError:
                pass
        elif controller == "pids" and limits.pids:
            (folder / "pids.max").write_text(str(limits.pids))
        elif controller == "cpu" and quota:
            (folder / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (folder / "cpu.cfs_quota_us").write_text(quota)

    def launcher(self) -> list[str]:
        """The command prefix that puts a process into these groups."""
        joins = [arg for d in self.dirs for arg in ("--join", str(d))]
        return [sys.executable, "-m", "course_utils.grader.limits", *joins, "--"]

    def peak_memory_mb(self) -> float | None:
        """The most memory the group has held (None when not recorded)."""
        for d in self.dirs:
            for name in ("memory.peak", "memory.max_usage_in_bytes"):
                try:
                    return int((d / name).read_text()) / 2**20
                except (OSError, ValueError):
                    continue
        return None

    def remove(self) -> None:
        """Kill whatever is left in the groups and remove them."""
        for d in self.dirs:
            try:
                if (d / "cgroup.kill").exists():
                    (d / "cgroup.kill").write_text("1")
                else:
                    for pid in (d / "cgroup.procs").read_text().split():
                        try:
                            os.kill(int(pid), 9)
                        except (ProcessLookupError, ValueError):
                            pass
            except OSError:
                pass
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)  # its last processes are still exiting
        self.dirs = []


def apply_rlimits(limits: Limits) -> None:
    """The fallback, in the kernel's own process (inherited by its children)."""
    import resource

    from course_utils.grader.kernel import lower_limit as lower

    if limits.memory_mb:
        lower(resource.RLIMIT_AS, (limits.memory_mb + AS_HEADROOM_MB) * 2**20)
    if limits.pids:
        running = _processes_of_this_user()
        lower(resource.RLIMIT_NPROC, running + limits.pids)
    if limits.disk_mb:
        lower(resource.RLIMIT_FSIZE, limits.disk_mb * 2**20)


def _processes_of_this_user() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass
    return count


def main(argv: list[str]) -> None:
    """``--join DIR ... -- COMMAND``: join each cgroup, then exec the command."""
    split = argv.index("--")
    joins, command = argv[:split], argv[split + 1:]
    for flag, folder in zip(joins[::2], joins[1::2], strict=True):
        assert flag == "--join"
        Path(folder, "cgroup.procs").write_text(str(os.getpid()))
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])

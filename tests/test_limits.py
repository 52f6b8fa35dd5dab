"""Grading under hostile load (issue 18): the attacks of ``tests/grading_corpus.py`` (LOAD_CASES) graded in
one run with two honest classmates, once with the best limits this machine allows (a cgroup per kernel
where it can make one) and once with the per-process fallback (``--limits rlimits``). Each attack gets its
expected tests lost and status for that mechanism, the classmates keep exactly 100, the graded notebooks
stay small, and the grader's checker processes stay under :data:`WORKER_PEAK_MB` of memory (their peak
resident set, read from /proc while the run goes on). Time is not asserted: the CPU burners' effect on
their classmates is measured by benchmarks/hostile_load.py.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import grading_corpus as corpus
import pytest
from conftest import ROOT, release_path, source_path

from course_utils import grading
from course_utils.grader import limits as L
from course_utils.grader.autograde import autograde
from course_utils.grader.collect import release as make_release

pytestmark = pytest.mark.slow
A = corpus.A
WORKER_PEAK_MB = 1024
CLASSMATES = ("classmate_a", "classmate_b")


class PeakMemory:
    """The largest resident set (VmHWM) of this process's checker workers, polled every 0.2 s."""

    def __init__(self) -> None:
        self.peak: dict[int, int] = {}
        self.running = True
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        me = str(os.getpid())
        while self.running:
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    status = Path(f"/proc/{entry}/status").read_text()
                    if f"PPid:\t{me}\n" not in status or b"course_utils.grader.worker" not in \
                            Path(f"/proc/{entry}/cmdline").read_bytes():
                        continue
                    hwm = int(status.split("VmHWM:")[1].split()[0]) // 1024
                    self.peak[int(entry)] = max(self.peak.get(int(entry), 0), hwm)
                except (OSError, IndexError, ValueError):
                    continue
            time.sleep(0.2)

    def stop(self) -> int:
        self.running = False
        self.thread.join(timeout=5)
        return max(self.peak.values(), default=0)


def _expected(case: corpus.LoadCase, kind: str) -> tuple[tuple[str, ...], str | None]:
    if kind.startswith("cgroup"):
        return case.cgroup
    if os.getuid() != 0 and case.rlimits_user is not None:
        return case.rlimits_user
    return case.rlimits


@pytest.mark.parametrize("mode", ["auto", "rlimits"])
def test_hostile_load(tmp_path, mode):
    from course_utils.grader.sandbox import sandbox_problem

    problem = sandbox_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI must grade in the sandbox (.ci/run installs bubblewrap): {problem}")
        pytest.skip(f"the disk limits need the sandbox: {problem}")
    mech = L.mechanism(mode)
    print(f"\n{mode}: {L.describe(L.Limits(**corpus.LOAD_LIMITS), mech, True)}")
    course = grading.copy_course(ROOT, tmp_path / "course")
    make_release(course, [A])
    source, release = grading.read_notebook(source_path(A)), grading.read_notebook(release_path(A))
    honest = grading.strip_solution_markers(grading.find_cell(source, "xor_network").source)
    for case in corpus.LOAD_CASES:
        nb = grading.fill_release(release, source, {"xor_network": case.code + "\n" + honest})
        grading.submit(course, A, case.name, {f"{A}.ipynb": nb})
    for name in CLASSMATES:
        grading.submit(course, A, name, {f"{A}.ipynb": grading.fill_release(release, source)})
    monitor = PeakMemory()
    try:
        results = {r["student"]: r for r in autograde(
            course, A, jobs=2, timeout=60, sandbox="bwrap", memory=corpus.LOAD_LIMITS["memory_mb"],
            limits={"per_kernel": corpus.LOAD_LIMITS, "mode": mode})}
    finally:
        peak = monitor.stop()
    points = grading.max_points(source)
    wrong = []
    for case in corpus.LOAD_CASES:
        r = results[case.name]
        lose, status = _expected(case, mech.kind)
        want = {gid: 0.0 if gid in lose else pts for gid, pts in points.items()}
        if r["cells"] != want or (status is not None and r["status"] != status):
            lost = sorted(g for g, v in r["cells"].items() if v < points[g])
            wrong.append(f"{case.name}: {r['status']} losing {lost}, expected {status or 'any status'} losing "
                         f"{sorted(lose)} ({r['detail']}; {r['messages']})")
    assert not wrong, f"{mech.kind}:\n" + "\n".join(wrong)
    for name in CLASSMATES:
        assert (results[name]["score"], results[name]["status"]) == (100.0, "graded"), results[name]
    print(f"{mode} ({mech.kind}): checker peak RSS {peak} MB; " +
          ", ".join(f"{n} {results[n]['status']} {results[n]['score']:g}" for n in results))
    assert 0 < peak < WORKER_PEAK_MB, f"a checker process held {peak} MB"
    for name, char in (("output_flood", "x"), ("output_once", "y"), ("output_png", "A")):
        graded = (course / "autograded" / name / A / f"{A}.ipynb").read_text()
        assert len(graded) < 1_000_000, f"{name}: a graded notebook of {len(graded)} bytes"
        # what arrived is cut with a note (one print of 100 MB can fail in the kernel itself under RLIMIT_AS:
        # then nothing arrives, and the student loses only their output)
        assert char * 6_000_000 not in graded, name
        if char * 1000 in graded or name in ("output_flood", "output_png"):
            assert "course-grade kept" in graded or "output cut by the grader" in graded, name


def test_the_limits_are_said():
    lim = L.Limits(memory_mb=768, cpus=1, pids=64, disk_mb=64)
    line = L.describe(lim, L.Mechanism("cgroup1", ()), True)
    assert line.startswith("limits per kernel (cgroup v1): memory 768 MB with its children") and "64 processes" \
        in line and "1 CPU" in line and "/tmp and working folder 64 MB each (tmpfs)" in line, line
    line = L.describe(lim, L.mechanism("rlimits"), False)
    assert line.startswith("limits per kernel (rlimits, per process: --limits rlimits): address space "
                           f"{768 + L.AS_HEADROOM_MB} MB") and "CPU not limited" in line, line
    assert "no file over 64 MB" in line, line

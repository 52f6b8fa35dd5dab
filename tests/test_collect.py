"""``course-grade collect``: one rule per format decides whose a file is (issue 18), sizes are bounded while
reading, and nothing is written outside ``submitted/``. The bundled example archives (examples/lms/) are
what examples/make_lms_archives.py writes, and each format collects the same class from them.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import grading_corpus as corpus
import pytest
from conftest import ROOT

from course_utils import grading
from course_utils.grader import collect as C

A = "01_perceptron_xor"
EXAMPLES = ROOT / "examples"
NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(autouse=True)
def _tool_path(monkeypatch):
    # nbgrader's gradebook runs alembic from the environment's bin/, as course-grade arranges
    monkeypatch.setenv("PATH", grading.tool_env()["PATH"])


def _lms():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import make_lms_archives
    finally:
        sys.path.remove(str(EXAMPLES))
    return make_lms_archives


def _course(tmp: Path) -> Path:
    """The smallest course collect works in: its nbgrader_config.py (the gradebook is made on first use)."""
    course = tmp / "course"
    course.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    return course


def _zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return path


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_example_archives_are_up_to_date():
    lms = _lms()
    for archive, members in lms.archives().items():
        path = lms.OUT / archive
        assert path.is_file(), f"{path} is missing: run python examples/make_lms_archives.py"
        with zipfile.ZipFile(path) as zf:
            have = {i.filename: zf.read(i) for i in zf.infolist()}
        assert have == members, f"{archive} differs from make_lms_archives.py (run it): " \
                                f"{sorted(set(have) ^ set(members)) or 'contents'}"
    assert {p.name for p in lms.OUT.iterdir()} == set(lms.archives())


@pytest.mark.parametrize("fmt", C.FORMATS)
def test_each_format_collects_the_example_class(tmp_path, fmt):
    from nbgrader.api import Gradebook

    lms = _lms()
    course = _course(tmp_path)
    students, unmatched = C.collect(course, A, lms.OUT / f"{fmt}.zip", fmt)
    ids = {s: s if fmt == "folder" else str(uid) for s, (uid, *_rest) in lms.STUDENTS.items()}
    assert students == sorted(ids.values())
    assert unmatched == {"folder": [], "canvas": ["erin_1005_5005_notes.pdf"],
                         "moodle": ["Bob Baker_1002_assignsubmission_onlinetext_/onlinetext.html"]}[fmt]
    for name, student in ids.items():
        got = (course / "submitted" / student / A / f"{A}.ipynb").read_bytes()
        assert got == lms.notebook(name), (fmt, name)
    with Gradebook(grading.gradebook_url(course)) as gb:
        alice = gb.find_student(ids["alice"])
        assert (alice.first_name, alice.last_name) == {"moodle": ("Alice", "Archer"), "canvas": (None, "alice"),
                                                       "folder": (None, None)}[fmt]
    # the same archive unpacked: the same class
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(lms.OUT / f"{fmt}.zip") as zf:
        zf.extractall(unpacked)
    assert C.collect(_course(tmp_path / "again"), A, unpacked, fmt) == (students, unmatched)


@pytest.mark.parametrize("case", corpus.ARCHIVE_CASES, ids=lambda c: c.name)
def test_identity_comes_from_the_lms_structure(tmp_path, case):
    def content(text: str) -> str:
        return json.dumps(NOTEBOOK | {"metadata": {"owner": text[3:]}}) if text.startswith("NB:") else text

    archive = _zip(tmp_path / "upload.zip", {name: content(text) for name, text in case.members.items()})
    course = _course(tmp_path)
    (tmp_path / "outside").mkdir()
    before = _files(tmp_path)
    students, unmatched = C.collect(course, A, archive, case.fmt)
    assert students == sorted(case.collected), (students, unmatched)
    for student, member in case.collected.items():
        got = (course / "submitted" / student / A / f"{A}.ipynb").read_text()
        assert got == content(case.members[member]), (student, member)
    for reason in case.unmatched:
        assert any(reason in line for line in unmatched), (reason, unmatched)
    written = _files(tmp_path) - before
    assert all(p.startswith("course/submitted/") or p == "course/gradebook.db" for p in written), written
    # every entry is either collected or reported by its name (nothing silently dropped)
    for member in case.members:
        assert member in case.collected.values() or any(member in u for u in unmatched), (member, unmatched)


def test_an_entry_is_collected_by_the_rule_and_nothing_else():
    entries = [C.Entry(name, 1, lambda: None) for name in (
        "alice_1_2_x.ipynb", "alice_LATE_1_3_y.ipynb", "alice_x.ipynb", "_1_2_x.ipynb", "bob_1_2_sub/x.ipynb")]
    matched, unmatched = C.match(iter(entries), "canvas")
    assert matched == {} and any("1: 2 notebooks" in u for u in unmatched), unmatched
    assert sum("not <name>_" in u for u in unmatched) == 3, unmatched
    with pytest.raises(ValueError, match="unknown format"):
        C.match(iter([]), "blackboard")


def test_a_zip_bomb_is_an_invalid_file_in_bounded_memory(tmp_path):
    # 1 GB of spaces in one member (about 1 MB compressed), declared honestly; and a member whose headers
    # declare 1 kB but whose data inflates to 200 MB
    archive = tmp_path / "bombs.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("bomb.ipynb", "w", force_zip64=True) as member:
            for _ in range(1000):
                member.write(b" " * 1_000_000)
        with zf.open("liar.ipynb", "w", force_zip64=True) as member:
            for _ in range(200):
                member.write(b" " * 1_000_000)
        zf.writestr("honest.ipynb", json.dumps(NOTEBOOK))
    _declare_size(archive, "liar.ipynb", 1000)
    course = _course(tmp_path)
    script = (f"import sys; from pathlib import Path; from course_utils.grader.collect import collect; "
              f"s, u = collect(Path({str(course)!r}), {A!r}, Path({str(archive)!r})); print(s); print(u); "
              # VmHWM: this process's own peak (ru_maxrss would count the pytest process it was forked from)
              "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env=grading.tool_env(), cwd=ROOT)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    students, unmatched, peak_kb = proc.stdout.strip().splitlines()[-3:]
    assert students == "['bomb', 'honest', 'liar']", proc.stdout
    assert "bomb.ipynb (bomb: too large: 1000.0 MB, over the limit of 20 MB" in unmatched, unmatched
    assert "liar.ipynb (liar: " in unmatched and ("inflates past" in unmatched or "could not be extracted"
                                                  in unmatched), unmatched
    peak_mb = int(peak_kb) / 1024
    print(f"collect of a 1 GB and a lying 200 MB zip bomb: peak RSS {peak_mb:.0f} MB, {elapsed:.1f} s")
    assert peak_mb < 300, f"collect held {peak_mb:.0f} MB"
    for student in ("bomb", "liar"):
        folder = course / "submitted" / student / A
        assert not (folder / f"{A}.ipynb").exists() and (folder / C.REJECTED).is_file()
        nb, problem = C.load_submission(folder / f"{A}.ipynb", {"x"})
        assert nb is None and problem.startswith(f"not collected: {student}.ipynb: "), problem
    assert sum(p.stat().st_size for p in (course / "submitted").rglob("*") if p.is_file()) < 10_000
    # a later collect that finds a good file removes the reason, and the other way round
    C.collect(course, A, _zip(tmp_path / "fixed.zip", {"bomb.ipynb": json.dumps(NOTEBOOK)}))
    assert not (course / "submitted" / "bomb" / A / C.REJECTED).exists()
    C.collect(course, A, _zip(tmp_path / "again.zip", {"bomb.ipynb": "x" * 2000}), max_mb=0.001)
    assert not (course / "submitted" / "bomb" / A / f"{A}.ipynb").exists()


def _declare_size(archive: Path, name: str, size: int) -> None:
    """Rewrite the uncompressed size a zip's central directory declares for one member (what readers trust)."""
    import struct

    data = bytearray(archive.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at != -1:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + name_len] == name.encode():
            assert struct.unpack_from("<I", data, at + 24)[0] != 0xFFFFFFFF, "a zip64 size: not handled here"
            struct.pack_into("<I", data, at + 24, size)
            break
        at = data.find(b"PK\x01\x02", at + 46)
    archive.write_bytes(bytes(data))
    with zipfile.ZipFile(archive) as zf:
        assert zf.getinfo(name).file_size == size


def test_a_notebook_over_the_limit_is_not_read(tmp_path):
    path = tmp_path / "big.ipynb"
    path.write_text(json.dumps(NOTEBOOK | {"metadata": {"pad": "x" * 3_000_000}}))
    nb, problem = C.load_submission(path, {"x"}, max_mb=2)
    assert nb is None and problem == "too large: 3.0 MB, over the limit of 2 MB", problem
    nb, problem = C.load_submission(path, {"x"}, max_mb=4)
    assert problem == "none of this assignment's cells (another assignment's notebook?)", problem


def test_collect_cli_says_the_format_and_refuses_a_bad_one(tmp_path):
    lms = _lms()
    course = _course(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "course_utils.grading", "--course", str(course), "collect", A,
                           str(lms.OUT / "canvas.zip"), "--format", "canvas"], capture_output=True, text=True,
                          timeout=120, env=grading.tool_env(), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "collected 6 submission(s): 1001 1002 1003 1004 1005 1006" in proc.stdout, proc.stdout
    assert "unmatched: erin_1005_5005_notes.pdf" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "course_utils.grading", "--course", str(course), "collect", A,
                           str(lms.OUT / "canvas.zip"), "--format", "blackboard"], capture_output=True, text=True,
                          timeout=120, env=grading.tool_env(), cwd=ROOT)
    assert proc.returncode == 2 and "invalid choice: 'blackboard'" in proc.stderr, proc.stderr


def test_only_stored_and_deflated_members_are_read(tmp_path):
    # Python inflates bzip2 and LZMA a whole chunk at a time: a 1 kB bzip2 member can take gigabytes
    course = _course(tmp_path)
    archive = tmp_path / "methods.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("bz.ipynb", json.dumps(NOTEBOOK), compress_type=zipfile.ZIP_BZIP2)
        zf.writestr("xz.ipynb", json.dumps(NOTEBOOK), compress_type=zipfile.ZIP_LZMA)
        zf.writestr("ok.ipynb", json.dumps(NOTEBOOK), compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("raw.ipynb", json.dumps(NOTEBOOK), compress_type=zipfile.ZIP_STORED)
    students, unmatched = C.collect(course, A, archive)
    assert students == ["bz", "ok", "raw", "xz"]
    for student, method in (("bz", 12), ("xz", 14)):
        assert not (course / "submitted" / student / A / f"{A}.ipynb").exists()
        assert f"compression method {method} is not accepted" in (course / "submitted" / student / A /
                                                                   C.REJECTED).read_text()
    assert (course / "submitted" / "ok" / A / f"{A}.ipynb").is_file()


def test_a_zip_with_too_many_entries_is_refused_before_they_are_read(tmp_path, monkeypatch):
    archive = _zip(tmp_path / "many.zip", {f"s{i}.ipynb": "{}" for i in range(12)})
    assert C.zip_member_count(archive) == 12
    monkeypatch.setattr(C, "MAX_MEMBERS", 10)
    read = []
    monkeypatch.setattr(zipfile.ZipFile, "infolist", lambda self: read.append(1) or [])
    with pytest.raises(SystemExit, match="declares 12 entries, more than 10"):
        C.collect(_course(tmp_path), A, archive)
    assert read == []


def test_an_ambiguous_recollect_does_not_leave_the_earlier_notebook(tmp_path):
    course = _course(tmp_path)
    C.collect(course, A, _zip(tmp_path / "first.zip", {"alice.ipynb": json.dumps(NOTEBOOK)}))
    assert (course / "submitted" / "alice" / A / f"{A}.ipynb").is_file()
    students, unmatched = C.collect(course, A, _zip(tmp_path / "second.zip", {
        "alice/a.ipynb": json.dumps(NOTEBOOK), "alice/b.ipynb": json.dumps(NOTEBOOK)}))
    assert students == [] and any(u.startswith("alice: 2 notebooks") for u in unmatched), unmatched
    assert not (course / "submitted" / "alice" / A / f"{A}.ipynb").exists()
    nb, problem = C.load_submission(course / "submitted" / "alice" / A / f"{A}.ipynb", {"x"})
    assert nb is None and problem.startswith("not collected: 2 notebooks (alice/a.ipynb, alice/b.ipynb)"), problem


def test_a_small_notebook_too_complex_to_parse_is_refused_quickly(tmp_path):
    # 18 MB of empty objects: 6 million dicts took the grader's main process to 3.5 GB and 59 s
    path = tmp_path / "objects.ipynb"
    path.write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {"x": [' + "{}," * 6_000_000 + '{}]}, '
                    '"cells": []}')
    start = time.monotonic()
    nb, problem = C.load_submission(path, {"x"})
    assert nb is None and problem == f"too complex: more than {C.MAX_JSON_OBJECTS} JSON objects", problem
    assert time.monotonic() - start < 60  # a runaway bound, not a timing claim (it takes about 0.1 s)
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "x"}] * (C.MAX_CELLS + 1)
    path.write_text(json.dumps(NOTEBOOK | {"cells": cells}))
    nb, problem = C.load_submission(path, {"x"})
    assert problem == f"too many cells: {C.MAX_CELLS + 1} (at most {C.MAX_CELLS})", problem
    # braces in a string (a printed dict) are not objects
    path.write_text(json.dumps(NOTEBOOK | {"metadata": {"printed": "{}" * 1_000_000}}))
    assert C.load_submission(path, {"x"})[1] == "none of this assignment's cells (another assignment's notebook?)"

"""Write the example class (examples/submissions/01_perceptron_xor/) as the three archives
``course-grade collect --format`` reads: examples/lms/{folder,canvas,moodle}.zip.

    python examples/make_lms_archives.py

- ``folder.zip``: the folder as it is (``<student>.ipynb``, ``carol/01_perceptron_xor.ipynb``).
- ``canvas.zip``: Canvas's "Download submissions": ``<login>_<user id>_<submission id>_<file name>`` at the
  top, ``<login>_LATE_...`` for a late one (dave), and a PDF that erin also uploaded (not a notebook: listed
  as unmatched).
- ``moodle.zip``: Moodle's "Download all submissions": one ``<Full Name>_<participant id>_assignsubmission_file_``
  folder per student, and one ``..._assignsubmission_onlinetext_`` folder (bob's online text: unmatched).
  The students are the participant ids (alice is 1001 ... frank 1006).

tests/test_collect.py checks that the archives hold what this script writes (member names and contents;
the zip bytes themselves depend on the zlib version) and that ``collect`` reads each one as the same class.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
A = "01_perceptron_xor"
CLASS = ROOT / "examples" / "submissions" / A
OUT = ROOT / "examples" / "lms"
# student -> (Canvas user id, Canvas submission id, full name, the file name they uploaded)
STUDENTS = {
    "alice": (1001, 5001, "Alice Archer", "01_perceptron_xor.ipynb"),
    "bob": (1002, 5002, "Bob Baker", "perceptron-final.ipynb"),
    "carol": (1003, 5003, "Carol Chen", f"{A}.ipynb"),
    "dave": (1004, 5004, "Dave Dias", "dave.ipynb"),
    "erin": (1005, 5005, "Erin Evans", "01_perceptron_xor (1).ipynb"),
    "frank": (1006, 5006, "Frank Fox", "homework.ipynb"),
}


def notebook(student: str) -> bytes:
    """The example class's file of a student."""
    path = CLASS / f"{student}.ipynb"
    return (path if path.exists() else CLASS / student / f"{A}.ipynb").read_bytes()


def archives() -> dict[str, dict[str, bytes]]:
    """Archive name -> member name -> content."""
    folder = {p.relative_to(CLASS).as_posix(): p.read_bytes() for p in sorted(CLASS.rglob("*")) if p.is_file()}
    canvas, moodle = {}, {}
    for student, (uid, sub, name, file) in STUDENTS.items():
        login = f"{student}_LATE" if student == "dave" else student
        canvas[f"{login}_{uid}_{sub}_{file}"] = notebook(student)
        moodle[f"{name}_{uid}_assignsubmission_file_/{file}"] = notebook(student)
    canvas["erin_1005_5005_notes.pdf"] = b"%PDF-1.4 (not a notebook)\n"
    moodle["Bob Baker_1002_assignsubmission_onlinetext_/onlinetext.html"] = b"<p>see my notebook</p>\n"
    return {"folder.zip": folder, "canvas.zip": canvas, "moodle.zip": moodle}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for archive, members in archives().items():
        with zipfile.ZipFile(OUT / archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 29, 12, 0, 0)), data,
                            compress_type=zipfile.ZIP_DEFLATED)
        print(f"wrote {(OUT / archive).relative_to(ROOT)} ({len(members)} files)")


if __name__ == "__main__":
    main()

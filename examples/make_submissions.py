"""Write the example class of README's instructor walkthrough: examples/submissions/01_perceptron_xor/.

    python examples/make_submissions.py

Six students, as a folder an instructor downloads (``<student>.ipynb``, or ``<student>/<notebook>``):

alice (every exercise right), bob (``threshold_mlp`` multiplies by ``W1.T``), carol (the blank release,
in a folder of her own), dave (``predict`` loops forever), erin (a wrong ``xor_network`` that also
replaces the course's checkers with no-ops in its own kernel, where the tests do not run) and frank (a
file that is not a notebook). The scores they
get are the README's table after ``<!-- walkthrough-scores -->``.

tests/test_examples.py checks that these files are what this script writes from the current release.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_utils import grading  # noqa: E402

A = "01_perceptron_xor"
OUT = ROOT / "examples" / "submissions" / A
CHEAT = """def xor_network():
    return {"W1": np.eye(2), "b1": np.zeros(2), "w2": np.ones(2), "b2": 0.0}

import course_utils.checks as checks
checks.assert_equal = checks.assert_shape = lambda *args, **kwargs: None
assert_equal = assert_shape = checks.assert_equal
"""


def submissions() -> dict[str, str]:
    """Relative path -> file content."""
    import nbformat

    source = grading.read_notebook(ROOT / "solutions" / A / f"{A}.ipynb")
    release = grading.read_notebook(ROOT / "assignments" / A / f"{A}.ipynb")
    honest = grading.strip_solution_markers(grading.find_cell(source, "threshold_mlp").source)
    notebooks = {
        "alice.ipynb": grading.fill_release(release, source),
        "bob.ipynb": grading.fill_release(release, source, {"threshold_mlp": honest.replace(
            'X @ params["W1"]', 'X @ params["W1"].T')}),
        f"carol/{A}.ipynb": release,
        "dave.ipynb": grading.fill_release(release, source, {
            "predict": "def predict(w, b, X):\n    while True:\n        pass"}),
        "erin.ipynb": grading.fill_release(release, source, {"xor_network": CHEAT}),
    }
    files = {name: nbformat.writes(nb) + "\n" for name, nb in notebooks.items()}
    files["frank.ipynb"] = "I wrote my answers in a Word file, sorry!\n"
    return files


def main() -> None:
    for name, text in submissions().items():
        path = OUT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()

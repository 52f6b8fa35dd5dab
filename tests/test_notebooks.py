"""Hygiene of every stored notebook. Execution itself is nbval's job: pytest collects lectures/ and
solutions/ with --nbval-lax (see pyproject.toml)."""
from __future__ import annotations

import re

import pytest
from conftest import ROOT

import course_utils
from course_utils import grading

LECTURES = sorted((ROOT / "lectures").glob("*.ipynb"))
SOURCES = sorted((ROOT / "solutions").glob("*/*.ipynb"))
RELEASES = sorted((ROOT / "assignments").glob("*/*.ipynb"))
ALL = LECTURES + SOURCES + RELEASES
REPO_PATH = course_utils.COURSE_REPO_URL.split("github.com/")[1]


def _id(path):
    return str(path.relative_to(ROOT))


def test_every_topic_has_its_lecture_and_release():
    stems = {p.stem for p in LECTURES}
    for src in SOURCES:
        assert src.stem in stems, f"{_id(src)} has no lecture lectures/{src.stem}.ipynb"
        assert (ROOT / "assignments" / src.parent.name / src.name).exists(), f"{_id(src)} has no release"


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_open_in_colab_link_points_at_the_notebook_itself(path):
    nb = grading.read_notebook(path)
    first_md = next(c for c in nb.cells if c.cell_type == "markdown")
    link = f"https://colab.research.google.com/github/{REPO_PATH}/blob/main/"
    expected = _id(path).replace("solutions/", "assignments/")  # students open the release
    assert link + expected in first_md.source, f"first Markdown cell lacks the Colab link {link + expected}"


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_setup_cell_uses_the_one_repository_url(path):
    nb = grading.read_notebook(path)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    urls = set(re.findall(r'COURSE_REPO_URL = "([^"]+)"', text))
    assert urls == {course_utils.COURSE_REPO_URL}, f"setup cell sets COURSE_REPO_URL to {urls or 'nothing'}"
    assert '%pip install --quiet "course_utils @ git+{COURSE_REPO_URL}"' in text


@pytest.mark.parametrize("path", LECTURES, ids=_id)
def test_lecture_is_stored_executed_top_to_bottom(path):
    nb = grading.read_notebook(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "run `make lectures`: counts are not 1..n"
    for i, cell in enumerate(code):
        for out in cell.outputs:
            assert out.output_type != "error", f"code cell {i} stored an error: {out.get('ename')}"
            assert not (out.output_type == "stream" and out.name == "stderr"), \
                f"code cell {i} wrote to stderr: {out.text[:200]}"
    assert any(o.output_type == "display_data" and "image/png" in o.data for c in code for o in c.outputs), \
        "a lecture without a single figure"
    assert path.stat().st_size < 1_000_000, f"{path.stat().st_size} bytes: keep stored figures small"
    assert not any(c.metadata.get("nbgrader") for c in nb.cells), "lectures carry no graded cells"


@pytest.mark.parametrize("path", SOURCES + RELEASES, ids=_id)
def test_assignment_notebooks_are_stored_without_outputs(path):
    nb = grading.read_notebook(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "assignment notebooks store no outputs"


def test_readme_links_exist_and_list_every_lecture():
    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(((?!https?:)[^)#]+)\)", readme):
        assert (ROOT / target).exists(), f"README links to a missing file: {target}"
    for lecture in LECTURES:
        assert f"(lectures/{lecture.name})" in readme, f"README's topic table lacks {lecture.name}"
    for command in ("make lab", "make test"):
        assert command in readme

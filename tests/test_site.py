"""The course website (``course_utils.publish.site``), built from a student edition.

The edition is built with ``build_edition`` for a student repository that exists only in this test, so
every Colab link the site shows must have been taken from the edition, not from the instructor's
repository. Expected values (page paths, Colab URLs, figure counts, learning goals) are read from the
edition's notebooks here, with code of this file, not with the builder's helpers.
"""
from __future__ import annotations

import html.parser
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import ROOT

STUDENT_REPO = "https://github.com/example-school/dl-student-test"
COLAB = "https://colab.research.google.com/github/example-school/dl-student-test/blob/main/"
SITE_PACKAGES = ("sphinx", "myst_nb", "sphinx_book_theme", "sphinx-mathjax-offline")


def require_site_tools() -> None:
    """Fail under CI (which installs the site's tools), otherwise skip with the reason."""
    absent = [name for name in SITE_PACKAGES if importlib.util.find_spec(name) is None]
    if not absent:
        return
    reason = f"the site's build tools are not installed: {', '.join(absent)}"
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason} (CI is set: the site tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(edition, site): the student edition and the website built from it."""
    require_site_tools()
    from course_utils.publish.edition import build_edition
    from course_utils.publish.site import build_site

    tmp = tmp_path_factory.mktemp("site")
    edition = build_edition(ROOT, tmp / "edition", repo_url=STUDENT_REPO, allow_dirty=True)
    site = build_site(edition, tmp / "site")
    return edition, site


class Page(html.parser.HTMLParser):
    """Links (with the ``img`` they wrap), images, scripts and stylesheets of one HTML page, and its text."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.links: list[dict] = []  # {"href", "class", "imgs": [src, ...]}
        self.imgs: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._open: list[dict] = []
        self._skip = 0
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            link = {"href": a["href"], "class": a.get("class", ""), "imgs": []}
            self.links.append(link)
            self._open.append(link)
        elif tag == "img":
            self.imgs.append(a.get("src", ""))
            if self._open:
                self._open[-1]["imgs"].append(a.get("src", ""))
        elif tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        elif tag == "link" and "stylesheet" in a.get("rel", ""):
            self.styles.append(a.get("href", ""))
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open:
            self._open.pop()
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)

    def resolve(self, ref: str) -> Path:
        return (self.path.parent / unquote(urlsplit(ref).path)).resolve()


def notebook_pages(edition: Path) -> list[tuple[Path, str]]:
    """(notebook, its page's path in the site) for every lecture and assignment of the edition."""
    pages = []
    for nb in sorted((edition / "lectures").glob("*.ipynb")) + sorted((edition / "assignments").glob("*/*.ipynb")):
        rel = nb.relative_to(edition)
        pages.append((nb, rel.with_suffix(".html").as_posix()))
    return pages


def markdown(nb: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown"]


def test_the_edition_has_pages_to_check(built):
    edition, site = built
    pages = notebook_pages(edition)
    assert len([p for p in pages if p[1].startswith("lectures/")]) >= 6
    assert len([p for p in pages if p[1].startswith("assignments/")]) >= 6
    for _, rel in pages:
        assert (site / rel).is_file(), rel
    assert (site / "index.html").is_file() and (site / "schedule.html").is_file()


def test_every_internal_link_resolves(built):
    from course_utils.publish.site import check_links

    _, site = built
    assert check_links(site) == []


def test_check_links_reports_each_kind_of_broken_link(tmp_path):
    from course_utils.publish.site import check_links

    (tmp_path / "sub").mkdir()
    (tmp_path / "img.png").write_bytes(b"png")
    (tmp_path / "sub" / "index.html").write_text('<p id="here">x</p>')
    (tmp_path / "index.html").write_text(
        '<a href="sub/">ok folder</a> <a href="sub/index.html#here">ok fragment</a> <img src="img.png">'
        ' <a href="https://example.org/x">external</a> <a href="#top">same page</a> <p id="top"></p>'
        ' <a href="missing.html">1</a> <img src="sub/none.png"> <a href="sub/index.html#nowhere">3</a>'
        ' <a href="../outside.html">4</a> <script src="/abs.js"></script> <img srcset="img.png 1x, gone.png 2x">'
    )
    broken = check_links(tmp_path)
    assert len(broken) == 6, broken
    for ref in ("missing.html", "sub/none.png", "#nowhere", "../outside.html", "/abs.js", "gone.png"):
        assert any(ref in line for line in broken), (ref, broken)
    (tmp_path / "index.html").unlink()
    (tmp_path / "sub" / "index.html").unlink()
    assert check_links(tmp_path), "a folder with no page is not a site"


def test_notebook_pages_have_colab_and_download_links(built):
    edition, site = built
    for nb, rel in notebook_pages(edition):
        page = Page(site / rel)
        nb_rel = nb.relative_to(edition).as_posix()
        colab = [link for link in page.links if link["href"] == COLAB + nb_rel]
        assert colab, f"{rel}: no Colab link to {COLAB + nb_rel}"
        assert any(link["imgs"] for link in colab), f"{rel}: the Colab link is not a badge"
        for link in colab:
            for src in link["imgs"]:
                assert page.resolve(src).is_file(), f"{rel}: the badge image {src} is not in the site"
        assert not any("colab.research.google.com/github/open-deep-learning-course" in lk["href"]
                       for lk in page.links), f"{rel}: a Colab link into the instructor's repository"
        downloads = [lk for lk in page.links if "download" in lk["class"].split()]
        assert len(downloads) == 1, f"{rel}: {len(downloads)} download links"
        target = page.resolve(downloads[0]["href"])
        assert target.name == nb.name and target.is_file(), f"{rel}: download {downloads[0]['href']}"
        assert target.read_bytes() == nb.read_bytes(), f"{rel}: the download is not the edition's notebook"


def test_each_lecture_and_its_assignment_link_each_other(built):
    edition, site = built
    for lecture in sorted((edition / "lectures").glob("*.ipynb")):
        lecture_page = site / "lectures" / f"{lecture.stem}.html"
        assignment_page = site / "assignments" / lecture.stem / f"{lecture.stem}.html"
        assert assignment_page.is_file(), assignment_page
        lecture_html, assignment_html = Page(lecture_page), Page(assignment_page)
        forward = {lecture_html.resolve(lk["href"]) for lk in lecture_html.links}
        assert assignment_page.resolve() in forward, f"{lecture.stem}: the lecture does not link to its assignment"
        back = {assignment_html.resolve(lk["href"]) for lk in assignment_html.links}
        assert lecture_page.resolve() in back, f"{lecture.stem}: the assignment does not link to its lecture"


def _goals(nb: Path) -> list[str]:
    """The numbered items under **Learning goals.** in the lecture's first cell (this file's own reading)."""
    cell = markdown(nb)[0]
    after = cell.split("**Learning goals.**", 1)[1]
    block = after.split("\n\n", 2)
    items = re.findall(r"^\d+\.\s+(.*)$", "\n\n".join(block[:2]), flags=re.M)
    assert items, f"{nb.name}: no numbered learning goals in its first cell"
    return items


def test_schedule_lists_every_topic_with_its_learning_goals(built):
    edition, site = built
    page = Page(site / "schedule.html")
    # the page's typographic quotes, back to the notebook's straight ones
    text = " ".join(page.text).translate(str.maketrans("‘’“”", "''\"\""))
    text = re.sub(r"\s+", " ", re.sub(r"\\\(.*?\\\)", " ", text))  # inline math, typeset in the browser
    targets = {page.resolve(lk["href"]) for lk in page.links}
    for lecture in sorted((edition / "lectures").glob("*.ipynb")):
        assert (site / "lectures" / f"{lecture.stem}.html").resolve() in targets, lecture.stem
        assert (site / "assignments" / lecture.stem / f"{lecture.stem}.html").resolve() in targets, lecture.stem
        title = re.search(r"^# (.+)$", markdown(lecture)[0], flags=re.M).group(1)
        assert title.split("—")[-1].strip() in text, f"{lecture.stem}: title missing from the schedule"
        for goal in _goals(lecture):
            words = re.sub(r"\$[^$]*\$|[*`]", " ", goal).split()[:5]  # math is typeset, so compare words
            assert " ".join(words) in text, f"{lecture.stem}: goal {goal[:60]!r} missing"


def test_lecture_figures_are_in_the_pages(built):
    edition, site = built
    for lecture in sorted((edition / "lectures").glob("*.ipynb")):
        cells = json.loads(lecture.read_text())["cells"]
        figures = sum(1 for c in cells for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
        assert figures > 0, f"{lecture.name} is stored with no figure"
        page = Page(site / "lectures" / f"{lecture.stem}.html")
        shown = [src for src in page.imgs if src.endswith(".png")]
        assert len(shown) == figures, f"{lecture.stem}: {len(shown)} figures on the page, {figures} in the notebook"
        for src in shown:
            assert page.resolve(src).stat().st_size > 0, src


def test_pages_load_nothing_from_the_network(built):
    _, site = built
    pages = [p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts]
    assert len(pages) >= 14
    for path in pages:
        page = Page(path)
        for ref in page.scripts + page.styles + page.imgs:
            assert not urlsplit(ref).scheme and not ref.startswith("//"), f"{path.name} loads {ref}"
    lecture = Page(site / "lectures" / "01_perceptron_xor.html")
    mathjax = [s for s in lecture.scripts if "mathjax" in s.lower()]
    assert mathjax, "the lecture page loads no MathJax"
    assert all(lecture.resolve(s).is_file() for s in mathjax), mathjax


def test_outline_needs_a_title_and_learning_goals(tmp_path):
    from course_utils.publish.site import lecture_outline

    def notebook(*cells: str) -> Path:
        path = tmp_path / f"nb{len(list(tmp_path.iterdir()))}.ipynb"
        nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": c} for c in cells],
              "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        path.write_text(json.dumps(nb))
        return path

    title, goals = lecture_outline(notebook("# Lecture 09 — Sets\n\n**Learning goals.** You can\n\n"
                                            "1. pool a set;\n   in any order;\n2. count.\n\nMore text."))
    assert title == "Sets" and goals == ("pool a set; in any order;", "count.")
    with pytest.raises(ValueError, match="Learning goals"):
        lecture_outline(notebook("# Lecture 09 — Sets\n\nNo goals here."))
    with pytest.raises(ValueError, match="title"):
        lecture_outline(notebook("**Learning goals.**\n\n1. x"))


def test_build_refuses_a_folder_that_is_not_a_site(built, tmp_path):
    from course_utils.publish.site import build_site

    edition, _ = built
    (tmp_path / "keep.txt").write_text("not a site")
    with pytest.raises(FileExistsError):
        build_site(edition, tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "not a site"


def small_edition(edition: Path, dest: Path) -> Path:
    """A copy of the edition cut down to its first topic and a two-link README (a quick build)."""
    lecture = sorted((edition / "lectures").glob("*.ipynb"))[0]
    (dest / "lectures").mkdir(parents=True)
    (dest / "assignments" / lecture.stem).mkdir(parents=True)
    (dest / "README.md").write_text(f"# A small course\n\nSee [the lecture](lectures/{lecture.name}) and"
                                    " [the licence](LICENSE).\n")
    (dest / "lectures" / lecture.name).write_bytes(lecture.read_bytes())
    nb = edition / "assignments" / lecture.stem / lecture.name
    (dest / "assignments" / lecture.stem / lecture.name).write_bytes(nb.read_bytes())
    return dest


def test_command_line_builds_and_checks(built, tmp_path):
    """The command `make site` runs, on an edition cut down to one topic."""
    edition, _ = built
    small = small_edition(edition, tmp_path / "edition")
    out = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "course_utils.publish.site", str(small), str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "every internal link resolves" in proc.stdout
    index = Page(out / "index.html")
    assert STUDENT_REPO + "/blob/main/LICENSE" in [lk["href"] for lk in index.links]
    stem = next((small / "lectures").glob("*.ipynb")).stem
    assert (out / "lectures" / f"{stem}.html").is_file()
    again = subprocess.run([sys.executable, "-m", "course_utils.publish.site", str(small), str(out)],
                           capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert again.returncode == 0, "a second build into the same folder: " + again.stdout + again.stderr


def test_build_needs_no_network(built, tmp_path):
    """The build, in a network namespace of its own (no interface but a down loopback), still succeeds."""
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True) if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        reason = "cannot make a network namespace here (`unshare -n` needs util-linux and root)"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{reason} (CI runs as root: this test must run there)", pytrace=False)
        pytest.skip(reason)
    edition, _ = built
    small = small_edition(edition, tmp_path / "edition")
    out = tmp_path / "site"
    offline = subprocess.run(["unshare", "-n", sys.executable, "-c",
                              "import socket; socket.create_connection(('pypi.org', 443), timeout=5)"],
                             capture_output=True, text=True, timeout=60)
    assert offline.returncode != 0, "the namespace reaches the network: this test would prove nothing"
    proc = subprocess.run(["unshare", "-n", sys.executable, "-m", "course_utils.publish.site", str(small), str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "index.html").is_file() and (out / "schedule.html").is_file()

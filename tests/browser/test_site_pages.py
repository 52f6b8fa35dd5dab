"""The course website in a real browser, offline.

The site is built from a student edition (for a student repository that exists only in this test),
served on a free localhost port, and opened in Chromium, which resolves no other host: the index, the
schedule, every lecture and every assignment page. On each page:

- MathJax (served by the site itself) has typeset the math: MathJax's elements are there, none is a
  TeX error, and no raw TeX delimiter (``$$``, ``\\(``, ``\\[``, ``\\begin{``) is left in the visible
  text outside code;
- every image has loaded (``naturalWidth > 0``), figures and the Colab badge included;
- a notebook page's "Open in Colab" badge links to that notebook in the student repository;
- no request failed (a page that reached for a CDN would), and no script raised an error.

A screenshot of each page (and, for a lecture, of its first figure) goes to the screenshot folder.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from .conftest import ROOT, missing

STUDENT_REPO = "https://github.com/example-school/dl-student-web"
COLAB = "https://colab.research.google.com/github/example-school/dl-student-web/blob/main/"
SITE_PACKAGES = ("sphinx", "myst_nb", "sphinx_book_theme", "sphinx-mathjax-offline")
#: every wait only stops a runaway; none measures speed
TIMEOUT_MS = 60_000
RAW_TEX = ("$$", "\\(", "\\)", "\\[", "\\]", "\\begin{", "$\\")

VISIBLE_TEXT = """() => {
  const main = document.querySelector('main') || document.body;
  const copy = main.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, mjx-container, .MathJax').forEach(e => e.remove());
  return copy.textContent;
}"""
IMAGES = """() => Array.from(document.images).map(i => ({
  src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth}))"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    absent = [name for name in SITE_PACKAGES if importlib.util.find_spec(name) is None]
    if absent:
        missing(f"the site's build tools are not installed: {', '.join(absent)}")
    from course_utils.publish.edition import build_edition
    from course_utils.publish.site import build_site

    tmp = tmp_path_factory.mktemp("site-browser")
    edition = build_edition(ROOT, tmp / "edition", repo_url=STUDENT_REPO, allow_dirty=True)
    return build_site(edition, tmp / "site")


def site_pages(site: Path) -> list[tuple[str, str | None]]:
    """(page path, notebook path in the edition or None) for the pages this test opens."""
    pages: list[tuple[str, str | None]] = [("index.html", None), ("schedule.html", None)]
    for html in sorted((site / "lectures").glob("*.html")):
        pages.append((f"lectures/{html.name}", f"lectures/{html.stem}.ipynb"))
    for html in sorted((site / "assignments").glob("*/*.html")):
        stem = html.stem
        pages.append((f"assignments/{stem}/{html.name}", f"assignments/{stem}/{stem}.ipynb"))
    return pages


def check_page(page, url: str, notebook: str | None, shot: Path) -> list[str]:
    """Open one page and return what is wrong with it (empty when nothing is)."""
    problems: list[str] = []
    requests_before = len(page.failed_requests)
    errors_before = len(page.page_errors)
    page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
    has_mathjax = page.locator("script[src*='mathjax']").count() > 0
    if has_mathjax:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                   timeout=TIMEOUT_MS)
            page.evaluate("() => MathJax.startup.promise.then(() => true)")
        except PlaywrightTimeout:
            problems.append(f"MathJax did not start in {TIMEOUT_MS // 1000} s (its script did not load?)")
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)", timeout=TIMEOUT_MS)

    typeset = page.locator("mjx-container").count()
    if notebook is not None or url.endswith("schedule.html"):
        if not has_mathjax or typeset == 0:
            problems.append(f"no typeset math (MathJax script: {has_mathjax}, elements: {typeset})")
    if page.locator("mjx-merror").count():
        problems.append(f"{page.locator('mjx-merror').count()} TeX errors")
    text = page.evaluate(VISIBLE_TEXT)
    for token in RAW_TEX:
        if token in text:
            at = text.index(token)
            problems.append(f"raw TeX {token!r} in the text: ...{text[max(0, at - 40):at + 40]!r}...")

    images = page.evaluate(IMAGES)
    for image in images:
        if not image["complete"] or image["width"] == 0:
            problems.append(f"image not loaded: {image['src']}")
    if notebook is not None:
        figures = [i for i in images if i["src"].endswith(".png")]
        if notebook.startswith("lectures/") and not figures:
            problems.append("a lecture page with no figure")
        badge = page.locator(f"a[href='{COLAB}{notebook}'] img")
        if badge.count() != 1:
            problems.append(f"{badge.count()} Colab badges linking to {COLAB}{notebook}")
        elif badge.evaluate("i => i.naturalWidth") == 0:
            problems.append("the Colab badge's image did not load")
        others = page.locator("a[href^='https://colab.research.google.com/']").evaluate_all(
            "links => links.map(a => a.href)")
        wrong = [href for href in others if not href.startswith(COLAB)]
        if wrong:
            problems.append(f"Colab links outside the student repository: {wrong}")

    page.screenshot(path=str(shot))
    if notebook is not None and notebook.startswith("lectures/"):
        figure = page.locator("img[src$='.png']").first
        if figure.count():
            figure.scroll_into_view_if_needed(timeout=TIMEOUT_MS)
            page.screenshot(path=str(shot.with_name(shot.stem + "_figure.png")))

    failed = page.failed_requests[requests_before:]
    if failed:
        problems.append(f"failed requests (offline, nothing may leave the site): {failed}")
    raised = page.page_errors[errors_before:]
    if raised:
        problems.append(f"script errors: {raised}")
    return problems


def test_site_pages_render_offline(site, page, serve_static, screenshot_dir):
    base = serve_static(site)
    pages = site_pages(site)
    assert len([p for p in pages if p[0].startswith("lectures/")]) >= 6
    report = {}
    for number, (path, notebook) in enumerate(pages):
        name = f"{number:02d}_" + re.sub(r"[^A-Za-z0-9_]+", "_", path.removesuffix(".html"))
        problems = check_page(page, f"{base}/{path}", notebook, screenshot_dir / f"{name}.png")
        if problems:
            report[path] = problems
    shots = sorted(p.name for p in screenshot_dir.glob("*.png"))
    assert len(shots) >= len(pages), shots
    assert report == {}, "\n".join(f"{path}:\n  " + "\n  ".join(items) for path, items in report.items())

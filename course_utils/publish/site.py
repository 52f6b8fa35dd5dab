"""The course website, built from a student edition, offline.

``build_site(edition, out)`` turns a student edition tree (``README.md``, ``lectures/NN_topic.ipynb``
stored executed, ``assignments/NN_topic/NN_topic.ipynb``) into a static HTML site in ``out``:

- ``index.html``: the edition's README (links to files that are not pages point to the repository);
- ``schedule.html``: every topic with its learning goals, taken from the lecture's first Markdown cells;
- one page per lecture and per assignment, with a header line that holds the "Open in Colab" badge
  (the URL the notebook's own badge carries, which the edition already points to the student
  repository), a download link to the notebook file as the edition ships it, and the cross-link between
  the lecture and its assignment.

The build runs Sphinx with MyST-NB and the book theme (the stack of Jupyter Book 1): it executes no
notebook (``nb_execution_mode = "off"``) and fetches nothing. Math is typeset in the browser by a copy of
MathJax 3 served from the site itself (``_static/mathjax``), so pages render with no network.
Jupyter Book 2 (mystmd) is not used: its HTML build downloads the site template from the internet.

``check_links(site)`` parses every generated page and returns the relative ``href``/``src`` values whose
target file is missing. The command line builds and then checks::

    python -m course_utils.publish.site EDITION OUT [--repo-url URL]
"""

from __future__ import annotations

import argparse
import html.parser
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

COLAB_PREFIX = "https://colab.research.google.com/github/"
_BADGE = re.compile(r"\[!\[[^\]]*\]\((?P<img>[^)\s]+)\)\]\((?P<url>https://colab\.research\.google\.com/[^)\s]+)\)")
_GOALS = re.compile(r"\*\*Learning goals\.?\*\*")
_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*])\s+(?P<text>.*)$")
_MARKER = ".course-site"

# The badge of the site's notebook pages: drawn here, served from the site (the usual badge image is
# hosted by Colab and would not load offline).
COLAB_BADGE_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="124" height="20" role="img"
 aria-label="Open in Colab"><title>Open in Colab</title>
<rect width="124" height="20" rx="3" fill="#555"/><rect x="40" width="84" height="20" rx="3" fill="#e8710a"/>
<rect x="40" width="6" height="20" fill="#e8710a"/>
<circle cx="15" cy="10" r="5" fill="none" stroke="#f9ab00" stroke-width="3"/>
<circle cx="26" cy="10" r="5" fill="none" stroke="#f9ab00" stroke-width="3"/>
<text x="82" y="14" fill="#fff" font-family="DejaVu Sans,Verdana,sans-serif" font-size="11"
 text-anchor="middle" textLength="76" lengthAdjust="spacingAndGlyphs">Open in Colab</text></svg>
"""


@dataclass(frozen=True)
class Topic:
    """One topic of the course: a lecture, its learning goals, and its assignment when it has one."""

    stem: str  # NN_topic
    title: str  # the lecture's heading without its "Lecture NN" prefix
    goals: tuple[str, ...]  # Markdown, one item per goal
    lecture: Path  # relative to the edition
    assignment: Path | None  # relative to the edition

    @property
    def number(self) -> str:
        return self.stem.split("_", 1)[0]


def _markdown_cells(nb_path: Path) -> list[str]:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def lecture_outline(nb_path: Path) -> tuple[str, tuple[str, ...]]:
    """The title (first ``#`` heading) and the learning goals of a lecture notebook.

    The goals are the list that follows ``**Learning goals.**`` in the first Markdown cells; an item's
    continuation lines are joined to it. Raises ``ValueError`` when either is missing.
    """
    cells = _markdown_cells(nb_path)[:3]
    title = None
    for cell in cells:
        m = re.search(r"^#\s+(.+)$", cell, re.M)
        if m:
            title = m.group(1).strip()
            break
    if title is None:
        raise ValueError(f"{nb_path}: no '# title' heading in its first Markdown cells")
    title = re.sub(r"^Lecture\s+\d+\s*[—:-]+\s*", "", title)
    for cell in cells:
        m = _GOALS.search(cell)
        if not m:
            continue
        goals: list[str] = []
        started = False
        for line in cell[m.end():].splitlines()[1:]:
            item = _ITEM.match(line)
            if item:
                goals.append(item.group("text").strip())
                started = True
            elif started and line.startswith((" ", "\t")) and line.strip():
                goals[-1] += " " + line.strip()
            elif started:
                break
        if goals:
            return title, tuple(goals)
    raise ValueError(f"{nb_path}: no '**Learning goals.**' list in its first Markdown cells")


def find_topics(edition: Path) -> list[Topic]:
    """The topics of an edition, in order: one per ``lectures/NN_topic.ipynb``."""
    topics = []
    for lecture in sorted((edition / "lectures").glob("[0-9]*_*.ipynb")):
        stem = lecture.stem
        title, goals = lecture_outline(lecture)
        assignment = edition / "assignments" / stem / f"{stem}.ipynb"
        topics.append(
            Topic(
                stem=stem,
                title=title,
                goals=goals,
                lecture=lecture.relative_to(edition),
                assignment=assignment.relative_to(edition) if assignment.exists() else None,
            )
        )
    if not topics:
        raise ValueError(f"{edition}: no lectures/NN_topic.ipynb")
    return topics


def colab_url(nb_path: Path) -> str | None:
    """The target of the notebook's own "Open in Colab" badge, or None."""
    for cell in _markdown_cells(nb_path)[:3]:
        m = _BADGE.search(cell)
        if m:
            return m.group("url")
    return None


def repository_of(colab: str) -> tuple[str, str]:
    """``(https://github.com/OWNER/REPO, BRANCH)`` from a Colab URL of a notebook on GitHub."""
    if not colab.startswith(COLAB_PREFIX):
        raise ValueError(f"not a Colab link to a GitHub notebook: {colab}")
    parts = colab[len(COLAB_PREFIX):].split("/")
    if len(parts) < 5 or parts[2] != "blob":
        raise ValueError(f"not a Colab link to a GitHub notebook: {colab}")
    return f"https://github.com/{parts[0]}/{parts[1]}", parts[3]


def _colab_for(rel: Path, repo_url: str, branch: str) -> str:
    owner_repo = urlsplit(repo_url).path.strip("/")
    if repo_url.endswith(".git"):
        owner_repo = owner_repo[: -len(".git")]
    return f"{COLAB_PREFIX}{owner_repo}/blob/{branch}/{rel.as_posix()}"


def _up(rel: Path) -> str:
    """The relative path from a page's folder to the site root ("../" per level)."""
    return "../" * (len(rel.parts) - 1)


_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)


def one_line_display_math(text: str) -> str:
    """Markdown with each ``$$...$$`` written on one line (code blocks left alone).

    Jupyter takes math out before it reads the Markdown; MyST reads the Markdown first, so a display
    formula that spans lines inside a paragraph breaks when one of its lines starts like a list item
    (``- \\mathrm{KL}...``). On one line it is read as math. A formula with a ``%`` (a TeX comment, which
    would swallow the rest of the line) is left as it is.
    """

    def join(m: re.Match) -> str:
        inner = m.group(1)
        return m.group(0) if "%" in inner else "$$" + re.sub(r"\s*\n\s*", " ", inner) + "$$"

    out, last = [], 0
    for fence in _FENCE.finditer(text):
        out += [_DISPLAY.sub(join, text[last:fence.start()]), fence.group(0)]
        last = fence.end()
    out.append(_DISPLAY.sub(join, text[last:]))
    return "".join(out)


def _page_notebook(src: Path, rel: Path, colab: str, nav_links: list[str], dest: Path) -> None:
    """Write the site's copy of a notebook: its badge swapped for the site's header line.

    The header line (the local "Open in Colab" badge, the download link, the cross-links) goes right
    under the notebook's ``#`` title.
    """
    nb = json.loads(src.read_text(encoding="utf-8"))
    up = _up(rel)
    badge = f"[![Open in Colab]({up}_site_assets/colab-badge.svg)]({colab})"
    download = f"{{download}}`Download the notebook <{up}_originals/{rel.as_posix()}>`"
    header = ["", "```{container} course-site-nav", " · ".join([badge, download, *nav_links]), "```", ""]
    placed = False
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        lines = one_line_display_math(_BADGE.sub("", "".join(cell["source"]))).splitlines()
        if not placed:
            title = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
            if title is not None:
                lines[title + 1:title + 1] = header
                placed = True
        cell["source"] = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    if not placed:
        raise ValueError(f"{src}: no '# title' line in a Markdown cell")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")


def _index_markdown(readme: str, edition: Path, pages: set[str], repo_url: str, branch: str) -> str:
    """The README with links to files that are not site pages pointed at the repository."""

    def fix(m: re.Match) -> str:
        text, target = m.group(1), m.group(2)
        parts = urlsplit(target)
        if parts.scheme or target.startswith(("#", "/", "mailto:")):
            return m.group(0)
        path = parts.path.lstrip("./") if parts.path.startswith("./") else parts.path
        if path in pages:
            return m.group(0)
        kind = "tree" if (edition / path).is_dir() else "blob"
        return f"[{text}]({repo_url}/{kind}/{branch}/{path.rstrip('/')})"

    return re.sub(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)", fix, readme)


def _schedule_markdown(topics: list[Topic]) -> str:
    out = [
        "# Schedule",
        "",
        "The topics in order: read each lecture, then do its assignment. The learning goals are the"
        " lecture's own.",
        "",
    ]
    for t in topics:
        out += [f"## {t.number} · {t.title}", ""]
        links = [f"[Lecture {t.number}]({t.lecture.as_posix()})"]
        if t.assignment is not None:
            links.append(f"[Assignment {t.number}]({t.assignment.as_posix()})")
        out += [" · ".join(links), "", "After this lecture you can", ""]
        out += [f"{i}. {goal}" for i, goal in enumerate(t.goals, 1)]
        out.append("")
    return "\n".join(out)


def _mathjax_dir() -> Path:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("MathJax is missing: pip install sphinx-mathjax-offline (it ships MathJax 3)")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax"


# What the browser needs from MathJax 3 for TeX input and HTML output (the other bundles are unused).
_MATHJAX_PARTS = ["tex-chtml.js", "a11y", "ui", "input/tex", "output/chtml"]

_CONF = '''\
# Written by course_utils.publish.site: the course website's Sphinx configuration.
project = {title!r}
author = "the course authors"
extensions = ["myst_nb"]
exclude_patterns = ["_build", "_originals", "_site_assets", "_static/mathjax", "**.ipynb_checkpoints"]
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_dmath_double_inline = True  # the notebooks open display math inside a paragraph, as Jupyter allows
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]
html_theme = "sphinx_book_theme"
html_title = {title!r}
html_copy_source = False
html_use_index = False
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["course-site.css"]
mathjax_path = "mathjax/tex-chtml.js"
html_theme_options = {{
    "repository_url": {repo_url!r},
    "repository_branch": {branch!r},
    "use_repository_button": True,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "show_toc_level": 2,
}}
'''

_CSS = """\
/* Written by course_utils.publish.site */
.course-site-nav { margin: 0.5em 0 1em; }
.course-site-nav img { vertical-align: middle; }
.course-site-nav a.download code { font-family: inherit; font-size: inherit; background: none; border: 0;
  padding: 0; color: inherit; }
"""


def _write_sources(edition: Path, src: Path, topics: list[Topic], repo_url: str, branch: str) -> None:
    (src / "_site_assets").mkdir(parents=True)
    (src / "_site_assets" / "colab-badge.svg").write_text(COLAB_BADGE_SVG, encoding="utf-8")
    static = src / "_static"
    static.mkdir()
    (static / "course-site.css").write_text(_CSS, encoding="utf-8")
    mathjax = _mathjax_dir()
    for part in _MATHJAX_PARTS:
        target = static / "mathjax" / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if (mathjax / part).is_dir():
            shutil.copytree(mathjax / part, target)
        else:
            shutil.copy2(mathjax / part, target)

    for t in topics:
        notebooks = [t.lecture] + ([t.assignment] if t.assignment is not None else [])
        for rel in notebooks:
            original = src / "_originals" / rel
            original.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(edition / rel, original)
            colab = colab_url(edition / rel) or _colab_for(rel, repo_url, branch)
            up = _up(rel)
            if rel == t.lecture:
                nav = (
                    [f"[Assignment {t.number}]({up}{t.assignment.as_posix()})"]
                    if t.assignment is not None
                    else []
                )
            else:
                nav = [f"[Lecture {t.number}: {t.title}]({up}{t.lecture.as_posix()})"]
            nav.append(f"[Schedule]({up}schedule.md)")
            _page_notebook(edition / rel, rel, colab, nav, src / rel)

    pages = {t.lecture.as_posix() for t in topics}
    pages |= {t.assignment.as_posix() for t in topics if t.assignment is not None}
    readme = (edition / "README.md").read_text(encoding="utf-8")
    title_match = re.search(r"^#\s+(.+)$", readme, re.M)
    title = title_match.group(1).strip() if title_match else "Deep learning course"
    toc = ["", "```{toctree}", ":hidden:", ":caption: Course", "", "schedule", "```", ""]
    toc += ["```{toctree}", ":hidden:", ":caption: Lectures", ""]
    toc += [t.lecture.with_suffix("").as_posix() for t in topics] + ["```", ""]
    toc += ["```{toctree}", ":hidden:", ":caption: Assignments", ""]
    toc += [t.assignment.with_suffix("").as_posix() for t in topics if t.assignment is not None]
    toc += ["```", ""]
    intro = "**[The schedule](schedule.md)**: the topics in order, each with its learning goals.\n\n"
    index = _index_markdown(readme, edition, pages, repo_url, branch)
    head, _, rest = index.partition("\n")
    (src / "index.md").write_text(head + "\n\n" + intro + rest + "\n" + "\n".join(toc), encoding="utf-8")
    (src / "schedule.md").write_text(_schedule_markdown(topics), encoding="utf-8")
    (src / "conf.py").write_text(_CONF.format(title=title, repo_url=repo_url, branch=branch), encoding="utf-8")


def _prepare_out(out: Path) -> None:
    if out.exists():
        if any(out.iterdir()) and not (out / _MARKER).exists():
            raise FileExistsError(f"{out} exists, is not empty and is not a course site: not overwriting it")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def build_site(edition: Path, out: Path, repo_url: str | None = None, branch: str | None = None) -> Path:
    """Build the website of a student edition into ``out`` and return ``out`` (holding index.html).

    ``repo_url`` (``https://github.com/OWNER/REPO``) and ``branch`` default to those of the first
    lecture's Colab badge. Raises ``RuntimeError`` with Sphinx's output when the build fails or warns
    about a missing cross-reference, image or page.
    """
    edition, out = Path(edition).resolve(), Path(out).resolve()
    topics = find_topics(edition)
    if repo_url is None or branch is None:
        badge = colab_url(edition / topics[0].lecture)
        if badge is None:
            raise ValueError("no Colab badge in the first lecture: pass repo_url")
        found_repo, found_branch = repository_of(badge)
        repo_url = repo_url or found_repo
        branch = branch or found_branch
    repo_url = repo_url.rstrip("/").removesuffix(".git")
    _prepare_out(out)
    with tempfile.TemporaryDirectory(prefix="course-site-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        _write_sources(edition, src, topics, repo_url, branch)
        warnings = Path(tmp) / "warnings.txt"
        cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-d", str(Path(tmp) / "doctrees"),
               "-w", str(warnings), str(src), str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        text = warnings.read_text(encoding="utf-8") if warnings.exists() else ""
        if proc.returncode != 0:
            raise RuntimeError(f"sphinx failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        fatal = [
            line
            for line in text.splitlines()
            if any(k in line for k in ("xref_missing", "not readable", "toctree", "undefined label",
                                       "download file not readable", "unknown document"))
        ]
        if fatal:
            raise RuntimeError("sphinx warned about missing targets:\n" + "\n".join(fatal))
    (out / _MARKER).write_text("built by course_utils.publish.site\n", encoding="utf-8")
    return out


class _Refs(html.parser.HTMLParser):
    ATTRS = {"href", "src"}

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in self.ATTRS and value:
                self.refs.append(value)
            elif name == "srcset" and value:
                self.refs += [part.split()[0] for part in value.split(",") if part.strip()]
            elif name in ("id", "name") and value:
                self.ids.add(value)


def site_pages(site: Path) -> list[Path]:
    """The HTML pages of a built site (not the theme's template fragments under ``_static/``)."""
    site = Path(site)
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def check_links(site: Path) -> list[str]:
    """Every relative ``href``/``src``/``srcset`` in the site's HTML pages whose target is missing.

    Each item reads ``page: reference (why)``. Targets are resolved against the page's folder;
    a folder resolves to its ``index.html``; a fragment on another page (or on the same page) must
    name an ``id`` there. Absolute URLs (``https:``, ``mailto:``, ``data:``, ...) are not followed.
    A site with no page is reported too.
    """
    site = Path(site).resolve()
    pages = site_pages(site)
    if not pages:
        return [f"{site}: no HTML page"]
    parsed: dict[Path, _Refs] = {}
    for page in pages:
        p = _Refs()
        p.feed(page.read_text(encoding="utf-8", errors="replace"))
        parsed[page] = p
    broken = []
    for page, p in parsed.items():
        name = page.relative_to(site).as_posix()
        for ref in p.refs:
            parts = urlsplit(ref)
            if parts.scheme or ref.startswith("//"):
                continue
            if not parts.path:
                target = page
            elif parts.path.startswith("/"):
                broken.append(f"{name}: {ref} (absolute path: breaks when the site is not at a server root)")
                continue
            else:
                target = (page.parent / unquote(parts.path)).resolve()
            if site != target and site not in target.parents:
                broken.append(f"{name}: {ref} (outside the site)")
                continue
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{name}: {ref} (no such file)")
                continue
            frag = unquote(parts.fragment)
            if frag and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else set()
                if frag not in ids:
                    broken.append(f"{name}: {ref} (no id {frag!r} in {target.relative_to(site).as_posix()})")
    return broken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.publish.site",
        description="Build the course website from a student edition, then check its internal links.",
    )
    parser.add_argument("edition", type=Path, help="a student edition tree (README.md, lectures/, assignments/)")
    parser.add_argument("out", type=Path, help="the output folder (index.html goes there)")
    parser.add_argument("--repo-url", help="the student repository (default: from the notebooks' Colab badges)")
    parser.add_argument("--branch", help="its branch (default: from the notebooks' Colab badges)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = build_site(args.edition, args.out, args.repo_url, args.branch)
    seconds = time.perf_counter() - start
    broken = check_links(out)
    pages = len(site_pages(out))
    if broken:
        print(f"{len(broken)} broken internal links:", *broken, sep="\n  ", file=sys.stderr)
        return 1
    print(f"site: {out}/index.html ({pages} pages, built in {seconds:.0f} s; every internal link resolves)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

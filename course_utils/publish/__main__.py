"""python -m course_utils.publish edition DIR [--repo URL]: write the student edition into DIR."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_utils.publish.edition import EditionError, build_edition, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.publish",
                                     description="Publish the course for students.")
    sub = parser.add_subparsers(dest="command", required=True)
    ed = sub.add_parser("edition", help="write the student edition (no solutions, hidden tests or grader)")
    ed.add_argument("dest", type=Path, help="an empty folder, or one holding a previous edition (.git is kept)")
    ed.add_argument("--repo", default=None,
                    help='the student repository, https://github.com/OWNER/NAME (default: [project.urls] '
                         '"Student edition" of pyproject.toml)')
    ed.add_argument("--branch", default="main", help="the student repository's branch for Colab links (main)")
    ed.add_argument("--allow-dirty", action="store_true",
                    help="build from uncommitted changes (to try an edition out, not to publish)")
    ed.add_argument("--root", type=Path, default=Path.cwd(), help="the instructor's repository (default: .)")
    args = parser.parse_args(argv)
    try:
        dest = build_edition(args.root, args.dest, args.repo, branch=args.branch, allow_dirty=args.allow_dirty)
    except EditionError as exc:
        print(f"student-edition: {exc}", file=sys.stderr)
        return 2
    info = summary(dest)
    print(f"student edition written to {dest}: {info['files']} files, {info['bytes'] / 1e6:.1f} MB")
    print(f"publish it: cd {dest} && git add -A && git commit -m 'Update the course' && git push")
    return 0


if __name__ == "__main__":
    sys.exit(main())

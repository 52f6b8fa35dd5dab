"""``python -m course_utils.grader``: the same as ``course-grade``."""
import sys

from course_utils.grader.cli import main

sys.exit(main())

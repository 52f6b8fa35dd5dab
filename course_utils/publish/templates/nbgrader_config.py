"""nbgrader settings for students: what `nbgrader validate` and Lab's Validate button use.

It lives in .jupyter/, which the course's Makefile puts on JUPYTER_CONFIG_PATH (for `make lab`, Lab's
terminals and `make validate`), so that it applies in whatever folder nbgrader runs.
"""
c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

# Each cell may run this long while validating (every notebook runs in about a minute in all).
c.Execute.timeout = 120
# Lines of the terminal's report are cut at this width.
c.Validator.width = 120

# Validate lists every failing test cell. nbgrader would print each cell's whole source (on a blank
# notebook, a dialog of thousands of pixels); the course shows the cell's first line and the error's
# last line, which names the exercise and what differs.
from nbgrader.validator import Validator  # noqa: E402

from course_utils.checks import short_validation_results  # noqa: E402

if not getattr(Validator.validate, "_course_short", False):
    _validate = Validator.validate

    def _short_validate(self, filename):
        return short_validation_results(_validate(self, filename))

    _short_validate._course_short = True
    Validator.validate = _short_validate

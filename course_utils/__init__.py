"""course_utils: the small package every notebook of the course imports.

Submodules, each with one job:

- :mod:`course_utils.data`       datasets that need no download (XOR, blobs, spirals, digits, MNIST-1D,
                                 palindromes, a shipped public-domain text)
- :mod:`course_utils.gradcheck`  numerical gradients and relative errors
- :mod:`course_utils.checks`     assertions for graded cells that explain what differs
- :mod:`course_utils.plotting`   decision boundaries, training curves, the course style
- :mod:`course_utils.training`   a short PyTorch fit loop with a progress bar and a history
- :mod:`course_utils.runtime`    seeds and device
- :mod:`course_utils.grading`    instructor tools on top of nbgrader (generate, submit, autograde, scores)

Importing the package changes nothing global (no seeding, no plot style, no printing) and touches
no network. Submodules are imported on first use so that ``import course_utils`` stays fast.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from course_utils.runtime import get_device, quiet, set_seed

__version__ = "0.1.0"

#: The course repository: the one place its address is written. Notebooks' setup cells and
#: "Open in Colab" links use this value (a test keeps them in step).
COURSE_REPO_URL = "https://github.com/open-deep-learning-course/course"

_SUBMODULES = {"data", "gradcheck", "checks", "plotting", "training", "runtime", "grading"}

__all__ = ["COURSE_REPO_URL", "get_device", "quiet", "set_seed", *sorted(_SUBMODULES)]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from course_utils import checks, data, gradcheck, grading, plotting, runtime, training  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"course_utils.{name}")
    raise AttributeError(f"module 'course_utils' has no attribute {name!r}")

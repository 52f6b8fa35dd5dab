"""Install PyTorch 2.13.0 into the running Python, saying which build and why (make install calls it).

    python tools/install_torch.py cpu       # default: the CPU build from PyTorch's CPU wheel index when it
                                            # answers, else the plain PyPI build (an offline or mirror-only
                                            # machine: pip's own index and wheel folders decide)
    python tools/install_torch.py default   # the plain PyPI build (on Linux x86_64: CUDA, about 2.7 GB)

pip runs without --quiet, so its progress bars show during the download. Nothing is installed when the
pinned version is already there.
"""
from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import urllib.request
from pathlib import Path

VERSION = "2.13.0"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def installed() -> str | None:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def reachable(url: str, timeout: float = 5.0) -> bool:
    """Whether ``url`` answers an HTTP request within ``timeout`` seconds (any status below 500)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url + "/torch/", method="HEAD"), timeout=timeout):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, ValueError):
        return False


def command(build: str, index_up: bool) -> tuple[list[str], str]:
    """The pip command for ``build`` ("cpu" or "default") and a sentence saying what it does."""
    pip = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "on"]
    if Path("constraints.txt").is_file():  # torch's own dependencies at the course's exact versions
        pip += ["-c", "constraints.txt"]
    if build == "cpu" and index_up:
        # the extra index adds the CPU wheels; torch's own dependencies still come from pip's index
        return ([*pip, "--extra-index-url", CPU_INDEX, f"torch=={VERSION}+cpu"],
                f"installing torch {VERSION}, CPU build, from PyTorch's CPU wheel index (about 190 MB)")
    if build == "cpu":
        return ([*pip, f"torch=={VERSION}"],
                f"PyTorch's CPU wheel index does not answer: installing torch {VERSION} from pip's configured index "
                "(on a machine whose index serves the CPU build, that one; on plain PyPI for Linux x86_64, "
                "the CUDA build, about 2.7 GB)")
    return ([*pip, f"torch=={VERSION}"],
            f"TORCH=default: installing torch {VERSION} from PyPI as pip resolves it (on Linux x86_64 the CUDA build, "
            "about 2.7 GB with its nvidia-* packages)")


def main(argv: list[str]) -> int:
    build = argv[0] if argv else "cpu"
    if build not in ("cpu", "default"):
        print(f"install_torch: unknown build {build!r}; use TORCH=cpu (the default) or TORCH=default",
              file=sys.stderr)
        return 2
    have = installed()
    if have is not None and have.split("+")[0] == VERSION:
        print(f"install_torch: torch {have} is already installed")
        return 0
    cmd, what = command(build, build == "cpu" and reachable(CPU_INDEX))
    print(f"install_torch: {what}", flush=True)
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

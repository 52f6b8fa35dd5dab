"""Unit tests for course_utils.runtime: seeds, device, quiet."""
from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from course_utils.runtime import get_device, set_seed


def _draw() -> tuple[float, np.ndarray, torch.Tensor]:
    return random.random(), np.random.random(3), torch.rand(3)


@pytest.mark.parametrize("seed", [0, 7, 2**32 + 5, np.int64(11)])
def test_set_seed_makes_every_generator_repeat(seed: int) -> None:
    set_seed(seed)
    first = _draw()
    _draw()  # move on
    set_seed(seed)
    second = _draw()
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])
    assert torch.equal(first[2], second[2])


def test_set_seed_matches_each_library_seeded_directly() -> None:
    set_seed(42)
    got = _draw()
    random.seed(42)
    np.random.seed(42)
    torch.manual_seed(42)
    want = _draw()
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
    assert torch.equal(got[2], want[2])


def test_different_seeds_differ() -> None:
    set_seed(1)
    a = _draw()
    set_seed(2)
    b = _draw()
    assert a[0] != b[0] and not np.array_equal(a[1], b[1]) and not torch.equal(a[2], b[2])


@pytest.mark.parametrize("seed", [-1, 1.5, "3", None, True, np.float64(2.0)])
def test_set_seed_rejects_bad_seeds(seed: object) -> None:
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        set_seed(seed)  # type: ignore[arg-type]


def test_get_device_is_cpu_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert get_device() == torch.device(expected)
    assert isinstance(get_device(), torch.device)


def test_get_device_honours_prefer_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    assert get_device(prefer="cpu") == torch.device("cpu")
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    monkeypatch.setenv("COURSE_DEVICE", "tpu")
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda', got 'tpu'"):
        get_device()
    assert get_device(prefer="cpu") == torch.device("cpu")  # the argument wins over the environment


@pytest.mark.parametrize("prefer", ["tpu", "gpu", "cuda:0", "CPU"])
def test_get_device_rejects_unknown_devices(prefer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    with pytest.raises(ValueError, match=f"device must be 'cpu' or 'cuda', got '{prefer}'"):
        get_device(prefer=prefer)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_get_device_cuda_without_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    with pytest.raises(ValueError, match="'cuda' was asked for but no GPU is available"):
        get_device(prefer="cuda")
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    with pytest.raises(ValueError, match="no GPU is available"):
        get_device()


def test_get_device_cuda_with_the_gpu_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    # the same error path on a machine with a GPU, by hiding it
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    assert get_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="no GPU is available"):
        get_device(prefer="cuda")


def test_quiet_silences_warnings_for_the_session() -> None:
    # in a subprocess: quiet() changes the process's warning filters on purpose
    code = textwrap.dedent("""
        import warnings
        from course_utils import quiet
        quiet()
        warnings.warn("should not be seen", DeprecationWarning)
        warnings.warn("nor this", UserWarning)
        print("done")
    """)
    out = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout == "done\n" and out.stderr == ""

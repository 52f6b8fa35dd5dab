"""Every lecture's claims hold for seeds 0-2: the stored run is seed 0 (nbval executes it); here each
lecture runs again with every literal seed shifted by 1 and by 2 (benchmarks/seed_sweep.py), and every
claim cell's assert must still hold."""
from __future__ import annotations

import pytest
from conftest import ROOT, load_benchmark

seed_sweep = load_benchmark("seed_sweep")

LECTURES = sorted((ROOT / "lectures").glob("*.ipynb"))


@pytest.mark.parametrize("offset", [1, 2])
@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_lecture_claims_hold_under_another_seed(path, offset):
    _, error = seed_sweep.run(path, offset)
    assert error is None, f"{path.name} with seeds shifted by {offset}: {error}"

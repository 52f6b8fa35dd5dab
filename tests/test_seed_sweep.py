"""benchmarks/seed_sweep.py shifts every literal seed by the same offset and nothing else."""
from __future__ import annotations

from conftest import load_benchmark

seed_sweep = load_benchmark("seed_sweep")


def test_every_seed_form_is_shifted_by_the_offset():
    source = ("set_seed(0)\ntorch.manual_seed(3)\nrng = np.random.default_rng(12)\n"
              "np.random.RandomState( 5)\nX, y = make_xor(200, noise=0.4, seed=7)\ng.manual_seed(0)")
    assert seed_sweep.shift_seeds(source, 2) == (
        "set_seed(2)\ntorch.manual_seed(5)\nrng = np.random.default_rng(14)\n"
        "np.random.RandomState( 7)\nX, y = make_xor(200, noise=0.4, seed=9)\ng.manual_seed(2)")


def test_other_numbers_and_names_are_left_alone():
    source = "steps = 300\nlr = 0.1\nreseed(4)\nmy_seed = 3\nn_seeds=2\nfit(x, seeds=[0, 1])"
    assert seed_sweep.shift_seeds(source, 1) == source

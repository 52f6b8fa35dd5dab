"""Unit tests for the sequence tasks of course_utils.data: palindromes and the shipped texts."""
from __future__ import annotations

import math
import random
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils import data

ROOT = Path(__file__).resolve().parents[1]


def _unpadded(sequences: np.ndarray, lengths: np.ndarray) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in row[:length]) for row, length in zip(sequences, lengths, strict=True)]


def _broken_pairs(seq: tuple[int, ...]) -> list[int]:
    """The depths (0 = the outer pair) of the mirrored pairs of ``seq`` whose digits differ."""
    return [i for i in range(len(seq) // 2) if seq[i] != seq[len(seq) - 1 - i]]


# ---------------------------------------------------------------- make_palindromes

@pytest.mark.parametrize("n, min_len, max_len, vocab", [
    (400, 1, 10, 10),     # the defaults of the lecture and the assignment
    (40, 2, 4, 3),        # a small vocabulary: the short lengths run out of distinct sequences
    (300, 1, 30, 10),     # long sequences: drawn, not enumerated
    (15, 5, 5, 2),        # one length, odd n, 8 of the 8 palindromes
])
def test_palindromes_shapes_labels_and_padding(n: int, min_len: int, max_len: int, vocab: int) -> None:
    sequences, lengths, labels = data.make_palindromes(n, min_len=min_len, max_len=max_len, vocab=vocab, seed=3)
    assert sequences.shape == (n, max_len) and lengths.shape == (n,) and labels.shape == (n,)
    assert sequences.dtype == lengths.dtype == labels.dtype == np.int64
    assert lengths.min() >= min_len and lengths.max() <= max_len
    # the label is computed here, independently: the unpadded digits read the same both ways; a negative
    # is a near-palindrome, exactly one of its mirrored pairs differs
    unpadded = _unpadded(sequences, lengths)
    np.testing.assert_array_equal(labels, [int(seq == seq[::-1]) for seq in unpadded])
    broken = [_broken_pairs(seq) for seq in unpadded]
    assert all(len(b) == 1 for b, label in zip(broken, labels, strict=True) if label == 0), \
        "every negative breaks exactly one mirrored pair"
    for row, length in zip(sequences, lengths, strict=True):
        assert np.all((row[:length] >= 0) & (row[:length] < vocab)), "digits outside 0..vocab-1"
        assert np.all(row[length:] == vocab), "the pad value after a sequence is vocab"
    for length in np.unique(lengths):
        positives, total = labels[lengths == length].sum(), (lengths == length).sum()
        if length == 1:
            assert positives == total, "a single digit is always a palindrome"
        else:
            assert positives == total - total // 2, f"length {length}: {positives} palindromes of {total}"


def test_palindromes_are_distinct_so_no_split_leaks() -> None:
    sequences, lengths, labels = data.make_palindromes(4000, seed=0)
    unpadded = _unpadded(sequences, lengths)
    assert len(set(unpadded)) == len(unpadded)
    train, test = set(unpadded[:3200]), set(unpadded[3200:])
    assert not train & test


def test_palindromes_have_both_classes_at_every_length() -> None:
    sequences, lengths, labels = data.make_palindromes(400, seed=1)
    assert set(lengths.tolist()) == set(range(1, 11))
    assert np.all(labels[lengths == 1] == 1), "every single digit is a palindrome"
    for length in range(2, 11):
        assert set(labels[lengths == length].tolist()) == {0, 1}, f"length {length} lacks a class"
    # lengths are spread evenly where there is room: no length of 5 or more is starved
    counts = np.bincount(lengths, minlength=11)
    assert counts[5:].min() >= 400 // 10 - 2


def test_palindromes_negatives_break_one_pair_at_every_depth() -> None:
    # the broken pair is drawn uniformly from the outer to the inner one, so a rule that checks the outer
    # pairs only cannot pass: at length 10 each of the 5 depths holds about a fifth of the negatives
    sequences, lengths, labels = data.make_palindromes(4000, seed=2)
    negatives = [seq for seq, label in zip(_unpadded(sequences, lengths), labels, strict=True)
                 if label == 0 and len(seq) == 10]
    depths = np.bincount([_broken_pairs(seq)[0] for seq in negatives], minlength=5)
    assert len(depths) == 5 and depths.min() >= 0.15 * len(negatives), depths
    first_equals_last = np.array([seq[0] == seq[-1] for seq in _unpadded(sequences, lengths)])
    accuracy = (first_equals_last == labels)[lengths == 10].mean()
    assert 0.55 < accuracy < 0.65, f"first == last should score about 60% at length 10, got {accuracy:.3f}"


def test_palindromes_negatives_depth_uniform_in_the_enumerated_branch() -> None:
    # length 6 over 10 digits has 10^3 * 3 * 9 = 27,000 near-palindromes, few enough to be enumerated and
    # chosen without replacement (the other branch, tested above, draws the parts): the 3 depths must still
    # each hold about a third of the negatives (all 1,000 palindromes of length 6, 1,000 near-palindromes)
    sequences, lengths, labels = data.make_palindromes(2000, min_len=6, max_len=6, seed=4)
    negatives = [seq for seq, label in zip(_unpadded(sequences, lengths), labels, strict=True) if label == 0]
    assert len(negatives) == 1000
    depths = np.bincount([_broken_pairs(seq)[0] for seq in negatives], minlength=3)
    assert len(depths) == 3 and np.all(np.abs(depths - 1000 / 3) < 60), depths   # 4 standard deviations
    assert all(len(_broken_pairs(seq)) == 1 for seq in negatives)


def test_palindromes_can_use_every_distinct_sequence() -> None:
    # length 2 over 3 symbols: 3 palindromes and 6 others; n = 6 needs all 3 palindromes
    sequences, lengths, labels = data.make_palindromes(6, min_len=2, max_len=2, vocab=3, seed=0)
    assert sorted(_unpadded(sequences[labels == 1], lengths[labels == 1])) == [(0, 0), (1, 1), (2, 2)]
    with pytest.raises(ValueError, match="too large"):
        data.make_palindromes(7, min_len=2, max_len=2, vocab=3)
    # length 3 over 2 symbols: 4 palindromes and 4 near-palindromes (the last digit changed); n = 8 takes all
    sequences, lengths, labels = data.make_palindromes(8, min_len=3, max_len=3, vocab=2, seed=0)
    assert sorted(_unpadded(sequences[labels == 0], lengths[labels == 0])) == [
        (0, 0, 1), (0, 1, 1), (1, 0, 0), (1, 1, 0)]


def test_palindromes_are_deterministic_and_seeded() -> None:
    first, second = data.make_palindromes(300, seed=5), data.make_palindromes(300, seed=5)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    other = data.make_palindromes(300, seed=6)
    assert not np.array_equal(first[0], other[0])


def test_palindromes_leave_global_random_state_alone() -> None:
    np.random.seed(123)
    random.seed(123)
    torch.manual_seed(123)
    expected = (np.random.random(), random.random(), torch.rand(1).item())
    np.random.seed(123)
    random.seed(123)
    torch.manual_seed(123)
    data.make_palindromes(500, max_len=20, seed=9)
    assert (np.random.random(), random.random(), torch.rand(1).item()) == expected


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0), "n must be"),
    (dict(n=2.5), "n must be"),
    (dict(n=True), "n must be"),
    (dict(n=10, min_len=0), "min_len must be"),
    (dict(n=10, min_len=5, max_len=4), "max_len must be >= min_len"),
    (dict(n=10, vocab=1), "vocab must be"),
    (dict(n=2, min_len=1, max_len=1), "max_len must be"),  # a single digit is never a non-palindrome
    (dict(n=10**6, max_len=3), "too large"),
])
def test_palindromes_reject_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        data.make_palindromes(**kwargs)


# ---------------------------------------------------------------- load_text

def test_load_text_returns_the_shipped_chapter() -> None:
    assert "pride_and_prejudice" in data.available_texts()
    text = data.load_text("pride_and_prejudice")
    assert text == data.load_text()  # the default
    assert text.startswith("It is a truth universally acknowledged, that a single man in possession")
    assert text.rstrip().endswith("its solace was visiting and news.")
    assert 3_000 < len(text) < 20_000 and text.isascii()


def test_load_text_names_the_available_texts_on_a_bad_name() -> None:
    with pytest.raises(ValueError, match="no text named 'war_and_peace'; available: .*pride_and_prejudice"):
        data.load_text("war_and_peace")
    with pytest.raises(ValueError, match="available"):
        data.load_text("../pyproject")


def test_texts_are_package_data() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "texts/*.txt" in package_data["course_utils"]
    for name in data.available_texts():
        assert (ROOT / "course_utils" / "texts" / f"{name}.txt").is_file()


def test_split_text_holds_out_the_end_from_a_line_start():
    from course_utils.data import load_text, split_text

    text = load_text()
    train, val = split_text(text, 0.1)
    assert train + val == text
    assert train[-1].isspace() and not val[0].isspace()
    assert 0.09 * len(text) <= len(val) <= 0.1 * len(text)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, "0.1"])
def test_split_text_rejects_a_fraction_outside_zero_one(fraction):
    from course_utils.data import split_text

    with pytest.raises(ValueError, match="val_fraction"):
        split_text("abc\ndef\n", fraction)


def test_split_text_refuses_to_leave_a_part_empty():
    from course_utils.data import split_text

    with pytest.raises(ValueError, match="empty"):
        split_text("ab", 0.1)


def test_unigram_bits_is_the_add_one_smoothed_cross_entropy():
    from course_utils.data import unigram_bits

    # alphabet {a, b, c}; training counts a:3, b:1, c:0 -> smoothed 4/7, 2/7, 1/7
    expected = -(math.log2(4 / 7) + math.log2(1 / 7)) / 2
    assert unigram_bits("aaab", "ac") == pytest.approx(expected, rel=1e-12)
    assert unigram_bits("abab", "abab") == pytest.approx(1.0, rel=1e-12)   # two equally likely characters


def test_unigram_bits_refuses_an_empty_validation_text():
    from course_utils.data import unigram_bits

    with pytest.raises(ValueError, match="empty"):
        unigram_bits("abc", "")

"""Small, offline, deterministic datasets.

Every function takes a ``seed`` and uses its own ``numpy.random.Generator``, so calling it never
changes global random state, and the same arguments always give the same arrays. Labels are
integer arrays (``int64``); inputs are ``float64`` unless stated.
"""
from __future__ import annotations

import random
import re

import numpy as np

XOR_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_LABELS = np.array([0, 1, 1, 0])


def _check_positive_int(name: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_non_negative(name: str, value: float) -> float:
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def make_xor(n: int = 4, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: points near the corners of the unit square, label 1 where exactly one
    coordinate is 1.

    With ``n=4`` and ``noise=0`` this is the truth table, in the order (0,0), (0,1), (1,0), (1,1).
    For larger ``n`` the corners are used in turn (so the classes stay balanced), shuffled, and
    moved by Gaussian noise of standard deviation ``noise``.

    Returns:
        X: (n, 2) float64, y: (n,) int64 in {0, 1}.

    Raises:
        ValueError: ``n`` < 1 or ``noise`` negative.
    """
    n = _check_positive_int("n", n)
    noise = _check_non_negative("noise", noise)
    rng = np.random.default_rng(seed)
    idx = np.arange(n) % 4
    if n > 4:
        idx = rng.permutation(idx)
    X = XOR_CORNERS[idx] + noise * rng.standard_normal((n, 2))
    return X, XOR_LABELS[idx].astype(np.int64)


def make_blobs(
    n: int = 100, margin: float = 0.5, dim: int = 2, spread: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two Gaussian blobs that a hyperplane through the origin separates with a known margin.

    A unit normal ``w`` is drawn at random; class 1 lies on its positive side, class 0 on its
    negative side, and every point is at distance at least ``margin`` from the hyperplane
    ``w . x = 0`` (points closer than that are redrawn). This is the setting of the perceptron
    convergence theorem: ``gamma >= margin`` and ``R = max ||x||``.

    Args:
        n: number of points (the classes differ in size by at most one).
        margin: the guaranteed distance from every point to the separating hyperplane.
        dim: input dimension (>= 1).
        spread: standard deviation of each blob around its centre ``+-(margin + spread) w``.

    Returns:
        X: (n, dim) float64, y: (n,) int64 in {0, 1}, w: (dim,) unit normal with
        ``(2 y - 1) * (X @ w) >= margin`` for every row.

    Raises:
        ValueError: for a non-positive ``n`` or ``dim``, a negative margin, or ``spread`` <= 0.
    """
    n = _check_positive_int("n", n)
    dim = _check_positive_int("dim", dim)
    margin = _check_non_negative("margin", margin)
    if not spread > 0:
        raise ValueError(f"spread must be > 0, got {spread!r}")
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(dim)
    w /= np.linalg.norm(w)
    y = (np.arange(n) % 2).astype(np.int64)
    sign = 2.0 * y - 1.0
    X = np.empty((n, dim))
    todo = np.arange(n)
    while todo.size:  # rejection sampling: about 1 in 3 draws is kept even in the worst case
        cand = sign[todo, None] * (margin + spread) * w + spread * rng.standard_normal((todo.size, dim))
        ok = sign[todo] * (cand @ w) >= margin
        X[todo[ok]] = cand[ok]
        todo = todo[~ok]
    perm = rng.permutation(n)
    return X[perm], y[perm], w


def make_spirals(
    n: int = 300, classes: int = 2, noise: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spirals in the plane, one arm per class: not linearly separable.

    Returns:
        X: (n, 2) float64 roughly inside [-1, 1]^2, y: (n,) int64 in {0, ..., classes - 1}.

    Raises:
        ValueError: ``n`` < ``classes``, ``classes`` < 2, or ``noise`` negative.
    """
    classes = _check_positive_int("classes", classes, minimum=2)
    n = _check_positive_int("n", n, minimum=classes)
    noise = _check_non_negative("noise", noise)
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % classes).astype(np.int64)
    r = rng.uniform(0.05, 1.0, n)
    theta = 4.0 * r + 2.0 * np.pi * y / classes + noise * rng.standard_normal(n)
    X = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    perm = rng.permutation(n)
    return X[perm], y[perm]


def load_digits(
    seed: int = 0, test_size: float = 0.25
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 handwritten digits (1,797 images, no download), scaled to [0, 1].

    Returns:
        X_train (n_train, 64), X_test (n_test, 64) float32 in [0, 1] (reshape to (-1, 8, 8) for
        images), y_train (n_train,), y_test (n_test,) int64 in 0..9. The split is stratified and
        fixed by ``seed``.

    Raises:
        ValueError: ``test_size`` not strictly between 0 and 1.
    """
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be between 0 and 1 (exclusive), got {test_size!r}")
    from sklearn.datasets import load_digits as _sk_load_digits
    from sklearn.model_selection import train_test_split

    bunch = _sk_load_digits()
    X = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y
    )
    return X_train, X_test, y_train, y_test


def make_mnist1d(
    num_samples: int = 5000, seed: int = 42, train_split: float = 0.8
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST-1D (Greydanus, 2020): ten classes of length-40 signals, generated offline.

    Uses the ``mnist1d`` package's ``make_dataset`` (its ``get_dataset`` would try the network).
    ``make_dataset`` reseeds NumPy's global generator and Python's ``random``; both states are restored
    afterwards, so calling this changes nothing outside.

    Returns:
        X_train (n_train, 40), X_test (n_test, 40) float32, y_train, y_test int64 in 0..9.

    Raises:
        ValueError: ``num_samples`` < 10 or ``train_split`` not strictly between 0 and 1.
    """
    num_samples = _check_positive_int("num_samples", num_samples, minimum=10)
    if not 0 < train_split < 1:
        raise ValueError(f"train_split must be between 0 and 1 (exclusive), got {train_split!r}")
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed, args.train_split = num_samples, seed, train_split
    state, py_state = np.random.get_state(), random.getstate()
    try:
        d = make_dataset(args)
    finally:
        np.random.set_state(state)
        random.setstate(py_state)
    return (d["x"].astype(np.float32), d["x_test"].astype(np.float32),
            d["y"].astype(np.int64), d["y_test"].astype(np.int64))


# ---------------------------------------------------------------- sequence tasks

def _water_fill(total: int, capacities: list[int]) -> list[int]:
    """Split ``total`` over bins as evenly as possible without exceeding any bin's capacity."""
    counts = [0] * len(capacities)
    open_bins = [i for i, c in enumerate(capacities) if c > 0]
    left = total
    while left > 0 and open_bins:
        share, extra = divmod(left, len(open_bins))
        for rank, i in enumerate(open_bins):
            counts[i] += share + (1 if rank < extra else 0)
        left = 0
        for i in open_bins:  # give back what a bin cannot hold; it goes to the bins with room
            if counts[i] > capacities[i]:
                left += counts[i] - capacities[i]
                counts[i] = capacities[i]
        open_bins = [i for i in open_bins if counts[i] < capacities[i]]
    return counts


def _palindrome_rows(rng: np.random.Generator, k: int, length: int, vocab: int, broken: bool) -> np.ndarray:
    """``k`` distinct sequences of ``length`` digits in 0..vocab-1: palindromes, or near-palindromes.

    A near-palindrome (``broken=True``) is a palindrome whose right-hand digit of exactly one mirrored
    pair, at a depth drawn uniformly from 0 (the outer pair) to ``length // 2 - 1`` (the inner pair), is
    replaced by another digit. Each sequence is made from three parts: the free left digits, the depth
    and the shift (1..vocab-1) of the changed digit; a sequence determines its parts, so distinct parts
    give distinct sequences.
    """
    free, half = (length + 1) // 2, length // 2
    variants = half * (vocab - 1) if broken else 1
    space = vocab ** free * variants               # a Python int: no overflow for long sequences
    if k == 0:
        return np.zeros((0, length), dtype=np.int64)
    if space <= 50_000:  # small: enumerate the codes and choose without replacement
        codes = rng.choice(space, size=k, replace=False).astype(np.int64)
        left = (codes[:, None] // variants // vocab ** np.arange(free - 1, -1, -1, dtype=np.int64)) % vocab
        depth, shift = (codes % variants) // max(vocab - 1, 1), (codes % variants) % max(vocab - 1, 1) + 1
    else:  # large: draw the parts, keep the new ones (repeats are rare at this size)
        seen: set[bytes] = set()
        parts: list[np.ndarray] = []
        while len(parts) < k:
            draw = np.concatenate([rng.integers(0, vocab, size=(2 * k, free)),
                                   rng.integers(0, max(half, 1), size=(2 * k, 1)),
                                   rng.integers(1, vocab, size=(2 * k, 1))], axis=1).astype(np.int64)
            if not broken:
                draw[:, free:] = (0, 1)
            for row in draw:
                if row.tobytes() not in seen:
                    seen.add(row.tobytes())
                    parts.append(row)
                    if len(parts) == k:
                        break
        stacked = np.stack(parts)
        left, depth, shift = stacked[:, :free], stacked[:, free], stacked[:, free + 1]
    rows = np.concatenate([left, left[:, :half][:, ::-1]], axis=1)   # (k, length) palindromes
    if broken:
        where = length - 1 - depth                                    # the right-hand digit of the pair
        rows[np.arange(k), where] = (rows[np.arange(k), where] + shift) % vocab
    return rows


def make_palindromes(
    n: int, min_len: int = 1, max_len: int = 10, vocab: int = 10, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Digit sequences labelled 1 when they read the same both ways, 0 when exactly one mirrored pair
    differs: (1,2,3,2,1) -> 1, (1,2,3,4,1) -> 0.

    The negatives are *near-palindromes*: a palindrome whose right-hand digit of one mirrored pair, at a
    depth drawn uniformly from the outer pair to the inner one, is changed to another digit. A
    classifier therefore has to compare every pair: a rule that checks only the first and last digits
    scores 1/2 + 1/(2 * (L // 2)) at length L (60% at length 10), not the about 95% it would score
    against random strings of 10 digits (right on every palindrome and on the 9 in 10 random strings whose
    ends differ).

    All ``n`` sequences are distinct, so any split of them into a training and a test set shares no
    sequence. Lengths are spread as evenly as the number of distinct sequences of each length allows
    (there are only ``vocab`` palindromes of length 2, for example). At every length >= 2 the classes are
    balanced: ``ceil(k / 2)`` palindromes and ``floor(k / 2)`` near-palindromes among the ``k`` sequences
    of that length. A single digit is always a palindrome, so length 1 (at most ``vocab`` sequences)
    holds positives only. The order is shuffled.

    Args:
        n: number of sequences (>= 1).
        min_len, max_len: the range of lengths, inclusive (1 <= min_len <= max_len, max_len >= 2).
        vocab: number of symbols (>= 2); digits are 0..vocab-1.
        seed: for the function's own ``numpy.random.Generator``; global random state is untouched.

    Returns:
        sequences: (n, max_len) int64; row i holds its digits in ``sequences[i, :lengths[i]]`` and the
        pad value ``vocab`` after them (one past the last digit: an embedding of ``vocab + 1`` rows, or
        a mask from ``lengths``, handles it).
        lengths: (n,) int64 in [min_len, max_len].
        labels: (n,) int64, 1 for a palindrome, 0 for a near-palindrome.

    Raises:
        ValueError: a bad argument, ``max_len`` of 1 (no negatives exist), or ``n`` larger than the
        number of distinct sequences that the lengths and the vocabulary allow with balanced classes.
    """
    n = _check_positive_int("n", n)
    min_len = _check_positive_int("min_len", min_len)
    max_len = _check_positive_int("max_len", max_len, minimum=2)
    vocab = _check_positive_int("vocab", vocab, minimum=2)
    if max_len < min_len:
        raise ValueError(f"max_len must be >= min_len, got min_len={min_len}, max_len={max_len}")
    lengths_range = list(range(min_len, max_len + 1))
    # a length of L >= 2 has vocab ** ceil(L/2) palindromes and more near-palindromes: balanced classes
    # allow twice the palindromes; a length of 1 allows its vocab palindromes only
    capacity = [vocab if L == 1 else 2 * min(vocab ** ((L + 1) // 2), 10 ** 12) for L in lengths_range]
    if n > sum(capacity):
        raise ValueError(
            f"n={n} is too large: lengths {min_len}..{max_len} over {vocab} symbols allow only "
            f"{sum(capacity)} distinct sequences with the classes balanced at every length")
    rng = np.random.default_rng(seed)
    sequences = np.full((n, max_len), vocab, dtype=np.int64)
    lengths = np.empty(n, dtype=np.int64)
    labels = np.empty(n, dtype=np.int64)
    row = 0
    for L, k in zip(lengths_range, _water_fill(n, capacity), strict=True):
        k_pos = k if L == 1 else k - k // 2
        for label, count in ((1, k_pos), (0, k - k_pos)):
            sequences[row:row + count, :L] = _palindrome_rows(rng, count, L, vocab, broken=not label)
            lengths[row:row + count] = L
            labels[row:row + count] = label
            row += count
    perm = rng.permutation(n)
    return sequences[perm], lengths[perm], labels[perm]


def available_texts() -> list[str]:
    """The names :func:`load_text` accepts: the ``.txt`` files shipped in ``course_utils/texts/``."""
    from importlib.resources import files

    return sorted(p.name[:-4] for p in files("course_utils").joinpath("texts").iterdir()
                  if p.name.endswith(".txt"))


def load_text(name: str = "pride_and_prejudice") -> str:
    """A short public-domain text shipped inside the package (no download), for character-level models.

    Available texts:

    - ``"pride_and_prejudice"``: Jane Austen, *Pride and Prejudice* (1813), chapter 1 in full (about
      4,500 characters, ASCII). Published more than two centuries ago by an author who died in 1817, it
      is in the public domain everywhere.

    Args:
        name: one of :func:`available_texts`.

    Returns:
        the text as one string (lines separated by ``"\\n"``).

    Raises:
        ValueError: ``name`` is not a shipped text (the message lists the available names).
    """
    from importlib.resources import files

    names = available_texts()
    if not isinstance(name, str) or name not in names:
        raise ValueError(f"no text named {name!r}; available: {', '.join(names)}")
    return files("course_utils").joinpath("texts", f"{name}.txt").read_text(encoding="utf-8")


def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """Split a text into a training part and a held-out validation part (its end), for language models.

    The cut is at the start of the first word at or after ``(1 - val_fraction) * len(text)`` (at that
    index if no whitespace follows), so the validation text begins a word and no character is in both
    parts. Topics 04 (LSTM) and 05
    (Transformer) use the same split, so their validation bits per character compare.

    Args:
        text: the whole text, for example ``load_text()``.
        val_fraction: the share held out, in (0, 1).

    Returns:
        ``(train, val)``, with ``train + val == text``.

    Raises:
        ValueError: ``val_fraction`` is not in (0, 1), or the split leaves either part empty.
    """
    if not isinstance(val_fraction, (int, float)) or not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    cut = int(round((1 - val_fraction) * len(text)))
    space = re.search(r"\s", text[cut:])
    if space is not None:
        cut += space.end()
    train, val = text[:cut], text[cut:]
    if not train or not val:
        raise ValueError(f"splitting {len(text)} characters at {val_fraction} leaves an empty part")
    return train, val


def unigram_bits(train: str, val: str) -> float:
    """The unigram baseline of a character language model, in bits per character.

    Each character gets its training frequency, add-one smoothed over the alphabet of both texts (so a
    character absent from ``train`` still has a probability); the result is the mean of
    ``-log2 p(c)`` over the characters ``c`` of ``val``. A model that uses context should beat it on
    held-out text.

    Args:
        train: the text the frequencies are counted on.
        val: the text scored, for example the second part of :func:`split_text`.

    Returns:
        bits per character of ``val`` (at most ``log2`` of the alphabet size plus the smoothing's cost).

    Raises:
        ValueError: ``val`` is empty.
    """
    if not val:
        raise ValueError("val is empty: there is nothing to score")
    alphabet = sorted(set(train) | set(val))
    index = {c: k for k, c in enumerate(alphabet)}
    counts = np.bincount([index[c] for c in train], minlength=len(alphabet)).astype(np.float64) + 1.0
    log_p = np.log2(counts / counts.sum())
    return float(-log_p[[index[c] for c in val]].mean())

"""Energy distance against a brute-force U-statistic, its null behaviour, a closed form, and bad input."""

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist
from scipy.stats import norm

from probmods.metrics import energy_distance


def brute_force(x, y):
    """2 mean_{i,j} |x_i - y_j| - mean_{i != i'} |x_i - x_i'| - mean_{j != j'} |y_j - y_j'|, one pair at a time."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    cross = sum(math.dist(a, b) for a in x for b in y) / (len(x) * len(y))
    within_x = sum(math.dist(a, b) for a, b in itertools.permutations(x, 2)) / (len(x) * (len(x) - 1))
    within_y = sum(math.dist(a, b) for a, b in itertools.permutations(y, 2)) / (len(y) * (len(y) - 1))
    return 2 * cross - within_x - within_y


def by_cdist(x, y):
    dxx, dyy = cdist(x, x), cdist(y, y)
    n, m = len(x), len(y)
    return 2 * cdist(x, y).mean() - dxx.sum() / (n * (n - 1)) - dyy.sum() / (m * (m - 1))


def permutation_null(x, y, n_perm, seed):
    """Energy distances between random splits of the pooled sample (the null distribution)."""
    rng = np.random.default_rng(seed)
    z = np.concatenate([x, y])
    out = []
    for _ in range(n_perm):
        p = rng.permutation(len(z))
        out.append(energy_distance(z[p[: len(x)]], z[p[len(x):]]))
    return np.array(out)


def expected_abs_normal(m, v):
    """E|N(m, v)|, the mean of a folded normal."""
    s = math.sqrt(v)
    return s * math.sqrt(2 / math.pi) * math.exp(-(m**2) / (2 * v)) + m * (1 - 2 * norm.cdf(-m / s))


def exact_1d_gaussians(m1, s1, m2, s2):
    """D^2 between N(m1, s1^2) and N(m2, s2^2) in 1-D."""
    return (2 * expected_abs_normal(m2 - m1, s1**2 + s2**2) - expected_abs_normal(0, 2 * s1**2)
            - expected_abs_normal(0, 2 * s2**2))


# --- formula --------------------------------------------------------------------


@pytest.mark.parametrize(("n", "m", "d"), [(2, 2, 1), (5, 7, 2), (9, 4, 3), (6, 6, 5)])
def test_equals_brute_force(n, m, d):
    rng = np.random.default_rng(n * 100 + m * 10 + d)
    x, y = rng.normal(size=(n, d)), rng.normal(0.3, 1.4, size=(m, d))
    assert energy_distance(x, y) == pytest.approx(brute_force(x, y), rel=1e-12, abs=1e-14)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 8), st.integers(2, 8), st.integers(1, 3), st.integers(0, 2**31 - 1), st.floats(0.01, 100.0))
def test_equals_brute_force_property(n, m, d, seed, scale):
    rng = np.random.default_rng(seed)
    x, y = scale * rng.normal(size=(n, d)), scale * rng.standard_t(3, size=(m, d))
    assert energy_distance(x, y) == pytest.approx(brute_force(x, y), rel=1e-10, abs=1e-12 * scale)


def test_blocks_do_not_change_the_result():
    """More than 2048 points are processed in blocks."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2500, 2)), rng.normal(0.1, 1.0, size=(300, 2))
    assert energy_distance(x, y) == pytest.approx(by_cdist(x, y), rel=1e-10)
    assert energy_distance(y, x) == pytest.approx(by_cdist(x, y), rel=1e-10)


def test_duplicated_points_and_identical_samples():
    x = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 2.0]])
    assert energy_distance(x, x) == pytest.approx(brute_force(x, x), abs=1e-15)
    # with a U-statistic, a sample against itself is not exactly 0: 2 mean |x - x'| over all pairs
    # (zeros on the diagonal included) minus twice the mean over distinct pairs
    assert energy_distance(x, x) < 0


def test_symmetric():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 3)), rng.normal(0.5, 2.0, size=(25, 3))
    assert energy_distance(x, y) == pytest.approx(energy_distance(y, x), rel=1e-13)


def test_invariant_under_rigid_motions_and_homogeneous_under_scaling():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(30, 2)), rng.normal(0.5, 1.5, size=(20, 2))
    a = 0.7
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shift = np.array([3.0, -7.0])
    base = energy_distance(x, y)
    assert energy_distance(x @ rot.T + shift, y @ rot.T + shift) == pytest.approx(base, rel=1e-12)
    assert energy_distance(4.0 * x, 4.0 * y) == pytest.approx(4.0 * base, rel=1e-12)


def test_accepts_torch_and_lists():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(10, 2)), rng.normal(size=(12, 2))
    ref = energy_distance(x, y)
    assert isinstance(ref, float)
    assert energy_distance(torch.from_numpy(x), torch.from_numpy(y).float()) == pytest.approx(ref, rel=1e-6)
    assert energy_distance(x.tolist(), y.tolist()) == pytest.approx(ref, rel=1e-15)


# --- statistics -----------------------------------------------------------------


def test_same_distribution_is_within_permutation_noise():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(250, 2)), rng.normal(size=(250, 2))
    null = permutation_null(x, y, 99, seed=5)
    d = energy_distance(x, y)
    assert abs(d) < np.quantile(np.abs(null), 0.99)
    assert abs(d) < 0.02  # the noise at n = 250 is of order 1/n


def test_unbiased_under_the_null():
    """The U-statistic has mean exactly 0 when P = Q; a V-statistic (n^2 denominators) would be biased by ~2/n."""
    rng = np.random.default_rng(6)
    n, reps = 8, 2000
    vals = np.array([energy_distance(rng.normal(size=(n, 2)), rng.normal(size=(n, 2))) for _ in range(reps)])
    se = vals.std(ddof=1) / math.sqrt(reps)
    assert abs(vals.mean()) < 4 * se
    # the bias of the V-statistic, 2/n E|X - X'| = 2/n * sqrt(pi) for N(0, I_2), would be far outside
    assert 2 / n * math.sqrt(math.pi) > 10 * se


@pytest.mark.parametrize(("shift", "scale"), [(0.5, 1.0), (0.0, 1.5), (1.0, 2.0)], ids=["shifted", "scaled", "both"])
def test_different_distributions_are_clearly_positive(shift, scale):
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(250, 2)), rng.normal(shift, scale, size=(250, 2))
    null = permutation_null(x, y, 49, seed=8)
    d = energy_distance(x, y)
    assert d > 0.03
    assert d > 3 * null.max()


@pytest.mark.parametrize(("m2", "s2"), [(0.7, 1.0), (0.0, 2.0), (-1.5, 0.5)])
def test_matches_the_closed_form_for_1d_gaussians(m2, s2):
    """Averaged over independent replicates, with the tolerance from the replicates' standard error.

    (Only for P != Q, where the estimator is asymptotically normal; under the null it is a skewed
    degenerate U-statistic, checked by ``test_unbiased_under_the_null`` instead.)
    """
    rng = np.random.default_rng(9)
    n, reps = 1000, 12
    vals = np.array([energy_distance(rng.normal(size=(n, 1)), rng.normal(m2, s2, size=(n, 1))) for _ in range(reps)])
    truth = exact_1d_gaussians(0.0, 1.0, m2, s2)
    se = vals.std(ddof=1) / math.sqrt(reps)
    assert vals.mean() == pytest.approx(truth, abs=4 * se)
    assert truth > 0.1 and 4 * se < 0.2 * truth  # the check is sharp


# --- bad input ------------------------------------------------------------------

BAD = [
    ("mismatched dimensions", np.zeros((4, 2)), np.zeros((4, 3)), ValueError, r"y must have shape \(n, 2\)"),
    ("nan in x", np.array([[0.0, np.nan], [1.0, 1.0]]), np.zeros((3, 2)), ValueError, "x must be finite"),
    ("inf in y", np.zeros((3, 2)), np.array([[0.0, np.inf], [1.0, 1.0]]), ValueError, "y must be finite"),
    ("one point in x", np.zeros((1, 2)), np.zeros((3, 2)), ValueError, "at least two points"),
    ("one point in y", np.zeros((3, 2)), np.zeros((1, 2)), ValueError, "at least two points"),
    ("empty x", np.zeros((0, 2)), np.zeros((3, 2)), ValueError, "x must contain at least one point"),
    ("1-d x", np.zeros(3), np.zeros((3, 1)), ValueError, "x must have shape"),
    ("3-d y", np.zeros((3, 2)), np.zeros((3, 2, 1)), ValueError, "y must have shape"),
    ("string x", "abc", np.zeros((3, 2)), TypeError, "x must be an array of numbers"),
    ("None y", np.zeros((3, 2)), None, TypeError, "y must be an array of numbers"),
    ("complex x", np.zeros((3, 2), dtype=complex), np.zeros((3, 2)), TypeError, "x must be real-valued"),
    ("ragged y", np.zeros((3, 2)), [[0.0, 1.0], [1.0]], ValueError, "y must be a rectangular array"),
]


@pytest.mark.parametrize(("x", "y", "exc", "match"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input(x, y, exc, match):
    with pytest.raises(exc, match=match):
        energy_distance(x, y)

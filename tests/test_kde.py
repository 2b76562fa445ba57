"""KDE against a literal transcription of the handout's formula, and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probmods.datasets import kde_density
from probmods.grids import Grid2D
from probmods.kde import (
    bandwidth_matrix,
    cv_bandwidth,
    integrated_absolute_error,
    integrated_squared_error,
    kde,
    kde_grid,
    loo_log_likelihood,
    scott_bandwidth,
    silverman_bandwidth,
)


def brute_force(samples, points, H):
    """f_hat(x) = 1/(N |H|) sum_i K(H^-1 (x_i - x)), K(u) = k(u1) k(u2), one point at a time."""
    H = np.asarray(H, dtype=float)
    out = np.empty(len(points))
    for j, p in enumerate(points):
        total = 0.0
        for xi in samples:
            u = np.linalg.solve(H, xi - p)
            total += math.exp(-u[0] ** 2 / 2) / math.sqrt(2 * math.pi) * math.exp(-u[1] ** 2 / 2) / math.sqrt(
                2 * math.pi
            )
        out[j] = total / (len(samples) * abs(np.linalg.det(H)))
    return out


def rotation(a):
    return np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])


H_CASES = {
    "hI small": 0.1 * np.eye(2),
    "hI": 0.7 * np.eye(2),
    "diagonal": np.diag([0.3, 1.2]),
    "full": rotation(0.4) @ np.diag([0.5, 0.15]) @ rotation(0.4).T,
}


@pytest.fixture(scope="module")
def data():
    return kde_density("GMM-A").sample(150, seed=3)


@pytest.mark.parametrize("name", list(H_CASES))
def test_kde_scattered_points_equal_brute_force(data, name):
    rng = np.random.default_rng(1)
    pts = rng.uniform(-1.5, 3.5, size=(40, 2))
    H = H_CASES[name]
    np.testing.assert_allclose(kde(data, pts, H, chunk_size=7), brute_force(data, pts, H), rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("name", list(H_CASES))
def test_kde_grid_equals_brute_force(data, name):
    g = Grid2D((-1.5, 3.5), (-1, 3), nx=9, ny=7)
    H = H_CASES[name]
    got = kde_grid(data, g, H, chunk_size=64)
    assert got.shape == (7, 9)
    np.testing.assert_allclose(got.ravel(), brute_force(data, g.points, H), rtol=1e-10, atol=1e-300)


def test_scalar_h_means_h_identity(data):
    pts = data[:5] + 0.1
    np.testing.assert_allclose(kde(data, pts, 0.4), kde(data, pts, 0.4 * np.eye(2)), rtol=1e-14)


def test_grid_accepts_axis_pair(data):
    xs, ys = np.linspace(-1, 3, 5), np.linspace(-2, 2, 4)
    g = kde_grid(data, (xs, ys), 0.5)
    X, Y = np.meshgrid(xs, ys)
    np.testing.assert_allclose(g.ravel(), kde(data, np.column_stack([X.ravel(), Y.ravel()]), 0.5), rtol=1e-12)


@pytest.mark.parametrize("H", [0.2, 0.6, np.diag([0.3, 0.8]), H_CASES["full"]])
def test_kde_integrates_to_one(data, H):
    g = Grid2D((-5, 7), (-5, 7), 240, 240)
    assert g.integrate(kde_grid(data, g, H)) == pytest.approx(1.0, abs=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    st.floats(0.05, 2.0),
    st.floats(0.05, 2.0),
    st.floats(-1.5, 1.5),
    st.lists(st.tuples(st.floats(-3, 3), st.floats(-3, 3)), min_size=1, max_size=12),
)
def test_general_kde_matches_brute_force_property(a, b, angle, pts):
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(30, 2))
    H = rotation(angle) @ np.diag([a, b]) @ rotation(angle).T
    H = (H + H.T) / 2
    pts = np.array(pts, dtype=float)
    np.testing.assert_allclose(kde(samples, pts, H), brute_force(samples, pts, H), rtol=1e-9, atol=1e-300)


def test_kde_converges_to_truth():
    d = kde_density("GMM-B")
    g = Grid2D((-5, 7), (-5, 7), 120, 120)
    f = d.pdf(g.points)
    errs = [integrated_absolute_error(f, kde_grid(d.sample(n, seed=5), g, scott_bandwidth(d.sample(n, seed=5))), g)
            for n in (200, 5000)]
    assert errs[1] < 0.6 * errs[0]


def test_rules_of_thumb():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 2)) * 2.0
    assert scott_bandwidth(x) == pytest.approx(2.0 * 4000 ** (-1 / 6), rel=0.05)
    assert silverman_bandwidth(x) == pytest.approx(scott_bandwidth(x), rel=1e-12)  # d = 2
    x3 = rng.normal(size=(4000, 3))
    assert silverman_bandwidth(x3) == pytest.approx(scott_bandwidth(x3) * (5 / 4) ** (-1 / 7), rel=1e-12)


def test_loo_log_likelihood_equals_direct_sum(data):
    hs = np.array([0.05, 0.3, 1.0])
    got = loo_log_likelihood(data, hs, block_size=32)
    for h, value in zip(hs, got, strict=True):
        vals = []
        for i in range(len(data)):
            rest = np.delete(data, i, axis=0)
            vals.append(math.log(brute_force(rest, data[i : i + 1], h * np.eye(2))[0]))
        assert value == pytest.approx(np.mean(vals), rel=1e-10)


def test_loo_log_likelihood_does_not_underflow(data):
    value = loo_log_likelihood(data, 1e-3)
    assert np.isfinite(value)
    assert value < loo_log_likelihood(data, 0.1)


def test_cv_bandwidth_maximises_the_criterion():
    x = kde_density("GMM-A").sample(800, seed=2)
    res = cv_bandwidth(x)
    assert res.hs.min() <= res.h <= res.hs.max()
    around = loo_log_likelihood(x, [res.h * 0.9, res.h * 1.1])
    assert res.score >= around.max() - 1e-9
    assert res.score == pytest.approx(float(loo_log_likelihood(x, res.h)), rel=1e-12)


def test_errors_between_densities():
    g = Grid2D((0, 1), (0, 1), 4, 4)
    a, b = np.ones(16), np.zeros(16)
    assert integrated_absolute_error(a, b, g) == pytest.approx(1.0)
    assert integrated_squared_error(2 * a, b, g) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="f_true"):
        integrated_absolute_error(a * np.nan, b, g)


# --- bad input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("H", "match"),
    [
        (0.0, "H must be a finite number > 0"),
        (-1.0, "H must be a finite number > 0"),
        (float("nan"), "H must be a finite number > 0"),
        (np.zeros((2, 2)), "H is singular"),
        (np.array([[1.0, 1.0], [1.0, 1.0]]), "H is singular"),
        (np.array([[1.0, 0.2], [0.0, 1.0]]), "H must be symmetric"),
        (np.array([[1.0, 0.0], [0.0, -1.0]]), "H must be positive definite"),
        (np.eye(3), r"H must be a scalar or have shape \(2, 2\)"),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), "H must be finite"),
    ],
)
def test_bad_bandwidth(H, match):
    with pytest.raises(ValueError, match=match):
        bandwidth_matrix(H)
    with pytest.raises(ValueError, match=match):
        kde(np.zeros((3, 2)), np.zeros((1, 2)), H)
    with pytest.raises(ValueError, match=match):
        kde_grid(np.zeros((3, 2)), Grid2D((0, 1), (0, 1), 2, 2), H)


def test_bad_bandwidth_type():
    with pytest.raises(TypeError, match="H"):
        bandwidth_matrix("wide")


@pytest.mark.parametrize(
    ("samples", "exc", "match"),
    [
        (np.zeros((5, 3)), ValueError, r"samples must have shape \(n, 2\)"),
        (np.zeros(5), ValueError, "samples must have shape"),
        (np.zeros((0, 2)), ValueError, "samples must contain at least one point"),
        (np.array([[0.0, np.nan]]), ValueError, "samples must be finite"),
        ("abc", TypeError, "samples must be an array of numbers"),
        (np.array([["a", "b"]]), TypeError, "samples must be an array of numbers"),
    ],
)
def test_bad_samples(samples, exc, match):
    with pytest.raises(exc, match=match):
        kde_grid(samples, Grid2D((0, 1), (0, 1), 2, 2), 0.5)


def test_bad_points_and_sizes():
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"points must have shape \(n, 2\)"):
        kde(x, np.zeros((3, 3)), 0.5)
    with pytest.raises(ValueError, match="points must be finite"):
        kde(x, np.array([[np.inf, 0.0]]), 0.5)
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        kde(x, np.zeros((1, 2)), 0.5, chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size must be an integer"):
        kde(x, np.zeros((1, 2)), 0.5, chunk_size=2.5)
    with pytest.raises(ValueError, match="h must be a finite number > 0"):
        loo_log_likelihood(x, [0.1, -0.2])
    with pytest.raises(ValueError, match="at least two points"):
        loo_log_likelihood(x[:1], 0.1)
    with pytest.raises(ValueError, match="hs must contain at least 3"):
        cv_bandwidth(np.random.default_rng(0).normal(size=(10, 2)), hs=[0.1, 0.2])
    with pytest.raises(TypeError, match="grid must be a Grid2D"):
        kde_grid(x, "grid", 0.5)
    with pytest.raises(ValueError, match="grid x-axis must be a non-empty 1-D array"):
        kde_grid(x, (np.zeros((2, 2)), np.zeros(3)), 0.5)


def test_empty_points_give_empty_result():
    assert kde(np.zeros((3, 2)), np.zeros((0, 2)), 0.5).shape == (0,)

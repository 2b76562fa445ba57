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
def test_log_kde_is_the_log_and_stays_finite_far_away(data, name):
    """log=True equals log(kde) where the density is representable, and far from the data (where
    kde underflows to 0) it is the nearest sample's Gaussian term plus a log-sum-exp correction."""
    H = H_CASES[name]
    rng = np.random.default_rng(2)
    near = rng.uniform(-1.5, 3.5, size=(40, 2))
    np.testing.assert_allclose(kde(data, near, H, chunk_size=7, log=True), np.log(brute_force(data, near, H)),
                               rtol=1e-12, atol=1e-12)
    far = np.array([[60.0, -45.0], [-80.0, 10.0]])
    assert np.all(kde(data, far, H) == 0)
    log_f = kde(data, far, H, log=True)
    Hinv = np.linalg.inv(H)
    q = -0.5 * (((far[:, None, :] - data[None]) @ Hinv.T) ** 2).sum(-1)  # (2, N) exponents
    top = q.max(1)
    expected = top + np.log(np.exp(q - top[:, None]).sum(1)) - np.log(len(data) * np.linalg.det(H) * 2 * math.pi)
    assert np.all(np.isfinite(log_f)) and np.all(log_f < -100)
    np.testing.assert_allclose(log_f, expected, rtol=1e-12)


def test_log_kde_flag_must_be_a_bool(data):
    with pytest.raises(TypeError, match="log must be True or False"):
        kde(data, data[:2], 0.5, log="yes")


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


# --- beyond the handout: sampling, ISJ, adaptive kernels ----------------------------

from probmods.kde import (  # noqa: E402
    _isj_fixed_point,
    abramson_bandwidths,
    adaptive_kde,
    adaptive_kde_grid,
    isj_bandwidth,
    kde_sample,
    linear_binning,
)


@pytest.mark.parametrize("name", ["hI", "diagonal", "full"])
def test_kde_sample_moments_are_the_estimates(data, name):
    """The KDE is a mixture of N(x_i, H H^T): mean = data mean, covariance = data cov (1/N) + H H^T."""
    H = H_CASES[name]
    n = 400_000
    y = kde_sample(data, H, n, seed=7)
    assert y.shape == (n, 2)
    mean = data.mean(axis=0)
    cov = np.cov(data.T, bias=True) + H @ H.T
    se_mean = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(y.mean(axis=0) - mean) < 5 * se_mean)
    yc = y - mean
    prods = yc[:, :, None] * yc[:, None, :]
    se_cov = prods.reshape(n, 4).std(axis=0).reshape(2, 2) / np.sqrt(n)
    assert np.all(np.abs(prods.mean(axis=0) - cov) < 5 * se_cov)
    # and the check has power: leaving out H H^T is detected
    assert np.any(np.abs(prods.mean(axis=0) - (cov - H @ H.T)) > 10 * se_cov)


def test_kde_sample_is_seeded_and_local():
    x = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]])
    a, b = kde_sample(x, 0.2, 500, seed=3), kde_sample(x, 0.2, 500, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, kde_sample(x, 0.2, 500, seed=4))
    np.testing.assert_array_equal(kde_sample(x, 0.2, 500, seed=np.random.default_rng(3)), a)
    nearest = np.min(np.linalg.norm(a[:, None, :] - x[None], axis=2), axis=1)
    assert nearest.max() < 0.2 * 6  # every draw is a data point plus kernel noise
    counts = np.bincount(np.argmin(np.linalg.norm(a[:, None, :] - x[None], axis=2), axis=1), minlength=3)
    assert counts.min() > 120  # the data points are picked uniformly (expected 167 each)


def test_kde_sample_any_dimension():
    x = np.random.default_rng(0).normal(size=(20, 3))
    assert kde_sample(x, np.diag([0.1, 0.2, 0.3]), 7, seed=0).shape == (7, 3)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n": 0}, ValueError, "n must be >= 1"),
        ({"n": 2.5}, TypeError, "n must be an integer"),
        ({"seed": "a"}, TypeError, "seed must be an integer seed"),
        ({"seed": -1}, ValueError, "seed must be in"),
        ({"H": -0.1}, ValueError, "H must be a finite number > 0"),
        ({"H": np.eye(3)}, ValueError, r"H must be a scalar or have shape \(2, 2\)"),
        ({"samples": np.zeros((0, 2))}, ValueError, "samples must contain at least one point"),
    ],
)
def test_kde_sample_bad_input(kwargs, exc, match):
    args = {"samples": np.zeros((3, 2)), "H": 0.5, "n": 10, "seed": 0, **kwargs}
    with pytest.raises(exc, match=match):
        kde_sample(args["samples"], args["H"], args["n"], seed=args["seed"])


def test_linear_binning_keeps_mass_and_mean():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 3, size=1000)
    w = linear_binning(x, -2.0, 4.0, 61)
    grid = np.linspace(-2, 4, 61)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)
    assert np.all(w >= 0)
    assert grid @ w == pytest.approx(x.mean(), abs=1e-13)
    np.testing.assert_allclose(linear_binning([0.0, 0.25, 1.0], 0.0, 1.0, 5), [1 / 3, 1 / 3, 0, 0, 1 / 3], atol=1e-15)
    with pytest.raises(ValueError, match=r"data must lie within \[lo, hi\]"):
        linear_binning([2.0], 0.0, 1.0, 5)
    with pytest.raises(ValueError, match="num must be >= 2"):
        linear_binning([0.5], 0.0, 1.0, 1)


@pytest.mark.parametrize(
    ("t", "n_data", "k2", "a2", "expected"),
    [
        # values of the authors' MATLAB fixed_point(t, N, I, a2), quoted in KDEpy's tests;
        # KDEpy's a2 is our (a / 2)^2 times 4
        (0.01, 50, np.arange(1, 51), np.arange(1, 51), 0.0099076220293967618515),
        (0.07, 25, np.arange(1, 11), np.arange(1, 11), 0.068342291525717486795),
    ],
)
def test_isj_fixed_point_matches_reference_code(t, n_data, k2, a2, expected):
    got = _isj_fixed_point(t, n_data, np.asarray(k2, dtype=float), np.asarray(a2, dtype=float) / 4)
    assert got == pytest.approx(expected, rel=1e-12)


def _isj_cases():
    rng = np.random.default_rng(11)
    spiral = kde_density("Spiral").sample(4000, seed=4)
    return {
        "normal": rng.normal(size=3000) * 5,
        "bimodal": np.r_[rng.normal(size=2000), 8 + 0.5 * rng.normal(size=1000)] * 2,
        "skewed": 10 * np.exp(rng.normal(size=2000)),
        "spiral x1": 10 * spiral[:, 0],
        "spiral x2": 10 * spiral[:, 1],
    }


@pytest.mark.parametrize("case", list(_isj_cases()))
def test_isj_agrees_with_kdepy(case):
    """KDEpy solves the same equation on its grid (1024 points, padding half the range when the
    range exceeds 12) but scales sqrt(t*) by the data range instead of the grid width
    (KDEpy issue #199): with the same grid ours is exactly twice its value."""
    kdepy = pytest.importorskip("KDEpy.bw_selection")
    x = _isj_cases()[case]
    assert np.ptp(x) > 12  # KDEpy's absolute padding (6) is then inactive
    ref = kdepy.improved_sheather_jones(x[:, None])
    assert isj_bandwidth(x, grid_size=1024, padding=0.5) == pytest.approx(2 * ref, rel=1e-7)


@pytest.mark.parametrize("case", list(_isj_cases()))
def test_isj_is_affine_equivariant_and_grid_insensitive(case):
    x = _isj_cases()[case]
    h = isj_bandwidth(x)
    assert isj_bandwidth(0.01 * x - 3.0) == pytest.approx(0.01 * h, rel=1e-9)
    assert isj_bandwidth(x[:, None]) == h
    assert isj_bandwidth(x, grid_size=1024, padding=0.5) == pytest.approx(h, rel=0.05)


def test_isj_approaches_the_amise_optimum_for_normal_data():
    # for N(0, 1) the AMISE-optimal Gaussian-kernel bandwidth is (4 / (3 N))^(1/5)
    n = 100_000
    x = np.random.default_rng(5).normal(size=n)
    assert isj_bandwidth(x) == pytest.approx((4 / (3 * n)) ** 0.2, rel=0.1)


def test_isj_resolves_separated_modes_that_the_normal_rule_blurs():
    # two far-apart N(0, 1) modes of 5000 points each: ||f''||^2 is half that of one N(0, 1),
    # so the AMISE-optimal bandwidth is (8 / (3 N))^(1/5) with N = 10000, the same as for one
    # mode with its own 5000 points; the normal reference sees a standard deviation of 10
    rng = np.random.default_rng(2)
    x = np.r_[rng.normal(size=5000), 20 + rng.normal(size=5000)]
    h_amise = (8 / (3 * 10_000)) ** 0.2
    assert silverman_bandwidth(x[:, None]) > 5 * h_amise
    assert isj_bandwidth(x) == pytest.approx(h_amise, rel=0.1)


@pytest.mark.parametrize(
    ("data", "kwargs", "exc", "match"),
    [
        (np.ones(10), {}, ValueError, "at least two distinct values"),
        (np.zeros((5, 2)), {}, ValueError, r"data must have shape \(n,\) or \(n, 1\)"),
        (np.array([0.0, np.nan, 1.0]), {}, ValueError, "data must be finite"),
        ("abc", {}, TypeError, "data must be an array of numbers"),
        (np.arange(10.0), {"grid_size": 8}, ValueError, "grid_size must be >= 16"),
        (np.arange(10.0), {"padding": 0.0}, ValueError, "padding must be a finite number > 0"),
    ],
)
def test_isj_bad_input(data, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        isj_bandwidth(data, **kwargs)


def brute_force_adaptive(samples, points, hs):
    out = np.zeros(len(points))
    for xi, h in zip(samples, hs, strict=True):
        u = (points - xi) / h
        out += np.exp(-0.5 * (u**2).sum(1)) / (2 * math.pi * h**2)
    return out / len(samples)


def test_adaptive_kde_equals_brute_force(data):
    hs = abramson_bandwidths(data, 0.3)
    g = Grid2D((-1.5, 3.5), (-1, 3), nx=9, ny=7)
    ref = brute_force_adaptive(data, g.points, hs)
    np.testing.assert_allclose(adaptive_kde(data, g.points, hs, chunk_size=5), ref, rtol=1e-12, atol=1e-300)
    got = adaptive_kde_grid(data, g, hs, chunk_size=64)
    assert got.shape == (7, 9)
    np.testing.assert_allclose(got.ravel(), ref, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("h", [0.1, 0.5])
def test_adaptive_kde_with_alpha_zero_is_the_fixed_kde(data, h):
    hs = abramson_bandwidths(data, h, pilot_h=0.3, alpha=0)
    np.testing.assert_array_equal(hs, np.full(len(data), h))
    g = Grid2D((-2, 4), (-2, 4), 30, 25)
    np.testing.assert_allclose(adaptive_kde_grid(data, g, hs), kde_grid(data, g, h), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(adaptive_kde(data, g.points, hs), kde(data, g.points, h), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_adaptive_kde_integrates_to_one(data, alpha):
    hs = abramson_bandwidths(data, 0.25, alpha=alpha)
    assert hs.max() < 2.0  # so that the box below holds the mass of every kernel
    g = Grid2D((-12, 14), (-12, 14), 300, 300)
    assert g.integrate(adaptive_kde_grid(data, g, hs)) == pytest.approx(1.0, abs=1e-6)


def test_abramson_law():
    x = kde_density("GMM-B").sample(500, seed=1)
    hs = abramson_bandwidths(x, 0.3, pilot_h=0.5)
    pilot = kde(x, x, 0.5)
    assert np.exp(np.mean(np.log(hs))) == pytest.approx(0.3, rel=1e-12)  # geometric mean
    np.testing.assert_allclose(hs**-2 / pilot, (hs**-2 / pilot)[0], rtol=1e-10)  # h_i ~ pilot^(-1/2)
    hs2 = abramson_bandwidths(x, 0.3, pilot_h=0.5, alpha=1.0)
    np.testing.assert_allclose(hs2 / 0.3, (hs / 0.3) ** 2, rtol=1e-10)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda x: adaptive_kde(x, x, np.ones(3)), ValueError, r"bandwidths must have shape \(5,\)"),
        (lambda x: adaptive_kde_grid(x, ((0, 1), (0, 1)), -np.ones(5)), ValueError, "bandwidths must be finite"),
        (lambda x: adaptive_kde(x, x, [np.nan] * 5), ValueError, "bandwidths must be finite and > 0"),
        (lambda x: adaptive_kde(x, x, "wide"), TypeError, "bandwidths must be an array"),
        (lambda x: abramson_bandwidths(x, 0.3, alpha=1.5), ValueError, r"alpha must lie in \[0, 1\]"),
        (lambda x: abramson_bandwidths(x, 0.3, alpha="half"), TypeError, "alpha must be a real number"),
        (lambda x: abramson_bandwidths(x, 0.3, pilot_h=0.0), ValueError, "pilot_h must be a finite number > 0"),
        (lambda x: abramson_bandwidths(x, -0.3), ValueError, "h must be a finite number > 0"),
    ],
)
def test_adaptive_bad_input(call, exc, match):
    x = np.random.default_rng(0).normal(size=(5, 2))
    with pytest.raises(exc, match=match):
        call(x)


def test_loo_skips_far_pairs_without_changing_the_sums():
    """Far-apart clusters and small h: most block pairs are skipped; the result must equal a
    direct log-sum-exp over every pair."""
    from scipy.special import logsumexp

    rng = np.random.default_rng(4)
    x = np.concatenate([c + 0.3 * rng.normal(size=(150, 2)) for c in ([0, 0], [6, 0], [0, 6], [40, 40])])
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    hs = np.array([0.02, 0.1, 0.4])
    got = loo_log_likelihood(x, hs, block_size=16)
    for h, value in zip(hs, got, strict=True):
        logs = logsumexp(-d2 / (2 * h**2), axis=1) - math.log((len(x) - 1) * 2 * math.pi * h**2)
        assert value == pytest.approx(logs.mean(), rel=1e-12)

"""ESS, split-R-hat and autocorrelation against exact values, a direct computation and ArviZ.

The exact reference is the AR(1) chain x_t = rho x_{t-1} + sqrt(1 - rho^2) z_t started
in its stationary N(0, 1): its integrated autocorrelation time is (1 + rho) / (1 - rho),
so M chains of N draws have ESS = M N (1 - rho) / (1 + rho). With 4 x 100,000 draws the
estimator's relative error has a standard deviation of about 2% at rho = 0.9 (measured
over 20 seeds), so the 10% tolerance passes with margin, while the usual mistakes (no
factor 2 in tau, no truncation of the autocorrelation sum, ignoring the correlation)
are off by a factor of two or more.
"""

import numpy as np
import pytest
import torch
from scipy.signal import lfilter

from probmods.diagnostics import autocorrelation, ess, split_rhat


def ar1(rho, n_chains, n_draws, seed):
    """Stationary AR(1) chains with unit variance, shape (n_chains, n_draws)."""
    rng = np.random.default_rng(seed)
    x_prev = rng.normal(size=(n_chains, 1))
    e = rng.normal(size=(n_chains, n_draws)) * np.sqrt(1 - rho**2)
    return lfilter([1.0], [1.0, -rho], e, axis=1, zi=rho * x_prev)[0]


def exact_ess(rho, n_chains, n_draws):
    return n_chains * n_draws * (1 - rho) / (1 + rho)


# --- effective sample size -------------------------------------------------------


@pytest.mark.parametrize("rho", [-0.5, 0.0, 0.5, 0.9])
def test_ess_of_ar1_is_n_over_tau(rho):
    x = ar1(rho, 4, 100_000, seed=1)
    assert ess(x) == pytest.approx(exact_ess(rho, 4, 100_000), rel=0.1)


def test_ess_per_dimension():
    rhos = [0.9, 0.0, -0.5]
    x = np.stack([ar1(r, 4, 100_000, seed=2 + k) for k, r in enumerate(rhos)], axis=-1)
    out = ess(x)
    assert isinstance(out, np.ndarray) and out.shape == (3,)
    np.testing.assert_allclose(out, [exact_ess(r, 4, 100_000) for r in rhos], rtol=0.1)
    for k in range(3):  # each summary is diagnosed on its own
        assert out[k] == pytest.approx(ess(x[:, :, k]), rel=1e-12)


def test_ess_counts_disagreeing_chains():
    """Two chains of independent draws around different means: far fewer effective draws."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 5000))
    assert ess(x) > 8000
    assert ess(x + np.array([[0.0], [3.0]])) < 100


def test_ess_and_rhat_are_invariant_to_monotone_maps():
    """Rank normalisation: exp(x) and 2 x + 5 give the same diagnostics as x."""
    x = ar1(0.7, 4, 2000, seed=4)
    for f in (np.exp, lambda v: 2 * v + 5):
        assert ess(f(x)) == pytest.approx(ess(x), rel=1e-12)
        assert split_rhat(f(x)) == pytest.approx(split_rhat(x), rel=1e-12)


# --- split-R-hat -----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rhat_of_iid_chains_is_one(seed):
    x = np.random.default_rng(seed).normal(size=(4, 2000))
    assert 0.995 < split_rhat(x) < 1.005


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rhat_flags_shifted_means(seed):
    x = np.random.default_rng(seed).normal(size=(4, 2000)) + np.array([[0.0], [0.0], [0.0], [2.0]])
    assert split_rhat(x) > 1.2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rhat_flags_a_different_spread(seed):
    """Same mean, one chain three times as wide: the folded draws see it."""
    x = np.random.default_rng(seed).normal(size=(4, 2000)) * np.array([[1.0], [1.0], [1.0], [3.0]])
    assert split_rhat(x) > 1.1


def test_rhat_flags_a_trend_by_splitting():
    """Two chains with the same drift agree with each other; their halves do not."""
    x = np.random.default_rng(5).normal(size=(2, 2000)) + np.linspace(0, 2, 2000)
    assert split_rhat(x) > 1.1


def test_rhat_per_dimension():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(4, 1000, 2))
    x[3, :, 1] += 2.0
    out = split_rhat(x)
    assert out.shape == (2,) and out[0] < 1.01 and out[1] > 1.2


# --- autocorrelation -------------------------------------------------------------


def direct_autocorrelation(x):
    """O(n^2) textbook estimate of one chain."""
    n = len(x)
    d = x - x.mean()
    return np.array([np.dot(d[: n - t], d[t:]) for t in range(n)]) / np.dot(d, d)


@pytest.mark.parametrize("shape", [(1, 257), (3, 256), (3, 257, 2)])
def test_autocorrelation_matches_direct_sum(shape):
    x = np.random.default_rng(7).normal(size=shape).cumsum(axis=1)  # random walks: slow decay
    rho = autocorrelation(x)
    assert rho.shape == shape
    x3, rho3 = (x, rho) if len(shape) == 3 else (x[:, :, None], rho[:, :, None])
    for c in range(shape[0]):
        for j in range(x3.shape[2]):
            np.testing.assert_allclose(rho3[c, :, j], direct_autocorrelation(x3[c, :, j]), rtol=0, atol=1e-12)


def test_autocorrelation_of_ar1():
    rho = autocorrelation(ar1(0.8, 2, 200_000, seed=8))
    np.testing.assert_allclose(rho[:, :6], np.broadcast_to(0.8 ** np.arange(6), (2, 6)), atol=0.01)


def test_autocorrelation_of_a_constant_chain_is_nan():
    rho = autocorrelation(np.stack([np.full(10, 0.1), np.arange(10.0)]))  # (2 chains, 10 draws)
    assert np.isnan(rho[0]).all() and rho[1, 0] == 1.0  # 0.1 is not exact in binary: no rounding noise


# --- input types and constant draws ------------------------------------------------


def test_torch_and_numpy_inputs_agree():
    x = ar1(0.5, 4, 500, seed=9)
    for t in (torch.from_numpy(x), torch.from_numpy(x).float(), torch.from_numpy(x).requires_grad_(True)):
        ref = x.astype(np.float32) if t.dtype == torch.float32 else x
        assert ess(t) == pytest.approx(ess(ref), rel=1e-12)
        assert isinstance(split_rhat(t), float)
    np.testing.assert_allclose(autocorrelation(torch.from_numpy(x)), autocorrelation(x), atol=1e-15)
    assert ess(np.arange(40).reshape(4, 10)) > 0  # integers are accepted


def test_constant_draws_give_nan():
    x = np.full((4, 100), 2.5)
    assert np.isnan(ess(x)) and np.isnan(split_rhat(x))


# --- against ArviZ ----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_average_ranks_equal_scipy_rankdata_with_ties(seed):
    """The pooled ranks behind rank normalisation: scipy's average ranks exactly, ties included
    (a stuck MALA chain repeats one value thousands of times)."""
    from scipy.stats import rankdata

    from probmods.diagnostics import _average_ranks

    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(4, 300)), seed % 3)  # many ties at seed 0, 3; some at 1, 4
    x[1, : 50 * seed] = x[0, 0]  # a long tie group across chains
    expected = rankdata(x, method="average", axis=None).reshape(x.shape)
    assert np.array_equal(_average_ranks(x), expected)
    assert _average_ranks(x).sum() == x.size * (x.size + 1) / 2


def arviz_cases():
    rng = np.random.default_rng(10)
    for n_chains in (1, 2, 4):
        for n_draws in (4, 5, 7, 10, 101, 2000):
            yield rng.normal(size=(n_chains, n_draws))
            yield ar1(0.95, n_chains, n_draws, seed=n_draws)
            yield rng.normal(size=(n_chains, n_draws)).cumsum(axis=1)  # a random walk
            yield ar1(-0.7, n_chains, n_draws, seed=n_draws + 1) ** 3


def test_against_arviz():
    """The bulk ESS and the rank R-hat of ArviZ (its NumPy core, arviz-stats), to rounding."""
    array_stats = pytest.importorskip("arviz_stats.base").array_stats
    for x in arviz_cases():
        assert ess(x) == pytest.approx(array_stats.ess(x, method="bulk"), rel=1e-10)
        if x.shape[0] > 1:
            assert split_rhat(x) == pytest.approx(array_stats.rhat(x, method="rank"), rel=1e-10)
        np.testing.assert_allclose(autocorrelation(x), array_stats.autocorr(x), atol=1e-12)


# --- bad input --------------------------------------------------------------------


BAD = [
    ("one chain", split_rhat, np.zeros((1, 100)), ValueError, "at least 2 chains"),
    ("three draws", ess, np.random.default_rng(0).normal(size=(4, 3)), ValueError, "at least 4 draws"),
    ("three draws rhat", split_rhat, np.random.default_rng(0).normal(size=(4, 3)), ValueError, "4 draws"),
    ("nan", ess, np.array([[0.0, 1.0, np.nan, 2.0, 3.0]]), ValueError, "finite"),
    ("inf", split_rhat, np.array([[0.0, 1.0, 2.0, 3.0], [0.0, 1.0, np.inf, 3.0]]), ValueError, "finite"),
    ("1-d", ess, np.zeros(10), ValueError, "shape"),
    ("4-d", split_rhat, np.zeros((2, 10, 1, 1)), ValueError, "shape"),
    ("no summaries", ess, np.zeros((2, 10, 0)), ValueError, "dim"),
    ("string", ess, "chains", TypeError, "chains"),
    ("none", split_rhat, None, TypeError, "chains"),
    ("complex", ess, np.ones((2, 10), dtype=complex), TypeError, "real"),
    ("complex tensor", ess, torch.ones(2, 10, dtype=torch.complex64), TypeError, "real"),
    ("objects", ess, np.array([["a"] * 5] * 2, dtype=object), TypeError, "numbers"),
    ("ragged", ess, [[1.0, 2.0, 3.0, 4.0], [1.0]], ValueError, "rectangular"),
    ("autocorr three draws", autocorrelation, np.zeros((2, 3)), ValueError, "draws"),
    ("autocorr 1-d", autocorrelation, np.arange(10.0), ValueError, "shape"),
    ("autocorr nan", autocorrelation, np.array([[0.0, np.nan, 1.0, 2.0]]), ValueError, "finite"),
]


@pytest.mark.parametrize(("fn", "x", "exc", "match"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input(fn, x, exc, match):
    with pytest.raises(exc, match=match):
        fn(x)

"""Isotropic Gaussian mixtures: score against autograd, normalisation on a grid, sampling, and bad input."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import trapezoid
from scipy.stats import multivariate_normal

from probmods.gmm import GMMDist, IsotropicGMM, mode_weights, ring_gmm
from probmods.grids import Grid2D

F64 = torch.float64

MIXTURES = {
    "one 1-d": IsotropicGMM([[0.7]], 0.4),
    "two 1-d": IsotropicGMM([[-1.0], [2.0]], 0.5, weights=[0.3, 0.7]),
    "hw4": GMMDist(),
    "ring": ring_gmm(),
    "three 2-d": IsotropicGMM([[-2.0, 0.5], [1.0, 1.0], [0.5, -3.0]], 0.8, weights=[0.5, 0.3, 0.2]),
    "four 3-d": IsotropicGMM(np.arange(12.0).reshape(4, 3) / 3, 0.3, weights=[0.1, 0.2, 0.3, 0.4]),
}




def gen(seed):
    return torch.Generator().manual_seed(seed)


def autograd_score(gmm, x, sigma=None):
    xg = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(gmm.log_prob(xg, sigma).sum(), xg)
    return g


def reference_log_prob(gmm, x, sigma=None):
    """log sum_m w_m N(x; mu_m, s^2 I) with scipy, one component at a time."""
    s = gmm.sigma if sigma is None else sigma
    x = np.asarray(x, dtype=float)
    d = x.shape[1]
    comps = [math.log(w) + multivariate_normal(mu, s**2 * np.eye(d)).logpdf(x).reshape(-1)
             for w, mu in zip(gmm.mix_probs.numpy(), gmm.means.numpy(), strict=True)]
    return np.logaddexp.reduce(np.stack(comps), axis=0)


def reference_score(gmm, x, sigma=None):
    """sum_m r_m (mu_m - x) / s^2 with r from a max-shifted softmax, in numpy."""
    s = gmm.sigma if sigma is None else sigma
    x = np.asarray(x, dtype=float)
    mu, w = gmm.means.numpy(), gmm.mix_probs.numpy()
    logits = np.log(w)[None] - ((x[:, None, :] - mu[None]) ** 2).sum(-1) / (2 * s**2)
    r = np.exp(logits - logits.max(axis=1, keepdims=True))
    r /= r.sum(axis=1, keepdims=True)
    return (r @ mu - x) / s**2


# --- score and log_prob ---------------------------------------------------------


@pytest.mark.parametrize("name", list(MIXTURES))
def test_score_equals_autograd_of_log_prob(name):
    gmm = MIXTURES[name]
    x = 3 * torch.randn(200, gmm.dim, dtype=F64, generator=gen(0))
    score = gmm.score(x)
    assert score.shape == x.shape and score.dtype == F64
    torch.testing.assert_close(score, autograd_score(gmm, x), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(score.numpy(), reference_score(gmm, x.numpy()), rtol=1e-10, atol=1e-10)
    for sigma in (0.2, 1.7):
        torch.testing.assert_close(gmm.score(x, sigma), autograd_score(gmm, x, sigma), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", list(MIXTURES))
def test_log_prob_equals_scipy(name):
    gmm = MIXTURES[name]
    x = 2 * torch.randn(100, gmm.dim, dtype=F64, generator=gen(1))
    lp = gmm.log_prob(x)
    assert lp.shape == (100,) and lp.dtype == F64
    np.testing.assert_allclose(lp.numpy(), reference_log_prob(gmm, x.numpy()), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gmm.log_prob(x, 0.9).numpy(), reference_log_prob(gmm, x.numpy(), 0.9), rtol=1e-12)


@pytest.mark.parametrize("name", list(MIXTURES))
@pytest.mark.parametrize("distance", [50.0, 1e3, 1e5])
def test_score_is_finite_far_from_the_modes(name, distance):
    gmm = MIXTURES[name]
    rng = np.random.default_rng(2)
    u = rng.normal(size=(20, gmm.dim))
    x = torch.tensor(distance * u / np.linalg.norm(u, axis=1, keepdims=True), dtype=F64)
    # the naive density underflows to 0 there, so p'/p would be 0/0
    naive = (gmm.mix_probs[None] * torch.exp(-((x[:, None] - gmm.means[None]) ** 2).sum(-1) / (2 * gmm.sigma**2)))
    assert bool((naive.sum(1) == 0).all())
    score, lp = gmm.score(x), gmm.log_prob(x)
    assert bool(torch.isfinite(score).all()) and bool(torch.isfinite(lp).all())
    np.testing.assert_allclose(score.numpy(), reference_score(gmm, x.numpy()), rtol=1e-10)
    torch.testing.assert_close(score, autograd_score(gmm, x), rtol=1e-10, atol=0)
    np.testing.assert_allclose(lp.numpy(), reference_log_prob(gmm, x.numpy()), rtol=1e-12)
    assert bool(torch.isfinite(gmm.responsibilities(x)).all())


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5)), min_size=1, max_size=5),
    st.floats(0.05, 3.0),
    st.lists(st.tuples(st.floats(-300, 300), st.floats(-300, 300)), min_size=1, max_size=8),
    st.integers(0, 2**31 - 1),
)
def test_score_equals_autograd_property(means, sigma, pts, seed):
    w = np.random.default_rng(seed).dirichlet(np.ones(len(means)))
    gmm = IsotropicGMM(means, sigma, weights=w / w.sum())
    x = torch.tensor(pts, dtype=F64)
    score = gmm.score(x)
    assert bool(torch.isfinite(score).all())
    scale = 1 + x.abs().max().item() / sigma**2
    torch.testing.assert_close(score, autograd_score(gmm, x), rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(score.numpy(), reference_score(gmm, x.numpy()), rtol=1e-9, atol=1e-9 * scale)
    r = gmm.responsibilities(x)
    torch.testing.assert_close(r.sum(1), torch.ones(len(x), dtype=F64), rtol=0, atol=1e-12)


def test_float32_input_stays_float32():
    gmm = ring_gmm()
    x = torch.randn(5, 2)
    assert gmm.score(x).dtype == torch.float32 and gmm.log_prob(x).dtype == torch.float32


def test_numpy_input_is_accepted():
    gmm = GMMDist()
    x = np.random.default_rng(0).normal(size=(6, 2))
    torch.testing.assert_close(gmm.log_prob(x), gmm.log_prob(torch.from_numpy(x)), rtol=0, atol=0)


@pytest.mark.parametrize("sigma", [1.0, 2.0, 5.0])
def test_gmmdist_log_prob_integrates_to_one(sigma):
    g = Grid2D.square(5 + 12 * sigma, n=400)  # the modes at +-5 and 12 sigma around them
    lp = GMMDist().log_prob(torch.from_numpy(g.points), sigma)
    assert g.integrate(torch.exp(lp).numpy()) == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("sigma", [None, 0.2, 0.6, 1.5])
@pytest.mark.parametrize("ring", [ring_gmm(), ring_gmm(7, 2.0, 0.3)], ids=["hw2 ring", "7-mode ring"])
def test_ring_log_prob_integrates_to_one(ring, sigma):
    s = ring.sigma if sigma is None else sigma
    r = float(ring.means.norm(dim=1).max())
    g = Grid2D.square(r + 10 * s, n=400)
    dens = torch.exp(ring.log_prob(torch.from_numpy(g.points), sigma)).numpy()
    assert g.integrate(dens) == pytest.approx(1.0, abs=1e-8)


# --- sampling -------------------------------------------------------------------


def test_gmmdist_sample_hits_the_weights():
    n = 40_000
    x = GMMDist().sample(n, generator=gen(3))
    assert x.shape == (n, 2) and x.dtype == torch.float32
    w = mode_weights(x, GMMDist().means)
    se = math.sqrt(0.2 * 0.8 / n)
    np.testing.assert_allclose(w, [0.2, 0.8], atol=4 * se)


@pytest.mark.parametrize("sigma", [0.5, 2.0, 3.0])
def test_gmmdist_sample_has_the_right_spread(sigma):
    """The means lie on the diagonal: (x - y)/sqrt(2) ~ N(0, s^2) exactly, (x + y)/sqrt(2) has s^2 + 32."""
    n = 40_000
    x = GMMDist().sample(n, sigma, generator=gen(4)).double()
    across = (x[:, 0] - x[:, 1]) / math.sqrt(2)
    along = (x[:, 0] + x[:, 1]) / math.sqrt(2)
    assert across.var().item() == pytest.approx(sigma**2, abs=5 * sigma**2 * math.sqrt(2 / n))
    assert across.mean().item() == pytest.approx(0.0, abs=5 * sigma / math.sqrt(n))
    v_along = sigma**2 + 0.2 * 0.8 * (10 * math.sqrt(2)) ** 2
    # variance of a sample variance: (mu_4 - v^2) / n, bounded generously by 3 v^2 / n
    assert along.var().item() == pytest.approx(v_along, abs=5 * v_along * math.sqrt(3 / n))
    np.testing.assert_allclose(x.mean(0).numpy(), [3.0, 3.0], atol=5 * math.sqrt(v_along / n))


def test_gmmdist_per_component_variance_when_separated():
    """At sigma = 0.7 the components do not overlap: split by the nearest mode and check each one."""
    n, sigma = 30_000, 0.7
    gmm = GMMDist()
    x = gmm.sample(n, sigma, generator=gen(5)).double()
    nearest = torch.cdist(x, gmm.means).argmin(1)
    for m in range(2):
        xm = x[nearest == m]
        k = len(xm)
        np.testing.assert_allclose(xm.mean(0).numpy(), gmm.means[m].numpy(), atol=5 * sigma / math.sqrt(k))
        np.testing.assert_allclose(xm.var(0).numpy(), [sigma**2] * 2, atol=5 * sigma**2 * math.sqrt(2 / k))
        assert abs(np.corrcoef(xm.T.numpy())[0, 1]) < 5 / math.sqrt(k)


def test_isotropic_sample_weights_and_sigma_override():
    gmm = IsotropicGMM([[-10.0, 0.0], [0.0, 10.0], [10.0, 0.0]], 1.0, weights=[0.5, 0.3, 0.2])
    n = 30_000
    x = gmm.sample(n, sigma=0.3, generator=gen(6))
    w = mode_weights(x, gmm.means)
    p = np.array([0.5, 0.3, 0.2])
    assert np.all(np.abs(w - p) < 4 * np.sqrt(p * (1 - p) / n)), w
    resid = x.double() - gmm.means[torch.cdist(x.double(), gmm.means).argmin(1)]
    assert resid.var(0).mean().item() == pytest.approx(0.09, abs=5 * 0.09 * math.sqrt(2 / (2 * n)))


def test_sample_is_reproducible():
    gmm = ring_gmm()
    assert torch.equal(gmm.sample(100, generator=gen(7)), gmm.sample(100, generator=gen(7)))
    assert not torch.equal(gmm.sample(100, generator=gen(7)), gmm.sample(100, generator=gen(8)))


# --- ring_gmm -------------------------------------------------------------------


@pytest.mark.parametrize(("num_modes", "radius", "variance"), [(5, 0.7, 0.1), (1, 2.0, 0.5), (8, 3.0, 0.01)])
def test_ring_means_are_on_the_circle(num_modes, radius, variance):
    ring = ring_gmm(num_modes, radius, variance)
    mu = ring.means.numpy()
    assert mu.shape == (num_modes, 2)
    np.testing.assert_allclose(np.linalg.norm(mu, axis=1), radius, rtol=1e-14)
    ang = np.arctan2(mu[:, 1], mu[:, 0]) % (2 * np.pi)
    np.testing.assert_allclose(np.sort(ang), 2 * np.pi * np.arange(num_modes) / num_modes, atol=1e-12)
    assert ring.sigma**2 == pytest.approx(variance, rel=1e-14)
    np.testing.assert_allclose(ring.mix_probs.numpy(), 1 / num_modes, rtol=1e-15)


def test_default_ring_is_hw2():
    ring = ring_gmm()
    np.testing.assert_allclose(ring.means[0].numpy(), [0.7, 0.0], atol=1e-15)
    assert ring.means.shape == (5, 2) and ring.sigma == pytest.approx(math.sqrt(0.1))


# --- mode_weights ---------------------------------------------------------------

MEANS = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])


def test_mode_weights_counts():
    x = np.array([[0.1, 0.0], [9.0, 1.0], [11.0, 0.0], [0.0, 8.0], [-3.0, -3.0], [4.9, 0.0], [5.1, 0.0]])
    np.testing.assert_allclose(mode_weights(x, MEANS), np.array([3, 3, 1]) / 7, rtol=1e-15)
    np.testing.assert_allclose(mode_weights(torch.tensor(x), torch.tensor(MEANS)), np.array([3, 3, 1]) / 7)


def test_mode_weights_max_distance():
    x = np.array([[0.1, 0.0], [9.0, 1.0], [11.0, 0.0], [0.0, 8.0], [-3.0, -3.0], [5.5, 5.0]])
    w = mode_weights(x, MEANS, max_distance=2.5)
    # [-3, -3] (4.2 from its mode) and [5.5, 5] (6.7) are far; [0, 8] is 2 away
    np.testing.assert_allclose(w, np.array([1, 2, 1, 2]) / 6, rtol=1e-15)
    np.testing.assert_allclose(mode_weights(x, MEANS, max_distance=100.0), np.array([2, 3, 1, 0]) / 6)
    assert mode_weights(x, MEANS, max_distance=1e-3)[-1] == pytest.approx(1.0)


def test_mode_weights_counts_non_finite_rows_as_far():
    x = np.array([[0.1, 0.0], [np.nan, 0.0], [10.0, 0.0], [np.inf, -np.inf], [0.0, 10.0], [0.0, 0.2]])
    w = mode_weights(x, MEANS, max_distance=3.0)
    np.testing.assert_allclose(w, np.array([2, 1, 1, 2]) / 6, rtol=1e-15)
    assert w.sum() == pytest.approx(1.0)


def test_mode_weights_without_max_distance_leaves_non_finite_rows_out():
    x = np.array([[0.1, 0.0], [np.nan, 0.0], [10.0, 0.0], [0.0, 10.0]])
    w = mode_weights(x, MEANS)
    assert w.shape == (len(MEANS),)
    assert w.sum() == pytest.approx(0.75)
    w_far = mode_weights(x, MEANS, max_distance=1.0)
    assert w_far.shape == (len(MEANS) + 1,) and w_far.sum() == pytest.approx(1.0)


def test_mode_weights_bad_input():
    with pytest.raises(ValueError, match="samples"):
        mode_weights(np.zeros((3, 3)), MEANS)
    with pytest.raises(ValueError, match="samples"):
        mode_weights(np.zeros(2), MEANS)
    with pytest.raises(ValueError, match="means"):
        mode_weights(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="max_distance"):
        mode_weights(np.zeros((3, 2)), MEANS, max_distance=0.0)
    with pytest.raises(ValueError, match="max_distance"):
        mode_weights(np.zeros((3, 2)), MEANS, max_distance=float("nan"))


# --- bad input ------------------------------------------------------------------

CONSTRUCTOR_BAD = [
    ("sigma zero", dict(sigma=0.0), ValueError, "sigma"),
    ("sigma negative", dict(sigma=-1.0), ValueError, "sigma"),
    ("sigma nan", dict(sigma=float("nan")), ValueError, "sigma"),
    ("sigma string", dict(sigma="1"), TypeError, "sigma"),
    ("means 1-d", dict(means=[0.0, 1.0]), ValueError, "means"),
    ("means 3-d", dict(means=np.zeros((2, 2, 2))), ValueError, "means"),
    ("means empty", dict(means=np.zeros((0, 2))), ValueError, "means"),
    ("weights too few", dict(weights=[1.0]), ValueError, "weights"),
    ("weights too many", dict(weights=[0.2, 0.3, 0.5]), ValueError, "weights"),
    ("weights 2-d", dict(weights=[[0.5, 0.5]]), ValueError, "weights"),
    ("weights sum", dict(weights=[0.5, 0.6]), ValueError, "weights"),
    ("weights negative", dict(weights=[-0.5, 1.5]), ValueError, "weights"),
]


@pytest.mark.parametrize(("kwargs", "exc", "match"), [c[1:] for c in CONSTRUCTOR_BAD],
                         ids=[c[0] for c in CONSTRUCTOR_BAD])
def test_constructor_bad_input(kwargs, exc, match):
    args = dict(means=[[0.0, 0.0], [1.0, 1.0]], sigma=1.0)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        IsotropicGMM(**args)


def test_nan_weights_are_refused():
    with pytest.raises(ValueError, match="weights"):
        IsotropicGMM([[0.0, 0.0], [1.0, 1.0]], 1.0, weights=[float("nan"), 1.0])


METHOD_BAD = [
    ("list", [[0.0, 0.0]], TypeError, "samples must be a torch.Tensor"),
    ("string", "x", TypeError, "samples"),
    ("wrong width", torch.zeros(4, 3), ValueError, r"samples must have shape \(n, 2\)"),
    ("1-d", torch.zeros(2), ValueError, "samples"),
    ("3-d", torch.zeros(2, 2, 2), ValueError, "samples"),
    ("integer", torch.zeros(4, 2, dtype=torch.long), TypeError, "samples must be floating point"),
]


@pytest.mark.parametrize("method", ["log_prob", "score", "responsibilities"])
@pytest.mark.parametrize(("x", "exc", "match"), [c[1:] for c in METHOD_BAD], ids=[c[0] for c in METHOD_BAD])
def test_methods_bad_input(method, x, exc, match):
    with pytest.raises(exc, match=match):
        getattr(GMMDist(), method)(x)


@pytest.mark.parametrize("sigma", [0, -1.0, float("nan"), float("inf")])
def test_bad_sigma_in_methods(sigma):
    gmm = GMMDist()
    x = torch.zeros(3, 2)
    for call in (lambda: gmm.log_prob(x, sigma), lambda: gmm.score(x, sigma), lambda: gmm.sample(3, sigma)):
        with pytest.raises(ValueError, match="sigma"):
            call()


def test_bad_sample_size_and_ring_arguments():
    with pytest.raises(ValueError, match="n must be >= 1"):
        GMMDist().sample(0)
    with pytest.raises(TypeError, match="n must be an integer"):
        GMMDist().sample(2.5)
    with pytest.raises(ValueError, match="num_modes"):
        ring_gmm(0)
    with pytest.raises(ValueError, match="radius"):
        ring_gmm(radius=-1.0)
    with pytest.raises(ValueError, match="variance"):
        ring_gmm(variance=0.0)


# --- the noisy mixture q_sigma = p * N(0, sigma^2 I) ------------------------------


@pytest.mark.parametrize("name", list(MIXTURES))
@pytest.mark.parametrize("noise", [0.1, 1.0, 7.5])
def test_noisy_score_equals_autograd_of_noisy_log_prob(name, noise):
    gmm = MIXTURES[name]
    x = 4 * torch.randn(150, gmm.dim, dtype=F64, generator=gen(11))
    xg = x.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(gmm.noisy_log_prob(xg, noise).sum(), xg)
    score = gmm.noisy_score(x, noise)
    assert score.shape == x.shape and score.dtype == F64
    torch.testing.assert_close(score, auto, rtol=1e-10, atol=1e-10)
    # each component's covariance grows by noise^2: the scipy reference with that standard deviation
    s_eff = math.sqrt(gmm.sigma**2 + noise**2)
    assert gmm.noisy_sigma(noise) == pytest.approx(s_eff, rel=1e-15)
    np.testing.assert_allclose(gmm.noisy_log_prob(x, noise).numpy(), reference_log_prob(gmm, x.numpy(), s_eff),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(score.numpy(), reference_score(gmm, x.numpy(), s_eff), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ["one 1-d", "two 1-d"])
@pytest.mark.parametrize("noise", [0.3, 2.0])
def test_noisy_log_prob_is_the_convolution_with_the_noise(name, noise):
    """q(y) = int p(x) N(y - x; 0, noise^2) dx by quadrature on a fine grid (1-d mixtures)."""
    gmm = MIXTURES[name]
    xs = torch.linspace(-15, 15, 30001, dtype=F64)
    p = torch.exp(gmm.log_prob(xs[:, None])).numpy()
    ys = np.array([-3.0, -0.4, 0.0, 1.1, 2.5, 6.0])
    kernel = np.exp(-((ys[:, None] - xs.numpy()[None]) ** 2) / (2 * noise**2)) / math.sqrt(2 * math.pi * noise**2)
    q = trapezoid(kernel * p[None], xs.numpy(), axis=1)  # scipy: numpy < 2 has no np.trapezoid
    lq = gmm.noisy_log_prob(torch.tensor(ys[:, None]), noise).numpy()
    np.testing.assert_allclose(lq, np.log(q), rtol=0, atol=1e-8)


def test_noisy_samples_follow_the_noisy_mixture():
    """Samples plus N(0, noise^2) noise have the noisy mixture's mean score zero and the right spread."""
    gmm, noise = GMMDist(), 2.0
    x = gmm.sample(200_000, generator=gen(12)).double()
    y = x + noise * torch.randn(x.shape, dtype=F64, generator=gen(13))
    s = gmm.noisy_score(y, noise)
    # E_q[score] = 0 and E_q[score^T (y - mean)] = -d (integration by parts)
    se = s.std(0) / math.sqrt(len(y))
    assert bool((s.mean(0).abs() < 4 * se).all())
    assert (s * (y - y.mean(0))).sum(1).mean().item() == pytest.approx(-2.0, abs=0.03)


@pytest.mark.parametrize(("noise", "exc"), [(0, ValueError), (-1.0, ValueError), (float("nan"), ValueError),
                                            ("1", TypeError), (None, TypeError)])
def test_bad_noise(noise, exc):
    gmm = GMMDist()
    x = torch.zeros(3, 2)
    calls = (lambda: gmm.noisy_score(x, noise), lambda: gmm.noisy_log_prob(x, noise), lambda: gmm.noisy_sigma(noise))
    for call in calls:
        with pytest.raises(exc, match="noise"):
            call()


# --- one mixture, two backends ---------------------------------------------------


@pytest.mark.parametrize("weights", [None, [0.1, 0.6, 0.3], [0.0, 0.5, 0.5]])
@pytest.mark.parametrize("sigma", [0.05, 1.0, 7.0])
def test_numpy_backend_is_the_torch_mixture(weights, sigma):
    """The NumPy functions that the estimation fits, the KDE chapter's GaussianMixture2D and the
    toy datasets' exact densities use are the same density as IsotropicGMM (torch, float64)."""
    from probmods.datasets import GaussianMixture2D
    from probmods.estimation import log_prob as estimation_log_prob
    from probmods.estimation import responsibilities
    from probmods.gmm import _log_prob

    means = np.array([[0.0, 0.0], [2.0, -1.0], [-3.0, 4.0]])
    x = np.random.default_rng(0).normal(0, 4, size=(200, 2))
    w = None if weights is None else np.array(weights)
    ref = IsotropicGMM(means, sigma, weights=w)
    expected = ref.log_prob(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_log_prob(x, means, sigma, w), expected, rtol=1e-12, atol=1e-12)
    if weights is None:
        np.testing.assert_allclose(estimation_log_prob(x, means, sigma), expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(responsibilities(x, means, sigma),
                                   ref.responsibilities(torch.from_numpy(x)).numpy(), rtol=1e-10, atol=1e-14)
    else:
        np.testing.assert_allclose(GaussianMixture2D(means, sigma, w).log_pdf(x), expected, rtol=1e-12, atol=1e-12)


def test_numpy_backend_samples_are_the_mixture():
    """Draws of the NumPy backend: component frequencies by weight, and Gaussian around each mean."""
    from probmods.gmm import _sample

    means = np.array([[0.0, 0.0], [10.0, 0.0]])
    x = _sample(means, 0.5, 40_000, np.random.default_rng(1), np.array([0.3, 0.7]))
    right = x[:, 0] > 5
    assert abs(right.mean() - 0.7) < 5 * np.sqrt(0.21 / 40_000)
    np.testing.assert_allclose(x[right].std(0), [0.5, 0.5], rtol=0.03)
    x = _sample(means, 0.5, 40_000, np.random.default_rng(1))  # equal weights
    assert abs((x[:, 0] > 5).mean() - 0.5) < 5 * np.sqrt(0.25 / 40_000)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("make", [ring_gmm, GMMDist, lambda: IsotropicGMM([[0.0, 1.0], [2.0, -1.0]], 0.3, [0.3, 0.7])])
@pytest.mark.parametrize("sigma", [None, 0.7])
def test_log_prob_and_score_are_the_two_methods_bit_for_bit(make, dtype, sigma):
    gmm = make()
    x = (3 * torch.randn(64, 2, generator=torch.Generator().manual_seed(0))).to(dtype)
    kw = {} if sigma is None else {"sigma": sigma}
    lp, score = gmm.log_prob_and_score(x, **kw)
    assert lp.dtype == score.dtype == dtype
    torch.testing.assert_close(lp, gmm.log_prob(x, **kw), rtol=0, atol=0)
    torch.testing.assert_close(score, gmm.score(x, **kw), rtol=0, atol=0)


def test_log_prob_and_score_checks_its_samples():
    with pytest.raises(ValueError, match="samples must be finite"):
        GMMDist().log_prob_and_score(torch.tensor([[0.0, float("nan")]]))

"""Langevin, MALA and annealed Langevin against exact Gaussian results, hand-computed MH ratios and bad input.

Every chain is independent, so the final positions of ``n`` chains are ``n``
independent draws: Monte-Carlo tolerances below come from the exact sampling
distribution of the estimator (chi-square for a variance, KS for two samples),
and every run uses a fixed :class:`torch.Generator` seed.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp

from probmods.gmm import GMMDist, IsotropicGMM, mode_weights, ring_gmm
from probmods.mcmc import (
    ChainResult,
    Kernel,
    LangevinInfo,
    MALAInfo,
    SamplerState,
    StepAdaptation,
    Target,
    adapt_step_size,
    annealed_langevin,
    eps_from_noise,
    gaussian_posterior,
    init_state,
    langevin,
    langevin_step,
    mala,
    mala_step,
    sample,
    target_from,
)

F64 = torch.float64
S = 0.7  # standard deviation of the Gaussian targets
MUS = {1: [1.3], 2: [1.3, -0.4]}
KERNELS = {"langevin": langevin, "mala": mala}




def gen(seed):
    return torch.Generator().manual_seed(seed)


def gaussian(d):
    """N(mu, S^2 I) as a one-component IsotropicGMM."""
    return IsotropicGMM([MUS[d]], S)


def exact_gaussian(n, d, seed):
    mu = torch.tensor(MUS[d], dtype=F64)
    return mu + S * torch.randn(n, d, dtype=F64, generator=gen(seed))


def variance_tolerance(v, n_samples, n_se=5):
    """n_se standard errors of the sample variance of n iid normals with variance v."""
    return n_se * v * math.sqrt(2 / (n_samples - 1))


def counting(target):
    """``target`` with every call of its functions counted: (Target, list of the fields called)."""
    calls = []

    def wrap(field):
        fn = getattr(target, field)
        if fn is None:
            return None

        def counted(x):
            calls.append(field)
            return fn(x)

        return counted

    return Target(*(wrap(f) for f in Target._fields)), calls


# --- unadjusted Langevin on a Gaussian ------------------------------------------


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("f", [0.1, 0.5, 1.0, 1.9])
def test_ula_stationary_variance(d, f):
    """x' = mu + (1 - f)(x - mu) + sqrt(2 eps) z with f = eps / s^2 has v = s^2 / (1 - f / 2)."""
    eps = f * S**2
    n = 40_000
    g = gaussian(d)
    # |1 - f|^(2K) < 1e-9 for K = 100: the start (exact samples) is forgotten
    res = sample(exact_gaussian(n, d, seed=1), langevin(target_from(score=g.score), eps), 100, generator=gen(2))
    x = res.state.position
    assert x.dtype == F64 and x.shape == (n, d) and bool(torch.isfinite(x).all())
    v = S**2 / (1 - eps / (2 * S**2))
    n_samples = n * d  # the coordinates are independent
    tol = variance_tolerance(v, n_samples)
    assert abs(v - S**2) > 1.3 * tol  # the test can tell ULA's bias from the target's variance
    assert x.var(dim=0).mean().item() == pytest.approx(v, abs=tol)
    mean_tol = 5 * math.sqrt(v / n)
    np.testing.assert_allclose(x.mean(dim=0).numpy(), MUS[d], atol=mean_tol)
    assert res.acceptance_rate is None and res.acceptance_trace is None and res.trajectory is None


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("f", [2.1, 3.0])
def test_ula_diverges_above_two_s_squared(d, f):
    g = gaussian(d)
    res = sample(exact_gaussian(1000, d, seed=3), langevin(target_from(score=g.score), f * S**2), 300, generator=gen(4))
    x = res.state.position
    diverged = ~torch.isfinite(x).all(dim=1) | ((x - torch.tensor(MUS[d], dtype=F64)).abs().amax(dim=1) > 1e6)
    assert bool(diverged.all())


def test_ula_with_lambda_target_matches_gmm_target():
    """A plain lambda score and the one-component IsotropicGMM drive identical chains."""
    mu = torch.tensor(MUS[2], dtype=F64)
    by_lambda = target_from(score=lambda x: (mu - x) / S**2)
    by_gmm = target_from(score=gaussian(2).score)
    x0 = exact_gaussian(50, 2, seed=5)
    a = sample(x0, langevin(by_lambda, 0.2), 20, generator=gen(6)).state.position
    b = sample(x0, langevin(by_gmm, 0.2), 20, generator=gen(6)).state.position
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_langevin_step_is_the_formula():
    g = gaussian(2)
    target = target_from(score=g.score)
    x = exact_gaussian(7, 2, seed=7)
    z = torch.randn(7, 2, dtype=F64, generator=gen(8))
    eps = 0.3
    new, info = langevin_step(init_state(x, target), target, eps, z)
    assert info == LangevinInfo() and new.log_prob is None  # the score alone was evaluated
    expected = x + eps * (torch.tensor(MUS[2], dtype=F64) - x) / S**2 + math.sqrt(2 * eps) * z
    torch.testing.assert_close(new.position, expected, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(new.grad, g.score(expected), rtol=1e-13, atol=1e-13)


def test_eps_from_noise():
    assert eps_from_noise(10 / 256) == pytest.approx((10 / 256) ** 2 / 2, rel=1e-15)
    with pytest.raises(ValueError, match="noise_scale"):
        eps_from_noise(0.0)


# --- MALA -----------------------------------------------------------------------


def ks_pvalues(x, y):
    x, y = x.double(), y.double()
    return [
        ks_2samp(x[:, 0].numpy(), y[:, 0].numpy()).pvalue,
        ks_2samp(x[:, 1].numpy(), y[:, 1].numpy()).pvalue,
        ks_2samp(x.norm(dim=1).numpy(), y.norm(dim=1).numpy()).pvalue,
    ]


@pytest.fixture(scope="module")
def ring_runs():
    """MALA and ULA, 300 steps at eps = s^2 = 0.1 on the ring, started at exact samples."""
    ring = ring_gmm()
    target = target_from(log_prob=ring.log_prob)
    x0 = ring.sample(3000, generator=gen(2)).double()
    fresh = ring.sample(3000, generator=gen(3)).double()
    runs = {m: sample(x0, KERNELS[m](target, 0.1), 300, generator=gen(4)) for m in ("mala", "langevin")}
    return runs, fresh


def test_mala_keeps_the_ring_distribution(ring_runs):
    runs, fresh = ring_runs
    res = runs["mala"]
    assert 0.5 < res.acceptance_rate.mean().item() < 0.95  # it really rejects, and really moves
    assert min(ks_pvalues(res.state.position, fresh)) > 0.01


def test_two_sample_test_detects_ula_bias(ring_runs):
    """The same check has power: ULA at the same step size inflates each mode's variance."""
    runs, fresh = ring_runs
    assert min(ks_pvalues(runs["langevin"].state.position, fresh)) < 1e-5


@pytest.mark.parametrize("f", [1.5, 1.9])
def test_mala_variance_is_unbiased_at_large_eps(f):
    """Where ULA's variance is 4 s^2 (f = 1.5) or 20 s^2 (f = 1.9), MALA's stays s^2."""
    g = gaussian(2)
    n = 20_000
    res = sample(exact_gaussian(n, 2, seed=11), mala(target_from(score=g.score, log_prob=g.log_prob), f * S**2), 100,
                 generator=gen(12))
    x = res.state.position
    assert 0.05 < res.acceptance_rate.mean().item() < 0.99
    assert x.var(dim=0).mean().item() == pytest.approx(S**2, abs=variance_tolerance(S**2, 2 * n))
    np.testing.assert_allclose(x.mean(dim=0).numpy(), MUS[2], atol=5 * S / math.sqrt(n))


def test_mala_acceptance_tends_to_one():
    ring = ring_gmm()
    target = target_from(score=ring.score, log_prob=ring.log_prob)
    x0 = ring.sample(2000, generator=gen(13)).double()
    epss = 0.1 * np.array([1.0, 0.3, 0.1, 0.03, 0.01, 0.001])
    rates = [sample(x0, mala(target, float(e)), 30, generator=gen(14)).acceptance_rate.mean().item()
             for e in epss]
    assert np.all(np.diff(rates) > 0), rates
    assert rates[0] < 0.9
    assert rates[-1] > 0.99


def gauss_1d_log_prob(mu, s):
    return lambda x: -((x[:, 0] - mu) ** 2) / (2 * s**2) - 0.5 * math.log(2 * math.pi * s**2)


def hand_log_alpha(x, z, eps, mu, s):
    """log alpha = log p(y) - log p(x) + log q(x | y) - log q(y | x), in plain Python floats."""

    def lp(v):
        return -((v - mu) ** 2) / (2 * s**2)

    def grad(v):
        return (mu - v) / s**2

    def log_q(to, frm):
        return -((to - frm - eps * grad(frm)) ** 2) / (4 * eps)

    y = x + eps * grad(x) + math.sqrt(2 * eps) * z
    return y, lp(y) - lp(x) + log_q(x, y) - log_q(y, x), log_q(x, y) - log_q(y, x)


@pytest.mark.parametrize(("mu", "s", "eps"), [(0.0, 1.0, 0.5), (1.5, 0.6, 0.3), (-2.0, 2.0, 6.0)])
def test_mala_acceptance_equals_hand_computed_alpha(mu, s, eps):
    xs = [0.3, 2.0, -1.1, 4.0, mu + 0.1]
    zs = [1.2, -0.7, 2.5, -1.9, 1.0]
    target = target_from(log_prob=gauss_1d_log_prob(mu, s))
    state = init_state(torch.tensor(xs, dtype=F64)[:, None], target)
    noise = torch.tensor(zs, dtype=F64)[:, None]
    hand = [hand_log_alpha(x, z, eps, mu, s) for x, z in zip(xs, zs, strict=True)]
    ys = torch.tensor([h[0] for h in hand], dtype=F64)[:, None]
    log_alpha = torch.tensor([h[1] for h in hand], dtype=F64)
    proposal_term = torch.tensor([h[2] for h in hand], dtype=F64)
    assert bool((log_alpha.abs() > 1e-3).all())  # no borderline decisions
    negative = log_alpha < 0
    assert bool(negative.any())  # some proposals have alpha < 1: the decision depends on alpha's value
    # the MH ratio of q matters here: dropping it would flip one of the two decisions below for every chain
    assert bool((proposal_term.abs() > 1e-2).all())
    delta = 1e-9
    # just below log alpha: accepted
    new, info = mala_step(state, target, eps, noise, log_alpha - delta)
    assert isinstance(info, MALAInfo)
    torch.testing.assert_close(info.log_accept_ratio, log_alpha, rtol=1e-12, atol=1e-12)
    acc = info.accepted
    assert acc.dtype == torch.bool and acc.shape == (5,)
    assert bool(acc.all())
    torch.testing.assert_close(new.position, ys, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(new.log_prob, gauss_1d_log_prob(mu, s)(ys), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(new.grad, (mu - ys) / s**2, rtol=1e-13, atol=1e-13)
    # just above log alpha (capped at log 1 = 0): rejected where alpha < 1, and the state is unchanged there
    new, info = mala_step(state, target, eps, noise, torch.clamp(log_alpha + delta, max=0.0))
    acc = info.accepted
    assert torch.equal(acc, ~negative)
    assert torch.equal(new.position[negative], state.position[negative])
    assert torch.equal(new.log_prob[negative], state.log_prob[negative])
    assert torch.equal(new.grad[negative], state.grad[negative])
    torch.testing.assert_close(new.position[~negative], ys[~negative], rtol=1e-14, atol=1e-14)


def test_mala_rejects_nan_proposals():
    target = target_from(log_prob=lambda x: torch.where(x[:, 0] > 0, torch.nan, -x[:, 0] ** 2))
    state = init_state(torch.full((3, 1), -1.0, dtype=F64), target)
    noise = torch.tensor([[5.0], [-0.1], [5.0]], dtype=F64)
    new, info = mala_step(state, target, 0.5, noise, torch.full((3,), -50.0, dtype=F64))
    assert info.accepted.tolist() == [False, True, False]
    assert bool(torch.isnan(info.log_accept_ratio[[0, 2]]).all())
    assert torch.equal(new.position[[0, 2]], state.position[[0, 2]])


def test_mala_with_score_only_target_is_refused():
    g = gaussian(2)
    with pytest.raises(ValueError, match="log_prob"):
        sample(exact_gaussian(4, 2, seed=0), mala(target_from(score=g.score), 0.1), 3)


# --- target_from ----------------------------------------------------------------


def three_component():
    return IsotropicGMM([[-2.0, 0.5], [1.0, 1.0], [0.5, -3.0]], 0.8, weights=[0.5, 0.3, 0.2])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-8, 8), st.floats(-8, 8)), min_size=1, max_size=10),
       st.sampled_from(["ring", "three"]))
def test_score_log_prob_and_energy_targets_agree(pts, which):
    gmm = ring_gmm() if which == "ring" else three_component()
    x = torch.tensor(pts, dtype=F64)
    lp_s, g_s = target_from(score=gmm.score, log_prob=gmm.log_prob).log_prob_and_score(x)
    lp_l, g_l = target_from(log_prob=gmm.log_prob).log_prob_and_score(x)
    lp_e, g_e = target_from(energy=lambda v: -gmm.log_prob(v)).log_prob_and_score(x)
    score_only = target_from(score=gmm.score)
    assert score_only.log_prob_and_score is None
    torch.testing.assert_close(score_only.score(x), g_s, rtol=0, atol=0)
    for g in (g_l, g_e):
        assert g.shape == x.shape and not g.requires_grad
        torch.testing.assert_close(g, g_s, rtol=1e-10, atol=1e-10)
    for lp in (lp_l, lp_e):
        assert lp.shape == (len(x),) and not lp.requires_grad
        torch.testing.assert_close(lp, lp_s, rtol=1e-13, atol=1e-13)


def test_energy_is_log_prob_up_to_a_constant():
    gmm = three_component()
    x = torch.randn(20, 2, dtype=F64, generator=gen(0))
    lp_e, g_e = target_from(energy=lambda v: -gmm.log_prob(v) + 123.0).log_prob_and_score(x)
    lp, g = target_from(log_prob=gmm.log_prob).log_prob_and_score(x)
    torch.testing.assert_close(lp_e, lp - 123.0, rtol=1e-13, atol=1e-12)
    torch.testing.assert_close(g_e, g, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("method", ["langevin", "mala"])
@pytest.mark.parametrize("kind", ["score", "log_prob", "energy"])
@pytest.mark.parametrize("K", [1, 7])
def test_gradient_is_evaluated_once_per_step(method, kind, K):
    gmm = three_component()
    fn_calls = []

    def log_prob(x):
        fn_calls.append(1)
        return gmm.log_prob(x)

    build = {
        "score": lambda: target_from(score=gmm.score, log_prob=log_prob),
        "log_prob": lambda: target_from(log_prob=log_prob),
        "energy": lambda: target_from(energy=lambda v: -log_prob(v)),
    }
    target, calls = counting(build[kind]())
    sample(torch.zeros(5, 2, dtype=F64), KERNELS[method](target, 0.05), K, generator=gen(0))
    assert len(calls) == K + 1  # one evaluation at the start, one per step
    if kind == "score" and method == "langevin":  # unadjusted Langevin never needs the log-density
        assert set(calls) == {"score"} and fn_calls == []
    else:
        assert set(calls) == {"log_prob_and_score"} and len(fn_calls) == K + 1


# --- sample ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["langevin", "mala"])
@pytest.mark.parametrize(("n_steps", "thin"), [(10, 3), (9, 3), (5, 1), (4, 10)])
def test_thin_records_every_thin_steps_from_x0(method, n_steps, thin):
    gmm = three_component()
    target = target_from(score=gmm.score, log_prob=gmm.log_prob)
    x0 = torch.randn(6, 2, dtype=F64, generator=gen(1))
    seen = []
    res = sample(x0, KERNELS[method](target, 0.1), n_steps, thin=thin, generator=gen(2),
                 callback=lambda k, s, info: seen.append((k, s.position.clone(), info)))
    assert isinstance(res, ChainResult) and isinstance(res.state, SamplerState)
    assert res.trajectory.shape == (n_steps // thin + 1, 6, 2)
    assert torch.equal(res.trajectory[0], x0)
    assert [k for k, _, _ in seen] == list(range(n_steps))
    assert all(isinstance(info, MALAInfo if method == "mala" else LangevinInfo) for _, _, info in seen)
    for j in range(1, n_steps // thin + 1):
        assert torch.equal(res.trajectory[j], seen[j * thin - 1][1])
    if n_steps % thin == 0:
        assert torch.equal(res.trajectory[-1], res.state.position)


@pytest.mark.parametrize("method", ["langevin", "mala"])
def test_same_seed_same_run(method):
    gmm = ring_gmm()
    target = target_from(score=gmm.score, log_prob=gmm.log_prob)
    x0 = gmm.sample(50, generator=gen(0)).double()
    a, b, c = (sample(x0, KERNELS[method](target, 0.05), 25, thin=5, generator=gen(s)) for s in (7, 7, 8))
    assert torch.equal(a.state.position, b.state.position)
    assert torch.equal(a.trajectory, b.trajectory)
    assert not torch.equal(a.state.position, c.state.position)
    if method == "mala":
        assert torch.equal(a.acceptance_trace, b.acceptance_trace)


def test_acceptance_trace_and_rate():
    gmm = ring_gmm()
    target = target_from(log_prob=gmm.log_prob)
    calls = []
    res = sample(gmm.sample(40, generator=gen(0)).double(), mala(target, 0.08), 17, generator=gen(1),
                 callback=lambda k, s, info: calls.append(k))
    assert len(calls) == 17
    assert res.acceptance_trace.shape == (17,)
    assert res.acceptance_rate.shape == (40,)
    assert bool(((res.acceptance_trace >= 0) & (res.acceptance_trace <= 1)).all())
    # mean over chains of the per-chain rate = mean over steps of the per-step fraction
    assert res.acceptance_rate.mean().item() == pytest.approx(res.acceptance_trace.mean().item(), rel=1e-12)
    # every per-chain rate is a multiple of 1 / n_steps
    np.testing.assert_allclose(res.acceptance_rate.numpy() * 17, np.round(res.acceptance_rate.numpy() * 17),
                               atol=1e-9)


def test_float32_chains_stay_float32():
    gmm = ring_gmm()
    kernel = mala(target_from(log_prob=gmm.log_prob), 0.05)
    res = sample(gmm.sample(10, generator=gen(0)), kernel, 3, thin=1, generator=gen(1))
    assert res.state.position.dtype == torch.float32 and res.trajectory.dtype == torch.float32


# --- annealed Langevin ----------------------------------------------------------


def course_run(score, seed=0):
    g = gen(seed)
    init = torch.rand(1280, 2, generator=g) * 16 - 8
    sigmas = np.exp(np.linspace(np.log(20), np.log(1), 10))
    return annealed_langevin(score, init, sigmas, 0.05, 100, generator=g)


@pytest.mark.parametrize("effective", [True, False], ids=["sqrt(1+sigma^2)", "sigma"])
def test_annealed_langevin_recovers_mode_weights(effective):
    gmm = GMMDist()
    if effective:  # the true score of the data perturbed by noise of level sigma
        def score(x, s):
            return gmm.score(x, math.sqrt(1 + s**2))
    else:
        def score(x, s):
            return gmm.score(x, s)
    out = course_run(score)
    assert isinstance(out, list) and len(out) == 10
    assert all(o.shape == (1280, 2) for o in out)
    w = mode_weights(out[-1], gmm.means)
    np.testing.assert_allclose(w, [0.2, 0.8], atol=0.05)
    assert bool(torch.isfinite(out[-1]).all())


def test_annealed_langevin_step_sizes_and_steps():
    """Level i runs T steps of size epsilon * sigma_i^2 / sigma_L^2, from the previous level's output."""
    calls = []

    def score(x, s):
        calls.append(s)
        return -x / (1 + s**2)

    sigmas = [4.0, 2.0, 1.0]
    init = torch.randn(30, 2, dtype=F64, generator=gen(0))
    out = annealed_langevin(score, init, sigmas, 0.01, 5, generator=gen(1))
    assert len(out) == 3
    assert calls == [4.0] * 6 + [2.0] * 6 + [1.0] * 6  # T + 1 gradient evaluations per level
    # replay with sample() and the same generator
    g = gen(1)
    x = init
    for s, o in zip(sigmas, out, strict=True):
        kernel = langevin(target_from(score=lambda v, s=s: -v / (1 + s**2)), 0.01 * s**2)
        x = sample(x, kernel, 5, generator=g).state.position
        torch.testing.assert_close(o, x, rtol=0, atol=0)


def test_annealed_langevin_single_level():
    out = annealed_langevin(lambda x, s: -x, torch.zeros(4, 2), [1.0], 0.1, 2, generator=gen(0))
    assert len(out) == 1 and out[0].shape == (4, 2)


# --- bad input ------------------------------------------------------------------


def _gauss_target():
    return target_from(score=gaussian(2).score, log_prob=gaussian(2).log_prob)


X0 = torch.zeros(4, 2, dtype=F64)

SAMPLE_BAD = [
    ("eps zero", dict(eps=0.0), ValueError, "eps"),
    ("eps negative", dict(eps=-0.1), ValueError, "eps"),
    ("eps nan", dict(eps=float("nan")), ValueError, "eps"),
    ("eps inf", dict(eps=float("inf")), ValueError, "eps"),
    ("eps string", dict(eps="0.1"), TypeError, "eps"),
    ("n_steps zero", dict(n_steps=0), ValueError, "n_steps"),
    ("n_steps float", dict(n_steps=2.5), TypeError, "n_steps"),
    ("thin zero", dict(thin=0), ValueError, "thin"),
    ("kernel a function", dict(kernel=langevin), TypeError, "kernel must be a Kernel"),
    ("kernel a target", dict(kernel=target_from(score=lambda x: -x)), TypeError, "kernel must be a Kernel"),
    ("x0 string", dict(x0="abc"), TypeError, "x0"),  # NumPy arrays and lists are converted (test_common)
    ("x0 complex", dict(x0=np.zeros((4, 2), dtype=complex)), TypeError, "x0"),
    ("x0 nan", dict(x0=torch.tensor([[0.0, float("nan")]], dtype=F64)), ValueError, "x0"),
    ("x0 inf", dict(x0=torch.tensor([[0.0, float("inf")]], dtype=F64)), ValueError, "x0"),
    ("x0 1-d", dict(x0=torch.zeros(2, dtype=F64)), ValueError, "x0"),
    ("x0 no chains", dict(x0=torch.zeros(0, 2, dtype=F64)), ValueError, "x0"),
    ("x0 object", dict(x0=np.array([[None, None]])), TypeError, "x0"),
]


@pytest.mark.parametrize(("kwargs", "exc", "match"), [c[1:] for c in SAMPLE_BAD], ids=[c[0] for c in SAMPLE_BAD])
@pytest.mark.parametrize("method", ["langevin", "mala"])
def test_sample_bad_input(kwargs, exc, match, method):
    """eps is checked when the kernel is made, the rest by sample."""
    args = dict(x0=X0, target=_gauss_target(), eps=0.1, n_steps=3, method=method)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        kernel = args.pop("kernel", None) or KERNELS[args.pop("method")](args.pop("target"), args.pop("eps"))
        for key in ("method", "target", "eps"):
            args.pop(key, None)
        sample(kernel=kernel, **args)


TARGET_BAD = [
    ("no field", Target(), ValueError, "log_prob_and_score, score or both"),
    ("a number", Target(score=3.0), TypeError, "target.score must be callable"),
    ("a string", Target("x", None), TypeError, "target.log_prob_and_score must be callable"),
    ("a function", lambda x: (None, -x), TypeError, "target must be a Target"),
]


@pytest.mark.parametrize(("target", "exc", "match"), [c[1:] for c in TARGET_BAD], ids=[c[0] for c in TARGET_BAD])
@pytest.mark.parametrize("make", [langevin, mala, lambda t, eps: init_state(X0, t)])
def test_kernels_check_their_target(target, exc, match, make):
    with pytest.raises(exc, match=match):
        make(target, 0.1)


def test_a_kernel_is_init_and_a_pure_step():
    target = _gauss_target()
    for make, info_type in ((langevin, LangevinInfo), (mala, MALAInfo)):
        kernel = make(target, 0.1)
        assert isinstance(kernel, Kernel)
        state = kernel.init(X0)
        a = kernel.step(state, gen(3))
        b = kernel.step(state, gen(3))
        assert isinstance(a[1], info_type)
        torch.testing.assert_close(a[0].position, b[0].position, rtol=0, atol=0)  # the state is not mutated
        assert torch.equal(state.position, X0)


def test_ula_on_an_energy_target_carries_the_free_log_density():
    """For an energy (autograd computes both), the ULA state keeps log p, which pages trace."""
    target = target_from(energy=lambda x: (x * x).sum(1) / 2)
    res = sample(torch.ones(3, 2, dtype=F64), langevin(target, 0.1), 4, generator=gen(0))
    x = res.state.position
    torch.testing.assert_close(res.state.log_prob, -(x * x).sum(1) / 2, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("sigma", [0.5, "per chain"])
def test_gaussian_posterior_adds_the_likelihood(sigma):
    gmm = three_component()
    x = torch.randn(4, 2, dtype=F64, generator=gen(0))
    y = torch.randn(4, 2, dtype=F64, generator=gen(1))
    s = torch.tensor([0.3, 0.5, 1.0, 2.0], dtype=F64)[:, None] if sigma == "per chain" else sigma
    for prior in (target_from(score=gmm.score, log_prob=gmm.log_prob), target_from(log_prob=gmm.log_prob)):
        post = gaussian_posterior(prior, y, s)

        def log_post(v):
            return gmm.log_prob(v) - ((y - v) ** 2 / (2 * torch.as_tensor(s) ** 2)).sum(1)

        lp, score = post.log_prob_and_score(x)
        torch.testing.assert_close(lp, log_post(x), rtol=1e-13, atol=1e-13)
        xg = x.clone().requires_grad_(True)
        (auto,) = torch.autograd.grad(log_post(xg).sum(), xg)
        torch.testing.assert_close(score, auto, rtol=1e-10, atol=1e-10)
        if post.score is not None:
            torch.testing.assert_close(post.score(x), auto, rtol=1e-10, atol=1e-10)
    assert gaussian_posterior(target_from(score=gmm.score), y, 0.5).log_prob_and_score is None


@pytest.mark.parametrize(("args", "exc", "match"), [
    (dict(prior=lambda x: x), TypeError, "prior must be a Target"),
    (dict(sigma=0.0), ValueError, "sigma"),
    (dict(sigma=torch.tensor([[1.0], [-1.0]])), ValueError, "sigma"),
    (dict(sigma=torch.ones(3, 1)), ValueError, "broadcast"),
    (dict(y=torch.zeros(2)), ValueError, "y"),
])
def test_gaussian_posterior_bad_input(args, exc, match):
    kw = dict(prior=target_from(score=lambda x: -x), y=torch.zeros(2, 2), sigma=1.0)
    kw.update(args)
    with pytest.raises(exc, match=match):
        gaussian_posterior(**kw)


@pytest.mark.parametrize("mask", ["one for all", "per chain", "bool numpy"])
def test_gaussian_posterior_with_a_mask_observes_only_the_masked_coordinates(mask):
    gmm = three_component()
    x = torch.randn(4, 2, dtype=F64, generator=gen(0))
    y = torch.randn(4, 2, dtype=F64, generator=gen(1))
    m = {"one for all": torch.tensor([[1.0, 0.0]], dtype=F64),
         "per chain": torch.tensor([[1, 0], [0, 1], [1, 1], [0, 0]]),
         "bool numpy": np.array([[True, False]])}[mask]
    mt = torch.as_tensor(np.asarray(m), dtype=F64)
    post = gaussian_posterior(target_from(log_prob=gmm.log_prob), y, 0.5, mask=m)

    def log_post(v):
        return gmm.log_prob(v) - (mt * (y - v) ** 2 / (2 * 0.5**2)).sum(1)

    lp, score = post.log_prob_and_score(x)
    torch.testing.assert_close(lp, log_post(x), rtol=1e-13, atol=1e-13)
    xg = x.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(log_post(xg).sum(), xg)
    torch.testing.assert_close(score, auto, rtol=1e-10, atol=1e-10)
    # an unobserved coordinate ignores y: changing y there changes nothing
    y2 = torch.where(mt.expand_as(y) > 0, y, y + 100.0)
    lp2, score2 = gaussian_posterior(target_from(log_prob=gmm.log_prob), y2, 0.5, mask=m).log_prob_and_score(x)
    torch.testing.assert_close(lp2, lp, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(score2, score, rtol=1e-13, atol=1e-13)


def test_gaussian_posterior_all_ones_mask_is_no_mask():
    gmm = three_component()
    x, y = torch.randn(3, 2, dtype=F64, generator=gen(0)), torch.randn(3, 2, dtype=F64, generator=gen(1))
    prior = target_from(log_prob=gmm.log_prob)
    a = gaussian_posterior(prior, y, 0.7).log_prob_and_score(x)
    b = gaussian_posterior(prior, y, 0.7, mask=torch.ones(1, 2)).log_prob_and_score(x)
    for u, v in zip(a, b, strict=True):
        assert torch.equal(u, v)


@pytest.mark.parametrize(("mask", "exc", "match"), [
    (torch.tensor([[0.5, 1.0]]), ValueError, "only 0s and 1s"),
    (torch.ones(3, 2), ValueError, "broadcast"),
    (torch.ones(1, 2, 2), ValueError, "broadcast"),
    (torch.tensor([[float("nan"), 1.0]]), ValueError, "mask"),
    ("all", TypeError, "mask"),
    (torch.ones(1, 2, dtype=torch.complex64), TypeError, "mask"),
])
def test_gaussian_posterior_bad_mask(mask, exc, match):
    with pytest.raises(exc, match=match):
        gaussian_posterior(target_from(score=lambda x: -x), torch.zeros(2, 2), 1.0, mask=mask)


def test_target_gradient_of_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="gradient has shape"):
        sample(X0, langevin(target_from(score=lambda x: x[:, :1]), 0.1), 3)


def test_target_from_bad_input():
    f = gaussian(2)
    with pytest.raises(ValueError, match="score, log_prob or energy"):
        target_from()
    with pytest.raises(ValueError, match="score.*energy"):
        target_from(score=f.score, energy=lambda x: -f.log_prob(x))
    with pytest.raises(TypeError, match="score"):
        target_from(score=3.0)
    with pytest.raises(TypeError, match="log_prob"):
        target_from(log_prob="x")
    with pytest.raises(TypeError, match="energy"):
        target_from(energy=1)


def test_target_from_refuses_log_prob_and_energy_together():
    with pytest.raises(ValueError, match="energy"):
        target_from(log_prob=lambda x: -(x**2).sum(1), energy=lambda x: (x**2).sum(1))


SIGMAS = [3.0, 2.0, 1.0]
ANNEALED_BAD = [
    ("empty sigmas", dict(sigmas=[]), ValueError, "sigmas"),
    ("increasing sigmas", dict(sigmas=[1.0, 2.0, 3.0]), ValueError, "sigmas"),
    ("repeated sigma", dict(sigmas=[2.0, 2.0, 1.0]), ValueError, "sigmas"),
    ("zero sigma", dict(sigmas=[2.0, 1.0, 0.0]), ValueError, "sigmas"),
    ("negative sigma", dict(sigmas=[2.0, -1.0]), ValueError, "sigmas"),
    ("nan sigma", dict(sigmas=[2.0, float("nan")]), ValueError, "sigmas"),
    ("T zero", dict(T=0), ValueError, "T"),
    ("T float", dict(T=10.0), TypeError, "T"),
    ("epsilon zero", dict(epsilon=0.0), ValueError, "epsilon"),
    ("epsilon nan", dict(epsilon=float("nan")), ValueError, "epsilon"),
    ("init string", dict(init="abc"), TypeError, "init"),
    ("init 1-d", dict(init=torch.zeros(2)), ValueError, "init"),
    ("init nan", dict(init=torch.tensor([[float("nan"), 0.0]])), ValueError, "init"),
]


@pytest.mark.parametrize(("kwargs", "exc", "match"), [c[1:] for c in ANNEALED_BAD],
                         ids=[c[0] for c in ANNEALED_BAD])
def test_annealed_langevin_bad_input(kwargs, exc, match):
    args = dict(score=lambda x, s: -x, init=torch.zeros(3, 2), sigmas=SIGMAS, epsilon=0.01, T=2)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        annealed_langevin(**args)


def test_mala_records_per_chain_acceptance():
    g = torch.Generator().manual_seed(0)
    target = target_from(log_prob=lambda x: -(x * x).sum(1) / 2)
    res = sample(torch.zeros(6, 2), mala(target, 0.5), 40, generator=g)
    assert res.accepted.shape == (40, 6) and res.accepted.dtype == torch.bool
    torch.testing.assert_close(res.acceptance_rate, res.accepted.double().mean(0).to(res.acceptance_rate.dtype))
    torch.testing.assert_close(res.acceptance_trace, res.accepted.float().mean(1).to(res.acceptance_trace.dtype))
    assert sample(torch.zeros(3, 2), langevin(target, 0.5), 5).accepted is None


# --- step-size adaptation for MALA ----------------------------------------------


@pytest.mark.parametrize("d", [2, 10])
@pytest.mark.parametrize("target_accept", [0.3, 0.574, 0.8])
def test_adapted_step_hits_the_target_acceptance(d, target_accept):
    """After the warm-up, MALA with the frozen step accepts at the target rate (N(0, S^2 I))."""
    g = IsotropicGMM([[0.0] * d], S)
    target = target_from(score=g.score, log_prob=g.log_prob)
    x0 = S * torch.randn(200, d, dtype=F64, generator=gen(0))
    res = adapt_step_size(x0, target, 0.01, 500, target_accept=target_accept, generator=gen(1))
    after = sample(res.state.position, mala(target, res.eps), 200, generator=gen(2))
    assert after.acceptance_rate.mean().item() == pytest.approx(target_accept, abs=0.05)
    assert res.acceptance_trace[-250:].mean().item() == pytest.approx(target_accept, abs=0.05)


def test_adapted_step_shrinks_for_a_higher_target_and_a_higher_dimension():
    steps = {}
    for d in (2, 10):
        g = IsotropicGMM([[0.0] * d], S)
        target = target_from(score=g.score, log_prob=g.log_prob)
        for a in (0.3, 0.8):
            x0 = S * torch.randn(200, d, dtype=F64, generator=gen(0))
            steps[d, a] = adapt_step_size(x0, target, 0.01, 500, target_accept=a, generator=gen(1)).eps
    assert steps[2, 0.8] < steps[2, 0.3] and steps[10, 0.8] < steps[10, 0.3]
    assert steps[10, 0.3] < steps[2, 0.3] and steps[10, 0.8] < steps[2, 0.8]


def test_adaptation_is_the_robbins_monro_recursion():
    """The traces obey log eps_{k+1} = log eps_k + gain (k+1)^-decay (a_k - a*); the frozen step
    is the geometric mean of the second half; one target call per step plus one at the start."""
    target, calls = counting(target_from(log_prob=lambda x: -(x * x).sum(1) / 2))
    res = adapt_step_size(torch.zeros(30, 2, dtype=F64), target, 0.2, 41, target_accept=0.6, gain=0.5,
                          decay=0.8, generator=gen(3))
    assert isinstance(res, StepAdaptation) and len(calls) == 42
    assert res.eps_trace.shape == res.acceptance_trace.shape == (41,)
    assert res.eps_trace.dtype == res.acceptance_trace.dtype == F64
    assert res.eps_trace[0].item() == pytest.approx(0.2, rel=1e-15)
    k = torch.arange(40, dtype=F64)
    expected = torch.log(res.eps_trace[:-1]) + 0.5 / (k + 1) ** 0.8 * (res.acceptance_trace[:-1] - 0.6)
    torch.testing.assert_close(torch.log(res.eps_trace[1:]), expected, rtol=1e-12, atol=1e-12)
    assert res.eps == pytest.approx(torch.log(res.eps_trace[20:]).mean().exp().item(), rel=1e-12)
    assert res.state.position.shape == (30, 2) and res.state.log_prob is not None
    # the acceptances are multiples of 1/30 (fractions of the 30 chains)
    torch.testing.assert_close(res.acceptance_trace * 30, (res.acceptance_trace * 30).round())


def test_adaptation_same_seed_same_run():
    target = target_from(log_prob=lambda x: -(x * x).sum(1) / 2)
    a = adapt_step_size(torch.zeros(5, 2), target, 0.1, 20, generator=gen(4))
    b = adapt_step_size(torch.zeros(5, 2), target, 0.1, 20, generator=gen(4))
    assert a.eps == b.eps
    torch.testing.assert_close(a.state.position, b.state.position, rtol=0, atol=0)


ADAPT_BAD = [
    ("target_accept 0", dict(target_accept=0.0), ValueError, "target_accept"),
    ("target_accept 1", dict(target_accept=1.0), ValueError, "target_accept"),
    ("target_accept str", dict(target_accept="0.5"), TypeError, "target_accept"),
    ("decay 0.5", dict(decay=0.5), ValueError, "decay"),
    ("decay 1.5", dict(decay=1.5), ValueError, "decay"),
    ("gain 0", dict(gain=0.0), ValueError, "gain"),
    ("eps0 negative", dict(eps0=-0.1), ValueError, "eps0"),
    ("n_warmup 0", dict(n_warmup=0), ValueError, "n_warmup"),
    ("n_warmup float", dict(n_warmup=10.0), TypeError, "n_warmup"),
    ("score only", dict(target=target_from(score=lambda x: -x)), ValueError, "log-density"),
    ("target not callable", dict(target="mala"), TypeError, "target"),
    ("generator string", dict(generator="0"), TypeError, "generator"),
]


@pytest.mark.parametrize(("kwargs", "exc", "match"), [c[1:] for c in ADAPT_BAD], ids=[c[0] for c in ADAPT_BAD])
def test_adapt_step_size_bad_input(kwargs, exc, match):
    args = dict(x0=torch.zeros(3, 2), target=target_from(log_prob=lambda x: -(x * x).sum(1) / 2), eps0=0.1,
                n_warmup=5)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        adapt_step_size(**args)


def test_diverged_chains_stay_diverged_without_the_target_seeing_them():
    """A step far too large sends chains to infinity; the target (which refuses non-finite
    input) only ever sees the finite ones, and the diverged chains stay NaN."""
    from probmods.gmm import ring_gmm
    from probmods.mcmc import eps_from_noise, sample, target_from

    ring = ring_gmm()
    seen = []

    def score(x):
        seen.append(bool(torch.isfinite(x).all()))
        return ring.score(x)

    x0 = torch.rand(1000, 2, generator=torch.Generator().manual_seed(0)) * 6 - 3
    res = sample(x0, langevin(target_from(score=score, log_prob=ring.log_prob), eps_from_noise(200 / 256)), 500,
                 generator=torch.Generator().manual_seed(1))
    final = res.state.position
    assert all(seen) and (~torch.isfinite(final).all(1)).sum() >= 2


def test_a_fused_target_samples_the_chains_of_the_two_functions():
    """MALA on log_prob_and_score runs exactly the chains of log_prob with score, cheaper."""
    ring = ring_gmm()
    apart = target_from(score=ring.score, log_prob=ring.log_prob)
    fused = target_from(score=ring.score, log_prob_and_score=ring.log_prob_and_score)
    x0 = torch.randn(50, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    a = sample(x0, mala(apart, 0.05), 200, generator=3)
    b = sample(x0, mala(fused, 0.05), 200, generator=3)
    torch.testing.assert_close(a.state.position, b.state.position, rtol=0, atol=0)
    torch.testing.assert_close(a.accepted, b.accepted, rtol=0, atol=0)
    only = target_from(log_prob_and_score=ring.log_prob_and_score)  # ULA takes the score from it
    assert only.score is None
    c = sample(x0, langevin(only, 0.05), 50, generator=3)
    d = sample(x0, langevin(apart, 0.05), 50, generator=3)
    torch.testing.assert_close(c.state.position, d.state.position, rtol=0, atol=0)


def test_log_prob_and_score_is_given_alone_or_with_score():
    ring = ring_gmm()
    with pytest.raises(ValueError, match="not with log_prob or energy"):
        target_from(log_prob=ring.log_prob, log_prob_and_score=ring.log_prob_and_score)
    with pytest.raises(TypeError, match="log_prob_and_score"):
        target_from(log_prob_and_score=3)

"""Score matching objectives, networks and training loops (HW4)."""

import numpy as np
import pytest
import torch

from probmods.gmm import GMMDist, IsotropicGMM
from probmods.score import (
    CondScoreNet,
    annealed_sliced_score_matching,
    exact_score_matching,
    hutchinson_trace,
    make_score_net,
    sliced_score_matching,
    train,
    train_annealed,
    tweedie_denoise,
)


def test_sliced_objective_is_unbiased_for_the_exact_one():
    torch.manual_seed(0)
    net = make_score_net().double()
    x = GMMDist().sample(200, generator=torch.Generator().manual_seed(1)).double()
    exact = exact_score_matching(net, x).item()
    gen = torch.Generator().manual_seed(2)
    draws = np.array([sliced_score_matching(net, x, generator=gen).item() for _ in range(300)])
    se = draws.std(ddof=1) / np.sqrt(len(draws))
    assert abs(draws.mean() - exact) < 4 * se
    # many projections at once reduce the variance
    many = sliced_score_matching(net, x, nv=200, generator=gen).item()
    assert abs(many - exact) < 4 * se * np.sqrt(300 / 200) + 1e-3


def test_exact_objective_of_true_score_is_minus_half_fisher_information():
    """For s = grad log p: E[tr grad s + |s|^2 / 2] = -E|s|^2 / 2 (integration by parts)."""
    gmm = GMMDist()
    x = gmm.sample(20000, generator=torch.Generator().manual_seed(3)).double()

    def score(v):
        return gmm.score(v)

    value = exact_score_matching(score, x).item()
    expected = -0.5 * (gmm.score(x) ** 2).sum(1).mean().item()
    assert value == pytest.approx(expected, abs=0.05)


def test_exact_objective_trace_matches_autograd_jacobian():
    torch.manual_seed(1)
    net = make_score_net().double()
    x = torch.randn(5, 2, dtype=torch.float64)
    value = exact_score_matching(net, x).item()
    tr = [torch.trace(torch.autograd.functional.jacobian(lambda v: net(v[None])[0], xi)).item() for xi in x]
    expected = np.mean(tr) + 0.5 * (net(x) ** 2).sum(1).mean().item()
    assert value == pytest.approx(expected, rel=1e-10)


def test_annealed_loss_weights_by_sigma_squared():
    torch.manual_seed(0)
    net = CondScoreNet().double()
    x = torch.randn(32, 2, dtype=torch.float64)
    for s in (0.1, 1.0, 7.0):
        a = annealed_sliced_score_matching(net, x, torch.full((32, 1), s, dtype=torch.float64),
                                           generator=torch.Generator().manual_seed(4))
        b = sliced_score_matching(lambda v, s=s: net(v, s), x, generator=torch.Generator().manual_seed(4))
        assert a.item() == pytest.approx(s**2 * b.item(), rel=1e-12)


def test_cond_net_divides_by_sigma():
    torch.manual_seed(0)
    net = CondScoreNet().double()
    x = torch.randn(4, 2, dtype=torch.float64)
    out = net(x, 2.0)
    raw = net.net(torch.cat([x, torch.full((4, 1), 2.0, dtype=torch.float64)], 1))
    torch.testing.assert_close(out, raw / 2.0)
    torch.testing.assert_close(net(x, torch.full((4, 1), 2.0, dtype=torch.float64)), out)


def test_losses_backpropagate_to_parameters():
    torch.manual_seed(0)
    net = make_score_net()
    loss = sliced_score_matching(net, torch.randn(16, 2))
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


def test_training_learns_the_score_near_the_modes():
    torch.manual_seed(0)
    losses, net = train(make_score_net(), nsteps=1500, progress=False)
    assert losses.shape == (1500,)
    assert losses[-200:].mean() < losses[:50].mean() - 0.5
    gmm = GMMDist()
    x = gmm.sample(500, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        rel = (net(x) - gmm.score(x)).norm(dim=1).mean() / gmm.score(x).norm(dim=1).mean()
    assert rel < 0.35


def test_annealed_training_runs():
    torch.manual_seed(0)
    losses, net = train_annealed(CondScoreNet(), [5.0, 1.0, 0.2], nsteps=200, progress=False)
    assert losses.shape == (200,) and np.isfinite(losses).all()


# --- slicing vectors: Gaussian and Rademacher ------------------------------------

F64 = torch.float64


def _random_matrix(d, seed, diagonal=False):
    a = torch.randn(d, d, dtype=F64, generator=torch.Generator().manual_seed(seed))
    return torch.diag(torch.diagonal(a)) if diagonal else a


@pytest.mark.parametrize("v_dist", ["gaussian", "rademacher"])
@pytest.mark.parametrize("d", [2, 5])
def test_hutchinson_mean_and_variance_match_the_exact_formulas(v_dist, d):
    """For s(x) = A x: mean tr A; variance 2 ||S||_F^2 (Gaussian) or 2 sum_{i != j} S_ij^2 (Rademacher), S = sym A."""
    a = _random_matrix(d, seed=d)
    sym = 0.5 * (a + a.T)
    n = 20000
    est = hutchinson_trace(lambda x: x @ a.T, torch.randn(3, d, dtype=F64), nv=n, v_dist=v_dist,
                           generator=torch.Generator().manual_seed(7))
    assert est.shape == (n, 3) and est.dtype == F64
    off = sym - torch.diag(torch.diagonal(sym))
    var = 2 * (sym**2).sum() if v_dist == "gaussian" else 2 * (off**2).sum()
    se = float(var.sqrt()) / np.sqrt(n)
    for col in est.T:  # a linear score: the same Jacobian at every point
        assert abs(col.mean().item() - torch.trace(a).item()) < 4 * se
        assert col.var().item() == pytest.approx(var.item(), rel=0.1)


def test_rademacher_estimate_of_a_diagonal_jacobian_is_exact_and_gaussian_is_not():
    a = _random_matrix(4, seed=3, diagonal=True)
    x = torch.randn(6, 4, dtype=F64)
    rad = hutchinson_trace(lambda v: v @ a.T, x, nv=50, v_dist="rademacher")
    torch.testing.assert_close(rad, torch.full_like(rad, torch.trace(a).item()), rtol=1e-12, atol=1e-12)
    gau = hutchinson_trace(lambda v: v @ a.T, x, nv=50, generator=torch.Generator().manual_seed(1))
    assert gau.std().item() > 0.5


def test_hutchinson_of_a_nonlinear_score_is_unbiased_for_the_jacobian_trace():
    gmm = GMMDist()
    x = torch.tensor([[-0.3, 0.4], [4.0, 5.5], [-5.0, -4.0]], dtype=F64)  # one point near the boundary
    exact = torch.tensor([torch.trace(torch.autograd.functional.jacobian(lambda v: gmm.score(v[None])[0], xi)).item()
                          for xi in x], dtype=F64)
    for v_dist in ("gaussian", "rademacher"):
        est = hutchinson_trace(gmm.score, x, nv=40000, v_dist=v_dist, generator=torch.Generator().manual_seed(2))
        se = est.std(0) / np.sqrt(est.shape[0]) + 1e-12
        assert bool(((est.mean(0) - exact).abs() <= 4 * se + 1e-10).all())


def test_rademacher_sliced_objective_is_unbiased_for_the_exact_one():
    torch.manual_seed(0)
    net = make_score_net().double()
    x = GMMDist().sample(200, generator=torch.Generator().manual_seed(1)).double()
    exact = exact_score_matching(net, x).item()
    gen = torch.Generator().manual_seed(3)
    draws = np.array([sliced_score_matching(net, x, generator=gen, v_dist="rademacher").item() for _ in range(300)])
    se = draws.std(ddof=1) / np.sqrt(len(draws))
    assert abs(draws.mean() - exact) < 4 * se


def test_gaussian_default_is_unchanged_and_annealed_loss_passes_v_dist():
    torch.manual_seed(0)
    net = CondScoreNet().double()
    x = torch.randn(16, 2, dtype=F64)
    sig = torch.full((16, 1), 2.0, dtype=F64)
    a = annealed_sliced_score_matching(net, x, sig, generator=torch.Generator().manual_seed(4))
    b = annealed_sliced_score_matching(net, x, sig, generator=torch.Generator().manual_seed(4), v_dist="gaussian")
    assert a.item() == b.item()
    r = annealed_sliced_score_matching(net, x, sig, generator=torch.Generator().manual_seed(4), v_dist="rademacher")
    plain = sliced_score_matching(lambda v: net(v, 2.0), x, generator=torch.Generator().manual_seed(4),
                                  v_dist="rademacher")
    assert r.item() == pytest.approx(4.0 * plain.item(), rel=1e-12) and r.item() != a.item()


# --- Tweedie's denoising step -----------------------------------------------------


def _posterior_mean(gmm, y, noise):
    """E[x | y] for y = x + noise z, x ~ the mixture: responsibilities at y, then each component's posterior."""
    s2, n2 = gmm.sigma**2, noise**2
    mu, w = gmm.means.numpy(), gmm.mix_probs.numpy()
    logits = np.log(w)[None] - ((y[:, None, :] - mu[None]) ** 2).sum(-1) / (2 * (s2 + n2))
    r = np.exp(logits - logits.max(1, keepdims=True))
    r /= r.sum(1, keepdims=True)
    comp = mu[None] + s2 / (s2 + n2) * (y[:, None, :] - mu[None])
    return (r[:, :, None] * comp).sum(1)


@pytest.mark.parametrize("noise", [0.1, 1.0, 4.0])
@pytest.mark.parametrize(
    "gmm",
    [
        GMMDist(),
        IsotropicGMM([[0.5, -1.0]], 0.7),
        IsotropicGMM([[-2.0, 0.0], [1.0, 1.0], [0.0, 3.0]], 0.5, [0.2, 0.3, 0.5]),
    ],
    ids=["hw4", "one Gaussian", "three"],
)
def test_tweedie_step_is_the_posterior_mean(gmm, noise):
    y = 3 * torch.randn(200, 2, dtype=F64, generator=torch.Generator().manual_seed(5))
    out = tweedie_denoise(gmm.noisy_score, y, noise)
    assert out.shape == y.shape and out.dtype == F64
    np.testing.assert_allclose(out.numpy(), _posterior_mean(gmm, y.numpy(), noise), rtol=1e-10, atol=1e-10)


def test_tweedie_step_is_the_regression_of_clean_on_noisy_points():
    """Monte Carlo: near a given noisy point, the clean points average to the Tweedie estimate."""
    gmm, noise = IsotropicGMM([[0.0, 0.0]], 1.0), 1.5
    x = gmm.sample(400_000, generator=torch.Generator().manual_seed(6)).double()
    y = x + noise * torch.randn(x.shape, dtype=F64, generator=torch.Generator().manual_seed(7))
    y0 = torch.tensor([[1.5, -0.5]], dtype=F64)
    near = (y - y0).norm(dim=1) < 0.1
    mc = x[near].mean(0)
    se = x[near].std(0) / np.sqrt(int(near.sum()))
    assert bool(((mc - tweedie_denoise(gmm.noisy_score, y0, noise)[0]).abs() < 4 * se + 0.01).all())


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: sliced_score_matching(make_score_net(), torch.randn(4, 2), nv=0), ValueError, "nv must be >= 1"),
        (lambda: sliced_score_matching(make_score_net(), np.zeros((4, 2), dtype=complex)), TypeError,
         "samples must be real-valued"),
        (lambda: sliced_score_matching(make_score_net(), torch.zeros(4)), ValueError, "samples must have shape"),
        (lambda: sliced_score_matching(make_score_net(), torch.full((4, 2), float("nan"))), ValueError,
         "samples must be finite"),
        (lambda: annealed_sliced_score_matching(CondScoreNet(), torch.randn(4, 2), torch.ones(3)), ValueError,
         "used_sigmas must have one entry per sample"),
        (lambda: annealed_sliced_score_matching(CondScoreNet(), torch.randn(4, 2), torch.zeros(4)), ValueError,
         "used_sigmas must be finite and > 0"),
        (lambda: train(make_score_net(), nsteps=0, progress=False), ValueError, "nsteps must be >= 1"),
        (lambda: train(make_score_net(), batch_size=0, progress=False), ValueError, "batch_size must be >= 1"),
        (lambda: train(make_score_net(), lr=-1.0, progress=False), ValueError, "lr must be"),
        (lambda: train_annealed(CondScoreNet(), [], progress=False), ValueError, "sigmas must be a non-empty"),
        (lambda: train_annealed(CondScoreNet(), [1.0, -1.0], progress=False), ValueError, "sigmas"),
        (lambda: GMMDist().sample(10, sigma=0), ValueError, "sigma must be a finite number > 0"),
        (lambda: sliced_score_matching(make_score_net(), torch.randn(4, 2), v_dist="uniform"), ValueError,
         "unknown v_dist 'uniform'"),
        (lambda: annealed_sliced_score_matching(CondScoreNet(), torch.randn(4, 2), torch.ones(4), v_dist=1), TypeError,
         "v_dist must be a string"),
        (lambda: hutchinson_trace(make_score_net(), torch.randn(4, 2), nv=0), ValueError, "nv must be >= 1"),
        (lambda: hutchinson_trace(make_score_net(), torch.randn(4, 2), v_dist="sphere"), ValueError, "v_dist"),
        (lambda: tweedie_denoise(GMMDist().noisy_score, torch.zeros(3, 2), 0.0), ValueError, "sigma must be"),
        (lambda: tweedie_denoise(None, torch.zeros(3, 2), 1.0), TypeError, "score must be callable"),
        (lambda: tweedie_denoise(lambda x, s: x[:, :1], torch.zeros(3, 2), 1.0), ValueError,
         r"score must return a tensor of shape \(3, 2\)"),
        (lambda: tweedie_denoise(GMMDist().noisy_score, torch.zeros(3), 1.0), ValueError, "samples must have shape"),
        (lambda: GMMDist().log_prob(torch.zeros(3, 3)), ValueError, r"samples must have shape \(n, 2\)"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()

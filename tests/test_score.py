"""Score matching objectives, networks and training loops (HW4)."""

import numpy as np
import pytest
import torch

from probmods.gmm import GMMDist
from probmods.score import (
    CondScoreNet,
    annealed_sliced_score_matching,
    exact_score_matching,
    make_score_net,
    sliced_score_matching,
    train,
    train_annealed,
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
        (lambda: GMMDist().log_prob(torch.zeros(3, 3)), ValueError, r"samples must have shape \(n, 2\)"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()

"""HW3 estimation: gradients against autograd, the NCE objective against the handout's
formula, recovery of the truth, the failure rule, MALA invariance, and bad input."""

import math

import numpy as np
import pytest
import torch

from probmods.datasets import GaussianMixture2D
from probmods.estimation import (
    TRUE_MEANS,
    NCEObjective,
    closest_mean_error,
    contrastive_divergence,
    fit_ml,
    fit_nce,
    fit_score_matching,
    gmm_target,
    grad_log_prob_means,
    gradient_ascent,
    init_means,
    log_normaliser,
    log_prob,
    mala_gmm,
    matched_error,
    ml_covariance,
    ml_direct,
    ml_mcmc,
    nce_covariance,
    nce_sweep,
    noise_log_prob,
    sample_gmm,
    sample_noise,
    score_matching_loss,
    sweep_draws,
)
from probmods.grids import Grid2D

SHRUNK = np.array([[1.0, 1.0], [1.0, 2.0], [2.0, 1.0], [2.0, 2.0]])  # no plateau: every mean has its own target


def torch_log_prob(x, means, sigma=1.0):
    """log p written literally: log( (1/N) sum_i exp(-|x - mu_i|^2 / 2 sigma^2) / (2 pi sigma^2) )."""
    d2 = ((x[:, None, :] - means[None]) ** 2).sum(-1)
    return torch.log(torch.exp(-d2 / (2 * sigma**2)).mean(1) / (2 * math.pi * sigma**2))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return sample_gmm(TRUE_MEANS, 300, rng), sample_noise(300, rng)


def test_log_prob_matches_the_mixture_density(data):
    x, _ = data
    ref = GaussianMixture2D(TRUE_MEANS, 1.0).log_pdf(x)
    np.testing.assert_allclose(log_prob(x, TRUE_MEANS), ref, rtol=1e-12)


@pytest.mark.parametrize("sigma", [1.0, 0.7])
def test_grad_in_the_means_equals_autograd(data, sigma):
    x, _ = data
    means = np.random.default_rng(1).uniform(-1, 4, size=(4, 2))
    mt = torch.tensor(means, requires_grad=True)
    torch_log_prob(torch.tensor(x), mt, sigma).mean().backward()
    np.testing.assert_allclose(grad_log_prob_means(x, means, sigma), mt.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_mcmc_target_is_the_mixture(data):
    x, _ = data
    means = np.random.default_rng(2).uniform(0, 3, size=(4, 2))
    xt = torch.tensor(x, requires_grad=True)
    lp_ref = torch_log_prob(xt, torch.tensor(means))
    (g_ref,) = torch.autograd.grad(lp_ref.sum(), xt)
    lp, g = gmm_target(means).log_prob_and_score(torch.tensor(x))
    np.testing.assert_allclose(lp.numpy(), lp_ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), g_ref.numpy(), rtol=1e-10, atol=1e-13)


def test_negative_phase_has_zero_mean_under_the_model():
    """Z does not depend on the means, so E_model[grad_mu log p] = grad_mu 1 = 0."""
    rng = np.random.default_rng(3)
    means = rng.uniform(0, 3, size=(4, 2))
    xs = sample_gmm(means, 200_000, rng)
    g = grad_log_prob_means(xs, means)
    # per-sample std of r_i (x - mu_i) is below 1: 6 standard errors
    assert np.abs(g).max() < 6 / math.sqrt(len(xs))


def handout_nce(params, x, y, log_z):
    """J = sum ln h(x_j) + ln(1 - h(y_j)), h = p_m / (p_m + p_n), transcribed literally."""
    means = params[:8].reshape(4, 2)
    lz = params[8] if log_z is None else log_z

    def p_m(u):
        d2 = ((u[:, None, :] - means[None]) ** 2).sum(-1)
        return torch.exp(-d2 / 2).sum(1) / torch.exp(torch.as_tensor(lz, dtype=torch.float64))

    def p_n(u):
        return torch.exp(-((u - 1.0) ** 2).sum(1) / 8) / (2 * math.pi * 4)

    hx = p_m(x) / (p_m(x) + p_n(x))
    hy = p_m(y) / (p_m(y) + p_n(y))
    return torch.log(hx).sum() + torch.log(1 - hy).sum()


@pytest.mark.parametrize("z_free", [False, True])
def test_nce_objective_and_gradient_equal_the_handout_formula(data, z_free):
    x, y = data
    rng = np.random.default_rng(4)
    p = rng.uniform(0, 3, size=8)
    log_z = None if z_free else log_normaliser()
    if z_free:
        p = np.append(p, math.log(0.5))
    obj = NCEObjective(x, y, log_z=log_z)
    value, grad = obj(p)
    pt = torch.tensor(p, requires_grad=True)
    ref = handout_nce(pt, torch.tensor(x), torch.tensor(y), log_z)
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(grad, pt.grad.numpy(), rtol=1e-9, atol=1e-9)
    # and against central finite differences of the value alone
    fd = np.array([(obj.value(p + 1e-6 * e) - obj.value(p - 1e-6 * e)) / 2e-6 for e in np.eye(len(p))])
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-5)
    assert obj.loss(p)[0] == pytest.approx(-value / len(x))


def test_nce_objective_is_finite_far_from_the_data(data):
    x, y = data
    obj = NCEObjective(x, y)
    value, grad = obj(np.append(np.full(8, 40.0), -300.0))  # h rounds to 0 in float64
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_log_normaliser_integrates_the_unnormalised_model():
    g = Grid2D((-9, 12), (-9, 12), 420, 420)
    d2 = ((g.points[:, None, :] - TRUE_MEANS[None]) ** 2).sum(-1)
    assert g.integrate(np.exp(-d2 / 2).sum(1)) == pytest.approx(8 * math.pi, rel=1e-9)
    assert log_normaliser() == pytest.approx(math.log(8 * math.pi))
    assert noise_log_prob(np.array([[1.0, 1.0]]))[0] == pytest.approx(-math.log(8 * math.pi))


def test_nce_recovers_means_and_z_at_large_j():
    rng = np.random.default_rng(5)
    x, y, m0 = sample_gmm(TRUE_MEANS, 5000, rng), sample_noise(5000, rng), init_means(rng)
    known = fit_nce(x, y, m0)
    free = fit_nce(x, y, m0, init_z=0.5)
    for fit in (known, free):
        assert fit.success
        assert matched_error(fit.means) < 0.1
    assert known.z == pytest.approx(8 * math.pi)
    assert free.z == pytest.approx(8 * math.pi, rel=0.05)
    num = fit_nce(x[:500], y[:500], m0, gradient="numerical")
    ana = fit_nce(x[:500], y[:500], m0)
    np.testing.assert_allclose(num.means, ana.means, atol=1e-3)


def test_ml_fit_and_gradient_ascent_agree():
    rng = np.random.default_rng(6)
    x = sample_gmm(TRUE_MEANS, 1000, rng)
    ml = fit_ml(x, SHRUNK)
    run = gradient_ascent(x, SHRUNK)
    assert run.converged and run.n_iter < 1000
    assert matched_error(run.final, ml.means) < 1e-3
    assert matched_error(ml.means) < 0.2


def test_score_matching_loss_equals_its_definition(data):
    """J_SM = mean(|grad_x log p|^2 / 2 + laplacian_x log p), the Laplacian by double autograd."""
    x, _ = data
    means = np.random.default_rng(10).uniform(0, 3, size=(4, 2))
    xt = torch.tensor(x[:60], requires_grad=True)
    (g,) = torch.autograd.grad(torch_log_prob(xt, torch.tensor(means), 0.8).sum(), xt, create_graph=True)
    lap = sum(torch.autograd.grad(g[:, k].sum(), xt, retain_graph=True)[0][:, k] for k in range(2))
    ref = (0.5 * (g**2).sum(1) + lap).mean().item()
    assert score_matching_loss(x[:60], means, 0.8) == pytest.approx(ref, rel=1e-10)
    fit = fit_score_matching(x, SHRUNK)
    assert fit.success and matched_error(fit.means) < 0.4


def test_failure_rule_on_crafted_estimates():
    t = TRUE_MEANS
    good = t[[2, 0, 3, 1]] + np.array([[0.1, 0.0], [0.0, -0.2], [0.0, 0.0], [0.3, 0.4]])
    twice = t.copy()
    twice[1] = t[0] + 0.5  # two estimates closest to (0, 0)
    far = t.copy()
    far[3] = [40.0, 40.0]  # far away but still closest to (3, 3): not a failure
    nan = t.copy()
    nan[0, 0] = np.nan
    sq, failed = closest_mean_error(np.stack([good, twice, far, nan, t]))
    assert failed.tolist() == [False, True, False, True, False]
    assert sq[0] == pytest.approx((0.01 + 0.04 + 0 + 0.25) / 4)
    assert np.isnan(sq[1]) and np.isnan(sq[3]) and sq[4] == 0
    assert sq[2] == pytest.approx(2 * 37.0**2 / 4)
    sq2, failed2 = closest_mean_error(np.broadcast_to(good, (2, 3, 4, 2)))
    assert sq2.shape == failed2.shape == (2, 3) and np.allclose(sq2, sq[0])


def test_matched_error_ignores_labels():
    est = TRUE_MEANS[[3, 1, 0, 2]] + 0.1
    assert matched_error(est) == pytest.approx(math.sqrt(0.02))
    assert matched_error(np.stack([est, TRUE_MEANS])).tolist() == pytest.approx([math.sqrt(0.02), 0.0])


def test_mala_keeps_exact_samples_distributed_as_the_mixture():
    rng = np.random.default_rng(7)
    n = 4000
    x0 = sample_gmm(TRUE_MEANS, n, rng)
    res = mala_gmm(x0, TRUE_MEANS, 300, rng=rng)
    xs = res.samples
    assert res.acceptance_rate.mean() > 0.99
    assert np.sqrt(((xs - x0) ** 2).sum(1)).mean() > 1.0  # the chains did move
    se = math.sqrt(3.25 / n)  # Var of each coordinate: sigma^2 + 1.5^2
    assert np.abs(xs.mean(0) - 1.5).max() < 4 * se
    cov = np.cov(xs.T)
    assert np.abs(np.diag(cov) - 3.25).max() < 4 * 3.25 * math.sqrt(2 / n)
    assert abs(cov[0, 1]) < 4 * 3.25 / math.sqrt(n)
    quadrant = (xs[:, 0] > 1.5).astype(int) * 2 + (xs[:, 1] > 1.5)
    frac = np.bincount(quadrant, minlength=4) / n
    assert np.abs(frac - 0.25).max() < 4 * math.sqrt(0.25 * 0.75 / n)


def test_estimators_move_toward_the_truth():
    rng = np.random.default_rng(8)
    x = sample_gmm(TRUE_MEANS, 1000, rng)
    e0 = matched_error(SHRUNK)
    direct = ml_direct(x, SHRUNK, rng=1, max_iter=60, tol=0)
    mcmc = ml_mcmc(x, SHRUNK, rng=2, L=200, max_iter=10, tol=0)
    cd = contrastive_divergence(x, SHRUNK, rng=3, max_iter=300, tol=0)
    assert direct.n_iter == 60 and not direct.converged
    assert matched_error(direct.final) < 0.3 * e0
    assert matched_error(mcmc.final) < 0.6 * e0
    assert matched_error(cd.final) < 0.8 * e0
    assert mcmc.acceptance_rate > 0.95 and cd.acceptance_rate > 0.95
    for run, n_model in ((direct, 100), (mcmc, 100), (cd, 100)):
        assert run.means.shape == (run.n_iter + 1, 4, 2) and run.samples.shape == (n_model, 2)
        assert np.all(np.diff(run.times) >= 0) and run.times[0] == 0


def test_convergence_rule_stops_a_stationary_run():
    rng = np.random.default_rng(9)
    x = sample_gmm(TRUE_MEANS, 1000, rng)
    start = fit_ml(x, SHRUNK).means
    run = ml_direct(x, start, rng=4, window=10, tol=5e-3, max_iter=500)
    assert run.converged and run.n_iter < 500
    assert run.drift[-1] < 5e-3 and np.isnan(run.drift[: 2 * 10 - 1]).all()
    assert run.average(5).shape == (4, 2)


def test_sweep_shapes_and_reproducibility():
    a = nce_sweep(js=(200, 300), n_reps=2, seed=1)
    b = nce_sweep(js=(300,), n_reps=2, seed=1, ml_reference=False)
    assert a["known_means"].shape == (2, 2, 4, 2) and a["free_z"].shape == (2, 2)
    assert a["known_mse"].shape == a["free_failures"].shape == a["z_mse"].shape == a["ml_mse"].shape == (2,)
    np.testing.assert_array_equal(a["free_means"][1], b["free_means"][0])
    assert "ml_means" not in b
    assert a["z_true"] == pytest.approx(8 * math.pi)


@pytest.mark.parametrize(
    ("call", "exc", "word"),
    [
        (lambda: mala_gmm(np.zeros((3, 2)), TRUE_MEANS, 10, noise_scale=0.0), ValueError, "noise_scale"),
        (lambda: mala_gmm(np.zeros((3, 2)), TRUE_MEANS, 10, noise_scale=-0.1), ValueError, "noise_scale"),
        (lambda: mala_gmm(np.zeros((3, 2)), TRUE_MEANS, 0), ValueError, "L"),
        (lambda: mala_gmm(np.zeros((3, 2)), TRUE_MEANS, 2.5), TypeError, "L"),
        (lambda: mala_gmm(np.zeros((3, 3)), TRUE_MEANS, 5), ValueError, "x0"),
        (lambda: mala_gmm(np.zeros((3, 2)), np.zeros((4, 3)), 5), ValueError, "means"),
        (lambda: ml_direct(np.zeros((10, 2)), SHRUNK, eta=0), ValueError, "eta"),
        (lambda: ml_direct(np.zeros((10, 2)), SHRUNK, eta=float("nan")), ValueError, "eta"),
        (lambda: ml_direct(np.full((10, 2), np.nan), SHRUNK), ValueError, "x_real"),
        (lambda: ml_direct(np.zeros((10, 2)), np.zeros((4, 3))), ValueError, "init_means"),
        (lambda: ml_mcmc(np.zeros((10, 2)), SHRUNK, L=0), ValueError, "L"),
        (lambda: ml_mcmc(np.zeros((10, 2)), SHRUNK, chain_var=-2), ValueError, "chain_var"),
        (lambda: contrastive_divergence(np.zeros((10, 2)), SHRUNK), ValueError, "n_chains"),
        (lambda: contrastive_divergence(np.zeros((200, 2)), SHRUNK, noise_scale=0), ValueError, "noise_scale"),
        (lambda: gradient_ascent(np.zeros((10, 2)), SHRUNK, tol=-1), ValueError, "tol"),
        (lambda: sample_gmm(TRUE_MEANS, 0), ValueError, "n"),
        (lambda: sample_gmm(TRUE_MEANS, 5, rng="seed"), TypeError, "rng"),
        (lambda: sample_noise(0), ValueError, "n"),
        (lambda: log_prob(np.zeros(5), TRUE_MEANS), ValueError, "x"),
        (lambda: fit_nce(np.zeros((5, 2)), np.ones((5, 2)), SHRUNK, z=1.0, init_z=0.5), ValueError, "init_z"),
        (lambda: fit_nce(np.zeros((5, 2)), np.ones((5, 2)), SHRUNK, init_z=0.0), ValueError, "init_z"),
        (lambda: fit_nce(np.zeros((5, 2)), np.ones((5, 3)), SHRUNK), ValueError, "y"),
        (lambda: fit_nce(np.zeros((5, 2)), np.ones((5, 2)), SHRUNK, gradient="exact"), ValueError, "gradient"),
        (lambda: NCEObjective(np.zeros((5, 2)), np.ones((5, 2)))(np.zeros(8)), ValueError, "params"),
        (lambda: NCEObjective(np.zeros((5, 2)), np.ones((5, 2)))(np.full(9, np.nan)), ValueError, "params"),
        (lambda: NCEObjective(np.zeros((5, 2)), np.ones((5, 2)), noise_std=0), ValueError, "noise_std"),
        (lambda: nce_sweep(js=(0,), n_reps=1), ValueError, "js"),
        (lambda: nce_sweep(js=(100,), n_reps=0), ValueError, "n_reps"),
        (lambda: closest_mean_error(np.zeros((3, 2))), ValueError, "estimates"),
        (lambda: sweep_draws(0, 0), ValueError, "J"),
        (lambda: sweep_draws(100, -1), ValueError, "rep"),
        (lambda: init_means(0, low=3.0, high=0.0), ValueError, "low"),
        (lambda: init_means(0, low="0"), TypeError, "low"),
    ],
)
def test_bad_input_raises_naming_the_argument(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


# --- asymptotics of NCE (Gutmann and Hyvärinen 2012, Theorem 3) --------------------------------------------------
ONE_MEAN = np.array([[1.0, 1.0]])  # one Gaussian of sigma 2 at (1, 1): exactly the default noise


@pytest.mark.parametrize("nu", [0.5, 1.0, 4.0])
def test_nce_covariance_with_noise_equal_to_the_data(nu):
    """With p_n = p_d, P_nu = nu / (1 + nu) is constant: Sigma = (1 + 1/nu) F^-1 for the mean and 0 for log Z."""
    S = nce_covariance(nu, means=ONE_MEAN, sigma=2.0, step=0.1)
    np.testing.assert_allclose(S[:2, :2], (1 + 1 / nu) * 4.0 * np.eye(2), rtol=1e-6, atol=1e-9)
    assert abs(S[2, 2]) < 1e-6
    np.testing.assert_allclose(ml_covariance(means=ONE_MEAN, sigma=2.0, step=0.1), 4.0 * np.eye(2), rtol=1e-6,
                               atol=1e-9)


def test_nce_covariance_is_a_covariance_and_falls_to_ml_with_more_noise():
    traces = [np.trace(nce_covariance(nu)[:8, :8]) for nu in (0.5, 1.0, 4.0, 100.0)]
    assert all(a > b for a, b in zip(traces, traces[1:], strict=False))
    assert traces[-1] / np.trace(ml_covariance()) < 1.05
    S = nce_covariance(1.0)
    np.testing.assert_allclose(S, S.T, atol=1e-12)
    assert np.linalg.eigvalsh(S).min() > 0
    known = nce_covariance(1.0, z_free=False)
    assert known.shape == (8, 8) and np.all(np.diag(S)[:8] >= np.diag(known) - 1e-9)


def test_nce_covariance_matches_monte_carlo():
    """J x var of 60 fits at J = 1000 agrees with the theory (a 95% band for a variance of 60 draws)."""
    rng = np.random.default_rng(11)
    est = np.array([fit_nce(sample_gmm(TRUE_MEANS, 1000, rng), sample_noise(2000, rng), TRUE_MEANS, init_z=25.0).means
                    .ravel() for _ in range(60)])
    measured = 1000 * np.sum(np.var(est, axis=0, ddof=1))
    theory = np.trace(nce_covariance(2.0)[:8, :8])
    assert 0.7 < measured / theory < 1.35


def test_nce_with_more_noise_than_data_still_finds_z():
    """G carries -log nu, so Z is consistent for nu != 1 (without it Z would absorb the factor nu)."""
    rng = np.random.default_rng(12)
    free = fit_nce(sample_gmm(TRUE_MEANS, 3000, rng), sample_noise(12000, rng), TRUE_MEANS, init_z=1.0)
    assert free.z == pytest.approx(8 * math.pi, rel=0.05)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_nce_covariance_rejects_a_bad_nu(bad):
    with pytest.raises(ValueError, match="nu"):
        nce_covariance(bad)

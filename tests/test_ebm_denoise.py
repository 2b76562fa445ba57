"""Perceptual/MMSE denoising: the posterior score, quality measures, baselines, bad input."""

import math

import numpy as np
import pytest
import torch

from probmods.ebm.denoise import (
    add_noise,
    best_parameter,
    gaussian_denoise,
    perceptual_denoise,
    posterior_score,
    posterior_target,
    psnr,
    ssim,
    wiener_denoise,
)
from probmods.ebm.model import EnergyCNN, SamplerEnergy
from probmods.mcmc import mala


@pytest.fixture(scope="module")
def energy64():
    torch.manual_seed(0)
    e = SamplerEnergy(EnergyCNN(width=8).double(), temperature=0.3, range_scale=0.05)
    return e.eval().requires_grad_(False)


@pytest.mark.parametrize("sigma", [0.05, 0.2, 1.0])
def test_posterior_score_is_autograd_of_log_posterior(energy64, sigma):
    torch.manual_seed(1)
    x = (torch.rand(3, 1, 28, 28, dtype=torch.float64) * 1.2 - 0.1).requires_grad_(True)
    y = torch.rand(3, 1, 28, 28, dtype=torch.float64)
    log_post = -energy64(x) - ((y - x) ** 2).flatten(1).sum(1) / (2 * sigma**2)
    (auto,) = torch.autograd.grad(log_post.sum(), x)
    torch.testing.assert_close(posterior_score(energy64, x.detach(), y, sigma), auto, rtol=1e-10, atol=1e-10)
    lp, _ = posterior_target(energy64, y, sigma).log_prob_and_score(x.detach())
    torch.testing.assert_close(lp, log_post.detach())


def test_masked_posterior_score_is_autograd_of_log_posterior(energy64):
    torch.manual_seed(2)
    x = (torch.rand(3, 1, 28, 28, dtype=torch.float64) * 1.2 - 0.1).requires_grad_(True)
    y = torch.rand(3, 1, 28, 28, dtype=torch.float64)
    mask = torch.ones(1, 1, 28, 28, dtype=torch.float64)
    mask[..., 14:, :] = 0
    log_post = -energy64(x) - ((mask * (y - x)) ** 2).flatten(1).sum(1) / (2 * 0.1**2)
    (auto,) = torch.autograd.grad(log_post.sum(), x)
    lp, score = posterior_target(energy64, y, 0.1, mask=mask).log_prob_and_score(x.detach())
    torch.testing.assert_close(score, auto, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(lp, log_post.detach())


@pytest.mark.parametrize("per_image", [False, True])
def test_inpainting_samples_the_conditional_of_a_gaussian_prior(per_image):
    # prior N(m, s^2 I) per pixel, observed pixels with noise sigma, hidden ones: the prior itself
    s, sigma, m = 0.3, 0.2, 0.5
    y = torch.full((2, 1, 28, 28), 0.9, dtype=torch.float64)
    mask = torch.ones(1, 1, 28, 28, dtype=torch.float64)
    mask[..., 14:, :] = 0
    if per_image:
        mask = mask.expand(2, 1, 28, 28).clone()
        mask[1] = 1 - mask[1]  # the second image observes the lower half instead
    v = 1 / (1 / s**2 + 1 / sigma**2)
    mu = v * (m / s**2 + 0.9 / sigma**2)
    xs, res = perceptual_denoise(lambda x: ((x - m) ** 2).flatten(1).sum(1) / (2 * s**2), y, sigma, n_samples=30,
                                 noise_scale=0.05, n_steps=400, kernel=mala, generator=torch.Generator().manual_seed(0),
                                 mask=mask)
    obs = mask.expand(2, 1, 28, 28).bool().expand(30, 2, 1, 28, 28)
    assert res.acceptance_rate.mean() > 0.9
    assert abs(xs[obs].mean().item() - mu) < 0.01 and abs(xs[obs].var().item() / v - 1) < 0.05
    assert abs(xs[~obs].mean().item() - m) < 0.01 and abs(xs[~obs].var().item() / s**2 - 1) < 0.05


def test_psnr_on_a_mask():
    clean = np.zeros((2, 28, 28))
    x = clean.copy()
    x[:, 14:] = 0.1  # error 0.1 on the lower half only
    mask = np.zeros((28, 28))
    mask[14:] = 1
    np.testing.assert_allclose(psnr(x, clean, mask), [20.0, 20.0])
    np.testing.assert_allclose(psnr(x, clean, torch.from_numpy(1 - mask)), [120.0, 120.0])  # the 1e-12 floor
    np.testing.assert_allclose(psnr(x, clean, np.ones((1, 28, 28))), psnr(x, clean))
    for bad in (np.zeros((28, 28)), np.full((28, 28), 0.5), np.ones((2, 28, 28)), np.ones((27, 28))):
        with pytest.raises(ValueError, match="mask"):
            psnr(x, clean, bad)


def test_posterior_of_a_gaussian_prior_is_sampled_correctly():
    # prior N(m, s^2 I) per pixel, likelihood N(y; x, sigma^2): posterior N(mu, v) in closed form
    s, sigma, m = 0.3, 0.2, 0.5
    y = torch.full((1, 1, 28, 28), 0.9, dtype=torch.float64)
    v = 1 / (1 / s**2 + 1 / sigma**2)
    mu = v * (m / s**2 + 0.9 / sigma**2)
    g = torch.Generator().manual_seed(0)
    xs, res = perceptual_denoise(lambda x: ((x - m) ** 2).flatten(1).sum(1) / (2 * s**2), y, sigma, n_samples=50,
                                 noise_scale=0.05, n_steps=400, kernel=mala, generator=g)
    assert xs.shape == (50, 1, 1, 28, 28)
    assert res.acceptance_rate.mean() > 0.9
    assert abs(xs.mean().item() - mu) < 0.01
    assert abs(xs.var().item() / v - 1) < 0.05


def test_psnr_and_ssim():
    rng = np.random.default_rng(0)
    x = rng.random((4, 28, 28))
    np.testing.assert_allclose(ssim(x, x), 1.0)
    assert np.all(psnr(x, x) >= 119)
    y = x + 0.1
    np.testing.assert_allclose(psnr(np.clip(y, 0, 1), x), 10 * np.log10(1 / ((np.clip(y, 0, 1) - x) ** 2).mean((1, 2))))
    noisy = x + 0.2 * rng.standard_normal(x.shape)
    assert np.all(ssim(noisy, x) < 0.9) and np.all(ssim(noisy, x) > -1)
    np.testing.assert_allclose(ssim(noisy, x), ssim(np.clip(noisy, 0, 1), x))
    np.testing.assert_allclose(psnr(torch.from_numpy(x[:, None]), x), psnr(x, x))


def test_filters_help_and_best_parameter_picks_the_maximum():
    from probmods.ebm.data import load_digits

    images = load_digits()[0][:40]
    noisy = add_noise(images, 0.2, seed=3)
    assert torch.equal(noisy, add_noise(images, 0.2, seed=3))
    base = psnr(noisy, images).mean()
    w, scores = best_parameter(gaussian_denoise, images, noisy, [0.3, 0.7, 1.5, 3.0])
    assert scores.argmax() == [0.3, 0.7, 1.5, 3.0].index(w) and scores.max() > base + 2
    assert psnr(wiener_denoise(noisy, 3, 0.2), images).mean() > base + 2


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(sigma=0.0), ValueError, "sigma"),
        (dict(sigma=-1.0), ValueError, "sigma"),
        (dict(sigma=math.nan), ValueError, "sigma"),
        (dict(noise_scale=0.0), ValueError, "noise_scale"),
        (dict(kernel="mala"), TypeError, "kernel must be callable"),
        (dict(kernel=lambda t, eps: None), ValueError, "kernel must be probmods.mcmc.langevin"),
        (dict(n_samples=0), ValueError, "n_samples"),
        (dict(y=torch.rand(2, 28, 28)), ValueError, r"y must have shape \(B, 1, 28, 28\)"),
        (dict(y=torch.zeros(2, 1, 28, 28, dtype=torch.int64)), TypeError, "y must be floating point"),
        (dict(y=torch.zeros(2, 1, 28, 28, dtype=torch.complex64)), TypeError, "y must be real-valued"),
        (dict(y=torch.full((2, 1, 28, 28), math.nan)), ValueError, "y must be finite"),
    ],
)
def test_bad_input(energy64, kwargs, exc, match):
    args = dict(y=torch.rand(2, 1, 28, 28, dtype=torch.float64), sigma=0.2, n_steps=2)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        perceptual_denoise(energy64, **args)


def test_bad_measure_input():
    with pytest.raises(ValueError, match="x must be images"):
        psnr(np.zeros((3, 5)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="reference must be finite"):
        ssim(np.zeros((1, 28, 28)), np.full((1, 28, 28), np.nan))
    with pytest.raises(ValueError, match="width"):
        gaussian_denoise(np.zeros((1, 28, 28)), 0)
    with pytest.raises(ValueError, match="same images"):
        psnr(np.zeros((2, 28, 28)), np.zeros((3, 28, 28)))

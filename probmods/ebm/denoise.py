r"""Perceptual and MMSE denoising with an energy prior (HW2 Part IV), and the classical baselines.

For :math:`\mathbf y = \mathbf x + \mathbf n`, :math:`\mathbf n\sim\mathcal N(0,\sigma^2 I)`, Bayes'
rule gives :math:`\log p(\mathbf x\mid\mathbf y) = \log p_x(\mathbf x) + \log p_n(\mathbf y -
\mathbf x) - \log p(\mathbf y)`, and the last term does not depend on :math:`\mathbf x`:

.. math::

    \nabla_{\mathbf x}\log p(\mathbf x\mid\mathbf y)
    = \nabla_{\mathbf x}\log p_x(\mathbf x) - \nabla\log p_n(\mathbf y - \mathbf x)
    = -\nabla E(\mathbf x) + \frac{\mathbf y - \mathbf x}{\sigma^2}.

Langevin dynamics with this gradient samples the posterior ("perceptual" denoising: every
sample looks like a clean image); the mean of several samples estimates
:math:`\mathbb E[\mathbf x\mid\mathbf y]`, the minimum-MSE estimate.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage, signal

from .._checks import as_array, as_tensor, check_callable, check_positive, check_positive_int, check_seed
from ..mcmc import eps_from_noise, gaussian_posterior, langevin, mala, sample, target_from
from .model import check_images

__all__ = [
    "posterior_target",
    "posterior_score",
    "perceptual_denoise",
    "add_noise",
    "psnr",
    "ssim",
    "gaussian_denoise",
    "wiener_denoise",
    "best_parameter",
]


def _check_observation(y, sigma):
    return check_images(y, "y"), check_positive(sigma, "sigma")


def posterior_score(energy, x: torch.Tensor, y: torch.Tensor, sigma: float) -> torch.Tensor:
    r"""The posterior score :math:`-\nabla E(\mathbf x) + (\mathbf y-\mathbf x)/\sigma^2`.

    Parameters
    ----------
    energy : callable
        (B, 1, 28, 28) -> (B,), the prior's energy :math:`E` (:math:`p_x\propto e^{-E}`).
    x, y : torch.Tensor, shape (B, 1, 28, 28)
        Current images and noisy observations.
    sigma : float
        Noise standard deviation, in [1e-100, 1e100].

    Returns
    -------
    torch.Tensor, shape (B, 1, 28, 28)
    """
    target = posterior_target(energy, y, sigma)
    _, grad = target.log_prob_and_score(check_images(x, "x", energy))
    return grad


def posterior_target(energy, y: torch.Tensor, sigma: float, mask=None):
    r"""The posterior as a :class:`probmods.mcmc.Target` for the samplers.

    :func:`probmods.mcmc.gaussian_posterior` of the prior ``target_from(energy=energy)``: the
    prior part comes from autograd of the energy, the likelihood part is written out:
    :math:`\log p(\mathbf x\mid\mathbf y) = -E(\mathbf x) - \lVert\mathbf y-\mathbf x\rVert^2/(2\sigma^2)`
    (up to a constant, so MALA can use it as well).

    Parameters
    ----------
    energy : callable
        (B, 1, 28, 28) -> (B,).
    y : torch.Tensor, shape (B, 1, 28, 28)
        Noisy observations, one per chain.
    sigma : float
        > 0.
    mask : torch.Tensor, optional
        0/1, broadcasting against ``y`` (for example (1, 1, 28, 28)): only the pixels where it
        is 1 are observed, and the likelihood becomes
        :math:`-\lVert M\odot(\mathbf y-\mathbf x)\rVert^2/(2\sigma^2)` (inpainting; see
        :func:`probmods.mcmc.gaussian_posterior`). ``None`` observes every pixel.
    """
    y, sigma = _check_observation(y, sigma)
    return gaussian_posterior(target_from(energy=energy), y, sigma, mask=mask)


def add_noise(x: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    """``x + sigma * N(0, I)`` from a fixed seed (no clipping, as in the model ``y = x + n``).

    ``x``: images (B, 1, 28, 28), float; ``sigma`` in [1e-100, 1e100]; ``seed`` an int-like seed.
    """
    x = check_images(x)
    sigma = check_positive(sigma, "sigma")
    g = torch.Generator().manual_seed(check_seed(seed))
    return x + sigma * torch.randn(x.shape, generator=g, dtype=x.dtype)


def perceptual_denoise(energy, y: torch.Tensor, sigma: float, n_samples: int = 10, noise_scale: float = 2 / 256,
                       n_steps: int = 2000, kernel=langevin, generator: torch.Generator | None = None,
                       progress: bool = False, callback=None, mask=None):
    r"""Posterior samples :math:`\mathbf x\sim p(\mathbf x\mid\mathbf y)` by Langevin dynamics (or MALA).

    All ``n_samples * B`` chains run together, started at the noisy images ``y``.

    Parameters
    ----------
    energy : callable
        The prior's energy, (B, 1, 28, 28) -> (B,).
    y : torch.Tensor, shape (B, 1, 28, 28)
    sigma : float
        Noise standard deviation of ``y``.
    n_samples : int, default 10
        Posterior samples per image.
    noise_scale : float, default 2/256
        :math:`\sqrt{2\varepsilon}`.
    n_steps : int, default 2000
    kernel : callable, default :func:`probmods.mcmc.langevin`
        The kernel maker, ``kernel(target, eps) -> Kernel``: :func:`probmods.mcmc.langevin`
        (the course's update) or :func:`probmods.mcmc.mala`.
    generator : torch.Generator, optional
    progress : bool
    callback : callable, optional
        ``callback(step, state, info)``, see :func:`probmods.mcmc.sample`.
    mask : torch.Tensor, optional
        Observed pixels (0/1), broadcasting against ``y``: inpainting with the masked
        likelihood of :func:`posterior_target`. The chains still start at ``y``, so fill its
        unobserved pixels with the starting values wanted (for example 0).

    Returns
    -------
    samples : torch.Tensor, shape (n_samples, B, 1, 28, 28)
    result : probmods.mcmc.ChainResult
    """
    y, sigma = _check_observation(y, sigma)
    n_samples = check_positive_int(n_samples, "n_samples")
    eps = eps_from_noise(check_positive(noise_scale, "noise_scale"))
    check_callable(callback, "callback", optional=True)
    ys = y.repeat(n_samples, 1, 1, 1)
    if mask is not None:
        mask = as_tensor(mask, "mask", dtype=y.dtype, what="(B or 1, 1, 28, 28) of 0s and 1s")
        if mask.ndim == y.ndim and mask.shape[0] == y.shape[0]:
            mask = mask.repeat(n_samples, 1, 1, 1)  # one mask per image: repeat it with the images
    check_callable(kernel, "kernel")
    if kernel not in (langevin, mala):
        raise ValueError(f"kernel must be probmods.mcmc.langevin or probmods.mcmc.mala, got {kernel!r}")
    res = sample(ys.clone(), kernel(posterior_target(energy, ys, sigma, mask=mask), eps), n_steps,
                 generator=generator, progress=progress, callback=callback)
    return res.state.position.view(n_samples, *y.shape), res


# -- quality measures ------------------------------------------------------------------------------
def _as_images(x, name):
    a = as_array(x, name)
    if a.ndim < 2 or a.shape[-2:] != (28, 28):
        raise ValueError(f"{name} must be images of shape (..., 28, 28), got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite, but it contains NaN or infinity")
    return a.reshape(-1, 28, 28)


def _nonempty(a, name):
    if len(a) == 0:
        raise ValueError(f"{name} must hold at least one image, got shape {a.shape}")
    return a


def _estimate_and_reference(x, reference):
    """An estimate clipped to [0, 1] (it is an image) and its reference, as (n, 28, 28) float64 arrays."""
    a, b = np.clip(_as_images(x, "x"), 0, 1), _as_images(reference, "reference")
    if a.shape != b.shape or a.shape[0] == 0:
        raise ValueError(f"x and reference must hold the same images (at least one), got {a.shape} and {b.shape}")
    return a, b


def psnr(x, reference, mask=None) -> np.ndarray:
    r"""Peak signal-to-noise ratio in dB per image, peak 1: :math:`10\log_{10}(1/\mathrm{MSE})`.

    Parameters
    ----------
    x, reference : array_like or torch.Tensor, shape (..., 28, 28)
        Same number of images; pixels of ``x`` are clipped to [0, 1] (the estimate is an image).
    mask : array_like or torch.Tensor, shape (..., 28, 28), optional
        0s and 1s, one mask for all images: the MSE is the mean over the pixels where it is 1
        (for example the unobserved region of an inpainting). ``None``: all pixels.

    Returns
    -------
    numpy.ndarray, shape (n_images,)

    Examples
    --------
    >>> import numpy as np
    >>> from probmods.ebm.denoise import psnr
    >>> clean = np.zeros((1, 28, 28))
    >>> psnr(clean + 0.1, clean)  # MSE 0.01: 20 dB
    array([20.])
    """
    a, b = _estimate_and_reference(x, reference)
    if mask is None:
        mse = ((a - b) ** 2).mean(axis=(1, 2))
    else:
        m = _as_images(mask, "mask")
        if len(m) != 1 or not np.isin(m, (0, 1)).all() or not m.any():
            raise ValueError(f"mask must be one (28, 28) mask of 0s and 1s with at least one 1, got shape "
                             f"{np.shape(mask)}")
        mse = ((a - b) ** 2 * m).sum(axis=(1, 2)) / m.sum()
    return 10 * np.log10(1.0 / np.maximum(mse, 1e-12))


def ssim(x, reference, window_sigma: float = 1.5) -> np.ndarray:
    r"""Structural similarity per image (Wang et al. 2004: Gaussian window 1.5, K1 0.01, K2 0.03, range 1).

    .. math::

        \mathrm{SSIM} = \operatorname{mean}\frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
        {(\mu_x^2+\mu_y^2+C_1)(\sigma_x^2+\sigma_y^2+C_2)}

    Parameters
    ----------
    x, reference : array_like or torch.Tensor, shape (..., 28, 28)
    window_sigma : float, default 1.5
        Standard deviation of the Gaussian window in pixels, in [1e-3, 28] (the window is
        truncated at 3.5 of them; a wider one than the image changes nothing).

    Returns
    -------
    numpy.ndarray, shape (n_images,)
    """
    a, b = _estimate_and_reference(x, reference)
    s = check_positive(window_sigma, "window_sigma", 1e-3, 28.0)
    c1, c2 = 0.01**2, 0.03**2

    def f(z):
        return ndimage.gaussian_filter(z, sigma=(0, s, s), mode="reflect", truncate=3.5)

    mx, my = f(a), f(b)
    vx, vy, cxy = f(a * a) - mx * mx, f(b * b) - my * my, f(a * b) - mx * my
    m = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return m.mean(axis=(1, 2))


# -- classical baselines -----------------------------------------------------------------------------
def gaussian_denoise(y, width: float) -> np.ndarray:
    """Gaussian filter of standard deviation ``width`` pixels, per image; shape (n, 28, 28).

    ``y``: finite images (..., 28, 28), at least one; ``width`` in [1e-3, 28] pixels.
    """
    a = _nonempty(_as_images(y, "y"), "y")
    w = check_positive(width, "width", 1e-3, 28.0)
    return ndimage.gaussian_filter(a, sigma=(0, w, w), mode="reflect")


def wiener_denoise(y, size: int, sigma: float) -> np.ndarray:
    """Adaptive (local) Wiener filter with a ``size x size`` window and known noise variance sigma^2.

    :func:`scipy.signal.wiener` per image; shape (n, 28, 28). ``y``: finite images
    (..., 28, 28), at least one; ``size`` an odd or even integer in [1, 28]; ``sigma`` in
    [1e-100, 1e100].
    """
    a = _nonempty(_as_images(y, "y"), "y")
    size = check_positive_int(size, "size", 28)
    sigma = check_positive(sigma, "sigma")
    with np.errstate(divide="ignore", invalid="ignore"):  # flat windows: scipy then keeps the local mean
        return np.stack([signal.wiener(im, (size, size), noise=sigma**2) for im in a])


def best_parameter(denoise, clean, noisy, candidates) -> tuple:
    """The candidate parameter with the highest mean PSNR of ``denoise(noisy, p)`` against ``clean``.

    ``denoise`` is called as ``denoise(noisy, p)``; ``clean`` and ``noisy`` are finite images
    (..., 28, 28), the same number of each; ``candidates`` a non-empty list or tuple.

    Returns
    -------
    best : the chosen candidate
    scores : numpy.ndarray, mean PSNR of every candidate
    """
    check_callable(denoise, "denoise")
    clean_a, noisy_a = _as_images(clean, "clean"), _as_images(noisy, "noisy")
    if clean_a.shape != noisy_a.shape or len(clean_a) == 0:
        raise ValueError(f"clean and noisy must hold the same images (at least one), got {clean_a.shape} and "
                         f"{noisy_a.shape}")
    if isinstance(candidates, (str, bytes)) or not isinstance(candidates, (list, tuple, np.ndarray)):
        raise TypeError(f"candidates must be a list or tuple of parameters, got {type(candidates).__name__}")
    if len(candidates) == 0:
        raise ValueError("candidates must not be empty")
    scores = np.array([psnr(denoise(noisy, p), clean).mean() for p in candidates])
    return candidates[int(np.argmax(scores))], scores

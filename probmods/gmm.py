r"""Isotropic Gaussian mixtures in torch, with exact log-density and score.

.. math::

    p(\mathbf x) = \sum_{m=1}^{M}\pi_m\,\mathcal N(\mathbf x;\boldsymbol\mu_m,\sigma^2 I),
    \qquad
    \nabla_{\mathbf x}\log p(\mathbf x) = \sum_{m=1}^{M} r_m(\mathbf x)\,
    \frac{\boldsymbol\mu_m - \mathbf x}{\sigma^2},

with responsibilities :math:`r_m(\mathbf x) = \pi_m\mathcal N(\mathbf x;\boldsymbol\mu_m,
\sigma^2 I)/p(\mathbf x)`, computed as a softmax of log-weights (no underflow
far from the modes).

* :class:`IsotropicGMM` is the general mixture (used by the Langevin chapter's
  five-Gaussian ring, :func:`ring_gmm`);
* :class:`GMMDist` is the two-component mixture of HW4 with the handout's
  methods ``sample(n, sigma)``, ``log_prob(samples, sigma)`` and
  ``score(samples, sigma)``, where ``sigma`` is the (effective) standard deviation.

Adding Gaussian noise of standard deviation :math:`\sigma_{\rm noise}` to the data
gives the same mixture with :math:`\sqrt{\sigma^2+\sigma_{\rm noise}^2}`:
:meth:`IsotropicGMM.noisy_log_prob` and :meth:`IsotropicGMM.noisy_score` take the
noise level itself, as a noise-conditional score model does.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._checks import as_points, check_finite_tensor, check_generator, check_positive, check_positive_int, check_weights

__all__ = ["IsotropicGMM", "ring_gmm", "GMMDist", "mode_weights"]


def _points(x, name="samples", dim=2):
    if not isinstance(x, torch.Tensor):
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        else:
            raise TypeError(f"{name} must be a torch.Tensor of shape (n, {dim}), got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n, {dim}), got {tuple(x.shape)}")
    if not torch.is_floating_point(x):
        raise TypeError(f"{name} must be floating point, got dtype {x.dtype}")
    if x.numel():
        check_finite_tensor(x, name)
    return x


class IsotropicGMM:
    """Mixture of isotropic Gaussians with a shared variance.

    Parameters
    ----------
    means : array_like, shape (M, d)
    sigma : float
        Standard deviation of every component.
    weights : array_like, shape (M,), optional
        Mixture weights; equal by default. Non-negative, summing to one within 1e-5 (then
        normalised exactly, as :class:`probmods.datasets.GaussianMixture2D` does).

    Notes
    -----
    Limits: means finite with coordinates within 1e100; every ``sigma`` (here and in the
    methods) in [1e-100, 1e100]; the methods' ``samples`` finite torch tensors (or NumPy
    arrays) of shape (n, d) with coordinates within 1e100.
    """

    def __init__(self, means, sigma: float, weights=None):
        self.means = torch.as_tensor(as_points(means, "means", dim=None))
        self.sigma = check_positive(sigma, "sigma")
        m = self.means.shape[0]
        w = np.full(m, 1.0 / m) if weights is None else check_weights(weights, "weights", m)
        self.mix_probs = torch.as_tensor(w)

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def _sigma(self, sigma):
        return self.sigma if sigma is None else check_positive(sigma, "sigma")

    def _log_comp(self, x, sigma):
        mu = self.means.to(x.dtype)
        sq = (x[:, None, :] - mu[None]) ** 2
        # In 2-D, the two squares added directly: the same float as sum(-1) over two terms (each
        # is exact to add to zero), at a third of its cost on the samplers' small batches.
        d2 = sq[..., 0] + sq[..., 1] if sq.shape[-1] == 2 else sq.sum(-1)
        return torch.log(self.mix_probs.to(x.dtype))[None] - d2 / (2 * sigma**2) - self.dim / 2 * math.log(
            2 * math.pi * sigma**2)

    def sample(self, n: int, sigma: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Ancestral sampling: a component by its weight, then a Gaussian around its mean.

        Parameters
        ----------
        n : int
        sigma : float, optional
            Standard deviation; the mixture's own by default.
        generator : torch.Generator or int, optional
            An int seeds a new generator.

        Returns
        -------
        torch.Tensor, shape (n, d), float32
        """
        n = check_positive_int(n, "n")
        s = self._sigma(sigma)
        generator = check_generator(generator)
        comp = torch.multinomial(self.mix_probs, n, replacement=True, generator=generator)
        z = torch.randn((n, self.dim), generator=generator, dtype=torch.float64)
        return (self.means[comp] + s * z).float()

    def log_prob(self, samples: torch.Tensor, sigma: float | None = None) -> torch.Tensor:
        """Log-density at ``samples`` (shape ``(n, d)``), shape ``(n,)``, by log-sum-exp."""
        x = _points(samples, dim=self.dim)
        return torch.logsumexp(self._log_comp(x, self._sigma(sigma)), dim=1)

    def score(self, samples: torch.Tensor, sigma: float | None = None) -> torch.Tensor:
        """Score :math:`\\nabla_{\\mathbf x}\\log p` at ``samples``, shape ``(n, d)``."""
        x = _points(samples, dim=self.dim)
        s = self._sigma(sigma)
        r = torch.softmax(self._log_comp(x, s), dim=1)
        mu = self.means.to(x.dtype)
        return (r @ mu - x) / s**2

    def log_prob_and_score(self, samples: torch.Tensor, sigma: float | None = None):
        """:meth:`log_prob` and :meth:`score` together, from one evaluation of the components.

        The same numbers as the two calls, at about 0.6 of their cost: what a MALA step
        needs (:func:`probmods.mcmc.target_from` with ``log_prob_and_score``).

        Returns
        -------
        log_prob : torch.Tensor, shape (n,)
        score : torch.Tensor, shape (n, d)
        """
        x = _points(samples, dim=self.dim)
        s = self._sigma(sigma)
        log_comp = self._log_comp(x, s)
        r = torch.softmax(log_comp, dim=1)
        return torch.logsumexp(log_comp, dim=1), (r @ self.means.to(x.dtype) - x) / s**2

    def responsibilities(self, samples: torch.Tensor, sigma: float | None = None) -> torch.Tensor:
        """Posterior component probabilities :math:`r_m(\\mathbf x)`, shape ``(n, M)``."""
        x = _points(samples, dim=self.dim)
        return torch.softmax(self._log_comp(x, self._sigma(sigma)), dim=1)

    def noisy_sigma(self, noise: float) -> float:
        r"""The component standard deviation :math:`\sqrt{\sigma^2 + \sigma_{\rm noise}^2}` after adding noise.

        Adding :math:`\sigma_{\rm noise}\mathbf z`, :math:`\mathbf z\sim\mathcal N(0, I)`, to a sample
        of the mixture convolves every component with :math:`\mathcal N(0, \sigma_{\rm noise}^2 I)`:
        the means and weights stay, each covariance grows by :math:`\sigma_{\rm noise}^2 I`.
        """
        noise = check_positive(noise, "noise")
        return math.sqrt(self.sigma**2 + noise**2)

    def noisy_log_prob(self, samples: torch.Tensor, noise: float) -> torch.Tensor:
        r"""Log-density of the noisy data :math:`q_{\sigma_{\rm noise}} = p * \mathcal N(0, \sigma_{\rm noise}^2 I)`.

        Parameters
        ----------
        samples : torch.Tensor, shape (n, d)
        noise : float
            Standard deviation :math:`\sigma_{\rm noise} > 0` of the added Gaussian noise.

        Returns
        -------
        torch.Tensor, shape (n,)

        Examples
        --------
        >>> import torch
        >>> from probmods.gmm import GMMDist
        >>> gmm = GMMDist()
        >>> x = torch.zeros(1, 2, dtype=torch.float64)
        >>> bool(torch.allclose(gmm.noisy_log_prob(x, 3.0), gmm.log_prob(x, 10**0.5)))
        True
        """
        return IsotropicGMM.log_prob(self, samples, self.noisy_sigma(noise))

    def noisy_score(self, samples: torch.Tensor, noise: float) -> torch.Tensor:
        r"""Exact score :math:`\nabla\log q_{\sigma_{\rm noise}}` of the noisy data, shape ``(n, d)``.

        The target of a noise-conditional score model at level ``noise``; its signature
        ``(x, sigma)`` is the one :func:`probmods.mcmc.annealed_langevin` expects, with
        ``sigma`` the *noise* level (not the effective standard deviation).

        Parameters
        ----------
        samples : torch.Tensor, shape (n, d)
        noise : float
            Standard deviation :math:`\sigma_{\rm noise} > 0` of the added Gaussian noise.

        Returns
        -------
        torch.Tensor, shape (n, d)

        Examples
        --------
        >>> import torch
        >>> from probmods.gmm import GMMDist
        >>> x = torch.tensor([[5.0, 5.0]], dtype=torch.float64)
        >>> GMMDist().noisy_score(x + 2.0, noise=1.0)  # (mu - x) / (1 + 1) near the heavy mode
        tensor([[-1., -1.]], dtype=torch.float64)
        """
        return IsotropicGMM.score(self, samples, self.noisy_sigma(noise))


def ring_gmm(num_modes: int = 5, radius: float = 0.7, variance: float = 0.1) -> IsotropicGMM:
    r"""The equal-weight ring of HW2: means :math:`r(\cos 2\pi m/M, \sin 2\pi m/M)`, variance 0.1."""
    num_modes = check_positive_int(num_modes, "num_modes")
    radius = check_positive(radius, "radius")
    variance = check_positive(variance, "variance")
    ang = np.arange(num_modes) * 2 * np.pi / num_modes
    means = radius * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    return IsotropicGMM(means, math.sqrt(variance))


class GMMDist(IsotropicGMM):
    r"""The HW4 mixture :math:`0.2\,\mathcal N((-5,-5), \sigma^2 I) + 0.8\,\mathcal N((5,5), \sigma^2 I)`.

    The handout's class: ``sample(n, sigma=1)``, ``log_prob(samples, sigma=1)`` and
    ``score(samples, sigma=1)``, where ``sigma`` is the standard deviation of the
    components (an effective :math:`\tilde\sigma = \sqrt{1 + \sigma_i^2}` for the
    data perturbed by noise of level :math:`\sigma_i`). ``log_prob`` returns shape
    ``(n,)`` (the handout's ``n x 1`` without the trailing axis).
    """

    def __init__(self):
        super().__init__([[-5.0, -5.0], [5.0, 5.0]], sigma=1.0, weights=[0.2, 0.8])

    def sample(self, n, sigma=1, generator=None):
        """``n`` exact samples (float32, shape (n, 2)) of the mixture with component standard deviation ``sigma``."""
        return super().sample(n, sigma, generator=generator)

    def log_prob(self, samples, sigma=1):
        """Log-density at ``samples`` (n, 2), shape (n,), with component standard deviation ``sigma``."""
        return super().log_prob(samples, sigma)

    def score(self, samples, sigma=1):
        """Score :math:`\\nabla_{\\mathbf x}\\log p` at ``samples`` (n, 2), component std ``sigma``."""
        return super().score(samples, sigma)

    def log_prob_and_score(self, samples, sigma=1):
        """:meth:`log_prob` and :meth:`score` at ``samples`` (n, 2) from one evaluation, component std ``sigma``."""
        return super().log_prob_and_score(samples, sigma)


def mode_weights(samples, means, max_distance: float | None = None) -> np.ndarray:
    """Fraction of samples nearest to each mean (and, optionally, far from all of them).

    Parameters
    ----------
    samples : array_like, shape (n, d)
        Non-finite rows (diverged chains) belong to no mode: they count as "far"
        when ``max_distance`` is given, and are simply left out otherwise (the
        fractions, always of all ``n`` samples, then sum to less than one).
    means : array_like, shape (M, d)
    max_distance : float, optional
        Samples farther than this from every mean are counted in an extra last
        entry instead of a mode.

    Returns
    -------
    numpy.ndarray, shape (M,), or (M + 1,) when ``max_distance`` is given
        Fractions of the ``n`` samples.
    """
    x = as_points(samples, "samples", dim=None, finite=False, allow_empty=True)
    mu = as_points(means, "means", dim=None, allow_empty=True)
    if x.shape[1] != mu.shape[1]:
        raise ValueError(f"samples (n, d) and means (M, d) must agree, got {x.shape} and {mu.shape}")
    if len(x) == 0 or len(mu) == 0:
        raise ValueError(f"samples and means must not be empty, got {x.shape} and {mu.shape}")
    finite = np.all(np.isfinite(x), axis=1)
    d = np.sqrt(((np.where(finite[:, None], x, 0.0)[:, None, :] - mu[None]) ** 2).sum(-1))
    nearest = np.argmin(d, axis=1)
    far = ~finite
    if max_distance is not None:
        far |= d.min(axis=1) > check_positive(max_distance, "max_distance")
    counts = np.bincount(nearest[~far], minlength=len(mu)).astype(float)
    if max_distance is not None:
        counts = np.append(counts, far.sum())
    return counts / len(x)


# --------------------------------------------------------------------------- the NumPy backend
# The same mixtures for NumPy arrays of 2-D points, in float64: the estimation chapter's fits
# call these in their inner loops (no tensor round trips), and datasets.GaussianMixture2D (the
# KDE chapter's densities) evaluates and samples with them. tests/test_gmm.py checks them
# against IsotropicGMM. No input checks: the public callers check.
_LOG_2PI = math.log(2 * math.pi)


def _log_kernels(x: np.ndarray, means: np.ndarray, sigma: float) -> np.ndarray:
    """``-|x - mu_i|^2 / (2 sigma^2)`` for every point and mean, shape (n, N)."""
    d0 = x[:, 0, None] - means[None, :, 0]
    d1 = x[:, 1, None] - means[None, :, 1]
    return -(d0 * d0 + d1 * d1) / (2 * sigma * sigma)


def _lse_and_resp(a: np.ndarray):
    """Row-wise log-sum-exp of ``a`` (n, N) and the softmax (responsibilities)."""
    amax = a.max(axis=1, keepdims=True)
    e = np.exp(a - amax)
    s = e.sum(axis=1, keepdims=True)
    return (amax + np.log(s))[:, 0], e / s


def _kernel_sums(means: np.ndarray, ut: np.ndarray, sigma: float):
    """Log-sum-exp over components of ``(u . mu_i - |mu_i|^2 / 2) / sigma^2``, in the fast layout.

    ``ut`` holds the points as columns, shape (2, n). Returns ``lse`` (n,), the
    unnormalised responsibilities ``e`` (N, n) and their column sums ``s`` (n,),
    so that ``r = e / s`` and ``log sum_i exp(-|u - mu_i|^2 / 2 sigma^2) = lse -
    |u|^2 / 2 sigma^2``. Expanding the square costs an absolute error of about
    ``1e-16 |u|^2 / sigma^2`` in the exponent, negligible at the scales of this
    model, and turns the distances into one (N, 2) x (2, n) matrix product.
    """
    s2 = sigma * sigma
    a = (means / s2) @ ut
    a -= (0.5 / s2) * np.sum(means * means, 1)[:, None]
    amax = a.max(0)
    a -= amax
    np.exp(a, out=a)
    s = a.sum(0)
    return amax + np.log(s), a, s


def _log_prob(x: np.ndarray, means: np.ndarray, sigma: float, weights: np.ndarray | None = None) -> np.ndarray:
    """Log-density of the 2-D mixture at points ``x`` (n, 2), shape (n,); equal weights when ``weights`` is None."""
    a = _log_kernels(x, means, sigma)
    if weights is None:
        log_norm = math.log(len(means))
    else:
        with np.errstate(divide="ignore"):  # a zero weight is a component that never contributes
            a += np.log(weights)[None, :]
        log_norm = 0.0
    return _lse_and_resp(a)[0] - log_norm - _LOG_2PI - 2 * math.log(sigma)


def _sample(means: np.ndarray, sigma: float, n: int, rng: np.random.Generator,
            weights: np.ndarray | None = None) -> np.ndarray:
    """``n`` exact draws (n, 2): a component (uniform, or by ``weights``), then a Gaussian around its mean."""
    comp = rng.integers(len(means), size=n) if weights is None else rng.choice(len(means), size=n, p=weights)
    return means[comp] + sigma * rng.standard_normal((n, means.shape[1]))

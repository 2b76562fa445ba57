"""The homework's mixture of four Gaussians: samplers, log-density, gradients, MALA."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import (
    MAX_ABS,
    as_points,
    check_positive,
    check_positive_int,
    check_real,
    check_rng,
)
from ..gmm import _log_kernels, _log_prob, _lse_and_resp, _sample

__all__ = [
    "TRUE_MEANS", "SIGMA", "MALA_NOISE", "NOISE_MEAN", "NOISE_STD", "SWEEP_JS", "sample_gmm",
    "init_means", "log_prob", "responsibilities", "grad_log_prob_means", "gmm_target", "MALAResult",
    "mala_gmm",
]


TRUE_MEANS = np.array([[0.0, 0.0], [0.0, 3.0], [3.0, 0.0], [3.0, 3.0]])
"""The homework's true means, shape (4, 2)."""
SIGMA = 1.0
"""The common standard deviation of the components."""
MALA_NOISE = 0.1
r"""The homework's MALA noise scale :math:`\sqrt{2\varepsilon}`."""
NOISE_MEAN = np.array([1.0, 1.0])
"""Mean of the NCE noise distribution."""
NOISE_STD = 2.0
"""Standard deviation (per coordinate) of the NCE noise distribution."""
SWEEP_JS = (100, 500, 1000, 2000, 3000, 5000)
"""The sample sizes of HW3-T12."""




# --------------------------------------------------------------------------- helpers
def _rng(rng) -> np.random.Generator:
    return check_rng(rng, "rng")


def _means(means, name: str = "means") -> np.ndarray:
    return as_points(means, name)


def _check_nonneg(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


# --------------------------------------------------------------------------- the GMM
def sample_gmm(means, n: int, rng=None, sigma: float = SIGMA) -> np.ndarray:
    """Draw exact samples of the equal-weight isotropic mixture.

    A component is drawn uniformly, then a Gaussian around its mean.

    Parameters
    ----------
    means : array_like, shape (N, 2)
        Component means.
    n : int
        Number of samples.
    rng : numpy.random.Generator, int or None
        Source of randomness.
    sigma : float, default 1
        Standard deviation of every component (per coordinate).

    Returns
    -------
    numpy.ndarray, shape (n, 2)
    """
    means = _means(means)
    n = check_positive_int(n, "n")
    sigma = check_positive(sigma, "sigma")
    return _sample(means, sigma, n, _rng(rng))


def init_means(rng=None, n_components: int = 4, low: float = 0.0, high: float = 3.0) -> np.ndarray:
    """The homework's initial guess: means drawn from :math:`U([low, high]^2)`.

    Parameters
    ----------
    rng : numpy.random.Generator, int or None
    n_components : int, default 4
    low, high : float, default 0 and 3
        Finite, within 1e100, ``low < high``.

    Returns
    -------
    numpy.ndarray, shape (n_components, 2)
    """
    n_components = check_positive_int(n_components, "n_components")
    low, high = check_real(low, "low", -MAX_ABS, MAX_ABS), check_real(high, "high", -MAX_ABS, MAX_ABS)
    if low >= high:
        raise ValueError(f"low and high must be finite with low < high, got {low!r}, {high!r}")
    return _rng(rng).uniform(low, high, size=(n_components, 2))


def log_prob(x, means, sigma: float = SIGMA) -> np.ndarray:
    r"""Log-density :math:`\log p(\mathbf x;\{\boldsymbol\mu_i\})` of the mixture.

    Parameters
    ----------
    x : array_like, shape (n, 2)
    means : array_like, shape (N, 2)
    sigma : float, default 1

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    x = as_points(x, "x")
    means = _means(means)
    sigma = check_positive(sigma, "sigma")
    return _log_prob(x, means, sigma)


def responsibilities(x, means, sigma: float = SIGMA) -> np.ndarray:
    r"""Posterior component probabilities :math:`r_i(\mathbf x)`, shape (n, N)."""
    x = as_points(x, "x")
    means = _means(means)
    sigma = check_positive(sigma, "sigma")
    return _lse_and_resp(_log_kernels(x, means, sigma))[1]


def _grad_means(x, means, sigma):
    r = _lse_and_resp(_log_kernels(x, means, sigma))[1]
    return (r.T @ x - r.sum(0)[:, None] * means) / (len(x) * sigma * sigma)


def grad_log_prob_means(x, means, sigma: float = SIGMA) -> np.ndarray:
    r"""Gradient of :math:`\log p` in the means, averaged over the samples.

    .. math::

        \Big\langle\nabla_{\boldsymbol\mu_i}\log p(\mathbf x)\Big\rangle
        = \frac{1}{n}\sum_{j=1}^n r_i(\mathbf x_j)\,
        \frac{\mathbf x_j-\boldsymbol\mu_i}{\sigma^2}.

    Parameters
    ----------
    x : array_like, shape (n, 2)
    means : array_like, shape (N, 2)
    sigma : float, default 1

    Returns
    -------
    numpy.ndarray, shape (N, 2)
        Row ``i`` is the average gradient with respect to :math:`\boldsymbol\mu_i`.
    """
    x = as_points(x, "x")
    means = _means(means)
    sigma = check_positive(sigma, "sigma")
    return _grad_means(x, means, sigma)


def gmm_target(means, sigma: float = SIGMA):
    r"""The mixture as a :mod:`probmods.mcmc` target (float64 tensors).

    Built with :func:`probmods.mcmc.target_from` from the analytic score
    :math:`\nabla_{\mathbf x}\log p = \sum_i r_i(\mathbf x)(\boldsymbol\mu_i -
    \mathbf x)/\sigma^2` and the log-density (which MALA needs) of
    :class:`probmods.gmm.IsotropicGMM`.

    Parameters
    ----------
    means : array_like, shape (N, 2)
    sigma : float, default 1

    Returns
    -------
    probmods.mcmc.Target
        Both fields, for ``x`` a float64 tensor of shape ``(n, 2)``.
    """
    from ..gmm import IsotropicGMM
    from ..mcmc import target_from

    gmm = IsotropicGMM(_means(means), check_positive(sigma, "sigma"))
    return target_from(score=gmm.score, log_prob_and_score=gmm.log_prob_and_score)


class MALAResult(NamedTuple):
    """Outcome of :func:`~probmods.estimation.mala_gmm`.

    Attributes
    ----------
    samples : numpy.ndarray, shape (n_chains, 2)
        The last state of every chain.
    acceptance_rate : numpy.ndarray, shape (n_chains,)
        Fraction of accepted proposals per chain.
    trajectory : numpy.ndarray or None, shape (n_saved, n_chains, 2)
        Positions every ``thin`` steps (with the start), if requested.
    """

    samples: np.ndarray
    acceptance_rate: np.ndarray
    trajectory: np.ndarray | None


def _torch_generator(rng: np.random.Generator):
    import torch

    return torch.Generator().manual_seed(int(rng.integers(2**62)))


def mala_gmm(x0, means, L: int, noise_scale: float = MALA_NOISE, rng=None, sigma: float = SIGMA,
             thin: int | None = None) -> MALAResult:
    r"""Run MALA chains on the mixture from given starts (HW3-T2).

    One chain per row of ``x0``, all advanced together by
    :func:`probmods.mcmc.sample` with the :func:`probmods.mcmc.mala` kernel at
    :math:`\varepsilon` = :func:`probmods.mcmc.eps_from_noise` ``(noise_scale)``.

    Parameters
    ----------
    x0 : array_like, shape (n_chains, 2)
        Starting points.
    means : array_like, shape (N, 2)
        Means of the mixture to sample.
    L : int
        Chain length (number of MALA steps).
    noise_scale : float, default 0.1
        :math:`\sqrt{2\varepsilon}`.
    rng : numpy.random.Generator, int or None
        Seeds the torch generator of the chains.
    sigma : float, default 1
    thin : int, optional
        Keep every ``thin``-th position in ``trajectory``.

    Returns
    -------
    MALAResult
    """
    import torch

    from ..mcmc import eps_from_noise, mala, sample

    x0 = as_points(x0, "x0")
    L = check_positive_int(L, "L")
    eps = eps_from_noise(check_positive(noise_scale, "noise_scale"))
    target = gmm_target(means, sigma)
    generator = _torch_generator(_rng(rng))
    # tiny chains: sample() runs them on one intra-op thread (probmods.utils.torch_threads)
    res = sample(torch.from_numpy(x0.copy()), mala(target, eps), L, thin=thin, generator=generator)
    traj = res.trajectory.numpy() if res.trajectory is not None else None
    return MALAResult(res.state.position.numpy(), res.acceptance_rate.numpy(), traj)

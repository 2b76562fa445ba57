"""Score matching of the mixture's means: the reference estimator CD converges to."""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize

from .._checks import (
    as_points,
    check_positive,
    check_positive_int,
)
from ..gmm import _log_kernels, _lse_and_resp
from ._model import SIGMA, _means
from .nce import FitResult, log_normaliser

__all__ = ["score_matching_loss", "fit_score_matching"]


def score_matching_loss(x, means, sigma: float = SIGMA) -> float:
    r"""Hyvärinen's score-matching loss of the mixture on samples ``x``.

    .. math::

        J_{SM} = \Big\langle \tfrac12\lVert\nabla_{\mathbf x}\log p\rVert^2 +
        \Delta_{\mathbf x}\log p\Big\rangle_{\mathbf x}
        = \Big\langle\sum_i r_i\lVert\mathbf s_i\rVert^2 - \tfrac12\lVert\mathbf s
        \rVert^2\Big\rangle_{\mathbf x} - \frac{d}{\sigma^2},

    with the component scores :math:`\mathbf s_i = (\boldsymbol\mu_i-\mathbf x)/
    \sigma^2` and the score :math:`\mathbf s = \sum_i r_i\mathbf s_i` (the Laplacian
    follows from :math:`\nabla r_i = r_i(\mathbf s_i - \mathbf s)`). Contrastive
    divergence with short Langevin chains is, to first order in the step,
    gradient descent on this loss (Hyvärinen 2007).

    Parameters
    ----------
    x : array_like, shape (n, 2)
    means : array_like, shape (N, 2)
    sigma : float, default 1

    Returns
    -------
    float
    """
    x = as_points(x, "x")
    means = _means(means)
    sigma = check_positive(sigma, "sigma")
    return _sm_loss(x, means, sigma)


def _sm_loss(x, means, sigma):
    r = _lse_and_resp(_log_kernels(x, means, sigma))[1]  # (n, N)
    s0 = (means[None, :, 0] - x[:, 0, None]) / sigma**2  # component scores, (n, N) per coordinate
    s1 = (means[None, :, 1] - x[:, 1, None]) / sigma**2
    m0, m1 = np.sum(r * s0, 1), np.sum(r * s1, 1)
    return float(np.mean(np.sum(r * (s0 * s0 + s1 * s1), 1) - 0.5 * (m0 * m0 + m1 * m1)) - 2 / sigma**2)


def fit_score_matching(x, init_means, *, sigma: float = SIGMA, gtol: float = 1e-7,
                       max_iter: int = 1000) -> FitResult:
    """Score-matching estimate of the means: BFGS on :func:`~probmods.estimation.score_matching_loss`.

    The gradient is taken by finite differences (eight parameters; this estimate
    serves only as a reference for where contrastive divergence converges).

    Parameters
    ----------
    x : array_like, shape (J, 2)
    init_means : array_like, shape (N, 2)
    sigma : float, default 1
    gtol : float, default 1e-7
    max_iter : int, default 1000

    Returns
    -------
    FitResult
        With ``objective`` the minimised loss.
    """
    x = as_points(x, "x")
    m0 = _means(init_means, "init_means")
    sigma = check_positive(sigma, "sigma")
    gtol = check_positive(gtol, "gtol")
    max_iter = check_positive_int(max_iter, "max_iter")
    res = minimize(lambda p: _sm_loss(x, p.reshape(-1, 2), sigma), m0.ravel(), method="BFGS",
                   options={"gtol": gtol, "maxiter": max_iter})
    z = math.exp(log_normaliser(len(m0), sigma))
    return FitResult(means=res.x.reshape(-1, 2).copy(), z=z, z_free=False, init_means=m0.copy(), init_z=z,
                     objective=float(res.fun), n_iter=int(res.nit), n_eval=int(res.nfev), success=bool(res.success),
                     message=str(res.message))

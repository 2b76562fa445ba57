"""Gradient-based maximum likelihood and contrastive divergence (HW3 Part I), and the errors."""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import numpy as np

from .._checks import (
    as_array,
    as_points,
    check_positive,
    check_positive_int,
    check_real,
)
from ._model import MALA_NOISE, SIGMA, TRUE_MEANS, _check_nonneg, _grad_means, _means, _rng, mala_gmm, sample_gmm

__all__ = [
    "EstimationRun", "gradient_ascent", "ml_direct", "ml_mcmc", "contrastive_divergence",
    "matched_error", "closest_mean_error",
]

# --------------------------------------------------------------------------- estimators
@dataclass(frozen=True)
class EstimationRun:
    """The trajectory of one estimator of the means.

    Attributes
    ----------
    method : str
    means : numpy.ndarray, shape (n_iter + 1, N, 2)
        The estimates after every iteration; ``means[0]`` is the initial guess.
    times : numpy.ndarray, shape (n_iter + 1,)
        Wall-clock seconds since the start after every iteration (``times[0] = 0``).
    drift : numpy.ndarray, shape (n_iter + 1,)
        The convergence statistic :math:`d_k` (NaN for the first ``2 window - 1``
        iterations, where it is not defined).
    samples : numpy.ndarray, shape (n_model, 2)
        The model samples of the last iteration (empty for :func:`gradient_ascent`).
    acceptance_rate : float
        Mean MALA acceptance over all chains and iterations (NaN without MCMC).
    converged : bool
        Whether the drift fell below ``tol`` before ``max_iter``.
    window : int
        The window :math:`w` of the convergence rule.
    """

    method: str
    means: np.ndarray
    times: np.ndarray
    drift: np.ndarray
    samples: np.ndarray
    acceptance_rate: float
    converged: bool
    window: int

    @property
    def n_iter(self) -> int:
        """Number of iterations run."""
        return len(self.means) - 1

    @property
    def final(self) -> np.ndarray:
        """The last estimate, shape (N, 2)."""
        return self.means[-1]

    def average(self, n: int | None = None) -> np.ndarray:
        """Mean of the last ``n`` estimates (default: the last window), shape (N, 2).

        Averaging the iterates of a stochastic-gradient method (Polyak averaging)
        removes part of the noise that the last iterate carries.
        """
        n = self.window if n is None else check_positive_int(n, "n")
        return self.means[-min(n, len(self.means)) :].mean(0)


def _check_run_args(x_real, init, eta, max_iter, tol, window, sigma):
    x = as_points(x_real, "x_real")
    m0 = _means(init, "init_means")
    return (x, m0, check_positive(eta, "eta"), check_positive_int(max_iter, "max_iter"),
            _check_nonneg(tol, "tol"), check_positive_int(window, "window"), check_positive(sigma, "sigma"))


def _iterate(method, step, m0, eta, max_iter, tol, window):
    """Shared loop: ``step(means) -> (update direction, samples, acceptance)``."""
    w = window
    # the arrays grow by doubling, so a run that stops early costs memory for the iterations it made
    # (max_iter = 10**9 is a bound, not an allocation)
    cap = min(max_iter + 1, 1024)
    traj = np.empty((cap, *m0.shape))
    traj[0] = m0
    times = np.zeros(cap)
    drift = np.full(cap, np.nan)
    csum = np.zeros((cap + 1, m0.size))  # csum[k] = sum of traj[:k]
    csum[1] = m0.ravel()
    means = m0.copy()
    samples, accs, converged = np.empty((0, 2)), [], False
    t0 = time.perf_counter()
    k = 0
    for k in range(1, max_iter + 1):
        direction, samples, acc = step(means)
        means = means + eta * direction
        if not np.all(np.isfinite(means)):
            raise FloatingPointError(f"{method}: the estimates became non-finite at iteration {k}; reduce eta")
        if k >= len(traj):
            grow = min(len(traj), max_iter + 1 - len(traj))
            traj = np.concatenate([traj, np.empty((grow, *m0.shape))])
            times = np.concatenate([times, np.zeros(grow)])
            drift = np.concatenate([drift, np.full(grow, np.nan)])
            csum = np.concatenate([csum, np.zeros((grow, m0.size))])
        traj[k] = means
        times[k] = time.perf_counter() - t0
        csum[k + 1] = csum[k] + means.ravel()
        if acc is not None:
            accs.append(acc)
        if k + 1 >= 2 * w:  # windows (k-w, k] and (k-2w, k-w] of traj indices
            diff = (csum[k + 1] - 2 * csum[k + 1 - w] + csum[k + 1 - 2 * w]) / w
            drift[k] = math.sqrt(np.mean(diff * diff)) / w
            if drift[k] < tol:
                converged = True
                break
    n = k + 1
    acc = float(np.mean(accs)) if accs else float("nan")
    return EstimationRun(method, traj[:n].copy(), times[:n].copy(), drift[:n].copy(), samples, acc, converged, w)


def gradient_ascent(x_real, init_means, *, eta: float = 1.0, max_iter: int = 1000, tol: float = 1e-4,
                    window: int = 20, sigma: float = SIGMA) -> EstimationRun:
    r"""Exact gradient ascent on the mean log-likelihood (positive phase only).

    :math:`\tilde{\boldsymbol\mu}_i \leftarrow \tilde{\boldsymbol\mu}_i + \eta
    \langle\nabla_{\boldsymbol\mu_i}\log p\rangle_{\mathbf x}`: the handout's update
    with the negative phase replaced by its expectation under the model, which is
    zero for this model. Deterministic; converges to a (local) maximum-likelihood
    estimate.

    Parameters
    ----------
    x_real : array_like, shape (J, 2)
        The real samples.
    init_means : array_like, shape (N, 2)
    eta : float, default 1
        Step size.
    max_iter : int, default 1000
    tol, window : float, int
        Convergence rule (see the module's documentation).
    sigma : float, default 1

    Returns
    -------
    EstimationRun
    """
    x, m0, eta, max_iter, tol, window, sigma = _check_run_args(x_real, init_means, eta, max_iter, tol, window,
                                                               sigma)
    empty = np.empty((0, 2))
    return _iterate("gradient ascent", lambda m: (_grad_means(x, m, sigma), empty, None), m0, eta, max_iter,
                    tol, window)


def ml_direct(x_real, init_means, rng=None, *, eta: float = 1.0, n_model: int = 100, max_iter: int = 1000,
              tol: float = 2e-3, window: int = 20, sigma: float = SIGMA) -> EstimationRun:
    """Maximum likelihood with exact model samples (HW3-T3).

    Every iteration draws ``n_model`` fresh samples of the mixture at the current
    means and takes the step :math:`\\eta(\\langle\\nabla\\log p\\rangle_{\\mathbf x} -
    \\langle\\nabla\\log p\\rangle_{\\tilde{\\mathbf x}})`, the positive phase over all
    real samples.

    Parameters
    ----------
    x_real : array_like, shape (J, 2)
    init_means : array_like, shape (N, 2)
    rng : numpy.random.Generator, int or None
    eta : float, default 1
    n_model : int, default 100
    max_iter : int, default 1000
    tol : float, default 2e-3
    window : int, default 20
    sigma : float, default 1

    Returns
    -------
    EstimationRun
    """
    x, m0, eta, max_iter, tol, window, sigma = _check_run_args(x_real, init_means, eta, max_iter, tol, window,
                                                               sigma)
    n_model = check_positive_int(n_model, "n_model")
    rng = _rng(rng)

    def step(m):
        xt = sample_gmm(m, n_model, rng, sigma)
        return _grad_means(x, m, sigma) - _grad_means(xt, m, sigma), xt, None

    return _iterate("ML, direct sampling", step, m0, eta, max_iter, tol, window)


def ml_mcmc(x_real, init_means, rng=None, *, eta: float = 1.0, n_chains: int = 100, L: int = 1000,
            noise_scale: float = MALA_NOISE, chain_mean: float = 1.5, chain_var: float = 2.0, max_iter: int = 300,
            tol: float = 2e-3, window: int = 20, sigma: float = SIGMA) -> EstimationRun:
    r"""Maximum likelihood with MALA model samples (HW3-T4).

    Every iteration starts ``n_chains`` fresh chains from
    :math:`\mathcal N((m, m), vI)` with :math:`m` = ``chain_mean`` and **variance**
    :math:`v` = ``chain_var`` (the handout's :math:`\mathcal N(1.5, 2)`, read as mean
    and variance), runs ``L`` MALA steps on the current model and uses the end
    points as :math:`\tilde{\mathbf x}`.

    Parameters
    ----------
    x_real : array_like, shape (J, 2)
    init_means : array_like, shape (N, 2)
    rng : numpy.random.Generator, int or None
    eta : float, default 1
    n_chains : int, default 100
    L : int, default 1000
    noise_scale : float, default 0.1
        :math:`\sqrt{2\varepsilon}`.
    chain_mean : float, default 1.5
        In [-1e6, 1e6].
    chain_var : float, default 2
    max_iter : int, default 300
    tol : float, default 2e-3
    window : int, default 20
    sigma : float, default 1

    Returns
    -------
    EstimationRun
    """
    x, m0, eta, max_iter, tol, window, sigma = _check_run_args(x_real, init_means, eta, max_iter, tol, window,
                                                               sigma)
    n_chains = check_positive_int(n_chains, "n_chains")
    L = check_positive_int(L, "L")
    noise_scale = check_positive(noise_scale, "noise_scale")
    chain_var = check_positive(chain_var, "chain_var")
    chain_mean = check_real(chain_mean, "chain_mean", -1e6, 1e6)
    rng = _rng(rng)

    def step(m):
        start = chain_mean + math.sqrt(chain_var) * rng.standard_normal((n_chains, 2))
        res = mala_gmm(start, m, L, noise_scale, rng, sigma)
        xt = res.samples
        return _grad_means(x, m, sigma) - _grad_means(xt, m, sigma), xt, float(res.acceptance_rate.mean())

    return _iterate("ML, MCMC", step, m0, eta, max_iter, tol, window)


def contrastive_divergence(x_real, init_means, rng=None, *, eta: float = 1.0, n_chains: int = 100, L: int = 10,
                           noise_scale: float = MALA_NOISE, max_iter: int = 10000, tol: float = 2e-4,
                           window: int = 200, sigma: float = SIGMA) -> EstimationRun:
    r"""Contrastive divergence, CD-L (HW3-T5).

    Every iteration picks ``n_chains`` real samples at random (without
    replacement), runs ``L`` MALA steps from them on the current model and
    takes the step :math:`\eta(\langle\nabla\log p\rangle_{\mathbf x_{batch}} -
    \langle\nabla\log p\rangle_{\tilde{\mathbf x}})`, both phases over the same
    ``n_chains`` points before and after the chains.

    Parameters
    ----------
    x_real : array_like, shape (J, 2)
        Needs ``J >= n_chains``.
    init_means : array_like, shape (N, 2)
    rng : numpy.random.Generator, int or None
    eta : float, default 1
    n_chains : int, default 100
    L : int, default 10
    noise_scale : float, default 0.1
    max_iter : int, default 10000
    tol : float, default 2e-4
    window : int, default 200
        One CD step moves the means about :math:`L\varepsilon` = 1/20 as far as an
        ML step (the chains barely leave the data), so the window is ten times
        longer and the tolerance ten times smaller than for the ML estimators.
    sigma : float, default 1

    Returns
    -------
    EstimationRun
    """
    x, m0, eta, max_iter, tol, window, sigma = _check_run_args(x_real, init_means, eta, max_iter, tol, window,
                                                               sigma)
    n_chains = check_positive_int(n_chains, "n_chains")
    if n_chains > len(x):
        raise ValueError(f"n_chains ({n_chains}) must not exceed the number of real samples ({len(x)})")
    L = check_positive_int(L, "L")
    noise_scale = check_positive(noise_scale, "noise_scale")
    rng = _rng(rng)

    def step(m):
        batch = x[rng.choice(len(x), size=n_chains, replace=False)]
        res = mala_gmm(batch, m, L, noise_scale, rng, sigma)
        xt = res.samples
        return _grad_means(batch, m, sigma) - _grad_means(xt, m, sigma), xt, float(res.acceptance_rate.mean())

    return _iterate("contrastive divergence", step, m0, eta, max_iter, tol, window)


# --------------------------------------------------------------------------- errors
def _estimates(estimates, true, finite=True):
    est = as_array(estimates, "estimates", finite=finite)
    tr = _means(true, "true")
    if est.ndim < 2 or est.shape[-2:] != tr.shape:
        raise ValueError(f"estimates must have shape (..., {tr.shape[0]}, 2), got {est.shape}")
    return est, tr


def matched_error(estimates, true=TRUE_MEANS) -> np.ndarray:
    r"""RMS distance of estimated means to the true ones, best labelling.

    :math:`\min_\pi\big(\frac1N\sum_i\lVert\hat{\boldsymbol\mu}_{\pi(i)} -
    \boldsymbol\mu_i\rVert^2\big)^{1/2}` over all permutations :math:`\pi` (the
    components are exchangeable, so labels are arbitrary).

    Parameters
    ----------
    estimates : array_like, shape (..., N, 2)
    true : array_like, shape (N, 2), default TRUE_MEANS

    Returns
    -------
    numpy.ndarray, shape (...)
    """
    est, tr = _estimates(estimates, true)
    n = tr.shape[0]
    if n > 8:
        raise ValueError(f"matched_error enumerates permutations; N = {n} > 8 is too many")
    best = np.full(est.shape[:-2], np.inf)
    for perm in itertools.permutations(range(n)):
        d = est[..., list(perm), :] - tr
        best = np.minimum(best, np.mean(np.sum(d * d, -1), -1))
    return np.sqrt(best)


def closest_mean_error(estimates, true=TRUE_MEANS):
    r"""The homework's error: squared distance to the *closest* true mean.

    Each estimate :math:`\hat{\boldsymbol\mu}_i` is assigned to its nearest true
    mean :math:`a(i)`. A run in which two estimates pick the same true mean (or an
    estimate is not finite) is a **failure**; otherwise its error is
    :math:`\frac1N\sum_i\lVert\hat{\boldsymbol\mu}_i - \boldsymbol\mu_{a(i)}\rVert^2`.

    Parameters
    ----------
    estimates : array_like, shape (..., N, 2)
    true : array_like, shape (N, 2), default TRUE_MEANS

    Returns
    -------
    sqerr : numpy.ndarray, shape (...)
        Mean squared distance per run; NaN for failures.
    failed : numpy.ndarray of bool, shape (...)
    """
    est, tr = _estimates(estimates, true, finite=False)
    n = tr.shape[0]
    finite = np.all(np.isfinite(est), axis=(-2, -1))
    safe = np.where(np.isfinite(est), est, 0.0)
    d2 = np.sum((safe[..., :, None, :] - tr) ** 2, -1)  # (..., N est, N true)
    nearest = np.argmin(d2, -1)
    picked = np.sort(nearest, -1)
    unique = np.all(np.diff(picked, axis=-1) > 0, -1) if n > 1 else np.ones(est.shape[:-2], bool)
    failed = ~(finite & unique)
    sq = np.take_along_axis(d2, nearest[..., None], -1)[..., 0].mean(-1)
    return np.where(failed, np.nan, sq), failed

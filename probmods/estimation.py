r"""Learning the means of a Gaussian mixture: ML, contrastive divergence and NCE (HW3).

The model of the homework is the equal-weight isotropic mixture

.. math::

    p(\mathbf x;\{\boldsymbol\mu_i\}) = \frac1N\sum_{i=1}^N \frac{1}{2\pi\sigma^2}
    \exp\Big(-\frac{\lVert\mathbf x-\boldsymbol\mu_i\rVert^2}{2\sigma^2}\Big),

with :math:`N = 4`, :math:`\sigma = 1` and true means :data:`TRUE_MEANS`.

**Part I (gradient-based ML and CD).** The gradient of the log-density with
respect to a mean is responsibility-weighted,

.. math::

    \nabla_{\boldsymbol\mu_i}\log p(\mathbf x) = r_i(\mathbf x)\,
    \frac{\mathbf x-\boldsymbol\mu_i}{\sigma^2},\qquad
    r_i(\mathbf x) = \frac{e^{-\lVert\mathbf x-\boldsymbol\mu_i\rVert^2/2\sigma^2}}
    {\sum_k e^{-\lVert\mathbf x-\boldsymbol\mu_k\rVert^2/2\sigma^2}},

(:func:`grad_log_prob_means`, averaged over a sample). The handout's update
:math:`\tilde{\boldsymbol\mu}_i \leftarrow \tilde{\boldsymbol\mu}_i + \eta(\langle
\nabla_{\boldsymbol\mu_i}\log p\rangle_{\mathbf x} - \langle\nabla_{\boldsymbol\mu_i}
\log p\rangle_{\tilde{\mathbf x}})` is run with three sources of model samples
:math:`\tilde{\mathbf x}`: exact draws (:func:`ml_direct`), MALA chains started
afresh from :math:`\mathcal N((1.5, 1.5), 2I)` (:func:`ml_mcmc`) and short MALA chains
started at the data (:func:`contrastive_divergence`). :func:`gradient_ascent`
drops the negative phase: since the normaliser of this model does not depend on the
means, its expectation under the model is zero and the positive phase alone is the
exact gradient of the mean log-likelihood. MALA comes from :mod:`probmods.mcmc`.
:func:`fit_ml` (BFGS on the exact likelihood) and :func:`fit_score_matching`
(where contrastive divergence with short chains converges) are references.

**Convergence.** Every estimator stops at ``max_iter`` iterations or earlier, when
the *drift* falls below ``tol``: with :math:`\bar\theta_k` the mean of the last
``window`` = :math:`w` parameter vectors,

.. math::

    d_k = \frac{1}{w}\,\mathrm{RMS}\big(\bar\theta_k - \bar\theta_{k-w}\big),

the average movement per iteration of the moving average, in the units of the
means (RMS over the :math:`2N` coordinates). Averaging over a window makes the rule
insensitive to the zero-mean noise of stochastic gradients, which never lets the
raw parameter change go to zero.

**Part II (noise-contrastive estimation).** The unnormalised model
:math:`p_m = \frac1Z\sum_i e^{-\lVert\mathbf x-\boldsymbol\mu_i\rVert^2/2\sigma^2}`
is normalised for :math:`Z = 2\pi\sigma^2N` (:func:`log_normaliser`). With noise
:math:`p_n = \mathcal N(\boldsymbol\mu_n, \sigma_n^2 I)` and
:math:`G = \log p_m - \log p_n`, the NCE objective is

.. math::

    J(\theta) = \sum_{j}\big[\log\mathrm{sigmoid}\,G(\mathbf x_j)
    + \log\mathrm{sigmoid}(-G(\mathbf y_j))\big],

evaluated in log-sigmoid form (:class:`NCEObjective`) with its analytic gradient
and maximised by BFGS (:func:`fit_nce`), with :math:`Z` known or with
:math:`\log Z` a free parameter. :func:`nce_sweep` repeats both fits over sample
sizes (HW3-T12) and :func:`closest_mean_error` applies the homework's error and
failure rule.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from ._checks import (
    MAX_ABS,
    as_array,
    as_points,
    check_choice,
    check_container,
    check_limits,
    check_positive,
    check_positive_int,
    check_real,
    check_rng,
    check_seed,
)

__all__ = [
    "TRUE_MEANS",
    "SIGMA",
    "MALA_NOISE",
    "NOISE_MEAN",
    "NOISE_STD",
    "SWEEP_JS",
    "sample_gmm",
    "init_means",
    "log_prob",
    "responsibilities",
    "grad_log_prob_means",
    "gmm_target",
    "MALAResult",
    "mala_gmm",
    "EstimationRun",
    "gradient_ascent",
    "ml_direct",
    "ml_mcmc",
    "contrastive_divergence",
    "matched_error",
    "closest_mean_error",
    "log_normaliser",
    "noise_log_prob",
    "sample_noise",
    "NCEObjective",
    "FitResult",
    "fit_nce",
    "fit_ml",
    "score_matching_loss",
    "fit_score_matching",
    "sweep_draws",
    "nce_sweep",
    "nce_covariance",
    "ml_covariance",
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

_LOG_2PI = math.log(2 * math.pi)


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
    rng = _rng(rng)
    comp = rng.integers(len(means), size=n)
    return means[comp] + sigma * rng.standard_normal((n, 2))


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
    lse, _ = _lse_and_resp(_log_kernels(x, means, sigma))
    return lse - math.log(len(means)) - _LOG_2PI - 2 * math.log(sigma)


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
    callable
        ``x -> (log_p, grad)`` for ``x`` a float64 tensor of shape ``(n, 2)``.
    """
    from .gmm import IsotropicGMM
    from .mcmc import target_from

    gmm = IsotropicGMM(_means(means), check_positive(sigma, "sigma"))
    return target_from(score=gmm.score, log_prob=gmm.log_prob)


class MALAResult(NamedTuple):
    """Outcome of :func:`mala_gmm`.

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
    :func:`probmods.mcmc.sample` with ``method="mala"`` and
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

    from .mcmc import eps_from_noise, sample

    x0 = as_points(x0, "x0")
    L = check_positive_int(L, "L")
    eps = eps_from_noise(check_positive(noise_scale, "noise_scale"))
    target = gmm_target(means, sigma)
    generator = _torch_generator(_rng(rng))
    # tiny chains: sample() runs them on one intra-op thread (probmods.utils.torch_threads)
    res = sample(torch.from_numpy(x0.copy()), target, eps, L, method="mala", thin=thin, generator=generator)
    traj = res.trajectory.numpy() if res.trajectory is not None else None
    return MALAResult(res.state.position.numpy(), res.acceptance_rate.numpy(), traj)


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


# --------------------------------------------------------------------------- NCE
def log_normaliser(n_components: int = 4, sigma: float = SIGMA) -> float:
    r""":math:`\log Z` with :math:`Z = \sum_i\int e^{-\lVert\mathbf x-\boldsymbol\mu_i
    \rVert^2/2\sigma^2}d\mathbf x = 2\pi\sigma^2 N` (HW3-T7; :math:`8\pi` here)."""
    n_components = check_positive_int(n_components, "n_components")
    sigma = check_positive(sigma, "sigma")
    return math.log(n_components) + _LOG_2PI + 2 * math.log(sigma)


def _noise_params(mean, std):
    m = as_array(mean, "noise_mean")
    if m.shape != (2,) or not np.all(np.isfinite(m)):
        raise ValueError(f"noise_mean must be two finite numbers, got {mean!r}")
    return m, check_positive(std, "noise_std")


def noise_log_prob(u, noise_mean=NOISE_MEAN, noise_std: float = NOISE_STD) -> np.ndarray:
    r"""Log-density of the noise :math:`\mathcal N(\boldsymbol\mu_n, \sigma_n^2 I)`, shape (n,)."""
    u = as_points(u, "u")
    m, s = _noise_params(noise_mean, noise_std)
    d = u - m
    return -np.sum(d * d, 1) / (2 * s * s) - _LOG_2PI - 2 * math.log(s)


def sample_noise(n: int, rng=None, noise_mean=NOISE_MEAN, noise_std: float = NOISE_STD) -> np.ndarray:
    """Draw ``n`` noise samples, shape (n, 2)."""
    n = check_positive_int(n, "n")
    m, s = _noise_params(noise_mean, noise_std)
    return m + s * _rng(rng).standard_normal((n, 2))


class NCEObjective:
    r"""The NCE objective on fixed data and noise samples, with its gradient.

    Parameters are packed in a vector: the means row by row, then :math:`\log Z`
    when it is free. With :math:`\nu = J_y/J_x` noise samples per data sample,
    :math:`G(\mathbf u) = \log p_m(\mathbf u) - \log p_n(\mathbf u) - \log\nu` and
    :math:`h = \mathrm{sigmoid}(G) = p_m/(p_m + \nu p_n)` (Gutmann and Hyvärinen 2012;
    the course's :math:`\nu = 1` has no :math:`\log\nu` term),

    .. math::

        J &= \sum_j \log\mathrm{sigmoid}\,G(\mathbf x_j) +
             \sum_j\log\mathrm{sigmoid}(-G(\mathbf y_j)),\\
        \nabla_{\boldsymbol\mu_i} J &= \sum_{\mathbf u}\big(t_{\mathbf u} -
             h(\mathbf u)\big)\,r_i(\mathbf u)\frac{\mathbf u-\boldsymbol\mu_i}{\sigma^2},
        \qquad
        \frac{\partial J}{\partial\log Z} = -\sum_{\mathbf u}\big(t_{\mathbf u} -
             h(\mathbf u)\big),

    where :math:`\mathbf u` runs over data and noise and :math:`t_{\mathbf u}` is 1
    for data, 0 for noise. :math:`\log\mathrm{sigmoid}(z) = -\log(1+e^{-z})` is
    evaluated with :func:`numpy.logaddexp`, so no :math:`h` is ever rounded to 0 or
    1 inside a logarithm. Every evaluation is a handful of array operations on
    ``(J_x + J_y, N)`` arrays.

    Parameters
    ----------
    x : array_like, shape (J_x, 2)
        Data samples.
    y : array_like, shape (J_y, 2)
        Noise samples.
    log_z : float, optional
        A known :math:`\log Z` (then the parameter vector holds the means only);
        ``None`` makes :math:`\log Z` the last parameter.
    sigma : float, default 1
    noise_mean : array_like, shape (2,), default (1, 1)
    noise_std : float, default 2
    """

    def __init__(self, x, y, *, log_z: float | None = None, sigma: float = SIGMA, noise_mean=NOISE_MEAN,
                 noise_std: float = NOISE_STD):
        self.x = as_points(x, "x")
        self.y = as_points(y, "y")
        if log_z is not None:
            log_z = check_real(log_z, "log_z", -1e300, 1e300)
        self.log_z = log_z
        self.sigma = check_positive(sigma, "sigma")
        self.noise_mean, self.noise_std = _noise_params(noise_mean, noise_std)
        u = np.concatenate([self.x, self.y])
        self._u = u / self.sigma**2  # (n, 2), for the gradient
        self._ut = np.ascontiguousarray(u.T)  # (2, n): per-component rows are contiguous
        self._t = np.concatenate([np.ones(len(self.x)), np.zeros(len(self.y))])
        self._sign = 2 * self._t - 1
        # Everything in G that does not depend on the parameters, computed once:
        # -|u|^2 / (2 sigma^2) (split off the kernels), -log p_n(u) and -log nu.
        self.nu = len(self.y) / len(self.x)
        self._offset = (-np.sum(u * u, 1) / (2 * self.sigma**2) - noise_log_prob(u, self.noise_mean, self.noise_std)
                        - math.log(self.nu))

    @property
    def z_free(self) -> bool:
        """Whether :math:`\\log Z` is a parameter."""
        return self.log_z is None

    def pack(self, means, log_z: float | None = None) -> np.ndarray:
        """Parameter vector from means (and :math:`\\log Z` when it is free)."""
        m = _means(means)
        if self.z_free:
            if log_z is None:
                raise ValueError("log_z (a finite number) is required when log Z is a free parameter")
            log_z = check_real(log_z, "log_z", -1e300, 1e300)
            return np.concatenate([m.ravel(), [float(log_z)]])
        if log_z is not None:
            raise ValueError("log_z is fixed for this objective; do not pass one")
        return m.ravel().copy()

    def unpack(self, params):
        """``(means (N, 2), log Z)`` from a parameter vector."""
        p = as_array(params, "params", finite=False)
        if p.ndim != 1:
            raise ValueError(f"params must be a 1-D vector, got shape {p.shape}")
        k = p.size - (1 if self.z_free else 0)
        if k < 2 or k % 2:
            want = "2N + 1 (means, then log Z)" if self.z_free else "2N (the means)"
            raise ValueError(f"params must have {want} entries, got {p.size}")
        if not np.all(np.isfinite(p)):
            raise ValueError("params must be finite, but it contains NaN or infinity")
        means = p[:k].reshape(-1, 2)
        return means, (float(p[k]) if self.z_free else self.log_z)

    def _evaluate(self, params, need_grad: bool):
        means, log_z = self.unpack(params)
        lse, e, s = _kernel_sums(means, self._ut, self.sigma)
        G = lse + self._offset - log_z
        value = -np.sum(np.logaddexp(0.0, -self._sign * G))
        if not need_grad:
            return value, None
        w = self._t - expit(G)  # dJ/dG
        e *= w / s  # (N, n): (t - h) r_i(u)
        grad = (e @ self._u - e.sum(1)[:, None] * (means / self.sigma**2)).ravel()
        if self.z_free:
            grad = np.append(grad, -w.sum())
        return value, grad

    def __call__(self, params):
        """``(J, grad J)`` at ``params`` (J summed over data and noise, to maximise)."""
        return self._evaluate(params, True)

    def value(self, params) -> float:
        """:math:`J` only."""
        return float(self._evaluate(params, False)[0])

    def loss(self, params):
        """``(-J / J_x, -grad / J_x)``: the per-sample loss that :func:`fit_nce` minimises."""
        v, g = self._evaluate(params, True)
        n = len(self.x)
        return -v / n, -g / n

    def loss_value(self, params) -> float:
        """``-J / J_x`` only (for optimisers with numerical gradients)."""
        return -self.value(params) / len(self.x)


@dataclass(frozen=True)
class FitResult:
    """Outcome of :func:`fit_nce`, :func:`fit_ml` or :func:`fit_score_matching`.

    Attributes
    ----------
    means : numpy.ndarray, shape (N, 2)
    z : float
        The estimated :math:`Z` (the fixed value when it is known).
    z_free : bool
    init_means : numpy.ndarray, shape (N, 2)
    init_z : float
        Initial :math:`Z` (the fixed value when it is known).
    objective : float
        The optimised objective: :math:`J` for NCE (maximised), the mean
        log-likelihood for ML (maximised), the score-matching loss (minimised).
    n_iter : int
        BFGS iterations.
    n_eval : int
        Objective evaluations.
    success : bool
        BFGS's own convergence flag.
    message : str
    """

    means: np.ndarray
    z: float
    z_free: bool
    init_means: np.ndarray
    init_z: float
    objective: float
    n_iter: int
    n_eval: int
    success: bool
    message: str


def fit_nce(x, y, init_means, *, init_z: float | None = None, z: float | None = None, sigma: float = SIGMA,
            noise_mean=NOISE_MEAN, noise_std: float = NOISE_STD, gradient: str = "analytic", gtol: float = 1e-6,
            max_iter: int = 1000) -> FitResult:
    r"""Noise-contrastive estimation of the means, with :math:`Z` known or free.

    Maximises :math:`J` of :class:`NCEObjective` with
    :func:`scipy.optimize.minimize` (BFGS) on the per-sample loss
    :math:`-J/J_x` (same maximiser; the scaling makes ``gtol`` independent of the
    sample size).

    * ``init_z is None``: :math:`Z` is known, fixed at ``z`` (default: the true
      :math:`2\pi\sigma^2 N`, HW3-T9).
    * ``init_z`` given: :math:`Z` is free, started at ``init_z`` (HW3-T10). It is
      optimised as :math:`\log Z`: the model depends on :math:`Z` only through
      :math:`-\log Z` in :math:`G`, so :math:`J` is concave in :math:`\log Z` with
      the well-scaled gradient :math:`-\sum(t-h)`, and no step can make :math:`Z`
      negative (a start at :math:`Z\approx 0.5` is a factor 50 from :math:`8\pi`).

    Parameters
    ----------
    x : array_like, shape (J_x, 2)
    y : array_like, shape (J_y, 2)
    init_means : array_like, shape (N, 2)
    init_z : float, optional
    z : float, optional
        Known normaliser; only without ``init_z``.
    sigma : float, default 1
    noise_mean : array_like, shape (2,), default (1, 1)
    noise_std : float, default 2
    gradient : {"analytic", "numerical"}, default "analytic"
        ``"numerical"`` lets BFGS difference the loss (a slow reference).
    gtol : float, default 1e-6
        BFGS tolerance on the gradient of the per-sample loss.
    max_iter : int, default 1000

    Returns
    -------
    FitResult
    """
    m0 = _means(init_means, "init_means")
    sigma = check_positive(sigma, "sigma")
    gradient = check_choice(gradient, "gradient", ("analytic", "numerical"))
    gtol = check_positive(gtol, "gtol")
    max_iter = check_positive_int(max_iter, "max_iter")
    init_z = None if init_z is None else check_positive(init_z, "init_z")
    z = None if z is None else check_positive(z, "z")
    if init_z is not None and z is not None:
        raise ValueError("give z (Z known) or init_z (Z free), not both")
    if init_z is not None:
        obj = NCEObjective(x, y, log_z=None, sigma=sigma, noise_mean=noise_mean, noise_std=noise_std)
        p0 = obj.pack(m0, math.log(init_z))
    else:
        z = math.exp(log_normaliser(len(m0), sigma)) if z is None else check_positive(z, "z")
        obj = NCEObjective(x, y, log_z=math.log(z), sigma=sigma, noise_mean=noise_mean, noise_std=noise_std)
        p0 = obj.pack(m0)
    opts = {"gtol": gtol, "maxiter": max_iter}
    if gradient == "analytic":
        res = minimize(obj.loss, p0, jac=True, method="BFGS", options=opts)
    else:
        res = minimize(obj.loss_value, p0, method="BFGS", options=opts)
    means, log_z = obj.unpack(res.x) if np.all(np.isfinite(res.x)) else (res.x[: m0.size].reshape(-1, 2), np.nan)
    z_hat = math.exp(log_z) if np.isfinite(log_z) else float("nan")
    return FitResult(means=means.copy(), z=z_hat, z_free=obj.z_free, init_means=m0.copy(),
                  init_z=float(init_z if init_z is not None else z), objective=-float(res.fun) * len(obj.x),
                  n_iter=int(res.nit), n_eval=int(res.nfev), success=bool(res.success), message=str(res.message))


def fit_ml(x, init_means, *, sigma: float = SIGMA, gtol: float = 1e-6, max_iter: int = 1000) -> FitResult:
    """Maximum-likelihood means by BFGS on the mean log-likelihood (analytic gradient).

    The efficiency reference for NCE: same data, same initial guess, the exact
    likelihood (which is available for this model).

    Parameters
    ----------
    x : array_like, shape (J, 2)
    init_means : array_like, shape (N, 2)
    sigma : float, default 1
    gtol : float, default 1e-6
    max_iter : int, default 1000

    Returns
    -------
    FitResult
        With ``z`` the (fixed) normaliser and ``objective`` the mean log-likelihood.
    """
    x = as_points(x, "x")
    m0 = _means(init_means, "init_means")
    sigma = check_positive(sigma, "sigma")
    gtol = check_positive(gtol, "gtol")
    max_iter = check_positive_int(max_iter, "max_iter")
    const = log_normaliser(len(m0), sigma)
    xt, n = np.ascontiguousarray(x.T), len(x)
    offset = -np.sum(x * x, 1) / (2 * sigma**2) - const

    def loss(p):
        m = p.reshape(-1, 2)
        lse, e, s = _kernel_sums(m, xt, sigma)
        e /= s  # responsibilities, (N, n)
        g = (e @ x - e.sum(1)[:, None] * m) / (n * sigma**2)
        return -np.mean(lse + offset), -g.ravel()

    res = minimize(loss, m0.ravel(), jac=True, method="BFGS", options={"gtol": gtol, "maxiter": max_iter})
    z = math.exp(const)
    return FitResult(means=res.x.reshape(-1, 2).copy(), z=z, z_free=False, init_means=m0.copy(), init_z=z,
                  objective=-float(res.fun), n_iter=int(res.nit), n_eval=int(res.nfev), success=bool(res.success),
                  message=str(res.message))


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
    """Score-matching estimate of the means: BFGS on :func:`score_matching_loss`.

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


def sweep_draws(J: int, rep: int, seed: int = 0, init_z_range: tuple[float, float] = (0.1, 1.0)):
    """The random draws of one run of :func:`nce_sweep`, reproduced.

    Parameters
    ----------
    J : int
        Sample size.
    rep : int
        Repetition index (from 0).
    seed : int, default 0
    init_z_range : tuple of float, default (0.1, 1)

    Returns
    -------
    x : numpy.ndarray, shape (J, 2)
        Data.
    y : numpy.ndarray, shape (J, 2)
        Noise.
    init_means : numpy.ndarray, shape (4, 2)
    init_z : float
    """
    J = check_positive_int(J, "J")
    if isinstance(rep, bool) or not isinstance(rep, (int, np.integer)) or rep < 0:
        raise ValueError(f"rep must be a non-negative int, got {rep!r}")
    seed = check_seed(seed)
    lo, hi = _z_range(init_z_range)
    rng = np.random.default_rng([int(seed), J, int(rep)])
    x = sample_gmm(TRUE_MEANS, J, rng)
    y = sample_noise(J, rng)
    m0 = init_means(rng)
    return x, y, m0, float(rng.uniform(lo, hi))


def _z_range(init_z_range):
    lo, hi = check_limits(init_z_range, "init_z_range")
    return check_positive(lo, "init_z_range"), check_positive(hi, "init_z_range")


def nce_sweep(js: Sequence[int] = SWEEP_JS, n_reps: int = 50, seed: int = 0, *, ml_reference: bool = True,
              init_z_range: tuple[float, float] = (0.1, 1.0), gradient: str = "analytic") -> dict:
    r"""The HW3-T12 experiment: NCE with known and free :math:`Z` over sample sizes.

    For every :math:`J` and repetition, fresh data :math:`\mathbf x` (:math:`J`
    samples of the true mixture), noise :math:`\mathbf y` (:math:`J` samples) and
    initial means :math:`U([0,3]^2)` are drawn; the known-:math:`Z` fit, the
    free-:math:`Z` fit (with :math:`Z_0\sim U` ``init_z_range``) and, if asked,
    the ML fit (:func:`fit_ml`) all use the *same* draws, so the three are compared
    run by run. The draws of repetition ``r`` at size ``J`` depend only on
    ``(seed, J, r)``; :func:`sweep_draws` reproduces them.

    Parameters
    ----------
    js : sequence of int, default (100, 500, 1000, 2000, 3000, 5000)
    n_reps : int, default 50
    seed : int, default 0
    ml_reference : bool, default True
    init_z_range : tuple of float, default (0.1, 1)
    gradient : {"analytic", "numerical"}, default "analytic"
        Passed to :func:`fit_nce`.

    Returns
    -------
    dict of numpy.ndarray
        With ``K = len(js)``, ``R = n_reps``, for ``v`` in ``("known", "free")``
        (and ``"ml"``): ``{v}_means`` (K, R, N, 2), ``{v}_sqerr`` (K, R, per-run
        :func:`closest_mean_error`, NaN for failures), ``{v}_failed`` (K, R),
        ``{v}_success`` (K, R, BFGS's flag), ``{v}_mse`` (K,, over non-failed
        runs), ``{v}_failures`` (K,); ``free_z`` (K, R), ``z_mse`` (K,, of
        :math:`\hat Z` over non-failed free runs), ``z_rel_rmse`` (K,); ``J``,
        ``init_means``, ``init_z``, ``z_true``; and ``time_nce`` / ``time_ml``
        (seconds spent in the NCE / ML fits).
    """
    check_container(js, "js", (list, tuple, np.ndarray, range), nonempty=False, what="sequence of ints")
    js = np.asarray([check_positive_int(j, "js", 10**7) for j in js], dtype=int)
    if js.size == 0:
        raise ValueError("js must contain at least one sample size")
    n_reps = check_positive_int(n_reps, "n_reps")
    seed = check_seed(seed)
    lo, hi = _z_range(init_z_range)
    gradient = check_choice(gradient, "gradient", ("analytic", "numerical"))
    K, R, N = len(js), n_reps, len(TRUE_MEANS)
    variants = ("known", "free", "ml") if ml_reference else ("known", "free")
    out = {"J": js, "init_means": np.empty((K, R, N, 2)), "init_z": np.empty((K, R)),
           "z_true": math.exp(log_normaliser(N, SIGMA)), "free_z": np.empty((K, R))}
    for v in variants:
        out[f"{v}_means"] = np.empty((K, R, N, 2))
        out[f"{v}_success"] = np.empty((K, R), bool)
    t_nce = t_ml = 0.0
    for a, J in enumerate(js):
        for r in range(R):
            x, y, m0, z0 = sweep_draws(int(J), r, seed, (lo, hi))
            out["init_means"][a, r], out["init_z"][a, r] = m0, z0
            t0 = time.perf_counter()
            fk = fit_nce(x, y, m0, gradient=gradient)
            ff = fit_nce(x, y, m0, init_z=z0, gradient=gradient)
            t_nce += time.perf_counter() - t0
            out["known_means"][a, r], out["known_success"][a, r] = fk.means, fk.success
            out["free_means"][a, r], out["free_success"][a, r] = ff.means, ff.success
            out["free_z"][a, r] = ff.z
            if ml_reference:
                t0 = time.perf_counter()
                fm = fit_ml(x, m0)
                t_ml += time.perf_counter() - t0
                out["ml_means"][a, r], out["ml_success"][a, r] = fm.means, fm.success
    for v in variants:
        sq, failed = closest_mean_error(out[f"{v}_means"])
        out[f"{v}_sqerr"], out[f"{v}_failed"] = sq, failed
        out[f"{v}_failures"] = failed.sum(1)
        with np.errstate(invalid="ignore"):
            out[f"{v}_mse"] = np.array([np.mean(s[~f]) if np.any(~f) else np.nan for s, f in zip(sq, failed,
                                                                                                  strict=True)])
    zerr = np.where(out["free_failed"], np.nan, out["free_z"] - out["z_true"])
    ok = ~out["free_failed"]
    out["z_mse"] = np.array([np.mean(e[o] ** 2) if np.any(o) else np.nan for e, o in zip(zerr, ok, strict=True)])
    out["z_rel_rmse"] = np.sqrt(out["z_mse"]) / out["z_true"]
    out["time_nce"] = t_nce
    out["time_ml"] = t_ml
    return out


#: Most quadrature points of nce_covariance and ml_covariance (a few hundred MB of work arrays).
_MAX_QUADRATURE = 1_000_000


def _quadrature(means, sigma, step, pad):
    """Grid points and weights ``p_d(u) du`` covering the mixture to ``pad`` standard deviations."""
    lo, hi = means.min(0) - pad * sigma, means.max(0) + pad * sigma
    n = np.prod((hi - lo) / step + 1)
    if not n <= _MAX_QUADRATURE:
        raise ValueError(f"the spread of the means, step and pad give a quadrature grid of {n:.4g} points, more "
                         f"than {_MAX_QUADRATURE}: take a larger step or a smaller pad")
    axes = [np.arange(a, b + step / 2, step) for a, b in zip(lo, hi, strict=True)]
    u = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
    return u, np.exp(log_prob(u, means, sigma)) * step * step


def _scores(u, means, sigma, z_free):
    """:math:`\\mathbf g(\\mathbf u) = \nabla_\theta\\log p_m(\\mathbf u;\theta)`, shape (n, 2N [+ 1])."""
    r = responsibilities(u, means, sigma)  # (n, N)
    g = (r[:, :, None] * (u[:, None, :] - means[None]) / sigma**2).reshape(len(u), -1)
    return np.hstack([g, -np.ones((len(u), 1))]) if z_free else g


def nce_covariance(nu: float = 1.0, *, means=TRUE_MEANS, z_free: bool = True, sigma: float = SIGMA,
                   noise_mean=NOISE_MEAN, noise_std: float = NOISE_STD, step: float = 0.05,
                   pad: float = 8.0) -> np.ndarray:
    r"""Asymptotic covariance of the NCE estimate (Gutmann and Hyvärinen 2012, Theorem 3).

    For :math:`J` data and :math:`\nu J` noise samples, :math:`\sqrt J(\hat\theta - \theta^*)
    \to\mathcal N(0, \Sigma)` with

    .. math::

        \Sigma = \mathcal I_\nu^{-1} - \Big(1 + \frac1\nu\Big)\mathcal I_\nu^{-1}
        \mathbf m\,\mathbf m^\top\mathcal I_\nu^{-1},\qquad
        \mathcal I_\nu = \int\mathbf g\mathbf g^\top P_\nu\,p_d,\quad
        \mathbf m = \int\mathbf g\,P_\nu\,p_d,\quad
        P_\nu = \frac{\nu p_n}{p_d + \nu p_n},

    :math:`\mathbf g = \nabla_\theta\log p_m` at the truth. It is a sandwich, not the
    inverse Hessian of the objective: NCE is not a likelihood. The integrals are sums
    over a grid (spacing ``step``, ``pad`` standard deviations around the means).

    Parameters
    ----------
    nu : float, default 1
        Noise samples per data sample, > 0.
    means : array_like, shape (N, 2), default the true means of HW3
    z_free : bool, default True
        Parameters are the means row by row, then :math:`\log Z` when ``True``.
    sigma, noise_mean, noise_std
        The model's width and the noise :math:`\mathcal N(\boldsymbol\mu_n, \sigma_n^2 I)`.
    step, pad : float
        Quadrature grid: spacing and half-width in standard deviations, each in
        [1e-100, 1e100], together at most 1,000,000 grid points.

    Returns
    -------
    numpy.ndarray, shape (2N [+ 1], 2N [+ 1])
        :math:`\Sigma` per data sample: the covariance of the estimate from :math:`J`
        data samples is about :math:`\Sigma/J`.

    Examples
    --------
    >>> S = nce_covariance(1.0)
    >>> S.shape
    (9, 9)
    >>> bool(np.trace(S[:8, :8]) > np.trace(ml_covariance()))  # NCE pays for not knowing Z
    True
    """
    nu = check_positive(nu, "nu")
    m = _means(means)
    sigma = check_positive(sigma, "sigma")
    u, w = _quadrature(m, sigma, check_positive(step, "step"), check_positive(pad, "pad"))
    log_pd = log_prob(u, m, sigma)
    p_nu = expit(math.log(nu) + noise_log_prob(u, noise_mean, noise_std) - log_pd)  # nu p_n / (p_d + nu p_n)
    g = _scores(u, m, sigma, bool(z_free))
    gw = g * (w * p_nu)[:, None]
    info = gw.T @ g
    mvec = gw.sum(0)
    inv = _inverse_information(info)
    a = inv @ mvec
    return inv - (1 + 1 / nu) * np.outer(a, a)


def ml_covariance(*, means=TRUE_MEANS, sigma: float = SIGMA, step: float = 0.05, pad: float = 8.0) -> np.ndarray:
    r"""Asymptotic covariance of the maximum-likelihood means: the inverse Fisher information.

    :math:`F = \int\mathbf g\mathbf g^\top p_d` with :math:`\mathbf g` the score of the
    normalised mixture in its means, by the same quadrature as :func:`nce_covariance`.

    Returns
    -------
    numpy.ndarray, shape (2N, 2N)
        Per data sample (divide by :math:`J`).
    """
    m = _means(means)
    sigma = check_positive(sigma, "sigma")
    u, w = _quadrature(m, sigma, check_positive(step, "step"), check_positive(pad, "pad"))
    g = _scores(u, m, sigma, False)
    return _inverse_information((g * w[:, None]).T @ g)


def _inverse_information(info):
    try:
        inv = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        inv = None
    if inv is None or not np.all(np.isfinite(inv)):
        raise ValueError("means: the information matrix is singular (coincident means are not identifiable)")
    return inv

"""Noise-contrastive estimation (HW3 Part II): objective, fits, the sweep, asymptotic covariances."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from .._checks import (
    as_array,
    as_points,
    check_choice,
    check_container,
    check_limits,
    check_positive,
    check_positive_int,
    check_real,
    check_seed,
)
from ..gmm import _LOG_2PI, _kernel_sums
from ._model import (
    NOISE_MEAN,
    NOISE_STD,
    SIGMA,
    SWEEP_JS,
    TRUE_MEANS,
    _means,
    _rng,
    init_means,
    log_prob,
    responsibilities,
    sample_gmm,
)
from .ml_cd import closest_mean_error

__all__ = [
    "log_normaliser", "noise_log_prob", "sample_noise", "NCEObjective", "FitResult", "fit_nce",
    "fit_ml", "sweep_draws", "nce_sweep", "nce_covariance", "ml_covariance",
]

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
    evaluated with :data:`numpy.logaddexp`, so no :math:`h` is ever rounded to 0 or
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
        """``(-J / J_x, -grad / J_x)``: the per-sample loss that :func:`~probmods.estimation.fit_nce` minimises."""
        v, g = self._evaluate(params, True)
        n = len(self.x)
        return -v / n, -g / n

    def loss_value(self, params) -> float:
        """``-J / J_x`` only (for optimisers with numerical gradients)."""
        return -self.value(params) / len(self.x)


@dataclass(frozen=True)
class FitResult:
    """Outcome of :func:`~probmods.estimation.fit_nce`, :func:`~probmods.estimation.fit_ml` or
    :func:`~probmods.estimation.fit_score_matching`.

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



def sweep_draws(J: int, rep: int, seed: int = 0, init_z_range: tuple[float, float] = (0.1, 1.0)):
    """The random draws of one run of :func:`~probmods.estimation.nce_sweep`, reproduced.

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
    the ML fit (:func:`~probmods.estimation.fit_ml`) all use the *same* draws, so the three are compared
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
        Passed to :func:`~probmods.estimation.fit_nce`.

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
    means : array_like, shape (N, 2), optional
        The means of the model; HW3's true means (``TRUE_MEANS``) by default.
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
    >>> import numpy as np
    >>> from probmods.estimation import ml_covariance, nce_covariance
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
    normalised mixture in its means, by the same quadrature as :func:`~probmods.estimation.nce_covariance`.

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

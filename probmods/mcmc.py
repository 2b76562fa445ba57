r"""Langevin dynamics, MALA and annealed Langevin: one step core, many chains.

The samplers follow the shape of BlackJAX:

* a :class:`Target` (a small NamedTuple) says what can be evaluated at a batch of
  positions: the score, and the log-density with it where there is one;
* a *state* (:class:`SamplerState`) holds the position of every chain together with the
  target's log-density and score there;
* a pure *step* function maps a state and the random numbers it needs to
  ``(state, info)``: :func:`langevin_step` (info :class:`LangevinInfo`) and
  :func:`mala_step` (info :class:`MALAInfo`, with the acceptances);
* a *kernel* (:class:`Kernel`, from :func:`~probmods.mcmc.langevin` or :func:`~probmods.mcmc.mala`) binds a step to a
  target and a step size: ``kernel.init(x0) -> state`` and
  ``kernel.step(state, generator) -> (state, info)``;
* :func:`~probmods.mcmc.sample` runs a kernel for many steps; :func:`annealed_langevin` and
  :func:`~probmods.mcmc.adapt_step_size` are built on the same steps.

The score is evaluated **once per step**: the state carries it to the next step.

Updates, with :math:`\varepsilon` the step size and :math:`\mathbf z\sim\mathcal N(0,I)`:

* unadjusted Langevin (ULA): :math:`\mathbf x' = \mathbf x + \varepsilon\nabla\log
  p(\mathbf x) + \sqrt{2\varepsilon}\,\mathbf z`;
* MALA: the same move is a *proposal*, accepted with probability
  :math:`\min(1, \alpha)`,

  .. math::

      \alpha = \frac{p(\mathbf x')\,q(\mathbf x\mid\mathbf x')}{p(\mathbf x)\,q(\mathbf x'\mid\mathbf x)},\qquad
      q(\mathbf x'\mid\mathbf x) \propto \exp\Big(-\frac{\lVert\mathbf x' - \mathbf x -
      \varepsilon\nabla\log p(\mathbf x)\rVert^2}{4\varepsilon}\Big),

  otherwise the chain stays at :math:`\mathbf x`. Only ratios of :math:`p` enter,
  so an unnormalised density (an energy) suffices.

:func:`target_from` builds a :class:`Target` from an analytic score, a log-density
(score by autograd) or an energy; :func:`gaussian_posterior` turns a prior target
into the posterior given a Gaussian observation :math:`\mathbf y = \mathbf x + \sigma\mathbf n`.
The course writes step sizes as :math:`\sqrt{2\varepsilon}`; :func:`eps_from_noise`
converts.

Examples
--------
>>> import torch
>>> target = target_from(log_prob=lambda x: -(x * x).sum(1) / 2)  # N(0, I) in 2-D
>>> res = sample(torch.zeros(500, 2), mala(target, eps=0.5), 400, generator=0)
>>> bool(abs(res.state.position.var() - 1) < 0.2), bool(0.5 < res.acceptance_rate.mean() < 0.95)
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from ._checks import (
    MAX_ABS,
    as_array,
    as_tensor,
    check_callable,
    check_generator,
    check_instance,
    check_positive,
    check_positive_int,
    check_seed,
)
from .utils import progress_bar, torch_threads

__all__ = [
    "Target",
    "SamplerState",
    "LangevinInfo",
    "MALAInfo",
    "Kernel",
    "ChainResult",
    "eps_from_noise",
    "target_from",
    "gaussian_posterior",
    "init_state",
    "langevin_step",
    "mala_step",
    "langevin",
    "mala",
    "sample",
    "annealed_langevin",
    "uniform_start",
    "StepAdaptation",
    "adapt_step_size",
]


class Target(NamedTuple):
    """What a sampler can evaluate at a batch of positions ``x`` of shape (n, ...): a
    log-density with its score, a score alone, or both.

    Build one with :func:`target_from`, or write one directly.

    Attributes
    ----------
    log_prob_and_score : callable or None
        ``x -> (log_p, score)``: the log-density (n,), up to a constant, and its gradient
        (the shape of ``x``). MALA needs it.
    score : callable or None
        ``x -> score`` alone, where that is cheaper than the pair (an analytic score).
        Unadjusted Langevin uses it when given, and otherwise the pair (whose
        log-density then comes with the state at no extra cost, as for an energy
        network, where autograd computes both).
    """

    log_prob_and_score: Callable | None = None
    score: Callable | None = None


class SamplerState(NamedTuple):
    """Positions of all chains with the target's log-density and gradient there.

    Attributes
    ----------
    position : torch.Tensor, shape (n, ...)
    log_prob : torch.Tensor or None, shape (n,)
        ``None`` when the state came from the score alone: a target with only a score, or
        unadjusted Langevin on a target that has a score (it skips the log-density).
    grad : torch.Tensor, shape (n, ...)
        :math:`\\nabla\\log p` at ``position``.
    """

    position: torch.Tensor
    log_prob: torch.Tensor | None
    grad: torch.Tensor


class LangevinInfo(NamedTuple):
    """What an unadjusted Langevin step reports: nothing (every move is taken)."""


class MALAInfo(NamedTuple):
    """What a MALA step reports, per chain.

    Attributes
    ----------
    accepted : torch.Tensor of bool, shape (n,)
        Whether the chain moved to its proposal.
    log_accept_ratio : torch.Tensor, shape (n,)
        :math:`\\log\\alpha` of the proposal: NaN for a proposal that diverged (not finite, or
        beyond 1e100: the target gives it NaN) or where the target returns NaN, ``-inf`` where
        its log-density is ``-inf``. Such proposals are rejected.
    """

    accepted: torch.Tensor
    log_accept_ratio: torch.Tensor


class Kernel(NamedTuple):
    """A sampler bound to its target and step size (BlackJAX's ``SamplingAlgorithm``).

    Attributes
    ----------
    init : callable
        ``init(x0) -> SamplerState``: evaluates the target at the starting positions.
    step : callable
        ``step(state, generator) -> (state, info)``: draws the step's random numbers
        from ``generator`` (a :class:`torch.Generator`, or ``None`` for the global one)
        and applies the pure step.
    """

    init: Callable
    step: Callable


class ChainResult(NamedTuple):
    """Outcome of :func:`~probmods.mcmc.sample`.

    Attributes
    ----------
    state : SamplerState
        The final state.
    trajectory : torch.Tensor or None, shape (n_saved, n, ...)
        Positions every ``thin`` steps (including the start), if requested.
    acceptance_rate : torch.Tensor or None, shape (n,)
        Per-chain fraction of accepted MALA proposals (``None`` for ULA).
    acceptance_trace : torch.Tensor or None, shape (n_steps,)
        Fraction of chains that accepted at each step (``None`` for ULA).
    accepted : torch.Tensor or None, shape (n_steps, n)
        Whether each chain accepted its proposal at each step (bool; ``None`` for ULA).
    """

    state: SamplerState
    trajectory: torch.Tensor | None
    acceptance_rate: torch.Tensor | None
    acceptance_trace: torch.Tensor | None
    accepted: torch.Tensor | None = None


def eps_from_noise(noise_scale: float) -> float:
    r"""The step size :math:`\varepsilon` for a noise scale :math:`\sqrt{2\varepsilon}`.

    >>> eps_from_noise(10 / 256) == (10 / 256) ** 2 / 2
    True
    """
    s = check_positive(noise_scale, "noise_scale")
    return s * s / 2


def target_from(score: Callable | None = None, log_prob: Callable | None = None,
                energy: Callable | None = None, log_prob_and_score: Callable | None = None) -> Target:
    r"""Build a :class:`Target` for the samplers.

    Give exactly one way to get the gradient:

    * ``score`` (and optionally ``log_prob``, needed by MALA): analytic functions;
    * ``log_prob_and_score``, optionally with ``score``: one function returning
      ``(log_prob, score)``, for targets whose two share most of their work (the
      mixtures of :mod:`probmods.gmm`: MALA then evaluates the mixture once per step);
    * ``log_prob`` alone: its gradient comes from autograd;
    * ``energy``: :math:`\log p = -E` up to a constant, gradient by autograd (for
      energy networks: freeze their parameters with ``requires_grad_(False)`` so
      that autograd does not also differentiate them).

    Each function maps a batch ``x`` of shape ``(n, ...)`` to ``(n,)`` (``log_prob``,
    ``energy``) or to the shape of ``x`` (``score``).

    A chain whose position is not finite, or beyond 1e100 in magnitude, has diverged:
    the target gives it NaN without evaluating the functions there.

    Returns
    -------
    Target

    Examples
    --------
    >>> import torch
    >>> t = target_from(energy=lambda x: (x * x).sum(1) / 2)
    >>> log_p, score = t.log_prob_and_score(torch.tensor([[1.0, 2.0]]))
    >>> log_p.tolist(), score.tolist()
    ([-2.5], [[-1.0, -2.0]])
    """
    if energy is not None and (score is not None or log_prob is not None):
        raise ValueError("give either energy alone, or score and/or log_prob, not energy with them")
    if log_prob_and_score is not None and (log_prob is not None or energy is not None):
        raise ValueError("give log_prob_and_score alone or with score, not with log_prob or energy")
    if log_prob is not None and not callable(log_prob):
        raise TypeError("log_prob must be callable")
    if score is not None and not callable(score):
        raise TypeError("score must be callable")
    if score is not None or log_prob_and_score is not None:
        pair = check_callable(log_prob_and_score, "log_prob_and_score", optional=True)
        if pair is None and log_prob is not None:

            def pair(z):
                return log_prob(z), score(z)

        def score_fn(x):
            with torch.no_grad():
                return _on_finite_rows(lambda z: (None, score(z)), x)[1]

        def both(x):
            with torch.no_grad():
                return _on_finite_rows(pair, x)

        return Target(None if pair is None else both, None if score is None else score_fn)
    fn = log_prob if log_prob is not None else energy
    if fn is None:
        raise ValueError("give one of score, log_prob or energy")
    if not callable(fn):
        raise TypeError("energy must be callable")
    sign = 1.0 if log_prob is not None else -1.0

    def autograd(x):
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            lp = sign * fn(xg)
            (grad,) = torch.autograd.grad(lp.sum(), xg)
        return lp.detach(), grad.detach()

    def both(x):
        return _on_finite_rows(autograd, x)

    return Target(both, None)  # the score alone would cost as much as both


def gaussian_posterior(prior: Target, y, sigma, mask=None) -> Target:
    r"""The posterior target given :math:`\mathbf y = \mathbf x + \sigma\mathbf n`, with noise
    :math:`\mathbf n\sim\mathcal N(0, I)`, observed everywhere or only where ``mask`` is 1.

    .. math::

        \log p(\mathbf x\mid\mathbf y) = \log p(\mathbf x)
        - \frac{\lVert\mathbf y - \mathbf x\rVert^2}{2\sigma^2} + \text{const},\qquad
        \nabla\log p(\mathbf x\mid\mathbf y) = \nabla\log p(\mathbf x) + \frac{\mathbf y - \mathbf x}{\sigma^2}.

    With a mask :math:`M\in\{0,1\}` (inpainting: only the pixels with :math:`M = 1` are
    observed) the likelihood is the product over the observed coordinates alone,
    :math:`-\lVert M\odot(\mathbf y-\mathbf x)\rVert^2/(2\sigma^2)`, and its gradient
    :math:`M\odot(\mathbf y-\mathbf x)/\sigma^2`: the unobserved coordinates follow the
    prior, conditioned on the observed ones through it.

    Parameters
    ----------
    prior : Target
    y : torch.Tensor, shape (n, ...)
        One observation per chain, finite (a NumPy array is converted). Where ``mask`` is 0
        its values are ignored.
    sigma : float or torch.Tensor
        The noise level: a float in [1e-100, 1e100], or a tensor of positive finite levels
        that broadcasts against ``y`` (one per chain: shape (n, 1, ..., 1)).
    mask : torch.Tensor or numpy.ndarray, optional
        Which coordinates are observed: 0s and 1s (bool or float) that broadcast against
        ``y``, e.g. one mask for all chains, shape (1, ...). ``None`` (the default) observes
        every coordinate.

    Returns
    -------
    Target
        With the fields the prior has. Positions must have the shape of ``y``.

    Examples
    --------
    >>> import torch
    >>> post = gaussian_posterior(target_from(energy=lambda x: (x * x).sum(1) / 2), torch.ones(1, 1), 1.0)
    >>> log_p, score = post.log_prob_and_score(torch.zeros(1, 1))
    >>> score.item()  # -x + (y - x) / sigma^2 = 1 at x = 0
    1.0
    """
    _check_target(prior, "prior")
    y = _check_position(y, "y").detach()
    if isinstance(sigma, torch.Tensor) and sigma.ndim > 0:
        sigma = as_tensor(sigma, "sigma", dtype=y.dtype)
        if bool((sigma <= 0).any()):
            raise ValueError("sigma must be > 0")
        try:
            torch.broadcast_shapes(sigma.shape, y.shape)
        except RuntimeError:
            raise ValueError(f"sigma of shape {tuple(sigma.shape)} does not broadcast against y of shape "
                             f"{tuple(y.shape)}") from None
    else:
        sigma = check_positive(sigma, "sigma")
    inv_var = 1.0 / (sigma * sigma)
    if mask is not None:
        inv_var = inv_var * _check_mask(mask, y)

    def residual(x):
        if x.shape != y.shape:
            raise ValueError(f"x must have the shape of y {tuple(y.shape)}, got {tuple(x.shape)}")
        return y - x.to(y.dtype)

    def score(x):
        return prior.score(x) + inv_var * residual(x)

    def both(x):
        r = residual(x)
        lp, grad = prior.log_prob_and_score(x)
        return lp - 0.5 * (inv_var * r * r).flatten(1).sum(1), grad + inv_var * r

    return Target(both if prior.log_prob_and_score is not None else None,
                  score if prior.score is not None else None)


def _check_mask(mask, y):
    """A 0/1 mask (bool, int or float) that broadcasts against ``y``, as a tensor of ``y``'s dtype."""
    mask = as_tensor(mask, "mask", dtype=y.dtype, what="of 0s and 1s that broadcasts against y")
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("mask must hold only 0s and 1s")
    try:
        shape = torch.broadcast_shapes(mask.shape, y.shape)
    except RuntimeError:
        shape = None
    if shape != y.shape:
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to y's shape {tuple(y.shape)}")
    return mask.to(y.device)


def _on_finite_rows(fn, x):
    """``fn(x) -> (log_p or None, grad)`` on the chains whose position is finite and within the
    package's coordinate range (:data:`probmods._checks.MAX_ABS`, 1e100); a chain beyond it has
    diverged (a step too large) and gets NaN, so it stays diverged without the target ever seeing
    it (the targets refuse such input). The usual case, all in range, costs one check."""
    if x.numel() == 0 or bool(x.abs().max() <= MAX_ABS):  # one reduction; NaN propagates to False
        return fn(x)
    ok = (x.abs() <= MAX_ABS).flatten(1).all(1)  # False for NaN and inf too
    lp = torch.full((x.shape[0],), float("nan"), dtype=x.dtype, device=x.device)
    grad = torch.full_like(x, float("nan"))
    if bool(ok.any()):
        lp_ok, grad_ok = fn(x[ok])
        grad[ok] = grad_ok.to(grad.dtype)
        if lp_ok is not None:
            lp[ok] = lp_ok.to(lp.dtype)
        else:
            lp = None
    return lp, grad


def _check_position(x, name="x0"):
    """Chains' positions (n_chains, ...): a finite float tensor; NumPy arrays and integer
    tensors are converted (floats keep their dtype, integers become the default float)."""
    x = as_tensor(x, name, what="(n_chains, ...)")
    if x.ndim < 2:
        raise ValueError(f"{name} must have shape (n_chains, ...) with at least one chain, got {tuple(x.shape)}")
    return x


def _check_target(target, name="target"):
    check_instance(target, name, Target, "a Target (from target_from)")
    if target.log_prob_and_score is None and target.score is None:
        raise ValueError(f"{name} must have log_prob_and_score, score or both")
    for field in target._fields:
        fn = getattr(target, field)
        if fn is not None and not callable(fn):
            raise TypeError(f"{name}.{field} must be callable or None, got {type(fn).__name__}")
    return target


def _ula_eval(target, x):
    """(log_p or None, score) at ``x`` the cheapest way: the score alone when the target has one."""
    if target.score is not None:
        return None, target.score(x)
    return target.log_prob_and_score(x)


def _check_kernel(kernel, name="kernel"):
    return check_instance(kernel, name, Kernel, "a Kernel (from langevin or mala)")


def _check_state(state, name="state"):
    return check_instance(state, name, SamplerState, "a SamplerState (from init_state)")


def _check_draws(value, name, shape, dtype, finite=True):
    """Random draws given by the caller: a tensor (or array) of exactly ``shape``, cast to ``dtype``."""
    v = as_tensor(value, name, dtype=dtype, finite=finite, what=str(tuple(shape)))
    if tuple(v.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(v.shape)}")
    if not finite and bool(torch.isnan(v).any()):
        raise ValueError(f"{name} must not contain NaN")
    return v


def init_state(x0: torch.Tensor, target: Target) -> SamplerState:
    """Evaluate the target at the starting positions.

    Parameters
    ----------
    x0 : torch.Tensor, shape (n_chains, ...)
        Finite; NumPy arrays and integer tensors are converted (floats keep their dtype).
    target : Target
        The log-density is evaluated too when the target has one.

    Returns
    -------
    SamplerState
    """
    x0 = _check_position(x0).detach()
    _check_target(target)
    if target.log_prob_and_score is None:
        lp, grad = None, target.score(x0)
    else:
        lp, grad = target.log_prob_and_score(x0)
    return _checked_state(x0, lp, grad)


def _checked_state(x0, lp, grad):
    if grad.shape != x0.shape:
        raise ValueError(f"the target's gradient has shape {tuple(grad.shape)}, expected {tuple(x0.shape)} "
                         "(the shape of x0)")
    if lp is not None and lp.shape != (x0.shape[0],):
        raise ValueError(
            f"the target's log-density must have shape (n_chains,) = ({x0.shape[0]},), got {tuple(lp.shape)}: "
            f"x0 of shape {tuple(x0.shape)} holds {x0.shape[0]} chains"
        )
    return SamplerState(x0, lp, grad)


def langevin_step(state: SamplerState, target: Target, eps: float,
                  noise: torch.Tensor) -> tuple[SamplerState, LangevinInfo]:
    r"""One unadjusted Langevin step :math:`\mathbf x + \varepsilon\nabla\log p + \sqrt{2\varepsilon}\mathbf z`.

    Parameters
    ----------
    state : SamplerState
    target : Target
        Its score alone when it has one (the new state's ``log_prob`` is then ``None``),
        otherwise its log-density and score.
    eps : float
        Step size :math:`\varepsilon`, in [1e-100, 1e100].
    noise : torch.Tensor
        Standard normal draws, finite, shape of ``state.position`` (cast to its dtype).

    Returns
    -------
    state : SamplerState
        The new positions with the score evaluated there (one call).
    info : LangevinInfo
    """
    state = _check_state(state)
    _check_target(target)
    eps = check_positive(eps, "eps")
    x = state.position
    noise = _check_draws(noise, "noise", x.shape, x.dtype)
    return _langevin_step(state, target, eps, noise)


_LANGEVIN_INFO = LangevinInfo()


def _langevin_step(state, target, eps, noise):
    """:func:`langevin_step` without the checks (the samplers' inner loop)."""
    x = state.position + eps * state.grad + math.sqrt(2 * eps) * noise
    return SamplerState(x, *_ula_eval(target, x)), _LANGEVIN_INFO


def _log_q(x_to, x_from, grad_from, eps):
    """log q(x_to | x_from) up to a constant: -|x_to - x_from - eps grad|^2 / (4 eps), summed per chain."""
    d = x_to - x_from - eps * grad_from
    return -(d * d).flatten(1).sum(1) / (4 * eps)


def mala_step(state: SamplerState, target: Target, eps: float, noise: torch.Tensor,
              log_uniform: torch.Tensor) -> tuple[SamplerState, MALAInfo]:
    """One MALA step: a Langevin proposal, accepted by the Metropolis-Hastings rule.

    Parameters
    ----------
    state : SamplerState
        Must carry ``log_prob`` (from a target with a log-density).
    target : Target
        With ``log_prob_and_score``.
    eps : float
        Step size, in [1e-100, 1e100].
    noise : torch.Tensor
        Standard normal draws, finite, shape of ``state.position`` (cast to its dtype).
    log_uniform : torch.Tensor, shape (n_chains,)
        Logarithms of U(0, 1) draws (``-inf`` allowed, NaN not).

    Returns
    -------
    state : SamplerState
    info : MALAInfo
    """
    state = _check_state(state)
    _check_target(target)
    eps = check_positive(eps, "eps")
    x = state.position
    noise = _check_draws(noise, "noise", x.shape, x.dtype)
    log_uniform = _check_draws(log_uniform, "log_uniform", x.shape[:1], x.dtype, finite=False)
    return _mala_step(state, target, eps, noise, log_uniform)


def _needs_log_prob(target, state=None):
    if target.log_prob_and_score is None or (state is not None and state.log_prob is None):
        raise ValueError("MALA needs the target's log-density: build the target with log_prob or energy")


def _mala_step(state, target, eps, noise, log_uniform):
    """:func:`mala_step` without the checks (the samplers' inner loop)."""
    _needs_log_prob(target, state)
    x, g = state.position, state.grad
    y = x + eps * g + math.sqrt(2 * eps) * noise
    lp_y, g_y = target.log_prob_and_score(y)
    log_alpha = lp_y - state.log_prob + _log_q(x, y, g_y, eps) - _log_q(y, x, g, eps)
    accept = log_uniform < log_alpha  # NaN proposals (log_alpha = nan) are rejected
    shape = (-1,) + (1,) * (x.ndim - 1)
    a = accept.view(shape)
    new = SamplerState(torch.where(a, y, x), torch.where(accept, lp_y, state.log_prob), torch.where(a, g_y, g))
    return new, MALAInfo(accept, log_alpha)


def langevin(target: Target, eps: float) -> Kernel:
    """The unadjusted Langevin kernel for ``target`` at step size ``eps``.

    Parameters
    ----------
    target : Target
    eps : float
        :math:`\\varepsilon`, in [1e-100, 1e100] (see :func:`eps_from_noise`).

    Returns
    -------
    Kernel
        ``step(state, generator)`` draws :math:`\\mathbf z\\sim\\mathcal N(0, I)` and
        applies :func:`langevin_step`.

    Examples
    --------
    >>> import torch
    >>> kernel = langevin(target_from(score=lambda x: -x), eps=0.01)
    >>> state = kernel.init(torch.zeros(4, 2))
    >>> state, info = kernel.step(state, torch.Generator().manual_seed(0))
    >>> state.position.shape, info
    (torch.Size([4, 2]), LangevinInfo())
    """
    _check_target(target)
    eps = check_positive(eps, "eps")

    def init(x0):
        x0 = _check_position(x0).detach()
        return _checked_state(x0, *_ula_eval(target, x0))

    def step(state, generator=None):
        x = state.position
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        return _langevin_step(state, target, eps, noise)

    return Kernel(init, step)


def mala(target: Target, eps: float) -> Kernel:
    """The MALA kernel (Langevin proposal, Metropolis-Hastings acceptance) for ``target`` at step size ``eps``.

    Parameters
    ----------
    target : Target
        With a log-density (``log_prob_and_score``).
    eps : float
        :math:`\\varepsilon`, in [1e-100, 1e100] (see :func:`eps_from_noise`).

    Returns
    -------
    Kernel
        ``step(state, generator)`` draws the proposal noise and one uniform per chain
        and applies :func:`mala_step`.

    Examples
    --------
    >>> import torch
    >>> kernel = mala(target_from(log_prob=lambda x: -(x * x).sum(1) / 2), eps=0.5)
    >>> state, info = kernel.step(kernel.init(torch.zeros(3, 2)), torch.Generator().manual_seed(0))
    >>> info.accepted.dtype, info.log_accept_ratio.shape
    (torch.bool, torch.Size([3]))
    """
    _check_target(target)
    _needs_log_prob(target)
    eps = check_positive(eps, "eps")

    def init(x0):
        return init_state(x0, target)

    def step(state, generator=None):
        x = state.position
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        u = torch.rand(x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
        return _mala_step(state, target, eps, noise, torch.log(u))

    return Kernel(init, step)


def sample(x0: torch.Tensor, kernel: Kernel, n_steps: int, thin: int | None = None,
           generator: torch.Generator | None = None, progress: bool = False,
           callback: Callable | None = None) -> ChainResult:
    """Run many chains of a kernel (:func:`~probmods.mcmc.langevin` or :func:`~probmods.mcmc.mala`).

    Parameters
    ----------
    x0 : torch.Tensor, shape (n_chains, ...)
        Starting positions, finite (a NumPy array is converted; floats keep their dtype).
    kernel : Kernel
    n_steps : int
        Number of steps :math:`K`.
    thin : int, optional
        Record the positions every ``thin`` steps (and at the start) in
        ``trajectory``; nothing is recorded by default.
    generator : torch.Generator or int, optional
        Source of the noise (an int seeds a new generator); the global generator by default.
    progress : bool, default False
        Show a tqdm progress bar (only on a terminal).
    callback : callable, optional
        Called as ``callback(step, state, info)`` after every step.

    Returns
    -------
    ChainResult
        The acceptance fields are filled when the kernel reports acceptances (MALA).

    Notes
    -----
    Small problems (at most 65,536 numbers in the chains' state, e.g. a few
    thousand 2-D chains) run on one intra-op thread, restored afterwards: their
    kernels are so short that handing them to other threads costs more than it
    saves, by an order of magnitude on a loaded machine.

    Examples
    --------
    >>> import torch
    >>> target = target_from(score=lambda x: -x)  # N(0, I)
    >>> res = sample(torch.zeros(2000, 1), langevin(target, 0.05), 300, thin=100, generator=0)
    >>> res.trajectory.shape, round(res.state.position.var().item(), 1)
    (torch.Size([4, 2000, 1]), 1.0)
    """
    _check_kernel(kernel)
    n_steps = check_positive_int(n_steps, "n_steps")
    if thin is not None:
        thin = check_positive_int(thin, "thin")
    generator = check_generator(generator)
    check_callable(callback, "callback", optional=True)
    x = _check_position(x0)
    # tiny kernels: thread hand-offs cost more than they save
    with torch_threads(1 if x.numel() <= _SMALL else None):
        state = kernel.init(x)
        return _run(state, kernel.step, n_steps, thin, generator, progress, callback)


_SMALL = 65_536  # elements of the chains' state below which sampling runs on one intra-op thread


def _run(state, step, n_steps, thin, generator, progress, callback):
    x = state.position
    traj = None
    if thin is not None:
        traj = torch.empty((n_steps // thin + 1, *x.shape), dtype=x.dtype, device=x.device)
        traj[0] = x
    acc = None
    for k in progress_bar(range(n_steps), progress, unit=" step"):
        state, info = step(state, generator)
        if k == 0 and hasattr(info, "accepted"):
            acc = torch.empty((n_steps, x.shape[0]), dtype=torch.bool, device=x.device)
        if acc is not None:
            acc[k] = info.accepted
        if traj is not None and (k + 1) % thin == 0:
            traj[(k + 1) // thin] = state.position
        if callback is not None:
            callback(k, state, info)
    if acc is None:
        return ChainResult(state, traj, None, None, None)
    return ChainResult(state, traj, acc.to(x.dtype).mean(0), acc.to(x.dtype).mean(1), acc)


def annealed_langevin(score: Callable, init: torch.Tensor, sigmas, epsilon: float, T: int,
                      generator: torch.Generator | None = None, progress: bool = False):
    r"""Annealed Langevin dynamics (the course's algorithm).

    For each level :math:`i = 1..L` (``sigmas`` decreasing), run :math:`T`
    unadjusted Langevin steps on :math:`\log q_{\sigma_i}` with step size
    :math:`\varepsilon_i = \varepsilon\,\sigma_i^2/\sigma_L^2`, starting from the
    previous level's output.

    Parameters
    ----------
    score : callable
        ``score(x, sigma) -> (n, d)``, the score of the data perturbed at level sigma.
    init : torch.Tensor, shape (n, d)
    sigmas : sequence of float, shape (L,)
        Strictly decreasing, positive.
    epsilon : float
        Step size at the last level.
    T : int
        Steps per level.
    generator : torch.Generator, optional
    progress : bool, default False

    Returns
    -------
    list of torch.Tensor, length L
        The samples after every level; the last element is the final output.
    """
    check_callable(score, "score")
    sig = torch.as_tensor(as_array(sigmas, "sigmas", finite=False)).flatten()
    if sig.numel() == 0:
        raise ValueError("sigmas must contain at least one noise level")
    if not bool(torch.isfinite(sig).all()) or bool((sig <= 0).any()):
        raise ValueError("sigmas must be finite and > 0")
    if sig.numel() > 1 and not bool((sig[1:] < sig[:-1]).all()):
        raise ValueError("sigmas must be strictly decreasing (largest noise level first)")
    epsilon = check_positive(epsilon, "epsilon")
    T = check_positive_int(T, "T")
    x = _check_position(init, "init").detach()
    generator = check_generator(generator)
    out = []
    for s in sig.tolist():
        eps_i = epsilon * s**2 / float(sig[-1]) ** 2
        target = target_from(score=lambda v, s=s: score(v, s))
        res = sample(x, langevin(target, eps_i), T, generator=generator, progress=progress)
        x = res.state.position
        out.append(x.clone())
    return out


def uniform_start(n: int, box: float, dim: int = 2, seed: int = 0):
    """Starting points uniform in ``[-box, box]^dim`` and the generator that drew them.

    The course starts its samplers this way (e.g. ``n = 1280`` in
    :math:`[-8, 8]^2`); returning the seeded generator lets the sampler continue
    the same random stream, so a page that reruns a sampler gets identical chains.

    Returns
    -------
    init : torch.Tensor, shape (n, dim)
    generator : torch.Generator
    """
    n = check_positive_int(n, "n")
    box = check_positive(box, "box")
    generator = torch.Generator().manual_seed(check_seed(seed))
    return torch.rand(n, check_positive_int(dim, "dim"), generator=generator) * (2 * box) - box, generator


class StepAdaptation(NamedTuple):
    r"""Outcome of :func:`~probmods.mcmc.adapt_step_size`.

    Attributes
    ----------
    eps : float
        The frozen step size :math:`\varepsilon` to sample with.
    state : SamplerState
        The chains at the end of the warm-up (continue from ``state.position``).
    eps_trace : torch.Tensor, shape (n_warmup,)
        The step size used at each warm-up step (float64).
    acceptance_trace : torch.Tensor, shape (n_warmup,)
        Fraction of chains that accepted at each warm-up step (float64).
    """

    eps: float
    state: SamplerState
    eps_trace: torch.Tensor
    acceptance_trace: torch.Tensor


def adapt_step_size(x0: torch.Tensor, target: Target, eps0: float, n_warmup: int,
                    target_accept: float = 0.574, gain: float = 1.0, decay: float = 0.6,
                    generator: torch.Generator | None = None) -> StepAdaptation:
    r"""Tune MALA's step size during a warm-up towards an acceptance rate, then freeze it.

    A Robbins-Monro recursion on :math:`\log\varepsilon`, shared by all chains:

    .. math::

        \log\varepsilon_{k+1} = \log\varepsilon_k + \gamma_k\,(\bar a_k - a^*),
        \qquad \gamma_k = \frac{\text{gain}}{(k+1)^{\text{decay}}},

    where :math:`\bar a_k` is the fraction of chains that accepted at warm-up step
    :math:`k` and :math:`a^*` the target: too many acceptances lengthen the step,
    too few shorten it, by steps that shrink (:math:`\sum\gamma_k = \infty`,
    :math:`\sum\gamma_k^2 < \infty` for :math:`1/2 < \text{decay} \le 1`). The
    frozen step is :math:`\exp` of the mean of :math:`\log\varepsilon_k` over the
    second half of the warm-up (an average smooths the last iterates' noise).
    Adapting changes the chain at every step, so the warm-up draws are not draws of
    a fixed Markov chain: discard them and sample with the frozen step, e.g.
    ``sample(res.state.position, mala(target, res.eps), n)``.

    The default :math:`a^* = 0.574` is the acceptance rate that maximises the
    efficiency of MALA as the dimension grows, for product targets (Roberts and
    Rosenthal, 1998, *J. R. Statist. Soc. B* 60(1), 255-268); in low dimension it is
    a rule of thumb.

    Parameters
    ----------
    x0 : torch.Tensor, shape (n_chains, ...)
        Starting positions.
    target : Target
        With a log-density.
    eps0 : float
        Initial step size.
    n_warmup : int
        Warm-up steps (one target evaluation each, plus one at the start).
    target_accept : float, default 0.574
        In (0, 1).
    gain, decay : float, default 1.0 and 0.6
        The gains :math:`\gamma_k`; ``decay`` in (0.5, 1].
    generator : torch.Generator or int, optional
        Source of the noise (an int seeds a new generator); the global one by default.

    Returns
    -------
    StepAdaptation

    Examples
    --------
    >>> import torch
    >>> target = target_from(log_prob=lambda x: -(x * x).sum(1) / 2)  # N(0, I) in 2-D
    >>> g = torch.Generator().manual_seed(0)
    >>> res = adapt_step_size(torch.zeros(200, 2), target, 0.01, 500, generator=g)
    >>> 0.5 < res.acceptance_trace[-100:].mean().item() < 0.65
    True
    """
    eps = check_positive(eps0, "eps0")
    n_warmup = check_positive_int(n_warmup, "n_warmup")
    target_accept = check_positive(target_accept, "target_accept")
    if not target_accept < 1:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept!r}")
    gain = check_positive(gain, "gain")
    decay = check_positive(decay, "decay")
    if not 0.5 < decay <= 1:
        raise ValueError(f"decay must be in (0.5, 1], got {decay!r}")
    _check_target(target)
    _needs_log_prob(target)
    generator = check_generator(generator)
    state = init_state(x0, target)
    x = state.position
    log_eps = math.log(eps)
    eps_trace = torch.empty(n_warmup, dtype=torch.float64)
    acc_trace = torch.empty(n_warmup, dtype=torch.float64)
    with torch_threads(1 if x.numel() <= _SMALL else None):
        for k in range(n_warmup):
            noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
            u = torch.rand(x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
            eps_trace[k] = math.exp(log_eps)
            state, info = _mala_step(state, target, float(eps_trace[k]), noise, torch.log(u))
            acc_trace[k] = info.accepted.double().mean()
            log_eps += gain / (k + 1) ** decay * (float(acc_trace[k]) - target_accept)
    frozen = float(torch.log(eps_trace[n_warmup // 2:]).mean().exp())
    return StepAdaptation(frozen, state, eps_trace, acc_trace)

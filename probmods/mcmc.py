r"""Langevin dynamics, MALA and annealed Langevin: one step core, many chains.

The samplers follow the style of BlackJAX: a *state* holds the position of every
chain together with the target's log-density and gradient there, a pure *step*
function maps a state (and the random numbers it needs) to the next state, and a
loop (:func:`sample`) calls the step. Unadjusted Langevin, MALA and annealed
Langevin share that core, and the gradient of the target is evaluated **once per
step**: the state carries it to the next step.

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

A *target* is a function ``x -> (log_p, grad)`` built by :func:`target_from`
from an analytic score, a log-density (gradient by autograd) or an energy.
The course writes step sizes as :math:`\sqrt{2\varepsilon}`; :func:`eps_from_noise`
converts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from ._checks import check_positive, check_positive_int
from .utils import progress_bar

__all__ = [
    "SamplerState",
    "ChainResult",
    "eps_from_noise",
    "target_from",
    "init_state",
    "langevin_step",
    "mala_step",
    "sample",
    "annealed_langevin",
    "uniform_start",
]


class SamplerState(NamedTuple):
    """Positions of all chains with the target's log-density and gradient there.

    Attributes
    ----------
    position : torch.Tensor, shape (n, ...)
    log_prob : torch.Tensor or None, shape (n,)
        ``None`` when the target provides only a score (enough for ULA).
    grad : torch.Tensor, shape (n, ...)
        :math:`\\nabla\\log p` at ``position``.
    """

    position: torch.Tensor
    log_prob: torch.Tensor | None
    grad: torch.Tensor


class ChainResult(NamedTuple):
    """Outcome of :func:`sample`.

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
                energy: Callable | None = None) -> Callable:
    """Build a target ``x -> (log_p, grad)`` for the samplers.

    Give exactly one way to get the gradient:

    * ``score`` (and optionally ``log_prob``, needed by MALA): analytic functions;
    * ``log_prob`` alone: its gradient comes from autograd;
    * ``energy``: :math:`\\log p = -E` up to a constant, gradient by autograd (for
      energy networks: freeze their parameters with ``requires_grad_(False)`` so
      that autograd does not also differentiate them).

    Each function maps a batch ``x`` of shape ``(n, ...)`` to ``(n,)`` (``log_prob``,
    ``energy``) or to the shape of ``x`` (``score``).

    Returns
    -------
    callable
        ``x -> (log_p or None, grad)``. Targets built from a score also carry
        ``target.score_only``, ``x -> (None, grad)``, which :func:`langevin_step`
        uses: unadjusted Langevin never needs the log-density.
    """
    if energy is not None and (score is not None or log_prob is not None):
        raise ValueError("give either energy alone, or score and/or log_prob, not energy with them")
    if log_prob is not None and not callable(log_prob):
        raise TypeError("log_prob must be callable")
    if score is not None:
        if not callable(score):
            raise TypeError("score must be callable")

        def target(x):
            with torch.no_grad():
                grad = score(x)
                lp = log_prob(x) if log_prob is not None else None
            return lp, grad

        def score_only(x):
            with torch.no_grad():
                return None, score(x)

        target.score_only = score_only  # what unadjusted Langevin needs
        return target
    fn = log_prob if log_prob is not None else energy
    if fn is None:
        raise ValueError("give one of score, log_prob or energy")
    if not callable(fn):
        raise TypeError("energy must be callable")
    sign = 1.0 if log_prob is not None else -1.0

    def target(x):
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            lp = sign * fn(xg)
            (grad,) = torch.autograd.grad(lp.sum(), xg)
        return lp.detach(), grad.detach()

    return target


def _check_position(x, name="x0"):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (n_chains, ...), got {type(x).__name__}")
    if x.ndim < 2 or x.shape[0] < 1:
        raise ValueError(f"{name} must have shape (n_chains, ...) with at least one chain, got {tuple(x.shape)}")
    if not torch.is_floating_point(x):
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must be finite, but it contains NaN or infinity")
    return x


def init_state(x0: torch.Tensor, target: Callable) -> SamplerState:
    """Evaluate the target at the starting positions.

    Parameters
    ----------
    x0 : torch.Tensor, shape (n_chains, ...)
    target : callable
        From :func:`target_from`.

    Returns
    -------
    SamplerState
    """
    x0 = _check_position(x0).detach()
    lp, grad = target(x0)
    if grad.shape != x0.shape:
        raise ValueError(f"the target's gradient has shape {tuple(grad.shape)}, expected {tuple(x0.shape)}")
    if lp is not None and lp.shape != (x0.shape[0],):
        raise ValueError(
            f"the target's log-density must have shape (n_chains,) = ({x0.shape[0]},), got {tuple(lp.shape)}"
        )
    return SamplerState(x0, lp, grad)


def langevin_step(state: SamplerState, target: Callable, eps: float, noise: torch.Tensor) -> SamplerState:
    r"""One unadjusted Langevin step :math:`\mathbf x + \varepsilon\nabla\log p + \sqrt{2\varepsilon}\mathbf z`.

    Parameters
    ----------
    state : SamplerState
    target : callable
    eps : float
        Step size :math:`\varepsilon`.
    noise : torch.Tensor
        Standard normal draws, shape of ``state.position``.

    Returns
    -------
    SamplerState
        The new positions with the target evaluated there (one target call).
    """
    x = state.position + eps * state.grad + math.sqrt(2 * eps) * noise
    lp, grad = getattr(target, "score_only", target)(x)
    return SamplerState(x, lp, grad)


def _log_q(x_to, x_from, grad_from, eps):
    """log q(x_to | x_from) up to a constant: -|x_to - x_from - eps grad|^2 / (4 eps), summed per chain."""
    d = x_to - x_from - eps * grad_from
    return -(d * d).flatten(1).sum(1) / (4 * eps)


def mala_step(state: SamplerState, target: Callable, eps: float, noise: torch.Tensor, log_uniform: torch.Tensor):
    """One MALA step: a Langevin proposal, accepted by the Metropolis-Hastings rule.

    Parameters
    ----------
    state : SamplerState
        Must carry ``log_prob`` (the target needs a log-density or an energy).
    target : callable
    eps : float
    noise : torch.Tensor
        Standard normal draws, shape of ``state.position``.
    log_uniform : torch.Tensor, shape (n_chains,)
        Logarithms of U(0, 1) draws.

    Returns
    -------
    state : SamplerState
    accepted : torch.Tensor of bool, shape (n_chains,)
    """
    if state.log_prob is None:
        raise ValueError("MALA needs the target's log-density: build the target with log_prob or energy")
    x, g = state.position, state.grad
    y = x + eps * g + math.sqrt(2 * eps) * noise
    lp_y, g_y = target(y)
    log_alpha = lp_y - state.log_prob + _log_q(x, y, g_y, eps) - _log_q(y, x, g, eps)
    accept = log_uniform < log_alpha  # NaN proposals (log_alpha = nan) are rejected
    shape = (-1,) + (1,) * (x.ndim - 1)
    a = accept.view(shape)
    new = SamplerState(torch.where(a, y, x), torch.where(accept, lp_y, state.log_prob), torch.where(a, g_y, g))
    return new, accept


def sample(x0: torch.Tensor, target: Callable, eps: float, n_steps: int, method: str = "langevin",
           thin: int | None = None, generator: torch.Generator | None = None, progress: bool = False,
           callback: Callable | None = None) -> ChainResult:
    """Run many chains of unadjusted Langevin or MALA.

    Parameters
    ----------
    x0 : torch.Tensor, shape (n_chains, ...)
        Starting positions.
    target : callable
        ``x -> (log_p, grad)`` from :func:`target_from`.
    eps : float
        Step size :math:`\\varepsilon` (see :func:`eps_from_noise`).
    n_steps : int
        Number of steps :math:`K`.
    method : {"langevin", "mala"}
    thin : int, optional
        Record the positions every ``thin`` steps (and at the start) in
        ``trajectory``; nothing is recorded by default.
    generator : torch.Generator, optional
        Source of the noise; the global generator by default.
    progress : bool, default False
        Show a tqdm progress bar.
    callback : callable, optional
        Called as ``callback(step, state)`` after every step.

    Returns
    -------
    ChainResult

    Notes
    -----
    Small problems (at most 65,536 numbers in the chains' state, e.g. a few
    thousand 2-D chains) run on one intra-op thread, restored afterwards: their
    kernels are so short that handing them to other threads costs more than it
    saves, by an order of magnitude on a loaded machine.
    """
    eps = check_positive(eps, "eps")
    n_steps = check_positive_int(n_steps, "n_steps")
    if method not in ("langevin", "mala"):
        raise ValueError(f"unknown method {method!r}; expected 'langevin' or 'mala'")
    if thin is not None:
        thin = check_positive_int(thin, "thin")
    state = init_state(x0, target)
    x = state.position
    traj = None
    if thin is not None:
        traj = torch.empty((n_steps // thin + 1, *x.shape), dtype=x.dtype, device=x.device)
        traj[0] = x
    acc = torch.empty((n_steps, x.shape[0]), dtype=torch.bool, device=x.device) if method == "mala" else None
    threads = torch.get_num_threads()
    if x.numel() <= _SMALL:  # tiny kernels: thread hand-offs cost more than they save
        torch.set_num_threads(1)
    try:
        return _run(state, target, eps, n_steps, method, thin, generator, progress, callback, traj, acc)
    finally:
        torch.set_num_threads(threads)


_SMALL = 65_536  # elements of the chains' state below which sampling runs on one intra-op thread


def _run(state, target, eps, n_steps, method, thin, generator, progress, callback, traj, acc):
    x = state.position
    for k in progress_bar(range(n_steps), progress, unit=" step"):
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        if method == "langevin":
            state = langevin_step(state, target, eps, noise)
        else:
            u = torch.rand(x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
            state, acc[k] = mala_step(state, target, eps, noise, torch.log(u))
        if traj is not None and (k + 1) % thin == 0:
            traj[(k + 1) // thin] = state.position
        if callback is not None:
            callback(k, state)
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
    try:
        sig = torch.as_tensor(np.asarray(sigmas, dtype=np.float64)).flatten()
    except (TypeError, ValueError):
        raise TypeError(f"sigmas must be a sequence of numbers, got {sigmas!r}") from None
    if sig.numel() == 0:
        raise ValueError("sigmas must contain at least one noise level")
    if not bool(torch.isfinite(sig).all()) or bool((sig <= 0).any()):
        raise ValueError("sigmas must be finite and > 0")
    if sig.numel() > 1 and not bool((sig[1:] < sig[:-1]).all()):
        raise ValueError("sigmas must be strictly decreasing (largest noise level first)")
    epsilon = check_positive(epsilon, "epsilon")
    T = check_positive_int(T, "T")
    x = _check_position(init, "init").detach()
    out = []
    for s in sig.tolist():
        eps_i = epsilon * s**2 / float(sig[-1]) ** 2
        target = target_from(score=lambda v, s=s: score(v, s))
        res = sample(x, target, eps_i, T, generator=generator, progress=progress)
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
    generator = torch.Generator().manual_seed(int(seed))
    return torch.rand(n, check_positive_int(dim, "dim"), generator=generator) * (2 * box) - box, generator

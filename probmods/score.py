r"""Score matching: sliced and annealed sliced objectives, the course's networks and loops (HW4).

The Fisher divergence between a model score :math:`s_\theta` and the data score
equals, up to a constant (integration by parts),

.. math::

    J(\theta) = \mathbb E_{p(\mathbf x)}\Big[\operatorname{tr}\nabla_{\mathbf x}
    s_\theta(\mathbf x) + \tfrac12\lVert s_\theta(\mathbf x)\rVert^2\Big],

and sliced score matching replaces the trace by
:math:`\mathbb E_{\mathbf v}[\mathbf v^\top\nabla_{\mathbf x}s_\theta(\mathbf x)\mathbf v]`
with :math:`\mathbb E[\mathbf v\mathbf v^\top] = I`, computed by one extra backward
pass through :math:`\mathbf v^\top s_\theta`. The noise-conditional version trains
one network for all noise levels with weights :math:`\lambda(\sigma) = \sigma^2`.
:func:`hutchinson_trace` exposes the trace estimate (Gaussian or Rademacher slicing
vectors) and :func:`tweedie_denoise` the final denoising step of annealed sampling.
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ._cache import memoize
from ._checks import (
    as_tensor,
    check_callable,
    check_choice,
    check_generator,
    check_instance,
    check_positive,
    check_positive_int,
    check_seed,
    module_dtype,
)
from .gmm import GMMDist
from .utils import progress_bar

__all__ = [
    "make_score_net",
    "CondScoreNet",
    "sliced_score_matching",
    "annealed_sliced_score_matching",
    "exact_score_matching",
    "hutchinson_trace",
    "tweedie_denoise",
    "train",
    "train_annealed",
    "fit_score_net",
    "ScoreFit",
]


def make_score_net() -> nn.Sequential:
    """The handout's score model: a 2-128-128-2 MLP with Softplus activations."""
    return nn.Sequential(nn.Linear(2, 128), nn.Softplus(), nn.Linear(128, 128), nn.Softplus(), nn.Linear(128, 2))


class CondScoreNet(nn.Module):
    r"""Noise-conditional score model :math:`s_\theta(\mathbf x, \sigma) = f_\theta(\mathbf x, \sigma)/\sigma`.

    :math:`f_\theta` is a 3-128-128-2 Softplus MLP that sees the point and the noise
    level; dividing by :math:`\sigma` gives the output the scale of the true score
    of data perturbed at level :math:`\sigma` (which is of order :math:`1/\sigma`).
    """

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 128), nn.Softplus(), nn.Linear(128, 128), nn.Softplus(),
                                 nn.Linear(128, 2))

    def forward(self, x: torch.Tensor, sigmas) -> torch.Tensor:
        """Scores at ``x`` (shape ``(B, 2)``) for noise levels ``sigmas`` (float or ``(B, 1)``).

        ``x`` is cast to the network's dtype (NumPy arrays and float64 tensors are accepted);
        every noise level is finite and in [1e-100, 1e100].
        """
        x = as_tensor(x, "x", trailing=(2,), dtype=module_dtype(self), what="(B, 2)")
        if isinstance(sigmas, torch.Tensor) and sigmas.ndim > 0 or isinstance(sigmas, (np.ndarray, list, tuple)):
            s = as_tensor(sigmas, "sigmas", dtype=x.dtype, what="(B, 1)").to(x.device)
            if s.numel() != x.shape[0]:
                raise ValueError(f"sigmas must hold one noise level per sample ({x.shape[0]}), got shape "
                                 f"{tuple(s.shape)}")
            if not bool((s > 0).all()):
                raise ValueError("sigmas must be > 0")
        else:
            s = torch.as_tensor(check_positive(sigmas, "sigmas"), dtype=x.dtype, device=x.device)
        if s.ndim == 0:
            s = s.expand(x.shape[0], 1)
        s = s.reshape(x.shape[0], 1)
        return self.net(torch.cat([x, s], dim=1)) / s


@contextlib.contextmanager
def _fits(net_name, x_name, x):
    """Turn a network's shape error on the caller's batch into a ValueError that names both."""
    try:
        yield
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"{net_name} cannot evaluate {x_name} of shape {tuple(x.shape)}: {exc}") from exc


def _check_samples(samples, name, net=None):
    """A (B, d) batch in the network's dtype (float64 or integer input is cast to it)."""
    return as_tensor(samples, name, ndim=2, dtype=module_dtype(net), what="(B, d)")


_V_DISTS = ("gaussian", "rademacher")


def _slicing_vectors(shape, v_dist, generator, like):
    """Slicing vectors with E[v v^T] = I: standard normal, or independent random signs."""
    if v_dist == "gaussian":
        return torch.randn(shape, generator=generator, dtype=like.dtype, device=like.device)
    signs = torch.randint(0, 2, shape, generator=generator, device=like.device)
    return (2 * signs - 1).to(like.dtype)


def _sliced_parts(fn, x, nv, generator=None, v_dist="gaussian", create_graph=True):
    """v^T (ds/dx) v and |s|^2 / 2 for nv projections of every sample; two tensors of shape (nv, B)."""
    b, d = x.shape
    xs = x.detach().repeat(nv, 1).requires_grad_(True)
    v = _slicing_vectors(xs.shape, v_dist, generator, x)
    s = fn(xs)
    (jv,) = torch.autograd.grad((s * v).sum(), xs, create_graph=create_graph)
    return (jv * v).sum(1).view(nv, b), 0.5 * (s * s).sum(1).view(nv, b)


def _sliced_terms(fn, x, nv, generator=None, v_dist="gaussian"):
    """Per-sample v^T (ds/dx) v + |s|^2 / 2, averaged over nv projections; shape (B,)."""
    quad, half_sq = _sliced_parts(fn, x, nv, generator, v_dist)
    return (quad + half_sq).mean(0)


def hutchinson_trace(fn, samples, nv: int = 1, v_dist: str = "gaussian", generator=None) -> torch.Tensor:
    r"""Hutchinson's estimates :math:`\mathbf v^\top\nabla_{\mathbf x}s(\mathbf x)\,\mathbf v` of
    :math:`\operatorname{tr}\nabla_{\mathbf x}s(\mathbf x)`, one per projection and sample.

    The trace term of :func:`sliced_score_matching`, exposed to study its noise: for
    :math:`A = \nabla s(\mathbf x)` and its symmetric part :math:`S = (A + A^\top)/2`, both
    slicing distributions give the mean :math:`\operatorname{tr}A`; the variance is
    :math:`2\lVert S\rVert_F^2` for Gaussian :math:`\mathbf v` and
    :math:`2\sum_{i\ne j}S_{ij}^2` for Rademacher :math:`\mathbf v` (zero when :math:`A` is diagonal).

    Parameters
    ----------
    fn : callable
        ``(B, d) -> (B, d)``, differentiable (a network or an exact score).
    samples : torch.Tensor, shape (B, d)
    nv : int, default 1
        Projections per sample.
    v_dist : {"gaussian", "rademacher"}, default "gaussian"
        Standard normal vectors, or vectors of independent random signs :math:`\pm1`.
    generator : torch.Generator, optional

    Returns
    -------
    torch.Tensor, shape (nv, B)
        Detached estimates.

    Examples
    --------
    >>> import torch
    >>> from probmods.score import hutchinson_trace
    >>> A = torch.tensor([[2.0, 0.0], [0.0, -3.0]], dtype=torch.float64)
    >>> est = hutchinson_trace(lambda x: x @ A.T, torch.zeros(1, 2, dtype=torch.float64), nv=5,
    ...                        v_dist="rademacher", generator=torch.Generator().manual_seed(0))
    >>> est.flatten()  # a diagonal Jacobian: every Rademacher estimate is the trace
    tensor([-1., -1., -1., -1., -1.], dtype=torch.float64)
    """
    check_callable(fn, "fn")
    x = _check_samples(samples, "samples", fn)
    nv = check_positive_int(nv, "nv")
    v_dist = check_choice(v_dist, "v_dist", _V_DISTS)
    generator = check_generator(generator)
    with _fits("fn", "samples", x):
        quad, _ = _sliced_parts(fn, x, nv, generator, v_dist, create_graph=False)
    return quad.detach()


def sliced_score_matching(score_net, samples: torch.Tensor, nv: int = 1, generator=None,
                          v_dist: str = "gaussian") -> torch.Tensor:
    r"""The sliced score matching loss :math:`\frac1B\sum_i\frac1{n_v}\sum_j
    \mathbf v_{ij}^\top\nabla s_\theta(\mathbf x_i)\mathbf v_{ij} + \tfrac12\lVert s_\theta(\mathbf x_i)\rVert^2`.

    Parameters
    ----------
    score_net : callable
        ``(B, d) -> (B, d)``.
    samples : torch.Tensor, shape (B, d)
    nv : int, default 1
        Random projections per sample, :math:`\mathbf v\sim\mathcal N(0, I)` by default.
    generator : torch.Generator, optional
    v_dist : {"gaussian", "rademacher"}, default "gaussian"
        Distribution of the slicing vectors; both have :math:`\mathbb E[\mathbf v\mathbf v^\top] = I`,
        so both give an unbiased loss (their variances differ, see :func:`hutchinson_trace`).

    Returns
    -------
    torch.Tensor
        Scalar loss with a graph to the network's parameters.
    """
    check_callable(score_net, "score_net")
    x = _check_samples(samples, "samples", score_net)
    nv = check_positive_int(nv, "nv")
    v_dist = check_choice(v_dist, "v_dist", _V_DISTS)
    generator = check_generator(generator)
    with _fits("score_net", "samples", x):
        return _sliced_terms(score_net, x, nv, generator, v_dist).mean()


def annealed_sliced_score_matching(cond_score_net, perturbed_samples: torch.Tensor, used_sigmas, nv: int = 1,
                                   generator=None, v_dist: str = "gaussian") -> torch.Tensor:
    r"""The noise-conditional sliced loss :math:`\frac1B\sum_i\sigma_i^2\,\ell_i` (:math:`\lambda(\sigma)=\sigma^2`).

    Parameters
    ----------
    cond_score_net : callable
        ``(x, sigmas) -> scores``, e.g. :class:`CondScoreNet`.
    perturbed_samples : torch.Tensor, shape (B, d)
        :math:`\tilde{\mathbf x}_i = \mathbf x_i + \sigma_i\mathbf z_i`.
    used_sigmas : torch.Tensor, shape (B, 1) or (B,)
        The noise level of each sample.
    nv : int, default 1
    generator : torch.Generator, optional
    v_dist : {"gaussian", "rademacher"}, default "gaussian"
        Distribution of the slicing vectors, as in :func:`sliced_score_matching`.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    check_callable(cond_score_net, "cond_score_net")
    x = _check_samples(perturbed_samples, "perturbed_samples", cond_score_net)
    nv = check_positive_int(nv, "nv")
    v_dist = check_choice(v_dist, "v_dist", _V_DISTS)
    sig = as_tensor(used_sigmas, "used_sigmas", dtype=x.dtype, what="(B, 1) or (B,)").to(x.device).reshape(-1)
    if sig.shape[0] != x.shape[0]:
        raise ValueError(f"used_sigmas must have one entry per sample ({x.shape[0]}), got {tuple(sig.shape)}")
    if not bool((sig > 0).all()) or not bool(torch.isfinite(sig).all()):
        raise ValueError("used_sigmas must be finite and > 0")
    sig_rep = sig.repeat(nv).view(-1, 1)
    generator = check_generator(generator)
    with _fits("cond_score_net", "perturbed_samples", x):
        per = _sliced_terms(lambda v: cond_score_net(v, sig_rep), x, nv, generator, v_dist)
    return (sig * sig * per).mean()


def exact_score_matching(score_net, samples: torch.Tensor) -> torch.Tensor:
    r"""The exact objective :math:`\frac1B\sum_i\operatorname{tr}\nabla s_\theta(\mathbf x_i) +
    \tfrac12\lVert s_\theta(\mathbf x_i)\rVert^2`, the trace by one backward pass per dimension.

    Feasible in 2-D; the reference for checking the sliced estimate.
    """
    check_callable(score_net, "score_net")
    x = _check_samples(samples, "samples", score_net).detach().requires_grad_(True)
    with _fits("score_net", "samples", x):
        s = score_net(x)
    if not isinstance(s, torch.Tensor) or s.shape != x.shape:
        raise ValueError(f"score_net must map samples of shape {tuple(x.shape)} to the same shape, got "
                         f"{tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__}")
    tr = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for k in range(x.shape[1]):
        (g,) = torch.autograd.grad(s[:, k].sum(), x, create_graph=True)
        tr = tr + g[:, k]
    return (tr + 0.5 * (s * s).sum(1)).mean()


def tweedie_denoise(score, samples, sigma: float) -> torch.Tensor:
    r"""Tweedie's denoising step :math:`\hat{\mathbf x} = \tilde{\mathbf x} + \sigma^2\,
    \nabla\log q_\sigma(\tilde{\mathbf x})`.

    For :math:`\tilde{\mathbf x} = \mathbf x + \sigma\mathbf z` with :math:`\mathbf x\sim p` and
    :math:`\mathbf z\sim\mathcal N(0, I)`, Tweedie's formula gives the posterior mean
    :math:`\mathbb E[\mathbf x\mid\tilde{\mathbf x}]` from the score of the noisy density
    :math:`q_\sigma`: the MMSE denoiser, applied once after the last level of annealed
    Langevin dynamics to remove the noise :math:`\sigma_L` that its samples still carry.

    Parameters
    ----------
    score : callable
        ``score(x, sigma) -> (n, d)``, the score of the data perturbed by noise of standard
        deviation ``sigma`` (a noise-conditional model, or
        :meth:`probmods.gmm.IsotropicGMM.noisy_score`); call it under ``torch.no_grad()``
        for a network.
    samples : torch.Tensor, shape (n, d)
        Noisy points :math:`\tilde{\mathbf x}`.
    sigma : float
        The noise level :math:`\sigma > 0` of ``samples`` (for annealed Langevin, the last
        level :math:`\sigma_L`).

    Returns
    -------
    torch.Tensor, shape (n, d)

    Examples
    --------
    >>> import torch
    >>> from probmods.gmm import GMMDist
    >>> from probmods.score import tweedie_denoise
    >>> x = torch.tensor([[7.0, 7.0]], dtype=torch.float64)
    >>> tweedie_denoise(GMMDist().noisy_score, x, 1.0)  # half way back to the mean (5, 5)
    tensor([[6., 6.]], dtype=torch.float64)
    """
    if not callable(score):
        raise TypeError(f"score must be callable, got {type(score).__name__}")
    x = as_tensor(samples, "samples", ndim=2, what="(n, d)")
    sigma = check_positive(sigma, "sigma")
    s = score(x, sigma)
    if not isinstance(s, torch.Tensor) or tuple(s.shape) != tuple(x.shape):
        raise ValueError(f"score must return a tensor of shape {tuple(x.shape)}, got "
                         f"{tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__}")
    return x + sigma**2 * s


def _check_net(net, name):
    return check_instance(net, name, nn.Module, "a torch.nn.Module (its parameters are trained)")


def _check_teacher(teacher):
    """The data distribution: ``None`` (the HW4 mixture) or an object with a ``sample(n)`` method."""
    if teacher is None:
        return GMMDist()
    if not callable(getattr(teacher, "sample", None)):
        raise TypeError(f"teacher must have a sample(n) method (e.g. a GMMDist), got {type(teacher).__name__}")
    return teacher


def _loop(step_fn, params, nsteps, lr, progress, desc):
    """Adam on ``step_fn()`` for ``nsteps`` steps; the loss of every step is returned."""
    optimizer = torch.optim.Adam(params, lr=lr)
    losses = np.empty(nsteps)
    bar = progress_bar(range(nsteps), progress, desc=desc)
    for step in bar:
        loss = step_fn()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses[step] = loss.item()
        if progress and step % 50 == 0:
            bar.set_postfix(loss=f"{losses[step]:.4f}", refresh=False)
    return losses


def train(score_net, batch_size: int = 128, nsteps: int = 10000, lr: float = 1e-3, progress: bool = True,
          teacher=None):
    """The handout's training loop for sliced score matching on :class:`~probmods.gmm.GMMDist` samples.

    Each step draws a fresh batch from the teacher (infinite data), computes
    :func:`sliced_score_matching` with one projection and takes an Adam step.

    Parameters
    ----------
    score_net : torch.nn.Module
    batch_size : int, default 128
    nsteps : int, default 10000
    lr : float, default 1e-3
        Adam's learning rate, in (0, 1e100].
    progress : bool, default True
    teacher : object with ``sample(n)``, optional
        The data distribution; :class:`~probmods.gmm.GMMDist` by default.

    Returns
    -------
    losses : numpy.ndarray, shape (nsteps,)
    score_net : torch.nn.Module
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    nsteps = check_positive_int(nsteps, "nsteps")
    lr = check_positive(lr, "lr", low=0)  # any positive learning rate, up to 1e100
    _check_net(score_net, "score_net")
    teacher = _check_teacher(teacher)

    def step():
        return sliced_score_matching(score_net, teacher.sample(batch_size), nv=1)

    return _loop(step, score_net.parameters(), nsteps, lr, progress, "SSM"), score_net


class ScoreFit(NamedTuple):
    """The outcome of :func:`~probmods.score.fit_score_net`: ``losses, score_net, seconds``."""

    losses: np.ndarray
    score_net: nn.Module
    seconds: float


def _encode_score_fit(fit: ScoreFit) -> dict:
    """A :class:`~probmods.score.ScoreFit` as plain data for the build cache (``probmods._cache``)."""
    return {"losses": torch.from_numpy(fit.losses), "state": fit.score_net.state_dict(),
            "training": fit.score_net.training, "seconds": fit.seconds}


def _decode_score_fit(payload: dict) -> ScoreFit:
    net = make_score_net()
    net.load_state_dict(payload["state"])
    net.train(payload["training"])
    return ScoreFit(payload["losses"].numpy(), net, payload["seconds"])


@memoize(_encode_score_fit, _decode_score_fit, ignore=("progress",), torch_rng=True)
def fit_score_net(seed: int = 0, batch_size: int = 128, nsteps: int = 10000, lr: float = 1e-3,
                  progress: bool = True) -> ScoreFit:
    """Seed torch, then the handout's snippet for HW4-T8: build the score network and train it.

    ``torch.manual_seed(seed)`` (the handout sets no seed; this makes the result
    reproducible), then :func:`~probmods.score.train` of a fresh
    :func:`~probmods.score.make_score_net`.

    Parameters
    ----------
    seed : int, default 0
        ``torch.manual_seed(seed)`` before the network is built, so the initial weights
        and every training batch follow from it.
    batch_size, nsteps, lr, progress
        As for :func:`~probmods.score.train` (the handout's values by default).

    Returns
    -------
    ScoreFit
        ``(losses, score_net, seconds)``: :func:`~probmods.score.train`'s losses and network, and the
        wall-clock training time.

    Notes
    -----
    Deterministic given its arguments, so the docs build trains the network once and
    a later page that needs it again loads it (``probmods._cache``, active only under
    ``PROBMODS_CACHE_DIR``); ``seconds`` is then the time of the first training.

    Examples
    --------
    >>> fit = fit_score_net(nsteps=5, progress=False)
    >>> fit.losses.shape, type(fit.score_net).__name__
    ((5,), 'Sequential')
    """
    import time

    torch.manual_seed(check_seed(seed, "seed"))
    t0 = time.perf_counter()
    losses, net = train(make_score_net(), batch_size=batch_size, nsteps=nsteps, lr=lr, progress=progress)
    return ScoreFit(np.asarray(losses), net, time.perf_counter() - t0)


def train_annealed(cond_score_net, sigmas, batch_size: int = 256, nsteps: int = 10000, lr: float = 1e-3,
                   progress: bool = True, teacher=None):
    """The handout's training loop for the noise-conditional model.

    Each step draws a batch, a noise level per sample uniformly from ``sigmas``,
    perturbs the samples and takes an Adam step on
    :func:`annealed_sliced_score_matching`.

    Parameters
    ----------
    cond_score_net : torch.nn.Module
    sigmas : array_like, shape (L,)
    batch_size : int, default 256
    nsteps : int, default 10000
    lr : float, default 1e-3
        Adam's learning rate, in (0, 1e100].
    progress : bool, default True
    teacher : object with ``sample(n)``, optional

    Returns
    -------
    losses : numpy.ndarray, shape (nsteps,)
    cond_score_net : torch.nn.Module
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    nsteps = check_positive_int(nsteps, "nsteps")
    lr = check_positive(lr, "lr", low=0)  # any positive learning rate, up to 1e100
    sig = as_tensor(sigmas, "sigmas", dtype=torch.float32, what="(L,)", allow_empty=True).reshape(-1)
    if sig.numel() == 0 or not bool((sig > 0).all()):
        raise ValueError("sigmas must be a non-empty sequence of positive noise levels")
    _check_net(cond_score_net, "cond_score_net")
    teacher = _check_teacher(teacher)

    def step():
        samples = teacher.sample(batch_size)
        labels = torch.randint(0, len(sig), (batch_size,))
        used = sig[labels].view(batch_size, 1)
        perturbed = samples + torch.randn_like(samples) * used
        return annealed_sliced_score_matching(cond_score_net, perturbed, used, nv=1)

    return _loop(step, cond_score_net.parameters(), nsteps, lr, progress, "annealed SSM"), cond_score_net

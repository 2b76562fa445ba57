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
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._checks import as_tensor, check_positive, check_positive_int, module_dtype
from .gmm import GMMDist
from .utils import progress_bar

__all__ = [
    "make_score_net",
    "CondScoreNet",
    "sliced_score_matching",
    "annealed_sliced_score_matching",
    "exact_score_matching",
    "train",
    "train_annealed",
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
        """Scores at ``x`` (shape ``(B, 2)``) for noise levels ``sigmas`` (float or ``(B, 1)``)."""
        s = torch.as_tensor(sigmas, dtype=x.dtype, device=x.device)
        if s.ndim == 0:
            s = s.expand(x.shape[0], 1)
        s = s.reshape(x.shape[0], 1)
        return self.net(torch.cat([x, s], dim=1)) / s


def _check_samples(samples, name, net=None):
    """A (B, d) batch in the network's dtype (float64 or integer input is cast to it)."""
    return as_tensor(samples, name, ndim=2, dtype=module_dtype(net), what="(B, d)")


def _sliced_terms(fn, x, nv, generator=None):
    """Per-sample v^T (ds/dx) v + |s|^2 / 2, averaged over nv projections; shape (B,)."""
    b, d = x.shape
    xs = x.detach().repeat(nv, 1).requires_grad_(True)
    v = torch.randn(xs.shape, generator=generator, dtype=x.dtype, device=x.device)
    s = fn(xs)
    (jv,) = torch.autograd.grad((s * v).sum(), xs, create_graph=True)
    per = (jv * v).sum(1) + 0.5 * (s * s).sum(1)
    return per.view(nv, b).mean(0)


def sliced_score_matching(score_net, samples: torch.Tensor, nv: int = 1, generator=None) -> torch.Tensor:
    r"""The sliced score matching loss :math:`\frac1B\sum_i\frac1{n_v}\sum_j
    \mathbf v_{ij}^\top\nabla s_\theta(\mathbf x_i)\mathbf v_{ij} + \tfrac12\lVert s_\theta(\mathbf x_i)\rVert^2`.

    Parameters
    ----------
    score_net : callable
        ``(B, d) -> (B, d)``.
    samples : torch.Tensor, shape (B, d)
    nv : int, default 1
        Random projections per sample, :math:`\mathbf v\sim\mathcal N(0, I)`.
    generator : torch.Generator, optional

    Returns
    -------
    torch.Tensor
        Scalar loss with a graph to the network's parameters.
    """
    x = _check_samples(samples, "samples", score_net)
    nv = check_positive_int(nv, "nv")
    return _sliced_terms(score_net, x, nv, generator).mean()


def annealed_sliced_score_matching(cond_score_net, perturbed_samples: torch.Tensor, used_sigmas, nv: int = 1,
                                   generator=None) -> torch.Tensor:
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

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    x = _check_samples(perturbed_samples, "perturbed_samples", cond_score_net)
    nv = check_positive_int(nv, "nv")
    sig = torch.as_tensor(used_sigmas, dtype=x.dtype, device=x.device).reshape(-1)
    if sig.shape[0] != x.shape[0]:
        raise ValueError(f"used_sigmas must have one entry per sample ({x.shape[0]}), got {tuple(sig.shape)}")
    if not bool((sig > 0).all()) or not bool(torch.isfinite(sig).all()):
        raise ValueError("used_sigmas must be finite and > 0")
    sig_rep = sig.repeat(nv).view(-1, 1)
    per = _sliced_terms(lambda v: cond_score_net(v, sig_rep), x, nv, generator)
    return (sig * sig * per).mean()


def exact_score_matching(score_net, samples: torch.Tensor) -> torch.Tensor:
    r"""The exact objective :math:`\frac1B\sum_i\operatorname{tr}\nabla s_\theta(\mathbf x_i) +
    \tfrac12\lVert s_\theta(\mathbf x_i)\rVert^2`, the trace by one backward pass per dimension.

    Feasible in 2-D; the reference for checking the sliced estimate.
    """
    x = _check_samples(samples, "samples", score_net).detach().requires_grad_(True)
    s = score_net(x)
    tr = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for k in range(x.shape[1]):
        (g,) = torch.autograd.grad(s[:, k].sum(), x, create_graph=True)
        tr = tr + g[:, k]
    return (tr + 0.5 * (s * s).sum(1)).mean()


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
    lr = check_positive(lr, "lr")
    teacher = GMMDist() if teacher is None else teacher

    def step():
        return sliced_score_matching(score_net, teacher.sample(batch_size), nv=1)

    return _loop(step, score_net.parameters(), nsteps, lr, progress, "SSM"), score_net


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
    progress : bool, default True
    teacher : object with ``sample(n)``, optional

    Returns
    -------
    losses : numpy.ndarray, shape (nsteps,)
    cond_score_net : torch.nn.Module
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    nsteps = check_positive_int(nsteps, "nsteps")
    lr = check_positive(lr, "lr")
    sig = torch.as_tensor(np.asarray(sigmas, dtype=np.float32)).reshape(-1)
    if sig.numel() == 0 or not bool((sig > 0).all()):
        raise ValueError("sigmas must be a non-empty sequence of positive noise levels")
    teacher = GMMDist() if teacher is None else teacher

    def step():
        samples = teacher.sample(batch_size)
        labels = torch.randint(0, len(sig), (batch_size,))
        used = sig[labels].view(batch_size, 1)
        perturbed = samples + torch.randn_like(samples) * used
        return annealed_sliced_score_matching(cond_score_net, perturbed, used, nv=1)

    return _loop(step, cond_score_net.parameters(), nsteps, lr, progress, "annealed SSM"), cond_score_net

r"""Coupling normalizing flows (HW1 Part II).

An affine coupling layer splits :math:`\mathbf x` with a binary mask
:math:`\mathbf m` (1 on the part that passes through unchanged) and transforms
the rest with a scale and shift computed from the unchanged part:

.. math::

    \mathbf y = \mathbf m\odot\mathbf x + (1-\mathbf m)\odot\Big(
    \mathbf x\odot e^{\mathbf s(\mathbf m\odot\mathbf x)} + \mathbf t(\mathbf m\odot\mathbf x)\Big),
    \qquad \log\Big|\det\frac{\partial\mathbf y}{\partial\mathbf x}\Big|
    = \sum_j (1-m_j)\,s_j(\mathbf m\odot\mathbf x).

Its inverse uses the same networks, since :math:`\mathbf m\odot\mathbf y =
\mathbf m\odot\mathbf x`:
:math:`\mathbf x = \mathbf m\odot\mathbf y + (1-\mathbf m)\odot
(\mathbf y - \mathbf t)\odot e^{-\mathbf s}`, with log-determinant
:math:`-\sum_j (1-m_j)s_j`.

The classes keep the handout's names, architecture and initialisation:
:class:`CouplingLayer` (two 2-32-32-2 LeakyReLU MLPs, ``scale_factor``
initialised to 0) and :class:`CouplingFlow` (alternating one-hot masks, standard
normal prior). :func:`train` is the handout's training loop (90/10 split with
:func:`torch.utils.data.random_split`'s permutation, sequential batches, Adam at
``lr=1e-3``, best-validation model unless the validation set has fewer than 500
points) made fast: see its notes.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import _flow_engine
from ._cache import memoize
from ._checks import (
    as_tensor,
    check_choice,
    check_container,
    check_instance,
    check_int,
    check_positive,
    check_positive_int,
    check_seed,
    module_dtype,
)
from .utils import progress_bar

__all__ = [
    "StandardNormal",
    "CouplingLayer",
    "CouplingFlow",
    "train",
    "TrainResult",
    "log_density_on_grid",
    "FlowFit",
    "fit_toy_flow",
    "format_scores",
]

_LOG_2PI = math.log(2 * math.pi)


def _check_batch(x, name: str, module=None, finite: bool = False) -> torch.Tensor:
    """A (B, 2) batch in the module's dtype (float64 or integer input is cast to it).

    Layers map NaN to NaN pointwise (``finite=False``): inside sampling, a diverging model's
    values must propagate rather than raise; the flow's public entry points check finiteness.
    """
    return as_tensor(x, name, trailing=(2,), dtype=module_dtype(module), finite=finite)


def _check_flow(model, name="model"):
    what = "a CouplingFlow (a module with log_probability)"
    if not hasattr(model, "log_probability"):
        raise TypeError(f"{name} must be {what}, got {type(model).__name__}")
    return check_instance(model, name, nn.Module, what)


def _check_grid(grid, name="grid"):
    from .grids import Grid2D

    return check_instance(grid, name, Grid2D, "a Grid2D")


def _mlp() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_features=2, out_features=32),
        nn.LeakyReLU(),
        nn.Linear(in_features=32, out_features=32),
        nn.LeakyReLU(),
        nn.Linear(in_features=32, out_features=2),
    )


class StandardNormal:
    r"""The standard normal prior :math:`\mathcal N(\mathbf 0, I_d)`.

    A light replacement for ``MultivariateNormal(torch.zeros(d), torch.eye(d))``
    with the same ``log_prob`` and ``sample`` interface: the log-density is the
    closed form :math:`-\tfrac12\lVert\mathbf z\rVert^2 - \tfrac d2\log 2\pi`
    instead of a Cholesky solve per call.

    Parameters
    ----------
    dim : int, default 2
    """

    def __init__(self, dim: int = 2):
        self.dim = check_positive_int(dim, "dim")

    def __repr__(self):
        return f"StandardNormal(dim={self.dim})"

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Log-density of ``z`` (shape ``(..., dim)``, real; NaN maps to NaN), shape ``(...)``."""
        z = as_tensor(z, "z", finite=False, what=f"(..., {self.dim})")
        if z.shape[-1] != self.dim:
            raise ValueError(f"z must have shape (..., {self.dim}), got shape {tuple(z.shape)}")
        return -0.5 * (z * z).sum(-1) - 0.5 * self.dim * _LOG_2PI

    def sample(self, sample_shape=(), dtype=None) -> torch.Tensor:
        """Draw samples of shape ``(*sample_shape, dim)`` from the global torch RNG.

        ``sample_shape`` is an int or a tuple of ints >= 0 with at most 10**8 samples in all;
        ``dtype`` a floating torch dtype (the default one when ``None``).
        """
        dims = (sample_shape,) if not isinstance(sample_shape, (tuple, list, torch.Size)) else tuple(sample_shape)
        dims = tuple(check_int(d, "sample_shape", 0, 10**8) for d in dims)
        if math.prod(dims) > 10**8:
            raise ValueError(f"sample_shape must ask for at most 10**8 samples, got {dims}")
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be a floating torch dtype, got {dtype!r}")
        return torch.randn(dims + (self.dim,), dtype=dtype or torch.get_default_dtype())


class CouplingLayer(nn.Module):
    r"""Affine coupling layer with a fixed binary mask (the handout's class).

    Parameters
    ----------
    mask : torch.Tensor, shape (2,)
        1 on the coordinates that pass through unchanged and condition the
        transformation, 0 on the coordinates that are scaled and shifted.
    scale_bound : float, optional
        If given, a bound :math:`c > 0` on the log-scale: the layer uses
        :math:`s = c\tanh(s_\mathrm{raw}/c)` instead of the handout's
        :math:`s_\mathrm{raw}` (``s_func(mask * x) * scale_factor``), so every
        scale :math:`e^{s}` lies in :math:`(e^{-c}, e^{c})`: a soft clamp, as in
        the coupling layers of Real NVP's code and of the UvA Deep Learning
        tutorial on flows. Near :math:`s_\mathrm{raw} = 0` the clamp is the
        identity to first order. ``None`` (the default) is the handout's layer,
        unchanged. The bound adds no parameters.

    Attributes
    ----------
    mask : torch.nn.Parameter
        The mask, not learnable (``requires_grad=False``).
    s_func, t_func : torch.nn.Sequential
        The scale and shift networks, 2-32-32-2 with LeakyReLU.
    scale_factor : torch.nn.Parameter, shape (2,)
        Multiplies the scale before exponentiation; initialised to 0 so that
        the layer starts as a pure shift (scale :math:`e^0 = 1`).
    scale_bound : float or None
        The bound :math:`c` on :math:`|s|`, or ``None``.

    Examples
    --------
    >>> import torch
    >>> from probmods.flows import CouplingLayer
    >>> layer = CouplingLayer(torch.tensor([1.0, 0.0]), scale_bound=2.0)
    >>> with torch.no_grad():
    ...     _ = layer.scale_factor.fill_(100.0)  # a huge raw scale...
    ...     y, log_det = layer(torch.randn(5, 2))
    >>> bool(log_det.abs().max() <= 2.0)  # ...is clamped to |s| <= c
    True
    """

    def __init__(self, mask, scale_bound: float | None = None):
        super().__init__()
        self.scale_bound = None if scale_bound is None else check_positive(scale_bound, "scale_bound")
        mask = as_tensor(mask, "mask", dtype=torch.get_default_dtype(), what="(2,)")
        if mask.shape != (2,) or sorted(mask.tolist()) != [0.0, 1.0]:
            raise ValueError(
                f"mask must be [1, 0] or [0, 1] (one coordinate kept, one transformed), got {mask.tolist()}"
            )
        self.mask = nn.Parameter(mask, requires_grad=False)
        self.s_func = _mlp()
        self.scale_factor = nn.Parameter(torch.zeros(2))
        self.t_func = _mlp()

    def extra_repr(self) -> str:
        return "" if self.scale_bound is None else f"scale_bound={self.scale_bound:g}"

    def _scale_shift(self, x_masked):
        inv = 1 - self.mask
        if self.scale_bound is None:
            s = self.s_func(x_masked) * self.scale_factor * inv
        else:
            c = self.scale_bound
            s = c * torch.tanh(self.s_func(x_masked) * self.scale_factor / c) * inv
        t = self.t_func(x_masked) * inv
        return s, t

    def forward(self, x: torch.Tensor):
        r"""Compute :math:`\mathbf y = f(\mathbf x)`.

        Parameters
        ----------
        x : torch.Tensor, shape (B, 2)

        Returns
        -------
        y : torch.Tensor, shape (B, 2)
        log_det_jac : torch.Tensor, shape (B,)
            :math:`\log|\det\partial\mathbf y/\partial\mathbf x|`.
        """
        x = _check_batch(x, "x", self)
        x_masked = x * self.mask
        s, t = self._scale_shift(x_masked)
        y = x_masked + (1 - self.mask) * (x * torch.exp(s) + t)
        return y, s.sum(-1)

    def inverse(self, y: torch.Tensor):
        r"""Compute :math:`\mathbf x = f^{-1}(\mathbf y)`.

        Parameters
        ----------
        y : torch.Tensor, shape (B, 2)

        Returns
        -------
        x : torch.Tensor, shape (B, 2)
        inv_log_det_jac : torch.Tensor, shape (B,)
            :math:`\log|\det\partial\mathbf x/\partial\mathbf y|`.
        """
        y = _check_batch(y, "y", self)
        y_masked = y * self.mask
        s, t = self._scale_shift(y_masked)
        x = y_masked + (1 - self.mask) * ((y - t) * torch.exp(-s))
        return x, -s.sum(-1)


class CouplingFlow(nn.Module):
    r"""A stack of coupling layers with alternating masks over a standard normal prior.

    The model is :math:`\mathbf x = f(\mathbf z) = f_K\circ\dots\circ f_1(\mathbf z)`,
    :math:`\mathbf z\sim\mathcal N(\mathbf 0, I)`.

    Parameters
    ----------
    num_layers : int
        Number of coupling layers :math:`K`. Layer :math:`i` (from 0) keeps
        coordinate ``i % 2`` unchanged.
    scale_bound : float, optional
        Bound :math:`c` on every layer's log-scale,
        :math:`s = c\tanh(s_\mathrm{raw}/c)` (see :class:`CouplingLayer`).
        ``None`` (the default) is the handout's flow. It draws no random
        numbers, so the same torch seed gives the same initial weights with or
        without the bound.

    Examples
    --------
    >>> import torch
    >>> from probmods.flows import CouplingFlow
    >>> flow = CouplingFlow(num_layers=4, scale_bound=2.0)
    >>> flow.log_probability(torch.zeros(3, 2)).shape
    torch.Size([3])
    """

    def __init__(self, num_layers: int, scale_bound: float | None = None):
        super().__init__()
        self.num_layers = check_positive_int(num_layers, "num_layers")
        self.scale_bound = None if scale_bound is None else check_positive(scale_bound, "scale_bound")
        masks = F.one_hot(torch.tensor([i % 2 for i in range(self.num_layers)]), num_classes=2).float()
        self.layers = nn.ModuleList([CouplingLayer(mask, scale_bound=self.scale_bound) for mask in masks])
        self.prior = StandardNormal(2)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """The same as :meth:`log_probability` (the handout's name), under torch's name.

        Examples
        --------
        >>> import torch
        >>> flow = CouplingFlow(num_layers=2)
        >>> x = torch.zeros(3, 2)
        >>> bool(torch.equal(flow.log_prob(x), flow.log_probability(x)))
        True
        """
        return self.log_probability(x)

    def log_probability(self, x: torch.Tensor) -> torch.Tensor:
        r"""Log-density :math:`\log p(\mathbf x)`.

        .. math::

            \log p(\mathbf x) = \log p_Z(f^{-1}(\mathbf x)) +
            \sum_{k=1}^{K}\log\Big|\det\frac{\partial f_k^{-1}}{\partial\mathbf y_k}\Big|,

        applying the inverses from the last layer :math:`f_K^{-1}` to the first.

        Parameters
        ----------
        x : torch.Tensor, shape (B, 2)
            Finite points with coordinates within 1e100; NumPy arrays and float64 tensors are
            cast to the model's dtype.

        Returns
        -------
        torch.Tensor, shape (B,)
        """
        x = _check_batch(x, "x", self, finite=True)
        log_det = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for layer in reversed(self.layers):
            x, ld = layer.inverse(x)
            log_det = log_det + ld
        return self.prior.log_prob(x) + log_det

    def _check_n(self, num_samples):
        return check_positive_int(num_samples, "num_samples")

    def _prior_sample(self, n):
        param = self.layers[0].scale_factor
        return self.prior.sample((n,), dtype=param.dtype).to(param.device)

    def sample_x(self, num_samples: int):
        r"""Sample :math:`\mathbf x = f(\mathbf z)` and its log-density.

        The log-density is tracked through the forward pass,
        :math:`\log p(\mathbf x) = \log p_Z(\mathbf z) - \sum_k\log|\det\partial f_k/\partial\mathbf y_{k-1}|`,
        so it needs no inversion.

        Parameters
        ----------
        num_samples : int

        Returns
        -------
        x : torch.Tensor, shape (num_samples, 2)
        log_prob : torch.Tensor, shape (num_samples,)
        """
        n = self._check_n(num_samples)
        z = self._prior_sample(n)
        log_prob = self.prior.log_prob(z)
        for layer in self.layers:
            z, ld = layer(z)
            log_prob = log_prob - ld
        return z, log_prob

    def sample_x_each_step(self, num_samples: int):
        """Samples after every layer, starting with the prior's.

        Parameters
        ----------
        num_samples : int

        Returns
        -------
        list of torch.Tensor, length num_layers + 1, each shape (num_samples, 2)
            ``samples[0]`` is from the prior :math:`p(\\mathbf z)`,
            ``samples[-1]`` from :math:`p(\\mathbf x)`.
        """
        n = self._check_n(num_samples)
        z = self._prior_sample(n)
        samples = [z]
        for layer in self.layers:
            z, _ = layer(z)
            samples.append(z)
        return samples


class TrainResult(tuple):
    """``(model_best, train_losses, valid_losses)``, as the handout's ``train`` returns.

    Also carries ``best_epoch`` and ``min_valid_loss`` as attributes.
    """

    def __new__(cls, model_best, train_losses, valid_losses, best_epoch, min_valid_loss):
        obj = super().__new__(cls, (model_best, train_losses, valid_losses))
        obj.best_epoch = best_epoch
        obj.min_valid_loss = min_valid_loss
        return obj


def _as_data_tensor(data) -> torch.Tensor:
    tensor = getattr(data, "tensor", None)
    if isinstance(tensor, torch.Tensor):
        x = tensor
    elif isinstance(data, torch.Tensor):
        x = data
    elif isinstance(data, np.ndarray):
        x = torch.from_numpy(data)
    elif hasattr(data, "__len__") and hasattr(data, "__getitem__") and not isinstance(data, (str, bytes)):
        try:
            x = torch.stack([torch.as_tensor(data[i]) for i in range(len(data))])
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"data must be an (N, 2) array of numbers: {exc}") from None
    else:
        raise TypeError(f"data must be a ToyDataset, a tensor or an array of shape (N, 2), got {type(data).__name__}")
    if not torch.is_floating_point(x) and x.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"data must be numeric, got dtype {x.dtype}")
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"data must have shape (N, 2), got shape {tuple(x.shape)}")
    if x.shape[0] < 2:
        raise ValueError("data must contain at least 2 points (one for training, one for validation)")
    if not torch.isfinite(x).all():
        raise ValueError("data must be finite, but it contains NaN or infinity")
    return x


def _batch_mean_of_means(per_sample: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Mean over consecutive batches of the batch means (the handout's epoch loss)."""
    return torch.stack([chunk.mean() for chunk in per_sample.split(batch_size)]).mean()


def train(model: CouplingFlow, data, epochs: int = 100, batch_size: int = 64, lr: float = 1e-3,
          progress: bool = True, verbose: bool = True, engine: str = "numpy"):
    """Train a flow by maximum likelihood: the handout's ``train``, made fast.

    The semantics are the handout's: the data are split 90/10 with the same
    permutation :func:`torch.utils.data.random_split` draws from the global torch
    generator; training batches are consecutive slices of the training subset
    (a ``DataLoader`` without shuffling); each step minimises the batch's mean
    negative log-likelihood with Adam (``lr=1e-3``); an epoch's losses are the
    means of its batch losses; the model with the lowest validation loss is kept,
    except that when the validation set has fewer than 500 points the final model
    is returned ("weak statistics").

    What is faster, without changing those semantics:

    * batches are slices of one tensor, not ``__getitem__`` calls collated by a
      ``DataLoader``;
    * the prior's log-density is the closed form (:class:`StandardNormal`), not
      ``MultivariateNormal.log_prob``;
    * the epoch loss is accumulated as a number (the handout's ``epoch_loss +=
      loss`` keeps every batch's autograd graph alive until the epoch ends);
    * validation runs without autograd, in one pass over the validation set;
    * the best model is remembered as a copy of its parameters, and one model is
      built from them at the end, instead of a ``copy.deepcopy`` of the whole
      module at every improvement;
    * with ``engine="numpy"`` (the default) the loss and its gradient are
      computed by backpropagation written out in NumPy (see
      ``probmods._flow_engine``; the tests check it against autograd to
      float64 precision) and Adam is PyTorch's update rule on one flat array.
      A step of this model is ~250 tiny PyTorch kernels whose fixed cost
      dominates; written out, a step costs about a quarter of the autograd
      one. ``engine="autograd"`` trains the module with PyTorch's autograd and
      ``torch.optim.Adam``, exactly as the handout.

    Parameters
    ----------
    model : CouplingFlow
        Trained in place.
    data : ToyDataset, torch.Tensor or numpy.ndarray
        The training data, shape ``(N, 2)``.
    epochs : int, default 100
    batch_size : int, default 64
    lr : float, default 1e-3
        Adam's learning rate, in (0, 1e100].
    progress : bool, default True
        Show a tqdm progress bar with the losses.
    verbose : bool, default True
        Print the best validation loss and its epoch, as the handout does.
    engine : {"numpy", "autograd"}, default "numpy"
        How gradients are computed (see above); both train the same model with
        the same algorithm. ``"numpy"`` needs the model on the CPU.

    Returns
    -------
    TrainResult
        The tuple ``(model_best, train_losses, valid_losses)``: the model to use
        and the per-epoch mean training and validation losses (lists of float).
        ``best_epoch`` and ``min_valid_loss`` are attributes.
    """
    model = _check_flow(model)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr", low=0)  # any positive learning rate, up to 1e100
    check_choice(engine, "engine", ("numpy", "autograd"))
    if engine == "numpy" and next(model.parameters()).device.type != "cpu":
        engine = "autograd"
    x = _as_data_tensor(data).to(next(model.parameters()).dtype)
    n = x.shape[0]
    n_train = int(n * 0.9)
    lengths = [n_train, n - n_train]
    perm = torch.randperm(n).tolist()  # exactly random_split's draw from the global generator
    train_x = x[perm[:n_train]]
    valid_x = x[perm[n_train:]]
    train_batches = train_x.split(batch_size)

    train_losses, valid_losses = [], []
    min_valid_loss, best_state, best_epoch = math.inf, None, -1
    bar = progress_bar(range(epochs), progress, unit=" Epoch")
    if engine == "numpy":
        params = _flow_engine.FlowParams(model)
        optimizer = _flow_engine.Adam(params.flat, lr=lr)
        np_batches = [b.cpu().numpy() for b in train_batches]
        np_valid = valid_x.cpu().numpy()
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for epoch in bar:
        if engine == "autograd":  # the NumPy engine never calls the module (and it has no dropout or batch norm)
            model.train(True)
        epoch_loss = 0.0
        if engine == "numpy":
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
                for batch in np_batches:
                    epoch_loss += _flow_engine.loss_and_grad(params, batch)
                    optimizer.step(params.grad)
        else:
            for batch in train_batches:
                loss = -model.log_probability(batch).mean(0)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                epoch_loss += loss.item()
        epoch_loss /= len(train_batches)
        if not math.isfinite(epoch_loss):
            raise FloatingPointError(
                f"training diverged at epoch {epoch} (mean training loss {epoch_loss}); try a smaller lr"
            )
        train_losses.append(epoch_loss)

        if engine == "autograd":
            model.train(False)
        if engine == "numpy":
            log_p = torch.from_numpy(_flow_engine.log_prob(params, np_valid))
            valid_loss = -_batch_mean_of_means(log_p, batch_size).item()
        else:
            with torch.no_grad():
                valid_loss = -_batch_mean_of_means(model.log_probability(valid_x), batch_size).item()
        valid_losses.append(valid_loss)
        if valid_loss < min_valid_loss:
            min_valid_loss, best_epoch = valid_loss, epoch
            if engine == "numpy":
                best_state = params.flat.copy()
            else:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if progress:
            bar.set_postfix(train_loss=f"{epoch_loss:.4f}", valid_loss=f"{valid_loss:.4f}", refresh=False)
    if engine == "numpy":
        params.push()
    model.train(False)  # as after the handout's last validation
    bar.close()
    if verbose:
        print(f"Best model achieved {min_valid_loss:.4f} validation loss at epoch {best_epoch}")
    if lengths[1] < 500 or best_state is None:
        model_best = model
    else:
        model_best = copy.deepcopy(model)
        if engine == "numpy":
            _flow_engine.FlowParams(model_best).push(best_state)
        else:
            model_best.load_state_dict(best_state)
    return TrainResult(model_best, train_losses, valid_losses, best_epoch, min_valid_loss)


def log_density_on_grid(model: CouplingFlow, grid) -> np.ndarray:
    r"""Evaluate ``model.log_probability`` at every point of a grid.

    Parameters
    ----------
    model : CouplingFlow
    grid : probmods.grids.Grid2D

    Returns
    -------
    numpy.ndarray, shape (ny, nx)
        :math:`\log p` at the grid points, as an image.
    """
    param = next(_check_flow(model).parameters())
    pts = torch.from_numpy(_check_grid(grid).points).to(param.dtype)
    with torch.no_grad():
        return grid.reshape(model.log_probability(pts).cpu().numpy().astype(np.float64))


class FlowFit:
    r"""A flow trained on a toy dataset by :func:`~probmods.flows.fit_toy_flow`, with its held-out scores.

    Attributes
    ----------
    model : CouplingFlow
        The returned model (the handout's best-model rule).
    train_losses, valid_losses : list of float
        Per-epoch mean negative log-likelihoods.
    data : numpy.ndarray, shape (N, 2)
        The training set (before the 90/10 split).
    seconds : float
        Wall-clock training time (in the docs build, of the page that trained the flow
        first: later pages load the same fit, see ``probmods._cache``).
    test_nll : float
        Mean negative log-likelihood of ``num_test`` fresh samples of the same
        generator (a different seed from the training data).
    entropy : float
        Mean of :math:`-\log p` under the exact density on the same test samples,
        an estimate of the entropy :math:`H(p)`, the lowest NLL any model can reach.
    kl : float
        ``test_nll - entropy``: a Monte-Carlo estimate of :math:`\mathrm{KL}(p\,\|\,q)`.
    kl_se : float
        Its standard error (from the paired differences).
    kl_median : float
        Median of :math:`\log p - \log q` over the test samples: unlike the mean,
        insensitive to a few test points far in a tail where the flow's density
        collapses.
    tail_fraction : float
        Fraction of test samples with :math:`\log p - \log q > 10`, i.e. where the
        flow's density is more than :math:`e^{10}` times too small.
    log_ratio : numpy.ndarray, shape (num_test,)
        :math:`\log p - \log q` at every test sample (the same test samples for every
        fit with the same ``test_seed``, so two fits can be compared point by point).
    """

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)

    def __repr__(self):
        return (f"FlowFit({self.dist_type}, N={len(self.data)}, K={self.model.num_layers}, "
                f"epochs={len(self.train_losses)}, test NLL={self.test_nll:.3f}, KL={self.kl:.3f})")


_FIT_ARRAYS = ("data", "log_ratio")


def _encode_fit(fit: FlowFit) -> dict:
    """A :class:`FlowFit` as plain data for the build cache (``probmods._cache``)."""
    out = {k: v for k, v in vars(fit).items() if k != "model" and k not in _FIT_ARRAYS}
    out.update({k: torch.from_numpy(np.asarray(getattr(fit, k))) for k in _FIT_ARRAYS})
    model = fit.model
    out["model"] = {"num_layers": model.num_layers, "scale_bound": model.scale_bound,
                    "training": model.training, "state": model.state_dict()}
    return out


def _decode_fit(payload: dict) -> FlowFit:
    fields = dict(payload)
    spec = fields.pop("model")
    model = CouplingFlow(spec["num_layers"], scale_bound=spec["scale_bound"])
    model.load_state_dict(spec["state"])
    model.train(spec["training"])
    fields.update({k: fields[k].numpy() for k in _FIT_ARRAYS})
    return FlowFit(model=model, **fields)


@memoize(_encode_fit, _decode_fit, ignore=("progress",), torch_rng=True)
def fit_toy_flow(dist_type: str, num_samples: int = 1500, num_layers: int = 4, epochs: int = 500,
                 num_gaussians: int = 5, torch_seed: int = 8, num_test: int = 20_000, test_seed: int = 1,
                 progress: bool = True, scale_bound: float | None = None) -> FlowFit:
    """The handout's snippet: seed, make a :class:`~probmods.datasets.ToyDataset`, build and train a flow.

    Seeds are the handout's (``torch.manual_seed(8)`` before the data and the
    model; the data use ``seed=0``), so the model's initialisation and the
    train/validation split are those of the handout. The trained model is then
    scored on ``num_test`` fresh samples against the exact density
    (:func:`probmods.datasets.toy_log_density`).

    Parameters
    ----------
    dist_type : {"Circles", "Moons", "GaussiansGrid", "GaussiansRot"}
    num_samples : int, default 1500
    num_layers : int, default 4
    epochs : int, default 500
    num_gaussians : int, default 5
    torch_seed : int, default 8
    num_test : int, default 20000
    test_seed : int, default 1
        Seed of the test samples; must differ from the training seed 0.
    progress : bool, default True
        tqdm progress bar during training.
    scale_bound : float, optional
        Bound :math:`c` on the layers' log-scales (see :class:`CouplingLayer`);
        ``None`` is the handout's flow. The bound draws no random numbers, so
        with the same ``torch_seed`` the bounded and the handout's flow start
        from the same weights and use the same train/validation split.

    Returns
    -------
    FlowFit

    Notes
    -----
    Deterministic given its arguments, so the docs build computes each fit once and
    later pages load it (``probmods._cache``, active only under ``PROBMODS_CACHE_DIR``).
    """
    import time

    from .datasets import ToyDataset, sample_2d_datasets, toy_log_density

    if check_seed(test_seed, "test_seed") == 0:
        raise ValueError("test_seed must differ from the training data's seed 0")
    if check_positive_int(num_test, "num_test") < 2:
        raise ValueError(f"num_test must be at least 2 (a standard error needs two points), got {num_test}")
    torch.manual_seed(check_seed(torch_seed, "torch_seed"))
    data = ToyDataset(dist_type, num_samples=num_samples, num_gaussians=num_gaussians)
    model = CouplingFlow(num_layers=num_layers, scale_bound=scale_bound)
    t0 = time.perf_counter()
    model_best, train_losses, valid_losses = train(model, data, epochs=epochs, progress=progress, verbose=False)
    seconds = time.perf_counter() - t0
    test = sample_2d_datasets(dist_type, num_samples=num_test, seed=test_seed, num_gaussians=num_gaussians)
    with torch.no_grad():
        log_q = model_best.log_probability(torch.from_numpy(test).float()).double().numpy()
    log_p = toy_log_density(dist_type, test, num_gaussians=num_gaussians)
    diff = log_p - log_q
    return FlowFit(
        dist_type=dist_type, model=model_best, train_losses=list(train_losses), valid_losses=list(valid_losses),
        data=data.data, seconds=seconds, test_nll=float(-log_q.mean()), entropy=float(-log_p.mean()),
        kl=float(diff.mean()), kl_se=float(diff.std(ddof=1) / math.sqrt(len(diff))),
        kl_median=float(np.median(diff)), tail_fraction=float(np.mean(diff > 10)), log_ratio=diff,
    )


def format_scores(fits, label: str = "model") -> str:
    """A table of the scores of several :class:`~probmods.flows.FlowFit` objects, one row each.

    Columns: final training and validation NLL (the handout's), mean test NLL on
    fresh samples, the entropy :math:`H(p)` (the floor), the KL estimate and its
    standard error, the median gap and the percentage of test points in a
    collapsed tail.

    Parameters
    ----------
    fits : dict
        ``row label -> FlowFit``.
    label : str, default "model"
        Header of the first column.

    Returns
    -------
    str
    """
    check_container(fits, "fits", (dict,), nonempty=False, what="dict label -> FlowFit")
    for f in fits.values():
        if not isinstance(f, FlowFit):
            raise TypeError(f"fits must map labels to FlowFit objects, got a {type(f).__name__}")
    width = max([len(str(label))] + [len(str(k)) for k in fits])
    cols = ("train", "valid", "test NLL", "H(p)", "KL", "+-", "median", "tail %")
    lines = [f"{label:>{width}s} " + " ".join(f"{c:>8s}" for c in cols)]
    for key, f in fits.items():
        vals = (f.train_losses[-1], f.valid_losses[-1], f.test_nll, f.entropy, f.kl, f.kl_se, f.kl_median,
                100 * f.tail_fraction)
        lines.append(f"{key!s:>{width}s} " + " ".join(f"{v:8.3f}" for v in vals))
    return "\n".join(lines)

r"""Fast training engine for :class:`~probmods.flows.CouplingFlow`: backpropagation written out.

A coupling flow on 2-D data is a chain of tiny networks (2-32-32-2 MLPs on
batches of 64), so PyTorch's per-operation overhead (a few microseconds for
each of the ~250 kernels of a training step, forward, backward and optimiser)
dominates the arithmetic. This module computes the same loss and its exact
gradient with NumPy, exploiting the structure of the model:

* the mask is one-hot, so the networks of a layer see one non-zero input
  coordinate :math:`c = y_a` and only the output row :math:`b = 1-a` is used
  (the other row is multiplied by zero, its gradient is zero and Adam never
  moves it);
* the scale and shift networks share that input, so both are evaluated at
  once as a stack of two (a batched matrix product per layer).

The backward pass of one inverse layer, with :math:`e = e^{-s}`,
:math:`x_b = (y_b - t)e`, :math:`x_a = y_a` and upstream gradient
:math:`\bar{\mathbf x} = \partial L/\partial\mathbf x`, is

.. math::

    \bar y_b = \bar x_b e,\quad
    \bar t = -\bar x_b e,\quad
    \bar s = -\bar x_b x_b + \frac{\partial L}{\partial s}\Big|_{\log\det},\quad
    \bar y_a = \bar x_a + \frac{\partial L}{\partial c},

followed by ordinary backpropagation through the two MLPs. With a bounded
log-scale (``scale_bound`` :math:`c`), :math:`s = c\tanh(s_\mathrm{raw}/c)` and
the chain rule adds one factor,
:math:`\bar s_\mathrm{raw} = \bar s\,(1 - \tanh^2(s_\mathrm{raw}/c))`. The tests check the
result against :func:`torch.autograd` in float64, and Adam is PyTorch's update
rule, so training follows the autograd path up to floating-point rounding.
"""

from __future__ import annotations

import math

import numpy as np
import torch

_SLOPE = 0.01  # nn.LeakyReLU's default negative slope
_LOG_2PI = math.log(2 * math.pi)
_SHAPES = (("W1", (2, 32)), ("b1", (2, 32)), ("W2", (2, 32, 32)), ("b2", (2, 32)),
           ("w3", (2, 32)), ("b3", (2,)), ("sf", ()))


class FlowParams:
    """The trainable entries of a CouplingFlow as one flat array, with per-layer views."""

    def __init__(self, model):
        self.model = model
        self.dtype = np.float64 if next(model.parameters()).dtype == torch.float64 else np.float32
        self.axes = []
        for layer in model.layers:
            a = int(torch.argmax(layer.mask).item())
            self.axes.append((a, 1 - a))
        #: per layer, the bound c of a bounded log-scale, or None (the handout's layer)
        self.bounds = [getattr(layer, "scale_bound", None) for layer in model.layers]
        self.size_per_layer = sum(int(np.prod(s)) for _, s in _SHAPES)
        self.flat = np.zeros(self.size_per_layer * len(self.axes), dtype=self.dtype)
        self.layers = self.views(self.flat)
        self.grad = np.zeros_like(self.flat)
        self.grad_layers = self.views(self.grad)
        self.pull()

    def views(self, flat):
        out, off = [], 0
        for _ in self.axes:
            d = {}
            for name, shape in _SHAPES:
                n = int(np.prod(shape))
                d[name] = flat[off : off + n].reshape(shape)
                off += n
            out.append(d)
        return out

    def pull(self):
        """Copy the module's parameters into the flat array."""
        with torch.no_grad():
            for layer, (a, b), p in zip(self.model.layers, self.axes, self.layers, strict=True):
                for k, net in enumerate((layer.s_func, layer.t_func)):
                    p["W1"][k] = net[0].weight[:, a].cpu().numpy()
                    p["b1"][k] = net[0].bias.cpu().numpy()
                    p["W2"][k] = net[2].weight.cpu().numpy()
                    p["b2"][k] = net[2].bias.cpu().numpy()
                    p["w3"][k] = net[4].weight[b, :].cpu().numpy()
                    p["b3"][k] = net[4].bias[b].cpu().numpy()
                p["sf"][...] = layer.scale_factor[b].cpu().numpy()

    def push(self, flat=None):
        """Write the flat array (or another one of the same layout) into the module."""
        params = self.layers if flat is None else self.views(flat)
        with torch.no_grad():
            for layer, (a, b), p in zip(self.model.layers, self.axes, params, strict=True):
                for k, net in enumerate((layer.s_func, layer.t_func)):
                    net[0].weight[:, a] = torch.from_numpy(np.ascontiguousarray(p["W1"][k]))
                    net[0].bias.copy_(torch.from_numpy(np.ascontiguousarray(p["b1"][k])))
                    net[2].weight.copy_(torch.from_numpy(np.ascontiguousarray(p["W2"][k])))
                    net[2].bias.copy_(torch.from_numpy(np.ascontiguousarray(p["b2"][k])))
                    net[4].weight[b, :] = torch.from_numpy(np.ascontiguousarray(p["w3"][k]))
                    net[4].bias[b] = float(p["b3"][k])
                layer.scale_factor[b] = float(p["sf"])


def _leaky(h):
    return np.maximum(h, _SLOPE * h)  # LeakyReLU for a slope below 1


def _leaky_slope(h):
    """LeakyReLU's derivative, 1 where ``h > 0`` and the slope elsewhere, in ``h``'s dtype.

    ``h * _leaky_slope(h)`` is ``_leaky(h)`` bit for bit (a product with 1 is exact, and below
    zero both take the product with the slope), and the backward pass multiplies by the same
    array instead of branching again (``np.where`` costs three times as much on these small
    arrays). The maximum of the booleans, as 0 or 1, with the slope is one ufunc call."""
    return np.maximum(h > 0, h.dtype.type(_SLOPE))


def log_prob(params: FlowParams, y: np.ndarray) -> np.ndarray:
    """log p(y) for a batch ``y`` of shape (B, 2): inverses from the last layer, no gradient."""
    y = np.array(y, dtype=params.dtype)
    total = np.zeros(len(y), dtype=params.dtype)
    for p, (a, b), bound in zip(reversed(params.layers), reversed(params.axes), reversed(params.bounds),
                                strict=True):
        c = y[:, a]
        h1 = c[None, :, None] * p["W1"][:, None, :] + p["b1"][:, None, :]
        a1 = _leaky(h1)
        a2 = _leaky(np.matmul(a1, p["W2"].transpose(0, 2, 1)) + p["b2"][:, None, :])
        o = np.matmul(a2, p["w3"][:, :, None])[..., 0] + p["b3"][:, None]
        s = o[0] * p["sf"]
        if bound is not None:
            s = bound * np.tanh(s / bound)
        y[:, b] = (y[:, b] - o[1]) * np.exp(-s)
        total -= s
    return total - 0.5 * (y * y).sum(1) - _LOG_2PI


def loss_and_grad(params: FlowParams, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the batch ``y`` (B, 2); its gradient goes into ``params.grad``."""
    y = np.array(y, dtype=params.dtype)
    n = len(y)
    tape = []
    log_det = 0
    for p, (a, b), bound in zip(reversed(params.layers), reversed(params.axes), reversed(params.bounds),
                                strict=True):
        c = y[:, a].copy()
        h1 = c[None, :, None] * p["W1"][:, None, :] + p["b1"][:, None, :]
        f1 = _leaky_slope(h1)
        a1 = h1 * f1
        h2 = np.matmul(a1, p["W2"].transpose(0, 2, 1)) + p["b2"][:, None, :]
        f2 = _leaky_slope(h2)
        a2 = h2 * f2
        o = np.matmul(a2, p["w3"][:, :, None])[..., 0] + p["b3"][:, None]
        s = o[0] * p["sf"]
        if bound is None:
            th = None
        else:
            th = np.tanh(s / bound)
            s = bound * th
        e = np.exp(-s)
        y[:, b] = (y[:, b] - o[1]) * e
        log_det = log_det - s  # the same additions, in the same order, as summing -s afterwards
        tape.append((c, f1, a1, f2, a2, o, th, e, y[:, b].copy()))
    logp = log_det - 0.5 * (y * y).sum(1) - _LOG_2PI
    total = np.add.reduce(logp)
    loss = -float(total / n)  # = logp.mean(): NumPy's mean is this sum over the count

    grads = params.grad_layers
    gy = y / n  # dL/dz for L = -mean(-|z|^2 / 2 + ...)
    ds_logdet = np.full(n, 1.0 / n, dtype=params.dtype)  # L contains +mean(s) through -log det
    for (c, f1, a1, f2, a2, o, th, e, xb), p, g, (a, b) in zip(
        reversed(tape), params.layers, grads, params.axes, strict=True
    ):
        gxb = gy[:, b]
        d_s = -gxb * xb + ds_logdet
        if th is not None:  # s = c tanh(s_raw / c): ds/ds_raw = 1 - tanh^2
            d_s = d_s * (1 - th * th)
        d_o = np.empty_like(o)
        d_o[0] = d_s * p["sf"]
        d_o[1] = -gxb * e
        g["sf"][...] = np.dot(d_s, o[0])
        g["w3"][...] = np.matmul(d_o[:, None, :], a2)[:, 0, :]
        g["b3"][...] = d_o.sum(1)
        d_h2 = d_o[:, :, None] * p["w3"][:, None, :]
        d_h2 *= f2
        g["W2"][...] = np.matmul(d_h2.transpose(0, 2, 1), a1)
        g["b2"][...] = d_h2.sum(1)
        d_h1 = np.matmul(d_h2, p["W2"])
        d_h1 *= f1
        g["W1"][...] = np.matmul(c, d_h1)
        g["b1"][...] = d_h1.sum(1)
        d_c = (d_h1 * p["W1"][:, None, :]).sum((0, 2))
        new = np.empty_like(gy)
        new[:, b] = gxb * e
        new[:, a] = gy[:, a] + d_c
        gy = new
    return loss


class Adam:
    """PyTorch's Adam update (default betas and eps, no weight decay) on a flat array."""

    def __init__(self, params: np.ndarray, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = params
        self.lr, self.beta1, self.beta2, self.eps = lr, betas[0], betas[1], eps
        self.m = np.zeros_like(params)
        self.v = np.zeros_like(params)
        self.step_count = 0
        self._tmp = np.empty_like(params)

    def step(self, grad: np.ndarray) -> None:
        self.step_count += 1
        b1, b2 = self.beta1, self.beta2
        self.m += (1 - b1) * (grad - self.m)  # lerp, as torch
        self.v *= b2
        self.v += (1 - b2) * grad * grad
        bc1 = 1 - b1**self.step_count
        bc2 = 1 - b2**self.step_count
        np.sqrt(self.v, out=self._tmp)
        self._tmp /= math.sqrt(bc2)
        self._tmp += self.eps
        self.params -= (self.lr / bc1) * self.m / self._tmp

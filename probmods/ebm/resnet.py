r"""The course's own energy network: the handout's wide-ResNet ``ResNet(n_channels=1)``.

The handout of HW2 (Part II) prints the network behind the course's pretrained
``checkpoint.pt`` and loads it with::

    ebm = ResNet(n_channels=1)
    ebm.load_state_dict(torch.load(checkpoint_path, weights_only=True))

:class:`~probmods.ebm.resnet.ResNet` makes that snippet work with the handout's parameter names
(``_el.in_conv``, ``_el.levels.<i>.res_blocks.<j>.conv_1`` / ``conv_2`` /
``shortcut_conv``, ``_el.out_fc``); :func:`load_course_energy` wraps a checkpoint as a
sampler energy, and :func:`load_energy` picks the course checkpoint when the
environment variable ``PROBMODS_COURSE_ENERGY`` names one, the shipped model
(:func:`~probmods.ebm.load_pretrained`) otherwise.

**Sign convention.** The handout defines :math:`p_\theta(\mathbf x) = e^{-E_\theta(\mathbf x)}/Z(\theta)`
and states that the model "gets an image x and returns :math:`E_\theta(\mathbf x)`", with
:math:`\nabla_{\mathbf x} E` from autograd; Task 5 then needs
:math:`\nabla\log p = -\nabla E_\theta`. So the network's output is an *energy* (low on
digits), and the sampler energy is ``+ebm(x)`` at :math:`T = 1`, with no pixel-range
term: :math:`E(\mathbf x) = E_\theta(\mathbf x)`. Nothing else in the handout fixes the
sign; it is the handout's word, not a property checked on the course's weights.

**What is reconstructed and what is inferred.** The OCR of the handout keeps the level
loop, the initialisation and the forward pass; it cuts off the class header, the
input convolution and the default level table. From the printed code, verbatim:

* each level is a list of residual blocks; its first block has a ``shortcut_conv`` (a
  1x1 convolution, or a 2x2 one with stride 2 when the level downsamples) and maps the
  channels to the level's ``n_channels``; its ``conv_1`` is 3x3 with padding 1; its
  ``conv_2`` is 3x3 (stride 1, padding 1), or 4x4 with stride 2 when the level
  downsamples; the other blocks have two 3x3 convolutions (padding 1) and an identity
  shortcut; every convolution has a bias (PyTorch's default);
* the blocks are *pre-activation*: ``x -> leaky_relu(x, 0.2) -> conv_1 -> leaky_relu(., 0.2)
  -> conv_2``, plus the shortcut (the raw block input, through ``shortcut_conv`` when
  there is one);
* after the last level: ``leaky_relu(., 0.2)``, a *sum* (not a mean) over the spatial
  positions, and ``out_fc``, a linear map to one number without bias; the output is
  ``x[:, 0]``, shape (B,);
* initialisation: Xavier-uniform convolution weights with gain :math:`\sqrt 2`, zero
  convolution biases, PyTorch's default for ``out_fc``.

Inferred (not in the OCR):

* the stride 2 and padding 0 of the downsampling ``shortcut_conv`` (cut after "s") and the
  padding 1 of the downsampling ``conv_2`` (cut after "pa"): with them the shortcut and the
  residual branch have the same size at every input size (28 -> 14 -> 7 -> 3 -> 1), as the
  sum ``x + shortcut`` requires; the only other small pair that does so, paddings 1 and 2,
  would be unusual for a 2x2 and a 4x4 kernel. Shapes in a checkpoint do not depend on
  padding, so this cannot be checked against the course's weights;
* the input convolution ``_el.in_conv``: its output channels, kernel size and whether it
  has a bias are read from the checkpoint; its stride 1 and padding ``kernel_size // 2``
  (a "same" convolution, as in the stem of a wide ResNet) cannot be read from a
  checkpoint and are assumed;
* the level table (the class's default ``levels_params``): read from the checkpoint's
  keys and shapes, see below.

**How the levels are built.** ``ResNet(n_channels=1)`` without ``levels_params`` is
*adaptive*: it holds no layers until a state dict is loaded, and loading one (through
:meth:`torch.nn.Module.load_state_dict`, also when the network sits inside another
module) first builds the layers that the keys and shapes describe
(:func:`~probmods.ebm.resnet.infer_architecture`), on the device and with the dtype the empty network was
moved to, in its training mode, then copies the weights as usual. Loading a state dict of
another architecture into an adaptive network rebuilds it; loading one of the same
architecture keeps its parameters (so an optimizer that holds them stays valid). A
network built with an explicit ``levels_params`` is fixed, and a mismatching state dict
fails as in PyTorch. This choice, rather than a guessed default table, keeps any number
that depends on the architecture from resting on a guess.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._checks import as_tensor, check_container, check_instance, check_positive_int, module_dtype
from .model import SamplerEnergy, check_images

__all__ = ["ENV_VAR", "ResNet", "CourseEnergy", "infer_architecture", "load_course_energy", "load_energy"]

#: The environment variable that :func:`load_energy` reads: the path of the course's ``checkpoint.pt``.
ENV_VAR = "PROBMODS_COURSE_ENERGY"

MAX_CHANNELS = 1024  # channels of any convolution (a 4x4 convolution at this width holds 16.8 M weights)
MAX_BLOCKS = 64  # residual blocks per level
MAX_KERNEL = 31  # kernel size of the input convolution
SLOPE = 0.2  # of every leaky ReLU (the handout's value)
_LEVEL_KEYS = ("n_blocks", "n_channels", "downsample")
_KEY = re.compile(r"_el\.levels\.(\d+)\.res_blocks\.(\d+)\.(conv_1|conv_2|shortcut_conv)\.(weight|bias)")


def _level_params(levels_params, name: str = "levels_params") -> list:
    """The handout's level table as a list of dicts ``{'n_blocks', 'n_channels', 'downsample'}``."""
    check_container(levels_params, name, types=(list, tuple), nonempty=False,
                    what="a list of levels, each {'n_blocks', 'n_channels', 'downsample'} or such a triple")
    out = []
    for i, level in enumerate(levels_params):
        where = f"{name}[{i}]"
        if isinstance(level, Mapping):
            if set(level) != set(_LEVEL_KEYS):
                raise ValueError(f"{where} must have the keys {list(_LEVEL_KEYS)}, got {sorted(map(str, level))}")
            n_blocks, n_channels, downsample = (level[k] for k in _LEVEL_KEYS)
        elif isinstance(level, (list, tuple)) and len(level) == 3:
            n_blocks, n_channels, downsample = level
        else:
            raise TypeError(f"{where} must be a dict with the keys {list(_LEVEL_KEYS)} or a triple "
                            f"(n_blocks, n_channels, downsample), got {type(level).__name__}")
        if not isinstance(downsample, (bool, np.bool_)):
            raise TypeError(f"{where}: downsample must be a bool, got {type(downsample).__name__}")
        out.append({"n_blocks": check_positive_int(n_blocks, f"{where} n_blocks", high=MAX_BLOCKS),
                    "n_channels": check_positive_int(n_channels, f"{where} n_channels", high=MAX_CHANNELS),
                    "downsample": bool(downsample)})
    return out


def _parameter_shapes(n_channels: int, width: int, kernel_size: int, in_bias: bool, levels_params: list) -> dict:
    """``key -> shape`` of every parameter of the family member (the handout's layer rules)."""
    shapes = {"_el.in_conv.weight": (width, n_channels, kernel_size, kernel_size)}
    if in_bias:
        shapes["_el.in_conv.bias"] = (width,)
    c = width
    for i, level in enumerate(levels_params):
        out, down = level["n_channels"], level["downsample"]
        for j in range(level["n_blocks"]):
            key = f"_el.levels.{i}.res_blocks.{j}."
            if j == 0:
                k = 2 if down else 1
                shapes[key + "shortcut_conv.weight"], shapes[key + "shortcut_conv.bias"] = (out, c, k, k), (out,)
            shapes[key + "conv_1.weight"], shapes[key + "conv_1.bias"] = (out, c if j == 0 else out, 3, 3), (out,)
            k = 4 if down and j == 0 else 3
            shapes[key + "conv_2.weight"], shapes[key + "conv_2.bias"] = (out, out, k, k), (out,)
        c = out
    shapes["_el.out_fc.weight"] = (1, c)
    return shapes


def infer_architecture(state_dict) -> dict:
    """The :class:`~probmods.ebm.resnet.ResNet` that a state dict describes, read from its keys and shapes.

    Parameters
    ----------
    state_dict : mapping of str to torch.Tensor
        A state dict of the family (keys as the handout names them, see :class:`~probmods.ebm.resnet.ResNet`).

    Returns
    -------
    dict
        The keyword arguments of :class:`~probmods.ebm.resnet.ResNet`: ``n_channels`` (input channels),
        ``width`` and ``kernel_size`` (of ``in_conv``), ``in_bias`` and ``levels_params``
        (a list of dicts ``{'n_blocks', 'n_channels', 'downsample'}``, the handout's level table).

    Raises
    ------
    TypeError
        If ``state_dict`` is not a mapping of strings to tensors.
    ValueError
        If a key is not one of the family's, a level or block is missing, or a shape is not
        the one the handout's layer rules give.

    Examples
    --------
    >>> from probmods.ebm.resnet import ResNet, infer_architecture
    >>> net = ResNet(n_channels=1, levels_params=[(1, 8, False), (2, 16, True)])
    >>> arch = infer_architecture(net.state_dict())
    >>> arch["width"], arch["levels_params"][1]
    (8, {'n_blocks': 2, 'n_channels': 16, 'downsample': True})
    """
    return _infer(state_dict, "state_dict")


def _infer(state_dict, name: str) -> dict:
    """:func:`~probmods.ebm.resnet.infer_architecture`, naming ``state_dict`` as ``name`` in its messages."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"{name} must be a state dict (a mapping of parameter names to tensors), "
                        f"got {type(state_dict).__name__}")
    for key, value in state_dict.items():
        if not isinstance(key, str) or not torch.is_tensor(value):
            raise TypeError(f"{name} must map parameter names to tensors, got {key!r}: {type(value).__name__}")
    w = state_dict.get("_el.in_conv.weight")
    fc = state_dict.get("_el.out_fc.weight")
    if w is None or fc is None:
        raise ValueError(f"{name} is not a state dict of the handout's ResNet: it lacks _el.in_conv.weight or "
                         f"_el.out_fc.weight (its first keys: {list(state_dict)[:4]})")
    if w.ndim != 4 or w.shape[2] != w.shape[3]:
        raise ValueError(f"{name}: _el.in_conv.weight must be a square convolution kernel (out, in, k, k), "
                         f"got shape {tuple(w.shape)}")
    blocks: dict = {}
    for key in state_dict:
        m = _KEY.fullmatch(key)
        if m:
            blocks.setdefault(int(m.group(1)), {}).setdefault(int(m.group(2)), set()).add(m.group(3))
        elif key not in ("_el.in_conv.weight", "_el.in_conv.bias", "_el.out_fc.weight"):
            raise ValueError(f"{name}: unexpected key {key!r} for the handout's ResNet")
    if sorted(blocks) != list(range(len(blocks))):
        raise ValueError(f"{name}: the levels must be numbered 0, 1, ..., got {sorted(blocks)}")
    levels = []
    for i in range(len(blocks)):
        if sorted(blocks[i]) != list(range(len(blocks[i]))):
            raise ValueError(f"{name}: the residual blocks of level {i} must be numbered 0, 1, ..., "
                             f"got {sorted(blocks[i])}")
        if "shortcut_conv" not in blocks[i][0] or "conv_2" not in blocks[i][0] or "conv_1" not in blocks[i][0]:
            raise ValueError(f"{name}: the first block of level {i} needs conv_1, conv_2 and shortcut_conv")
        conv_1, conv_2 = (state_dict[f"_el.levels.{i}.res_blocks.0.{c}.weight"] for c in ("conv_1", "conv_2"))
        if conv_1.ndim != 4 or conv_2.ndim != 4 or conv_2.shape[-1] not in (3, 4):
            raise ValueError(f"{name}: level {i}'s first conv_2 must be a 3x3 or a 4x4 (downsampling) "
                             f"convolution, got shape {tuple(conv_2.shape)}")
        levels.append({"n_blocks": len(blocks[i]), "n_channels": int(conv_1.shape[0]),
                       "downsample": conv_2.shape[-1] == 4})
    arch = {"n_channels": int(w.shape[1]), "width": int(w.shape[0]), "kernel_size": int(w.shape[2]),
            "in_bias": "_el.in_conv.bias" in state_dict, "levels_params": levels}
    try:
        _check_arch(arch)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not a supported architecture: {exc}") from None
    expected = _parameter_shapes(**arch)
    missing, extra = sorted(set(expected) - set(state_dict)), sorted(set(state_dict) - set(expected))
    if missing or extra:
        raise ValueError(f"{name}: not the handout's ResNet (missing keys {missing[:5]}, unexpected {extra[:5]})")
    for key, shape in expected.items():
        if tuple(state_dict[key].shape) != shape:
            raise ValueError(f"{name}: {key!r} has shape {tuple(state_dict[key].shape)}; the handout's layer rules "
                             f"give {shape} for the levels {levels}")
    return arch


def _check_arch(arch: dict) -> None:
    check_positive_int(arch["n_channels"], "n_channels", high=MAX_CHANNELS)
    check_positive_int(arch["width"], "width", high=MAX_CHANNELS)
    check_positive_int(arch["kernel_size"], "kernel_size", high=MAX_KERNEL)
    _level_params(arch["levels_params"])


class ResNet(nn.Module):
    r"""The handout's wide-ResNet energy :math:`E_\theta`: (B, C, H, W) images -> (B,) energies.

    The class of the handout (HW2, Part II) with its parameter names, reconstructed from the
    printed code; the module docstring of :mod:`probmods.ebm.resnet` lists what is
    reconstructed and what is inferred. Its output is the energy :math:`E_\theta(\mathbf x)`
    of :math:`p_\theta \propto e^{-E_\theta}` (low on digits).

    Parameters
    ----------
    n_channels : int, default 1
        Channels of the input images (1 for MNIST), as in the handout's ``ResNet(n_channels=1)``.
    levels_params : list, optional
        The level table: one entry per level, a dict ``{'n_blocks': int, 'n_channels': int,
        'downsample': bool}`` (the handout's keys) or the triple ``(n_blocks, n_channels,
        downsample)``. Without it the network is *adaptive*: it is built from the first state
        dict it loads (the handout's table is cut off in our copy, so there is no default).
    width : int, optional
        Output channels of ``in_conv`` (with ``levels_params`` only); default the first level's
        ``n_channels`` (or 16 without levels).
    kernel_size : int, optional
        Kernel size of ``in_conv`` (with ``levels_params`` only; stride 1, padding
        ``kernel_size // 2``); default 3, at most 31.
    in_bias : bool, default True
        Whether ``in_conv`` has a bias.

    Attributes
    ----------
    levels_params : list of dict or None
        The level table in the handout's form (``None`` until an adaptive network is built).
    adaptive : bool
        Whether loading a state dict (re)builds the layers from its keys and shapes.

    Examples
    --------
    The handout's way, with a checkpoint written by ``torch.save(model.state_dict(), path)``:

    >>> import tempfile, torch
    >>> from probmods.ebm.resnet import ResNet
    >>> trained = ResNet(n_channels=1, levels_params=[(1, 8, False), (1, 16, True)])
    >>> path = tempfile.mkdtemp() + "/checkpoint.pt"
    >>> torch.save(trained.state_dict(), path)
    >>> ebm = ResNet(n_channels=1)
    >>> ebm.eval()
    ResNet(n_channels=1, adaptive: built from the first state dict loaded)
    >>> _ = ebm.load_state_dict(torch.load(path, weights_only=True))
    >>> ebm.levels_params[1]
    {'n_blocks': 1, 'n_channels': 16, 'downsample': True}
    >>> x = torch.rand(3, 1, 28, 28)
    >>> ebm(x).shape
    torch.Size([3])
    >>> bool(torch.equal(ebm(x), trained(x)))
    True
    """

    def __init__(self, n_channels: int = 1, levels_params=None, width: int | None = None,
                 kernel_size: int | None = None, in_bias: bool = True):
        super().__init__()
        self.n_channels = check_positive_int(n_channels, "n_channels", high=MAX_CHANNELS)
        if not isinstance(in_bias, bool):
            raise TypeError(f"in_bias must be a bool, got {type(in_bias).__name__}")
        # a parameterless marker that follows .to(device/dtype), so that lazily built layers land where it is
        self.register_buffer("_anchor", torch.empty(0), persistent=False)
        self.levels_params = None
        self.adaptive = levels_params is None
        if self.adaptive:
            if width is not None or kernel_size is not None:
                raise ValueError("width and kernel_size describe the layers of a given levels_params; without "
                                 "levels_params the network is built from the state dict it loads")
            return
        levels = _level_params(levels_params)
        if width is None:
            width = levels[0]["n_channels"] if levels else 16
        self._build(width=check_positive_int(width, "width", high=MAX_CHANNELS),
                    kernel_size=check_positive_int(3 if kernel_size is None else kernel_size, "kernel_size",
                                                   high=MAX_KERNEL),
                    in_bias=in_bias, levels_params=levels)

    # ------------------------------------------------------------------ construction (the handout's code)
    def _build(self, width: int, kernel_size: int, in_bias: bool, levels_params: list) -> None:
        el = nn.ModuleDict()
        el["in_conv"] = nn.Conv2d(self.n_channels, width, kernel_size, stride=1, padding=kernel_size // 2,
                                  bias=in_bias)
        n_channels = width
        levels = nn.ModuleList()
        for level_params in levels_params:
            level = nn.ModuleDict()
            res_blocks = nn.ModuleList()
            # the first residual block of the level
            res_block = nn.ModuleDict()
            n_channels_out = level_params["n_channels"]
            if level_params["downsample"]:
                res_block["shortcut_conv"] = nn.Conv2d(n_channels, n_channels_out, kernel_size=2, stride=2)
            else:
                res_block["shortcut_conv"] = nn.Conv2d(n_channels, n_channels_out, kernel_size=1)
            res_block["conv_1"] = nn.Conv2d(n_channels, n_channels_out, kernel_size=3, padding=1)
            n_channels = n_channels_out
            if level_params["downsample"]:
                res_block["conv_2"] = nn.Conv2d(n_channels, n_channels, kernel_size=4, stride=2, padding=1)
            else:
                res_block["conv_2"] = nn.Conv2d(n_channels, n_channels, kernel_size=3, stride=1, padding=1)
            res_blocks.append(res_block)
            # the other residual blocks of the level
            for _ in range(level_params["n_blocks"] - 1):
                res_block = nn.ModuleDict()
                res_block["conv_1"] = nn.Conv2d(n_channels, n_channels, kernel_size=3, padding=1)
                res_block["conv_2"] = nn.Conv2d(n_channels, n_channels, kernel_size=3, padding=1)
                res_blocks.append(res_block)
            level["res_blocks"] = res_blocks
            levels.append(level)
        el["levels"] = levels
        el["out_fc"] = nn.Linear(n_channels, 1, bias=False)
        for module in el.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.xavier_uniform_(module.weight, gain=2**0.5)
                if module.bias is not None:
                    module.bias.data.zero_()
        self._el = el.to(device=self._anchor.device, dtype=self._anchor.dtype).train(self.training)
        self.levels_params = [dict(level) for level in levels_params]
        self._arch = {"n_channels": self.n_channels, "width": width, "kernel_size": kernel_size,
                      "in_bias": in_bias, "levels_params": self.levels_params}

    @classmethod
    def from_state_dict(cls, state_dict) -> ResNet:
        """A fixed (non-adaptive) network built from a state dict's keys and shapes, with its weights.

        Parameters
        ----------
        state_dict : mapping of str to torch.Tensor
            For example ``torch.load("checkpoint.pt", weights_only=True)``.

        Returns
        -------
        ResNet
            In training mode, like a freshly constructed module.

        Examples
        --------
        >>> from probmods.ebm.resnet import ResNet
        >>> net = ResNet.from_state_dict(ResNet(levels_params=[(2, 8, True)]).state_dict())
        >>> net.levels_params
        [{'n_blocks': 2, 'n_channels': 8, 'downsample': True}]
        """
        arch = infer_architecture(state_dict)
        net = cls(**arch)
        net.load_state_dict(state_dict)
        return net

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # Called by ``load_state_dict`` before it descends into the children: an adaptive network builds them
        # here from the keys under its prefix, so that the handout's ``ResNet(n_channels=1).load_state_dict``
        # (and the load of a module that contains it) finds the layers the checkpoint describes.
        if self.adaptive:
            own = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
            if own:
                arch = infer_architecture(own)
                if arch["n_channels"] != self.n_channels:
                    raise ValueError(f"state_dict: its in_conv takes {arch['n_channels']} input channels, this "
                                     f"ResNet was made with n_channels={self.n_channels}")
                if arch != getattr(self, "_arch", None):
                    arch.pop("n_channels")
                    self._build(**arch)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def extra_repr(self) -> str:
        """``n_channels`` and, before an adaptive network is built, how it will be."""
        if "_el" not in self._modules:
            return f"n_channels={self.n_channels}, adaptive: built from the first state dict loaded"
        return f"n_channels={self.n_channels}" + (", adaptive" if self.adaptive else "")

    # ------------------------------------------------------------------ the handout's forward pass
    def forward(self, x) -> torch.Tensor:
        """:math:`E_\\theta(\\mathbf x)` for images ``x`` of shape (B, n_channels, H, W) -> (B,).

        NumPy arrays and float64 tensors are cast to the network's dtype; non-finite
        images are refused.
        """
        if "_el" not in self._modules:
            raise RuntimeError("this ResNet has no layers yet: load a checkpoint first (the handout's "
                               "ebm.load_state_dict(torch.load(path, weights_only=True))), or pass levels_params")
        x = as_tensor(x, "x", ndim=4, dtype=module_dtype(self), what=f"(B, {self.n_channels}, H, W)")
        if x.shape[1] != self.n_channels:
            raise ValueError(f"x must have shape (B, {self.n_channels}, H, W), got shape {tuple(x.shape)}")
        size = min(x.shape[2:])
        for level in self.levels_params:
            if level["downsample"]:
                if size < 2:
                    raise ValueError(f"x of shape {tuple(x.shape)} is too small for the "
                                     f"{sum(lv['downsample'] for lv in self.levels_params)} downsampling levels")
                size = (size - 2) // 2 + 1
        el = self._el
        x = el["in_conv"](x)
        for level in el["levels"]:
            for res_block in level["res_blocks"]:
                shortcut = x
                x = F.leaky_relu(x, SLOPE)
                x = res_block["conv_1"](x)
                x = F.leaky_relu(x, SLOPE)
                x = res_block["conv_2"](x)
                if "shortcut_conv" in res_block:
                    shortcut = res_block["shortcut_conv"](shortcut)
                x = x + shortcut
        x = F.leaky_relu(x, SLOPE)
        x = x.flatten(2).sum(dim=2)  # the handout's x.view(B, C, -1).sum(dim=2), for any memory format
        x = el["out_fc"](x)
        return x[:, 0]


class CourseEnergy(SamplerEnergy):
    r"""The sampler-facing energy of the course's network: :math:`E(\mathbf x) = E_\theta(\mathbf x)`.

    A :class:`~probmods.ebm.model.SamplerEnergy` at temperature :math:`T = 1` and without the
    pixel-range term (``range_scale`` is ``inf``, ``range_term`` is zero), so that code written for
    the shipped model (which reads ``temperature``, ``range_scale``, ``range_term`` and
    ``energy_net``) runs unchanged on it.

    Parameters
    ----------
    energy_net : torch.nn.Module
        The network, typically a :class:`~probmods.ebm.resnet.ResNet`; it maps (B, 1, 28, 28) images to (B,) energies.

    Examples
    --------
    >>> import torch
    >>> from probmods.ebm.resnet import CourseEnergy, ResNet
    >>> energy = CourseEnergy(ResNet(levels_params=[(1, 4, True)]))
    >>> x = torch.rand(2, 1, 28, 28)
    >>> bool(torch.equal(energy(x), energy.energy_net(x))), energy.temperature, energy.range_scale
    (True, 1.0, inf)
    """

    def __init__(self, energy_net: nn.Module):
        nn.Module.__init__(self)
        self.energy_net = check_instance(energy_net, "energy_net", nn.Module, "a torch.nn.Module")
        self.temperature = 1.0
        self.range_scale = math.inf

    def range_term(self, x) -> torch.Tensor:
        """Zero for every image (this model has no pixel-range term): (B, 1, 28, 28) -> (B,)."""
        x = check_images(x, "x", self.energy_net)
        return x.new_zeros(x.shape[0])

    def _range(self, x: torch.Tensor) -> torch.Tensor:  # the unchecked range term of SamplerEnergy: none here
        return x.new_zeros(x.shape[0])

    def forward(self, x) -> torch.Tensor:
        """:math:`E(\\mathbf x) = E_\\theta(\\mathbf x)` for images (B, 1, 28, 28) -> (B,)."""
        return self.energy_net(check_images(x, "x", self.energy_net))


def _bad(path, what):
    return ValueError(f"{path}: {what}")


def load_course_energy(path) -> CourseEnergy:
    r"""The course's pretrained energy (the handout's ``checkpoint.pt``), ready for the samplers.

    The file is what the handout loads, a plain state dict of :class:`~probmods.ebm.resnet.ResNet` (as written by
    ``torch.save(model.state_dict(), path)``). It is read with
    ``torch.load(path, weights_only=True, map_location="cpu")`` (a GPU checkpoint loads on a CPU), its
    levels are read from its keys and shapes (:func:`~probmods.ebm.resnet.infer_architecture`), and it is checked: keys
    and shapes of the family, one input channel, finite floating-point weights. The weights are
    cast to float32.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file.

    Returns
    -------
    CourseEnergy
        :math:`E(\mathbf x) = E_\theta(\mathbf x)` at :math:`T = 1`, no pixel-range term:
        images (B, 1, 28, 28) in [0, 1] -> energies (B,), :math:`p(\mathbf x) \propto
        e^{-E(\mathbf x)}` (the handout's sign convention: the network returns the energy). In
        eval mode, parameters frozen; ``info`` holds the path and the architecture.

    Raises
    ------
    TypeError
        If ``path`` is not a path.
    ValueError
        If the file is missing, empty, not a torch file, not a state dict of the family,
        for another number of input channels, or holds NaN or infinite weights; the message
        names the path.

    Examples
    --------
    >>> import tempfile, torch
    >>> from probmods.ebm.resnet import ResNet, load_course_energy
    >>> path = tempfile.mkdtemp() + "/checkpoint.pt"
    >>> torch.save(ResNet(n_channels=1, levels_params=[(1, 8, True)]).state_dict(), path)
    >>> energy = load_course_energy(path)
    >>> energy(torch.rand(5, 1, 28, 28)).shape
    torch.Size([5])
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    file = Path(path)
    if not file.is_file():
        raise _bad(file, "no such file")
    try:
        state = torch.load(file, weights_only=True, map_location="cpu")
    except Exception as exc:  # empty or truncated files, foreign pickles, non-zip data
        raise _bad(file, f"not a weights file that torch.load(weights_only=True) can read ({exc})") from exc
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping) \
            and "_el.in_conv.weight" not in state:
        raise _bad(file, "holds a dict with a 'state_dict' entry (perhaps probmods' own energy.pt: load it with "
                         "load_pretrained); the course's checkpoint is a plain state dict of the handout's ResNet")
    try:
        arch = _infer(state, "the checkpoint")
    except (TypeError, ValueError) as exc:
        raise _bad(file, f"not a checkpoint of the handout's ResNet: {exc}") from None
    if arch["n_channels"] != 1:
        raise _bad(file, f"a ResNet for {arch['n_channels']}-channel images; the digits have 1 channel")
    for key, value in state.items():
        if not value.is_floating_point():
            raise _bad(file, f"{key!r} is not a floating-point tensor")
        if not bool(torch.isfinite(value).all()):
            raise _bad(file, f"{key!r} holds NaN or infinite values")
    net = ResNet(**arch)
    net.load_state_dict(state)
    energy = CourseEnergy(net)
    energy.info = {"path": str(file), "architecture": "course ResNet", "temperature": 1.0, "range_scale": math.inf,
                   **{k: v for k, v in arch.items() if k != "n_channels"},
                   "parameters": sum(p.numel() for p in net.parameters())}
    energy.eval()
    for p in energy.parameters():
        p.requires_grad_(False)
    return energy


def load_energy():
    """The energy the EBM pages sample: the course's checkpoint if ``PROBMODS_COURSE_ENERGY`` names one.

    With the environment variable ``ENV_VAR`` (``PROBMODS_COURSE_ENERGY``) unset or empty, the
    shipped model, :func:`~probmods.ebm.load_pretrained` (:math:`E_\\theta/T` plus the
    pixel-range term); otherwise :func:`load_course_energy` of the file it names
    (:math:`E_\\theta` at :math:`T = 1`, no range term). A variable that names no readable
    checkpoint is an error, not a silent fallback to the shipped model.

    Returns
    -------
    SamplerEnergy
        Images (B, 1, 28, 28) -> energies (B,).

    Raises
    ------
    ValueError
        If the variable is set to a path that is not a checkpoint of the course's ResNet (the message
        names the path and the variable).

    Examples
    --------
    >>> import os
    >>> from probmods.ebm import load_energy
    >>> energy = load_energy()  # the shipped model unless PROBMODS_COURSE_ENERGY is set
    >>> type(energy).__name__ == ("CourseEnergy" if os.environ.get("PROBMODS_COURSE_ENERGY") else "SamplerEnergy")
    True
    """
    path = os.environ.get(ENV_VAR, "").strip()
    if not path:
        from .pretrained import load_pretrained

        return load_pretrained()
    try:
        return load_course_energy(path)
    except ValueError as exc:
        raise ValueError(f"{exc} (the file named by the environment variable {ENV_VAR})") from None

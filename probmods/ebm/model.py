r"""The energy network and the energy the samplers see.

The network :math:`E_\theta` is a small strided CNN with Swish (SiLU)
activations and a dense head over the final feature map: smooth (so a chain
that overshoots is pushed back, unlike with piecewise-linear energies), with a
global receptive field (so it scores shapes rather than local textures).

The sampler-facing energy is

.. math::

    E(\mathbf x) = \frac{E_\theta(\mathbf x)}{T} + \sum_{j}
    \frac{\operatorname{relu}(x_j - 1)^2 + \operatorname{relu}(-x_j)^2}{2\,\rho^2},

with a small temperature :math:`T` (so that at the course's step
:math:`\sqrt{2\varepsilon} = 2/256` the drift :math:`\varepsilon\nabla E` moves a
pixel visibly) and a fixed pixel-range term (:math:`\rho = 0.02`), a property of
images rather than a learned one, that keeps unclamped chains in :math:`[0, 1]`.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import as_tensor, check_callable, check_positive, check_positive_int, module_dtype

__all__ = ["EnergyCNN", "SamplerEnergy", "check_images"]


def check_images(x, name: str = "x", module=None) -> torch.Tensor:
    """A batch of images of shape (B, 1, 28, 28), finite, as a float tensor.

    NumPy arrays and float64 tensors are accepted and cast (to ``module``'s dtype when
    given, so a network can be fed what ``torch.from_numpy`` returns). Integer images are
    refused: pixels are floats in [0, 1], and a ``uint8`` image in [0, 255] must be
    divided by 255 first.
    """
    return as_tensor(x, name, trailing=(1, 28, 28), dtype=module_dtype(module), what="(B, 1, 28, 28)",
                     integers="images are floats in [0, 1] (divide uint8 images by 255)")


class EnergyCNN(nn.Module):
    """:math:`E_\\theta`: (B, 1, 28, 28) images in [0, 1] -> (B,) energies.

    Parameters
    ----------
    width : int, default 32
        Channels 16/32/64/64 for the default (``width // 2``, ``width``,
        ``2 * width``, ``2 * width``); an integer in [2, 1024].
    """

    def __init__(self, width: int = 32):
        super().__init__()
        width = check_positive_int(width, "width", 1024, low=2)
        c1, c2, c3 = width // 2, width, 2 * width
        self.net = nn.Sequential(
            nn.Conv2d(1, c1, 5, stride=2, padding=4), nn.SiLU(),  # 16 x 16
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.SiLU(),  # 8 x 8
            nn.Conv2d(c2, c3, 3, stride=2, padding=1), nn.SiLU(),  # 4 x 4
            nn.Conv2d(c3, c3, 3, stride=2, padding=1), nn.SiLU(),  # 2 x 2
            nn.Flatten(),
            nn.Linear(c3 * 4, c3), nn.SiLU(),
            nn.Linear(c3, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Energies of images ``x`` of shape (B, 1, 28, 28) (float; cast to the network's dtype), shape (B,)."""
        return self._energy(check_images(x, "x", self))

    def _energy(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` on images already checked."""
        return self.net(x).squeeze(-1)


class SamplerEnergy(nn.Module):
    """The energy the samplers use: ``E_theta(x) / T`` plus the pixel-range term.

    Parameters
    ----------
    energy_net : EnergyCNN
        Any callable module mapping (B, 1, 28, 28) images to (B,) energies.
    temperature : float
        :math:`T`, in [1e-100, 1e100].
    range_scale : float, default 0.02
        :math:`\\rho` of the pixel-range term, in [1e-100, 1e100].
    """

    def __init__(self, energy_net: nn.Module, temperature: float, range_scale: float = 0.02):
        super().__init__()
        self.energy_net = check_callable(energy_net, "energy_net")
        self.temperature = check_positive(temperature, "temperature")
        self.range_scale = check_positive(range_scale, "range_scale")

    def range_term(self, x: torch.Tensor) -> torch.Tensor:
        """The pixel-range term of images ``x`` (B, 1, 28, 28), shape (B,)."""
        return self._range(check_images(x, "x", self.energy_net))

    def _range(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(x - 1) ** 2 + torch.relu(-x) ** 2
        return out.flatten(1).sum(1) / (2 * self.range_scale**2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_images(x, "x", self.energy_net)
        # an EnergyCNN would check the images again, at every step of a sampler
        net = self.energy_net
        e = net._energy(x) if isinstance(net, EnergyCNN) else net(x)
        return e / self.temperature + self._range(x)

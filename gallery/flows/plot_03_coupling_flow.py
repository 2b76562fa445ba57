r"""
Stacking layers: the coupling flow
==================================

One coupling layer changes only half of its input. Composing layers with
alternating masks gives a map that can change everything while staying invertible
with a cheap log-determinant. This page derives the log-determinant of a
composition, builds :class:`probmods.flows.CouplingFlow` (log-probability,
sampling, and sampling layer by layer) and checks it: composition rule against
autograd, sample log-probabilities against the density of the same points, and
the density's integral over the plane.
"""

# %%
# The log-determinant of a composition
# ------------------------------------
#
# .. task:: HW1-II-T7
#
# Let :math:`\mathbf y = f_1(\mathbf z)` and :math:`\mathbf x = f_2(\mathbf y)`. By
# the chain rule the Jacobian of the composition is the product of the Jacobians,
# each evaluated where it is applied, and the determinant of a product is the
# product of determinants:
#
# .. math::
#
#    \frac{\partial\mathbf x}{\partial\mathbf z} =
#    \frac{\partial\mathbf x}{\partial\mathbf y}\Big|_{\mathbf y = f_1(\mathbf z)}
#    \frac{\partial\mathbf y}{\partial\mathbf z}
#    \quad\Longrightarrow\quad
#    \log\Big|\det\frac{\partial\mathbf x}{\partial\mathbf z}\Big| =
#    \log\Big|\det\frac{\partial\mathbf x}{\partial\mathbf y}\Big| +
#    \log\Big|\det\frac{\partial\mathbf y}{\partial\mathbf z}\Big|.
#
# **Log-determinants add** along the chain. For coupling layers each term is a sum
# of scales, so a flow of :math:`K` layers costs :math:`2K` small network evaluations
# (:math:`s` and :math:`t` per layer) and no determinant. We check it on two layers
# with opposite masks, whose product Jacobian is no longer triangular.

import matplotlib.pyplot as plt
import numpy as np
import torch

from probmods.datasets import sample_2d_datasets
from probmods.flows import CouplingFlow
from probmods.grids import Grid2D
from probmods.plotting import density_image, panels, scatter_samples

torch.manual_seed(0)
flow = CouplingFlow(num_layers=2).double()
with torch.no_grad():  # non-trivial scales, so the check is not vacuous
    for layer in flow.layers:
        layer.scale_factor.normal_(0.0, 1.0)
        for p in layer.s_func.parameters():
            p.mul_(3.0)
f1, f2 = flow.layers
z = torch.from_numpy(sample_2d_datasets("GaussiansRot", num_samples=200, seed=0)) / 2.5

y, ld1 = f1(z)
x, ld2 = f2(y)
jac = torch.stack(
    [torch.autograd.functional.jacobian(lambda v: f2(f1(v[None])[0])[0][0], zi) for zi in z]
)
print(
    f"off-triangular entries of dx/dz: up to {jac[:, 0, 1].abs().max():.2f} and "
    f"{jac[:, 1, 0].abs().max():.2f} (the product is full)"
)
err = (torch.logdet(jac) - (ld1 + ld2)).abs().max().item()
print(f"max |log|det dx/dz| - (log-det f1 + log-det f2)| = {err:.1e}")
assert err < 1e-12
assert min(jac[:, 0, 1].abs().max(), jac[:, 1, 0].abs().max()) > 0.1

# %%
# The flow: density by inversion, samples by the forward map
# ----------------------------------------------------------
#
# .. task:: HW1-II-T8
#
# :class:`~probmods.flows.CouplingFlow` stacks :math:`K` layers with alternating
# one-hot masks over a standard normal prior, :math:`\mathbf x = f(\mathbf z) =
# f_K\circ\dots\circ f_1(\mathbf z)`. Its three methods:
#
# * ``log_probability(x)`` inverts the layers from the last,
#   :math:`\mathbf y_K = \mathbf x`, :math:`\mathbf y_{k-1} = f_k^{-1}(\mathbf y_k)`,
#   adding up the inverse log-determinants, and finishes with the prior:
#
#   .. math::
#
#      \log p(\mathbf x) = \log\mathcal N(\mathbf y_0;\mathbf 0, I) +
#      \sum_{k=1}^{K}\log\Big|\det\frac{\partial f_k^{-1}}{\partial\mathbf y_k}\Big|;
#
# * ``sample_x(n)`` draws :math:`\mathbf z\sim\mathcal N(\mathbf 0,I)`, pushes it
#   forward and tracks :math:`\log p(\mathbf x) = \log p(\mathbf z) - \sum_k
#   \log|\det\partial f_k/\partial\mathbf y_{k-1}|` on the way, with no inversion;
# * ``sample_x_each_step(n)`` returns the :math:`K+1` point clouds
#   :math:`\mathbf z, f_1(\mathbf z), \dots, f(\mathbf z)`.
#
# .. literalinclude:: /../probmods/flows.py
#    :pyobject: CouplingFlow.log_probability
#    :dedent: 4
#
# .. literalinclude:: /../probmods/flows.py
#    :pyobject: CouplingFlow.sample_x
#    :dedent: 4
#
# Two paths to the same number
# ----------------------------
#
# The log-density that ``sample_x`` tracks forwards must equal the one that
# ``log_probability`` computes backwards at the same points, and the density must
# integrate to one. We check both on a random four-layer flow.

torch.manual_seed(1)
flow4 = CouplingFlow(num_layers=4).double()
with torch.no_grad():
    for layer in flow4.layers:
        layer.scale_factor.normal_(0.0, 0.5)
samples, log_p_forward = flow4.sample_x(5000)
with torch.no_grad():
    log_p_backward = flow4.log_probability(samples)
err = (log_p_forward - log_p_backward).abs().max().item()
print(f"max |log p from sample_x - log_probability| over 5000 samples = {err:.1e}")
assert err < 1e-10

grid = Grid2D((-9, 9), (-9, 9), 300, 300)
with torch.no_grad():
    dens = torch.exp(flow4.log_probability(torch.from_numpy(grid.points))).numpy()
total = grid.integrate(dens)
print(f"integral of p(x) over [-9, 9]^2 on a 300x300 grid = {total:.5f}")
assert abs(total - 1) < 2e-3

cov = np.cov(samples.detach().numpy().T)
print(f"covariance of the 5000 samples: {np.round(cov, 2).tolist()}")
# sphinx_gallery_start_ignore
assert np.allclose(cov, np.eye(2), atol=0.5)
# sphinx_gallery_end_ignore
steps = flow4.sample_x_each_step(1000)
print(f"sample_x_each_step: {len(steps)} point clouds of shape {tuple(steps[0].shape)}")

fig, axes = panels(1, 6, size=2.5)
lim = ((-6, 6), (-6, 6))
for k, (ax, pts) in enumerate(zip(axes[0, :5], steps, strict=True)):
    title = "prior $z$" if k == 0 else f"after layer {k}"
    scatter_samples(ax, pts.detach().numpy(), lims=lim, s=2, title=title)
density_image(axes[0, 5], grid, dens, vmin=0, title="density $p(x)$")
axes[0, 5].set(xlim=lim[0], ylim=lim[1])
plt.show()

# %%
# Both paths agree to rounding error and the density integrates to one, so the
# flow is a proper density model before any training. This flow (random scale factors
# with standard deviation 0.5, untrained networks) is still close to a standard Gaussian (covariance
# printed); a freshly initialised one, with ``scale_factor`` = 0, only shears each
# coordinate by :math:`t(\mathbf x_a)` and preserves volume. The next page trains it.

r"""
A two-mode mixture: sampling, density and score
===============================================

The running example of this chapter is a mixture of two Gaussians with very
different weights: 20% of the mass around :math:`(-5,-5)` and 80% around
:math:`(5,5)`, both with unit variance. Its exact sampler, log-density and score
let us judge every sampler and every learned score that follows. This page derives
the three, checks them against each other (the score against automatic
differentiation of the log-density, the density against its integral), and draws
the density and the score field.
"""

# %%
# Sampling
# --------
#
# .. task:: HW4-T1
#
# The mixture :math:`p(\mathbf x) = \pi\,\mathcal N(\mathbf x;\boldsymbol\mu_1,\sigma^2 I)
# + (1-\pi)\,\mathcal N(\mathbf x;\boldsymbol\mu_2,\sigma^2 I)` with :math:`\pi = 0.2`
# is sampled ancestrally: draw the component label :math:`c = 1` with probability
# :math:`\pi`, else :math:`c = 2`, then
# :math:`\mathbf x = \boldsymbol\mu_c + \sigma\mathbf z`,
# :math:`\mathbf z\sim\mathcal N(\mathbf 0, I)`. The marginal of :math:`\mathbf x` is
# exactly the mixture. :meth:`probmods.gmm.GMMDist.sample` takes the standard
# deviation as an argument, which the annealing pages use.

import matplotlib.pyplot as plt
import numpy as np
import torch

from probmods.gmm import GMMDist, mode_weights
from probmods.grids import Grid2D
from probmods.plotting import density_image, panels, scatter_samples

gmm = GMMDist()
x = gmm.sample(1000, generator=torch.Generator().manual_seed(0))
w = mode_weights(x, gmm.means)
se = np.sqrt(0.2 * 0.8 / 1000)
print(f"mode weights of 1000 samples: {np.round(w, 3)} (true 0.2 / 0.8, standard error {se:.3f})")

fig, ax = plt.subplots(figsize=(4, 4), layout="constrained")
scatter_samples(ax, x.numpy(), lims=((-8, 8), (-8, 8)), s=4, title="1000 samples of p(x)")

# %%
# The log-density
# ---------------
#
# .. task:: HW4-T2
#
# With :math:`\mathcal N(\mathbf x;\boldsymbol\mu,\sigma^2I) = (2\pi\sigma^2)^{-1}
# \exp(-\lVert\mathbf x-\boldsymbol\mu\rVert^2/2\sigma^2)` in two dimensions,
#
# .. math::
#
#    \log p(\mathbf x) = \log\sum_{c=1}^{2}\exp\Big(\log\pi_c
#    - \frac{\lVert\mathbf x-\boldsymbol\mu_c\rVert^2}{2\sigma^2}\Big) - \log(2\pi\sigma^2),
#
# evaluated with log-sum-exp: far from both means each exponential underflows to 0
# in floating point, but their logarithms are finite. We draw it on the course's
# :math:`100\times100` grid over :math:`[-8,8]^2` and check that it integrates to
# one (on a larger box, as a little mass lies outside :math:`[-8,8]^2`).

grid = Grid2D((-8, 8), (-8, 8), 100, 100)
pts = torch.from_numpy(grid.points)
dens = torch.exp(gmm.log_prob(pts)).numpy()
big = Grid2D((-14, 14), (-14, 14), 400, 400)
total = big.integrate(torch.exp(gmm.log_prob(torch.from_numpy(big.points))).numpy())
print(
    f"integral of p over [-14, 14]^2: {total:.6f}; "
    f"mass inside [-8, 8]^2: {grid.integrate(dens):.4f}"
)
far = torch.tensor([[60.0, -60.0]], dtype=torch.float64)
print(f"log p at (60, -60): {gmm.log_prob(far).item():.1f} (finite, though p underflows to 0)")
assert abs(total - 1) < 1e-6

# %%
# The score
# ---------
#
# .. task:: HW4-T3
#
# Differentiating the log-sum-exp gives a responsibility-weighted sum of the
# components' scores:
#
# .. math::
#
#    \nabla_{\mathbf x}\log p(\mathbf x) = \sum_{c=1}^2 r_c(\mathbf x)\,
#    \frac{\boldsymbol\mu_c-\mathbf x}{\sigma^2},\qquad
#    r_c(\mathbf x) = \frac{\pi_c\,\mathcal N(\mathbf x;\boldsymbol\mu_c,\sigma^2I)}
#    {p(\mathbf x)} .
#
# Each component pulls :math:`\mathbf x` straight towards its mean, with strength
# growing linearly in the distance, and the responsibilities (a softmax of the
# log-terms above) decide which pull applies. Away from the line
# :math:`x_1 + x_2 \approx 0` where they switch, one responsibility is essentially
# 1: **the score in each basin knows nothing about the other mode or about the
# weights** :math:`\pi_c`. We check the formula against autograd and draw it on the
# :math:`20\times20` grid.

xg = torch.from_numpy(Grid2D((-8, 8), (-8, 8), 37, 37).points).requires_grad_(True)
(auto,) = torch.autograd.grad(gmm.log_prob(xg).sum(), xg)
err = (gmm.score(xg.detach()) - auto).abs().max().item()
print(f"max |analytic score - autograd of log p| on a 37x37 grid: {err:.1e}")
assert err < 1e-10

q = Grid2D((-8, 8), (-8, 8), 20, 20)
qs = gmm.score(torch.from_numpy(q.points)).numpy()
fig, axes = panels(1, 2, size=4.2)
density_image(axes[0, 0], grid, dens, title="density $p(x)$ on 100x100")
axes[0, 1].quiver(q.points[:, 0], q.points[:, 1], qs[:, 0], qs[:, 1], color="C0")
axes[0, 1].set(
    title=r"score $\nabla_x \log p(x)$ on 20x20",
    xlabel="$x_1$",
    ylabel="$x_2$",
    aspect="equal",
)
plt.show()
mu1, mu2 = gmm.means.numpy()
shift = gmm.sigma**2 * np.log(0.8 / 0.2) / np.linalg.norm(mu2 - mu1)
print(f"shift of the line r_1 = r_2 towards the light mode: {shift:.3f}")

# %%
# The arrows point to the nearer mode with length proportional to the distance,
# and flip abruptly near the anti-diagonal. The line where the two pulls balance,
# :math:`r_1 = r_2`, is shifted towards the light mode by
# :math:`\sigma^2\log(0.8/0.2)/\lVert\boldsymbol\mu_2-\boldsymbol\mu_1\rVert\approx0.1`
# (printed):
# the weights enter the score only in that thin boundary region. This is what the
# next page runs into.

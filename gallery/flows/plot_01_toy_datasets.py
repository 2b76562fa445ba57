r"""
Four toy datasets
=================

The flows of this chapter are trained on the handout's four toy datasets, drawn by
:func:`probmods.datasets.sample_2d_datasets` with scikit-learn's generators:
two noisy circles, two interleaved moons, a grid of four Gaussians and a ring of
rotated Gaussians. They are small enough to see every sample and every layer of a
flow at once, yet each stresses a flow differently: curved manifolds, separated
modes and holes. Because the generators are simple, each dataset's exact density
is also known (:func:`probmods.datasets.toy_log_density`), which later pages use to
measure how far a trained flow is from the truth.
"""

# %%
# Samples
# -------
#
# .. task:: HW1-II-T1
#
# :math:`N = 1000` samples of each dataset (seed 0, ``num_gaussians=5`` for the
# rotated Gaussians), each in its own plot.

import matplotlib.pyplot as plt
import numpy as np

from probmods.datasets import TOY_DATASETS, sample_2d_datasets, toy_log_density
from probmods.grids import Grid2D
from probmods.plotting import density_image, panels, scatter_samples

N = 1000
data = {name: sample_2d_datasets(name, num_samples=N, seed=0) for name in TOY_DATASETS}
for name, x in data.items():
    lo, hi = x.min(0), x.max(0)
    print(
        f"{name:13s} shape {x.shape}, x1 in [{lo[0]:5.2f}, {hi[0]:5.2f}], "
        f"x2 in [{lo[1]:5.2f}, {hi[1]:5.2f}]"
    )

for name, x in data.items():
    fig, ax = plt.subplots(figsize=(3.6, 3.6), layout="constrained")
    scatter_samples(ax, x, s=4, alpha=0.6, title=f"{name}: N = {N}")

# %%
# The exact densities behind the samples
# --------------------------------------
#
# scikit-learn places equal numbers of points on each component and adds isotropic
# Gaussian noise. The Gaussian datasets are therefore equal-weight mixtures
# (standard deviation 0.5 on the grid, :math:`\sqrt{0.1}` on the ring of radius
# 2.5); the moons and circles are uniform measures on curves blurred by noise of
# standard deviation 0.1, e.g. for the moons
#
# .. math::
#
#    p(\mathbf x) = \frac12\sum_{c=1}^{2}\frac1\pi\int_0^\pi
#    \mathcal N\big(\mathbf x;\,\boldsymbol\gamma_c(t),\,0.1^2 I\big)\,dt,
#    \quad \boldsymbol\gamma_1(t) = (\cos t, \sin t),\;
#    \boldsymbol\gamma_2(t) = (1-\cos t, \tfrac12-\sin t),
#
# computed by quadrature. Each density integrates to one on the grid, and the
# average log-density of fresh samples estimates each dataset's entropy
# :math:`H(p) = -\mathbb E_p\log p`: the lowest *expected* negative log-likelihood any
# model can reach (a finite sample can score below it), the floor for the flows of the
# next pages.

grid = Grid2D((-4, 4), (-4, 4), 200, 200)
entropy, integral = {}, {}
fig, axes = panels(1, 4, size=3.0)
for ax, name in zip(axes[0], TOY_DATASETS, strict=True):
    dens = np.exp(toy_log_density(name, grid.points))
    density_image(ax, grid, dens, vmin=0, title=name)
    fresh = sample_2d_datasets(name, num_samples=20_000, seed=1)
    lp = toy_log_density(name, fresh)
    sem = lp.std() / np.sqrt(len(lp))
    entropy[name], integral[name] = -lp.mean(), grid.integrate(dens)
    print(
        f"{name:13s} integral on the grid {grid.integrate(dens):.4f}; "
        f"entropy H(p) = {-lp.mean():.3f} +- {sem:.3f} nats"
    )
plt.show()
# sphinx_gallery_start_ignore
assert set(sorted(entropy, key=entropy.get)[:2]) == {"Moons", "Circles"}
assert max(entropy, key=entropy.get) == "GaussiansGrid"
assert all(abs(v - 1) < 1e-3 for v in integral.values())
# sphinx_gallery_end_ignore

# %%
# The moons and circles have the lowest entropy: their mass is concentrated near
# one-dimensional curves. The grid of four wide Gaussians has the highest. A flow
# has to bend a round Gaussian into each of these shapes. The circles put almost no
# mass where the Gaussian has its peak: their density is positive everywhere, so a
# smooth bijection onto it exists, but it must stretch the centre of the plane
# enormously to empty the hole, and a few coupling layers only approximate that.

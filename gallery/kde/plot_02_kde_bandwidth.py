r"""
The kernel density estimator and its bandwidth
==============================================

A kernel density estimate puts a small bump on every sample and averages them. It
needs no model, but it has one knob, the bandwidth, which decides how wide the bumps
are. This page writes the estimator with a full bandwidth matrix :math:`H`, shows
why the separable Gaussian kernel makes it fast on a grid, checks the fast code
against a brute-force sum, and then compares :math:`f` and :math:`\hat f` for
:math:`H = hI` with :math:`h \in \{0.1, 0.5, 1\}` on the three densities of the
previous page, measuring the error of every estimate.
"""

# %%
# The estimator
# -------------
#
# .. task:: HW1-I-T2
#
# Given i.i.d. samples :math:`\mathbf x_1,\dots,\mathbf x_N` of :math:`f`, a
# bandwidth matrix :math:`H` and a kernel :math:`K`,
#
# .. math::
#
#    \hat f(\mathbf x) = \frac{1}{N\,|H|}
#    \sum_{i=1}^{N} K\big(H^{-1}(\mathbf x_i-\mathbf x)\big),
#
# with the separable Gaussian kernel
#
# .. math::
#
#    K(\mathbf u) = k(u_1)\,k(u_2),\qquad k(u)=\frac{1}{\sqrt{2\pi}}e^{-u^2/2}.
#
# Then :math:`K(\mathbf u) = \frac{1}{2\pi}
# e^{-\lVert\mathbf u\rVert^2/2}`, and :math:`K(H^{-1}\mathbf u)/|H|` is the density
# of :math:`\mathcal N(\mathbf 0, HH^\top)`: :math:`\hat f` is a mixture of :math:`N`
# Gaussians centred on the samples, so it is non-negative and integrates to one.
# :func:`probmods.kde.kde` evaluates it for any symmetric positive-definite
# :math:`H` at any points.
#
# For :math:`H=\operatorname{diag}(h_1,h_2)` the kernel factorises across the axes,
# and on a grid :math:`(x_a, y_b)` the double sum becomes a matrix product,
#
# .. math::
#
#    \hat f(x_a, y_b) = \frac{1}{N h_1 h_2}\sum_{i=1}^N
#    \underbrace{k\Big(\frac{y_b - x_{i2}}{h_2}\Big)}_{(K_y)_{ib}}
#    \underbrace{k\Big(\frac{x_a - x_{i1}}{h_1}\Big)}_{(K_x)_{ia}}
#    = \frac{(K_y^\top K_x)_{ba}}{N h_1 h_2},
#
# which needs :math:`N(n_x+n_y)` kernel evaluations instead of :math:`N n_x n_y`
# (for :math:`N = 10\,000` on a :math:`200\times200` grid: four million instead of
# four hundred million) and is exact: no binning, no truncation.
# :func:`probmods.kde.kde_grid` uses it.

import time

import matplotlib.pyplot as plt
import numpy as np

from probmods.datasets import kde_course_samples
from probmods.kde import integrated_absolute_error, kde, kde_grid
from probmods.plotting import density_image, panels, shared_colorbar

N = 10_000
densities, samples, grids = kde_course_samples(N)
# sphinx_gallery_start_ignore
assert all(N * (g.nx + g.ny) == 4 * 10**6 and N * g.nx * g.ny == 4 * 10**8 for g in grids.values())
# sphinx_gallery_end_ignore

# %%
# Checking the fast path
# ----------------------
#
# Three evaluations of the same estimate must agree: the grid product, the general
# evaluator at the grid points, and a literal transcription of the formula (a loop
# over points with :func:`numpy.linalg.solve`) on a few hundred points. We also try a
# full, rotated :math:`H`, for which only the general evaluator applies.

x, g = samples["GMM-A"], grids["GMM-A"]
rng = np.random.default_rng(0)
idx = rng.choice(len(g.points), size=300, replace=False)


def brute_force(samples, points, H):
    """The handout's formula, one point at a time."""
    out = np.empty(len(points))
    for j, p in enumerate(points):
        u = np.linalg.solve(H, (samples - p).T).T
        out[j] = np.sum(np.exp(-0.5 * (u**2).sum(1)) / (2 * np.pi)) / (
            len(samples) * abs(np.linalg.det(H))
        )
    return out


h = 0.5
t0 = time.perf_counter()
f_grid = kde_grid(x, g, h)
t_grid = time.perf_counter() - t0
t0 = time.perf_counter()
f_general = kde(x, g.points, h)
t_general = time.perf_counter() - t0
ref = brute_force(x, g.points[idx], h * np.eye(2))
print(f"grid product             : {t_grid * 1e3:7.1f} ms")
print(f"general evaluator, 40,000 : {t_general * 1e3:7.1f} ms")
err_general = np.max(np.abs(f_grid.ravel() - f_general) / f_general)
err_brute = np.max(np.abs(f_grid.ravel()[idx] - ref) / ref)
print(f"max relative difference grid vs general     : {err_general:.1e}")
print(f"max relative difference grid vs brute force : {err_brute:.1e}")
assert err_general < 1e-10 and err_brute < 1e-10

c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
R = np.array([[c, -s], [s, c]])
H_full = R @ np.diag([0.6, 0.2]) @ R.T
f_full = kde(x, g.points[idx], H_full)
ref_full = brute_force(x, g.points[idx], H_full)
print(
    f"full H = R diag(0.6, 0.2) R^T: max relative difference vs brute force: "
    f"{np.max(np.abs(f_full - ref_full) / ref_full):.1e}"
)
assert np.allclose(f_grid.ravel(), f_general, rtol=1e-10, atol=0)
assert np.allclose(f_full, ref_full, rtol=1e-10, atol=0)

# %%
# :math:`f` against :math:`\hat f` for three bandwidths
# -----------------------------------------------------
#
# .. task:: HW1-I-T3
#
# Each row is one density: the truth, then the estimates with :math:`h = 0.1, 0.5, 1`,
# all on the colour scale of the truth. The title of each estimate gives its
# integrated absolute error :math:`\mathrm{IAE} = \int|f-\hat f|` (between 0 and 2;
# computed on the grid), a dimensionless error that is finite even for the spiral,
# whose squared error is infinite because of its :math:`1/\rho` singularity.

hs = (0.1, 0.5, 1.0)
estimates = {name: {h: kde_grid(samples[name], grids[name], h) for h in hs} for name in densities}
exact = {name: grids[name].reshape(densities[name].pdf(grids[name].points)) for name in densities}
iae = {
    name: {h: integrated_absolute_error(exact[name], estimates[name][h], grids[name]) for h in hs}
    for name in densities
}

fig, axes = panels(3, 4, size=2.9, sharex="row", sharey="row")
for row, name in zip(axes, densities, strict=True):
    vmax = np.quantile(exact[name], 0.999)
    im = density_image(row[0], grids[name], exact[name], vmin=0, vmax=vmax, title=f"{name}: $f$")
    for ax, h in zip(row[1:], hs, strict=True):
        density_image(
            ax,
            grids[name],
            estimates[name][h],
            vmin=0,
            vmax=vmax,
            title=f"$\\hat f$, h = {h}: IAE {iae[name][h]:.3f}",
        )
    shared_colorbar(fig, im, row, label="density")

print(f"{'IAE':8s}" + "".join(f"{'h = ' + str(h):>10s}" for h in hs))
for name in densities:
    print(f"{name:8s}" + "".join(f"{iae[name][h]:10.3f}" for h in hs))

# %%
# A slice through the densities
# -----------------------------
#
# Images hide the size of the errors. Along one line through each density we can
# see them: a horizontal line through two GMM centres (:math:`x_2 = 0`), and the
# horizontal axis for the spiral, which crosses all of its arms.

fig, axes = panels(1, 3, size=3.6, sharex=False, sharey=False)
for ax, name in zip(axes[0], densities, strict=True):
    g = grids[name]
    row = int(np.argmin(np.abs(g.ys - 0.0)))
    ax.plot(g.xs, exact[name][row], color="k", lw=2.5, label="$f$")
    for h, color in zip(hs, ("C3", "C0", "C2"), strict=True):
        ax.plot(g.xs, estimates[name][h][row], color=color, lw=1.3, label=f"h = {h}")
    # the spiral's 1/rho spike at the centre would set the scale: use the arms (|x1| > 1)
    arms = np.abs(g.xs) > 1 if name == "Spiral" else np.ones_like(g.xs, dtype=bool)
    ax.set_ylim(0, 1.15 * np.max(exact[name][row][arms]))
    ax.set(xlabel="$x_1$", ylabel=f"density at $x_2 = {g.ys[row]:.2f}$", title=name)
axes[0, 0].legend()

# %%
# The trade-off in :math:`h`
# --------------------------
#
# The bandwidth trades **bias** for **variance**. The expected estimate is the true
# density blurred by the kernel, :math:`\mathbb E\hat f = f * K_H`, so a wide kernel
# flattens peaks and fills valleys (bias of order :math:`h^2 \nabla^2 f`); the
# estimate at a point averages only the samples within a few :math:`h`, about
# :math:`N h^2 f` of them, so a narrow kernel is noisy (variance of order
# :math:`f / (N h^2)`). The numbers above show both ends:

best = {name: min(hs, key=lambda h, n=name: iae[n][h]) for name in densities}
for name in densities:
    e = iae[name]
    print(
        f"{name}: IAE {e[0.1]:.3f} / {e[0.5]:.3f} / {e[1.0]:.3f} at h = 0.1 / 0.5 / 1; "
        f"best of the three: h = {best[name]}"
    )
assert best["GMM-A"] == 0.1 and best["GMM-B"] == 0.5 and best["Spiral"] == 0.1
assert max(iae["GMM-A"], key=iae["GMM-A"].get) == max(iae["GMM-B"], key=iae["GMM-B"].get) == 1.0
plt.show()

# %%
# * **GMM-A** (:math:`\sigma = 0.5`): :math:`h=1` is twice the width of the
#   components and merges the four bumps into one plateau, so its error is the
#   largest of the row; :math:`h = 0.1` keeps the bumps and wins, at the price of the
#   speckle visible in its image.
# * **GMM-B** (:math:`\sigma = 1`): the truth is smooth, so the blur of
#   :math:`h = 0.5` costs little and removes most of the noise: the middle
#   bandwidth is best; :math:`h = 0.1` is now noisier than :math:`h = 0.5`, though
#   :math:`h = 1` still over-smooths most.
# * **Spiral**: the arms are :math:`s = 0.5` wide, successive turns are :math:`\pi`
#   apart along a ray (:math:`\pi/2` along a line through the centre, alternating
#   sides), and the centre is singular; :math:`h = 1` smears neighbouring arms together
#   (the slice, scaled to the arms, shows the valleys between them filled in) and
#   :math:`h = 0.1` is best of the three.
#
# No single :math:`h` suits all three: the best bandwidth depends on the scale of
# the density's structure and on :math:`N`. The next page scans :math:`h`
# continuously, compares rules of thumb and cross-validation with the best
# possible choice, and ranks the three densities by difficulty.

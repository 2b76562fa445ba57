r"""
Langevin dynamics misses the mode weights; annealing recovers them
==================================================================

With the exact score in hand, Langevin dynamics should sample the mixture. It does
not: started from a uniform cloud it puts about half of its samples in each mode,
although the true weights are 0.2 and 0.8. This page measures the failure,
explains it, and fixes it with annealed Langevin dynamics, which starts from a
heavily smoothed version of the density and sharpens it level by level. Kernel
density estimates of both sets of samples are compared with the true density, in
2-D and along the diagonal :math:`x_1 = x_2`.
"""

# %%
# Plain Langevin dynamics with the true score
# -------------------------------------------
#
# .. task:: HW4-T4
#
# :math:`n = 1280` chains start uniformly in :math:`[-8,8]^2` and take :math:`T=1000`
# steps :math:`\mathbf x\leftarrow\mathbf x+\varepsilon\nabla\log p(\mathbf x)+
# \sqrt{2\varepsilon}\mathbf z` with :math:`\varepsilon = 0.05`.

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.neighbors import KernelDensity

from probmods.gmm import GMMDist, mode_weights
from probmods.grids import Grid2D
from probmods.kde import integrated_absolute_error
from probmods.mcmc import annealed_langevin, langevin, sample, target_from, uniform_start
from probmods.plotting import animate_scatter, density_image, panels, scatter_samples

gmm = GMMDist()
init, gen = uniform_start(1280, box=8.0, seed=0)
plain = sample(init, langevin(target_from(score=gmm.score), 0.05), 1000, generator=gen)
plain = plain.state.position

w_init = mode_weights(init, gmm.means)
w_plain = mode_weights(plain, gmm.means)
print(f"share of the uniform start in each basin : {np.round(w_init, 3)}")
print(f"mode weights after 1000 Langevin steps   : {np.round(w_plain, 3)} (true 0.2 / 0.8)")
same_side = float(np.mean(((init.sum(1) > 0) == (plain.sum(1) > 0)).numpy()))
print(
    f"chains that end on the side of the anti-diagonal where they started: {100 * same_side:.1f}%"
)
log_gap = (
    gmm.log_prob(torch.zeros(1, 2, dtype=torch.float64))
    - gmm.log_prob(torch.full((1, 2), 5.0, dtype=torch.float64))
).item()
print(f"log p at the midpoint minus log p at the heavy mode: {log_gap:.1f}")
# sphinx_gallery_start_ignore
assert abs(w_plain[0] - 0.5) < 0.06 and same_side > 0.97 and abs(log_gap + 25) < 1
# sphinx_gallery_end_ignore
fig, axes = panels(1, 2, size=3.6)
lims = ((-10, 10), (-10, 10))
for ax, xs, title in (
    (axes[0, 0], init, "uniform start, 1280 chains"),
    (axes[0, 1], plain, f"T = 1000: weights {w_plain[0]:.2f} / {w_plain[1]:.2f}"),
):
    scatter_samples(ax, xs.numpy(), lims=lims, s=2, title=title)
    ax.plot(*gmm.means.numpy().T, "k+", ms=12, mew=2)
    ax.plot([-10, 10], [10, -10], color="0.5", lw=0.8, ls="--")  # anti-diagonal: near the boundary
plt.show()

# %%
# Almost every chain ends in the mode of the basin where it started (printed): the
# start is split
# about evenly by the anti-diagonal, so are the samples. The reason is in the
# score (previous page): inside a basin the score is the score of that basin's
# Gaussian alone, and the weights :math:`\pi_c` enter only through the thin
# boundary between basins. Langevin dynamics does converge to :math:`p` in
# principle, but only by crossing from one mode to the other, which needs a
# fluctuation to the low-density valley between them. The modes are
# :math:`\lVert\boldsymbol\mu_2-\boldsymbol\mu_1\rVert = 10\sqrt2\approx14` apart
# with :math:`\sigma = 1`; the midpoint is :math:`5\sqrt2\approx 7.1` from each mean, so
# the density there is about :math:`e^{-50/2} = e^{-25}\approx 10^{-11}` of the peak
# (printed), so the expected time to cross
# is astronomically longer than :math:`T\varepsilon = 50`. The chains are
# correct *locally* (each mode has the right shape) and wrong *globally*.
#
# Annealed Langevin dynamics
# --------------------------
#
# .. task:: HW4-T5
#
# Perturbing the data with Gaussian noise of standard deviation :math:`\sigma_i`
# gives the same mixture with :math:`\tilde\sigma_i=\sqrt{\sigma^2+\sigma_i^2}`.
# For large :math:`\tilde\sigma` the two modes merge into one broad bump whose
# shape reflects the weights, and Langevin dynamics mixes easily; as
# :math:`\tilde\sigma` decreases, the points are already distributed between the
# basins in the right proportions and only need to sharpen. The course's schedule:
# :math:`L = 10` levels :math:`\tilde\sigma_i` geometric from 20 to 1,
# :math:`T = 100` steps per level with :math:`\varepsilon_i=\varepsilon\,
# \tilde\sigma_i^2/\tilde\sigma_L^2`, :math:`\varepsilon = 0.05`.

sigmas = np.exp(np.linspace(np.log(20.0), np.log(1.0), 10))
init, gen = uniform_start(1280, box=8.0, seed=0)
levels = annealed_langevin(gmm.score, init, sigmas, epsilon=0.05, T=100, generator=gen)
annealed = levels[-1]
for s, xs in zip(sigmas, levels, strict=True):
    w = mode_weights(xs, gmm.means)
    print(f"level sigma~ = {s:6.2f}: weights {np.round(w, 3)}, spread {xs.std(0).numpy().round(2)}")
w_ann = mode_weights(annealed, gmm.means)
print(f"annealed Langevin mode weights: {np.round(w_ann, 3)} (true 0.2 / 0.8)")
assert abs(w_ann[0] - 0.2) < 0.05

centres = [xs.mean(0).numpy() for xs in levels]
print(
    "centre of mass after the first three levels: "
    + ", ".join(f"({c[0]:.1f}, {c[1]:.1f})" for c in centres[:3])
)
fig, axes = panels(2, 5, size=2.4, sharex=False, sharey=False)
for k, (ax, s, xs) in enumerate(zip(axes.ravel(), sigmas, levels, strict=True)):
    r = 60 if k < 2 else 25  # the first levels spread far wider than the data
    scatter_samples(
        ax, xs.numpy(), lims=((-r, r), (-r, r)), s=1.5, title=f"$\\tilde\\sigma$ = {s:.2f}"
    )
# sphinx_gallery_start_ignore
assert all(c[0] > 0 and c[1] > 0 for c in centres[:3])  # pulled towards the heavy mode (5, 5)
assert abs(mode_weights(levels[5], gmm.means)[0] - 0.2) < 0.07
# sphinx_gallery_end_ignore
anim = animate_scatter(
    [init.numpy()] + [xs.numpy() for xs in levels],
    titles=["start"] + [f"after level sigma~ = {s:.2f}" for s in sigmas],
    lims=((-25, 25), (-25, 25)),
    interval=600,
)

# %%
# At :math:`\tilde\sigma = 20` the cloud is one wide blob whose centre of mass is
# pulled towards the heavy mode; at each level the points contract, and when the
# two modes separate (:math:`\tilde\sigma` of a few units) they are already divided
# about 20 / 80. Every level is short (100 steps), but each runs for a Langevin time
# :math:`\varepsilon_i T = 5\tilde\sigma_i^2`, five relaxation times of its own width,
# starting from the previous level's output. Whether that sets the two modes' weights
# right is another matter: the last page of the chapter finds that the weights are
# decided by crossings between the modes at a few levels, and that this schedule
# leaves a small excess on the light mode even with the exact scores.
#
# Comparing densities
# -------------------
#
# .. task:: HW4-T6
#
# Kernel density estimates (scikit-learn's ``KernelDensity``, bandwidth 0.5) of the
# two sets of samples against the true density, on the :math:`100\times100` grid and
# along the diagonal :math:`x_1 = x_2`, which passes through both means. The
# integrated absolute error :math:`\int|p-\hat p|` summarises each estimate.

grid = Grid2D((-8, 8), (-8, 8), 100, 100)
true = grid.reshape(torch.exp(gmm.log_prob(torch.from_numpy(grid.points))).numpy())


def kde_on(samples, points):
    kde = KernelDensity(bandwidth=0.5).fit(samples)
    return np.exp(kde.score_samples(points))


est = {
    name: grid.reshape(kde_on(xs.numpy(), grid.points))
    for name, xs in (("Langevin (T4)", plain), ("annealed (T5)", annealed))
}
fig, axes = panels(1, 3, size=3.4)
vmax = true.max()
density_image(axes[0, 0], grid, true, vmin=0, vmax=vmax, title="true p(x)")
for ax, (name, e) in zip(axes[0, 1:], est.items(), strict=True):
    iae = integrated_absolute_error(true, e, grid)
    density_image(ax, grid, e, vmin=0, vmax=vmax, title=f"KDE, {name}\nIAE {iae:.2f}")
    print(f"{name}: IAE = {iae:.3f}")
iaes = [integrated_absolute_error(true, e, grid) for e in est.values()]
assert iaes[1] < iaes[0] / 3

t = np.linspace(-8, 8, 400)
diag = np.column_stack([t, t])
fig, ax = plt.subplots(figsize=(6.5, 3.4), layout="constrained")
ax.plot(
    t,
    torch.exp(gmm.log_prob(torch.from_numpy(diag))).numpy(),
    "k",
    lw=2.5,
    label="true p",
)
for (name, xs), color in zip(
    (("Langevin (T4)", plain), ("annealed (T5)", annealed)), ("C3", "C0"), strict=True
):
    ax.plot(t, kde_on(xs.numpy(), diag), color=color, lw=1.5, label=f"KDE, {name}")
ax.set(xlabel="$x_1 = x_2$", ylabel="density along the diagonal")
ax.legend()
plt.show()
peaks = {}
for name, curve in (
    ("true", torch.exp(gmm.log_prob(torch.from_numpy(diag))).numpy()),
    ("plain", kde_on(plain.numpy(), diag)),
    ("annealed", kde_on(annealed.numpy(), diag)),
):
    peaks[name] = (curve[t < 0].max(), curve[t > 0].max())
    print(
        f"{name:8s}: peak heights along the diagonal {peaks[name][0]:.3f} (light) and "
        f"{peaks[name][1]:.3f} (heavy), ratio {peaks[name][1] / peaks[name][0]:.1f}"
    )
# sphinx_gallery_start_ignore
assert (
    0.7 < peaks["plain"][1] / peaks["plain"][0] < 1.4
    and 3 < peaks["annealed"][1] / peaks["annealed"][0] < 5
)
assert (
    1.5 < peaks["plain"][0] / peaks["true"][0] < 3
    and 0.35 < peaks["plain"][1] / peaks["true"][1] < 0.7
)
assert 0.7 < peaks["annealed"][1] / peaks["true"][1] < 0.9
assert 0.85 < peaks["annealed"][0] / peaks["true"][0] < 1  # "only a few percent lower"
# sphinx_gallery_end_ignore

# %%
# Along the diagonal the failure is plain: the plain Langevin estimate has two peaks
# of nearly equal height, the true density's peaks differ by a factor of four, and
# the annealed estimate comes close to that ratio (printed). The annealed estimate's
# heavy peak is about 20% lower and wider than the true one: a bandwidth of 0.5 turns
# each unit-variance Gaussian into one of variance 1.25, lowering a 2-D peak by 1/1.25.
# Its light peak is only a few percent lower than the true one (printed). The
# plain estimate's peaks are off by its wrong weights, the light one about twice too
# high and the heavy one about half. The error of the annealed samples' estimate is
# several times smaller than the plain one's.

r"""
Learning the score with sliced score matching
=============================================

In practice we do not know the score; we have samples. Score matching fits a
network :math:`s_\theta(\mathbf x)` to the score without ever evaluating
:math:`p`, and sliced score matching makes its objective cheap in any
dimension.
This page derives the objective, checks the sliced estimate against the exact one,
trains the course's network, maps where the learned score is accurate, and samples
with it.
"""

# %%
# The sliced score matching objective
# -----------------------------------
#
# .. task:: HW4-T7
#
# Score matching :cite:p:`hyvarinen2005` minimises the Fisher divergence
# :math:`\tfrac12\mathbb E_p\lVert s_\theta(\mathbf x)-\nabla\log p(\mathbf x)\rVert^2`.
# Expanding the square, the term :math:`\tfrac12\lVert\nabla\log p\rVert^2` does not
# depend on :math:`\theta`, and the cross term can be integrated by parts, using
# :math:`p\,\nabla\log p = \nabla p` and assuming :math:`p\,s_\theta\to0` at infinity:
#
# .. math::
#
#    -\mathbb E_p\big[s_\theta^\top\nabla\log p\big]
#    = -\int s_\theta(\mathbf x)^\top\nabla p(\mathbf x)\,d\mathbf x
#    = \int p(\mathbf x)\,\nabla\!\cdot s_\theta(\mathbf x)\,d\mathbf x
#    = \mathbb E_p\big[\operatorname{tr}\nabla_{\mathbf x}s_\theta(\mathbf x)\big].
#
# Hence, up to a constant,
# :math:`J(\theta) = \mathbb E_p[\operatorname{tr}\nabla_{\mathbf x}s_\theta +
# \tfrac12\lVert s_\theta\rVert^2]`, which needs only samples of :math:`p`. The trace
# costs one backward pass per dimension. For a random vector :math:`\mathbf v` with
# :math:`\mathbb E[\mathbf v\mathbf v^\top] = I` (e.g. standard normal),
#
# .. math::
#
#    \mathbb E_{\mathbf v}\big[\mathbf v^\top A\,\mathbf v\big]
#    = \mathbb E\big[\operatorname{tr}(A\,\mathbf v\mathbf v^\top)\big]
#    = \operatorname{tr}\big(A\,\mathbb E[\mathbf v\mathbf v^\top]\big) = \operatorname{tr}A,
#
# so (sliced score matching, :cite:p:`song2019ssm`)
# :math:`\mathbf v^\top(\nabla s_\theta)\mathbf v` is an **unbiased** estimate of the
# trace, and it costs a single extra backward pass whatever the dimension:
# :math:`(\nabla s_\theta)^\top\mathbf v = \nabla_{\mathbf x}(\mathbf v^\top
# s_\theta)`, built with ``create_graph=True`` so that the loss can itself be
# differentiated with respect to :math:`\theta`
# (:func:`probmods.score.sliced_score_matching`). We check unbiasedness on an
# untrained network: the sliced loss averaged over many projections must match the
# exact objective (trace computed exactly, :func:`probmods.score.exact_score_matching`).

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.neighbors import KernelDensity

from probmods.gmm import GMMDist, mode_weights
from probmods.grids import Grid2D
from probmods.kde import integrated_absolute_error
from probmods.mcmc import langevin, sample, target_from, uniform_start
from probmods.plotting import density_image, panels, scatter_samples, score_field
from probmods.score import (
    exact_score_matching,
    fit_score_net,
    make_score_net,
    sliced_score_matching,
)

gmm = GMMDist()
torch.manual_seed(0)
net0 = make_score_net().double()
batch = gmm.sample(256).double()
exact = exact_score_matching(net0, batch).item()
gen = torch.Generator().manual_seed(1)
draws = np.array(
    [sliced_score_matching(net0, batch, nv=1, generator=gen).item() for _ in range(400)]
)
se = draws.std(ddof=1) / np.sqrt(len(draws))
print(f"exact objective {exact:.5f}; sliced, mean of 400 draws {draws.mean():.5f} +- {se:.5f}")
assert abs(draws.mean() - exact) < 4 * se

# %%
# Training
# --------
#
# .. task:: HW4-T8
#
# The handout's network (2-128-128-2, Softplus) and loop: 10,000 Adam steps at
# learning rate :math:`10^{-3}`, each on a fresh batch of 128 samples (infinite data,
# so no overfitting), one projection per sample.
# :func:`probmods.score.fit_score_net` is the handout's snippet, :func:`~probmods.score.train`
# of a fresh :func:`~probmods.score.make_score_net`, preceded by our ``torch.manual_seed(0)``
# (the handout sets no seed) so that the page is reproducible.

losses, score_net, seconds = fit_score_net(seed=0, batch_size=128, nsteps=10000, lr=1e-3)
print(f"10,000 steps in {seconds:.1f} s; mean loss of the last 500 steps "
      f"{losses[-500:].mean():.3f}")

fig, axes = panels(1, 2, size=3.6, sharex=False, sharey=False)
axes[0, 0].plot(losses[:1000], lw=0.6)
axes[0, 0].set(xlabel="step", ylabel="sliced score matching loss", title="first 1000 steps")
smooth = np.convolve(losses, np.ones(100) / 100, mode="valid")
axes[0, 1].plot(np.arange(len(smooth)) + 100, smooth)
axes[0, 1].set(xlabel="step", ylabel="loss (moving average of 100)", title="all 10,000 steps")
for ax in axes[0]:
    ax.set_aspect("auto")

# %%
# Learned against true scores
# ---------------------------
#
# The two fields on the course's :math:`20\times20` grid, drawn to one scale (an
# arrow one grid spacing long is the largest true score on the grid), then the error
# :math:`\lVert s_\theta(\mathbf x)-\nabla\log p(\mathbf x)\rVert` on a
# :math:`100\times100` grid with the density's contours.

q = Grid2D((-8, 8), (-8, 8), 20, 20)
qp = torch.from_numpy(q.points).float()
with torch.no_grad():
    learned_q = score_net(qp).numpy()
true_q = gmm.score(qp).numpy()
fig, axes = panels(1, 3, size=3.6)
spacing = q.xs[1] - q.xs[0]
arrow_scale = np.linalg.norm(true_q, axis=1).max() / spacing  # largest true arrow: one spacing
for ax, field, title in (
    (axes[0, 0], true_q, "true score"),
    (axes[0, 1], learned_q, "learned score (same scale)"),
):
    score_field(ax, q.points, field, arrow_scale, title=title)

grid = Grid2D((-8, 8), (-8, 8), 100, 100)
gp = torch.from_numpy(grid.points).float()
with torch.no_grad():
    err = (score_net(gp) - gmm.score(gp)).norm(dim=1).numpy()
dens = torch.exp(gmm.log_prob(gp.double())).numpy()
im = density_image(
    axes[0, 2],
    grid,
    np.log10(err),
    cmap="magma",
    title="log10 |error| of learned score",
)
cs = axes[0, 2].contour(
    grid.xs,
    grid.ys,
    grid.reshape(dens),
    levels=[1e-8, 1e-4, 1e-2],
    colors="w",
    linewidths=0.8,
)
axes[0, 2].clabel(cs, fmt={1e-8: "1e-8", 1e-4: "1e-4", 1e-2: "1e-2"}, fontsize=7)
fig.colorbar(im, ax=axes[0, 2], shrink=0.8, label=r"$\log_{10}|s_\theta - \nabla\log p|$")

bands = [(1e-2, np.inf), (1e-4, 1e-2), (1e-8, 1e-4), (0, 1e-8)]
print(
    f"{'density band':>20s} {'share of grid':>14s} {'median |error|':>15s} {'median |score|':>15s}"
)
true_norm = gmm.score(gp).norm(dim=1).numpy()
medians, score_medians = [], []
for lo, hi in bands:
    m = (dens >= lo) & (dens < hi)
    medians.append(np.median(err[m]))
    score_medians.append(np.median(true_norm[m]))
    print(
        f"{f'[{lo:.0e}, {hi:.0e})':>20s} {m.mean():14.2f} {np.median(err[m]):15.3f} "
        f"{np.median(true_norm[m]):15.2f}"
    )
assert medians[0] < medians[-1] / 10
near_err = {}
for name, mu in (
    ("light mode (-5,-5)", gmm.means[0]),
    ("heavy mode (5,5)", gmm.means[1]),
):
    near = (gp.double() - mu).norm(dim=1).numpy() < 2
    near_err[name] = np.median(err[near])
    print(f"median |error| within distance 2 of the {name}: {near_err[name]:.3f}")
# sphinx_gallery_start_ignore
assert near_err["heavy mode (5,5)"] < near_err["light mode (-5,-5)"]
assert medians[0] < 0.15 * score_medians[0] and medians[-1] > 0.3 * score_medians[-1]
# sphinx_gallery_end_ignore

# %%
# **The learned score is accurate where the data are, and only there.** The
# objective is an expectation under :math:`p`: an error at :math:`\mathbf x` is
# weighted by :math:`p(\mathbf x)`, and the network only ever sees samples from
# the two modes. Near the modes (densities above :math:`10^{-2}`) the error is a
# small fraction of the score; in the valley between the modes and in the corners
# of the square, where the density is below :math:`10^{-8}` and no sample ever
# falls, the network extrapolates and its error is of the order of the score
# itself. Near each mode the error is small, and the heavy mode, seen four times as
# often during training, gets the more accurate score (last two lines above).
#
# Sampling with the learned score
# -------------------------------
#
# .. task:: HW4-T9
#
# Plain Langevin dynamics as before (:math:`n=1280`, :math:`\varepsilon=0.05`,
# :math:`T=1000`, uniform start), with the learned score in place of the true one.

init, gen = uniform_start(1280, box=8.0, seed=0)
with torch.no_grad():
    learned = sample(init, langevin(target_from(score=score_net), 0.05), 1000, generator=gen)
init, gen = uniform_start(1280, box=8.0, seed=0)
exact_run = sample(init, langevin(target_from(score=gmm.score), 0.05), 1000, generator=gen)
learned, exact_run = learned.state.position, exact_run.state.position
w_learned = mode_weights(learned, gmm.means)
w_exact = mode_weights(exact_run, gmm.means)
print(f"mode weights, learned score: {np.round(w_learned, 3)}; true score: {np.round(w_exact, 3)}")
stds = [learned[(learned - mu).norm(dim=1) < 4].std(0).numpy() for mu in gmm.means.float()]
print(
    "per-coordinate std of the learned-score samples near each mode: "
    + ", ".join(str(s.round(2)) for s in stds)
    + " (true 1)"
)
same_side = float(np.mean(((init.sum(1) > 0) == (learned.sum(1) > 0)).numpy()))
print(f"chains ending on the side of the anti-diagonal where they started: {100 * same_side:.1f}%")
# sphinx_gallery_start_ignore
assert abs(w_learned[0] - 0.5) < 0.1 and 0.9 < same_side < 0.99
assert all(np.all(np.abs(s - 1) < 0.15) for s in stds)
# sphinx_gallery_end_ignore

kde = KernelDensity(bandwidth=0.5).fit(learned.numpy())
est = grid.reshape(np.exp(kde.score_samples(grid.points)))
iae = integrated_absolute_error(grid.reshape(dens), est, grid)
fig, axes = panels(1, 3, size=3.4)
scatter_samples(axes[0, 0], exact_run.numpy(), lims=((-8, 8), (-8, 8)), s=2, title="true score")
scatter_samples(
    axes[0, 1],
    learned.numpy(),
    lims=((-8, 8), (-8, 8)),
    s=2,
    color="C1",
    title="learned score",
)
density_image(
    axes[0, 2],
    grid,
    est,
    vmin=0,
    vmax=dens.max(),
    title=f"KDE of learned-score samples\nIAE {iae:.2f}",
)
print(f"IAE between the KDE of the learned-score samples and p: {iae:.3f}")

t = np.linspace(-8, 8, 400)
diag = np.column_stack([t, t])
fig, ax = plt.subplots(figsize=(6.5, 3.4), layout="constrained")
ax.plot(t, torch.exp(gmm.log_prob(torch.from_numpy(diag))).numpy(), "k", lw=2.5, label="true p")
ax.plot(t, np.exp(kde.score_samples(diag)), "C1", lw=1.5, label="KDE, learned-score samples")
ax.set(xlabel="$x_1 = x_2$", ylabel="density along the diagonal")
ax.legend()
plt.show()
kde_diag = np.exp(kde.score_samples(diag))
peak_light, peak_heavy = kde_diag[t < 0].max(), kde_diag[t > 0].max()
print(f"KDE peaks along the diagonal: {peak_light:.3f} (light mode), {peak_heavy:.3f} (heavy mode)")
# sphinx_gallery_start_ignore
assert 0.93 < same_side < 0.97  # "about 95%"
assert 0.7 < peak_heavy / peak_light < 1.4  # "two nearly equal peaks"
# sphinx_gallery_end_ignore

# %%
# The learned score reproduces the true score's behaviour, including its failure:
# about 95% of the chains end on the side of the anti-diagonal where they started
# (printed), so the mode weights are again near 0.5 / 0.5 instead of 0.2 / 0.8, and
# the density estimate has two
# peaks of similar height (printed; the diagonal cut makes it plain). The modes' shapes are close
# to right (per-mode spreads printed), as the score is accurate there. Fixing the
# weights needs annealing,
# and annealing needs the scores of the *noisy* densities, which the next page
# learns.

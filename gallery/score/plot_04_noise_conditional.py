r"""
A noise-conditional score model and annealed sampling
=====================================================

Annealed Langevin dynamics needs the score of the data at every noise level.
Rather than training ten networks, a single *noise-conditional* network
:math:`s_\theta(\mathbf x, \sigma)` can learn them all with a weighted sliced
score matching objective. This page trains it, compares its score fields at every
level with the exact scores of the correspondingly smoothed mixture, samples with
annealed Langevin dynamics, and collects the mode weights that every sampler of
this chapter reached.
"""

# %%
# The annealed objective
# ----------------------
#
# .. task:: HW4-T10
#
# Following :cite:t:`song2019ncsn`, for noise levels
# :math:`\sigma_1 > \dots > \sigma_L` and perturbed samples
# :math:`\tilde{\mathbf x} = \mathbf x + \sigma_i\mathbf z`,
#
# .. math::
#
#    \mathcal L(\theta) = \frac1L\sum_{i=1}^L \lambda(\sigma_i)\,
#    \mathbb E_{\tilde{\mathbf x}}\mathbb E_{\mathbf v}\Big[\mathbf v^\top
#    \nabla_{\tilde{\mathbf x}} s_\theta(\tilde{\mathbf x},\sigma_i)\,\mathbf v
#    + \tfrac12\lVert s_\theta(\tilde{\mathbf x},\sigma_i)\rVert^2\Big],
#    \qquad \lambda(\sigma) = \sigma^2 .
#
# In a batch, each sample gets a random level
# (:func:`probmods.score.annealed_sliced_score_matching`). The network
# (:class:`probmods.score.CondScoreNet`) sees :math:`(\mathbf x, \sigma)` and divides
# its output by :math:`\sigma`. A check of the weighting: for a batch at a single
# level, the annealed loss equals :math:`\sigma^2` times the plain sliced loss of
# :math:`s_\theta(\cdot,\sigma)` with the same projections.
#
# **What** :math:`\lambda(\sigma) = \sigma^2` **does.** Song and Ermon chose it for
# *denoising* score matching, whose regression target :math:`-\mathbf z/\sigma`
# scales like :math:`1/\sigma`: then :math:`\lambda\,\lVert s_\theta + \mathbf
# z/\sigma\rVert^2 = \lVert\sigma s_\theta + \mathbf z\rVert^2` is of order one at every
# level. Sliced score matching has no such target: at the true score its value is
# :math:`-\tfrac12\mathbb E\lVert\nabla\log q_\sigma\rVert^2`, and the score of the
# noisy data (the mixture with standard deviation :math:`\sqrt{\sigma^2+1}`) scales
# like :math:`1/\sqrt{\sigma^2+1}`, not :math:`1/\sigma`. The weighted level losses at
# the exact scores (20,000 noisy samples per level, the trace computed exactly) show
# what the weight does here, beside the same for denoising score matching
# :math:`\tfrac12\lambda\,\mathbb E\lVert s + \mathbf z/\sigma\rVert^2`:
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from probmods.gmm import GMMDist, mode_weights
from probmods.grids import Grid2D
from probmods.mcmc import annealed_langevin, langevin, sample, target_from, uniform_start
from probmods.plotting import animate_scatter, density_image, panels, scatter_samples, score_field
from probmods.score import (
    CondScoreNet,
    annealed_sliced_score_matching,
    exact_score_matching,
    fit_score_net,
    sliced_score_matching,
    train_annealed,
)

gmm = GMMDist()
torch.manual_seed(0)
net = CondScoreNet().double()
xb = gmm.sample(64).double()
a = annealed_sliced_score_matching(
    net,
    xb,
    torch.full((64, 1), 3.0, dtype=torch.float64),
    generator=torch.Generator().manual_seed(5),
).item()
b = sliced_score_matching(
    lambda v: net(v, 3.0), xb, generator=torch.Generator().manual_seed(5)
).item()
print(f"annealed loss at sigma = 3: {a:.6f}; 9 x sliced loss: {9 * b:.6f}")
assert abs(a - 9 * b) < 1e-9

sigmas = np.exp(np.linspace(np.log(10.0), np.log(0.1), 10))
print(f"{'sigma':>6s} {'lambda x SSM loss':>18s} {'lambda x DSM loss':>18s}")
weighted = []
for s in sigmas:
    s_eff = float(np.sqrt(s**2 + 1))
    x = gmm.sample(20000, generator=torch.Generator().manual_seed(4)).double()
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    xt = x + s * z
    true_score = gmm.score(xt, s_eff)
    ssm = exact_score_matching(lambda v, s_eff=s_eff: gmm.score(v, s_eff), xt).item()
    dsm = 0.5 * ((true_score + z / s) ** 2).sum(1).mean().item()
    weighted.append((s**2 * ssm, s**2 * dsm))
    print(f"{s:6.2f} {s**2 * ssm:18.4f} {s**2 * dsm:18.4f}")
weighted = np.array(weighted)
spread_ssm = np.abs(weighted[:, 0]).max() / np.abs(weighted[:, 0]).min()
spread_dsm = weighted[:, 1].max() / weighted[:, 1].min()
print(f"largest / smallest |weighted level loss|: SSM {spread_ssm:.0f}, DSM {spread_dsm:.1f}")
alt = np.abs(weighted[:, 0]) * (sigmas**2 + 1) / sigmas**2  # SSM levels weighted by sigma^2 + 1
print(
    f"with the weight sigma^2 + 1 instead, the SSM levels range from {alt.min():.2f} "
    f"to {alt.max():.2f}"
)
# sphinx_gallery_start_ignore
assert 70 < spread_ssm < 130 and spread_dsm < 10 and weighted[:, 1].max() < 1
assert alt.max() / alt.min() < 1.3
assert np.all(np.diff(np.abs(weighted[4:, 0])) < 0)
# sphinx_gallery_end_ignore

# %%
# The weight equalises the levels of denoising score matching only roughly (a
# network that outputs zero scores exactly :math:`\tfrac12\mathbb E\lVert\mathbf
# z\rVert^2 = 1` at every level, the exact scores between 0.12 and 0.99), and not at
# all those of sliced score matching: below :math:`\sigma\approx 1` the weighted SSM
# level loss shrinks with :math:`\sigma^2`, and the smallest level counts about 1% as
# much as the largest (ratio printed above). A weight :math:`\sigma^2 + 1` would
# equalise SSM's levels here (printed); we keep the handout's :math:`\sigma^2` and read its
# consequence off the errors below.

# %%
# Training the noise-conditional model
# ------------------------------------
#
# .. task:: HW4-T11
#
# The handout's loop: 10,000 steps, batches of 256, learning rate :math:`10^{-3}`,
# noise levels :math:`\sigma_i` geometric from 10 to 0.1 (:math:`L = 10`).

torch.manual_seed(0)
t0 = time.perf_counter()
losses, cond_net = train_annealed(CondScoreNet(), sigmas, batch_size=256, nsteps=10000, lr=1e-3)
print(
    f"10,000 steps in {time.perf_counter() - t0:.1f} s; mean loss of the last 500 steps "
    f"{losses[-500:].mean():.3f}"
)
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.plot(losses[:1000], lw=0.6)
ax.set(xlabel="step", ylabel="annealed SSM loss", title="first 1000 steps")

# %%
# Learned scores at every level
# -----------------------------
#
# Data perturbed at level :math:`\sigma_i` follow the same mixture with standard
# deviation :math:`\tilde\sigma_i = \sqrt{\sigma_i^2 + 1}`, whose exact score
# :meth:`probmods.gmm.GMMDist.score` gives. Each panel shows the learned field
# (blue, translucent) over the exact one (grey, wider) on the :math:`20\times20` grid,
# each panel to its own scale (the longest exact arrow spans one grid spacing; the
# scores shrink steeply as :math:`\sigma` grows), with the relative
# error weighted by the noisy density,
# :math:`\mathbb E_{q_{\sigma_i}}\lVert s_\theta - \nabla\log q_{\sigma_i}\rVert /
# \mathbb E_{q_{\sigma_i}}\lVert\nabla\log q_{\sigma_i}\rVert`, estimated on 5000
# samples.

q = Grid2D((-8, 8), (-8, 8), 20, 20)
qp = torch.from_numpy(q.points).float()
fig, axes = panels(2, 5, size=2.7)
rel = []
for ax, s in zip(axes.ravel(), sigmas, strict=True):
    s_eff = float(np.sqrt(s**2 + 1))
    with torch.no_grad():
        learned = cond_net(qp, float(s)).numpy()
        xs = gmm.sample(5000, sigma=s_eff, generator=torch.Generator().manual_seed(3))
        e = (cond_net(xs, float(s)) - gmm.score(xs, s_eff)).norm(dim=1).mean()
        rel.append((e / gmm.score(xs, s_eff).norm(dim=1).mean()).item())
    true = gmm.score(qp, s_eff).numpy()
    spacing = q.xs[1] - q.xs[0]
    arrow_scale = np.linalg.norm(true, axis=1).max() / spacing  # each panel its own scale
    score_field(ax, q.points, true, arrow_scale, color="0.4", width=0.006)
    score_field(ax, q.points, learned, arrow_scale, color="C0", alpha=0.6, width=0.004)
    ax.set_title(f"$\\sigma$ = {s:.2f}: rel. err {rel[-1]:.2f}", fontsize=9)
for s, r in zip(sigmas, rel, strict=True):
    print(f"sigma = {s:6.3f} (sigma~ = {np.sqrt(s**2 + 1):6.3f}): relative error {r:.3f}")
# sphinx_gallery_start_ignore
assert 0.05 < rel[0] < 0.15 and max(rel[:6]) < 0.15
assert np.all(np.diff(rel[5:]) > 0) and int(np.argmax(rel)) == len(rel) - 1 and rel[-1] > 3 * rel[0]
# sphinx_gallery_end_ignore

# %%
# The matching densities :math:`p(\mathbf x;\tilde\sigma)` at the two extremes:

grid = Grid2D((-8, 8), (-8, 8), 100, 100)
fig, axes = panels(1, 2, size=3.6)
for ax, s in zip(axes[0], (sigmas[0], sigmas[-1]), strict=True):
    s_eff = float(np.sqrt(s**2 + 1))
    d = torch.exp(gmm.log_prob(torch.from_numpy(grid.points), s_eff)).numpy()
    density_image(ax, grid, d, title=f"$p(x; \\tilde\\sigma = {s_eff:.2f})$")

# %%
# **The extremes.** At :math:`\sigma_1 = 10` (:math:`\tilde\sigma\approx10.05`) the
# smoothed density is one broad bump centred between the modes, nearer the heavy
# one; its score is a smooth, almost linear pull towards that centre everywhere in
# the square, and the network matches it to about 10% (its error is about as small
# down to :math:`\sigma\approx 0.8`). At :math:`\sigma_L = 0.1`
# (:math:`\tilde\sigma\approx1.005`) the target is the original two-mode mixture
# and the fit is much worse: the density-weighted relative error grows steadily
# as :math:`\sigma` falls below 1 and is largest at the last level (table above).
# This is what the loss asks for, one effect seen from two sides: with the weight
# :math:`\lambda(\sigma)=\sigma^2` the loss measures the error of the network's
# output :math:`\sigma\,s`, so the small levels have little say in it (the smallest
# about 1% of the largest, first table), and an error in :math:`\sigma\,s` becomes
# an error :math:`1/\sigma` times larger in the score. Annealed sampling is tolerant of this:
# the large levels, where the model is accurate, decide which mode a chain ends in,
# and the small levels only move chains within a mode (below, the final spread
# around each mode, beside the same schedule run with the exact scores).
#
# Annealed Langevin with the learned scores
# -----------------------------------------
#
# .. task:: HW4-T12
#
# :math:`n = 1280` chains from :math:`\mathcal U[-8,8]^2`, :math:`T = 100` steps per
# level, :math:`\varepsilon_i = \varepsilon\,\sigma_i^2/\sigma_L^2` with
# :math:`\varepsilon = 5\cdot10^{-4}` (so :math:`\varepsilon_1 = 5` at
# :math:`\sigma_1 = 10`).


def learned_score(x, s):
    with torch.no_grad():
        return cond_net(x, s)


init, gen = uniform_start(1280, box=8.0, seed=0)
levels = annealed_langevin(learned_score, init, sigmas, epsilon=5e-4, T=100, generator=gen)
w12 = mode_weights(levels[-1], gmm.means)
print(f"annealed Langevin, learned conditional score: mode weights {np.round(w12, 3)}")
init, gen = uniform_start(1280, box=8.0, seed=0)
exact_levels = annealed_langevin(
    lambda x, s: gmm.score(x, float(np.sqrt(s**2 + 1))),
    init,
    sigmas,
    epsilon=5e-4,
    T=100,
    generator=gen,
)
w12x = mode_weights(exact_levels[-1], gmm.means)
print(f"the same schedule with the exact noisy scores: mode weights {np.round(w12x, 3)}")
light_exact = []  # the control: the exact scores over 8 seeds (the schedule's own spread)
for seed in range(8):
    init8, gen8 = uniform_start(1280, box=8.0, seed=seed)
    out = annealed_langevin(gmm.noisy_score, init8, sigmas, epsilon=5e-4, T=100, generator=gen8)
    light_exact.append(mode_weights(out[-1], gmm.means)[0])
light_exact = np.array(light_exact)
print(
    f"light mode (true 0.2): learned {w12[0]:.3f}; exact scores over 8 seeds "
    f"{light_exact.mean():.3f} (range {light_exact.min():.3f}-{light_exact.max():.3f})"
)
# sphinx_gallery_start_ignore
assert light_exact.min() < w12[0] < light_exact.max()  # "a schedule effect" (page 5's control)
# sphinx_gallery_end_ignore
for label, final in (("learned", levels[-1]), ("exact", exact_levels[-1].float())):
    for k, mu in enumerate(gmm.means.float()):
        near = (final - mu).norm(dim=1) < 4
        print(
            f"{label:7s} scores, samples near mode {k + 1}: per-coordinate std "
            f"{final[near].std(0).numpy().round(3)} (true 1), "
            f"mean {final[near].mean(0).numpy().round(2)}"
        )
fig, axes = panels(2, 5, size=2.4)
for ax, s, xs in zip(axes.ravel(), sigmas, levels, strict=True):
    scatter_samples(
        ax, xs.numpy(), lims=((-12, 12), (-12, 12)), s=1.5, title=f"$\\sigma$ = {s:.2f}"
    )
anim = animate_scatter(
    [init.numpy()] + [xs.numpy() for xs in levels],
    titles=["start"] + [f"after level sigma = {s:.2f}" for s in sigmas],
    lims=((-12, 12), (-12, 12)),
    interval=600,
)

# %%
# Mode weights of every sampler in this chapter
# ---------------------------------------------
#
# To compare, we rerun the samplers of the previous pages with the same seeds:
# plain Langevin with the true score (T4), annealed Langevin with the true scores
# (T5), plain Langevin with the single-level learned score (T9, trained by
# :func:`~probmods.score.fit_score_net` exactly as on the previous page), and annealed
# Langevin with the learned conditional score (T12).

true_target = target_from(score=gmm.score)
init, gen = uniform_start(1280, box=8.0, seed=0)
w4 = sample(init, langevin(true_target, 0.05), 1000, generator=gen).state.position
w4 = mode_weights(w4, gmm.means)
init, gen = uniform_start(1280, box=8.0, seed=0)
tilde = np.exp(np.linspace(np.log(20.0), np.log(1.0), 10))
w5 = mode_weights(
    annealed_langevin(gmm.score, init, tilde, 0.05, 100, generator=gen)[-1], gmm.means
)
_, score_net, _ = fit_score_net(seed=0, batch_size=128, nsteps=10000, lr=1e-3, progress=False)
init, gen = uniform_start(1280, box=8.0, seed=0)
with torch.no_grad():
    w9 = sample(init, langevin(target_from(score=score_net), 0.05), 1000, generator=gen)
    w9 = mode_weights(w9.state.position, gmm.means)
se = np.sqrt(0.2 * 0.8 / 1280)
print(f"{'sampler':48s} {'w(-5,-5)':>9s} {'w(5,5)':>8s}")
print(f"{'true weights':48s} {0.2:9.3f} {0.8:8.3f}")
for label, w in (
    ("T4  Langevin, true score", w4),
    ("T5  annealed Langevin, true scores", w5),
    ("T9  Langevin, learned score (SSM)", w9),
    ("T12 annealed Langevin, learned conditional score", w12),
    ("    the T12 schedule with the exact noisy scores", w12x),
):
    print(f"{label:48s} {w[0]:9.3f} {w[1]:8.3f}")
print(f"(binomial standard error of a weight with 1280 samples: {se:.3f})")
plt.show()
assert abs(w12[0] - 0.2) < 0.06 and abs(w9[0] - 0.5) < 0.1
# sphinx_gallery_start_ignore
assert abs(w12[0] - w12x[0]) < 3 * se and abs(w5[0] - 0.2) < 3 * se
# sphinx_gallery_end_ignore

# %%
# Discussion
# ----------
#
# Without annealing, the learned score (T9) fails like the true one (T4): the
# weights follow the split of the uniform start, about half and half. With
# annealing, the learned noise-conditional model (T12) comes close to 0.2 / 0.8, and
# within sampling error of the same schedule run with the exact noisy scores: the
# remaining gap to 0.2 belongs to the schedule (T12's levels and steps), not to the
# network; T5's schedule with exact scores lands closer (in this seed; over eight
# seeds 0.213 against 0.230, see the
# :ref:`schedule-control page <sphx_glr_auto_examples_score_plot_05_schedule_control.py>`).
# Two things make this work. At
# the large noise levels the smoothed density is unimodal and its score carries the
# information about the weights over the whole square, and it is there that the
# network is accurate (table of errors).
# At the small levels the learned score is poor even near the modes (table of
# errors), but by then the chains are already near a mode: the errors there shift
# and reshape each mode's cloud (the spreads printed above), while the final weights
# still agree with the exact-score run of the same schedule (printed above). Multiple
# noise levels thus solve both problems of the previous page at once: slow mixing
# between modes, and inaccurate scores in low-density regions.

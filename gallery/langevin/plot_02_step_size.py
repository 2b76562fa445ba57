r"""
The step size: too small, right, too large, and MALA
====================================================

The step size :math:`\varepsilon` of Langevin dynamics sets both how fast the
chains move and how wrong their equilibrium is. This page runs the ring of the
previous page at :math:`\sqrt{2\varepsilon} = 1/256`, :math:`10/256` and
:math:`200/256`, follows single chains, and measures each run against exact
samples. It then derives the bias of the unadjusted sampler on a Gaussian, checks
the formula, finds the step beyond which the chains diverge, and shows that MALA's
accept/reject step removes the bias at a step size where plain Langevin fails.
"""

# %%
# Three step sizes
# ----------------
#
# .. task:: HW2-T4
#
# Same start (1000 points uniform in :math:`[-3,3]^2`), same :math:`K = 5000`
# steps, three step sizes. Each run records every 10th position.

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import make_blobs

from probmods.gmm import IsotropicGMM, mode_weights, ring_gmm
from probmods.mcmc import eps_from_noise, sample, target_from
from probmods.metrics import energy_distance
from probmods.plotting import panels, scatter_samples

ring = ring_gmm()
centers = ring.means.numpy()
real = make_blobs(1000, centers=centers, cluster_std=np.sqrt(0.1), random_state=0)[0]
target = target_from(score=ring.score, log_prob=ring.log_prob)
x0 = torch.rand(1000, 2, generator=torch.Generator().manual_seed(0)) * 6 - 3
noise_scales = {"1/256": 1 / 256, "10/256": 10 / 256, "200/256": 200 / 256}
runs = {}
for label, s in noise_scales.items():
    gen = torch.Generator().manual_seed(1)
    runs[label] = sample(x0, target, eps_from_noise(s), 5000, thin=10, generator=gen)

# %%
# Final samples and paths of single chains
# ----------------------------------------
#
# Top: the final samples. Bottom: the paths of three chains. At
# :math:`200/256` the chains leave the plot after a few steps; the last panel
# shows their distance from the origin on a log scale until it overflows.

fig, axes = panels(2, 3, size=3.3, sharex=False, sharey=False)
lims = ((-3.2, 3.2), (-3.2, 3.2))
for k, (label, res) in enumerate(runs.items()):
    final = res.state.position.numpy()
    scatter_samples(
        axes[0, k],
        np.nan_to_num(final, nan=1e9),
        lims=lims,
        s=3,
        title=f"$\\sqrt{{2\\varepsilon}}$ = {label}",
    )
    axes[0, k].plot(*centers.T, "k+", ms=8)
    n_div = int((~np.isfinite(final).all(axis=1)).sum())
    if n_div:
        axes[0, k].text(
            0, -2.5, f"{n_div} of {len(final)} chains diverged", ha="center", color="C3"
        )
    paths = res.trajectory[:, :3].numpy()
    if label != "200/256":
        for j in range(3):
            axes[1, k].plot(paths[:, j, 0], paths[:, j, 1], lw=0.7)
            axes[1, k].plot(*paths[0, j], "ko", ms=3)
        axes[1, k].set(
            xlim=lims[0],
            ylim=lims[1],
            aspect="equal",
            xlabel="$x_1$",
            ylabel="$x_2$",
            title="paths of 3 chains",
        )
        axes[1, k].plot(*centers.T, "k+", ms=8)
gen = torch.Generator().manual_seed(1)
short = sample(x0[:3], target, eps_from_noise(200 / 256), 40, thin=1, generator=gen)
radius = short.trajectory.norm(dim=-1).numpy()
axes[1, 2].semilogy(radius)
axes[1, 2].set(xlabel="step", ylabel="distance from origin", title="200/256: 3 chains diverge")

# %%
# Measured against exact samples
# ------------------------------
#
# For each run: the mode weights (0.2 each at equilibrium), the share of chains
# that diverged (non-finite) or sit farther than :math:`3\sigma` from every mode,
# and the energy distance to the exact samples (on the finite chains).

print(f"{'step':>8s} {'eps':>9s} {'K*eps':>7s}  mode weights{'':19s} {'far/div':>7s} {'D^2':>8s}")
stats = {}
for label, res in runs.items():
    final = res.state.position.numpy()
    w = mode_weights(final, centers, max_distance=3 * np.sqrt(0.1))
    finite = np.all(np.isfinite(final), axis=1)
    d2 = energy_distance(final[finite], real) if finite.sum() > 1 else np.nan
    eps = eps_from_noise(noise_scales[label])
    stats[label] = (w, d2)
    print(f"{label:>8s} {eps:9.2e} {5000 * eps:7.3f}  {np.round(w[:5], 3)} {w[5]:7.3f} {d2:8.4f}")

# %%
# The bias of a finite step, derived on a Gaussian
# ------------------------------------------------
#
# Take a single Gaussian :math:`\mathcal N(\boldsymbol\mu, \sigma^2 I)`, whose score
# is :math:`-(\mathbf x-\boldsymbol\mu)/\sigma^2`. One Langevin step is linear:
#
# .. math::
#
#    \mathbf x^{k+1}-\boldsymbol\mu = \Big(1-\frac{\varepsilon}{\sigma^2}\Big)
#    (\mathbf x^k-\boldsymbol\mu) + \sqrt{2\varepsilon}\,\mathbf z^k .
#
# If :math:`|1-\varepsilon/\sigma^2| < 1`, i.e. :math:`\varepsilon < 2\sigma^2`,
# the variance converges to the fixed point of
# :math:`v = (1-\varepsilon/\sigma^2)^2 v + 2\varepsilon`:
#
# .. math::
#
#    v_\infty = \frac{2\varepsilon}{1-(1-\varepsilon/\sigma^2)^2}
#    = \frac{\sigma^2}{1-\varepsilon/(2\sigma^2)} > \sigma^2 .
#
# The unadjusted sampler is **biased**: its equilibrium is too wide by the factor
# :math:`1/(1-\varepsilon/2\sigma^2)`, negligible for small steps and unbounded as
# :math:`\varepsilon\to 2\sigma^2`. Beyond :math:`2\sigma^2` the factor
# :math:`|1-\varepsilon/\sigma^2|` exceeds one and the chain **diverges**
# geometrically. For the ring, :math:`\sigma^2 = 0.1`, so the limit is
# :math:`\varepsilon = 0.2`, i.e. :math:`\sqrt{2\varepsilon} \approx 162/256`: the
# step :math:`200/256` (:math:`\varepsilon = 0.305`) is past it, and near each mode
# the ring's score is essentially that Gaussian's. We check :math:`v_\infty` with
# 20,000 chains on :math:`\mathcal N(0, 0.1\,I)`.

gauss = IsotropicGMM([[0.0, 0.0]], sigma=np.sqrt(0.1))
g_target = target_from(score=gauss.score, log_prob=gauss.log_prob)
print(f"{'eps':>6s} {'measured var':>13s} {'formula':>9s} {'MALA var':>9s} {'MALA acc':>9s}")
rows = []
for eps in (0.01, 0.05, 0.1, 0.15, 0.19):
    gen = torch.Generator().manual_seed(2)
    z0 = torch.randn(20000, 2, generator=gen, dtype=torch.float64) * np.sqrt(0.1)
    ula = sample(z0, g_target, eps, 400, generator=gen).state.position.var().item()
    mala = sample(z0, g_target, eps, 400, method="mala", generator=gen)
    formula = 0.1 / (1 - eps / 0.2)
    rows.append((eps, ula, formula))
    print(
        f"{eps:6.2f} {ula:13.4f} {formula:9.4f} {mala.state.position.var().item():9.4f} "
        f"{mala.acceptance_rate.mean().item():9.3f}"
    )
    assert abs(ula / formula - 1) < 0.05

# %%
# MALA at the step where Langevin diverges
# ----------------------------------------
#
# MALA :cite:p:`roberts1996` uses the Langevin move as a *proposal* :math:`\mathbf x'`
# and accepts it with probability :math:`\min(1,\alpha)`,
#
# .. math::
#
#    \alpha = \frac{p(\mathbf x')\,q(\mathbf x\mid\mathbf x')}
#    {p(\mathbf x)\,q(\mathbf x'\mid\mathbf x)},\qquad
#    q(\mathbf x'\mid\mathbf x)\propto\exp\Big(-\frac{1}{4\varepsilon}\big\lVert
#    \mathbf x'-\mathbf x-\varepsilon\nabla\log p(\mathbf x)\big\rVert^2\Big);
#
# on rejection the chain **stays** at :math:`\mathbf x^k` (the handout's wording,
# "replace :math:`x^{k+1}` with :math:`x^k` with probability :math:`\alpha`", has
# it backwards: a move is *kept* with probability :math:`\min(1,\alpha)`). The ratio
# of proposal densities is essential: the Langevin proposal is not symmetric (it
# drifts uphill), and without the correction the chain would again over-weight the
# direction of the drift. With it, detailed balance holds exactly for any
# :math:`\varepsilon`, so :math:`p` is the stationary distribution, and a bad step
# costs rejections instead of bias. Only the ratio :math:`p(\mathbf x')/p(\mathbf
# x)` appears, so the normalising constant is never needed.

mala_runs = {}
for label in ("10/256", "200/256"):
    gen = torch.Generator().manual_seed(1)
    mala_runs[label] = sample(
        x0,
        target,
        eps_from_noise(noise_scales[label]),
        5000,
        method="mala",
        generator=gen,
    )
fig, axes = panels(1, 3, size=3.3, sharex=False, sharey=False)
for k, (label, res) in enumerate(mala_runs.items()):
    final = res.state.position.numpy()
    w = mode_weights(final, centers, max_distance=3 * np.sqrt(0.1))
    d2 = energy_distance(final, real)
    acc = res.acceptance_rate.mean().item()
    print(
        f"MALA {label:>7s}: acceptance {acc:.3f}, mode weights {np.round(w[:5], 3)}, "
        f"far {w[5]:.3f}, D^2 = {d2:.4f}, std {final.std(0).round(3)}"
    )
    scatter_samples(
        axes[0, k],
        final,
        lims=lims,
        s=3,
        color="C2",
        title=f"MALA {label}: acceptance {acc:.2f}",
    )
for label, res in mala_runs.items():
    axes[0, 2].plot(res.acceptance_trace.numpy()[:300], lw=1, label=label)
axes[0, 2].set(
    xlabel="step",
    ylabel="fraction of chains accepting",
    title="MALA acceptance, first 300 steps",
)
axes[0, 2].legend()
plt.show()
final_big = mala_runs["200/256"].state.position.numpy()
assert np.isfinite(final_big).all() and energy_distance(final_big, real) < 0.01

# %%
# The effect of :math:`\varepsilon`
# ---------------------------------
#
# * **Too small** (:math:`1/256`, :math:`\varepsilon\approx 7.6\cdot10^{-6}`): the
#   chains are unbiased in principle but far from equilibrium. In 5000 steps the
#   total diffusion "time" :math:`K\varepsilon` is 0.04, so a chain moves about
#   :math:`\sqrt{2K\varepsilon}\approx0.3` by noise and only a little way uphill:
#   the paths are short, many chains are still between or outside the modes, and
#   the energy distance is the largest of the finite runs.
# * **Right** (:math:`10/256`): :math:`K\varepsilon \approx 3.8` is long enough to
#   forget the start and hop between modes, and the bias factor
#   :math:`1/(1-\varepsilon/2\sigma^2)\approx 1.004` is invisible; the mode weights
#   are near 0.2 and the energy distance is at the level of sampling noise.
# * **Too large** (:math:`200/256`): past the stability limit
#   :math:`\varepsilon = 2\sigma^2`, every step overshoots the nearest mode by more
#   than it corrects, and the distance from the origin grows geometrically (the log
#   plot is a straight line) until it overflows. Below the limit the table of the
#   Gaussian shows the milder form of the same problem, a variance inflated exactly
#   as derived.
# * **MALA** at the same :math:`200/256` rejects the overshooting proposals (about
#   half are accepted) and its samples match the exact ones, as in the Gaussian
#   table where MALA's variance stays at :math:`\sigma^2 = 0.1` for every step size.
#   The price is wasted proposals and extra evaluations of :math:`\log p`.

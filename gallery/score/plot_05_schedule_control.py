r"""
What sets the mode weights: exact-score controls, Song & Ermon's rules, denoising, slicing
==========================================================================================

With its learned noise-conditional model, annealed Langevin (HW4-T12) puts more
than the true 20% of its samples in the light mode (the
:ref:`T12 page <sphx_glr_auto_examples_score_plot_04_noise_conditional.py>` prints its
weight).
Is that the network's fault or the schedule's? This page answers with a control: the same
schedule run with the *exact* scores of the noisy mixture, over eight seeds. It then
finds the noise levels at which the weights are decided, tries the schedule rules of
:cite:t:`song2020improved` on the chapter's mixture, measures a final denoising
step by Tweedie's formula, and compares Gaussian and Rademacher slicing vectors in
the trace estimate of sliced score matching.

.. beyond:: Exact-score controls, schedule rules, Tweedie step for HW4-T5/T12; slicing for HW4-T7
"""

# %%
# The control: the T12 schedule with exact scores
# -----------------------------------------------
#
# Adding noise of standard deviation :math:`\sigma` to a sample of the mixture adds
# :math:`\sigma^2 I` to each component's covariance, so the noisy density
# :math:`q_\sigma` is the same mixture with standard deviation
# :math:`\tilde\sigma = \sqrt{1+\sigma^2}`, and its score is exact
# (:meth:`~probmods.gmm.IsotropicGMM.noisy_score`). The T12 schedule: noise levels
# :math:`\sigma_i` geometric from 10 to 0.1 (:math:`L = 10`), :math:`T = 100` steps per
# level, :math:`\varepsilon_i = \varepsilon\,\sigma_i^2/\sigma_L^2` with
# :math:`\varepsilon = 5\cdot10^{-4}`. Beside it, the T5 schedule: effective levels
# :math:`\tilde\sigma_i` geometric from 20 to 1, :math:`\varepsilon = 0.05`. Both start
# 1280 chains uniformly in :math:`[-8, 8]^2`; the seed fixes the start and the noise.
# The T12 network is not retrained here: the
# :ref:`T12 page <sphx_glr_auto_examples_score_plot_04_noise_conditional.py>` prints its
# light-mode weight (seed 0) beside the same eight exact-score runs, and checks that it lies
# inside their range.

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.optimize import brentq
from scipy.spatial.distance import pdist
from scipy.stats import norm

from probmods.gmm import GMMDist, mode_weights
from probmods.mcmc import annealed_langevin, langevin, sample, target_from, uniform_start
from probmods.metrics import energy_distance
from probmods.plotting import panels
from probmods.score import hutchinson_trace, tweedie_denoise

gmm = GMMDist()
SEEDS = range(8)
sig12 = np.exp(np.linspace(np.log(10.0), np.log(0.1), 10))  # noise levels of T11/T12
sig5 = np.exp(np.linspace(np.log(20.0), np.log(1.0), 10))  # effective levels of T5


def run(score, sigmas, epsilon, T):
    """Annealed Langevin from the course's start, per seed: the start and every level's output."""
    out = []
    for seed in SEEDS:
        init, gen = uniform_start(1280, box=8.0, seed=seed)
        out.append([init, *annealed_langevin(score, init, sigmas, epsilon, T, generator=gen)])
    return out


def light(runs, level=-1):
    """Light-mode weight of every seed after a level (the last by default)."""
    return np.array([mode_weights(r[level], gmm.means)[0] for r in runs])


runs12 = run(gmm.noisy_score, sig12, 5e-4, 100)
runs5 = run(gmm.score, sig5, 0.05, 100)  # T5 works with the effective sigma~ directly
w12, w5 = light(runs12), light(runs5)
se = np.sqrt(0.2 * 0.8 / 1280)
print("light-mode weight per seed:")
print("  T12 schedule, exact scores: " + " ".join(f"{w:.3f}" for w in w12))
print("  T5 schedule, exact scores : " + " ".join(f"{w:.3f}" for w in w5))
print(f"T12 schedule, exact scores : mean {w12.mean():.3f}, range {w12.min():.3f}-{w12.max():.3f}, "
      f"std over seeds {w12.std(ddof=1):.3f}")
print(f"T5 schedule, exact scores  : mean {w5.mean():.3f}, range {w5.min():.3f}-{w5.max():.3f}")
print(f"true weight 0.2; binomial standard error of one run {se:.3f}, "
      f"of a mean of 8 runs {se / np.sqrt(8):.4f}")


def se_mean(w):
    """Standard error of a mean over seeds, from the seed-to-seed spread."""
    return w.std(ddof=1) / np.sqrt(len(w))


def compare(name_a, a, name_b, b):
    """Difference of two means over seeds, in standard errors of the difference."""
    diff_se = np.sqrt(se_mean(a) ** 2 + se_mean(b) ** 2)
    print(f"{name_a} - {name_b}: {a.mean() - b.mean():+.3f}, standard error {diff_se:.3f}, "
          f"ratio {(a.mean() - b.mean()) / diff_se:.1f}")
    return (a.mean() - b.mean()) / diff_se


print(f"standard error of a mean of 8 runs from the seed-to-seed spread: T12 {se_mean(w12):.3f}, "
      f"T5 {se_mean(w5):.3f}")
t_12_5 = compare("T12", w12, "T5", w5)
# sphinx_gallery_start_ignore
assert abs(w12.mean() - 0.230) < 0.0005
assert round(w12.min(), 3) == 0.210 and round(w12.max(), 3) == 0.251
assert abs(w5.mean() - 0.213) < 0.005
assert round(w12.std(ddof=1), 3) == 0.015 and round(se, 3) == 0.011
assert 0.5 < w12.std(ddof=1) / se < 2
assert se_mean(w12) > se / np.sqrt(8) and se_mean(w5) > se / np.sqrt(8)
assert 0.004 < se_mean(w12) < 0.007 and 0.004 < se_mean(w5) < 0.007  # "about 0.005-0.006"
assert w12.mean() - w5.mean() > 2 * np.sqrt(w12.var(ddof=1) / 8 + w5.var(ddof=1) / 8)
assert 2 < t_12_5 < 2.5  # "about two standard errors"
assert w12.min() > 0.2 and w12.mean() - 0.2 > 5 * se_mean(w12)
# sphinx_gallery_end_ignore

# %%
# The learned model's single run (seed 0, printed on the T12 page) lies inside the
# range of these eight exact-score runs (0.210-0.251, mean 0.230; that page checks it):
# with exact scores, the T12 schedule puts too much weight on the light mode too, and in
# every seed. The excess over 0.2 is a property of the **schedule**, not of the network.
# The seed-to-seed standard deviation (0.015) is of the order of the binomial standard
# error of one run (0.011), so a single run cannot tell 0.22 from 0.24. The mean of
# eight runs narrows that: its standard error, estimated from the seed-to-seed spread,
# is about 0.005-0.006 (printed; the binomial value understates it). The two schedules'
# means differ by about two such standard errors of the difference (printed), which
# suggests that T5's levels leave less excess than T12's, without settling it.
#
# Where the weights are decided
# -----------------------------
#
# A chain can only change mode by crossing the line :math:`x_1 + x_2 = 0` between the
# basins (``mode_weights`` assigns by this line). If at level :math:`\tilde\sigma` the
# chains were in equilibrium, the light side would hold the mass of :math:`q` there,
#
# .. math::
#
#    w_\text{eq}(\tilde\sigma) = 0.2\,\Phi(a) + 0.8\,\Phi(-a) = 0.8 - 0.6\,\Phi(a),\qquad
#    a = \frac{\lVert\boldsymbol\mu_2-\boldsymbol\mu_1\rVert}{2\tilde\sigma}
#    = \frac{5\sqrt2}{\tilde\sigma},
#
# which falls to 0.2 as :math:`\tilde\sigma` shrinks. Beside it, for every level: the
# measured weight (mean of 8 seeds), the share of chains whose side differs from the
# one they had at the end of the previous level, and the barrier, the drop of
# :math:`\log q` from the light mode's peak to the saddle between the modes along the
# diagonal (0 while :math:`q` has a single peak there).

half_gap = float((gmm.means[1] - gmm.means[0]).norm()) / 2
diag = torch.linspace(-8, 8, 4001, dtype=torch.float64)
line = torch.stack([diag, diag], dim=1)


def w_eq(st):
    return 0.8 - 0.6 * norm.cdf(half_gap / st)


def barrier(st):
    """log q at the light peak minus log q at the saddle on the diagonal (0: a single peak)."""
    lq = gmm.log_prob(line, st).numpy()
    peaks = np.flatnonzero((lq[1:-1] > lq[:-2]) & (lq[1:-1] > lq[2:])) + 1
    if len(peaks) < 2:
        return 0.0
    return float(lq[peaks[0]] - lq[peaks[0] : peaks[-1]].min())


def per_level(runs, tildes):
    rows = []
    for i, st in enumerate(tildes):
        sides = [(r[i].sum(1) < 0, r[i + 1].sum(1) < 0) for r in runs]
        switched = np.mean([(before != after).float().mean().item() for before, after in sides])
        rows.append((st, w_eq(st), light(runs, i + 1).mean(), switched, barrier(st)))
    return np.array(rows)


tilde12 = np.array([gmm.noisy_sigma(s) for s in sig12])
levels = {"T12": per_level(runs12, tilde12), "T5": per_level(runs5, sig5)}
for name, rows in levels.items():
    print(f"{name}: {'sigma~':>7s} {'w_eq':>6s} {'w':>6s} {'switched':>9s} {'barrier':>8s}")
    for st, we, w, sw, b in rows:
        print(f"     {st:7.2f} {we:6.3f} {w:6.3f} {sw:9.4f} {b:8.2f}")
# sphinx_gallery_start_ignore
t12r, t5r = levels["T12"], levels["T5"]
assert abs(t12r[0, 2] - t12r[0, 1]) < 0.015 and abs(t5r[0, 2] - t5r[0, 1]) < 0.015  # equilibrium
assert t12r[0, 3] > 0.45 and t5r[0, 3] > 0.45  # about half switch sides at the first level
assert t12r[2, 0] > 3.5 and t12r[2, 2] - t12r[2, 1] > 0.02 and 0.4 < t12r[2, 4] < 0.6  # at 3.73
assert t12r[3, 2] - t12r[3, 1] > 0.02 and 2.5 < t12r[3, 4] < 3.5 and 1.8 < t5r[6, 4] < 2.5
assert t12r[4, 3] < 0.01 and t12r[4, 4] > 5 and t5r[7, 3] < 0.01 and t5r[7, 4] > 5
assert np.all(np.abs(t12r[3:, 2] - w12.mean()) < 0.002)
assert np.all(np.abs(t5r[7:, 2] - w5.mean()) < 0.002)
assert t5r[6, 2] - t5r[6, 1] > 0.008
assert barrier(5.0) == 0 < barrier(4.5)  # "opens as sigma~ falls from about 5"
# sphinx_gallery_end_ignore

fig, axes = panels(1, 2, size=3.8, sharex=False, sharey=False)
ax = axes[0, 0]
grid = np.geomspace(1, 21, 200)
ax.plot(grid, w_eq(grid), "k", lw=2, label="$w_{eq}$: equilibrium at each level")
for (name, rows), color in zip(levels.items(), ("C1", "C0"), strict=True):
    ax.plot(rows[:, 0], rows[:, 2], "o-", color=color, ms=4, label=f"{name} schedule, exact scores")
ax.axhline(0.2, color="0.6", lw=0.8, ls="--")
ax.set(xscale="log", xlabel=r"level $\tilde\sigma$", ylabel="light-mode weight",
       title="weights level by level")
ax.invert_xaxis()
ax.legend(fontsize=7)
ax = axes[0, 1]
for (name, rows), color in zip(levels.items(), ("C1", "C0"), strict=True):
    ax.plot(rows[:, 0], rows[:, 3], "o-", color=color, ms=4, label=f"{name}: share switching sides")
ax.set(xscale="log", xlabel=r"level $\tilde\sigma$", ylabel="share of chains switching sides",
       title="crossings and barrier")
ax.invert_xaxis()
ax.legend(fontsize=7, loc="center left")
for ax in axes[0]:
    ax.set_aspect("auto")
twin = axes[0, 1].twinx()
twin.plot(grid, [barrier(g) for g in grid], "k:", label="barrier")
twin.set_ylabel("barrier from the light mode (nats), dotted")
plt.show()

# %%
# At the first level both schedules are at equilibrium (:math:`w \approx
# w_\text{eq}`); the chains cross freely, about half of them switching sides. A
# barrier opens between the modes as :math:`\tilde\sigma` falls from about 5 to 2
# (printed: about half a nat near 3.7, about 2 and 3 nats at 2.7 and 2.4, 5 and more
# below 2), and crossings die out: from :math:`\tilde\sigma\approx 2` down (T5's level at
# 1.95, T12's at 1.63) fewer than 1% of the chains change side, and the weight keeps
# its final value. That value lags the equilibrium: at the last levels where chains
# still cross, the measured weight stays above :math:`w_\text{eq}` (T12 at 3.73 and
# 2.38, T5 at 2.71). The populations of the two basins can only relax by crossings,
# which become rare as the barrier rises; the final excess over 0.2 is this lag,
# frozen in. T5's levels are closer together and it has more of them in the window
# where the barrier rises from 0 to 6 nats (counted below: three against T12's two);
# its mean ends closer to 0.2.
#
# Song & Ermon's rules
# --------------------
#
# :cite:t:`song2020improved` give five techniques, three of them (1, 2 and 4) rules
# for the schedule. Technique 1 comes from a data set of many points; for Techniques 2
# and 4 they model the data as a single point, so that :math:`q_{\sigma}` is
# :math:`\mathcal N(0, \sigma^2 I)`:
#
# * **Technique 1**: :math:`\sigma_1` about the largest distance between two data points.
# * **Technique 2**: a geometric sequence whose ratio :math:`\gamma` makes the shells
#   of consecutive levels overlap: for dimension :math:`D`,
#   :math:`\Phi(\sqrt{2D}(\gamma-1)+3\gamma) - \Phi(\sqrt{2D}(\gamma-1)-3\gamma) \approx 0.5`
#   (:math:`\Phi` the standard normal CDF), the mass that :math:`q_{\sigma_i}` puts within
#   three standard deviations of the typical norm of :math:`q_{\sigma_{i-1}}`.
# * **Technique 4**: :math:`T` as large as the budget allows, then :math:`\varepsilon` such
#   that the variance ratio after :math:`T` steps of level :math:`i`, started from level
#   :math:`i-1`'s stationary law, is as close to 1 as possible (their Eq. 4, with
#   :math:`c = \varepsilon/\sigma_L^2`):
#
# .. math::
#
#    \frac{s_T^2}{\sigma_i^2} = (1-c)^{2T}\Big(\gamma^2 - \frac{2c}{1-(1-c)^2}\Big)
#    + \frac{2c}{1-(1-c)^2} .
#
# (Technique 3 parametrises the score as :math:`s_\theta(\mathbf x,\sigma) =
# s_\theta(\mathbf x)/\sigma`, whose :math:`1/\sigma` scaling the chapter's network
# already uses (it still also takes :math:`\sigma` as input); Technique 5 averages the
# weights exponentially.) The formula is checked
# against a simulation of that model (20,000 chains, :math:`\gamma` and
# :math:`\varepsilon` of T12).


def overlap(gamma, D):
    a = np.sqrt(2 * D) * (gamma - 1)
    return norm.cdf(a + 3 * gamma) - norm.cdf(a - 3 * gamma)


def variance_ratio(eps, T, gamma, sigma_L):
    c = eps / sigma_L**2
    stat = 2 * c / (1 - (1 - c) ** 2)
    return (1 - c) ** (2 * T) * (gamma**2 - stat) + stat


data = gmm.sample(1000, generator=torch.Generator().manual_seed(0)).double()  # the T1 sample
sigma_1 = float(pdist(data.numpy()).max())
gammas = np.linspace(1.0, 10.0, 9001)[1:]
print(f"Technique 1: largest distance between the 1000 samples of T1: sigma_1 = {sigma_1:.1f}")
print(f"Technique 2: D = 2, smallest overlap over 1 < gamma <= 10: {overlap(gammas, 2).min():.4f}")
gamma_img = brentq(lambda g: overlap(g, 3072) - 0.5, 1.0001, 2.0)
print(f"             D = 3072 (a 32x32 colour image): overlap 0.5 at gamma = {gamma_img:.3f}")

gamma12 = sig12[0] / sig12[1]
gen = torch.Generator().manual_seed(1)
x0 = gamma12 * torch.randn(20000, 2, dtype=torch.float64, generator=gen)  # level i-1, sigma_i = 1
sim = sample(x0, langevin(target_from(score=lambda x: -x), 5e-4 / 0.1**2), 100, generator=gen)
sim = sim.state.position
ratio_sim, ratio_eq4 = sim.var().item(), variance_ratio(5e-4, 100, gamma12, 0.1)
ratio_se = ratio_eq4 * np.sqrt(2 / sim.numel())
print(f"Eq. 4 for T12 (gamma {gamma12:.3f}, T = 100, eps = 5e-4): {ratio_eq4:.4f}; "
      f"simulated {ratio_sim:.4f} +- {ratio_se:.4f}")
assert abs(ratio_sim - ratio_eq4) < 4 * ratio_se

# %%
# In two dimensions Technique 2 sets no ratio: for :math:`D = 2` the overlap never
# drops to 0.5, however far apart the levels (printed: at least 0.997 for every
# :math:`\gamma` up to 10). The rule rests on the norm of a high-dimensional Gaussian
# concentrating on a thin shell (relative width :math:`1/\sqrt{2D}`); in 2-D there is no
# shell, and consecutive levels always overlap. For images the same formula gives a
# ratio close to 1 (printed for :math:`D = 3072`), hence hundreds of levels (232 in
# :cite:t:`song2020improved`'s CIFAR-10 model). So we
# keep the chapter's :math:`L = 10` levels from :math:`\sigma_1` (Technique 1) to
# :math:`\sigma_L = 0.1` and the budget of 1000 steps, so :math:`T = 100`
# (Technique 4's first half), and choose :math:`\varepsilon` by Eq. 4.

T = 100
sig_se = np.exp(np.linspace(np.log(sigma_1), np.log(0.1), 10))
gamma_se = sig_se[0] / sig_se[1]
eps_grid = np.geomspace(1e-7, 0.1**2 * 0.999, 100_000)
eps_se = float(eps_grid[np.argmin(np.abs(variance_ratio(eps_grid, T, gamma_se, 0.1) - 1))])
print(f"Song & Ermon schedule: sigma from {sigma_1:.1f} to 0.1, L = 10 (gamma {gamma_se:.3f}), "
      f"T = {T}, eps = {eps_se:.2e}: Eq. 4 ratio {variance_ratio(eps_se, T, gamma_se, 0.1):.4f}")
print(f"T12 schedule (gamma {gamma12:.3f}, eps = 5e-4): Eq. 4 ratio "
      f"{variance_ratio(5e-4, T, gamma12, 0.1):.4f}")
print(f"T5 schedule (gamma {sig5[0] / sig5[1]:.3f}, eps = 0.05, sigma_L = 1): Eq. 4 ratio "
      f"{variance_ratio(0.05, T, sig5[0] / sig5[1], 1.0):.4f}")

runs_se = run(gmm.noisy_score, sig_se, eps_se, T)
w_se = light(runs_se)
print(f"Song & Ermon schedule, exact scores: light-mode weight mean {w_se.mean():.3f}, "
      f"range {w_se.min():.3f}-{w_se.max():.3f} (true 0.2)")


def relaxation_times(sigmas, tildes, epsilon, T):
    """Langevin time of every level in units of its variance sigma~^2, eps_i T / sigma~_i^2."""
    return epsilon * sigmas**2 / sigmas[-1] ** 2 * T / tildes**2


window = {}
for name, sigmas, tildes, epsilon in (
    ("T12", sig12, tilde12, 5e-4),
    ("T5", sig5, sig5, 0.05),
    ("Song & Ermon", sig_se, np.array([gmm.noisy_sigma(s) for s in sig_se]), eps_se),
):
    inside = np.array([0 < barrier(t) < 6 for t in tildes])  # where the barrier rises
    window[name] = relaxation_times(sigmas, tildes, epsilon, T)[inside]
    at = ", ".join(f"{t:.2f}" for t in tildes[inside])
    print(f"{name:13s}: levels with a barrier of 0-6 nats at sigma~ = {at}; "
          "relaxation times per level " + ", ".join(f"{r:.1f}" for r in window[name]))
t_se_12 = compare("Song & Ermon", w_se, "T12", w12)
t_se_5 = compare("Song & Ermon", w_se, "T5", w5)
# sphinx_gallery_start_ignore
assert 20 < sigma_1 < 21.5 and overlap(gammas, 2).min() > 0.997 and 1.03 < gamma_img < 1.05
assert abs(variance_ratio(5e-4, T, gamma12, 0.1) - 1.026) < 0.001 and eps_se < 0.8 * 5e-4
assert variance_ratio(eps_se, T, gamma_se, 0.1) < 1.02
assert abs(w_se.mean() - 0.245) < 0.0005 and 1.5 < t_se_12 < 2.5  # "about two standard errors"
assert 3.5 < t_se_5 < 4.5  # "about four"
assert window["Song & Ermon"].max() < window["T12"].min()
assert len(window["T5"]) == 3 and len(window["T12"]) == 2 and len(window["Song & Ermon"]) == 2
# sphinx_gallery_end_ignore

# %%
# By these criteria the course's schedules pass. :math:`\sigma_1 = 10` of T12 is
# half of Technique 1's value, but T12's first level is already at equilibrium
# (previous table), so a larger :math:`\sigma_1` has nothing to fix. Eq. 4 gives 1.026
# for both course schedules (printed; both take :math:`c = 0.05`), against 1.02 at
# its optimum: the variance within a level is not where they fail. Following the
# rules does not help the weights: their mean is 0.245 against T12's 0.230, a
# difference of about two standard errors (printed), which suggests they are worse.
# The optimal
# :math:`\varepsilon` is smaller than the course's, so each level lasts fewer
# relaxation times :math:`\varepsilon_i T/\tilde\sigma_i^2`, and the larger
# :math:`\sigma_1` spreads the ten levels wider: two levels in the window where the
# barrier rises, as in T12, each shorter (printed). Eq. 4 describes one Gaussian; the
# populations of two basins separated by a growing barrier are outside it.
#
# What helps, then, is more Langevin time at the levels where the barrier rises. A
# sweep of T5's :math:`T` (same levels, same :math:`\varepsilon`) shows it.

sweep = {100: w5}
for t_steps in (25, 400):
    sweep[t_steps] = light(run(gmm.score, sig5, 0.05, t_steps))
for t_steps in sorted(sweep):
    w = sweep[t_steps]
    print(f"T5 levels, T = {t_steps:3d} steps per level ({10 * t_steps:4d} in all): "
          f"light-mode weight {w.mean():.3f} (range {w.min():.3f}-{w.max():.3f})")
t_25_100 = compare("T = 25", sweep[25], "T = 100", sweep[100])
t_100_400 = compare("T = 100", sweep[100], "T = 400", sweep[400])
# sphinx_gallery_start_ignore
assert sweep[25].mean() > sweep[100].mean() + 0.03 and t_25_100 > 4  # "clearly larger"
assert abs(t_100_400) < 2  # "cannot be told from T = 100's with eight seeds"
assert w5.mean() < w12.mean() < w_se.mean()  # the order of the means at 1000 steps
# sphinx_gallery_end_ignore

fig, ax = plt.subplots(figsize=(7.5, 3.4), layout="constrained")
groups = [
    ("T12 levels\nexact scores", w12),
    ("T5 levels\nT = 25", sweep[25]),
    ("T5 levels\nT = 100", w5),
    ("T5 levels\nT = 400", sweep[400]),
    ("Song & Ermon\nrules", w_se),
]
for k, (_, w) in enumerate(groups):
    ax.plot(np.full(len(w), k), w, "o", color="C0", alpha=0.5, ms=5)
    ax.plot([k - 0.25, k + 0.25], [w.mean()] * 2, color="C0", lw=2)
ax.axhline(0.2, color="k", lw=1, ls="--", label="true weight 0.2")
ax.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize=8)
ax.set(ylabel="light-mode weight", title="8 seeds per schedule (bar: mean)")
ax.legend(fontsize=8)
plt.show()

# %%
# More time per level brings the weight closer to 0.2, as far as eight seeds can tell
# (printed): :math:`T = 25` leaves a clearly larger excess than :math:`T = 100`, but at
# :math:`T = 400` the remaining excess cannot be told from :math:`T = 100`'s with eight
# seeds. This is the usual trade of annealing: the slower the cooling through the
# range where the barrier forms, the closer the frozen populations are to equilibrium.
# At the chapter's budget of 1000 steps, T5's schedule has the smallest mean excess of
# the three tried here, but its lead over T12 is about two standard errors of the
# difference (printed above), as is T12's lead over Song & Ermon's rules: an order the
# eight seeds suggest rather than settle.
#
# The final denoising step
# ------------------------
#
# The chains of the last level sample :math:`q_{\sigma_L}`, the data plus noise of
# standard deviation :math:`\sigma_L`. :cite:t:`jolicoeur2021` end the sampler with
# one step of Tweedie's formula :cite:p:`efron2011` (the ``denoise`` option of
# Song & Ermon's NCSNv2 sampling code does the same),
#
# .. math::
#
#    \hat{\mathbf x} = \tilde{\mathbf x} + \sigma_L^2\,\nabla\log q_{\sigma_L}(\tilde{\mathbf x})
#    = \mathbb E[\mathbf x\mid\tilde{\mathbf x}],
#
# the posterior mean of the clean point (:func:`probmods.score.tweedie_denoise`). It
# removes the noise, but a posterior mean is not a sample: for a unit Gaussian, the
# noisy point has standard deviation :math:`\sqrt{1+\sigma^2}` and its posterior mean
# :math:`1/\sqrt{1+\sigma^2}`. First on exact noisy samples (8 draws of 1280 points,
# each denoised), then on the T12 chains (:math:`\sigma_L = 0.1`). Two measures, both
# on the points nearer the heavy mode, so that the mode weights, which the step does
# not change, stay out: the spread, their per-coordinate standard deviation, and the
# energy distance (:func:`probmods.metrics.energy_distance`) from them to the points
# of 2000 exact samples nearer the heavy mode. All are means over the 8 draws or
# seeds.


def heavy(x):
    x = x.double()
    return x[(x - gmm.means[1]).norm(dim=1) < (x - gmm.means[0]).norm(dim=1)]


def spread(x):
    return heavy(x).std(0).mean().item()


ref = heavy(gmm.sample(2000, generator=torch.Generator().manual_seed(100)))
levels_demo = (0.1, 0.5, 1.0)
rows = []  # per draw: clean spread and distance, then noisy and denoised ones per noise level
for seed in SEEDS:
    clean = gmm.sample(1280, generator=torch.Generator().manual_seed(200 + seed)).double()
    gen = torch.Generator().manual_seed(300 + seed)
    z = torch.randn(clean.shape, dtype=torch.float64, generator=gen)
    row = [spread(clean), energy_distance(heavy(clean), ref)]
    for s in levels_demo:
        noisy = clean + s * z
        den = tweedie_denoise(gmm.noisy_score, noisy, s)
        row += [spread(noisy), spread(den)]
        row += [energy_distance(heavy(noisy), ref), energy_distance(heavy(den), ref)]
    rows.append(row)
rows = np.array(rows)
ed_sd = rows[:, 1].std(ddof=1)
print(f"clean samples: spread {rows[:, 0].mean():.3f}, energy distance {rows[:, 1].mean():.4f} "
      f"(standard deviation over the 8 draws {ed_sd:.4f})")
print(f"{'sigma':>5s} {'spread noisy':>13s} {'denoised':>9s} {'ED noisy':>9s} {'denoised':>9s}")
demo = np.column_stack([levels_demo, rows[:, 2:].mean(0).reshape(3, 4)])
for d in demo:
    print("{:5.1f} {:13.3f} {:9.3f} {:9.4f} {:9.4f}".format(*d))

final = []
for r in runs12:
    x = r[-1].double()
    den = tweedie_denoise(gmm.noisy_score, x, sig12[-1])
    eds = energy_distance(heavy(x), ref), energy_distance(heavy(den), ref)
    final.append((spread(x), spread(den), *eds))
final = np.array(final)
removed = (final[:, 0].mean() - final[:, 1].mean()) / (final[:, 0].mean() - 1)
lower = int((final[:, 3] < final[:, 2]).sum())
print(f"T12 chains (exact scores, 8 seeds): spread {final[:, 0].mean():.3f} -> "
      f"{final[:, 1].mean():.3f} after the step ({100 * removed:.0f}% of the excess over 1)")
print(f"    energy distance {final[:, 2].mean():.4f} -> {final[:, 3].mean():.4f}, "
      f"lower in {lower} of 8 seeds")
last = relaxation_times(sig12, tilde12, 5e-4, T)
print(f"spread of exact samples of q at sigma_L = 0.1: sqrt(1.01) = {np.sqrt(1.01):.3f}")
print("relaxation times of T12's last three levels: " + ", ".join(f"{r:.2f}" for r in last[-3:]))
# sphinx_gallery_start_ignore
assert abs(demo[0, 1] - demo[0, 2]) < 0.015 and abs(demo[0, 3] - demo[0, 4]) < ed_sd
assert 0.68 < demo[2, 2] < 0.73 and 1.38 < demo[2, 1] < 1.45 and 0.4 < demo[2, 4] / demo[2, 3] < 0.6
assert demo[1, 4] < demo[1, 3] / 2 and demo[1, 4] < demo[1, 3] - 2 * ed_sd
assert 1.03 < final[:, 0].mean() < 1.07 and 0.15 < removed < 0.25 and final[:, 1].mean() > 1.02
assert 8 < (final[:, 0].mean() - 1) / (np.sqrt(1.01) - 1) < 14
assert abs(final[:, 2].mean() - final[:, 3].mean()) < ed_sd and abs(last[-1] - 0.05) < 0.005
assert lower == 8
# sphinx_gallery_end_ignore

fig, ax = plt.subplots(figsize=(5.5, 3.4), layout="constrained")
s_line = np.linspace(0, 1.1, 100)
ax.plot(s_line, np.sqrt(1 + s_line**2), "C1", label=r"noisy: $\sqrt{1+\sigma^2}$")
ax.plot(s_line, 1 / np.sqrt(1 + s_line**2), "C0", label=r"denoised: $1/\sqrt{1+\sigma^2}$")
ax.plot(demo[:, 0], demo[:, 1], "o", color="C1")
ax.plot(demo[:, 0], demo[:, 2], "o", color="C0")
ax.plot([0.1, 0.1], final[:, :2].mean(0), "s", color="C3", label="T12 chains, before / after")
ax.axhline(1, color="k", lw=0.8, ls="--")
ax.set(xlabel=r"noise level $\sigma$", ylabel="spread around the heavy mode",
       title="Tweedie's step")
ax.legend(fontsize=8)
plt.show()

# %%
# On exact noisy samples the step trades an excess factor :math:`\sqrt{1+\sigma^2}`
# of the spread for a deficit factor :math:`1/\sqrt{1+\sigma^2}`, and the energy
# distance drops, by about half at :math:`\sigma = 1` (the spread goes from 1.41 to
# 0.71) and further at :math:`\sigma = 0.5` (printed). At :math:`\sigma_L = 0.1`
# both effects are of order :math:`\sigma_L^2/2 = 0.5\%` and the change of the
# distance is below its draw-to-draw standard deviation. On the T12 chains the step
# lowers the energy distance in all eight seeds (printed); the mean drop is smaller
# than that standard deviation, but a drop in eight of eight paired seeds is systematic.
# Their spread exceeds 1 by about 5%, ten times the excess of exact samples of
# :math:`q_{0.1}` (:math:`\sqrt{1.01}`). That excess comes from the schedule, not from
# :math:`\sigma_L`: with :math:`\varepsilon_i\propto\sigma_i^2` the last levels last a
# small fraction of a relaxation time (printed, down to 0.05), so the chains are
# still wider than :math:`q_{\sigma_L}`, and the step, of size :math:`\sigma_L^2`,
# removes about a fifth of the excess.
#
# Gaussian or Rademacher slicing vectors
# --------------------------------------
#
# Sliced score matching (HW4-T7) estimates the trace of :math:`A = \nabla_{\mathbf x}
# s(\mathbf x)` by :math:`\mathbf v^\top A\mathbf v` with :math:`\mathbb E[\mathbf v
# \mathbf v^\top] = I`, Hutchinson's estimator :cite:p:`hutchinson1989`. For symmetric
# :math:`A` its variance is :math:`2\lVert A\rVert_F^2` with Gaussian :math:`\mathbf v`
# and :math:`2\sum_{i\ne j}A_{ij}^2` with Rademacher :math:`\mathbf v` (independent
# signs :math:`\pm1`): the signs square to one, so the diagonal is estimated without
# error. At the true score :math:`A` is the Hessian of :math:`\log p`, and we compare
# the two exactly (Hessian by autograd) and by simulation
# (:func:`probmods.score.hutchinson_trace`, one vector per point, 20,000 points of
# :math:`p`), then at the noise levels of T11 with the exact noisy scores, scaled by
# :math:`\tilde\sigma^4` to remove the :math:`1/\tilde\sigma^2` size of the Hessian.


def hutchinson_variances(score, x):
    """Gaussian and Rademacher variances of v^T A v (exact in v), averaged over the points x."""
    xg = x.detach().requires_grad_(True)
    s = score(xg)
    rows = [torch.autograd.grad(s[:, k].sum(), xg, retain_graph=True)[0] for k in range(x.shape[1])]
    a = torch.stack(rows, dim=1)
    sym = 0.5 * (a + a.transpose(1, 2))
    off = sym - torch.diag_embed(torch.diagonal(sym, dim1=1, dim2=2))
    return 2 * (sym**2).sum((1, 2)).mean().item(), 2 * (off**2).sum((1, 2)).mean().item()


xp = gmm.sample(20000, generator=torch.Generator().manual_seed(3)).double()
exact_g, exact_r = hutchinson_variances(gmm.score, xp)
mc = {v: hutchinson_trace(gmm.score, xp, v_dist=v, generator=torch.Generator().manual_seed(4))
      for v in ("gaussian", "rademacher")}
print(f"at the true score of p: variance with Gaussian v {exact_g:.3f} "
      f"(simulated {mc['gaussian'].var().item():.3f}), with Rademacher v {exact_r:.1e} "
      f"(simulated {mc['rademacher'].var().item():.1e})")
print(f"mean of the estimates: {mc['gaussian'].mean().item():.3f} (Gaussian), "
      f"{mc['rademacher'].mean().item():.3f} (Rademacher); E[tr A] = -2 / sigma^2 = -2")
table = []
print(f"{'sigma':>6s} {'sigma~^4 Var, Gaussian':>23s} {'Rademacher':>11s} {'ratio':>9s}")
for s in sig12:
    gen = torch.Generator().manual_seed(5)
    xs = xp + s * torch.randn(xp.shape, dtype=torch.float64, generator=gen)
    g, r = hutchinson_variances(lambda v, s=s: gmm.noisy_score(v, float(s)), xs)
    st4 = gmm.noisy_sigma(float(s)) ** 4
    table.append((s, st4 * g, st4 * r))
    print(f"{s:6.2f} {st4 * g:23.3f} {st4 * r:11.2e} {r / g:9.2e}")
table = np.array(table)
# sphinx_gallery_start_ignore
assert abs(exact_g - 4) < 0.01 and exact_r < 1e-20 and 3.85 < mc["gaussian"].var().item() < 4.1
assert mc["rademacher"].var().item() < 1e-20 and abs(mc["rademacher"].mean().item() + 2) < 1e-9
ratios = table[:, 2] / table[:, 1]
assert 0.1 < ratios.max() < 0.15 and table[np.argmax(ratios), 0] > 2 and ratios[-5:].max() < 1e-15
# sphinx_gallery_end_ignore

fig, ax = plt.subplots(figsize=(5.5, 3.4), layout="constrained")
ax.plot(table[:, 0], table[:, 1], "o-", label="Gaussian v")
ax.plot(table[:, 0], np.maximum(table[:, 2], 1e-35), "s-", label="Rademacher v")
ax.set(xscale="log", yscale="log", xlabel=r"noise level $\sigma$",
       ylabel=r"$\tilde\sigma^4\,$Var$[v^\top A v]$", title="variance of the trace estimate")
ax.invert_xaxis()
ax.legend()
plt.show()

# %%
# At the data level the Gaussian vectors give a variance of about 4 (exactly 4.000;
# the simulation's 3.97 is that with sampling error) and the Rademacher vectors
# essentially zero (printed). The reason is the geometry of the mixture: within a
# mode :math:`A = -I/\sigma^2` is diagonal, so :math:`2\lVert A\rVert_F^2 = 4` while the
# off-diagonal sum vanishes. Off-diagonal terms come only from the boundary between
# the modes, where :math:`A` gains :math:`r_1 r_2(\boldsymbol\mu_1-\boldsymbol\mu_2)
# (\boldsymbol\mu_1-\boldsymbol\mu_2)^\top/\tilde\sigma^4`, a matrix with equal
# diagonal and off-diagonal entries (the means differ along the diagonal); :math:`p`
# puts almost no mass there. At the large noise levels, where the modes overlap, the
# Rademacher variance is no longer zero, but stays at about a tenth of the Gaussian
# one or below (the largest ratio is printed). The advantage depends on the
# coordinates: within a mode the Hessian of an isotropic component is diagonal in
# every basis, but the boundary term is not (were the means separated along an axis,
# it would be diagonal too), and neither need be the Jacobian of a learned score or
# of a mixture with correlated components. Both estimators have the same mean, so
# both train the same objective; at the true score of this mixture the Rademacher
# vectors remove the trace term's share of the noise.
#
# Discussion
# ----------
#
# * The learned T12 model's excess weight on the light mode is the schedule's: the
#   learned model's single run (printed on the T12 page) lies inside the range of
#   eight exact-score runs (0.210-0.251, mean 0.230).
# * The weights are set where the two modes separate (:math:`\tilde\sigma` from about
#   5 to 2, where the barrier rises from 0 to a few nats); below that fewer than 1% of
#   the chains change mode per level. What they end at depends on how much Langevin
#   time the chains spend there: with a quarter of T5's :math:`T` at the same levels
#   the excess is clearly larger, while four times T5's :math:`T` cannot be told apart
#   from it with eight seeds.
# * Song & Ermon's rules target the variance within a level, which the course's
#   schedules already get within 3%; Technique 2 sets no ratio in two dimensions; and
#   their :math:`\varepsilon` shortens every level, so here their mean excess is
#   larger than either course schedule's: clearly so against T5's (about four
#   standard errors of the difference), suggestively against T12's (about two).
# * Tweedie's final step is a correction of order :math:`\sigma_L^2`; at the
#   chapter's :math:`\sigma_L = 0.1` it is small: it removes about a fifth of the
#   excess spread left by the short last levels of T12.
# * Rademacher slicing vectors remove the trace estimate's variance at the true score
#   of this mixture, because its Hessian is diagonal wherever the data are.

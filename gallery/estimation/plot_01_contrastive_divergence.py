r"""
Maximum likelihood and contrastive divergence
=============================================

Maximum-likelihood learning of an energy model needs samples of the model itself:
the gradient of the log-likelihood is a *positive phase* on the data minus a
*negative phase* on model samples. Exact samples are rarely available, so one
runs MCMC, and contrastive divergence cuts the chains short and starts them at the
data. This page learns the four means of a Gaussian mixture in all three ways,
with the same data and the same initial guess, and measures error against
iteration and wall-clock time. Because this mixture is normalised whatever its
means, the negative phase turns out to be zero on average: we show it, and see
what each method then really pays for its samples.
"""

# %%
# The model and the real samples
# ------------------------------
#
# .. task:: HW3-T1
#
# The model is the equal-weight mixture of :math:`N = 4` isotropic Gaussians,
#
# .. math::
#
#    p(\mathbf x;\{\boldsymbol\mu_i\}) = \sum_{i=1}^N\frac1N\,\frac{1}{2\pi\sigma^2}
#    \exp\Big(-\frac{\lVert\mathbf x-\boldsymbol\mu_i\rVert^2}{2\sigma^2}\Big),
#
# with :math:`\sigma = 1` and means :math:`(0,0), (0,3), (3,0), (3,3)`. Direct
# sampling picks a component uniformly, then adds Gaussian noise to its mean
# (:func:`probmods.estimation.sample_gmm`). The :math:`J = 1000` draws below are
# the *real samples* of the whole page.

import matplotlib.pyplot as plt
import numpy as np

from probmods.estimation import (
    TRUE_MEANS,
    contrastive_divergence,
    fit_ml,
    fit_score_matching,
    grad_log_prob_means,
    gradient_ascent,
    init_means,
    log_prob,
    mala_gmm,
    matched_error,
    ml_direct,
    ml_mcmc,
    sample_gmm,
)
from probmods.metrics import energy_distance
from probmods.plotting import panels, scatter_samples

rng = np.random.default_rng(0)
x_real = sample_gmm(TRUE_MEANS, 1000, rng)
lims = ((-4, 7), (-4, 7))
print(f"sample mean {x_real.mean(0).round(3)} (exact (1.5, 1.5))")

# %%
# MALA for the mixture
# --------------------
#
# .. task:: HW3-T2
#
# MALA proposes a Langevin move and accepts it by the Metropolis-Hastings rule,
#
# .. math::
#
#    \mathbf x' = \mathbf x + \varepsilon\nabla_{\mathbf x}\log p(\mathbf x)
#    + \sqrt{2\varepsilon}\,\mathbf z,\qquad
#    \alpha = \min\Big(1,\frac{p(\mathbf x')\,q(\mathbf x\mid\mathbf x')}
#    {p(\mathbf x)\,q(\mathbf x'\mid\mathbf x)}\Big),
#
# with :math:`q(\mathbf x'\mid\mathbf x)\propto\exp(-\lVert\mathbf x'-\mathbf x-
# \varepsilon\nabla\log p(\mathbf x)\rVert^2/4\varepsilon)` and the score
# :math:`\nabla_{\mathbf x}\log p = \sum_i r_i(\mathbf x)(\boldsymbol\mu_i-\mathbf
# x)/\sigma^2`, where :math:`r_i` are the responsibilities. The handout's
# :math:`\sqrt{2\varepsilon} = 0.1` gives :math:`\varepsilon = 0.005`.
# :func:`probmods.estimation.mala_gmm` runs any number of chains at once through
# the shared sampler :func:`probmods.mcmc.sample`.
#
# Check: 1000 chains started from :math:`\mathcal N((1.5, 1.5), 2I)` (the start of
# HW3-T4, read as mean and *variance*), :math:`L = 1000` steps, against the exact
# moments (mean :math:`(1.5, 1.5)`, covariance :math:`(\sigma^2 + 1.5^2)I =
# 3.25\,I`), the mass in each quadrant around :math:`(1.5, 1.5)` (1/4 each) and
# the mean log-density of exact samples; then, as a two-sample test, the energy
# distance (:func:`probmods.metrics.energy_distance`, zero only for equal
# distributions; its unbiased sample estimate fluctuates around zero and can be
# negative) of the start and of the MALA samples to the real samples, beside
# its spread between the real samples and fresh exact samples of the same size.

start = 1.5 + np.sqrt(2.0) * rng.standard_normal((1000, 2))
mala = mala_gmm(start, TRUE_MEANS, L=1000, rng=1)
exact = sample_gmm(TRUE_MEANS, 100_000, rng)


def summary(s):
    c = np.cov(s.T)
    q = np.bincount((s[:, 0] > 1.5) * 2 + (s[:, 1] > 1.5), minlength=4) / len(s)
    return s.mean(0), np.diag(c), c[0, 1], q, log_prob(s, TRUE_MEANS).mean()


for name, s in (("start", start), ("MALA", mala.samples), ("exact", exact)):
    m, v, c, q, lp = summary(s)
    print(
        f"{name:6s} mean {m.round(2)}  var {v.round(2)}  cov {c:+.2f}  "
        f"quadrants {q.round(3)}  mean log p {lp:.3f}"
    )
acc = mala.acceptance_rate.mean()
print(f"MALA acceptance rate {acc:.4f}")
# sphinx_gallery_start_ignore
m, v, c, q, lp = summary(mala.samples)
se = np.sqrt(3.25 / 1000)
assert acc > 0.99 and np.abs(m - 1.5).max() < 4 * se
assert np.abs(v - 3.25).max() < 4 * 3.25 * np.sqrt(2 / 1000)
assert np.abs(q - 0.25).max() < 4 * np.sqrt(0.25 * 0.75 / 1000)
# sphinx_gallery_end_ignore
null_rng = np.random.default_rng(10)  # own stream: the draws below stay unchanged
ed_null = [energy_distance(sample_gmm(TRUE_MEANS, 1000, null_rng), x_real) for _ in range(20)]
ed_start = energy_distance(start, x_real)
ed_mala = energy_distance(mala.samples, x_real)
print(
    f"energy distance to the real samples: start {ed_start:.4f}, MALA {ed_mala:.4f}; "
    f"fresh exact samples: median {np.median(ed_null):.4f}, max {np.max(ed_null):.4f}"
)
# sphinx_gallery_start_ignore
assert ed_mala < np.max(ed_null) < ed_start
# sphinx_gallery_end_ignore
fig, axes = panels(1, 2, size=3.6)
scatter_samples(axes[0, 0], x_real, lims, title="J = 1000 real samples", s=4)
axes[0, 0].plot(*TRUE_MEANS.T, "k+", ms=12, mew=2)
scatter_samples(axes[0, 1], mala.samples, lims, title="MALA, L = 1000", s=4)
plt.show()

# %%
# Each step is small (:math:`\sqrt{2\varepsilon} = 0.1\ll\sigma = 1`), so almost every
# proposal is accepted; in :math:`L = 1000` steps a chain still diffuses about
# :math:`\sqrt{2L\varepsilon}\approx 3`, the distance between two modes, so the chains
# mix, and the chains started from a Gaussian reach the
# mixture's moments to within sampling error; by the energy distance the MALA
# samples are as close to the real samples as fresh exact samples are.
#
# What the negative phase contributes
# -----------------------------------
#
# For a mean, :math:`\nabla_{\boldsymbol\mu_i}\log p(\mathbf x) = r_i(\mathbf x)
# (\mathbf x-\boldsymbol\mu_i)/\sigma^2`. All three estimators take the handout's
# step
#
# .. math::
#
#    \tilde{\boldsymbol\mu}_i\leftarrow\tilde{\boldsymbol\mu}_i+\eta\Big(
#    \underbrace{\langle\nabla_{\boldsymbol\mu_i}\log p\rangle_{\mathbf x}}_
#    {\text{positive phase}}-\underbrace{\langle\nabla_{\boldsymbol\mu_i}\log p
#    \rangle_{\tilde{\mathbf x}}}_{\text{negative phase}}\Big).
#
# For a model :math:`p = e^{-E}/Z(\theta)` the log-likelihood gradient is
# :math:`\langle-\nabla_\theta E\rangle_{\text{data}}-\nabla_\theta\log Z` and
# :math:`\nabla_\theta\log Z = \langle-\nabla_\theta E\rangle_{\text{model}}`; the
# step above is the same thing written with :math:`\nabla\log p` (the
# :math:`\nabla\log Z` terms cancel between the phases). But here the model is
# normalised for *every* value of the means: :math:`\int p(\mathbf x;\theta)\,
# d\mathbf x = 1`, so
#
# .. math::
#
#    \mathbb E_{\tilde{\mathbf x}\sim p(\cdot;\theta)}\big[\nabla_\theta\log
#    p(\tilde{\mathbf x};\theta)\big] = \int\nabla_\theta p(\mathbf x;\theta)\,
#    d\mathbf x = \nabla_\theta 1 = 0 .
#
# The negative phase is zero on average; the positive phase alone is the exact
# gradient of the mean log-likelihood. With exact samples the negative phase
# only adds zero-mean noise; with MCMC samples it adds noise and the bias of
# unconverged chains. Numerically, at a random guess of the means:

theta0 = init_means(rng)
pos = grad_log_prob_means(x_real, theta0)
negs = np.stack([grad_log_prob_means(sample_gmm(theta0, 100, rng), theta0) for _ in range(2000)])
neg_se = negs.std(0) / np.sqrt(len(negs))
print(f"positive phase (J = 1000), RMS over the 8 coordinates: {np.sqrt((pos**2).mean()):.3f}")
print(f"negative phase, one draw of 100 samples: RMS {np.sqrt((negs**2).mean()):.3f}")
print(
    f"negative phase averaged over 2000 draws: max |mean| / s.e. = "
    f"{np.abs(negs.mean(0) / neg_se).max():.2f}"
)
assert np.all(np.abs(negs.mean(0)) < 4 * neg_se)
# sphinx_gallery_start_ignore
assert 0.2 < np.sqrt((negs**2).mean()) / np.sqrt((pos**2).mean()) < 0.45  # "about a third"
# sphinx_gallery_end_ignore

# %%
# One draw of the negative phase is a vector of noise about a third as large as
# the signal; averaged over many draws it vanishes. Plain gradient ascent with the
# positive phase alone (:func:`probmods.estimation.gradient_ascent`) therefore
# converges to the maximum-likelihood estimate, which BFGS on the exact
# likelihood (:func:`probmods.estimation.fit_ml`) confirms. This estimate is where
# both ML estimators below should end up; its own error to the truth (the dotted
# line in the plots below) is the statistical error of 1000 samples, which no
# amount of iterating removes.

ml = fit_ml(x_real, theta0)
exact_run = gradient_ascent(x_real, theta0)
print(f"ML estimate: error to the truth {matched_error(ml.means):.4f}")
print(
    f"positive phase only: {exact_run.n_iter} iterations, distance to the ML "
    f"estimate {matched_error(exact_run.final, ml.means):.1e}"
)
assert matched_error(exact_run.final, ml.means) < 1e-3

# %%
# Three estimators
# ----------------
#
# All start from the same guess :math:`\tilde{\boldsymbol\mu}_i\sim U([0,3]^2)`
# above, with :math:`\eta = 1`. **Convergence rule:** with
# :math:`\bar\theta_k` the mean of the last :math:`w` iterates, a run stops when
# the drift :math:`\mathrm{RMS}(\bar\theta_k-\bar\theta_{k-w})/w`, the average
# movement per iteration of the moving average, falls below a tolerance, or at a
# maximum number of iterations. Averaging over :math:`w` iterations makes the rule
# much less sensitive to the zero-mean noise of the negative phase, though that noise
# still decides the exact iteration at which a run stops.
#
# .. task:: HW3-T3
#
# **ML with direct sampling:** 100 fresh exact samples of the current model per
# step, positive phase over all 1000 real samples; :math:`w = 20`, tolerance
# :math:`2\cdot10^{-3}`, at most 1000 iterations.

direct = ml_direct(x_real, theta0, rng=1)

# %%
# .. task:: HW3-T4
#
# **ML with MCMC:** 100 chains started afresh from :math:`\mathcal N((1.5, 1.5),
# 2I)` at every iteration, :math:`L = 1000` MALA steps on the current model; same
# rule, at most 300 iterations.

mcmc = ml_mcmc(x_real, theta0, rng=2)

# %%
# .. task:: HW3-T5
#
# **Contrastive divergence:** 100 real samples drawn at random each iteration
# start the chains, :math:`L = 10` MALA steps; both phases use these 100 points,
# before and after the chains. A chain moves only about
# :math:`\sqrt{2L\varepsilon} = 0.32` in 10 steps, so one CD step moves the means
# much less than an ML step: the window is ten times longer (:math:`w = 200`) and
# the tolerance ten times smaller (:math:`2\cdot10^{-4}`), at most 10,000
# iterations.

cd = contrastive_divergence(x_real, theta0, rng=3)

# %%
# Convergence against iterations and time
# ---------------------------------------
#
# .. task:: HW3-T6
#
# The error is the RMS distance of the four estimates to the true means, with the
# best labelling (:func:`probmods.estimation.matched_error`); the dotted line is
# the error of the ML estimate, where the ML iterations are heading.

runs = {"positive phase only": exact_run, "ML, direct": direct, "ML, MCMC": mcmc, "CD-10": cd}
fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained", sharey=True)
for name, run in runs.items():
    err = matched_error(run.means)
    it = np.arange(run.n_iter + 1)
    axes[0].plot(it[1:], err[1:], lw=1.2, label=name)
    axes[1].plot(run.times[1:], err[1:], lw=1.2, label=name)
for ax, xl in zip(axes, ("iteration", "wall-clock time (s)"), strict=True):
    ax.axhline(matched_error(ml.means), color="k", ls=":", lw=1)
    ax.set(xscale="log", yscale="log", xlabel=xl)
axes[0].set_ylabel("RMS error of the means")
axes[0].legend(fontsize=8)

print(
    f"{'method':20s} {'iters':>6s} {'conv':>5s} {'time s':>7s} {'ms/iter':>8s} "
    f"{'err':>6s} {'to ML':>6s} {'avg to ML':>9s}"
)
for name, run in runs.items():
    print(
        f"{name:20s} {run.n_iter:6d} {run.converged!s:>5s} {run.times[-1]:7.2f} "
        f"{1e3 * run.times[-1] / run.n_iter:8.3f} {matched_error(run.final):6.3f} "
        f"{matched_error(run.final, ml.means):6.3f} "
        f"{matched_error(run.average(), ml.means):9.3f}"
    )
print(f"MALA acceptance: ML-MCMC {mcmc.acceptance_rate:.4f}, CD {cd.acceptance_rate:.4f}")

# %%
# Final estimates and final model samples
# ---------------------------------------
#
# The last 100 model samples of each method (for CD: the real samples after 10
# MALA steps), with the estimates (crosses) and the true means (plus signs).

fig, axes = panels(1, 3, size=3.3)
for ax, (name, run) in zip(axes[0], list(runs.items())[1:], strict=True):
    scatter_samples(ax, x_real, lims, color="0.75", s=3)
    scatter_samples(ax, run.samples, lims, color="C0", s=8, alpha=0.8, title=name)
    ax.plot(*TRUE_MEANS.T, "k+", ms=12, mew=2)
    ax.plot(*run.final.T, "C3x", ms=9, mew=2)
for name, run in runs.items():
    print(f"{name:20s} final means {np.round(run.final, 2).tolist()}")

# %%
# In iterations, the two ML estimators descend together: their updates have the
# same expectation, the exact gradient, so they follow the positive-phase curve
# until they reach the noise level, and stop after some 50 to 130 iterations
# (printed above; when exactly is decided by the noise). CD needs more than ten times
# as many. In time the order changes: an ML-MCMC iteration costs two to three orders of
# magnitude more than a direct one (printed below), and CD, slow as it is, finishes first
# among the two MCMC methods. All final estimates lie near the true means and
# all final samples look like the data, so the pictures alone cannot tell the
# methods apart: the numbers below do.

# %%
# Where the three methods differ
# ------------------------------
#
# Since the expected negative phase is zero, what separates the methods is the
# noise, the bias and the cost of their samples, and how far one step moves.
#
# **Noise**: how far the iterates of the last window stray from the ML estimate.
# **Cost**: seconds per iteration.

spread = {}
for name, run in list(runs.items())[1:]:
    d = matched_error(run.means[-run.window :], ml.means)
    spread[name] = np.sqrt(np.mean(d**2))
    print(
        f"{name:11s}: RMS distance of the last {run.window} iterates to the ML "
        f"estimate {spread[name]:.3f}"
    )
cost = {name: run.times[-1] / run.n_iter for name, run in runs.items()}
print(
    f"cost per iteration relative to ML-direct: MCMC "
    f"{cost['ML, MCMC'] / cost['ML, direct']:.0f}x, "
    f"CD {cost['CD-10'] / cost['ML, direct']:.0f}x"
)

# %%
# **Bias**: the *expected* update at the ML estimate :math:`\hat\theta`, where the
# positive phase over all real samples is zero. It is zero for direct sampling
# (shown above). For ML-MCMC we average the negative phase of 2000 chains
# (:math:`L = 1000`, in 20 blocks of 100); for CD, of 300 copies of the 1000 real
# samples each moved by 10 MALA steps. The statistic :math:`\chi^2 = \sum(\bar u /
# \mathrm{s.e.})^2` over the 8 coordinates is about 8 when the expected update is
# zero, a little more with 20 blocks, whose estimated standard errors fatten the
# tails. Its mean and 99% quantile under a zero expected update are simulated below
# from Gaussian blocks with the observed covariance of the updates, as many blocks as
# the test uses. The same test for CD at the *score-matching*
# estimate (:func:`probmods.estimation.fit_score_matching`) checks the claim, made
# below, that this is where CD converges instead.

sm = fit_score_matching(x_real, ml.means)


def chi2(updates):
    se = updates.std(0, ddof=1) / np.sqrt(len(updates))
    return float(np.sum((updates.mean(0) / se) ** 2))


def null_chi2(updates, n_sim=10_000, seed=7):
    """Mean and 99% quantile of chi2 for zero-mean Gaussian blocks of the updates' covariance."""
    g = np.random.default_rng(seed)
    updates = updates.reshape(len(updates), -1)  # (blocks, 8): the 4 means' coordinates
    n, d = updates.shape
    chol = np.linalg.cholesky(np.cov(updates.T))
    stats = []
    for _ in range(n_sim // 1000):
        z = g.standard_normal((1000, n, d)) @ chol.T
        se = z.std(1, ddof=1) / np.sqrt(n)
        stats.append(np.sum((z.mean(1) / se) ** 2, axis=1))
    stats = np.concatenate(stats)
    return float(stats.mean()), float(np.quantile(stats, 0.99))


def block_updates(theta, samples, n_blocks):
    pos = grad_log_prob_means(x_real, theta)
    blocks = samples.reshape(n_blocks, -1, 2)
    return np.stack([pos - grad_log_prob_means(b, theta) for b in blocks])


starts = 1.5 + np.sqrt(2.0) * rng.standard_normal((2000, 2))
u_mcmc = block_updates(ml.means, mala_gmm(starts, ml.means, 1000, rng=4).samples, 20)
copies = np.tile(x_real, (300, 1))
u_cd_ml = block_updates(ml.means, mala_gmm(copies, ml.means, 10, rng=5).samples, 300)
u_cd_sm = block_updates(sm.means, mala_gmm(copies, sm.means, 10, rng=6).samples, 300)
chis = {
    "ML-MCMC at the ML estimate": chi2(u_mcmc),
    "CD at the ML estimate": chi2(u_cd_ml),
    "CD at the score-matching estimate": chi2(u_cd_sm),
}
null = {20: null_chi2(u_mcmc), 300: null_chi2(u_cd_ml)}
for blocks, (mean, q99) in null.items():
    print(f"zero expected update, {blocks} blocks: chi2 mean {mean:.1f}, 99% quantile {q99:.1f}")
for name, c in chis.items():
    print(f"{name:34s}: chi2 = {c:6.1f}")
d_sm_ml = matched_error(sm.means, ml.means)
cd_avg = cd.average()
print(
    f"score-matching estimate: error {matched_error(sm.means):.3f}, "
    f"distance to the ML estimate {d_sm_ml:.3f}"
)
print(
    f"CD, mean of its last {cd.window} iterates: distance to the SM estimate "
    f"{matched_error(cd_avg, sm.means):.3f}, to the ML estimate "
    f"{matched_error(cd_avg, ml.means):.3f}"
)
assert direct.converged and mcmc.converged and cd.converged
assert cd.n_iter > 10 * max(direct.n_iter, mcmc.n_iter)
assert cd.times[-1] < mcmc.times[-1]
assert cost["ML, MCMC"] > 20 * cost["CD-10"] > 20 * cost["ML, direct"]
assert max(spread.values()) < 0.3
assert chis["ML-MCMC at the ML estimate"] < null[20][1]
assert chis["CD at the ML estimate"] > null[300][1] > chis["CD at the score-matching estimate"]
# sphinx_gallery_start_ignore
err_ml = matched_error(ml.means)
assert 50 <= min(direct.n_iter, mcmc.n_iter) and max(direct.n_iter, mcmc.n_iter) <= 130
assert 100 < cost["ML, MCMC"] / cost["ML, direct"] < 3000
assert 7.5 < null[300][0] < 8.5 and null[300][0] + 0.5 < null[20][0] < 10
assert null[300][1] < null[20][1]
assert all(0.5 < spread[k] / err_ml < 1.5 for k in ("ML, direct", "ML, MCMC"))
assert spread["CD-10"] > max(spread["ML, direct"], spread["ML, MCMC"])
assert 0.5 < d_sm_ml / err_ml < 2
# sphinx_gallery_end_ignore
plt.show()

# %%
# * **Noise.** The stochastic runs do not settle: with :math:`\eta = 1` the noise
#   of the negative phase (and for CD also of the random batch) keeps the
#   iterates moving. The two ML estimators wander about 0.1 from the ML estimate,
#   as far as the ML estimate itself is from the truth, while the positive phase
#   alone lands exactly on it. CD's iterates stray further, partly because they
#   wander around a different point (next item). Averaging the last iterates
#   (the "avg to ML" column) or decaying :math:`\eta` removes part of the noise.
# * **Bias.** Direct sampling has none. The MCMC chains run for a Langevin time
#   :math:`L\varepsilon = 5`, enough for this well-connected mixture (see the MALA
#   check): their expected update at the ML estimate is indistinguishable from
#   zero. CD's negative samples are the data moved by 10 small steps, not model
#   samples: its negative phase is computed on the same points barely moved, so it
#   cancels most of the positive phase, batch noise included; what remains is a small
#   systematic term that is not zero at the ML estimate (:math:`\chi^2` above). For
#   :math:`g = \nabla_\theta\log p` and a short Langevin run of duration
#   :math:`t = L\varepsilon`, :math:`\mathbb E[g(\tilde{\mathbf x})] -
#   g(\mathbf x)\approx t\,(\nabla_{\mathbf x}\log p\cdot\nabla_{\mathbf x} g +
#   \Delta_{\mathbf x} g)`, and the data average of the bracket is the gradient of
#   the score-matching loss :math:`\langle\frac12\lVert\nabla_{\mathbf x}\log
#   p\rVert^2 + \Delta_{\mathbf x}\log p\rangle` :cite:`hyvarinen2007`. So CD's
#   expected update is about :math:`-L\varepsilon = -0.05` times that gradient:
#   hence both its small steps and its fixed point. Its expected update vanishes
#   at the score-matching estimate, not at the ML estimate. The two coincide with
#   infinite data (chains started at samples of the model stay distributed as the
#   model) but on 1000 samples they differ by about as much as the ML estimate
#   differs from the truth.
# * **Cost.** One ML-MCMC iteration runs 1000 MALA steps, a CD iteration 10 and a
#   direct iteration none: per iteration MCMC costs two to three orders of magnitude
#   more than direct sampling (printed), and it dominates the wall-clock plot. CD is cheap per
#   step but needs more than ten times as many steps, and still finishes well
#   before ML-MCMC.
#
# For this model learning needs no negative phase at all. For an energy model
# whose normaliser depends on the parameters the negative phase is essential, and
# the trade-off measured here (exact samples are best, long chains are costly,
# short chains from the data are cheap but take small steps towards a different
# estimator) is what decides between ML with MCMC and CD.

r"""
The energy model and its judge
==============================

The handout gives a pretrained energy network; we train our own on the 4,000 MNIST
digits outside a stratified held-out split and ship it as
:func:`probmods.ebm.load_pretrained`. This page shows what the model is, how it was
trained and why that recipe, and how the rest of the chapter judges its samples: a
classifier that is confident on noise proves nothing, so the judge has an eleventh
"not a digit" class, and two distances complete it. Every task of this chapter
(HW2-T5 to HW2-T14) uses this model.
"""

# %%
# The sampler-facing energy
# -------------------------
#
# The energy model :math:`p(\mathbf x)\propto e^{-E(\mathbf x)}` of the handout's
# Part II, which the handout provides pretrained and this project trains itself.
#
# :math:`E_\theta` is a small strided CNN with Swish activations and a dense head
# (smooth, with a global receptive field). The samplers see
#
# .. math::
#
#     E(\mathbf x) = \frac{E_\theta(\mathbf x)}{T} + \sum_j
#     \frac{\operatorname{relu}(x_j-1)^2 + \operatorname{relu}(-x_j)^2}{2\rho^2},
#     \qquad p(\mathbf x) \propto e^{-E(\mathbf x)}.
#
# The temperature :math:`T` is part of the model. The course's step
# :math:`\sqrt{2\varepsilon} = 2/256` means :math:`\varepsilon \approx 3\cdot 10^{-5}`:
# the drift :math:`\varepsilon\nabla E` moves a pixel by only :math:`3\cdot 10^{-3}` per
# step where the gradient is 100, so the model is trained with :math:`\varepsilon/T = 10`.
# The second term keeps unclamped chains near :math:`[0,1]` (:math:`\rho = 0.02`; the
# training chains stayed within about :math:`[-0.3, 1.3]`, printed below); it is a fixed
# property of images, not learned.

import matplotlib.pyplot as plt
import numpy as np
import torch

from probmods.ebm import load_judge, load_pretrained
from probmods.ebm.data import load_digits, train_test_split
from probmods.ebm.judge import make_junk, nearest_distance
from probmods.ebm.pretrained import (
    evaluate_samples,
    format_quality,
    real_digits,
    training_log,
)
from probmods.mcmc import eps_from_noise
from probmods.plotting import grid_height, image_grid, panels

energy = load_pretrained()
info = energy.info
n_params = sum(p.numel() for p in energy.parameters())
eps = eps_from_noise(2 / 256)
print(energy.energy_net)
print(
    f"parameters: {n_params:,}; T = {energy.temperature:.3e}; eps / T = "
    f"{eps / energy.temperature:.1f}; "
    f"rho = {energy.range_scale}"
)
print(
    f"shipped weights: {info['weights'].upper()} weights averaged over training iterations "
    f"{info['iterations']}"
)

# %%
# How it was trained
# ------------------
#
# Contrastive divergence with a replay buffer :cite:`du2019`: each iteration
# takes 128 chains, 95% continued from a buffer of 8,192 and 5% fresh from
# :math:`U[0,1]`, runs 60 steps of *exactly the test sampler* (the handout's Langevin
# update at :math:`2/256` on :math:`E = E_\theta/T + R`, no clamping), and lowers
# :math:`\langle E_\theta(\text{data})\rangle - \langle E_\theta(\text{chains})\rangle +
# 0.1\,\langle E_\theta^2\rangle` with Adam (:math:`10^{-4}`, betas (0, 0.999)); an
# exponential moving average (0.999) of the weights is kept. ``python -m
# probmods.ebm.train --iterations 15000`` reproduces the run from seed 0 (resuming from
# its checkpoint, up to the float16 rounding of the stored buffer), and ``python -m
# probmods.ebm.pretrained --energy`` with the two snapshots named in the training
# README exports the shipped file (``nox -s train-ebm`` does both).
#
# Why this recipe: quick trials before the training run (not recorded in this
# repository) tried the alternatives: persistent CD at temperature 1 gave stripe textures;
# the same CD without the pixel-range term let pixels escape to :math:`[-30, 50]`; a
# leaky-ReLU ResNet as in the handout let the chains escape from the first iterations.
# A later trial (S1 in the training README), denoising score matching of the same
# network, froze its chains into thick blobs: 48% digits at 10,000 iterations under the
# judge used here, against 78% for the shipped model at the same seed.
#
# Which weights ship: the run kept its weights every 1,000 iterations, and
# ``tools/eval_ebm.py`` judged the late ones under the handout's sampler (100 chains
# from :math:`U[0,1]`, :math:`K = 2000`, seed 1000, which no page of this chapter
# uses; measured during development, not recomputed when the site is built, and with the
# judge of that time, before its junk images were blurred with reflected instead of zero
# borders; the retrained judge of this page counts 78% digits, Fréchet 383, for the shipped
# average at 2/256 on the same chains, as recorded in the training README; that these
# equal the old judge's row for iteration 15,000 is a coincidence):
#
# ====================================  ===================  ===================
# weights (EMA)                         2/256: digits, FD    3/256: digits, FD
# ====================================  ===================  ===================
# iteration 11,000                      81%, 405             88%, 739
# iteration 12,000                      80%, 415             86%, 754
# iteration 13,000                      78%, 394             88%, 748
# iteration 14,000                      82%, 397             90%, 732
# iteration 15,000                      78%, 383             87%, 673
# **average of 14,000 and 15,000**      **83%, 397**         **88%, 686**
# ====================================  ===================  ===================
#
# All rows had all 10 classes and no junk (also measured during development); the
# quality had plateaued (differences of a
# few points are within the noise of 100 chains), and the average of the last two
# snapshots ships. The log of the shipped run (the vertical scales are set by
# iterations 500 on; the first 500 move far more and run off them):

log = training_log()
hours = float(log["seconds"].sum()) / 3600
it = np.arange(1, len(log["cd"]) + 1)


def smooth(v, k=100):
    return np.convolve(np.asarray(v), np.ones(k) / k, mode="valid")


fig, axes = panels(1, 3, size=3.4, sharex=True, sharey=False)
axes = axes.ravel()
axes[0].plot(it[99:], smooth(log["e_real"]), label=r"data $\langle E_\theta\rangle$")
axes[0].plot(it[99:], smooth(log["e_fake"]), label=r"chains $\langle E_\theta\rangle$")
axes[0].set(xlabel="iteration", ylabel=r"$E_\theta$ (moving mean of 100)", title="energies")
axes[0].legend()
axes[1].plot(it[99:], smooth(log["cd"]))
axes[1].axhline(0, color="k", lw=0.5)
axes[1].set(xlabel="iteration", ylabel="CD term", title="data minus chains")
axes[2].plot(it, log["pixel_min"], lw=0.5, label="min")
axes[2].plot(it, log["pixel_max"], lw=0.5, label="max")
axes[2].set(xlabel="iteration", ylabel="pixel value", title="range of the training chains")
axes[2].legend()
# the first 500 iterations move far more; the scale is set by the rest, as plotted
for ax, curves in zip(axes, ((smooth(log["e_real"]), smooth(log["e_fake"])), (smooth(log["cd"]),),
                             (log["pixel_min"], log["pixel_max"])), strict=True):
    vals = np.concatenate([np.asarray(c)[500:] for c in curves])
    lo, hi = np.quantile(vals, [0.001, 0.999])
    ax.set_ylim(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
print(
    f"training: {len(it)} iterations, {hours:.2f} h of wall-clock time "
    f"({1e3 * hours * 3600 / len(it):.0f} ms each)"
)
print(
    f"training chains stayed within [{float(log['pixel_min'].min()):.2f}, "
    f"{float(log['pixel_max'].max()):.2f}]"
)
assert len(it) >= max(info["iterations"])
# sphinx_gallery_start_ignore
assert -0.35 < float(log["pixel_min"].min()) < 0 and 1 < float(log["pixel_max"].max()) < 1.4
# sphinx_gallery_end_ignore

# %%
# An honest judge
# ---------------
#
# A digit classifier without a "not a digit" class is confident on much that is not a
# digit (measured below on uniform noise, with the judge's own "not a digit" output left
# out). The judge
# (:mod:`probmods.ebm.judge`, trained on the training digits) has an 11th class fed
# with four kinds of junk a failing sampler produces: uniform noise, smoothed-noise
# blobs, thin level-set stroke fragments and pixel-permuted digits. A sample counts as
# a digit only when a digit class has probability :math:`\ge 0.9`. We also report the
# distance to the nearest training digit and the Fréchet distance between the judge's
# penultimate features of the samples and of 500 held-out digits. Here is the judge on
# things whose answer we know (the junk is of the four kinds it was trained to reject,
# freshly drawn, so this row shows in-distribution rejection only), and the nearest-digit
# distance of training digits with the jitter of one sampler step (2/256 per pixel),
# what a copy would score:

judge = load_judge()
all_digits, all_labels = load_digits()
train_digits = all_digits[train_test_split(all_labels)[0]]
real, real_labels = real_digits(100)
g = torch.Generator().manual_seed(0)
noise = torch.rand(100, 1, 28, 28, generator=g)
junk = make_junk(100, real, generator=g)
rows = {"held-out digits": real, "uniform noise": noise, "junk (4 kinds)": junk}
quality = {name: evaluate_samples(x) for name, x in rows.items()}
for name, q in quality.items():
    print(f"{name:16s} {format_quality(q)}")
with torch.no_grad():
    p10 = torch.softmax(judge(noise)[:, :10], dim=1).max(1).values  # a plain 10-class reading
print(
    f"the same network reading only its 10 digit classes is >= 0.9 confident on "
    f"{100 * float((p10 >= 0.9).float().mean()):.0f}% of uniform noise"
)
copies = train_digits[:100] + (2 / 256) * torch.randn(100, 1, 28, 28, generator=g)
near_copy = nearest_distance(copies, train_digits)
print(f"nearest-digit distance of jittered training digits (copies): max {near_copy.max():.2f}; "
      f"held-out digits: min {quality['held-out digits']['nearest_min']:.2f}")
# sphinx_gallery_start_ignore
assert (
    quality["held-out digits"]["digit_fraction"] > 0.9
    and quality["uniform noise"]["digit_fraction"] == 0
    and quality["junk (4 kinds)"]["digit_fraction"] == 0
    and float((p10 >= 0.9).float().mean()) > 0.25
)
assert near_copy.max() < 1.0 < quality["held-out digits"]["nearest_min"]
# sphinx_gallery_end_ignore

# %%
# Energies of digits, noise and junk
# ----------------------------------
#
# The model should give real digits a lower energy than anything else. Held-out
# digits were never seen in training.

kinds = ["uniform noise", "smoothed-noise blobs", "stroke fragments", "permuted digits"]
groups = {"held-out digits": real, **{k: junk[25 * i : 25 * (i + 1)] for i, k in enumerate(kinds)}}
with torch.no_grad():
    e = {name: energy.energy_net(x).numpy() for name, x in groups.items()}
fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
ax.boxplot(list(e.values()), orientation="horizontal", tick_labels=list(e))
ax.set(
    xlabel=r"$E_\theta(\mathbf{x})$ (lower = more probable)",
    title="energy of 100 digits, 25 of each junk",
)
ax.invert_yaxis()
fig, ax = plt.subplots(figsize=(8, grid_height(30, 10)), layout="constrained")
image_grid(
    ax,
    torch.cat([real[:10], junk[::5][:20]]),
    ncols=10,
    title="held-out digits; the four kinds of junk",
)
for name, v in e.items():
    print(
        f"{name:22s} E_theta median {np.median(v):+.4f} (min {v.min():+.4f}); "
        f"as E = E_theta / T: {np.median(v) / energy.temperature:+,.0f}"
    )
gap = (np.median(e["uniform noise"]) - np.median(e["held-out digits"])) / energy.temperature
print(f"a held-out digit is exp({gap:,.0f}) times more probable than uniform noise under p(x)")
closest = min(kinds, key=lambda k: np.median(e[k]))
print(f"the junk closest to digits in energy: {closest}")
assert np.median(e["held-out digits"]) < min(np.median(v) for k, v in e.items() if k in kinds)
# sphinx_gallery_start_ignore
d0 = np.median(e["held-out digits"])  # "far nearer to that of digits than the energy of noise is"
assert np.median(e[closest]) - d0 < 0.1 * (np.median(e["uniform noise"]) - d0)
# sphinx_gallery_end_ignore

# %%
# Discussion
# ----------
#
# The printed numbers set the scale of everything that follows. The judge counts
# nearly all held-out digits and no uniform noise or junk, while its own digit
# classes alone, read as a plain 10-class classifier, are confident on a large share of
# pure noise (printed above): confidence without a "not a digit" class proves nothing.
# Real held-out digits lie at the printed nearest-digit distance from the training set,
# which is what fresh samples should show too; a training digit with one step of
# sampler noise, a copy, lies far closer (under 1, printed), so a sample set with no distance
# near that contains no copies. Energies separate held-out digits from noise by a wide margin in
# :math:`E_\theta`, and dividing by the tiny temperature turns that margin into an
# astronomically large probability ratio: the prior :math:`e^{-E}` is very peaked,
# which matters when it is weighed against a likelihood on the denoising pages. The
# weak spot is the junk kind printed as closest to digits: its energy is far nearer to
# that of digits than the energy of noise is, so a sampler that stops early could settle
# there, one reason the judge must reject such images.

plt.show()

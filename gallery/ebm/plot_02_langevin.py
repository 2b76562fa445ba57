r"""
Langevin dynamics from noise: two step sizes
============================================

The handout's first experiment with the energy model: start from images of i.i.d.
:math:`U[0,1]` pixels and follow the Langevin update for :math:`K = 2000` steps, at
:math:`\sqrt{2\varepsilon} = 2/256` and :math:`3/256`. We run 100 chains per step size
(the handout's 30 are the first 30 of them), follow their energies, and judge the final
samples instead of only looking at them.
"""

# %%
# Only the energy is needed
# -------------------------
#
# .. task:: HW2-T5
#
# With :math:`p(\mathbf x) = e^{-E(\mathbf x)}/Z` and :math:`Z = \int e^{-E}` a constant,
#
# .. math::
#
#     \nabla_{\mathbf x}\log p(\mathbf x) = -\nabla_{\mathbf x}E(\mathbf x)
#     - \underbrace{\nabla_{\mathbf x}\log Z}_{=\,0},
#     \qquad
#     \mathbf x^{k+1} = \mathbf x^k - \varepsilon\nabla E(\mathbf x^k)
#         + \sqrt{2\varepsilon}\,\mathbf n^k .
#
# The gradient of the network's output with respect to its *input* comes from
# autograd; the parameters are frozen, so a step costs one forward and one backward
# pass through the network.

import matplotlib.pyplot as plt
import numpy as np
import torch

from probmods.ebm import load_energy
from probmods.ebm.pretrained import evaluate_samples, format_quality, real_digits
from probmods.mcmc import eps_from_noise, langevin, sample, target_from
from probmods.plotting import animate_image_grids, grid_height, image_grid, panels

energy = load_energy()  # the shipped model, or the course's own (PROBMODS_COURSE_ENERGY)
target = target_from(energy=energy)
x0 = torch.rand(100, 1, 28, 28, generator=torch.Generator().manual_seed(0))
runs, energies = {}, {}
for s in (2, 3):
    trace = []
    runs[s] = sample(
        x0,
        langevin(target, eps_from_noise(s / 256)),
        2000,
        thin=50,
        progress=True,
        generator=torch.Generator().manual_seed(s),
        callback=lambda k, st, info, trace=trace: trace.append(-st.log_prob),
    )
    energies[s] = torch.stack(trace).numpy() * energy.temperature  # E_theta + T * range term
quality = {s: evaluate_samples(runs[s].state.position) for s in runs}
labels = {s: ["." if c < 0 else str(c) for c in q["labels"]] for s, q in quality.items()}

fig, ax = plt.subplots(figsize=(8, grid_height(30, 15)), layout="constrained")
image_grid(
    ax,
    runs[2].state.position[:30],
    ncols=15,
    labels=labels[2][:30],
    title=r"30 chains after $K=2000$ Langevin steps, $\sqrt{2\varepsilon}=2/256$ (judge's "
    r"digit in the corner)",
)
print(
    f"2/256: pixel range of the final samples [{runs[2].state.position.min():.2f}, "
    f"{runs[2].state.position.max():.2f}] (not clamped)"
)

# %%
# A larger step
# -------------
#
# .. task:: HW2-T6
#
# Same starting images, :math:`\sqrt{2\varepsilon} = 3/256`: the noise is 1.5 times
# and the drift 2.25 times larger per step.

fig, ax = plt.subplots(figsize=(8, grid_height(30, 15)), layout="constrained")
image_grid(
    ax,
    runs[3].state.position[:30],
    ncols=15,
    labels=labels[3][:30],
    title=r"the same 30 chains at $\sqrt{2\varepsilon}=3/256$",
)
print(
    f"3/256: pixel range of the final samples [{runs[3].state.position.min():.2f}, "
    f"{runs[3].state.position.max():.2f}]"
)

# %%
# The chains in motion
# --------------------
#
# Every 100th step of the first 30 chains at :math:`2/256`: noise is smoothed away
# within a few hundred steps, strokes appear, and then the shapes sharpen slowly.

frames = [runs[2].trajectory[k, :30] for k in range(0, 41, 2)]
anim = animate_image_grids(
    frames, ncols=10, size=3.2, titles=[f"step {50 * k}" for k in range(0, 41, 2)]
)

# %%
# Energies along the chains
# -------------------------
#
# :math:`T\,E(\mathbf x)` (that is :math:`E_\theta` plus the small range term) along
# the chains: median and 10-90% band, with the energy of held-out digits for scale.

real, _ = real_digits(100)
with torch.no_grad():
    e_real = energy.energy_net(real).numpy()
fig, ax = plt.subplots(figsize=(6.5, 3.6), layout="constrained")
steps = np.arange(1, 2001)
for s, e in energies.items():
    lo, med, hi = np.percentile(e, [10, 50, 90], axis=1)
    ax.plot(steps, med, label=f"chains, {s}/256")
    ax.fill_between(steps, lo, hi, alpha=0.25)
ax.axhspan(
    *np.percentile(e_real, [10, 90]), color="k", alpha=0.15, label="held-out digits (10-90%)"
)
ax.set(
    xscale="log",
    xlabel="Langevin step k",
    ylabel=r"$T\,E(\mathbf{x}^k)$",
    title="energy of the chains",
)
ax.set_yscale("symlog", linthresh=1e-3)
ax.legend()
for s, e in energies.items():
    print(
        f"{s}/256: median T*E at step 10 {np.median(e[9]):+.3f}, 200 {np.median(e[199]):+.3f}, "
        f"2000 {np.median(e[-1]):+.4f}; held-out digits median {np.median(e_real):+.4f}"
    )
    reached = np.median(e, axis=1) < np.percentile(e_real, 90)
    print(
        f"   median chain energy first below the 90th percentile of held-out digits at step "
        f"{int(np.argmax(reached)) + 1 if reached.any() else 'never'}"
    )

# %%
# Judged
# ------
#
# The bar this page judges by: at least 80% of 100 final samples counted as
# digits (judge's digit class at :math:`p\ge 0.9`), at least 8 of the 10 classes,
# no copies of training digits (no nearest distance below the closest held-out digit's,
# about 1.5; a copy lies under 1, model page).

held_out = evaluate_samples(real)
print(f"{'held-out digits':16s} {format_quality(held_out)}")
for s, q in quality.items():
    print(f"{'Langevin ' + str(s) + '/256':16s} {format_quality(q)}")
    print(f"{'':16s} class counts {q['class_counts'].tolist()}")
fig, axes = panels(1, 2, size=3.3, sharey=True)
for ax, (s, q) in zip(axes.ravel(), quality.items(), strict=True):
    ax.bar(range(10), q["class_counts"])
    ax.set(xticks=range(10), xlabel="judged class", ylabel="samples (of 100)", title=f"{s}/256")
# sphinx_gallery_start_ignore
for q in quality.values():
    assert q["nearest_min"] >= 1.0 and q["junk_fraction"] == 0 and q["n_classes"] == 10
    assert q["nearest_min"] >= held_out["nearest_min"] - 0.05  # minima against the held-out one
    assert set(np.argsort(q["class_counts"])[-2:].tolist()) == {1, 7}
assert min(q["digit_fraction"] for q in quality.values()) >= 0.80
assert [round(100 * q["digit_fraction"]) for q in quality.values()] == [81, 87]  # the discussion
for q in quality.values():  # "threes and eights are rare"
    assert set(np.argsort(q["class_counts"], kind="stable")[:2].tolist()) == {3, 8}
assert quality[3]["class_counts"][[1, 7]].sum() > quality[2]["class_counts"][[1, 7]].sum()
assert 1.7 < quality[3]["frechet"] / quality[2]["frechet"] < 2.5  # "about twice"
assert [int(q["class_counts"][[1, 7]].sum()) for q in quality.values()] == [35, 50]
# ones are the largest class, 26% and 31% of the counted digits (the gate allows 20%)
assert all(int(np.argmax(q["class_counts"])) == 1 for q in quality.values())
counts = [q["class_counts"] for q in quality.values()]
share_of_ones = [round(100 * c[1] / c.sum()) for c in counts]
assert share_of_ones == [26, 31]
p_digit = np.array([q["digit_fraction"] for q in quality.values()])
se_diff = np.sqrt(np.sum(p_digit * (1 - p_digit)) / 100)
assert 0.045 < se_diff < 0.055  # "about 5 points"
assert np.median(energies[3][-1]) < np.median(energies[2][-1])
assert all(np.median(energies[s][-1]) < np.median(e_real) for s in energies)
# sphinx_gallery_end_ignore

# %%
# Discussion
# ----------
#
# *Only the energy.* Every step used :math:`\nabla E` from autograd and nothing else: the
# normaliser :math:`Z` never appears (HW2-T5).
#
# *From noise to digits.* At both step sizes the chains turn uniform noise into digit
# shapes without any clamping (final pixels stay within about :math:`[-0.1, 1.1]`,
# printed). The energy traces show two phases: the drift first removes the noise, and
# the median energy reaches the range of held-out digits after about 200 steps at
# :math:`2/256` and about 100 at :math:`3/256` (printed); then it keeps creeping down
# while the strokes sharpen.
#
# *Judged.* At :math:`2/256` the judge counts 81% of the 100 samples as digits, at
# :math:`3/256` 87% (6 chains of 100 apart, about one standard error of such a difference:
# 5 points, treating the two runs as independent), with all 10 classes at both and no
# junk. This meets the bar above (80%, 8 classes), at :math:`2/256` only just: on 100
# other chains (seed 1000) the same judge counts 78% (model page). Neither run meets the
# stricter gate of the model's calibration work (85% digits, all 10 classes, no class
# above 20%; ``ebm-training/README.md``): ones are 26% and 31% of the counted digits. The
# nearest-digit distances (means about 4-4.5, somewhat below held-out digits' 4.8; minima
# 1.9 and 1.5, against 1.5 for the closest held-out digit, and far above a copy's) show
# new digits, not recalled training images. The classes are unbalanced: ones and sevens
# are the most common (class counts printed), threes and eights are rare.
#
# *Comparing the steps.* The larger step moves faster (its drift is 2.25 times larger
# per step) and ends at lower energies (both below the held-out digits' median: the
# samples settle in the model's modes). But its Fréchet distance to real digits is
# about twice that of the smaller step, and its samples are less balanced: ones and
# sevens, the model's favourite shapes, are 50 of its 100 against 35 (class counts
# printed). A larger step also carries a larger
# discretisation bias, which a Metropolis correction removes in principle; the next page
# shows that from noise it instead stops the chains. (The energy axis above is symmetric-
# logarithmic: linear near zero, so the late creep looks steeper than it is.)
plt.show()

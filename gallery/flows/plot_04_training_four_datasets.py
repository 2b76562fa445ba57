r"""
Training flows on the four toy datasets
=======================================

With the layer and the flow checked, we train: a four-layer flow on 1500 samples
of each toy dataset, for 500 epochs (1000 for the moons), with the handout's seeds
and split (with 150 validation points the handout's training loop keeps the final
model rather than the best by validation loss). For each dataset we plot the learned
density on a grid, the samples after every layer, and score the model on 20,000 fresh
samples against the exact density: held-out negative log-likelihood, the data's
entropy (the best expected value) and their difference, an estimate of
:math:`\mathrm{KL}(p\,\|\,q_\theta)`.
"""

# %%
# Training
# --------
#
# .. task:: HW1-II-T9
#
# :func:`probmods.flows.fit_toy_flow` runs the handout's snippet
# (``torch.manual_seed(8)``, ``ToyDataset(name, num_samples=1500)``,
# ``CouplingFlow(num_layers=4)``, ``train(model, data, epochs)``) and then scores
# the returned model. Training uses :func:`probmods.flows.train`, which computes
# the same updates as the handout's loop faster (measured by ``nox -s bench``).

import copy
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from probmods.datasets import TOY_DATASETS, ToyDataset, sample_2d_datasets, toy_log_density
from probmods.flows import CouplingFlow, fit_toy_flow, format_scores, log_density_on_grid, train
from probmods.grids import Grid2D
from probmods.plotting import animate_scatter, density_image, panels, plot_flow_fits

EPOCHS = {"Circles": 500, "Moons": 1000, "GaussiansGrid": 500, "GaussiansRot": 500}
fits = {
    name: fit_toy_flow(name, num_samples=1500, num_layers=4, epochs=EPOCHS[name])
    for name in TOY_DATASETS
}
for name, fit in fits.items():
    print(
        f"{name:13s} {EPOCHS[name]:5d} epochs in {fit.seconds:5.1f} s; "
        f"final train NLL {fit.train_losses[-1]:.3f}, "
        f"validation NLL {fit.valid_losses[-1]:.3f}"
    )

# %%
# The handout's loop, side by side
# --------------------------------
#
# :func:`probmods.flows.train` computes the gradients with backpropagation written
# out in NumPy (a documented fast path: a step of this model is hundreds of tiny
# PyTorch kernels; both loops' times are printed below, and ``nox -s bench``
# measures the ratio). The handout's own loop, with its
# ``random_split``, ``DataLoader`` and ``loss.backward()``, is below. From the same
# seeds the two compute the same updates up to float32 rounding, which NumPy's and
# PyTorch's kernels do in different orders, over the 440 Adam steps of twenty epochs
# of the moons (22 batches each): the epoch losses agree closely but not exactly
# (largest difference printed):


def handout_train(model, data, epochs, batch_size=64):
    """The handout's training loop (its validation and best-model bookkeeping left out)."""
    lengths = [int(len(data) * 0.9), len(data) - int(len(data) * 0.9)]
    train_set, _ = torch.utils.data.random_split(data, lengths)
    loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(epochs):
        epoch_loss = 0.0
        for batch in loader:
            loss = -model.log_probability(batch).mean(0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item()
        losses.append(epoch_loss / len(loader))
    return losses


torch.manual_seed(8)
moons = ToyDataset("Moons", num_samples=1500)
model_a = CouplingFlow(num_layers=4)
model_b = copy.deepcopy(model_a)
rng_state = torch.get_rng_state()  # the split is drawn from here by both
t0 = time.perf_counter()
loop_losses = handout_train(model_a, moons, epochs=20)
t_loop = time.perf_counter() - t0
torch.set_rng_state(rng_state)
t0 = time.perf_counter()
_, fast_losses, _ = train(model_b, moons, epochs=20, progress=False, verbose=False)
t_fast = time.perf_counter() - t0
gap = np.max(np.abs(np.array(loop_losses) - np.array(fast_losses)))
print(f"epoch 20 loss: handout loop {loop_losses[-1]:.6f}, flows.train {fast_losses[-1]:.6f}")
print(f"largest difference over the 20 epochs: {gap:.1e}; time {t_loop:.1f} s vs {t_fast:.1f} s")
assert gap < 1e-3

# %%
# Learned densities
# -----------------
#
# Each learned density :math:`q_\theta(\mathbf x)` (the exponential of ``log_probability``)
# is evaluated on a :math:`200\times200` grid around its data (top row) and shown
# beside the exact density of the generator (bottom row) on the exact density's
# colour scale (the flow's sharpest peaks saturate it). The title gives the learned
# density's integral over the grid, a check that the model is normalised.

grids = {
    "Circles": Grid2D((-1.6, 1.6), (-1.6, 1.6), 200, 200),
    "Moons": Grid2D((-1.6, 2.6), (-1.1, 1.6), 200, 200),
    "GaussiansGrid": Grid2D((-2.0, 4.0), (-2.0, 4.0), 200, 200),
    "GaussiansRot": Grid2D((-3.8, 3.8), (-3.8, 3.8), 200, 200),
}
integrals, learned_density = {}, {}
fig, axes = panels(2, 4, size=3.0, sharex="col", sharey="col")
for k, name in enumerate(TOY_DATASETS):
    g = grids[name]
    learned = np.exp(log_density_on_grid(fits[name].model, g))
    exact = g.reshape(np.exp(toy_log_density(name, g.points)))
    vmax = exact.max()
    density_image(
        axes[0, k],
        g,
        learned,
        vmin=0,
        vmax=vmax,
        title=f"{name}\nflow, integral {g.integrate(learned):.3f}",
    )
    density_image(axes[1, k], g, exact, vmin=0, vmax=vmax, title=f"{name}: exact")
    integrals[name], learned_density[name] = g.integrate(learned), learned

# %%
# Samples after every layer
# -------------------------
#
# :math:`N = 1000` samples of ``sample_x_each_step``: the prior, then the output
# of each coupling layer, on shared axes per dataset, with the training data in
# the last panel for comparison. The density image is repeated in front.

for name in TOY_DATASETS:
    fig = plot_flow_fits([fits[name]], [f"{name}, K = 4"], grids[name])
    fig.suptitle(name)

# %%
# Samples flowing through the layers of the moons model, interpolated between
# consecutive layers:

torch.manual_seed(0)
with torch.no_grad():
    steps = [s.numpy() for s in fits["Moons"].model.sample_x_each_step(1000)]
frames, titles = [], []
for k in range(len(steps) - 1):
    for a in np.linspace(0, 1, 8, endpoint=False):
        frames.append((1 - a) * steps[k] + a * steps[k + 1])
        titles.append(f"Moons: layer {k} to {k + 1}")
frames.append(steps[-1])
titles.append("Moons: output of layer 4")
anim = animate_scatter(frames, titles=titles, interval=120)

# %%
# Held-out scores
# ---------------
#
# The validation loss of the handout uses 150 points; here every model is also
# scored on 20,000 fresh samples. ``KL`` is the mean of
# :math:`\log p - \log q_\theta` over them (with its standard error), the median
# is its robust counterpart, and ``tail`` is the fraction of test points where the
# flow's density is more than :math:`e^{10}` times too small.

print(format_scores(fits, label="dataset"))

fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
for name, f in fits.items():
    ax.plot(f.train_losses, lw=1, label=f"{name} (train)")
    ax.plot(f.valid_losses, lw=1, ls="--", color=ax.lines[-1].get_color())
ax.set(
    xlabel="epoch",
    ylabel="negative log-likelihood",
    title="training (solid) and validation (dashed)",
    ylim=(0.5, 4),
)
ax.legend(fontsize=8)
plt.show()

# %%
# What the numbers say
# --------------------
#
# All four flows are normalised (their grid integrals are within a fraction of a
# percent of one) and put their mass where the data are, but how close they come
# depends on the shape of the data:

best = min(fits, key=lambda n: fits[n].kl_median)
worst_tail = max(fits, key=lambda n: fits[n].tail_fraction)
for name, f in fits.items():
    print(
        f"{name}: median log p - log q = {f.kl_median:.3f}; "
        f"{100 * f.tail_fraction:.2f}% of test points in a collapsed tail"
    )
print(f"closest fit by the median: {best}; most tail failures: {worst_tail}")
for name, f in fits.items():
    top = np.sort(f.log_ratio)[-1]
    print(f"{name}: the single worst test point supplies {100 * top / f.log_ratio.sum():.0f}% "
          f"of the sum behind the mean KL")
r = np.hypot(*sample_2d_datasets("Circles", num_samples=200_000, seed=3).T)
inside = grids["Circles"].reshape(np.hypot(*grids["Circles"].points.T) < 0.5)
mass_flow = grids["Circles"].integrate(np.where(inside, learned_density["Circles"], 0.0))
print(f"Circles: mass in the disc of radius 0.5, exact {np.mean(r < 0.5):.4f}, "
      f"flow {mass_flow:.4f}")
# sphinx_gallery_start_ignore
assert all(abs(v - 1) < 5e-3 for v in integrals.values())
grid_top = np.sort(fits["GaussiansGrid"].log_ratio)[-1] / fits["GaussiansGrid"].log_ratio.sum()
assert grid_top > 0.5 and mass_flow > 10 * np.mean(r < 0.5)
assert fits["GaussiansGrid"].kl_median < fits["Moons"].kl_median
assert max(fits, key=lambda n: fits[n].kl_median) == "GaussiansRot"
assert fits["GaussiansGrid"].tail_fraction > 0 and fits["GaussiansRot"].tail_fraction > 0
assert fits["GaussiansGrid"].valid_losses[-1] < fits["GaussiansGrid"].test_nll - 3
# sphinx_gallery_end_ignore

# %%
# * In the bulk of the data, by the median gap, the circles, the grid and the moons are
#   fitted fairly closely and the rotated Gaussians least well (medians printed). The
#   circles put almost no mass near the origin, and four layers do not empty that hole:
#   the flow leaks density into it, far more mass in the disc of radius 0.5 than the
#   exact density holds (printed), and the density image shows the ring torn at one
#   point. Between the moons the flow leaves a sheet of density.
# * The **Gaussian mixtures** expose a different weakness most strongly (every flow
#   has some of it, the ``tail %`` column), in the outer tails: where no
#   training point constrains the scale networks, the flow's density can fall off far
#   faster than the true Gaussian tails. Some test points in the outer tails (the
#   fractions printed above) then get an absurdly small density, which the *mean*
#   held-out NLL punishes heavily
#   while the median barely moves; for the grid of Gaussians a single test point
#   supplies most of the mean (printed), so its KL and standard error describe that
#   point more than the fit. The validation loss on 150 points missed it here (the
#   grid's final validation NLL is far below its test NLL, both printed); so small a set
#   catches a collapsed tail only by chance.

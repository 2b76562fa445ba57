r"""
A bounded log-scale against collapsed tails
===========================================

On the training page the flow fitted the grid of four Gaussians well in the bulk,
but its mean held-out KL was dominated by a few test points where its density had
collapsed: a single point supplied most of the sum. A common stabiliser of
training in flow code is to keep every coupling layer's log-scale bounded, softly,
:math:`s = c\tanh(s_\mathrm{raw}/c)`: the UvA Deep Learning tutorial on flows
:cite:p:`lippe2022uvadlc` does it with a learned bound that starts at
:math:`c = 1`, and the code of Real NVP :cite:p:`dinh2017` and of Glow
:cite:p:`kingma2018` squashes its scales too (a learned multiple of a tanh, a
sigmoid). We test whether it also prevents collapsed tails: this page adds the
bound to the handout's layer, trains both layers on ``GaussiansGrid`` with the
handout's parameters and the same seeds, and scores them exactly as the training
page does: held-out KL, its median, and the test points in a collapsed tail.

.. beyond:: Bounded log-scale c tanh(s/c) vs the handout's coupling layer (extends HW1-II-T6 and T9)
"""

# %%
# Why an unbounded scale can collapse a tail
# ------------------------------------------
#
# The flow's density at a point :math:`\mathbf x` is computed by the inverse
# layers, :math:`x_b \leftarrow (y_b - t)\,e^{-s}`, from the last layer to the
# first, and
#
# .. math::
#
#    \log q(\mathbf x) =
#    \underbrace{-\tfrac12\lVert\mathbf z\rVert^2 - \log 2\pi}_{\text{prior term}}
#    \;\underbrace{-\;\textstyle\sum_k s_k}_{\text{log-det}} .
#
# The networks that give :math:`s` and :math:`t` are LeakyReLU MLPs: piecewise
# linear, so outside the data they extrapolate linearly. If :math:`s` grows
# linearly with the distance from the data, the factor :math:`e^{-s}` grows
# *exponentially*, :math:`\lVert\mathbf z\rVert^2` even faster, and the prior term
# drops far below the log-det it buys. With the bound each layer multiplies a
# coordinate by at most :math:`e^{c}`, so :math:`\mathbf z` can only grow as fast
# as the shifts :math:`t` do, linearly, and :math:`\log q` falls off at most
# quadratically, like the log-density of some Gaussian (possibly a much narrower
# one than the data's). Near :math:`s_\mathrm{raw} = 0` the clamp is the identity
# to first order (:math:`\mathrm d s/\mathrm d s_\mathrm{raw} = 1 - \tanh^2`),
# and the handout's ``scale_factor`` still starts at 0, so both layers start from
# the same pure shift.
#
# :class:`~probmods.flows.CouplingFlow` takes the bound as ``scale_bound`` (the
# fast NumPy training engine backpropagates through it too). We use
# :math:`c = 1`, the tutorial's starting value. It is fixed by that rule, not
# selected: :math:`c = 2` and :math:`3` were also tried on a few seeds while this
# page was written, and are not shown.

import copy

import matplotlib.pyplot as plt
import numpy as np
import torch

from probmods.datasets import sample_2d_datasets, toy_log_density
from probmods.flows import fit_toy_flow, format_scores
from probmods.grids import Grid2D
from probmods.plotting import density_image, panels

C = 1.0
SEEDS = (8, 0, 1)  # the handout's torch seed, then 0 and 1
LAYERS = {"handout": None, f"c = {C:g}": C}
fits = {
    (name, seed): fit_toy_flow("GaussiansGrid", num_samples=1500, num_layers=4, epochs=500,
                               torch_seed=seed, scale_bound=bound, progress=False)
    for seed in SEEDS
    for name, bound in LAYERS.items()
}

# %%
# Held-out scores
# ---------------
#
# Every run uses the handout's data (1500 points, data seed 0), 500 epochs, batch
# size 64 and Adam at ``lr=1e-3``; the torch seed sets the initial weights and the
# train/validation split, and is the same for both layers, so each pair starts
# from the same weights. The columns are the training page's: final training and
# validation NLL, mean NLL on 20,000 fresh test points, the entropy floor, the KL
# estimate with its standard error, the median of :math:`\log p - \log q`, and the
# percentage of test points in a collapsed tail (:math:`\log p - \log q > 10`).

print(format_scores({f"{name}, seed {seed}": f for (name, seed), f in fits.items()}, label="layer"))

# %%
# Across seeds, and the single worst test point of each run (its
# :math:`\log p - \log q` and its share of the sum behind the mean KL, as the
# training page reports it):

summary = {}
for name in LAYERS:
    runs = [fits[name, seed] for seed in SEEDS]
    kl = np.array([f.kl for f in runs])
    median = np.array([f.kl_median for f in runs])
    tail = 100 * np.array([f.tail_fraction for f in runs])
    worst = np.array([f.log_ratio.max() for f in runs])
    share = np.array([100 * f.log_ratio.max() / f.log_ratio.sum() for f in runs])
    summary[name] = dict(kl=kl, median=median, tail=tail, worst=worst)
    print(f"{name:8s} KL: mean {kl.mean():.3f}, median {np.median(kl):.3f}, "
          f"range {kl.min():.3f} to {kl.max():.3f}")
    print(f"{'':8s} median log p - log q: {median.min():.3f} to {median.max():.3f}; "
          f"tail %: {', '.join(f'{v:.3f}' for v in tail)}")
    print(f"{'':8s} worst test point: " + ", ".join(f"{v:.1f}" for v in worst) + " nats, "
          + ", ".join(f"{v:.0f}%" for v in share) + " of the sum")
hand, bnd = summary["handout"], summary[f"c = {C:g}"]

fig, axes = plt.subplots(1, 3, figsize=(10, 3.2), layout="constrained")
for ax, key, title in zip(axes, ("kl", "tail", "worst"),
                          ("held-out KL (nats)", "% of test points with log p - log q > 10",
                           "worst test point: log p - log q"), strict=True):
    for i, name in enumerate(LAYERS):
        ax.scatter(np.full(len(SEEDS), i), summary[name][key], color=f"C{i}", zorder=3)
    for j in range(len(SEEDS)):
        ax.plot([0, 1], [hand[key][j], bnd[key][j]], color="0.6", lw=0.8)
    ax.set(xticks=[0, 1], xticklabels=list(LAYERS), xlim=(-0.5, 1.5), title=title)
    if key != "tail":
        ax.set_yscale("log")
fig.suptitle(f"GaussiansGrid, K = 4, one line per torch seed {SEEDS}")
plt.show()
# sphinx_gallery_start_ignore
assert hand["kl"].max() > 10 * bnd["kl"].max()  # "more than ten times below the worst seed"
assert 40 < hand["kl"].max() / hand["kl"].min() < 50  # "a factor of almost 50 between seeds"
assert bnd["kl"].max() < 2 * bnd["kl"].min()  # "a narrow range"
assert bnd["worst"].max() < 200 and hand["worst"].max() > 1e4
assert np.all(np.abs(hand["median"] - bnd["median"]) < 0.05)  # the medians barely move
assert np.all(bnd["tail"] > 0)  # "about as many on average (0.13% against 0.14%), more for two"
assert [round(v.mean(), 2) for v in (bnd["tail"], hand["tail"])] == [0.13, 0.14]
assert (bnd["tail"] > hand["tail"]).sum() == 2
# seed 8 the only catastrophic collapse; seeds 0 and 1: the bound worse in KL, median and tail %
assert hand["worst"][0] > 1e4 and hand["worst"][1:].max() < 100 and hand["kl"][1:].max() < 0.2
for key in ("kl", "median", "tail"):
    assert np.all(bnd[key][1:] > hand[key][1:]), key
assert bnd["worst"][1] > hand["worst"][1] and bnd["worst"][2] < hand["worst"][2]
assert 11.65 < hand["worst"][1] < 11.75 and 59.45 < hand["worst"][2] < 59.55  # "11.7 and 59.5"
gap8 = fits["handout", 8].valid_losses[-1] - fits["handout", 8].train_losses[-1]
assert 0 < gap8 < 0.05 and hand["kl"][0] > 3  # "within 0.05 nats of its training NLL"
# sphinx_gallery_end_ignore

# %%
# Where the failures are, and what makes them
# -------------------------------------------
#
# For the handout's seed the test points in a collapsed tail, drawn over the
# exact density: the handout's layer (left) and the bounded one (right). The
# colour is :math:`\log p - \log q` on a log scale.

seed = SEEDS[0]
test = sample_2d_datasets("GaussiansGrid", num_samples=20_000, seed=1)  # fit_toy_flow's test points
grid = Grid2D((-2.5, 4.5), (-2.5, 4.5), 200, 200)
exact = grid.reshape(np.exp(toy_log_density("GaussiansGrid", grid.points)))
fig, axes = panels(1, 2, size=3.6)
for ax, name in zip(axes[0], LAYERS, strict=True):
    f = fits[name, seed]
    bad = f.log_ratio > 10
    density_image(ax, grid, exact, vmin=0, cmap="Greys",
                  title=f"{name}: {bad.sum()} test points with\nlog p - log q > 10")
    sc = ax.scatter(*test[bad].T, c=np.log10(f.log_ratio[bad]), s=9, cmap="plasma",
                    vmin=1, vmax=5.5)
fig.colorbar(sc, ax=axes[0, -1], label=r"$\log_{10}(\log p - \log q)$")
plt.show()
above = {}
for name in LAYERS:
    bad = fits[name, seed].log_ratio > 10
    above[name] = np.mean(test[bad, 1] > 3)
    print(f"{name:8s} {bad.sum()} test points in a collapsed tail, "
          f"{100 * above[name]:.0f}% of them above x2 = 3 (beyond the upper pair of modes)")
# sphinx_gallery_start_ignore
assert min(above.values()) > 0.5  # "for both layers most failures lie beyond the upper modes"
assert fits[f"c = {C:g}", seed].log_ratio.max() < fits["handout", seed].log_ratio.max() / 100
# sphinx_gallery_end_ignore


# %%
# For both layers most failures lie beyond the upper pair of modes; the bounded
# layer's largest gap is far smaller (the colours). At the handout's worst test
# point we split :math:`\log q` into the prior term and the log-det, and list each
# layer's :math:`s` (first layer first), in float64 (the scores above evaluate the
# float32 model, hence a difference in the last digits):


def decompose(model, x):
    """z = f^{-1}(x), prior term, log-det and each layer's s (first layer first), in float64."""
    model = copy.deepcopy(model).double()
    z = torch.as_tensor(x, dtype=torch.float64)[None]
    s = []
    with torch.no_grad():
        for layer in reversed(model.layers):
            z, inv_log_det = layer.inverse(z)
            s.insert(0, -inv_log_det.item())
        prior = model.prior.log_prob(z).item()
    return z[0].numpy(), prior, -sum(s), s


i_worst = int(np.argmax(fits["handout", seed].log_ratio))
x_worst = test[i_worst]
log_p_worst = toy_log_density("GaussiansGrid", x_worst[None])[0]
print(f"worst test point of the handout's layer (seed {seed}): "
      f"x = ({x_worst[0]:.2f}, {x_worst[1]:.2f}), log p = {log_p_worst:.2f}")
parts = {}
for name in LAYERS:
    z, prior, log_det, s = decompose(fits[name, seed].model, x_worst)
    parts[name] = (np.linalg.norm(z), prior, log_det, s)
    print(f"{name:8s} |z| = {np.linalg.norm(z):6.1f}, prior term {prior:10.1f}, "
          f"log-det {log_det:+5.2f}, log p - log q = {log_p_worst - prior - log_det:8.1f}; "
          "s per layer " + ", ".join(f"{v:+.2f}" for v in s))
# sphinx_gallery_start_ignore
z_hand, prior_hand, log_det_hand, s_hand = parts["handout"]
assert 100 < z_hand < 1000 and s_hand[0] < -3 and max(s_hand) < 0 and 0 < log_det_hand < 10
assert -prior_hand > 1000 * log_det_hand and z_hand > 10 * parts[f"c = {C:g}"][0]
# sphinx_gallery_end_ignore

# %%
# Along a ray
# -----------
#
# The same story along the ray from the mode at :math:`(2, 2)` through that point,
# out to twice its distance: the exact :math:`\log p` and both flows'
# :math:`\log q`, computed in float64.

mode = np.array([2.0, 2.0])
direction = (x_worst - mode) / np.linalg.norm(x_worst - mode)
r = np.linspace(0, 2 * np.linalg.norm(x_worst - mode), 200)
ray = mode + r[:, None] * direction
log_p_ray = toy_log_density("GaussiansGrid", ray)
log_q_ray = {}
fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
ax.plot(r, log_p_ray, color="k", lw=2, label="exact log p")
for i, name in enumerate(LAYERS):
    model64 = copy.deepcopy(fits[name, seed].model).double()
    with torch.no_grad():
        log_q_ray[name] = model64.log_probability(torch.from_numpy(ray)).numpy()
    ax.plot(r, log_q_ray[name], color=f"C{i}", label=f"log q, {name}")
ax.axvline(np.linalg.norm(x_worst - mode), color="0.5", ls=":", lw=1, label="the worst test point")
ax.set(xlabel="distance from the mode (2, 2)", ylabel="log-density", ylim=(-300, 10),
       title=f"torch seed {seed}, along the ray through the worst test point")
ax.legend(fontsize=8)
plt.show()
for k in (50, 100, 199):
    print(f"distance {r[k]:.2f}: exact log p {log_p_ray[k]:6.1f}, "
          + ", ".join(f"log q {name} {v[k]:10.1f}" for name, v in log_q_ray.items()))
z_far = decompose(fits["handout", seed].model, ray[-1])[0]
print(f"handout's layer at distance {r[-1]:.2f}: |z| = {np.hypot(*z_far):.3g}")
q_hand, q_bnd = log_q_ray["handout"], log_q_ray[f"c = {C:g}"]
# sphinx_gallery_start_ignore
assert abs(q_hand[50] - log_p_ray[50]) < 1 and abs(q_bnd[50] - log_p_ray[50]) < 1  # near the mode
assert q_hand[100] < -1e4 and q_bnd[100] > -200  # at the worst point: 10^5 against 10^2
assert q_hand[199] < -1e80 and np.isfinite(q_bnd).all()  # "below -10^80"
assert np.hypot(*z_far) > 1e40  # "|z| beyond 10^40"
assert 90 < log_p_ray[199] - q_bnd[199] < 100  # the bounded tail is still far too light
# sphinx_gallery_end_ignore

# %%
# What the numbers say
# --------------------
#
# **The bound removes the catastrophic part of the mean KL.** With the handout's
# layer the held-out KL changes by a factor of almost 50 between these seeds
# (printed range), because for seed 8 it is set by the few test points whose density
# collapsed, the worst of them more than ten thousand nats too low. With
# :math:`c = 1` the three KLs lie within a narrow range, the largest more than ten
# times below the handout's worst seed, and no test point is off by more than a
# couple of hundred nats (printed).
#
# **The fit in the bulk does not change.** The median of :math:`\log p - \log q`
# moves by less than 0.05 nats between the two layers for every seed: the typical
# test point is fitted about as well with the bound as without. The bound is not
# free either: for the two seeds where the handout's layer had no catastrophic collapse
# (seeds 0 and 1, worst points 11.7 and 59.5 nats), the bounded layer has the higher KL,
# median and ``tail %`` (table); its worst point is worse for seed 0 and better for seed 1.
#
# **Why.** At the handout's worst point the collapse is in the prior term, not in
# the log-det: the first layer's :math:`s` is far below :math:`-1` (printed), so its
# inverse, the last step of the evaluation, stretches the coordinate by
# :math:`e^{-s}`; the other layers (whose inverses run first) have negative
# :math:`s` too and stretch as well, and :math:`\lVert\mathbf z\rVert` lands in the
# hundreds. The log-det gains a few nats from the stretch; the prior term loses over
# a thousand times more. The bounded flow maps the same point to a :math:`\mathbf z`
# more than ten times closer to the origin. Along the ray both flows are within about
# a nat of the exact :math:`\log p` near the mode (printed at the first distance);
# past the data the handout's :math:`\log q` falls off a cliff, and at twice the
# distance it is below :math:`-10^{80}`: the stretches compound through the layers
# until :math:`\lVert\mathbf z\rVert` (printed) is beyond :math:`10^{40}`.
#
# **What the bound does not fix.** The bounded flow's tail is still far too light:
# at twice the distance its :math:`\log q` is more than 90 nats below the
# exact :math:`\log p` (printed), and every seed keeps test points in a collapsed
# tail (the ``tail %`` column): about as many on average over these seeds (0.13%
# against 0.14%), and more for two of the three. The bound limits how fast the flow's
# tails can fall, not where its mass sits; the shifts :math:`t` are unbounded and still
# extrapolate linearly, and :math:`e^{\pm c}` per layer still compounds to
# :math:`e^{\pm 2c}` per coordinate over four layers. The handout's 150-point validation
# set catches a collapsed tail only by chance: it missed the one catastrophic collapse
# here (seed 8, whose validation NLL is within 0.05 nats of its training NLL, table),
# which the 20,000 test points caught. Three seeds are a small sample of a heavy-tailed quantity.

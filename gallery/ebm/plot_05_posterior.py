r"""
Sampling the posterior p(x|y): the update and the balance of its two terms
==========================================================================

To denoise :math:`\mathbf y = \mathbf x + \mathbf n` with the energy model as prior,
we sample :math:`p(\mathbf x\mid\mathbf y)` instead of :math:`p(\mathbf x)`. This page
derives its score and the Langevin update, checks both against autograd on the trained
model, and measures how the model's temperature weighs the prior against the
likelihood: the balance one would expect to matter for denoising, which the next page
then tests.
"""

# %%
# The posterior score
# -------------------
#
# .. task:: HW2-T11
#
# Bayes' rule, :math:`p(\mathbf x\mid\mathbf y) = p_x(\mathbf x)\,p(\mathbf y\mid\mathbf x)
# / p(\mathbf y)` with :math:`p(\mathbf y\mid\mathbf x) = p_n(\mathbf y - \mathbf x)`.
# The evidence :math:`p(\mathbf y)` does not depend on :math:`\mathbf x`, so
#
# .. math::
#
#     \nabla_{\mathbf x}\log p(\mathbf x\mid\mathbf y)
#     = \nabla_{\mathbf x}\log p_x(\mathbf x) + \nabla_{\mathbf x}\log p_n(\mathbf y-\mathbf x)
#     = \nabla_{\mathbf x}\log p_x(\mathbf x) - (\nabla\log p_n)(\mathbf y-\mathbf x).
#
# For Gaussian noise, :math:`\log p_n(\mathbf n) = -\lVert\mathbf n\rVert^2/2\sigma^2 +`
# const, :math:`\nabla\log p_n(\mathbf n) = -\mathbf n/\sigma^2`, and with
# :math:`p_x\propto e^{-E}`:
#
# .. math::
#
#     \nabla_{\mathbf x}\log p(\mathbf x\mid\mathbf y) = -\nabla E(\mathbf x)
#     + \frac{\mathbf y - \mathbf x}{\sigma^2}.
#
# :func:`probmods.ebm.denoise.posterior_score` implements the right-hand side (the
# prior part by autograd of the energy, the likelihood part written out); here it is
# checked against autograd of the whole log-posterior on the trained model.

import matplotlib.pyplot as plt
import numpy as np
import torch

from probmods.ebm import load_energy, load_noisy_digits
from probmods.ebm.denoise import posterior_score
from probmods.ebm.pretrained import real_digits
from probmods.mcmc import eps_from_noise

energy = load_energy()  # the shipped model, or the course's own (PROBMODS_COURSE_ENERGY)
data = load_noisy_digits()
clean = data["clean"]
for sigma, y in zip(data["sigmas"].tolist(), data["noisy"], strict=True):
    x = (0.5 * (y + clean)).requires_grad_(True)  # some point between the noisy and the clean image
    log_post = -energy(x) - ((y - x) ** 2).flatten(1).sum(1) / (2 * sigma**2)
    (auto,) = torch.autograd.grad(log_post.sum(), x)
    ours = posterior_score(energy, x.detach(), y, sigma)
    rel = float((ours - auto).norm() / auto.norm())
    print(f"sigma = {256 * sigma:.0f}/256: relative difference to autograd {rel:.1e}")
    assert rel < 1e-5

# %%
# The Langevin update for p(x|y)
# ------------------------------
#
# .. task:: HW2-T12
#
# Replace the prior's score by the posterior's:
#
# .. math::
#
#     \mathbf x^{k+1} = \mathbf x^k - \varepsilon\nabla E(\mathbf x^k)
#     + \frac{\varepsilon}{\sigma^2}(\mathbf y - \mathbf x^k) + \sqrt{2\varepsilon}\,\mathbf n^k .
#
# The new term pulls every pixel toward its noisy observation; a sample of this
# chain is a *perceptual* denoising. The same target serves MALA: its log-density is
# :math:`-E(\mathbf x) - \lVert\mathbf y-\mathbf x\rVert^2/2\sigma^2` up to a constant.
#
# How the temperature weighs the two terms
# ----------------------------------------
#
# The model's energy is :math:`E = E_\theta/T + R` with a tiny :math:`T` (and the
# pixel-range term :math:`R`, zero inside :math:`[0,1]`), so
#
# .. math::
#
#     -\log p(\mathbf x\mid\mathbf y) = \frac{1}{T}\Big[E_\theta(\mathbf x)
#     + \frac{T}{2\sigma^2}\lVert\mathbf y-\mathbf x\rVert^2\Big] + R(\mathbf x) + \text{const}.
#
# In units of :math:`E_\theta` the likelihood weighs :math:`T/(2\sigma^2)`: a smaller
# :math:`T` sharpens the prior's preferences while the likelihood keeps its scale. What
# decides the posterior is how the prior's *differences between plausible digits*
# compare with the likelihood's cost of replacing the observed digit by another one.
# Both in nats, on real held-out digits:

eps = eps_from_noise(2 / 256)
real, _ = real_digits(100)
with torch.no_grad():
    e_real = energy.energy_net(real).numpy() / energy.temperature
    e_clean = energy.energy_net(clean).numpy() / energy.temperature
lo, hi = np.percentile(e_real, [10, 90])
print(
    f"E_theta / T over 100 held-out digits: 10-90% range {lo:,.0f} to {hi:,.0f} nats "
    f"(spread {hi - lo:,.0f})"
)
d = torch.cdist(clean.flatten(1), real.flatten(1))
d[d < 1e-6] = float("inf")  # a digit is not its own alternative
nearest = d.min(dim=1).values.numpy()
prior_gap = np.abs(e_clean - e_real[d.argmin(dim=1).numpy()])
print(
    f"prior preference between each clean digit and that nearest other digit: "
    f"|E/T difference| median {np.median(prior_gap):,.0f} nats"
)
switches = {}
for sigma, y in zip(data["sigmas"].tolist(), data["noisy"], strict=True):
    switch = nearest**2 / (2 * sigma**2)
    switches[round(256 * sigma)] = np.median(switch)
    noise_cost = (((y - clean) ** 2).flatten(1).sum(1) / (2 * sigma**2)).numpy()
    print(
        f"sigma = {256 * sigma:.0f}/256: likelihood cost of the clean digit itself "
        f"{np.median(noise_cost):,.0f} nats; extra cost of the nearest *other* real digit "
        f"{np.median(switch):,.0f} nats (median)"
    )

# %%
# The same balance per step of the chain, compared at one point, the clean digit: the
# prior's drift :math:`\varepsilon\nabla E_\theta/T` there (the range term is zero inside
# :math:`[0,1]`) against the likelihood's pull
# :math:`\varepsilon(\mathbf y-\mathbf x_{clean})/\sigma^2`. At the noisy start
# :math:`\mathbf x = \mathbf y` the range term dominates, but only for a transient: it
# pulls out-of-range pixels back at the rate :math:`\varepsilon/\rho^2` per step (printed).
# The likelihood alone would relax a pixel toward :math:`\mathbf y` at the rate
# :math:`\varepsilon/\sigma^2`.

cg = clean.clone().requires_grad_(True)
(g_theta,) = torch.autograd.grad(energy.energy_net(cg).sum() / energy.temperature, cg)
d_theta = float((eps * g_theta).abs().mean())
print(
    f"at the clean digit: mean |prior drift| per step {d_theta:.1e}; the range term relaxes "
    f"at {eps / energy.range_scale**2:.3f} per step "
    f"(e-folding {energy.range_scale**2 / eps:.0f} steps)"
)
ratios = []
for sigma, y in zip(data["sigmas"].tolist(), data["noisy"], strict=True):
    d_lik = float((eps / sigma**2 * (y - clean)).abs().mean())
    ratios.append(d_theta / d_lik)
    print(
        f"sigma = {256 * sigma:.0f}/256: likelihood pull at the clean digit {d_lik:.1e} "
        f"(prior / likelihood {d_theta / d_lik:.0f}); e-folding time of the likelihood alone "
        f"sigma^2/eps = {sigma**2 / eps:,.0f} steps"
    )
# sphinx_gallery_start_ignore
assert switches[100] < np.median(prior_gap) < switches[50]
assert all(5 < r < 32 for r in ratios)  # one order of magnitude
# sphinx_gallery_end_ignore

# %%
# The three terms along a straight path from the noisy image to the clean one (medians
# over the 30 digits, each term separately):

t = torch.linspace(0, 1, 21)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained", sharey=True)
for ax, sigma, y in zip(axes, data["sigmas"].tolist(), data["noisy"], strict=True):
    path = [(1 - s) * y + s * clean for s in t]
    with torch.no_grad():
        theta = torch.stack([energy.energy_net(x) - energy.energy_net(clean) for x in path])
        rng = torch.stack([energy.range_term(x) for x in path]).numpy()
        lik = torch.stack([((y - x) ** 2).flatten(1).sum(1) / (2 * sigma**2) for x in path]).numpy()
    ax.plot(
        t,
        np.median(theta.numpy() / energy.temperature, 1),
        label=r"$[E_\theta(\mathbf{x}) - E_\theta(\mathbf{x}_{clean})]/T$",
    )
    ax.plot(t, np.median(rng, 1), label=r"range term $R(\mathbf{x})$")
    ax.plot(t, np.median(lik, 1), label=r"$\|\mathbf{y}-\mathbf{x}\|^2/(2\sigma^2)$")
    ax.set(
        yscale="symlog",
        xlabel=r"$\mathbf{x} = (1-t)\,\mathbf{y} + t\,\mathbf{x}_{clean}$",
        title=rf"$\sigma = {256 * sigma:.0f}/256$ (median of 30 digits)",
    )
    ax.legend(fontsize=8)
axes[0].set_ylabel("nats")

# %%
# Discussion
# ----------
#
# The posterior score agrees with autograd to float32 precision, so the update is the
# one derived. The printed numbers say what to expect from it. Among real held-out
# digits, :math:`E_\theta/T` varies over a range of a few thousand nats: with the small
# :math:`T`, the prior has strong preferences *between* plausible digits. The fair
# comparison is local: between a clean digit and its nearest other real digit the prior
# prefers one by a median of a few hundred nats (printed), while the likelihood's cost of
# the switch is larger than that at :math:`\sigma = 50/256` and smaller at
# :math:`100/256` (about four times less; it scales as :math:`1/\sigma^2`). So at the
# smaller noise the observation should usually hold the posterior to the observed digit,
# and at the larger noise the model's preferences between digit shapes can win (the
# next page looks for that drift). The
# per-step drifts at the clean digit say the same about the dynamics: there the prior's
# drift is one order of magnitude larger than the likelihood's pull (ratios printed).
# The e-folding times of the likelihood alone (1,250 and 5,000 steps) are the time scale
# on which it would pull a pixel back by itself, comparable to or longer than the
# handout's :math:`K = 2000`; where the prior is steep the chain moves faster. A larger
# :math:`T` (a warmer prior) would weigh the likelihood more: the prior's
# spread in nats scales as :math:`1/T`. The next page measures the consequences for
# denoising, as a function of :math:`K`.

plt.show()

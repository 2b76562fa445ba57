r"""
Sampling the posterior p(x|y): the update and the balance of its two terms
==========================================================================

To denoise :math:`\mathbf y = \mathbf x + \mathbf n` with the energy model as prior,
we sample :math:`p(\mathbf x\mid\mathbf y)` instead of :math:`p(\mathbf x)`. This page
derives its score and the Langevin update, checks both against autograd on the trained
model, and measures how the model's temperature weighs the prior against the
likelihood: the number that explains the next page's results.
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

from probmods.ebm import load_noisy_digits, load_pretrained
from probmods.ebm.denoise import posterior_score
from probmods.mcmc import eps_from_noise

energy = load_pretrained()
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
# The model's energy is :math:`E = E_\theta/T + R` with a tiny :math:`T`, so
#
# .. math::
#
#     -\log p(\mathbf x\mid\mathbf y) = \frac{1}{T}\Big[E_\theta(\mathbf x)
#     + \frac{T}{2\sigma^2}\lVert\mathbf y-\mathbf x\rVert^2\Big] + R(\mathbf x) + \text{const}:
#
# measured in units of :math:`E_\theta`, the likelihood weighs only
# :math:`T/2\sigma^2`, as if the noise were :math:`\sigma/\sqrt T` (hundreds of times
# larger). Two measurements make this concrete on the 30 digits: the size of the two
# drifts per step at the noisy image, and the two terms' differences between the
# noisy and the clean image in nats.

eps = eps_from_noise(2 / 256)
for sigma, y in zip(data["sigmas"].tolist(), data["noisy"], strict=True):
    yg = y.clone().requires_grad_(True)
    (g_prior,) = torch.autograd.grad(energy(yg).sum(), yg)
    with torch.no_grad():
        d_prior = float((eps * g_prior).abs().mean())
        d_lik = float((eps / sigma**2 * (y - clean)).abs().mean())
        e_gap = (energy(y) - energy(clean)).numpy()
        lik = (((y - clean) ** 2).flatten(1).sum(1) / (2 * sigma**2)).numpy()
    print(
        f"sigma = {256 * sigma:.0f}/256 (sigma / sqrt(T) = {sigma / energy.temperature**0.5:.0f}): "
        f"mean |drift| per step: prior at y {d_prior:.1e}; likelihood at the clean image "
        f"{d_lik:.1e}"
    )
    print(
        f"   E(y) - E(clean): median {np.median(e_gap):,.0f} nats; likelihood cost of the "
        f"clean image "
        f"|y - x|^2 / 2 sigma^2: median {np.median(lik):,.0f} nats"
    )
    print(
        f"   the likelihood alone relaxes a pixel toward y at rate eps / sigma^2 = "
        f"{eps / sigma**2:.1e} "
        f"per step: e-folding time {sigma**2 / eps:,.0f} steps"
    )

# %%
# The two terms along a straight path from the noisy image to the clean one:

t = torch.linspace(0, 1, 21)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained", sharey=True)
for ax, sigma, y in zip(axes, data["sigmas"].tolist(), data["noisy"], strict=True):
    with torch.no_grad():
        prior = torch.stack([energy((1 - s) * y + s * clean) - energy(clean) for s in t]).numpy()
        lik = torch.stack(
            [(((y - ((1 - s) * y + s * clean)) ** 2).flatten(1).sum(1)) / (2 * sigma**2) for s in t]
        ).numpy()
    ax.plot(t, np.median(prior, 1), label=r"$E(\mathbf{x}) - E(\mathbf{x}_{clean})$")
    ax.plot(t, np.median(lik, 1), label=r"$\|\mathbf{y}-\mathbf{x}\|^2/2\sigma^2$")
    ax.set(
        yscale="symlog",
        xlabel=r"$\mathbf{x} = (1-t)\,\mathbf{y} + t\,\mathbf{x}_{clean}$",
        title=rf"$\sigma = {256 * sigma:.0f}/256$ (median of 30 digits)",
    )
    ax.legend()
axes[0].set_ylabel("nats")

# %%
# Discussion
# ----------
#
# The posterior score agrees with autograd to float32 precision, so the update is the
# one derived. The printed magnitudes show the balance: at the noisy image the prior's
# drift per step is orders of magnitude larger than the likelihood's, and the energy
# difference between the noisy and the clean digit is far larger than the likelihood
# cost of the clean digit. The prior therefore decides *what* the image becomes
# (some clean digit), while the likelihood only slowly decides *which* one, at a rate
# :math:`\varepsilon/\sigma^2` per step whose e-folding times (printed) are comparable
# to or longer than the handout's :math:`K = 2000`. The next page measures the
# consequence on the denoising quality as a function of :math:`K`.

plt.show()

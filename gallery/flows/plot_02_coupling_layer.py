r"""
The affine coupling layer: inverse, Jacobian, log-determinants
==============================================================

A flow needs layers that are invertible, expressive and have a Jacobian
determinant that is cheap to compute. The affine coupling layer gets all three by
a trick: it leaves part of its input unchanged and uses that part to scale and
shift the rest. This page derives its inverse (and draws it as a computational
graph), its Jacobian and both log-determinants, implements the layer with masks,
and checks every formula against automatic differentiation on real inputs.
"""

# %%
# The layer
# ---------
#
# The affine coupling layer of Real NVP :cite:p:`dinh2017`: split
# :math:`\mathbf x\in\mathbb R^d` into :math:`\mathbf x_{1:j}` and
# :math:`\mathbf x_{j+1:d}`. The layer keeps the first part and transforms the
# second with a scale :math:`\mathbf s` and shift :math:`\mathbf t` computed by
# neural networks from the first:
#
# .. math::
#
#    \mathbf y_{1:j} = \mathbf x_{1:j},\qquad
#    \mathbf y_{j+1:d} = \exp\big(\mathbf s(\mathbf x_{1:j})\big)\odot\mathbf x_{j+1:d}
#    + \mathbf t(\mathbf x_{1:j}).
#
# The inverse
# -----------
#
# .. task:: HW1-II-T2
#
# The unchanged part gives back the networks' input: :math:`\mathbf x_{1:j} =
# \mathbf y_{1:j}`, so :math:`\mathbf s` and :math:`\mathbf t` can be recomputed
# from :math:`\mathbf y` alone, and the affine map of the second part is undone
# element by element:
#
# .. math::
#
#    \mathbf x_{1:j} = \mathbf y_{1:j},\qquad
#    \mathbf x_{j+1:d} = \big(\mathbf y_{j+1:d} - \mathbf t(\mathbf y_{1:j})\big)
#    \odot\exp\big(-\mathbf s(\mathbf y_{1:j})\big).
#
# Nothing here inverts a network: :math:`\mathbf s` and :math:`\mathbf t` can be
# arbitrary functions. The graph of :math:`f^{-1}`, with :math:`\mathbf y` as input
# and :math:`\mathbf x` as output, is drawn below from this formula.

import matplotlib.pyplot as plt
import numpy as np
import torch

from probmods.datasets import sample_2d_datasets
from probmods.flows import CouplingLayer
from probmods.plotting import draw_graph, panels

fig, ax = plt.subplots(figsize=(10, 4.6), layout="constrained")
nodes = {
    "y": (0, 0, r"$\mathbf{y}$"),
    "ya": (2, 1, r"$\mathbf{y}_{1:j}$"),
    "yb": (2, -1.3, r"$\mathbf{y}_{j+1:d}$"),
    "s": (4.2, 2.4, r"$\mathbf{s}_{\theta_1}$", "net"),
    "t": (4.2, 0.0, r"$\mathbf{t}_{\theta_2}$", "net"),
    "exp": (6.2, 2.4, r"$e^{-\cdot}$", "op"),
    "minus": (6.2, -1.3, r"$-$", "op"),
    "mul": (8.0, -1.3, r"$\odot$", "op"),
    "xa": (10.0, 1, r"$\mathbf{x}_{1:j}$"),
    "xb": (10.0, -1.3, r"$\mathbf{x}_{j+1:d}$"),
    "x": (12.0, 0, r"$\mathbf{x}$"),
}
edges = [
    ("y", "ya", "split"),
    ("y", "yb"),
    ("ya", "s"),
    ("ya", "t"),
    ("s", "exp"),
    ("yb", "minus"),
    ("t", "minus"),
    ("minus", "mul"),
    ("exp", "mul"),
    ("ya", "xa", "identity"),
    ("mul", "xb"),
    ("xa", "x"),
    ("xb", "x"),
]
draw_graph(ax, nodes, edges)
ax.set_title(r"computational graph of $\mathbf{x} = f^{-1}(\mathbf{y})$")

# %%
# The Jacobian and its structure
# ------------------------------
#
# .. task:: HW1-II-T3
#
# Differentiate each block of :math:`\mathbf y` with respect to each block of
# :math:`\mathbf x`. The first block is the identity and does not depend on
# :math:`\mathbf x_{j+1:d}`; the second depends on :math:`\mathbf x_{j+1:d}` only
# through the element-wise product:
#
# .. math::
#
#    \frac{\partial\mathbf y}{\partial\mathbf x} =
#    \begin{pmatrix}
#      I_j & 0\\[2pt]
#      \dfrac{\partial\mathbf y_{j+1:d}}{\partial\mathbf x_{1:j}} &
#      \operatorname{diag}\big(\exp\mathbf s(\mathbf x_{1:j})\big)
#    \end{pmatrix}.
#
# It is **lower block-triangular** with a **diagonal** lower-right block. The
# lower-left block, which holds all the derivatives of the networks, is dense and
# complicated, but it does not enter the determinant.
#
# Both log-determinants
# ---------------------
#
# .. task:: HW1-II-T4 HW1-II-T5
#
# The determinant of a block-triangular matrix is the product of the determinants
# of its diagonal blocks, here :math:`1\cdot\prod_{i>j}e^{s_i}`, so
#
# .. math::
#
#    \log\Big|\det\frac{\partial\mathbf y}{\partial\mathbf x}\Big|
#    = \sum_{i=j+1}^{d} s_i(\mathbf x_{1:j}),
#    \qquad
#    \log\Big|\det\frac{\partial\mathbf x}{\partial\mathbf y}\Big|
#    = -\sum_{i=j+1}^{d} s_i(\mathbf y_{1:j}).
#
# The second follows either from the inverse function theorem
# (:math:`\partial\mathbf x/\partial\mathbf y = (\partial\mathbf y/\partial\mathbf
# x)^{-1}`, so the log-determinants are opposite at corresponding points, and
# :math:`\mathbf y_{1:j} = \mathbf x_{1:j}`), or directly: the inverse's Jacobian is
# lower block-triangular too, with diagonal block
# :math:`\operatorname{diag}(e^{-\mathbf s(\mathbf y_{1:j})})`. Computing it costs
# one evaluation of :math:`\mathbf s`, no matrix at all.
#
# The implementation with masks
# -----------------------------
#
# .. task:: HW1-II-T6
#
# In code the split is a binary mask :math:`\mathbf m` (1 on the unchanged part):
# the networks see :math:`\mathbf m\odot\mathbf x`, their outputs are multiplied by
# :math:`1-\mathbf m` so that they act only on the transformed part, and the scale
# is multiplied by the learnable ``scale_factor`` (initialised to 0, so a new layer
# is a pure shift and training starts stable):
#
# .. math::
#
#    \mathbf y = \mathbf m\odot\mathbf x + (1-\mathbf m)\odot\big(
#    \mathbf x\odot e^{\mathbf s} + \mathbf t\big),\quad
#    \mathbf s = (1-\mathbf m)\odot\boldsymbol\lambda\odot
#    \mathbf s_{\theta_1}(\mathbf m\odot\mathbf x),\quad
#    \mathbf t = (1-\mathbf m)\odot\mathbf t_{\theta_2}(\mathbf m\odot\mathbf x).
#
# This is :class:`probmods.flows.CouplingLayer` (its constructor builds the
# handout's two 2-32-32-2 LeakyReLU networks ``s_func`` and ``t_func``):
#
# .. literalinclude:: /../probmods/flows.py
#    :pyobject: CouplingLayer._scale_shift
#    :dedent: 4
#
# .. literalinclude:: /../probmods/flows.py
#    :pyobject: CouplingLayer.forward
#    :dedent: 4
#
# .. literalinclude:: /../probmods/flows.py
#    :pyobject: CouplingLayer.inverse
#    :dedent: 4
#
# Checking the formulas against autograd
# --------------------------------------
#
# We take a layer for each mask, give it non-trivial scales (a freshly initialised
# layer has ``scale_factor = 0`` and would make the scale check vacuous, so we set
# it and enlarge the scale network's weights), and
# evaluate it in double precision on 200 real points from the Moons dataset. For
# each point, :func:`torch.autograd.functional.jacobian` gives the full
# :math:`2\times2` Jacobian, from which we check the inverse, the triangular
# structure and both log-determinants.

torch.manual_seed(0)
x = torch.from_numpy(sample_2d_datasets("Moons", num_samples=200, seed=0))
report = []
for mask in ([1.0, 0.0], [0.0, 1.0]):
    layer = CouplingLayer(torch.tensor(mask)).double()
    with torch.no_grad():
        layer.scale_factor.copy_(torch.tensor([0.7, -0.9], dtype=torch.float64))
        for p in layer.s_func.parameters():
            p.mul_(4.0)
    y, log_det = layer(x)
    x_back, inv_log_det = layer.inverse(y)
    a = int(np.argmax(mask))  # the unchanged coordinate
    b = 1 - a
    jac = torch.stack(
        [torch.autograd.functional.jacobian(lambda v, f=layer: f(v[None])[0][0], xi) for xi in x]
    )
    jac_inv = torch.stack(
        [
            torch.autograd.functional.jacobian(lambda v, f=layer: f.inverse(v[None])[0][0], yi)
            for yi in y
        ]
    )
    report.append(
        {
            "mask": mask,
            "inverse": (x_back - x).abs().max().item(),
            "dy_a/dx_b": jac[:, a, b].abs().max().item(),
            "dy_a/dx_a - 1": (jac[:, a, a] - 1).abs().max().item(),
            "log-det": (torch.logdet(jac) - log_det).abs().max().item(),
            "inverse log-det": (torch.logdet(jac_inv) - inv_log_det).abs().max().item(),
            "sum": (log_det + inv_log_det).abs().max().item(),
            "scale range": (log_det.min().item(), log_det.max().item()),
        }
    )
for r in report:
    lo, hi = r["scale range"]
    print(f"mask {r['mask']}: log-det ranges over [{lo:.2f}, {hi:.2f}] on these points")
    for key in (
        "inverse",
        "dy_a/dx_b",
        "dy_a/dx_a - 1",
        "log-det",
        "inverse log-det",
        "sum",
    ):
        print(f"    max |error| {key:16s}: {r[key]:.1e}")
        assert r[key] < 1e-12, key
    assert r["dy_a/dx_b"] == 0.0 and r["dy_a/dx_a - 1"] == 0.0  # exactly, not to rounding

# %%
# All errors are at the level of double-precision rounding: the inverse undoes the
# layer, the entry :math:`\partial y_a/\partial x_b` is exactly zero (the triangular
# structure), and both analytic log-determinants equal the log-determinants of the
# autograd Jacobians, including the sign relation between them.
#
# What one layer can do
# ---------------------
#
# A coupling layer moves points along one axis only, by an amount that depends on
# the other axis. Applied to a grid of lines, the layer with mask :math:`[1, 0]`
# keeps every vertical line vertical (stretching and shifting it along itself) and
# bends the horizontal ones;
# the other mask does the opposite. Stacking layers with alternating masks is what
# lets a flow bend the plane in both directions.

lines = np.linspace(-2, 2, 9)
t = np.linspace(-2, 2, 200)
fig, axes = panels(1, 3, size=3.6)
torch.manual_seed(1)
layers = [CouplingLayer(torch.tensor(m)).double() for m in ([1.0, 0.0], [0.0, 1.0])]
for layer in layers:
    with torch.no_grad():
        layer.scale_factor.fill_(0.8)
titles = ["input grid", "after mask [1, 0]", "after both layers"]
for ax, k, title in zip(axes[0], range(3), titles, strict=True):
    for c in lines:
        for pts in (
            np.column_stack([t, np.full_like(t, c)]),
            np.column_stack([np.full_like(t, c), t]),
        ):
            z = torch.from_numpy(pts)
            with torch.no_grad():
                for layer in layers[:k]:
                    z, _ = layer(z)
            ax.plot(z[:, 0], z[:, 1], lw=0.8, color="C0")
    ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
plt.show()

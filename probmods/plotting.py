"""Figure helpers shared by every chapter.

They keep the pages consistent: densities are images with ``origin="lower"``
and a labelled colour bar, samples are small translucent dots, panels that are
compared share their axes (and their colour scale), and animations are
:class:`matplotlib.animation.FuncAnimation` objects that Sphinx-Gallery embeds.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation

from ._checks import (
    as_array,
    as_points,
    check_axes,
    check_container,
    check_instance,
    check_int,
    check_limits,
    check_positive,
    check_positive_int,
    check_probability,
    check_real,
    check_seed,
)
from .grids import Grid2D

__all__ = [
    "plot_flow_fits",
    "plot_flow_losses",
    "panels",
    "density_image",
    "scatter_samples",
    "label_axes",
    "shared_colorbar",
    "animate_scatter",
    "animate_images",
    "draw_graph",
    "tile_images",
    "image_grid",
    "animate_image_grids",
    "grid_height",
    "score_field",
]


#: Largest figure side, panel side or marker size accepted (inches or points), and most panels per axis.
MAX_INCHES, MAX_PANELS = 100.0, 100


def _check_size(size, name="size"):
    return check_positive(size, name, low=0, high=MAX_INCHES)


def _check_clim(value, name):
    return None if value is None else check_real(value, name)


def _check_lims(lims, name="lims"):
    """``((xmin, xmax), (ymin, ymax))``, finite, each increasing; or None."""
    if lims is None:
        return None
    if isinstance(lims, (str, bytes)) or not hasattr(lims, "__len__") or len(lims) != 2:
        raise TypeError(f"{name} must be ((xmin, xmax), (ymin, ymax)), got {lims!r}")
    return tuple(check_limits(lim, name) for lim in lims)


def _check_sequence(value, name, what="a list"):
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") or not hasattr(value, "__getitem__"):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def _check_titles(titles, n, name="titles"):
    if titles is None:
        return None
    _check_sequence(titles, name, "a list of str (one per frame)")
    if len(titles) != n:
        raise ValueError(f"{name} must have one entry per frame ({n}), got {len(titles)}")
    return titles


def _check_interval(interval):
    return check_positive_int(interval, "interval", 10**7)


def panels(nrows: int = 1, ncols: int = 1, size: float = 3.2, sharex=True, sharey=True, **kwargs):
    """A figure with a grid of square panels that share their axes.

    Parameters
    ----------
    nrows, ncols : int
        Grid of panels, each in [1, 100].
    size : float, default 3.2
        Side of one panel in inches, in (0, 100].
    sharex, sharey : bool or str, default True
        Passed to :func:`matplotlib.pyplot.subplots`.
    **kwargs
        Passed to :func:`matplotlib.pyplot.subplots`.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : numpy.ndarray of Axes, shape (nrows, ncols)
    """
    nrows = check_positive_int(nrows, "nrows", MAX_PANELS)
    ncols = check_positive_int(ncols, "ncols", MAX_PANELS)
    size = _check_size(size)
    kwargs.setdefault("layout", "constrained")
    # square panels need room above and below for a title and an axis label: with an
    # equal aspect, constrained layout cannot take that room from the width
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols, (size + 0.6) * nrows),
        sharex=sharex,
        sharey=sharey,
        squeeze=False,
        **kwargs,
    )
    return fig, axes


def label_axes(ax, xlabel: str = "$x_1$", ylabel: str = "$x_2$", title: str | None = None):
    """Label both axes (and optionally title) a 2-D panel; returns ``ax``."""
    check_axes(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    return ax


def density_image(ax, grid: Grid2D, values, vmin=None, vmax=None, cmap: str = "viridis", title=None):
    """Draw a density on a grid as an image.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    grid : Grid2D
        Grid on which ``values`` were computed.
    values : array_like, shape (ny, nx) or (ny * nx,)
        Density values at the grid points.
    vmin, vmax : float, optional
        Colour scale (finite numbers); pass the same values to panels that are compared.
    cmap : str, default "viridis"
    title : str, optional

    Returns
    -------
    matplotlib.image.AxesImage
    """
    check_axes(ax)
    check_instance(grid, "grid", Grid2D, "a Grid2D")
    img = grid.reshape(as_array(values, "values", finite=False, max_abs=None))
    vmin, vmax = _check_clim(vmin, "vmin"), _check_clim(vmax, "vmax")
    im = ax.imshow(
        img,
        origin="lower",
        extent=grid.extent,
        vmin=vmin,
        vmax=vmax,
        cmap=cmap,
        aspect="equal",
        interpolation="nearest",
    )
    label_axes(ax, title=title)
    return im


def scatter_samples(ax, samples, lims=None, s: float = 2.0, alpha: float = 0.4, color="C0", title=None, **kwargs):
    """Scatter 2-D samples as small translucent dots.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    samples : array_like, shape (n, 2)
    lims : tuple of tuple, optional
        ``((xmin, xmax), (ymin, ymax))``; by default matplotlib's autoscale.
    s, alpha, color
        Marker size (points squared, in (0, 100]), opacity (in [0, 1]) and colour.
    title : str, optional
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.scatter`.

    Returns
    -------
    matplotlib.collections.PathCollection
    """
    check_axes(ax)
    x = as_points(samples, "samples")
    lims = _check_lims(lims)
    s = check_positive(s, "s", low=0, high=MAX_INCHES)
    alpha = check_probability(alpha, "alpha")
    sc = ax.scatter(x[:, 0], x[:, 1], s=s, alpha=alpha, color=color, linewidths=0, **kwargs)
    if lims is not None:
        ax.set_xlim(*lims[0])
        ax.set_ylim(*lims[1])
    ax.set_aspect("equal")
    label_axes(ax, title=title)
    return sc


def score_field(ax, points, field, scale: float, color="C0", title=None, **kwargs):
    """Arrows of a vector field (a score) at ``points``, drawn to a fixed, caller-given scale.

    ``ax.quiver`` picks its own arrow scale at every call, so two fields drawn by two calls
    cannot be compared by eye. Here an arrow of length ``scale`` (in field units) spans one
    unit of the axes, so every field drawn with the same ``scale`` shares one ruler.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    points : array_like, shape (n, 2)
    field : array_like, shape (n, 2)
    scale : float
        Field magnitude drawn as an arrow one axis unit long, in [1e-100, 1e100].
    color, title
        Arrow colour and panel title.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.quiver`.

    Returns
    -------
    matplotlib.quiver.Quiver
    """
    check_axes(ax)
    pts = as_points(points, "points")
    vec = as_points(field, "field")
    if len(vec) != len(pts):
        raise ValueError(f"field must have one vector per point ({len(pts)}), got {len(vec)}")
    scale = check_positive(scale, "scale")
    q = ax.quiver(pts[:, 0], pts[:, 1], vec[:, 0], vec[:, 1], color=color, angles="xy", scale_units="xy",
                  scale=float(scale), **kwargs)
    label_axes(ax, title=title)
    ax.set_aspect("equal")
    return q


def shared_colorbar(fig, mappable, axes, label: str = "density"):
    """One colour bar for several panels drawn on the same colour scale.

    ``fig`` is a matplotlib Figure, ``mappable`` what was drawn (an image, say) and
    ``axes`` a non-empty list or array of the panels' Axes.
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.figure import Figure

    check_instance(fig, "fig", Figure, "a matplotlib Figure")
    check_instance(mappable, "mappable", ScalarMappable, "what was drawn (an image or a collection)")
    if isinstance(axes, (str, bytes, dict)) or not hasattr(axes, "__len__"):
        raise TypeError(f"axes must be a list or array of Axes, got {type(axes).__name__}")
    if len(np.ravel(axes)) == 0:
        raise ValueError("axes must hold at least one Axes")
    for a in np.ravel(axes):
        check_axes(a, "axes")
    cb = fig.colorbar(mappable, ax=np.ravel(axes).tolist(), shrink=0.85)
    cb.set_label(label)
    return cb


def _freeze_layout(fig) -> None:
    """Run the figure's constrained layout once, on the first frame, then keep the axes where it
    put them (the layout engine becomes ``"none"``). Every frame has the same decorations (a
    one-line title, the same ticks), so the layout would come out the same for each one, up to
    a fraction of a pixel; without an engine, no draw of a frame measures every tick label and
    title again: saving a 51-frame scatter animation (``to_jshtml``) took 2.8 s instead of 5.7
    (best of three interleaved runs)."""
    fig.get_layout_engine().execute(fig)
    fig.set_layout_engine("none")


def animate_scatter(frames, titles=None, lims=None, interval: int = 200, size: float = 4.0, s: float = 3.0):
    """Animate a sequence of 2-D point clouds (e.g. samples through a sampler).

    Parameters
    ----------
    frames : sequence of array_like, each shape (n, 2)
        The point cloud at each frame; ``n`` may vary between frames.
    titles : sequence of str, optional
        One title per frame.
    lims : tuple of tuple, optional
        Fixed ``((xmin, xmax), (ymin, ymax))``; by default the range of all frames.
    interval : int, default 200
        Milliseconds between frames, in [1, 10**7].
    size : float, default 4.0
        Figure side in inches, in (0, 100].
    s : float, default 3.0
        Marker size, in (0, 100].

    Returns
    -------
    matplotlib.animation.FuncAnimation
        Sphinx-Gallery embeds it when ``matplotlib_animations`` is enabled.
    """
    frames = [as_points(f, f"frames[{i}]") for i, f in enumerate(_check_sequence(frames, "frames"))]
    if not frames:
        raise ValueError("frames must contain at least one point cloud")
    _check_titles(titles, len(frames))
    lims = _check_lims(lims)
    interval, size = _check_interval(interval), _check_size(size)
    s = check_positive(s, "s", low=0, high=MAX_INCHES)
    if lims is None:
        allp = np.concatenate(frames)
        lo, hi = allp.min(axis=0), allp.max(axis=0)
        pad = 0.05 * (hi - lo)
        lims = ((lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1]))
    fig, ax = plt.subplots(figsize=(size, size), layout="constrained")
    sc = scatter_samples(ax, frames[0], lims=lims, s=s)

    def update(i):
        sc.set_offsets(frames[i])
        if titles is not None:
            ax.set_title(titles[i])
        return (sc,)

    update(0)
    _freeze_layout(fig)
    return animation.FuncAnimation(fig, update, frames=len(frames), interval=interval, blit=False)


def animate_images(grid: Grid2D, images, titles=None, vmin=None, vmax=None, interval: int = 250,
                   size: float = 4.0, cmap: str = "viridis", label: str = "density"):
    """Animate a sequence of images on one grid and one colour scale.

    Parameters
    ----------
    grid : Grid2D
    images : sequence of array_like, each shape (ny, nx) or (ny * nx,)
    titles : sequence of str, optional
        One title per frame.
    vmin, vmax : float, optional
        Colour scale shared by every frame; by default the range of all frames.
    interval : int, default 250
        Milliseconds between frames, in [1, 10**7].
    size : float, default 4.0
        Figure height in inches, in (0, 100].
    cmap : str, default "viridis"
    label : str, default "density"
        Colour-bar label.

    Returns
    -------
    matplotlib.animation.FuncAnimation
    """
    check_instance(grid, "grid", Grid2D, "a Grid2D")
    imgs = [grid.reshape(as_array(im, f"images[{i}]", finite=False, max_abs=None))
            for i, im in enumerate(_check_sequence(images, "images", "a list of images"))]
    if not imgs:
        raise ValueError("images must contain at least one image")
    _check_titles(titles, len(imgs))
    vmin, vmax = _check_clim(vmin, "vmin"), _check_clim(vmax, "vmax")
    interval, size = _check_interval(interval), _check_size(size)
    vmin = min(float(np.min(i)) for i in imgs) if vmin is None else vmin
    vmax = max(float(np.max(i)) for i in imgs) if vmax is None else vmax
    fig, ax = plt.subplots(figsize=(size * 1.2, size), layout="constrained")
    im = density_image(ax, grid, imgs[0], vmin=vmin, vmax=vmax, cmap=cmap)
    fig.colorbar(im, ax=ax, label=label)

    def update(i):
        im.set_data(imgs[i])
        if titles is not None:
            ax.set_title(titles[i])
        return (im,)

    update(0)
    _freeze_layout(fig)
    return animation.FuncAnimation(fig, update, frames=len(imgs), interval=interval, blit=False)


def draw_graph(ax, nodes: dict, edges, node_width: float = 1.5, node_height: float = 0.6, fontsize: int = 11):
    """Draw a small computational graph: labelled boxes joined by arrows.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    nodes : dict
        ``name -> (x, y, label)`` or ``name -> (x, y, label, kind)`` with
        ``kind`` one of ``"io"`` (inputs and outputs, rounded), ``"op"``
        (operations, circles) or ``"net"`` (neural networks, shaded boxes).
    edges : iterable of tuple
        ``(source, target)`` or ``(source, target, label)``.
    node_width, node_height : float
        Size of a box, in data units, in [1e-6, 1e6].
    fontsize : int, default 11
        In (0, 1000].

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    check_axes(ax)
    if not isinstance(nodes, dict):
        raise TypeError(f"nodes must be a dict name -> (x, y, label[, kind]), got {type(nodes).__name__}")
    if not nodes:
        raise ValueError("nodes must hold at least one node")
    if isinstance(edges, (str, bytes)) or not hasattr(edges, "__iter__"):
        raise TypeError(f"edges must be an iterable of (source, target[, label]) tuples, got {type(edges).__name__}")
    edges = list(edges)
    node_width = check_positive(node_width, "node_width", 1e-6, 1e6)
    node_height = check_positive(node_height, "node_height", 1e-6, 1e6)
    fontsize = check_positive(fontsize, "fontsize", low=0, high=1000)

    styles = {
        "io": {"boxstyle": "round,pad=0.02,rounding_size=0.25", "fc": "#dbe9f6", "ec": "#2f5d8a"},
        "op": {"boxstyle": "circle,pad=0.05", "fc": "#fff3d6", "ec": "#a06a00"},
        "net": {"boxstyle": "square,pad=0.02", "fc": "#e4f2e1", "ec": "#2e7d32"},
    }
    patches = {}
    for name, spec in nodes.items():
        if isinstance(spec, (str, bytes)) or not hasattr(spec, "__len__") or len(spec) not in (3, 4):
            raise ValueError(f"nodes: node {name!r} must be (x, y, label) or (x, y, label, kind)")
        x, y, label = check_real(spec[0], "nodes", -1e6, 1e6), check_real(spec[1], "nodes", -1e6, 1e6), spec[2]
        kind = spec[3] if len(spec) == 4 else "io"
        if kind not in styles:
            raise ValueError(f"nodes: node {name!r} has unknown kind {kind!r}; expected one of {sorted(styles)}")
        w, h = (node_height, node_height) if kind == "op" else (node_width, node_height)
        patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, lw=1.5, mutation_aspect=1, **styles[kind])
        ax.add_patch(patch)
        ax.text(x, y, label, ha="center", va="center", fontsize=fontsize)
        patches[name] = patch
    for edge in edges:
        if isinstance(edge, (str, bytes)) or not isinstance(edge, (tuple, list)) or len(edge) not in (2, 3):
            raise ValueError(f"edges: each edge must be (source, target) or (source, target, label), got {edge!r}")
        src, dst = edge[0], edge[1]
        if src not in patches or dst not in patches:
            raise ValueError(f"edges: edge {edge!r} names an unknown node")
        arrow = FancyArrowPatch(
            posA=nodes[src][:2], posB=nodes[dst][:2], patchA=patches[src], patchB=patches[dst],
            arrowstyle="-|>", mutation_scale=14, lw=1.3, color="0.25", shrinkA=2, shrinkB=2,
        )
        ax.add_patch(arrow)
        if len(edge) == 3:
            (x0, y0), (x1, y1) = nodes[src][:2], nodes[dst][:2]
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.12, edge[2], ha="center", va="bottom", fontsize=fontsize - 2,
                    color="0.3")
    xs = [float(v[0]) for v in nodes.values()]
    ys = [float(v[1]) for v in nodes.values()]
    ax.set_xlim(min(xs) - node_width, max(xs) + node_width)
    ax.set_ylim(min(ys) - node_height * 1.5, max(ys) + node_height * 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def tile_images(images, ncols: int = 10, pad: int = 1) -> np.ndarray:
    """Tile images of shape (n, 28, 28) or (n, 1, 28, 28) into one mosaic (gaps are NaN).

    ``images`` are real numbers (a NumPy array or torch tensor; NaN pixels stay NaN),
    at most 10**8 pixels in all; ``ncols >= 1``; ``pad`` an integer in [0, 1000] pixels.

    Returns
    -------
    numpy.ndarray, shape (rows * (h + pad) - pad, ncols * (w + pad) - pad)
    """
    a = as_array(images, "images", finite=False, max_abs=None)
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 3 or len(a) == 0:
        raise ValueError(f"images must have shape (n, h, w) or (n, 1, h, w) with n >= 1, got {a.shape}")
    ncols = min(check_positive_int(ncols, "ncols"), len(a))
    pad = check_int(pad, "pad", 0, 1000)
    n, h, w = a.shape
    if -(-n // ncols) * (h + pad) * ncols * (w + pad) > 10**8:
        raise ValueError(f"the mosaic of images {a.shape} with pad={pad} would exceed 10**8 pixels")
    n, h, w = a.shape
    rows = -(-n // ncols)
    out = np.full((rows * (h + pad) - pad, ncols * (w + pad) - pad), np.nan)
    for i, im in enumerate(a):
        r, c = divmod(i, ncols)
        out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = im
    return out


def grid_height(n_images: int, ncols: int = 10, width: float = 8.0, title: bool = True) -> float:
    """Height in inches of an axes that shows ``n_images`` in ``ncols`` columns at ``width`` inches.

    Use it to size figures of :func:`image_grid` mosaics without empty margins. ``width``
    is in (0, 100] inches.
    """
    n = check_positive_int(n_images, "n_images")
    ncols = min(check_positive_int(ncols, "ncols"), n)
    width = _check_size(width, "width")
    rows = -(-n // ncols)
    return width * rows / ncols + (0.35 if title else 0.05)


def image_grid(ax, images, ncols: int = 10, title=None, labels=None, vmin: float = 0.0, vmax: float = 1.0,
               cmap: str = "gray"):
    """Show images as a mosaic on one grey scale (pixels outside [vmin, vmax] are clipped for display).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    images : array_like or torch.Tensor, shape (n, 28, 28) or (n, 1, 28, 28)
    ncols : int, default 10
    title : str, optional
    labels : sequence of str, optional
        A short label drawn in the corner of every image (e.g. the judge's verdict), at most one
        per image.
    vmin, vmax : float
        Finite, ``vmin < vmax``.
    cmap : str, default "gray"

    Returns
    -------
    matplotlib.image.AxesImage
    """
    check_axes(ax)
    vmin, vmax = check_limits((vmin, vmax), "vmin and vmax")
    mosaic = tile_images(images, ncols)
    n_images = len(images)
    if labels is not None:
        _check_sequence(labels, "labels", "a list of str (one per image)")
        if len(labels) > n_images:
            raise ValueError(f"labels must have at most one entry per image ({n_images}), got {len(labels)}")
    cm = plt.get_cmap(cmap).with_extremes(bad="white")
    im = ax.imshow(np.clip(mosaic, vmin, vmax), cmap=cm, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    if labels is not None:
        h, w = np.shape(images)[-2], np.shape(images)[-1]
        ncols = min(ncols, len(images))
        for i, lab in enumerate(labels):
            r, c = divmod(i, ncols)
            ax.text(c * (w + 1) + 1, r * (h + 1) + 1, str(lab), color="C1", fontsize=7, va="top", ha="left")
    return im


def animate_image_grids(frames, ncols: int = 10, titles=None, interval: int = 300, size: float = 5.0,
                        vmin: float = 0.0, vmax: float = 1.0):
    """Animate a sequence of image mosaics (e.g. chains of digits over sampler steps).

    Parameters
    ----------
    frames : sequence of array_like, each shape (n, 28, 28) or (n, 1, 28, 28)
    ncols : int, default 10
    titles : sequence of str, optional
        One per frame.
    interval : int, default 300
        Milliseconds between frames, in [1, 10**7].
    size : float, default 5.0
        Figure height in inches, in (0, 100].
    vmin, vmax : float
        Finite, ``vmin < vmax``.

    Returns
    -------
    matplotlib.animation.FuncAnimation
    """
    from matplotlib.animation import FuncAnimation

    mosaics = [tile_images(f, ncols) for f in _check_sequence(frames, "frames", "a list of image batches")]
    if not mosaics:
        raise ValueError("frames must contain at least one frame")
    _check_titles(titles, len(mosaics))
    interval, size = _check_interval(interval), _check_size(size)
    vmin, vmax = check_limits((vmin, vmax), "vmin and vmax")
    hgt, wid = mosaics[0].shape
    fig, ax = plt.subplots(figsize=(size * wid / hgt, size), layout="constrained")
    im = image_grid(ax, frames[0], ncols, vmin=vmin, vmax=vmax)

    def update(i):
        im.set_data(np.clip(mosaics[i], vmin, vmax))
        if titles is not None:
            ax.set_title(titles[i])
        return (im,)

    update(0)
    _freeze_layout(fig)
    return FuncAnimation(fig, update, frames=len(mosaics), interval=interval, blit=False)


# --------------------------------------------------------------------------- flows
def plot_flow_fits(fits, labels, grid, num_samples: int = 1000, seed: int = 0, exact=None):
    """Compare trained flows: density, samples after every layer, and training data.

    One row per fit: the learned density on ``grid`` (on the colour scale of the
    exact density when given, else of the first fit), then ``sample_x_each_step``
    with ``num_samples`` points, then the training data. The sample panels share
    their axes across the whole figure: a square covering the grid's extent and the
    central 99.6% of all samples.

    Parameters
    ----------
    fits : sequence of probmods.flows.FlowFit
    labels : sequence of str
        One label per fit (row titles).
    grid : probmods.grids.Grid2D
        Where densities are evaluated; also the axis limits of every panel.
    num_samples : int, default 1000
        In [1, 10**6].
    seed : int, default 0
        Torch seed for the samples (an int-like seed in [0, 2**63)).
    exact : array_like, optional
        The exact density on ``grid``, drawn in an extra first column.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import torch

    from .flows import FlowFit, _check_grid, log_density_on_grid

    check_container(fits, "fits", (list, tuple), nonempty=False, what="list of FlowFit")
    if len(fits) == 0:
        raise ValueError("fits must hold at least one FlowFit")
    for f in fits:
        if not isinstance(f, FlowFit):
            raise TypeError(f"fits must hold FlowFit objects, got a {type(f).__name__}")
    check_container(labels, "labels", (list, tuple), nonempty=False, what="list of str")
    if len(fits) != len(labels):
        raise ValueError(f"labels must have one entry per fit ({len(fits)}), got {len(labels)}")
    _check_grid(grid)
    num_samples = check_positive_int(num_samples, "num_samples", 10**6)
    seed = check_seed(seed)
    if exact is not None:
        exact = as_array(exact, "exact")
        if exact.size != grid.nx * grid.ny:
            raise ValueError(f"exact must have {grid.nx * grid.ny} entries (one per grid point), got shape "
                             f"{exact.shape}")
    dens = [np.exp(log_density_on_grid(f.model, grid)) for f in fits]
    vmax = float(np.max(exact)) if exact is not None else float(np.quantile(dens[0], 0.999))
    k_max = max(f.model.num_layers for f in fits)
    extra = 1 if exact is not None else 0
    all_steps = []
    for f in fits:
        torch.manual_seed(seed)
        with torch.no_grad():
            all_steps.append([s.numpy() for s in f.model.sample_x_each_step(num_samples)])
    pts = np.concatenate([np.concatenate(st) for st in all_steps])
    lo = np.minimum(np.quantile(pts, 0.002, axis=0), [grid.xlim[0], grid.ylim[0]])
    hi = np.maximum(np.quantile(pts, 0.998, axis=0), [grid.xlim[1], grid.ylim[1]])
    centre, half = (lo + hi) / 2, float(np.max(hi - lo)) / 2  # square panels
    lims = ((centre[0] - half, centre[0] + half), (centre[1] - half, centre[1] + half))
    fig, axes = panels(len(fits), k_max + 3 + extra, size=2.2)
    for row, (f, label, d, steps) in enumerate(zip(fits, labels, dens, all_steps, strict=True)):
        ax_row = axes[row]
        if exact is not None:
            density_image(ax_row[0], grid, exact, vmin=0, vmax=vmax, title="exact density")
        density_image(ax_row[extra], grid, d, vmin=0, vmax=vmax, title=f"{label}\nflow density")
        for k in range(k_max + 1):
            ax = ax_row[extra + 1 + k]
            if k < len(steps):
                scatter_samples(ax, steps[k], lims=lims, s=1.5, title="prior $z$" if k == 0 else f"layer {k}")
            else:
                ax.axis("off")
        scatter_samples(ax_row[-1], f.data[:num_samples], lims=lims, s=1.5, color="C3",
                        title=f"data (N = {len(f.data)})")
    for ax in axes.ravel():
        ax.locator_params(nbins=4)
    return fig


def plot_flow_losses(fits, label: str = "model", relative: bool = False, ylim=None):
    """Training (solid) and validation (dashed) loss curves of several fits, with the entropy floor.

    Parameters
    ----------
    fits : dict
        ``value ->`` :class:`probmods.flows.FlowFit`; curves are labelled ``f"{label} = {value}"``.
    label : str, default "model"
    relative : bool, default False
        Plot ``NLL - H(p)`` (each fit's own entropy), so fits of targets with
        different entropies share one axis; the floor is then 0.
    ylim : tuple, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .flows import FlowFit

    if not isinstance(fits, dict) or len(fits) == 0:
        raise ValueError("fits must be a non-empty dict of value -> FlowFit")
    for f in fits.values():
        if not isinstance(f, FlowFit):
            raise TypeError(f"fits must map values to FlowFit objects, got a {type(f).__name__}")
    if ylim is not None:
        ylim = check_limits(ylim, "ylim")
    fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
    for key, f in fits.items():
        shift = f.entropy if relative else 0.0
        ax.plot(np.asarray(f.train_losses) - shift, lw=1.2, label=f"{label} = {key}, train")
        ax.plot(np.asarray(f.valid_losses) - shift, lw=1.2, ls="--", color=ax.lines[-1].get_color(),
                label=f"{label} = {key}, validation")
    floor = 0.0 if relative else next(iter(fits.values())).entropy
    ax.axhline(floor, color="k", lw=0.8, ls=":", label="entropy floor")
    ax.set(xlabel="epoch", ylabel="NLL - H(p) (nats)" if relative else "NLL (nats)")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend(fontsize=8)
    return fig

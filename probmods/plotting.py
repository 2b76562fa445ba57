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

from ._checks import as_points, check_positive_int
from .grids import Grid2D

__all__ = [
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


def panels(nrows: int = 1, ncols: int = 1, size: float = 3.2, sharex=True, sharey=True, **kwargs):
    """A figure with a grid of square panels that share their axes.

    Parameters
    ----------
    nrows, ncols : int
        Grid of panels.
    size : float, default 3.2
        Side of one panel in inches.
    sharex, sharey : bool or str, default True
        Passed to :func:`matplotlib.pyplot.subplots`.
    **kwargs
        Passed to :func:`matplotlib.pyplot.subplots`.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : numpy.ndarray of Axes, shape (nrows, ncols)
    """
    nrows = check_positive_int(nrows, "nrows")
    ncols = check_positive_int(ncols, "ncols")
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
        Colour scale; pass the same values to panels that are compared.
    cmap : str, default "viridis"
    title : str, optional

    Returns
    -------
    matplotlib.image.AxesImage
    """
    if not isinstance(grid, Grid2D):
        raise TypeError(f"grid must be a Grid2D, got {type(grid).__name__}")
    img = grid.reshape(np.asarray(values, dtype=float))
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
        Marker size, opacity and colour.
    title : str, optional
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.scatter`.

    Returns
    -------
    matplotlib.collections.PathCollection
    """
    x = as_points(samples, "samples")
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
        Field magnitude drawn as an arrow one axis unit long, > 0.
    color, title
        Arrow colour and panel title.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.quiver`.

    Returns
    -------
    matplotlib.quiver.Quiver
    """
    pts = as_points(points, "points")
    vec = as_points(field, "field")
    if len(vec) != len(pts):
        raise ValueError(f"field must have one vector per point ({len(pts)}), got {len(vec)}")
    if not (isinstance(scale, (int, float, np.integer, np.floating)) and np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    q = ax.quiver(pts[:, 0], pts[:, 1], vec[:, 0], vec[:, 1], color=color, angles="xy", scale_units="xy",
                  scale=float(scale), **kwargs)
    label_axes(ax, title=title)
    ax.set_aspect("equal")
    return q


def shared_colorbar(fig, mappable, axes, label: str = "density"):
    """One colour bar for several panels drawn on the same colour scale."""
    cb = fig.colorbar(mappable, ax=np.ravel(axes).tolist(), shrink=0.85)
    cb.set_label(label)
    return cb


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
        Milliseconds between frames.
    size : float, default 4.0
        Figure side in inches.
    s : float, default 3.0
        Marker size.

    Returns
    -------
    matplotlib.animation.FuncAnimation
        Sphinx-Gallery embeds it when ``matplotlib_animations`` is enabled.
    """
    frames = [as_points(f, f"frames[{i}]") for i, f in enumerate(frames)]
    if not frames:
        raise ValueError("frames must contain at least one point cloud")
    if titles is not None and len(titles) != len(frames):
        raise ValueError(f"titles must have one entry per frame ({len(frames)}), got {len(titles)}")
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
        Milliseconds between frames.
    size : float, default 4.0
        Figure height in inches.
    cmap : str, default "viridis"
    label : str, default "density"
        Colour-bar label.

    Returns
    -------
    matplotlib.animation.FuncAnimation
    """
    imgs = [grid.reshape(np.asarray(im, dtype=float)) for im in images]
    if not imgs:
        raise ValueError("images must contain at least one image")
    if titles is not None and len(titles) != len(imgs):
        raise ValueError(f"titles must have one entry per frame ({len(imgs)}), got {len(titles)}")
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
        Size of a box, in data units.
    fontsize : int, default 11

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    styles = {
        "io": {"boxstyle": "round,pad=0.02,rounding_size=0.25", "fc": "#dbe9f6", "ec": "#2f5d8a"},
        "op": {"boxstyle": "circle,pad=0.05", "fc": "#fff3d6", "ec": "#a06a00"},
        "net": {"boxstyle": "square,pad=0.02", "fc": "#e4f2e1", "ec": "#2e7d32"},
    }
    patches = {}
    for name, spec in nodes.items():
        if len(spec) not in (3, 4):
            raise ValueError(f"node {name!r} must be (x, y, label) or (x, y, label, kind)")
        x, y, label = spec[:3]
        kind = spec[3] if len(spec) == 4 else "io"
        if kind not in styles:
            raise ValueError(f"node {name!r} has unknown kind {kind!r}; expected one of {sorted(styles)}")
        w, h = (node_height, node_height) if kind == "op" else (node_width, node_height)
        patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, lw=1.5, mutation_aspect=1, **styles[kind])
        ax.add_patch(patch)
        ax.text(x, y, label, ha="center", va="center", fontsize=fontsize)
        patches[name] = patch
    for edge in edges:
        src, dst = edge[0], edge[1]
        if src not in patches or dst not in patches:
            raise ValueError(f"edge {edge!r} names an unknown node")
        arrow = FancyArrowPatch(
            posA=nodes[src][:2], posB=nodes[dst][:2], patchA=patches[src], patchB=patches[dst],
            arrowstyle="-|>", mutation_scale=14, lw=1.3, color="0.25", shrinkA=2, shrinkB=2,
        )
        ax.add_patch(arrow)
        if len(edge) == 3:
            (x0, y0), (x1, y1) = nodes[src][:2], nodes[dst][:2]
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.12, edge[2], ha="center", va="bottom", fontsize=fontsize - 2,
                    color="0.3")
    xs = [v[0] for v in nodes.values()]
    ys = [v[1] for v in nodes.values()]
    ax.set_xlim(min(xs) - node_width, max(xs) + node_width)
    ax.set_ylim(min(ys) - node_height * 1.5, max(ys) + node_height * 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def tile_images(images, ncols: int = 10, pad: int = 1) -> np.ndarray:
    """Tile images of shape (n, 28, 28) or (n, 1, 28, 28) into one mosaic (gaps are NaN).

    Returns
    -------
    numpy.ndarray, shape (rows * (h + pad) - pad, ncols * (w + pad) - pad)
    """
    a = images.detach().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    a = np.asarray(a, dtype=float)
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 3 or len(a) == 0:
        raise ValueError(f"images must have shape (n, h, w) or (n, 1, h, w) with n >= 1, got {a.shape}")
    ncols = min(check_positive_int(ncols, "ncols"), len(a))
    n, h, w = a.shape
    rows = -(-n // ncols)
    out = np.full((rows * (h + pad) - pad, ncols * (w + pad) - pad), np.nan)
    for i, im in enumerate(a):
        r, c = divmod(i, ncols)
        out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = im
    return out


def grid_height(n_images: int, ncols: int = 10, width: float = 8.0, title: bool = True) -> float:
    """Height in inches of an axes that shows ``n_images`` in ``ncols`` columns at ``width`` inches.

    Use it to size figures of :func:`image_grid` mosaics without empty margins.
    """
    n = check_positive_int(n_images, "n_images")
    ncols = min(check_positive_int(ncols, "ncols"), n)
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
        A short label drawn in the corner of every image (e.g. the judge's verdict).
    vmin, vmax : float
    cmap : str, default "gray"

    Returns
    -------
    matplotlib.image.AxesImage
    """
    mosaic = tile_images(images, ncols)
    cm = plt.get_cmap(cmap).with_extremes(bad="white")
    im = ax.imshow(np.clip(mosaic, vmin, vmax), cmap=cm, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    if labels is not None:
        h, w = images.shape[-2], images.shape[-1]
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
        Milliseconds between frames.
    size : float, default 5.0
        Figure height in inches.
    vmin, vmax : float

    Returns
    -------
    matplotlib.animation.FuncAnimation
    """
    from matplotlib.animation import FuncAnimation

    mosaics = [tile_images(f, ncols) for f in frames]
    if not mosaics:
        raise ValueError("frames must contain at least one frame")
    if titles is not None and len(titles) != len(mosaics):
        raise ValueError(f"titles must have one entry per frame ({len(mosaics)}), got {len(titles)}")
    hgt, wid = mosaics[0].shape
    fig, ax = plt.subplots(figsize=(size * wid / hgt, size), layout="constrained")
    im = image_grid(ax, frames[0], ncols, vmin=vmin, vmax=vmax)

    def update(i):
        im.set_data(np.clip(mosaics[i], vmin, vmax))
        if titles is not None:
            ax.set_title(titles[i])
        return (im,)

    update(0)
    return FuncAnimation(fig, update, frames=len(mosaics), interval=interval, blit=False)

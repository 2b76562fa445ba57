"""Regular 2-D grids on which densities are evaluated, plotted and integrated.

Every chapter draws a density as an image and checks that it integrates to one;
:class:`Grid2D` keeps the axes, the flattened points and the cell area together
so that this is a one-liner.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._checks import MAX_ABS, as_array, check_limits, check_positive, check_positive_int

__all__ = ["Grid2D"]


#: Most cells along one axis, and in all (the points array of a full grid is 16 bytes per cell).
MAX_CELLS_PER_AXIS, MAX_CELLS = 100_000, 10**8


def _check_limits(lim, name):
    return check_limits(lim, name)


@dataclass(frozen=True)
class Grid2D:
    """A regular ``ny x nx`` grid of cell centres over a rectangle.

    The grid uses cell *centres*: the rectangle ``xlim x ylim`` is cut into
    ``nx x ny`` equal cells and each cell is represented by its midpoint, so the
    midpoint rule ``sum(f) * cell_area`` integrates a density over the rectangle.

    Parameters
    ----------
    xlim, ylim : tuple of float
        ``(low, high)`` of each axis.
    nx, ny : int, default 200
        Number of cells along each axis.

    Limits: ``xlim`` and ``ylim`` finite, within 1e100, low < high; ``nx`` and ``ny``
    in [1, 100000] with ``nx * ny <= 10**8`` (the points of a full grid take 16 bytes
    per cell).

    Attributes
    ----------
    xs : numpy.ndarray, shape (nx,)
        Cell centres along x.
    ys : numpy.ndarray, shape (ny,)
        Cell centres along y.

    Notes
    -----
    The properties :attr:`points` (all cell centres, row-major, matching
    ``values.reshape(ny, nx)`` and :func:`matplotlib.pyplot.imshow`) and
    :attr:`cell_area` complete the picture.

    Examples
    --------
    >>> g = Grid2D((-1, 1), (-1, 1), nx=4, ny=2)
    >>> g.points.shape
    (8, 2)
    >>> float(g.integrate(np.ones(8)))
    4.0
    """

    xlim: tuple
    ylim: tuple
    nx: int = 200
    ny: int = 200
    xs: np.ndarray = field(init=False, repr=False)
    ys: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        xlim = _check_limits(self.xlim, "xlim")
        ylim = _check_limits(self.ylim, "ylim")
        nx = check_positive_int(self.nx, "nx", MAX_CELLS_PER_AXIS)
        ny = check_positive_int(self.ny, "ny", MAX_CELLS_PER_AXIS)
        if nx * ny > MAX_CELLS:
            raise ValueError(f"nx * ny must be <= {MAX_CELLS}, got {nx} * {ny}")
        object.__setattr__(self, "xlim", xlim)
        object.__setattr__(self, "ylim", ylim)
        dx = (xlim[1] - xlim[0]) / nx
        dy = (ylim[1] - ylim[0]) / ny
        object.__setattr__(self, "xs", xlim[0] + dx * (np.arange(nx) + 0.5))
        object.__setattr__(self, "ys", ylim[0] + dy * (np.arange(ny) + 0.5))

    @classmethod
    def square(cls, half_width: float, n: int = 200) -> Grid2D:
        """Grid over ``[-half_width, half_width]^2`` with ``n x n`` cells.

        ``half_width`` is a number in (0, 1e100]; ``n`` an integer in [1, 10000].
        """
        h = check_positive(half_width, "half_width", low=0, high=MAX_ABS)
        n = check_positive_int(n, "n", 10_000)
        return cls((-h, h), (-h, h), n, n)

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``, the shape of an image of values on the grid."""
        return (self.ny, self.nx)

    @property
    def dx(self) -> float:
        """Cell width along x."""
        return (self.xlim[1] - self.xlim[0]) / self.nx

    @property
    def dy(self) -> float:
        """Cell height along y."""
        return (self.ylim[1] - self.ylim[0]) / self.ny

    @property
    def cell_area(self) -> float:
        """Area of one cell, ``dx * dy``."""
        return self.dx * self.dy

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(xmin, xmax, ymin, ymax)`` for :func:`matplotlib.pyplot.imshow`."""
        return (*self.xlim, *self.ylim)

    @property
    def mesh(self) -> tuple[np.ndarray, np.ndarray]:
        """``(X, Y)`` from :func:`numpy.meshgrid`, each of shape ``(ny, nx)``."""
        return np.meshgrid(self.xs, self.ys)

    @property
    def points(self) -> np.ndarray:
        """All cell centres, shape ``(ny * nx, 2)``, row-major."""
        X, Y = self.mesh
        return np.column_stack([X.ravel(), Y.ravel()])

    def reshape(self, values) -> np.ndarray:
        """Reshape values at :attr:`points` to an image of shape ``(ny, nx)``.

        ``values`` are real numbers (NumPy array, list or torch tensor; NaN and infinity
        pass through), ``nx * ny`` of them in any shape; complex values are refused.
        """
        values = as_array(values, "values", finite=False, max_abs=None)
        if values.size != self.nx * self.ny:
            raise ValueError(
                f"values must have {self.nx * self.ny} entries (one per grid point), "
                f"got shape {values.shape}"
            )
        return values.reshape(self.ny, self.nx)

    def integrate(self, values) -> float:
        """Midpoint-rule integral of values at the grid points over the rectangle."""
        return float(np.sum(self.reshape(values)) * self.cell_area)

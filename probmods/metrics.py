r"""Distances between samples, for judging samplers against exact samples."""

from __future__ import annotations

from scipy.spatial.distance import cdist

from ._checks import as_points

__all__ = ["energy_distance"]


_BLOCK = 1024  # rows and columns per block: at most 8 MB of distances at a time


def _mean_pairwise(a, b, same=False):
    """Mean Euclidean distance over all pairs (excluding i = j when ``same``), in bounded blocks."""
    total = 0.0
    for i in range(0, len(a), _BLOCK):
        for j in range(0, len(b), _BLOCK):
            total += cdist(a[i : i + _BLOCK], b[j : j + _BLOCK]).sum()
    n = len(a) * len(b) - (len(a) if same else 0)
    return total / n


def energy_distance(x, y) -> float:
    r"""The energy distance between two samples.

    .. math::

        D^2(P, Q) = 2\,\mathbb E\lVert X - Y\rVert - \mathbb E\lVert X - X'\rVert
        - \mathbb E\lVert Y - Y'\rVert \ge 0,

    zero exactly when :math:`P = Q`. Estimated with the unbiased U-statistics for the
    within-sample terms. It is a metric on distributions sensitive to both location
    and spread, so it scores a sampler's output against exact samples with one number.

    Parameters
    ----------
    x : array_like, shape (n, d)
        Finite, coordinates within 1e100 (pairwise distances stay finite), n >= 2.
    y : array_like, shape (m, d)
        The same, m >= 2.

    Returns
    -------
    float
        :math:`D^2` (can be slightly negative by sampling noise when P = Q).

    Examples
    --------
    >>> import numpy as np
    >>> from probmods.metrics import energy_distance
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(500, 2)), rng.normal(size=(500, 2))
    >>> abs(energy_distance(x, y)) < 0.02  # same distribution
    True
    >>> energy_distance(x, y + 1.0) > 0.5  # shifted by one unit
    True
    """
    x = as_points(x, "x", dim=None)
    y = as_points(y, "y", dim=None)
    if y.shape[1] != x.shape[1]:
        raise ValueError(f"y must have shape (n, {x.shape[1]}) (the dimension of x), got shape {y.shape}")
    if len(x) < 2 or len(y) < 2:
        raise ValueError("x and y must contain at least two points each")
    return float(2 * _mean_pairwise(x, y) - _mean_pairwise(x, x, same=True) - _mean_pairwise(y, y, same=True))

r"""Distances between samples, for judging samplers against exact samples."""

from __future__ import annotations

import numpy as np

from ._checks import as_points

__all__ = ["energy_distance"]


def _mean_pairwise(a, b, same=False):
    total = 0.0
    for s in range(0, len(a), 2048):
        blk = a[s : s + 2048]
        d = np.sqrt(np.maximum(((blk[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0.0))
        total += d.sum()
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
    y : array_like, shape (m, d)

    Returns
    -------
    float
        :math:`D^2` (can be slightly negative by sampling noise when P = Q).
    """
    x = as_points(x, "x", dim=None)
    y = as_points(y, "y", dim=x.shape[1])
    if len(x) < 2 or len(y) < 2:
        raise ValueError("x and y must contain at least two points each")
    return float(2 * _mean_pairwise(x, y) - _mean_pairwise(x, x, same=True) - _mean_pairwise(y, y, same=True))

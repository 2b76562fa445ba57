"""KDE of 10,000 samples on a 200x200 grid with H = hI: probmods vs scipy's gaussian_kde.

Both compute the same exact sum over all 10,000 x 40,000 (sample, point) pairs;
probmods uses the separable kernel on the grid (a matrix product), scipy evaluates
the Gaussian at every pair. Both are checked against a float64 brute-force sum.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.stats import gaussian_kde

sys.path.insert(0, str(Path(__file__).parent))
from _timing import best_of  # noqa: E402

from probmods.datasets import kde_density  # noqa: E402
from probmods.grids import Grid2D  # noqa: E402
from probmods.kde import kde_grid  # noqa: E402


class IsotropicGaussianKDE(gaussian_kde):
    """scipy's gaussian_kde with the kernel covariance fixed to h^2 I (H = hI)."""

    def __init__(self, dataset, h):
        self._h = float(h)
        super().__init__(dataset)

    def _compute_covariance(self):
        d = self.d
        self.factor = 1.0
        self.covariance = self._h**2 * np.eye(d)
        self.cho_cov = self._h * np.eye(d)
        self.log_det = 2 * np.log(np.diag(self.cho_cov * np.sqrt(2 * np.pi))).sum()


def brute_force(samples, points, h, chunk=256):
    """float64 reference: exp(-|x_i - p|^2 / 2h^2) / (2 pi h^2 N), summed pair by pair in chunks."""
    out = np.empty(len(points))
    for s in range(0, len(points), chunk):
        p = points[s : s + chunk]
        d2 = (p[:, None, 0] - samples[None, :, 0]) ** 2 + (p[:, None, 1] - samples[None, :, 1]) ** 2
        out[s : s + chunk] = np.exp(-d2 / (2 * h * h)).sum(1)
    return out / (2 * np.pi * h * h * len(samples))


def run():
    N, n, h = 10_000, 200, 0.5
    x = kde_density("GMM-A").sample(N, seed=0)
    g = Grid2D((-3, 5), (-3, 5), n, n)
    pts = g.points

    t_ours, f_ours = best_of(lambda: kde_grid(x, g, h), repeat=7)
    scipy_kde = IsotropicGaussianKDE(x.T, h)
    t_scipy, f_scipy = best_of(lambda: scipy_kde(pts.T), repeat=2, warmup=0)
    ref = brute_force(x, pts, h)

    err_ours = np.max(np.abs(f_ours.ravel() - ref) / ref)
    err_scipy = np.max(np.abs(f_scipy - ref) / ref)
    print(f"probmods kde_grid : {t_ours * 1e3:8.1f} ms  max rel. error vs brute force {err_ours:.1e}")
    print(f"scipy gaussian_kde: {t_scipy * 1e3:8.1f} ms  max rel. error vs brute force {err_scipy:.1e}")
    if err_ours > 1e-10:
        raise SystemExit(f"kde_grid disagrees with the brute-force reference: {err_ours:.2e}")
    if err_scipy > 1e-10:
        raise SystemExit(f"the scipy reference does not do the same work: {err_scipy:.2e}")
    ratio = t_scipy / t_ours
    return (
        f"bench kde-grid: {ratio:.1f}x vs scipy gaussian_kde "
        f"(N={N}, {n}x{n} grid, H={h}I; {t_ours * 1e3:.1f} ms vs {t_scipy * 1e3:.0f} ms; "
        f"max rel. error {err_ours:.1e} vs float64 brute force)"
    )


if __name__ == "__main__":
    print(run())

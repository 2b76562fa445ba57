"""Exact samplers and densities of the course's toy distributions."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate

from probmods.datasets import (
    KDE_DENSITIES,
    TOY_DATASETS,
    GaussianMixture2D,
    Spiral,
    ToyDataset,
    kde_density,
    sample_2d_datasets,
    toy_log_density,
)
from probmods.grids import Grid2D

BOXES = {"GMM-A": (-4, 6), "GMM-B": (-7, 9), "Spiral": (-9, 9)}


@pytest.mark.parametrize("name", ["GMM-A", "GMM-B"])
def test_mixture_densities_integrate_to_one_on_a_grid(name):
    lo, hi = BOXES[name]
    g = Grid2D((lo, hi), (lo, hi), 300, 300)
    assert g.integrate(kde_density(name).pdf(g.points)) == pytest.approx(1.0, abs=1e-6)


def test_spiral_density_integrates_to_one():
    d = Spiral()

    def polar(r, phi):
        return d.pdf(np.array([[r * math.cos(phi), r * math.sin(phi)]]))[0] * r

    value, err = integrate.dblquad(polar, 0, 2 * math.pi, 0, 12, epsabs=1e-9)
    assert value == pytest.approx(1.0, abs=1e-7)
    # on a grid the 1/rho singularity converges at the rate of the cell size
    deficits = []
    for n in (200, 800):
        g = Grid2D((-9, 9), (-9, 9), n, n)
        deficits.append(1 - g.integrate(d.pdf(g.points)))
    assert 0 < deficits[1] < deficits[0] < 0.01
    assert deficits[0] / deficits[1] == pytest.approx(4, rel=0.15)


@pytest.mark.parametrize("name", KDE_DENSITIES)
def test_samples_match_density_moments(name):
    d = kde_density(name)
    x = d.sample(60_000, seed=11)
    lo, hi = BOXES[name]
    g = Grid2D((lo, hi), (lo, hi), 600, 600)
    w = d.pdf(g.points)
    w /= w.sum()
    for stat in (lambda p: p[:, 0], lambda p: p[:, 1], lambda p: (p**2).sum(1), lambda p: p[:, 0] * p[:, 1]):
        s, f = stat(x), stat(g.points)
        assert abs(s.mean() - np.sum(w * f)) < 4.5 * s.std() / math.sqrt(len(x)) + 2e-3


@pytest.mark.parametrize("name", KDE_DENSITIES)
def test_samples_match_density_histogram(name):
    """Chi-square test of the sampler against cell probabilities of the density."""
    from scipy.stats import chi2

    d = kde_density(name)
    x = d.sample(40_000, seed=4)
    lo, hi = BOXES[name]
    edges = np.linspace(lo, hi, 13)
    counts, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=[edges, edges])
    fine = Grid2D((lo, hi), (lo, hi), 480, 480)
    p = fine.reshape(d.pdf(fine.points)).T * fine.cell_area  # [ix, iy]
    probs = p.reshape(12, 40, 12, 40).sum(axis=(1, 3))
    expected = probs / probs.sum() * counts.sum()
    keep = expected > 20
    stat = np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep])
    assert stat < chi2.ppf(0.9999, keep.sum() - 1) * 1.1


def test_mixture_log_pdf_is_stable_far_away():
    d = GaussianMixture2D([[0, 0], [2, 2]], sigma=0.1)
    far = np.array([[50.0, 50.0]])
    assert np.isfinite(d.log_pdf(far)).all()
    assert d.pdf(far)[0] == 0.0


def test_spiral_pdf_is_infinite_only_at_origin():
    d = Spiral()
    assert np.isinf(d.pdf(np.zeros((1, 2))))[0]
    assert np.isfinite(d.pdf(np.array([[1e-6, 0.0]])))[0]


def test_sampling_is_reproducible():
    d = kde_density("Spiral")
    np.testing.assert_array_equal(d.sample(10, seed=3), d.sample(10, seed=3))
    assert not np.array_equal(d.sample(10, seed=3), d.sample(10, seed=4))


@pytest.mark.parametrize("dist_type", TOY_DATASETS)
def test_sample_2d_datasets_matches_handout(dist_type):
    from sklearn.datasets import make_blobs, make_circles, make_moons

    data = sample_2d_datasets(dist_type, num_samples=300, seed=7, num_gaussians=3)
    assert data.shape == (300, 2)
    if dist_type == "Circles":
        ref = make_circles(300, noise=0.1, factor=0.8, random_state=7, shuffle=True)[0]
    elif dist_type == "Moons":
        ref = make_moons(300, noise=0.1, random_state=7, shuffle=True)[0]
    elif dist_type == "GaussiansGrid":
        ref = make_blobs(300, centers=np.array([[0, 0], [0, 2], [2, 0], [2, 2]]), cluster_std=0.5,
                         random_state=7, shuffle=True)[0]
    else:
        ang = np.linspace(0, 2 * np.pi, 3, endpoint=False)
        centers = np.stack([2.5 * np.array([np.cos(a), np.sin(a)]) for a in ang])
        ref = make_blobs(300, centers=centers, cluster_std=np.sqrt(0.1), random_state=7, shuffle=True)[0]
    np.testing.assert_array_equal(data, ref)


def test_toy_dataset_wraps_samples():
    ds = ToyDataset("Moons", num_samples=50, seed=1)
    assert len(ds) == 50
    item = ds[3]
    assert item.dtype == torch.float32 and item.shape == (2,)
    np.testing.assert_allclose(item.numpy(), ds.data[3].astype(np.float32))
    batch = torch.utils.data.DataLoader(ds, batch_size=8)
    assert next(iter(batch)).shape == (8, 2)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: sample_2d_datasets("Swiss"), ValueError, "unknown dist_type 'Swiss'"),
        (lambda: sample_2d_datasets(3), TypeError, "dist_type must be a string"),
        (lambda: sample_2d_datasets("Moons", num_samples=0), ValueError, "num_samples must be >= 1"),
        (lambda: sample_2d_datasets("Moons", num_samples=10.5), TypeError, "num_samples must be an integer"),
        (lambda: sample_2d_datasets("GaussiansRot", num_gaussians=0), ValueError, "num_gaussians must be >= 1"),
        (lambda: sample_2d_datasets("Moons", seed=1.5), TypeError, "seed must be an int"),
        (lambda: kde_density("GMM-C"), ValueError, "unknown name 'GMM-C'"),
        (lambda: kde_density("GMM-A").sample(0), ValueError, "n must be >= 1"),
        (lambda: kde_density("GMM-A").sample(5, seed="x"), TypeError, "seed must be"),
        (lambda: kde_density("GMM-A").pdf(np.zeros((2, 3))), ValueError, r"points must have shape \(n, 2\)"),
        (lambda: kde_density("Spiral").pdf([[np.nan, 0.0]]), ValueError, "points must be finite"),
        (lambda: GaussianMixture2D([[0, 0]], sigma=0), ValueError, "sigma must be a finite number > 0"),
        (lambda: GaussianMixture2D([[0, 0], [1, 1]], 1, weights=[0.5, 0.6]), ValueError, "weights"),
        (lambda: Spiral(radial_std=-1), ValueError, "radial_std"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --- toy_log_density: the exact density of sample_2d_datasets ----------------

# boxes with at least 6 noise standard deviations around every component
TOY_BOXES = {
    "Circles": ((-2, 2), (-2, 2)),
    "Moons": ((-2, 3), (-1.5, 2)),
    "GaussiansGrid": ((-3, 5), (-3, 5)),
    "GaussiansRot": ((-5, 5), (-5, 5)),
}


@pytest.mark.parametrize("dist_type", TOY_DATASETS)
def test_toy_density_integrates_to_one_on_a_grid(dist_type):
    g = Grid2D(*TOY_BOXES[dist_type], 200, 200)
    assert g.integrate(np.exp(toy_log_density(dist_type, g.points))) == pytest.approx(1.0, abs=1e-7)


@pytest.mark.parametrize("num_gaussians", [1, 3, 5])
def test_toy_gaussians_rot_is_the_equal_weight_mixture(num_gaussians):
    angles = 2 * np.pi * np.arange(num_gaussians) / num_gaussians
    mixture = GaussianMixture2D(2.5 * np.column_stack([np.cos(angles), np.sin(angles)]), sigma=math.sqrt(0.1))
    pts = np.random.default_rng(0).uniform(-5, 5, size=(200, 2))
    np.testing.assert_allclose(
        toy_log_density("GaussiansRot", pts, num_gaussians=num_gaussians), mixture.log_pdf(pts), rtol=1e-12
    )


def test_toy_gaussians_grid_is_gmm_a():
    pts = np.random.default_rng(1).uniform(-3, 5, size=(200, 2))
    np.testing.assert_allclose(toy_log_density("GaussiansGrid", pts), kde_density("GMM-A").log_pdf(pts), rtol=1e-12)


def test_toy_circles_equals_the_blurred_ring_formula():
    """N(0, s^2 I) blur of the uniform measure on a circle of radius R: exp(-(r-R)^2/2s^2) I0e(rR/s^2) / 2 pi s^2."""
    from scipy.special import i0e

    s = 0.1
    pts = np.random.default_rng(2).uniform(-1.6, 1.6, size=(300, 2))
    r = np.hypot(pts[:, 0], pts[:, 1])
    rings = [np.exp(-((r - R) ** 2) / (2 * s**2)) * i0e(r * R / s**2) / (2 * np.pi * s**2) for R in (1.0, 0.8)]
    np.testing.assert_allclose(toy_log_density("Circles", pts), np.log((rings[0] + rings[1]) / 2), rtol=1e-11)


def test_toy_moons_equals_adaptive_quadrature():
    s = 0.1

    def density(x):
        def along(t, lower):
            cx, cy = (1 - math.cos(t), 0.5 - math.sin(t)) if lower else (math.cos(t), math.sin(t))
            return math.exp(-((x[0] - cx) ** 2 + (x[1] - cy) ** 2) / (2 * s**2)) / (2 * math.pi * s**2) / math.pi

        return sum(integrate.quad(along, 0, math.pi, args=(lower,), epsabs=0, epsrel=1e-13, limit=200)[0]
                   for lower in (False, True)) / 2

    pts = np.array([[0.3, 0.2], [1.0, -0.4], [0.0, 0.95], [-0.9, 0.1], [2.0, 0.5], [1.5, 1.2]])
    np.testing.assert_allclose(toy_log_density("Moons", pts), np.log([density(p) for p in pts]), rtol=1e-11)


@pytest.mark.parametrize("dist_type", ["Circles", "Moons"])
def test_toy_density_quadrature_has_converged(dist_type):
    pts = np.random.default_rng(3).uniform(-1.5, 2.0, size=(100, 2))
    np.testing.assert_allclose(
        toy_log_density(dist_type, pts, nodes=800), toy_log_density(dist_type, pts), rtol=1e-11, atol=1e-11
    )


@pytest.mark.parametrize(
    ("dist_type", "num_gaussians"),
    [("Circles", 5), ("Moons", 5), ("GaussiansGrid", 5), ("GaussiansRot", 5), ("GaussiansRot", 3)],
)
def test_sample_2d_datasets_match_toy_density_histogram(dist_type, num_gaussians):
    """Chi-square test of the scikit-learn samples against cell probabilities of toy_log_density."""
    from scipy.stats import chi2

    x = sample_2d_datasets(dist_type, 40_000, seed=4, num_gaussians=num_gaussians)
    (x0, x1), (y0, y1) = TOY_BOXES[dist_type]
    xedges, yedges = np.linspace(x0, x1, 13), np.linspace(y0, y1, 13)
    counts, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=[xedges, yedges])
    fine = Grid2D((x0, x1), (y0, y1), 240, 240)
    dens = np.exp(toy_log_density(dist_type, fine.points, num_gaussians=num_gaussians))
    p = fine.reshape(dens).T * fine.cell_area  # [ix, iy]
    probs = p.reshape(12, 20, 12, 20).sum(axis=(1, 3))
    assert probs.sum() == pytest.approx(1.0, abs=1e-6)
    expected = probs * counts.sum()
    keep = expected > 20
    stat = np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep])
    assert stat < chi2.ppf(0.9999, keep.sum() - 1) * 1.1


@pytest.mark.parametrize("dist_type", TOY_DATASETS)
def test_toy_density_of_no_points(dist_type):
    assert toy_log_density(dist_type, np.zeros((0, 2))).shape == (0,)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: toy_log_density("Swiss", np.zeros((3, 2))), ValueError, "unknown dist_type 'Swiss'"),
        (lambda: toy_log_density(3, np.zeros((3, 2))), TypeError, "dist_type must be a string"),
        (lambda: toy_log_density("Moons", np.zeros((3, 3))), ValueError, r"points must have shape \(n, 2\)"),
        (lambda: toy_log_density("Moons", np.zeros(4)), ValueError, r"points must have shape \(n, 2\)"),
        (lambda: toy_log_density("Circles", [[np.nan, 0.0]]), ValueError, "points must be finite"),
        (lambda: toy_log_density("Circles", "abc"), TypeError, "points must be an array of numbers"),
        (lambda: toy_log_density("GaussiansRot", np.zeros((3, 2)), num_gaussians=0), ValueError,
         "num_gaussians must be >= 1"),
        (lambda: toy_log_density("Moons", np.zeros((3, 2)), nodes=0), ValueError, "nodes must be >= 1"),
        (lambda: toy_log_density("Moons", np.zeros((3, 2)), nodes=2.5), TypeError, "nodes must be an integer"),
    ],
)
def test_toy_density_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()

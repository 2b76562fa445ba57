"""Toy 2-D distributions of the course.

* The three densities of HW1 Part I (kernel density estimation), with exact
  sampling and an exact density: :class:`GaussianMixture2D` (``"GMM-A"`` and
  ``"GMM-B"``) and :class:`Spiral` (``"Spiral"``), built by :func:`kde_density`.
* The handout's :func:`~probmods.datasets.sample_2d_datasets` over the scikit-learn toy generators
  (Circles, Moons, GaussiansGrid, GaussiansRot) and its :class:`ToyDataset`
  wrapper, used by the normalizing-flow chapter.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import as_points, check_choice, check_positive, check_positive_int, check_rng, check_seed, check_weights
from .gmm import _log_prob, _sample

__all__ = [
    "GaussianMixture2D",
    "Spiral",
    "KDE_DENSITIES",
    "kde_density",
    "kde_grid_for",
    "kde_course_samples",
    "TOY_DATASETS",
    "sample_2d_datasets",
    "toy_log_density",
    "ToyDataset",
]


def _rng(seed):
    return check_rng(seed, "seed")


class GaussianMixture2D:
    r"""Isotropic Gaussian mixture in two dimensions, with NumPy in and out.

    The KDE chapter's face of the package's one mixture: it evaluates and samples with
    the NumPy backend of :mod:`probmods.gmm` (the torch class
    :class:`~probmods.gmm.IsotropicGMM` computes the same density for the samplers; the
    tests check that the two agree).

    .. math::

        f(\mathbf x) = \sum_{m=1}^{M} w_m \,\frac{1}{2\pi\sigma^2}
        \exp\Big(-\frac{\lVert \mathbf x-\boldsymbol\mu_m\rVert^2}{2\sigma^2}\Big)

    Parameters
    ----------
    means : array_like, shape (M, 2)
        Component means :math:`\boldsymbol\mu_m`.
    sigma : float
        Common standard deviation of every component (per coordinate).
    weights : array_like, shape (M,), optional
        Mixture weights (non-negative, summing to one within 1e-5, then normalised
        exactly); equal by default. Means must be finite with coordinates within
        1e100, ``sigma`` in [1e-100, 1e100].

    Examples
    --------
    >>> import numpy as np
    >>> from probmods.datasets import GaussianMixture2D
    >>> gmm = GaussianMixture2D([[0.0, 0.0], [3.0, 0.0]], sigma=1.0)
    >>> gmm.sample(4, seed=0).shape
    (4, 2)
    >>> float(gmm.pdf([[0.0, 0.0]])[0])  # (1 + e^{-4.5}) / (4 pi)
    0.0804...
    """

    def __init__(self, means, sigma, weights=None):
        self.means = as_points(means, "means")
        self.sigma = check_positive(sigma, "sigma")
        m = len(self.means)
        self.weights = np.full(m, 1.0 / m) if weights is None else check_weights(weights, "weights", m)

    def __repr__(self):
        return f"GaussianMixture2D(M={len(self.means)}, sigma={self.sigma:g})"

    def sample(self, n: int, seed=0) -> np.ndarray:
        """Draw ``n`` exact samples: a component by its weight, then a Gaussian.

        Parameters
        ----------
        n : int
            Number of samples.
        seed : int, numpy.random.Generator or None, default 0
            Source of randomness.

        Returns
        -------
        numpy.ndarray, shape (n, 2)
        """
        return _sample(self.means, self.sigma, check_positive_int(n, "n"), _rng(seed), self.weights)

    def log_pdf(self, points) -> np.ndarray:
        """Exact log-density at ``points`` (shape ``(n, 2)``), shape ``(n,)``."""
        return _log_prob(as_points(points, "points"), self.means, self.sigma, self.weights)

    def log_prob(self, points) -> np.ndarray:
        """The same as :meth:`log_pdf` (the package's name for a log-density)."""
        return self.log_pdf(points)

    def pdf(self, points) -> np.ndarray:
        """Exact density at ``points`` (shape ``(n, 2)``), shape ``(n,)``."""
        return np.exp(self.log_pdf(points))


class Spiral:
    r"""The spiral density of HW1: :math:`\theta\sim\mathcal U[0, 4\pi]`,
    :math:`r\mid\theta\sim\mathcal N(\theta/2, s^2)`,
    :math:`\mathbf x = r(\cos\theta, \sin\theta)`.

    The handout writes :math:`\mathcal N(\theta/2, 0.25)`; with the usual
    :math:`\mathcal N(\text{mean}, \text{variance})` convention the radial
    standard deviation is :math:`s = 0.5`.

    The density follows from the change of variables
    :math:`(r,\theta)\mapsto\mathbf x`, whose Jacobian determinant is
    :math:`|r|`. A point :math:`\mathbf x = \rho(\cos\varphi, \sin\varphi)`,
    :math:`\varphi\in[0, 2\pi)`, has four pre-images with
    :math:`\theta\in[0,4\pi)`: :math:`r=\rho` with :math:`\theta\in\{\varphi,
    \varphi+2\pi\}` and :math:`r=-\rho` with :math:`\theta\in\{\varphi',
    \varphi'+2\pi\}`, :math:`\varphi' = (\varphi+\pi) \bmod 2\pi`, so

    .. math::

        f(\mathbf x) = \frac{1}{4\pi\rho}\Big[\sum_{k=0}^{1}
        \phi_s\big(\rho - \tfrac{\varphi + 2\pi k}{2}\big) +
        \sum_{k=0}^{1}\phi_s\big(-\rho - \tfrac{\varphi' + 2\pi k}{2}\big)\Big],

    with :math:`\phi_s` the :math:`\mathcal N(0, s^2)` density.

    Parameters
    ----------
    radial_std : float, default 0.5
        Standard deviation :math:`s` of the radius given the angle.
    turns : float, default 2
        Number of turns; :math:`\theta\sim\mathcal U[0, 2\pi\,\text{turns}]`.
        Only whole numbers of turns are supported by :meth:`pdf`.
    """

    def __init__(self, radial_std: float = 0.5, turns: int = 2):
        self.radial_std = check_positive(radial_std, "radial_std")
        self.turns = check_positive_int(turns, "turns")

    def __repr__(self):
        return f"Spiral(radial_std={self.radial_std:g}, turns={self.turns})"

    def sample(self, n: int, seed=0) -> np.ndarray:
        """Draw ``n`` exact samples (shape ``(n, 2)``) by sampling ``theta`` then ``r``."""
        n = check_positive_int(n, "n")
        rng = _rng(seed)
        theta = rng.uniform(0.0, 2 * math.pi * self.turns, size=n)
        r = theta / 2 + self.radial_std * rng.standard_normal(n)
        return np.column_stack([r * np.cos(theta), r * np.sin(theta)])

    def pdf(self, points) -> np.ndarray:
        """Exact density at ``points`` (shape ``(n, 2)``), shape ``(n,)``.

        The density has an integrable :math:`1/\\rho` singularity at the
        origin, where it returns ``inf``.
        """
        x = as_points(points, "points")
        rho = np.hypot(x[:, 0], x[:, 1])
        phi = np.mod(np.arctan2(x[:, 1], x[:, 0]), 2 * math.pi)
        phi_opp = np.mod(phi + math.pi, 2 * math.pi)
        s = self.radial_std
        total = np.zeros_like(rho)
        for k in range(self.turns):
            for radius, angle in ((rho, phi), (-rho, phi_opp)):
                z = (radius - (angle + 2 * math.pi * k) / 2) / s
                total += np.exp(-0.5 * z**2) / (s * math.sqrt(2 * math.pi))
        with np.errstate(divide="ignore"):
            return total / (2 * math.pi * self.turns * rho)

    def log_pdf(self, points) -> np.ndarray:
        """Logarithm of :meth:`pdf`."""
        with np.errstate(divide="ignore"):
            return np.log(self.pdf(points))

    def log_prob(self, points) -> np.ndarray:
        """The same as :meth:`log_pdf` (the package's name for a log-density)."""
        return self.log_pdf(points)


_GRID_MEANS = [[0.0, 0.0], [0.0, 2.0], [2.0, 0.0], [2.0, 2.0]]

#: Names accepted by :func:`kde_density`, in the handout's order.
KDE_DENSITIES = ("GMM-A", "GMM-B", "Spiral")


def kde_density(name: str):
    """One of the three densities of HW1 Part I.

    Parameters
    ----------
    name : {"GMM-A", "GMM-B", "Spiral"}
        ``"GMM-A"``: four equally weighted Gaussians at (0,0), (0,2), (2,0), (2,2)
        with sigma = 1/2; ``"GMM-B"``: the same with sigma = 1; ``"Spiral"``:
        :class:`Spiral` with its defaults.

    Returns
    -------
    GaussianMixture2D or Spiral
        An object with ``sample(n, seed)``, ``pdf(points)`` and ``log_pdf(points)``.
    """
    check_choice(name, "name", KDE_DENSITIES)
    if name == "GMM-A":
        return GaussianMixture2D(_GRID_MEANS, sigma=0.5)
    if name == "GMM-B":
        return GaussianMixture2D(_GRID_MEANS, sigma=1.0)
    return Spiral()


def kde_grid_for(name: str, n: int = 200):
    r"""The plotting and integration grid of a KDE density: a box holding all its mass.

    GMM-A on :math:`[-3, 5]^2`, GMM-B on :math:`[-5, 7]^2`, the spiral on
    :math:`[-8.5, 8.5]^2` (its outer arm reaches radius :math:`2\pi` plus a few
    radial standard deviations).

    Parameters
    ----------
    name : {"GMM-A", "GMM-B", "Spiral"}
    n : int, default 200
        Cells per axis, in [1, 100000].

    Returns
    -------
    probmods.grids.Grid2D
    """
    from .grids import Grid2D

    check_choice(name, "name", KDE_DENSITIES)
    n = check_positive_int(n, "n")
    half = {"GMM-A": (-3.0, 5.0), "GMM-B": (-5.0, 7.0), "Spiral": (-8.5, 8.5)}[name]
    return Grid2D(half, half, n, n)


def kde_course_samples(n: int = 10_000):
    """The three densities of HW1 Part I, ``n`` samples of each (seeds 0, 1, 2), and their grids.

    Returns
    -------
    densities : dict
        ``name -> density`` (:func:`kde_density`).
    samples : dict
        ``name -> numpy.ndarray`` of shape ``(n, 2)``.
    grids : dict
        ``name -> Grid2D`` (:func:`kde_grid_for`).
    """
    densities = {name: kde_density(name) for name in KDE_DENSITIES}
    samples = {name: d.sample(n, seed=i) for i, (name, d) in enumerate(densities.items())}
    grids = {name: kde_grid_for(name) for name in KDE_DENSITIES}
    return densities, samples, grids


#: Names accepted by :func:`~probmods.datasets.sample_2d_datasets`.
TOY_DATASETS = ("Circles", "Moons", "GaussiansGrid", "GaussiansRot")


def sample_2d_datasets(dist_type, num_samples=1000, seed=0, num_gaussians=5):
    """Sample one of the handout's toy 2-D datasets.

    The scikit-learn calls are exactly the handout's, so the same ``seed``
    gives the same points. Unlike the handout it does not reseed NumPy's global
    random state: the data depend only on ``seed``.

    Parameters
    ----------
    dist_type : {"Circles", "Moons", "GaussiansGrid", "GaussiansRot"}
        Which dataset.
    num_samples : int, default 1000
        Number of points.
    seed : int, default 0
        ``random_state`` given to scikit-learn: an int (Python or NumPy) in ``[0, 2**32)``.
    num_gaussians : int, default 5
        Number of Gaussians on the circle of radius 2.5 (``"GaussiansRot"`` only).

    Returns
    -------
    numpy.ndarray, shape (num_samples, 2)
    """
    from sklearn.datasets import make_blobs, make_circles, make_moons

    check_choice(dist_type, "dist_type", TOY_DATASETS)
    num_samples = check_positive_int(num_samples, "num_samples")
    num_gaussians = check_positive_int(num_gaussians, "num_gaussians")
    seed = check_seed(seed)
    if seed >= 2**32:
        raise ValueError(f"seed must be < 2**32 (scikit-learn's random_state), got {seed}")
    if dist_type == "Circles":
        data = make_circles(num_samples, noise=0.1, factor=0.8, random_state=seed, shuffle=True)[0]
    elif dist_type == "Moons":
        data = make_moons(num_samples, noise=0.1, random_state=seed, shuffle=True)[0]
    elif dist_type == "GaussiansGrid":
        centers = np.array(_GRID_MEANS)
        data = make_blobs(num_samples, centers=centers, cluster_std=0.5, random_state=seed, shuffle=True)[0]
    else:
        centers = _rot_centers(num_gaussians)
        data = make_blobs(
            num_samples, centers=centers, cluster_std=np.sqrt(0.1), random_state=seed, shuffle=True
        )[0]
    return data


def _rot_centers(num_gaussians):
    angles = np.linspace(0, 2 * np.pi, num_gaussians, endpoint=False)
    return np.stack([2.5 * np.array([np.cos(a), np.sin(a)]) for a in angles])


def toy_log_density(dist_type, points, num_gaussians=5, nodes=256):
    r"""Exact log-density of the distribution that :func:`~probmods.datasets.sample_2d_datasets` samples.

    scikit-learn's generators put equal numbers of points on each component
    (a Gaussian centre, or a curve) and add isotropic Gaussian noise. In the
    limit of many samples the points on a curve are uniform along it, so the
    density is a mixture of Gaussian blobs (``GaussiansGrid``,
    ``GaussiansRot``) or a Gaussian blur of uniform measures on curves:

    * ``Moons``: half of the mass on the upper unit half circle
      :math:`(\cos t, \sin t)`, half on :math:`(1-\cos t, \tfrac12-\sin t)`,
      :math:`t\sim\mathcal U[0,\pi]`, noise :math:`\sigma = 0.1`;
    * ``Circles``: half on the unit circle, half on the circle of radius 0.8,
      noise :math:`\sigma = 0.1`.

    The integral along a curve is computed with ``nodes`` quadrature points
    (Gauss-Legendre on the half circles, the periodic trapezoid rule on full
    circles). Both converge exponentially for these smooth integrands: with the
    default 256 nodes the log-density agrees with an 8000-node computation to
    about 1e-11 wherever it exceeds -20.

    Parameters
    ----------
    dist_type : {"Circles", "Moons", "GaussiansGrid", "GaussiansRot"}
    points : array_like, shape (n, 2)
    num_gaussians : int, default 5
        Number of Gaussians of ``"GaussiansRot"``.
    nodes : int, default 256
        Quadrature points per curve.

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    check_choice(dist_type, "dist_type", TOY_DATASETS)
    x = as_points(points, "points", allow_empty=True)
    num_gaussians = check_positive_int(num_gaussians, "num_gaussians")
    nodes = check_positive_int(nodes, "nodes")
    if dist_type == "GaussiansGrid":
        return _log_prob(x, np.asarray(_GRID_MEANS, dtype=float), 0.5)
    if dist_type == "GaussiansRot":
        return _log_prob(x, _rot_centers(num_gaussians), math.sqrt(0.1))
    if dist_type == "Moons":
        u, w = np.polynomial.legendre.leggauss(nodes)
        t = (u + 1) * (math.pi / 2)
        w = w / 2  # weights of the uniform average over [0, pi]
        curves = [np.column_stack([np.cos(t), np.sin(t)]), np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)])]
    else:
        t = np.linspace(0, 2 * math.pi, nodes, endpoint=False)
        w = np.full(nodes, 1.0 / nodes)
        unit = np.column_stack([np.cos(t), np.sin(t)])
        curves = [unit, 0.8 * unit]
    # the two curves with equal probability: one mixture over all quadrature nodes, noise 0.1
    nodes_xy, weights = np.vstack(curves), np.concatenate([w, w]) / 2
    out = [_log_prob(x[start : start + 1024], nodes_xy, 0.1, weights) for start in range(0, len(x), 1024)]
    return np.concatenate(out) if out else np.zeros(0)


try:  # ToyDataset is a torch Dataset; the KDE chapter does not need torch.
    from torch.utils.data import Dataset as _TorchDataset
except ImportError:  # pragma: no cover - torch is a hard dependency
    _TorchDataset = object


class ToyDataset(_TorchDataset):
    """The handout's :class:`torch.utils.data.Dataset` over :func:`~probmods.datasets.sample_2d_datasets`.

    Parameters
    ----------
    dist_type, num_samples, seed, num_gaussians
        As in :func:`~probmods.datasets.sample_2d_datasets`.

    Attributes
    ----------
    data : numpy.ndarray, shape (num_samples, 2)
        The points (float64, as sampled).
    tensor : torch.Tensor, shape (num_samples, 2)
        The points as one float32 tensor, for batched training without the
        per-item ``__getitem__`` path.
    """

    def __init__(self, dist_type, num_samples=1000, seed=0, num_gaussians=5):
        import torch

        self.data = sample_2d_datasets(dist_type, num_samples, seed, num_gaussians=num_gaussians)
        self.num_samples = len(self.data)
        self.tensor = torch.from_numpy(self.data).float()

    def __len__(self):
        return self.num_samples

    def __getitem__(self, index):
        return self.tensor[index]

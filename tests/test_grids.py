import numpy as np
import pytest

from probmods.grids import Grid2D


def test_grid_points_and_reshape():
    g = Grid2D((0, 4), (0, 2), nx=4, ny=2)
    np.testing.assert_allclose(g.xs, [0.5, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(g.ys, [0.5, 1.5])
    assert g.points.shape == (8, 2)
    img = g.reshape(g.points[:, 0])
    np.testing.assert_allclose(img[1], g.xs)  # rows vary in y, columns in x
    assert g.cell_area == pytest.approx(1.0)
    assert g.extent == (0, 4, 0, 2)


def test_integrate_gaussian():
    g = Grid2D.square(8, 200)
    f = np.exp(-0.5 * (g.points**2).sum(1)) / (2 * np.pi)
    assert g.integrate(f) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"xlim": (1, 0), "ylim": (0, 1)}, ValueError, "xlim must satisfy low < high"),
        ({"xlim": (0, 1), "ylim": (0, np.nan)}, ValueError, "ylim"),
        ({"xlim": 3, "ylim": (0, 1)}, TypeError, "xlim must be a pair"),
        ({"xlim": (0, 1), "ylim": (0, 1), "nx": 0}, ValueError, "nx must be >= 1"),
        ({"xlim": (0, 1), "ylim": (0, 1), "ny": 2.0}, TypeError, "ny must be an integer"),
    ],
)
def test_bad_grid(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Grid2D(**kwargs)


def test_reshape_rejects_wrong_size():
    with pytest.raises(ValueError, match="values must have 4 entries"):
        Grid2D((0, 1), (0, 1), 2, 2).reshape(np.zeros(5))

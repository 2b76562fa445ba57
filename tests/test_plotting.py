import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.animation import FuncAnimation

from probmods.grids import Grid2D
from probmods.plotting import animate_images, animate_scatter, density_image, panels, scatter_samples


def test_panels_share_axes_and_images_use_the_grid():
    fig, axes = panels(2, 3)
    assert axes.shape == (2, 3)
    g = Grid2D((-1, 1), (-2, 2), 10, 20)
    im = density_image(axes[0, 0], g, np.arange(200.0), vmin=0, vmax=100)
    assert im.get_array().shape == (20, 10)
    assert im.get_clim() == (0, 100)
    assert axes[0, 0].get_xlabel() == "$x_1$"
    sc = scatter_samples(axes[0, 1], np.zeros((5, 2)), lims=((-1, 1), (-2, 2)))
    assert sc.get_offsets().shape == (5, 2)
    assert axes[0, 1].get_xlim() == (-1, 1)
    plt.close(fig)


def test_animations_have_one_frame_per_input():
    anim = animate_scatter([np.zeros((4, 2)), np.ones((3, 2))], titles=["a", "b"])
    assert isinstance(anim, FuncAnimation)
    html = anim.to_jshtml()
    assert "anim" in html.lower()
    g = Grid2D((0, 1), (0, 1), 4, 4)
    anim2 = animate_images(g, [np.zeros(16), np.ones(16)], titles=["0", "1"])
    anim2.to_jshtml()
    plt.close("all")


def test_plotting_bad_input():
    fig, ax = plt.subplots()
    with pytest.raises(TypeError, match="grid must be a Grid2D"):
        density_image(ax, None, np.zeros(4))
    with pytest.raises(ValueError, match="samples must have shape"):
        scatter_samples(ax, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="frames must contain"):
        animate_scatter([])
    with pytest.raises(ValueError, match="titles must have one entry per frame"):
        animate_scatter([np.zeros((2, 2))], titles=["a", "b"])
    with pytest.raises(ValueError, match="nrows must be >= 1"):
        panels(0, 1)
    plt.close("all")

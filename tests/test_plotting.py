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


@pytest.mark.parametrize("make", ["scatter", "images", "image_grids"])
def test_animation_layout_is_laid_out_once_and_keeps_every_frame_inside(make):
    """The constrained layout runs on the first frame and is then fixed: no frame's title or tick
    labels may leave the figure, and the axes do not move from frame to frame."""
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    from probmods.plotting import animate_image_grids

    titles = ["0", "Langevin, step 20,000", "1"]  # a later title longer than the first
    g = Grid2D((0, 1), (0, 1), 4, 4)
    anim = {
        "scatter": lambda: animate_scatter([np.zeros((4, 2)), np.ones((3, 2)), -np.ones((2, 2))], titles=titles),
        "images": lambda: animate_images(g, [np.zeros(16), np.ones(16), np.full(16, 0.5)], titles=titles),
        "image_grids": lambda: animate_image_grids([np.random.default_rng(0).random((4, 28, 28))] * 3,
                                                   ncols=2, titles=titles),
    }[make]()
    fig = anim._fig
    assert isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine)
    box = fig.bbox
    positions = []
    for i in range(len(titles)):
        anim._func(i)
        fig.canvas.draw()
        ax = fig.axes[0]
        positions.append(ax.get_position().bounds)
        e = ax.get_tightbbox(fig.canvas.get_renderer())  # the axes with its title, ticks and labels
        assert box.x0 - 0.5 <= e.x0 and e.x1 <= box.x1 + 0.5 and box.y0 - 0.5 <= e.y0 and e.y1 <= box.y1 + 0.5
    assert positions.count(positions[0]) == len(positions)
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


def test_tile_images_and_image_grid():
    import torch

    from probmods.plotting import animate_image_grids, image_grid, tile_images

    imgs = torch.arange(5 * 4 * 3, dtype=torch.float32).view(5, 1, 4, 3)
    m = tile_images(imgs, ncols=2)
    assert m.shape == (3 * 5 - 1, 2 * 4 - 1)
    np.testing.assert_array_equal(m[5:9, 4:7], imgs[3, 0].numpy())  # row 1, column 1
    assert np.isnan(m[4]).all() and np.isnan(m[-4:, 4:]).all()  # gap row and the empty last cell
    fig, ax = plt.subplots()
    im = image_grid(ax, torch.rand(6, 28, 28) * 3 - 1, ncols=3, labels=list("abcdef"), title="t")
    data = np.ma.getdata(im.get_array())
    assert np.nanmin(data) >= 0 and np.nanmax(data) <= 1
    assert [t.get_text() for t in ax.texts] == list("abcdef")
    anim = animate_image_grids([torch.rand(4, 28, 28) for _ in range(3)], ncols=2, titles=["0", "1", "2"])
    anim._func(2)
    assert anim._fig.axes[0].get_title() == "2"
    anim._draw_was_started = True  # silence matplotlib's "deleted without rendering" warning
    plt.close("all")
    with pytest.raises(ValueError, match="images must have shape"):
        tile_images(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="titles"):
        animate_image_grids([np.zeros((2, 28, 28))], titles=["a", "b"])


def test_score_field_draws_both_fields_to_one_scale():
    import matplotlib.pyplot as plt

    from probmods.plotting import score_field

    fig, ax = plt.subplots()
    pts = np.array([[0.0, 0.0], [1.0, 1.0]])
    a = score_field(ax, pts, [[1.0, 0.0], [0.0, 1.0]], 2.0)
    b = score_field(ax, pts, [[10.0, 0.0], [0.0, 10.0]], 2.0, color="C1")
    assert a.scale == b.scale == 2.0 and a.scale_units == b.scale_units == "xy"
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="scale"):
            score_field(ax, pts, pts, bad)
    with pytest.raises(ValueError, match="field"):
        score_field(ax, pts, pts[:1], 1.0)
    plt.close(fig)

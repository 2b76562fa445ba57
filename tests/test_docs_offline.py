"""The docs' offline extension: matplotlib's animation markup and the remote-resource guard."""

import importlib.util
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "offline", Path(__file__).resolve().parents[1] / "docs" / "_ext" / "offline.py")
offline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(offline)


def _jshtml():
    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1], [0, 1])
    anim = FuncAnimation(fig, lambda i: line.set_ydata([0, i]), frames=2)
    try:
        return anim.to_jshtml()
    finally:
        plt.close(fig)


def test_matplotlib_animation_loads_nothing_remote_after_the_page_hook():
    """If matplotlib changes its markup, this fails (and so does the docs build) rather than
    the site silently fetching a stylesheet from a CDN."""
    html = _jshtml()
    assert offline.remote_resources(html), "matplotlib no longer links a remote stylesheet: drop the rewrite"
    body = offline.offline_body(f"<p>text</p>{html}", "page")
    assert offline.remote_resources(body) == []
    assert "<script" in body and "<link" not in body  # the player itself stays


@pytest.mark.parametrize("tag", [
    '<script src="https://code.jquery.com/jquery-3.7.0.js"></script>',
    '<link href="//cdn.example.org/x.css" rel="stylesheet">',
    "<img alt='' src='http://example.org/a.png'>",
    '<iframe width="1" src="https://example.org"></iframe>',
])
def test_a_remote_resource_fails_the_build(tag):
    with pytest.raises(ValueError, match="page: the page would load 1 resource"):
        offline.offline_body(f"<p>x</p>{tag}", "page")


@pytest.mark.parametrize("tag", [
    '<a href="https://arxiv.org/abs/1907.05600">Song and Ermon</a>',
    '<script src="../_static/x.js"></script>',
    '<img src="_images/sphx_glr_plot_01_001.png">',
])
def test_links_and_local_resources_pass(tag):
    assert offline.offline_body(tag, "page") == tag

"""Small utilities: reproducible seeding."""

from __future__ import annotations

import random

import numpy as np

__all__ = ["seed_everything"]


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's global and PyTorch's random number generators.

    Parameters
    ----------
    seed : int, default 0
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)  # noqa: NPY002 - seeds legacy global-state users too
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return
    torch.manual_seed(int(seed))


def _offline_animations() -> None:
    """Make matplotlib's HTML animations load no stylesheet from the internet.

    ``FuncAnimation.to_jshtml`` links Font Awesome 4 from a CDN for its buttons;
    the textbook serves Font Awesome itself (``docs/conf.py``), so the link is
    dropped and the page works offline.
    """
    import matplotlib.animation as animation

    include = animation.JS_INCLUDE
    start = include.find("<link rel=\"stylesheet\"")
    if start >= 0:
        end = include.find(">", start) + 1
        animation.JS_INCLUDE = include[:start] + include[end:]


def _gallery_reset(gallery_conf, fname):
    """Sphinx-Gallery ``reset_modules`` hook: reseed before every example.

    Each example then starts from the same random state however the examples are
    ordered or parallelised, so two builds print the same numbers. It also keeps
    the examples' animations free of network requests.
    """
    seed_everything(0)
    _offline_animations()

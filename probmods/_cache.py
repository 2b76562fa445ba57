"""A disk memo for deterministic results that several gallery pages compute alike.

Some pages repeat an earlier page's work on purpose, so that each stays a complete
script a reader can download and run alone: the flows page beside the KDE retrains the
training page's four flows, the second bandwidth page re-runs the first one's
cross-validation. During the docs build the second computation is pure waste, so the
build sets the environment variable ``PROBMODS_CACHE_DIR`` (``docs/conf.py``), and the
few functions wrapped here then store their result there on the first call and load it
on every later call with the same arguments.

A result is reused only when it would come out the same, bit for bit, on the machine that
stored it (the folder is the build's own): the key holds the function, its arguments
(arrays by their bytes), the source of every module of the package, the versions of
Python, NumPy, SciPy, scikit-learn and PyTorch, and PyTorch's thread count. A
function that seeds PyTorch's global generator itself (``torch_rng=True``) also has the
generator's state after the call stored and restored, so that a page's later draws do
not depend on whether the result was computed or loaded. Concurrent workers of a
parallel build take a per-key file lock, so a result is computed once while the other
worker waits for it. Files are written atomically and read with ``weights_only=True``;
one that cannot be read is recomputed.

Without the variable (a reader's run, the tests) nothing is cached and nothing is written.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import os
from pathlib import Path

import numpy as np

ENV = "PROBMODS_CACHE_DIR"

try:  # POSIX; elsewhere two workers may compute the same result, which is only wasteful
    import fcntl
except ImportError:  # pragma: no cover - not on this project's machines
    fcntl = None


@functools.lru_cache(maxsize=1)
def _environment_digest() -> str:
    """The package's source and the numerical libraries' versions, hashed."""
    import platform

    import scipy
    import sklearn
    import torch

    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    h.update(f"python {platform.python_version()} numpy {np.__version__} scipy {scipy.__version__} "
             f"scikit-learn {sklearn.__version__} torch {torch.__version__}".encode())
    return h.hexdigest()


def _feed(h, value, name: str) -> None:
    """Add one argument's value to the hash ``h``; only plain data is accepted."""
    import torch

    if value is None or isinstance(value, (bool, int, float, str, np.integer, np.floating)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, (np.ndarray, torch.Tensor)):
        arr = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
        arr = np.ascontiguousarray(arr)
        h.update(f"{type(value).__name__}:{arr.dtype.str}:{arr.shape};".encode())
        h.update(arr.tobytes())
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}[{len(value)}];".encode())
        for item in value:
            _feed(h, item, name)
    else:
        raise TypeError(f"argument {name!r} of type {type(value).__name__} cannot be part of a cache key")


def cache_key(fn, arguments: dict) -> str:
    """The hex key of a call of ``fn`` with ``arguments`` (a name -> value mapping)."""
    import torch

    h = hashlib.sha256()
    h.update(f"{fn.__module__}.{fn.__qualname__};threads {torch.get_num_threads()};".encode())
    h.update(_environment_digest().encode())
    for name in sorted(arguments):
        h.update(f"{name}=".encode())
        _feed(h, arguments[name], name)
    return h.hexdigest()[:32]


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _load(path: Path):
    import torch

    if not path.exists():
        return None
    try:
        return torch.load(path, weights_only=True)
    except Exception:  # noqa: BLE001 - a damaged file is recomputed, never trusted
        return None


def _save(payload, path: Path) -> None:
    import torch

    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def memoize(encode, decode, ignore=(), torch_rng: bool = False):
    """Decorate a deterministic function so that, under ``PROBMODS_CACHE_DIR``, it computes once.

    Parameters
    ----------
    encode : callable
        ``result -> payload`` of tensors, numbers, strings, lists and dicts (what
        ``torch.load(..., weights_only=True)`` reads back).
    decode : callable
        ``payload -> result``, equal to what the function returned.
    ignore : tuple of str
        Arguments that do not change the result (a progress bar).
    torch_rng : bool, default False
        The function seeds PyTorch's global generator itself: its state after the call
        is stored, and restored when the result is loaded.
    """

    def wrap(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def cached(*args, **kwargs):
            root = os.environ.get(ENV)
            if not root:
                return fn(*args, **kwargs)
            import torch

            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            key = cache_key(fn, {k: v for k, v in bound.arguments.items() if k not in ignore})
            folder = Path(root)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{fn.__name__}-{key}.pt"
            with _locked(folder / f"{fn.__name__}-{key}.lock"):
                payload = _load(path)
                if payload is None:
                    result = fn(*args, **kwargs)
                    payload = {"value": encode(result)}
                    if torch_rng:
                        payload["torch_rng"] = torch.get_rng_state()
                    _save(payload, path)
                    return result
            with torch.random.fork_rng(devices=[]):  # building a module draws initial weights
                result = decode(payload["value"])
            if torch_rng:
                torch.set_rng_state(payload["torch_rng"])
            return result

        return cached

    return wrap

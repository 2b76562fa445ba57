"""Input validation shared by every module.

Each helper raises :class:`TypeError` for a value of the wrong kind and
:class:`ValueError` for a value of the right kind but the wrong content, and
names the offending argument in the message (the caller's own name for it), so
that a student who passes a wrong shape or a negative bandwidth is told which
argument to fix.

The conventions they enforce, package-wide:

* **Arrays and tensors.** NumPy arrays, torch tensors of any floating dtype, integer
  arrays and (for points) Python lists are accepted and converted; complex input is
  refused with a :class:`TypeError` (its imaginary part would be lost), as are strings
  and objects. Unless a function says otherwise, batches must hold at least one item
  and be finite, with entries within :data:`MAX_ABS` in magnitude (their squares stay
  finite in double precision).
* **Scales** (standard deviations, bandwidths, step sizes, tolerances) are real
  numbers in ``[SCALE_MIN, SCALE_MAX]`` = ``[1e-100, 1e100]`` unless a function
  states other limits: their squares and reciprocals then stay finite. ``bool`` and
  strings are refused.
* **Counts and sizes** are integers (Python or NumPy; ``bool`` and floats such as
  ``10.0`` are refused) in ``[1, 2**63 - 1]`` unless a function states tighter
  limits (sizes that allocate memory are bounded where they are checked).
* **Randomness**: an int-like seed (Python or NumPy integer in ``[0, 2**63)``), or a
  generator where that fits (:func:`check_rng` for NumPy, :func:`check_generator` for
  torch). Anything else is refused with a :class:`TypeError`.
* **Files** are paths (``str`` or :class:`os.PathLike`); an unreadable or malformed
  file raises a :class:`ValueError` that names the argument and the path.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path

import numpy as np

__all__ = [
    "MAX_ABS",
    "SCALE_MIN",
    "SCALE_MAX",
    "INT_MAX",
    "as_array",
    "as_points",
    "as_tensor",
    "check_positive",
    "check_nonneg",
    "check_real",
    "check_probability",
    "check_positive_int",
    "check_int",
    "check_choice",
    "check_seed",
    "check_rng",
    "check_generator",
    "check_callable",
    "check_container",
    "check_limits",
    "check_path",
    "load_torch_file",
    "check_axes",
    "check_weights",
    "module_dtype",
]

#: Largest magnitude accepted in points, tensors and images (squares stay finite).
MAX_ABS = 1e100
#: Default range of a scale (standard deviation, bandwidth, step size, tolerance).
SCALE_MIN, SCALE_MAX = 1e-100, 1e100
#: Largest count accepted by default (the largest int64).
INT_MAX = 2**63 - 1


def _show(value) -> str:
    """A short ``repr`` (a 400-digit integer is not printed in full)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def _scalar(value):
    """Unwrap a 0-d NumPy array or torch tensor into a number (other values unchanged).

    Boolean and complex 0-d values are unwrapped into NumPy scalars, which the type
    checks then refuse.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    if hasattr(value, "is_complex") and getattr(value, "ndim", None) == 0:  # a 0-d torch tensor
        if value.is_complex() or str(value.dtype) == "torch.bool":
            return np.asarray(value.detach().cpu())[()]
        return value.item()
    return value


def check_real(value, name: str, low: float = -math.inf, high: float = math.inf) -> float:
    """Return ``value`` as a float after checking it is a finite real number in ``[low, high]``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number (``bool``, complex and strings are refused).
    ValueError
        If ``value`` is NaN, infinite or outside ``[low, high]``.
    """
    value = _scalar(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        out = float(value)
    except OverflowError:  # an int beyond the float range
        out = math.inf if value > 0 else -math.inf
    if not math.isfinite(out):
        raise ValueError(f"{name} must be a finite number, got {_show(value)}")
    if not low <= out <= high:
        raise ValueError(f"{name} must be in [{low:g}, {high:g}], got {_show(value)}")
    return out


def check_positive(value, name: str, low: float = SCALE_MIN, high: float = SCALE_MAX) -> float:
    """Return ``value`` as a float after checking it is a finite number ``> 0`` in ``[low, high]``.

    The default range ``[1e-100, 1e100]`` suits scales (standard deviations,
    bandwidths, step sizes, tolerances): their squares and reciprocals stay finite.
    Pass ``low=0`` for a positive number without a lower limit (a learning rate).

    Raises
    ------
    TypeError
        If ``value`` is not a real number (``bool``, complex and strings are refused).
    ValueError
        If ``value`` is NaN, infinite, not strictly positive or outside ``[low, high]``.
    """
    value = _scalar(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        out = float(value)
    except OverflowError:  # an int beyond the float range
        out = math.inf if value > 0 else -math.inf
    if not (math.isfinite(out) and out > 0 and low <= out <= high):
        lo = f"({low:g}" if low <= 0 else f"[{low:g}"
        raise ValueError(f"{name} must be a finite number > 0 in {lo}, {high:g}], got {_show(value)}")
    return out


def check_nonneg(value, name: str, high: float = SCALE_MAX) -> float:
    """Return ``value`` as a float after checking it is a finite number in ``[0, high]``."""
    value = check_real(value, name)
    if not 0 <= value <= high:
        raise ValueError(f"{name} must be a finite number in [0, {high:g}], got {value!r}")
    return value


def check_probability(value, name: str, low: float = 0.0, high: float = 1.0) -> float:
    """Return ``value`` as a float after checking it is in ``[low, high]`` (by default ``[0, 1]``)."""
    return check_real(value, name, low, high)


def check_int(value, name: str, low: int | None = None, high: int | None = INT_MAX) -> int:
    """Return ``value`` as an int after checking it is an integer in ``[low, high]``.

    Python and NumPy integers (and 0-d integer arrays or tensors) are accepted;
    ``bool``, floats (even ``10.0``) and strings are refused with a :class:`TypeError`.
    """
    value = _scalar(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {_show(value)}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {_show(value)}")
    return value


def check_positive_int(value, name: str, high: int = INT_MAX, low: int = 1) -> int:
    """Return ``value`` as an int after checking it is an integer in ``[low, high]`` (default ``[1, 2**63 - 1]``).

    Raises
    ------
    TypeError
        If ``value`` is not an integer (floats such as ``10.0`` are refused).
    ValueError
        If ``value < low`` or ``value > high``.
    """
    return check_int(value, name, low, high)


def check_flag(value, name: str) -> bool:
    """Return ``value`` as a bool after checking it is ``True`` or ``False`` (NumPy's too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return bool(value)


def check_choice(value, name: str, choices) -> str:
    """Return ``value`` after checking it is one of ``choices``.

    Raises
    ------
    TypeError
        If ``value`` is not a string.
    ValueError
        If ``value`` is not one of ``choices``.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"unknown {name} {value!r}; expected one of {options}")
    return value


def check_seed(seed, name: str = "seed") -> int:
    """Return an int-like seed (Python or NumPy integer) as an ``int`` in ``[0, 2**63)``.

    The package's one randomness convention for integer seeds; ``bool``, floats and
    strings are refused with a :class:`TypeError`.
    """
    seed = _scalar(seed)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer seed, got {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed < 2**63:
        raise ValueError(f"{name} must be in [0, 2**63), got {_show(seed)}")
    return seed


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """A NumPy :class:`~numpy.random.Generator` from an int-like seed, a Generator (used as is) or ``None``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    try:
        return np.random.default_rng(check_seed(rng, name))
    except TypeError:
        raise TypeError(f"{name} must be an int seed, a numpy Generator or None, got {type(rng).__name__}") from None


def check_generator(generator, name: str = "generator"):
    """A :class:`torch.Generator` (used as is), ``None`` (the global one) or one seeded by an int-like seed."""
    import torch

    if generator is None or isinstance(generator, torch.Generator):
        return generator
    try:
        return torch.Generator().manual_seed(check_seed(generator, name))
    except TypeError:
        raise TypeError(
            f"{name} must be a torch.Generator, an int seed or None, got {type(generator).__name__}"
        ) from None


def check_callable(value, name: str, optional: bool = False):
    """Return ``value`` after checking it is callable (or ``None`` when ``optional``)."""
    if value is None and optional:
        return None
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    return value


def check_instance(value, name: str, types, what: str):
    """Return ``value`` after checking it is an instance of ``types``; ``what`` names the expected type.

    The one isinstance check of the package: ``TypeError: {name} must be {what}, got {type}``.
    """
    if not isinstance(value, types):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def check_container(value, name: str, types=(list, tuple), nonempty: bool = True, what: str | None = None):
    """Return ``value`` after checking it is one of ``types`` (and not empty, unless allowed)."""
    if what is None:
        what = " or ".join(t.__name__ for t in types)
    if isinstance(value, (str, bytes)) or not isinstance(value, types):
        raise TypeError(f"{name} must be a {what}, got {type(value).__name__}")
    if nonempty and len(value) == 0:
        raise ValueError(f"{name} must not be empty")
    return value


def check_limits(lim, name: str, increasing: bool = True) -> tuple[float, float]:
    """Return ``(low, high)`` from a pair of finite real numbers (``low < high`` when ``increasing``)."""
    if isinstance(lim, (str, bytes)) or not hasattr(lim, "__len__") or len(lim) != 2:
        raise TypeError(f"{name} must be a pair of numbers (low, high), got {_show(lim)}")
    lo, hi = (check_real(v, name, -MAX_ABS, MAX_ABS) for v in lim)
    if increasing and not lo < hi:
        raise ValueError(f"{name} must satisfy low < high, got {_show(lim)}")
    return lo, hi


def check_path(path, name: str, exists: bool = False) -> Path:
    """Return ``path`` as a :class:`~pathlib.Path` (``str`` or path-like), optionally an existing file."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(path).__name__}")
    path = Path(path)
    if exists and not path.is_file():
        raise FileNotFoundError(f"{name}: no such file {str(path)!r}")
    return path


def _nonfinite_tensors(obj, prefix=""):
    import torch

    if isinstance(obj, torch.Tensor):
        return [prefix or "tensor"] if obj.is_floating_point() and not bool(torch.isfinite(obj).all()) else []
    if isinstance(obj, dict):
        return [k for key, v in obj.items() for k in _nonfinite_tensors(v, f"{prefix}{key}.")]
    return []


def load_torch_file(path, name: str = "path", keys=(), finite: bool = True):
    """Load a torch file safely (``weights_only=True``) and check its schema.

    Parameters
    ----------
    path : str or os.PathLike
    name : str
        The caller's argument name, for messages.
    keys : sequence of str
        Keys the loaded dictionary must have (nothing is required when empty, and
        then anything ``torch.load`` returns is accepted).
    finite : bool, default True
        Refuse floating-point tensors with NaN or infinity (at any depth of nested dicts).

    Raises
    ------
    TypeError
        If ``path`` is not a path.
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a torch file (empty, truncated, another format), lacks a
        required key, or holds non-finite weights; the message names the path.
    """
    import pickle
    import zipfile

    import torch

    path = check_path(path, name, exists=True)
    try:
        obj = torch.load(path, weights_only=True, map_location="cpu")
    except (EOFError, RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, TypeError,
            AttributeError, KeyError, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"{name} {str(path)!r} is not a readable torch file: {exc}") from None
    if keys:
        if not isinstance(obj, dict):
            raise ValueError(f"{name} {str(path)!r} must hold a dict with keys {list(keys)}, got {type(obj).__name__}")
        missing = [k for k in keys if k not in obj]
        if missing:
            raise ValueError(f"{name} {str(path)!r} lacks the keys {missing}")
    if finite:
        bad = _nonfinite_tensors(obj)
        if bad:
            raise ValueError(f"{name} {str(path)!r} holds NaN or infinity in {bad[:5]}")
    return obj


def check_axes(ax, name: str = "ax"):
    """Return ``ax`` after checking it is a :class:`matplotlib.axes.Axes`."""
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"{name} must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def _check_magnitude(biggest: float, name: str, max_abs):
    if max_abs is not None and biggest > max_abs:
        raise ValueError(f"{name} must have entries within +-{max_abs:g}, got one of magnitude {biggest:.3g}")


def _check_entries(arr: np.ndarray, name: str, finite: bool, max_abs) -> np.ndarray:
    """Refuse NaN/infinity (when ``finite``) and finite entries beyond ``max_abs``; return ``arr``."""
    if arr.size:
        ok = np.isfinite(arr)
        if finite and not ok.all():
            raise ValueError(f"{name} must be finite, but it contains NaN or infinity")
        if ok.any():
            _check_magnitude(float(np.abs(arr[ok]).max()), name, max_abs)
    return arr


def _float64_array(x, name: str) -> np.ndarray:
    """Any array-like of real numbers (torch tensors included) as a float64 NumPy array."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}")
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor
        x = x.detach().cpu()
        if x.is_complex():
            raise TypeError(f"{name} must be real-valued, got dtype {x.dtype}")
        x = x.numpy()
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged input
        raise ValueError(f"{name} must be a rectangular array: {exc}") from None
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real-valued, got dtype {arr.dtype}")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    return arr


def as_points(x, name: str, dim: int | None = 2, allow_empty: bool = False, max_abs: float | None = MAX_ABS,
              finite: bool = True) -> np.ndarray:
    """Return ``x`` as a finite float64 array of shape ``(n, dim)``.

    Parameters
    ----------
    x : array_like, shape (n, dim)
        Points, one per row (NumPy array, torch tensor of any real dtype, nested lists).
    name : str
        The argument's name, used in error messages.
    dim : int or None, default 2
        Required number of columns; ``None`` accepts any.
    allow_empty : bool, default False
        Whether ``n = 0`` is accepted.
    max_abs : float or None, default 1e100
        Largest magnitude of a coordinate (squared distances stay finite).
    finite : bool, default True
        Refuse NaN and infinity (``False`` lets them through, for rows that mark
        diverged chains; the magnitude check then applies to the finite entries).

    Returns
    -------
    numpy.ndarray, shape (n, dim), dtype float64

    Raises
    ------
    TypeError
        If ``x`` is not numeric, or is complex.
    ValueError
        If ``x`` has the wrong shape, contains NaN or infinity, or has a coordinate
        beyond ``max_abs``.
    """
    arr = _float64_array(x, name)
    if arr.ndim != 2 or (dim is not None and arr.shape[1] != dim):
        want = f"(n, {dim})" if dim is not None else "(n, d)"
        raise ValueError(f"{name} must have shape {want}, got shape {arr.shape}")
    if arr.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} must contain at least one point, got shape {arr.shape}")
    return _check_entries(arr, name, finite, max_abs)


def as_array(x, name: str, ndim: int | None = None, finite: bool = True, max_abs: float | None = MAX_ABS,
             what: str | None = None) -> np.ndarray:
    """Return ``x`` (array_like or torch tensor, real numbers) as a float64 NumPy array.

    Parameters
    ----------
    x : array_like or torch.Tensor
    name : str
        The caller's argument name, for messages.
    ndim : int, optional
        Required number of dimensions.
    finite : bool, default True
        Refuse NaN and infinity.
    max_abs : float or None, default 1e100
        Largest magnitude of an entry (finite entries only).
    what : str, optional
        Shape description for messages.

    Raises
    ------
    TypeError
        If ``x`` is not numeric, or is complex (its imaginary part would be lost).
    ValueError
        If ``x`` has the wrong number of dimensions or non-finite entries.
    """
    arr = _float64_array(x, name)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {what or f'{ndim} dimensions'}, got shape {arr.shape}")
    return _check_entries(arr, name, finite, max_abs)


def check_weights(weights, name: str, m: int, tol: float = 1e-5) -> np.ndarray:
    """Mixture weights: ``m`` finite numbers >= 0 whose sum is within ``tol`` of 1, returned normalised.

    A sum off by rounding (``1 + 5e-6`` after float32 arithmetic, say) is divided out,
    so that samplers which need an exact probability vector accept the result; a sum
    further from 1 is refused.
    """
    w = as_array(weights, name, ndim=1, what=f"shape ({m},)")
    if w.shape != (m,):
        raise ValueError(f"{name} must have shape ({m},) (one weight per component), got {w.shape}")
    if np.any(w < 0):
        raise ValueError(f"{name} must be non-negative, got {w.tolist()}")
    total = float(w.sum())
    if not abs(total - 1) <= tol:
        raise ValueError(f"{name} must sum to 1 (within {tol:g}), got a sum of {total!r}")
    return w / total


def module_dtype(module, default=None):
    """The floating dtype of a module's first parameter (``default`` for a plain callable)."""
    parameters = getattr(module, "parameters", None)
    if callable(parameters):
        for p in parameters():
            if p.is_floating_point():
                return p.dtype
    return default


def as_tensor(x, name: str, trailing: tuple | None = None, ndim: int | None = None, dtype=None,
              finite: bool = True, what: str | None = None, integers: str | None = None,
              max_abs: float | None = MAX_ABS, allow_empty: bool = False):
    """Return ``x`` as a floating-point :class:`torch.Tensor` after checking its shape.

    What students have at hand just works: NumPy arrays, float64 tensors from
    ``torch.from_numpy`` and integer tensors are converted (to ``dtype``, typically the
    model's, when given; otherwise integers become the default float dtype and floats
    keep theirs). Complex, non-numeric or object input is refused.

    Parameters
    ----------
    x : torch.Tensor or array_like
    name : str
        The caller's argument name, for messages.
    trailing : tuple of int, optional
        Required trailing dimensions (for example ``(2,)`` for a batch of points).
    ndim : int, optional
        Required number of dimensions (default ``1 + len(trailing)`` when ``trailing``
        is given).
    dtype : torch.dtype, optional
        The floating dtype to cast to.
    finite : bool, default True
        Refuse NaN and infinity (and entries beyond ``max_abs``).
    what : str, optional
        Shape description for messages, such as ``"(B, 2)"``.
    integers : str, optional
        When given, integer input is refused with a :class:`TypeError` whose message ends
        with this hint (images stored as ``uint8`` in [0, 255] are not floats in [0, 1]).
    max_abs : float or None, default 1e100
        Largest magnitude of an entry when ``finite``.
    allow_empty : bool, default False
        Whether a batch of zero items is accepted.

    Raises
    ------
    TypeError
        For non-numeric or complex input.
    ValueError
        For a wrong shape, an empty batch or non-finite values.
    """
    import torch

    if what is None:
        what = f"(B, {', '.join(map(str, trailing))})" if trailing is not None else "a batch"
    if not isinstance(x, torch.Tensor):
        if x is None or isinstance(x, (str, bytes)):
            raise TypeError(f"{name} must be a tensor or array of shape {what}, got {type(x).__name__}")
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a rectangular array of shape {what}: {exc}") from None
        if np.iscomplexobj(arr):
            raise TypeError(f"{name} must be real-valued, got dtype {arr.dtype}")
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
        x = torch.as_tensor(arr)
    if x.is_complex():
        raise TypeError(f"{name} must be real-valued, got dtype {x.dtype}")
    if integers is not None and not x.is_floating_point():
        raise TypeError(f"{name} must be floating point, got dtype {x.dtype}: {integers}")
    if dtype is not None:
        x = x.to(dtype)
    elif not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    if trailing is not None:
        want = ndim if ndim is not None else 1 + len(trailing)
        if x.ndim != want or tuple(x.shape[x.ndim - len(trailing):]) != tuple(trailing):
            raise ValueError(f"{name} must have shape {what}, got shape {tuple(x.shape)}")
    elif ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have shape {what}, got shape {tuple(x.shape)}")
    if x.ndim == 0 or (x.shape[0] < 1 and not allow_empty):
        raise ValueError(f"{name} must hold at least one item {what}, got shape {tuple(x.shape)}")
    if finite and x.numel():
        check_finite_tensor(x, name, max_abs)
    return x


def check_finite_tensor(x, name: str, max_abs: float | None = MAX_ABS) -> None:
    """Refuse a tensor with NaN, infinity or an entry beyond ``max_abs``, with one reduction.

    ``abs().max()`` is NaN when an entry is NaN (torch's ``max`` propagates it) and
    infinite when one is infinite, so a single pass over the data (one synchronisation)
    decides all three; samplers call this at every step.
    """
    biggest = float(x.detach().abs().max())
    if not math.isfinite(biggest):
        raise ValueError(f"{name} must be finite, but it contains NaN or infinity")
    _check_magnitude(biggest, name, max_abs)

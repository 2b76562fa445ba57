"""Input validation shared by every module.

Each helper raises :class:`TypeError` for a value of the wrong kind and
:class:`ValueError` for a value of the right kind but the wrong content, and
names the offending argument in the message, so that a student who passes a
wrong shape or a negative bandwidth is told which argument to fix.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_points",
    "check_positive",
    "check_positive_int",
    "check_choice",
]


def as_points(x, name: str, dim: int | None = 2, allow_empty: bool = False) -> np.ndarray:
    """Return ``x`` as a finite float64 array of shape ``(n, dim)``.

    Parameters
    ----------
    x : array_like, shape (n, dim)
        Points, one per row.
    name : str
        The argument's name, used in error messages.
    dim : int or None, default 2
        Required number of columns; ``None`` accepts any.
    allow_empty : bool, default False
        Whether ``n = 0`` is accepted.

    Returns
    -------
    numpy.ndarray, shape (n, dim), dtype float64

    Raises
    ------
    TypeError
        If ``x`` is not numeric.
    ValueError
        If ``x`` has the wrong shape or contains NaN or infinity.
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}")
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged input
        raise ValueError(f"{name} must be a rectangular array: {exc}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise TypeError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real-valued, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim != 2 or (dim is not None and arr.shape[1] != dim):
        want = f"(n, {dim})" if dim is not None else "(n, d)"
        raise ValueError(f"{name} must have shape {want}, got shape {arr.shape}")
    if arr.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} must contain at least one point, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, but it contains NaN or infinity")
    return arr


def check_positive(value, name: str) -> float:
    """Return ``value`` as a float after checking it is finite and ``> 0``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If ``value`` is NaN, infinite or not strictly positive.
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        else:
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an int after checking it is an integer ``>= 1``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (floats such as ``10.0`` are refused).
    ValueError
        If ``value < 1``.
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


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

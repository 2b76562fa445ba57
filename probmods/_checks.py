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
    "as_tensor",
    "check_positive",
    "check_positive_int",
    "check_choice",
    "check_seed",
    "module_dtype",
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


def module_dtype(module, default=None):
    """The floating dtype of a module's first parameter (``default`` for a plain callable)."""
    parameters = getattr(module, "parameters", None)
    if callable(parameters):
        for p in parameters():
            if p.is_floating_point():
                return p.dtype
    return default


def as_tensor(x, name: str, trailing: tuple | None = None, ndim: int | None = None, dtype=None,
              finite: bool = True, what: str | None = None, integers: str | None = None):
    """Return ``x`` as a floating-point :class:`torch.Tensor` after checking its shape.

    What students have at hand just works: NumPy arrays, float64 tensors from
    ``torch.from_numpy`` and integer tensors are converted (to ``dtype``, typically the
    model's, when given; otherwise integers become the default float dtype and floats
    keep theirs). Complex, boolean-free non-numeric or object input is refused.

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
        Refuse NaN and infinity.
    what : str, optional
        Shape description for messages, such as ``"(B, 2)"``.
    integers : str, optional
        When given, integer input is refused with a :class:`TypeError` whose message ends
        with this hint (images stored as ``uint8`` in [0, 255] are not floats in [0, 1]).

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
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
        if np.iscomplexobj(arr):
            raise TypeError(f"{name} must be real-valued, got dtype {arr.dtype}")
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
    if x.ndim == 0 or x.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one item {what}, got shape {tuple(x.shape)}")
    if finite and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must be finite, but it contains NaN or infinity")
    return x


def check_seed(seed, name: str = "seed") -> int:
    """Return an int-like seed (Python or NumPy integer) as an ``int`` in ``[0, 2**63)``.

    The package's one randomness convention for integer seeds; ``bool``, floats and
    strings are refused with a :class:`TypeError`.
    """
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer seed, got {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed < 2**63:
        raise ValueError(f"{name} must be in [0, 2**63), got {seed}")
    return seed

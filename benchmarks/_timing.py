"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import time


def best_of(fn, repeat: int, warmup: int = 1):
    """Run ``fn`` ``warmup`` times untimed, then ``repeat`` times; return (best seconds, last result)."""
    result = None
    for _ in range(warmup):
        result = fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def interleaved_best(fns, rounds: int):
    """Best time of each function over ``rounds`` rounds, each running every function once in
    order, so that a slow spell of the machine hits all of them alike."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def restores_torch_threads(fn):
    """Decorator: a benchmark may change torch's intra-op threads; put them back afterwards,
    so the benchmarks that follow in the same process measure with the default."""
    import functools

    from probmods.utils import torch_threads

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with torch_threads(None):
            return fn(*args, **kwargs)

    return wrapper

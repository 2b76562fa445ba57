"""The NCE sweep of HW3-T12: analytic gradient vs BFGS with numerical gradients.

Both sides fit the same data, noise and initial guesses (``nce_sweep`` draws them
from ``(seed, J, repetition)`` only) with ``scipy.optimize.minimize(method="BFGS")``
on the same vectorised objective; the reference lets BFGS difference the objective
(forward differences, one extra evaluation per parameter per gradient), the subject
passes the analytic gradient. The reference is timed on one sample size (J = 1000,
50 repetitions, both variants: 100 fits) and compared with the subject on the same
subset; the full 600-fit sweep is timed for the subject only and the reference's
full time is extrapolated from the subset ratio.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from probmods.estimation import nce_sweep  # noqa: E402


def _timed(**kwargs):
    t0 = time.perf_counter()
    res = nce_sweep(ml_reference=False, **kwargs)
    return time.perf_counter() - t0, res


def run():
    t_sweep, full = _timed()
    t_sub, sub = _timed(js=(1000,))
    t_ref, ref = _timed(js=(1000,), gradient="numerical")
    ok = ~(sub["known_failed"] | ref["known_failed"] | sub["free_failed"] | ref["free_failed"])
    diff = max(
        np.abs(sub["known_means"][ok] - ref["known_means"][ok]).max(),
        np.abs(sub["free_means"][ok] - ref["free_means"][ok]).max(),
    )
    print(f"full sweep (600 fits, analytic gradient): {t_sweep:.2f} s (fits alone {full['time_nce']:.2f} s)")
    print(f"J = 1000 subset (100 fits): analytic {t_sub:.2f} s, numerical gradients {t_ref:.2f} s")
    print(f"max |difference| of the estimates on the subset: {diff:.1e}")
    if diff > 1e-3:
        raise SystemExit(f"the two optimisers disagree: max |difference| {diff:.2e}")
    if t_sweep > 30:
        raise SystemExit(f"the sweep took {t_sweep:.1f} s, over its 30 s budget")
    ratio = t_ref / t_sub
    return (
        f"bench nce-sweep: {ratio:.1f}x vs BFGS with numerical gradients "
        f"(timed on the J=1000 subset, 100 fits: {t_sub:.2f} s vs {t_ref:.2f} s; "
        f"full 600-fit sweep {t_sweep:.1f} s, reference extrapolated to ~{t_sweep * ratio:.0f} s; "
        f"max |diff| of estimates {diff:.0e})"
    )


if __name__ == "__main__":
    print(run())

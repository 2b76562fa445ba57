"""The numerical kernels that the docs build pins, so that its numbers are the same on every
x86-64 machine with AVX2 (with the same library versions).

NumPy, OpenBLAS, PyTorch (ATen, oneDNN) and MKL each pick their vector kernels at run time
from what the processor offers. AVX-512 kernels add in another order than AVX2 ones, so the
last bits of a sum differ, and a long computation that feeds its results back (a trained flow,
a thousand-step Markov chain) ends at visibly different numbers. Measured on the flows
chapter's depth page (``gallery/flows/plot_05_depth.py``, same seeds and code), the mean test
NLL of K = 2 minus K = 4 was:

- on the AVX-512 machines that built the site until 2026-11: K = 4 better "by several paired
  standard errors" (the page's text then, with a guard z > 3);
- -0.221, or -4.7 paired standard errors (K = 2 better), on an AVX2-only machine (AMD EPYC,
  Zen 3) with its default kernels (the same flows numbers as with the pins below);
- +0.238, or +5.8 standard errors (K = 4 better; K = 4's share of test points in a collapsed
  tail 0.50% instead of 1.80%), on that machine with ``OPENBLAS_CORETYPE=Sandybridge``
  (OpenBLAS's AVX kernels). K = 4 still had the lower median gap (0.298 against 0.469) and
  training NLL (2.303 against 2.639), as in the other two runs.

Six pages' guards failed on the AVX2 machine (flows 4, 5, 6 and 8, Langevin 2 and 3). The
pages' prose and guards quote one machine's numbers, so the build fixes every library to its
AVX2 kernels (the x86-64-v3 level, which both kinds of machine seen so far have), with the
environment variables below. On that AVX2 machine OpenBLAS, NumPy, ATen and oneDNN already
ran these kernels, but ``MKL_CBWR`` moved the EBM chains (EBM page 4's nearest-digit distance:
3.4 -> 3.3); on an AVX-512 machine the pins are meant to make it compute as an AVX2 one (not
yet run on one). The thread count is the other half: the docs build runs each example on one
thread (``probmods.utils._gallery_reset``), the downloads session with ``OMP_NUM_THREADS=1``.

``noxfile.py`` puts :data:`PINNED` into the environment of the sessions that compute the
pages' numbers (docs, downloads, minimum, tests, train-ebm); ``docs/conf.py`` calls
:func:`problems` and stops the build with the reason when the kernels in use are not these.
"""

from __future__ import annotations

import platform
from pathlib import Path

PINNED = {
    "OPENBLAS_CORETYPE": "Haswell",  # NumPy's and SciPy's OpenBLAS: the AVX2 kernels
    # NumPy's own loops: no AVX-512, by NumPy 2.4's names and by 1.26's (the minimum session);
    # each version ignores the other's names with an ImportWarning, which Python hides by default
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX "
                                "AVX512_CNL AVX512_ICL AVX512_SPR",
    "ATEN_CPU_CAPABILITY": "avx2",  # PyTorch's vectorised ATen kernels
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # PyTorch's convolutions (oneDNN)
    "MKL_CBWR": "AVX2",  # PyTorch's matrix products (MKL, conditional numerical reproducibility)
}


def has_avx2() -> bool:
    """Whether this is an x86-64 Linux machine with AVX2 and FMA (where :data:`PINNED` applies)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:  # not Linux: leave the libraries' own choice
        return False
    return "avx2" in flags and "fma" in flags


def pinned_env() -> dict[str, str]:
    """:data:`PINNED` on a machine that has AVX2, else nothing (the libraries choose)."""
    return dict(PINNED) if has_avx2() else {}


def problems() -> list[str]:
    """Why the kernels in use are not the pinned ones (empty when they are, or cannot be pinned here)."""
    import os

    if not has_avx2():
        return []
    found = [f"{k}={os.environ.get(k)!r} (expected {v!r})" for k, v in PINNED.items() if os.environ.get(k) != v]
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    if capability != "AVX2":
        found.append(f"PyTorch runs its {capability} kernels, not AVX2")
    from threadpoolctl import threadpool_info

    for lib in threadpool_info():
        if lib.get("internal_api") == "openblas" and lib.get("architecture") != "Haswell":
            found.append(f"{Path(lib['filepath']).name} runs its {lib.get('architecture')} kernels, not Haswell")
    return found

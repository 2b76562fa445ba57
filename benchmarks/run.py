"""Run every benchmark in this folder and print one summary line per benchmark.

Usage: ``python benchmarks/run.py [name ...]`` (names are the ``bench_<name>.py``
files; all by default). Each benchmark times its subject and its reference side
by side in the same process, so the printed ratio does not depend on the machine's
load at another moment.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main(argv):
    files = sorted(HERE.glob("bench_*.py"))
    if argv:
        files = [f for f in files if f.stem.removeprefix("bench_") in argv]
        if not files:
            raise SystemExit(f"no benchmark named {argv}")
    lines = []
    for path in files:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        t0 = time.perf_counter()
        line = module.run()
        print(f"[{path.stem} took {time.perf_counter() - t0:.1f} s]", flush=True)
        lines.append(line)
    print("\nSummary")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:])

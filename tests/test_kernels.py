"""``tools/kernels.py``: the numerical kernels that the docs build pins, and the check that stops it."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("kernels", ROOT / "tools" / "kernels.py")
kernels = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kernels)

needs_avx2 = pytest.mark.skipif(not kernels.has_avx2(), reason="the kernels are pinned only where AVX2 exists")


def _problems_in_fresh_process(env):
    """``problems()`` in a new interpreter started with ``env`` (the libraries read it when they load)."""
    code = (
        "import importlib.util, sys; "
        f"s = importlib.util.spec_from_file_location('k', {str(ROOT / 'tools' / 'kernels.py')!r}); "
        "k = importlib.util.module_from_spec(s); s.loader.exec_module(k); "
        "import numpy, torch; torch.ones(2) @ torch.ones(2); numpy.ones((3, 3)) @ numpy.ones(3); "
        "print('\\n'.join(k.problems()))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@needs_avx2
def test_the_pinned_environment_passes_the_check():
    env = {k: v for k, v in os.environ.items() if k not in kernels.PINNED}
    assert _problems_in_fresh_process({**env, **kernels.pinned_env()}) == ""


@needs_avx2
def test_the_check_names_every_variable_missing_and_a_kernel_that_differs():
    env = {k: v for k, v in os.environ.items() if k not in kernels.PINNED}
    found = _problems_in_fresh_process({**env, "OPENBLAS_CORETYPE": "Sandybridge"})
    for name in kernels.PINNED:
        assert name in found
    assert "Sandybridge kernels, not Haswell" in found  # NumPy's OpenBLAS, as loaded


def test_pinned_env_is_the_table_or_nothing():
    assert kernels.pinned_env() in ({}, kernels.PINNED)
    assert kernels.pinned_env() is not kernels.PINNED  # a copy: the table stays as written
    assert (kernels.pinned_env() == kernels.PINNED) == kernels.has_avx2()


def test_no_check_where_nothing_can_be_pinned(monkeypatch):
    monkeypatch.setattr(kernels, "has_avx2", lambda: False)
    assert kernels.pinned_env() == {} and kernels.problems() == []


def test_the_sessions_that_compute_the_pages_numbers_pin_the_kernels():
    """noxfile.py: docs, downloads (and its standalone runs), minimum, tests and train-ebm run
    with NUMERIC, never with the unpinned ENV; bench keeps the machine's fastest kernels."""
    import ast

    tree = ast.parse((ROOT / "noxfile.py").read_text())
    funcs = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    names = {f: {n.id for n in ast.walk(funcs[f]) if isinstance(n, ast.Name)} for f in funcs}
    for name in ("docs", "downloads", "_run_standalone", "minimum", "tests", "train_ebm"):
        assert "NUMERIC" in names[name] and "ENV" not in names[name], name
    assert "ENV" in names["bench"] and "NUMERIC" not in names["bench"]


def test_the_landing_page_gives_readers_the_pinned_variables():
    """docs/index.md's export lines are PINNED plus one thread, no more and no less."""
    import re
    import shlex

    text = (ROOT / "docs" / "index.md").read_text()
    exported = {}
    for line in re.findall(r"^export (.+)$", text, flags=re.M):
        exported.update(dict(item.split("=", 1) for item in shlex.split(line)))
    assert exported == {**kernels.PINNED, "OMP_NUM_THREADS": "1"}

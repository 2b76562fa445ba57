import hashlib
from pathlib import Path

import matplotlib
import pytest

from probmods.utils import torch_threads

matplotlib.use("Agg")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op torch thread for every test module: the tensors are small, and on a
    loaded 2-core machine a second thread makes them many times slower. Restored after."""
    with torch_threads(1):
        yield


_PACKAGE = Path(__file__).resolve().parents[1] / "probmods"


def _package_digest() -> dict:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(_PACKAGE.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(autouse=True, scope="session")
def package_is_not_written():
    """No test may write into the package (a test once overwrote the shipped energy weights)."""
    before = _package_digest()
    yield
    after = _package_digest()
    changed = sorted(str(p.relative_to(_PACKAGE)) for p in set(before) | set(after) if before.get(p) != after.get(p))
    assert not changed, f"the tests changed files of the package: {changed}"

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

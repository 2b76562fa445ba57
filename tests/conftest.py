import matplotlib
import pytest
import torch

matplotlib.use("Agg")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op torch thread for every test module: the tensors are small, and on a
    loaded 2-core machine a second thread makes them many times slower. Restored after."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)

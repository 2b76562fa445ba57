"""The shared validation layer, and the common inputs it lets through (float64, NumPy, int seeds)."""

import numpy as np
import pytest
import torch

from probmods._checks import as_tensor, check_seed, module_dtype


def test_as_tensor_converts_what_students_have():
    a = as_tensor(np.ones((3, 2)), "x", trailing=(2,))
    assert isinstance(a, torch.Tensor) and a.dtype == torch.float64
    b = as_tensor(torch.ones(3, 2, dtype=torch.int64), "x", trailing=(2,))
    assert b.dtype == torch.get_default_dtype()
    c = as_tensor(torch.ones(3, 2, dtype=torch.float64), "x", trailing=(2,), dtype=torch.float32)
    assert c.dtype == torch.float32
    same = torch.ones(3, 2)
    assert as_tensor(same, "x", trailing=(2,), dtype=torch.float32) is same  # no copy when nothing changes


@pytest.mark.parametrize(
    ("bad", "exc", "match"),
    [
        (None, TypeError, "points"),
        ("abc", TypeError, "points"),
        (np.ones((3, 2), dtype=complex), TypeError, "real-valued"),
        (torch.ones(3, 2, dtype=torch.complex64), TypeError, "real-valued"),
        (np.array([["a", "b"]], dtype=object), TypeError, "numeric"),
        (np.ones((3, 3)), ValueError, r"shape \(B, 2\)"),
        (np.ones((0, 2)), ValueError, "at least one"),
        (np.array([[np.nan, 0.0]]), ValueError, "finite"),
    ],
)
def test_as_tensor_refuses_bad_input_naming_the_argument(bad, exc, match):
    with pytest.raises(exc, match=match):
        as_tensor(bad, "points", trailing=(2,))


def test_check_seed():
    assert check_seed(np.int64(7)) == 7 and check_seed(np.uint8(3)) == 3 and check_seed(0) == 0
    for bad in (True, 1.0, "1", None):
        with pytest.raises(TypeError, match="my_seed"):
            check_seed(bad, "my_seed")
    for bad in (-1, 2**64):
        with pytest.raises(ValueError, match="seed"):
            check_seed(bad)


def test_module_dtype():
    assert module_dtype(torch.nn.Linear(2, 2)) == torch.float32
    assert module_dtype(torch.nn.Linear(2, 2).double()) == torch.float64
    assert module_dtype(lambda x: x) is None and module_dtype(lambda x: x, torch.float16) == torch.float16


def test_float64_and_numpy_inputs_just_work_on_the_models():
    """What torch.from_numpy gives (float64) is cast to the model's dtype instead of crashing."""
    from probmods.ebm.model import EnergyCNN, SamplerEnergy
    from probmods.flows import CouplingFlow
    from probmods.score import make_score_net, sliced_score_matching

    torch.manual_seed(0)
    flow = CouplingFlow(2)
    x = np.random.default_rng(0).standard_normal((5, 2))
    lp64 = flow.log_probability(torch.from_numpy(x))
    lp32 = flow.log_probability(torch.from_numpy(x).float())
    assert lp64.dtype == torch.float32 and torch.allclose(lp64, lp32)
    assert torch.allclose(flow.log_probability(x), lp32)  # a NumPy array too
    y, ld = flow.layers[0](torch.from_numpy(x))
    assert y.dtype == torch.float32 and ld.shape == (5,)
    loss = sliced_score_matching(make_score_net(), torch.from_numpy(x), generator=torch.Generator().manual_seed(0))
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    energy = SamplerEnergy(EnergyCNN(8), temperature=1e-3)
    imgs = np.random.default_rng(1).random((2, 1, 28, 28))
    assert torch.allclose(energy(torch.from_numpy(imgs)), energy(torch.from_numpy(imgs).float()))


def test_numpy_integer_seeds_are_accepted_where_seeds_are():
    from probmods.ebm.denoise import add_noise

    x = torch.zeros(2, 1, 28, 28)
    assert torch.equal(add_noise(x, 0.1, seed=np.int64(7)), add_noise(x, 0.1, seed=7))
    with pytest.raises(TypeError, match="seed"):
        add_noise(x, 0.1, seed=7.0)


def test_empty_and_malformed_containers_fail_clearly():
    """Inputs that used to end in StopIteration, IndexError or NaN now name the argument."""
    from probmods.ebm.data import train_test_split
    from probmods.ebm.pretrained import export_energy
    from probmods.flows import fit_toy_flow
    from probmods.gmm import mode_weights
    from probmods.plotting import plot_flow_fits, plot_flow_losses

    with pytest.raises(ValueError, match="samples and means must not be empty"):
        mode_weights(np.zeros((0, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="labels must be one-dimensional"):
        train_test_split(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="fits must be a non-empty dict"):
        plot_flow_losses({})
    with pytest.raises(ValueError, match="fits must hold at least one"):
        plot_flow_fits([], [], None)
    with pytest.raises(ValueError, match="num_test must be at least 2"):
        fit_toy_flow("Moons", num_test=1, epochs=1, progress=False)
    with pytest.raises(ValueError, match="kind"):
        export_energy([], "energy.pt", kind="bogus")
    with pytest.raises(TypeError, match="out must be a path"):
        export_energy([], None)  # no default: a call never overwrites the shipped weights

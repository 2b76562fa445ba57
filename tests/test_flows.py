"""Coupling flows against autograd Jacobians, the change of variables and the handout's train loop.

Everything that compares numbers runs in float64 with non-trivial scale factors:
``scale_factor`` is initialised to 0, which makes every layer a pure shift with
log-determinant 0, so the tests draw it from a normal distribution instead.
"""

import copy
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.autograd.functional import jacobian
from torch.distributions import MultivariateNormal
from torch.utils.data import DataLoader, TensorDataset, random_split

from probmods import _flow_engine
from probmods.datasets import ToyDataset, sample_2d_datasets, toy_log_density
from probmods.flows import (
    CouplingFlow,
    CouplingLayer,
    StandardNormal,
    TrainResult,
    fit_toy_flow,
    log_density_on_grid,
    train,
)
from probmods.grids import Grid2D

F64 = torch.float64
MASKS = {"keep-x": [1.0, 0.0], "keep-y": [0.0, 1.0]}
KS = [1, 2, 3, 4]


def make_layer(mask, seed=0, sf_std=1.0):
    torch.manual_seed(seed)
    layer = CouplingLayer(torch.tensor(mask)).double()
    torch.nn.init.normal_(layer.scale_factor, std=sf_std)
    return layer


def make_flow(num_layers, seed=0, sf_std=1.0):
    torch.manual_seed(seed)
    flow = CouplingFlow(num_layers).double()
    for layer in flow.layers:
        torch.nn.init.normal_(layer.scale_factor, std=sf_std)
    return flow


def points(n, seed=0, scale=2.0):
    return scale * torch.randn(n, 2, dtype=F64, generator=torch.Generator().manual_seed(seed))


def flow_forward(flow, z):
    """f = f_K o ... o f_1, the layers applied from the first."""
    for layer in flow.layers:
        z, _ = layer(z)
    return z


def flow_inverse(flow, x):
    """f^{-1}, the layer inverses applied from the last."""
    for layer in reversed(flow.layers):
        x, _ = layer.inverse(x)
    return x


def logabsdet(J):
    return torch.linalg.slogdet(J).logabsdet




@pytest.fixture(params=[torch.float32, torch.float64], ids=["default-float32", "default-float64"])
def default_dtype(request):
    """Run under either default dtype (restored afterwards): a float64 model must not depend on it."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(request.param)
    yield request.param
    torch.set_default_dtype(old)


# --- CouplingLayer -------------------------------------------------------------


@pytest.mark.parametrize("mask", MASKS.values(), ids=MASKS.keys())
def test_layer_inverse_and_forward_are_inverse(mask):
    layer = make_layer(mask, seed=1, sf_std=2.0)
    x = points(400, seed=2)
    with torch.no_grad():
        y, log_det = layer(x)
        x_back, inv_log_det = layer.inverse(y)
        y_back, _ = layer(layer.inverse(y)[0])
    assert y.dtype == F64 and y.shape == (400, 2) and log_det.shape == (400,)
    assert (log_det.abs() > 1e-3).float().mean() > 0.9  # the scales are not trivial
    torch.testing.assert_close(x_back, x, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(y_back, y, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(inv_log_det, -log_det, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mask", MASKS.values(), ids=MASKS.keys())
def test_layer_keeps_the_masked_coordinate(mask):
    layer = make_layer(mask, seed=3)
    a = mask.index(1.0)
    x = points(50, seed=4)
    with torch.no_grad():
        y, _ = layer(x)
        x_back, _ = layer.inverse(x)
    assert torch.equal(y[:, a], x[:, a])
    assert torch.equal(x_back[:, a], x[:, a])
    assert not torch.allclose(y[:, 1 - a], x[:, 1 - a])


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.sampled_from(list(MASKS.values())),
    st.floats(0.1, 3.0),
    st.lists(st.tuples(st.floats(-6, 6), st.floats(-6, 6)), min_size=1, max_size=8),
)
def test_layer_round_trip_property(seed, mask, sf_std, pts):
    layer = make_layer(mask, seed=seed, sf_std=sf_std)
    x = torch.tensor(pts, dtype=F64)
    with torch.no_grad():
        y, log_det = layer(x)
        x_back, inv_log_det = layer.inverse(y)
        y_back, _ = layer(layer.inverse(x)[0])
    torch.testing.assert_close(x_back, x, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(y_back, x, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(inv_log_det, -log_det, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mask", MASKS.values(), ids=MASKS.keys())
def test_layer_log_det_equals_autograd_jacobian(mask):
    layer = make_layer(mask, seed=5, sf_std=2.0)
    a, b = mask.index(1.0), mask.index(0.0)
    for x in points(6, seed=6):
        J = jacobian(lambda v: layer(v[None])[0][0], x)
        y, log_det = layer(x[None])
        # triangular: the kept coordinate depends on itself only, with slope 1
        assert J[a, b] == 0.0 and J[a, a] == 1.0
        torch.testing.assert_close(J[b, b], torch.exp(log_det[0]), rtol=1e-12, atol=0)
        torch.testing.assert_close(logabsdet(J), log_det[0], rtol=1e-12, atol=1e-14)

        J_inv = jacobian(lambda v: layer.inverse(v[None])[0][0], y[0].detach())
        _, inv_log_det = layer.inverse(y.detach())
        assert J_inv[a, b] == 0.0 and J_inv[a, a] == 1.0
        torch.testing.assert_close(logabsdet(J_inv), inv_log_det[0], rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(inv_log_det[0], -log_det[0], rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(J_inv @ J, torch.eye(2, dtype=F64), rtol=0, atol=1e-12)


def test_new_layer_is_a_pure_shift():
    layer = CouplingLayer(torch.tensor([1.0, 0.0]))
    assert torch.equal(layer.scale_factor.detach(), torch.zeros(2))
    assert not layer.mask.requires_grad
    _, log_det = layer(torch.randn(10, 2))
    assert torch.equal(log_det, torch.zeros(10))


# --- CouplingFlow --------------------------------------------------------------


@pytest.mark.parametrize("K", KS)
def test_flow_structure(K):
    flow = CouplingFlow(K)
    assert flow.num_layers == K and len(flow.layers) == K
    for i, layer in enumerate(flow.layers):
        assert layer.mask.tolist() == [1.0 - i % 2, float(i % 2)]  # layer i keeps coordinate i % 2
    assert isinstance(flow.prior, StandardNormal) and flow.prior.dim == 2


@pytest.mark.parametrize("K", KS)
def test_flow_log_probability_is_the_change_of_variables(K):
    flow = make_flow(K, seed=10 + K)
    prior = MultivariateNormal(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64))
    x = points(5, seed=K)
    with torch.no_grad():
        z = flow_inverse(flow, x)
        log_p = flow.log_probability(x)
        analytic_log_det = log_p - flow.prior.log_prob(z)
        torch.testing.assert_close(flow_forward(flow, z), x, rtol=1e-12, atol=1e-12)
    assert analytic_log_det.abs().min() > 1e-3  # not a volume-preserving flow
    for i in range(len(x)):
        J_inv = jacobian(lambda v: flow_inverse(flow, v[None])[0], x[i])
        J = jacobian(lambda v: flow_forward(flow, v[None])[0], z[i])
        torch.testing.assert_close(logabsdet(J_inv), analytic_log_det[i], rtol=1e-11, atol=1e-12)
        torch.testing.assert_close(logabsdet(J), -analytic_log_det[i], rtol=1e-11, atol=1e-12)
        torch.testing.assert_close(log_p[i], prior.log_prob(z[i]) + logabsdet(J_inv), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("K", KS)
def test_sample_x_log_prob_equals_log_probability(K, default_dtype):
    flow = make_flow(K, seed=20 + K)
    torch.manual_seed(0)
    x, log_p = flow.sample_x(300)
    assert x.shape == (300, 2) and log_p.shape == (300,) and x.dtype == log_p.dtype == F64
    with torch.no_grad():
        torch.testing.assert_close(log_p, flow.log_probability(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("K", KS)
def test_sample_x_each_step_applies_the_layers(K, default_dtype):
    flow = make_flow(K, seed=30 + K)
    torch.manual_seed(4)
    steps = flow.sample_x_each_step(64)
    assert len(steps) == K + 1
    assert all(s.shape == (64, 2) and s.dtype == F64 for s in steps)
    torch.manual_seed(4)
    torch.testing.assert_close(steps[0], flow.prior.sample((64,), dtype=F64), rtol=0, atol=0)
    with torch.no_grad():
        for k, layer in enumerate(flow.layers):
            torch.testing.assert_close(steps[k + 1], layer(steps[k])[0], rtol=0, atol=0)
        torch.testing.assert_close(steps[-1], flow_forward(flow, steps[0]), rtol=0, atol=0)
    torch.manual_seed(4)
    x, _ = flow.sample_x(64)
    torch.testing.assert_close(steps[-1], x, rtol=0, atol=0)


@pytest.mark.parametrize("K", KS)
def test_flow_density_integrates_to_one(K):
    flow = make_flow(K, seed=40 + K)
    g = Grid2D((-8, 8), (-8, 8), 300, 300)
    with torch.no_grad():
        log_p = flow.log_probability(torch.from_numpy(g.points)).numpy()
    standard = -0.5 * (g.points**2).sum(1) - math.log(2 * math.pi)
    assert np.abs(log_p - standard)[np.abs(g.points).max(1) < 2].max() > 0.1  # not the prior
    assert g.integrate(np.exp(log_p)) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_log_density_on_grid_is_log_probability_as_an_image(dtype):
    flow = make_flow(2, seed=3).to(dtype)
    g = Grid2D((-3, 3), (-2, 2), nx=7, ny=5)
    image = log_density_on_grid(flow, g)
    assert image.shape == (5, 7) and image.dtype == np.float64
    with torch.no_grad():
        ref = flow.log_probability(torch.from_numpy(g.points).to(dtype)).double().numpy()
    np.testing.assert_array_equal(image, g.reshape(ref))
    assert image[0, 6] == ref[6]  # row-major: a row is one y, x increasing


def test_fit_toy_flow_follows_the_handout_seeds_and_scores_against_the_exact_density():
    fit = fit_toy_flow("Moons", num_samples=200, num_layers=2, epochs=2, num_test=500, progress=False)
    torch.manual_seed(8)
    data = ToyDataset("Moons", num_samples=200)
    model = CouplingFlow(2)
    _, train_losses, valid_losses = quiet_train(model, data, epochs=2)
    assert fit.train_losses == train_losses and fit.valid_losses == valid_losses
    np.testing.assert_array_equal(fit.data, data.data)
    test = sample_2d_datasets("Moons", 500, seed=1)
    with torch.no_grad():
        log_q = fit.model.log_probability(torch.from_numpy(test).float()).double().numpy()
    log_p = toy_log_density("Moons", test)
    assert fit.test_nll == pytest.approx(-log_q.mean(), rel=1e-12)
    assert fit.entropy == pytest.approx(-log_p.mean(), rel=1e-12)
    assert fit.kl == pytest.approx(fit.test_nll - fit.entropy, rel=1e-9)
    assert fit.kl_median == pytest.approx(np.median(log_p - log_q), rel=1e-12)
    assert 0 < fit.kl_se < abs(fit.kl) and 0 <= fit.tail_fraction <= 1
    assert "Moons" in repr(fit)
    with pytest.raises(ValueError, match="test_seed"):
        fit_toy_flow("Moons", test_seed=0)


@pytest.mark.parametrize("K", [1, 3])
def test_float32_flow_matches_float64(K):
    flow64 = make_flow(K, seed=50 + K)
    flow32 = copy.deepcopy(flow64).float()
    x = points(100, seed=1)
    with torch.no_grad():
        lp32 = flow32.log_probability(x.float())
        assert lp32.dtype == torch.float32
        torch.testing.assert_close(lp32.double(), flow64.log_probability(x), rtol=1e-5, atol=1e-5)


# --- StandardNormal ------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_standard_normal_log_prob_equals_multivariate_normal(dtype):
    z = 3 * torch.randn(200, 2, dtype=dtype, generator=torch.Generator().manual_seed(0))
    ref = MultivariateNormal(torch.zeros(2, dtype=dtype), torch.eye(2, dtype=dtype)).log_prob(z)
    got = StandardNormal().log_prob(z)
    assert got.dtype == dtype and got.shape == (200,)
    torch.testing.assert_close(got, ref)


def test_standard_normal_other_dims_and_sampling():
    z = torch.randn(7, 3, dtype=F64)
    ref = MultivariateNormal(torch.zeros(3, dtype=F64), torch.eye(3, dtype=F64)).log_prob(z)
    torch.testing.assert_close(StandardNormal(3).log_prob(z), ref, rtol=1e-14, atol=1e-14)
    d = StandardNormal(2)
    assert d.sample().shape == (2,)
    assert d.sample((4, 5)).shape == (4, 5, 2)
    assert d.sample((3,), dtype=F64).dtype == F64
    torch.manual_seed(1)
    a = d.sample((1000,))
    torch.manual_seed(1)
    assert torch.equal(a, torch.randn(1000, 2))
    assert repr(d) == "StandardNormal(dim=2)"
    with pytest.raises(ValueError, match="dim must be >= 1"):
        StandardNormal(0)


# --- the NumPy engine ------------------------------------------------------------


def torch_grads_in_engine_layout(flow, params):
    """The module's .grad laid out like params.grad (the mirror of FlowParams.pull)."""
    out = np.zeros_like(params.grad)
    for layer, (a, b), g in zip(flow.layers, params.axes, params.views(out), strict=True):
        for k, net in enumerate((layer.s_func, layer.t_func)):
            g["W1"][k] = net[0].weight.grad[:, a].numpy()
            g["b1"][k] = net[0].bias.grad.numpy()
            g["W2"][k] = net[2].weight.grad.numpy()
            g["b2"][k] = net[2].bias.grad.numpy()
            g["w3"][k] = net[4].weight.grad[b, :].numpy()
            g["b3"][k] = net[4].bias.grad[b].numpy()
        g["sf"][...] = layer.scale_factor.grad[b].numpy()
    return out


def engine_batch(n=64, seed=0):
    moons = sample_2d_datasets("Moons", n, seed=seed)
    return moons + 0.5 * np.random.default_rng(seed).normal(size=(n, 2))


@pytest.mark.parametrize("K", [1, 2, 4])
@pytest.mark.parametrize("n", [1, 64])
def test_engine_loss_and_grad_equal_autograd(K, n):
    flow = make_flow(K, seed=60 + K, sf_std=1.5)
    y = engine_batch(n, seed=K)
    params = _flow_engine.FlowParams(flow)
    y_copy = y.copy()
    loss = _flow_engine.loss_and_grad(params, y)
    np.testing.assert_array_equal(y, y_copy)  # the input is not modified

    flow.zero_grad()
    ref = -flow.log_probability(torch.from_numpy(y)).mean()
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-13)
    expected = torch_grads_in_engine_layout(flow, params)
    assert np.abs(expected).max() > 1e-2
    np.testing.assert_allclose(params.grad, expected, rtol=1e-12, atol=1e-14 * np.abs(expected).max())

    # the entries the engine leaves out have an exactly zero gradient, so Adam never moves them
    for layer, (a, b) in zip(flow.layers, params.axes, strict=True):
        assert layer.mask.grad is None
        assert layer.scale_factor.grad[a] == 0
        for net in (layer.s_func, layer.t_func):
            assert torch.all(net[0].weight.grad[:, b] == 0)
            assert torch.all(net[4].weight.grad[a, :] == 0) and net[4].bias.grad[a] == 0


@pytest.mark.parametrize("K", [1, 2, 4])
def test_engine_log_prob_equals_log_probability(K):
    flow = make_flow(K, seed=70 + K, sf_std=1.5)
    params = _flow_engine.FlowParams(flow)
    assert params.dtype == np.float64
    assert params.axes == [(i % 2, 1 - i % 2) for i in range(K)]
    y = engine_batch(200, seed=K)
    with torch.no_grad():
        ref = flow.log_probability(torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(_flow_engine.log_prob(params, y), ref, rtol=1e-13, atol=1e-13)


def test_engine_in_float32_follows_the_module():
    flow = make_flow(2, seed=3).float()
    params = _flow_engine.FlowParams(flow)
    assert params.dtype == np.float32 and params.flat.dtype == np.float32
    y = engine_batch(64).astype(np.float32)
    loss = _flow_engine.loss_and_grad(params, y)
    assert params.grad.dtype == np.float32
    flow.zero_grad()
    ref = -flow.log_probability(torch.from_numpy(y)).mean()
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-5)
    expected = torch_grads_in_engine_layout(flow, params)
    np.testing.assert_allclose(params.grad, expected, rtol=1e-3, atol=1e-5 * np.abs(expected).max())


def test_flow_params_push_pull_round_trip():
    flow = make_flow(3, seed=80)
    before = copy.deepcopy(flow.state_dict())
    params = _flow_engine.FlowParams(flow)
    assert params.flat.size == 3 * params.size_per_layer
    params.push()  # push(pull()) changes nothing
    for key, value in flow.state_dict().items():
        assert torch.equal(value, before[key]), key

    # push a new flat array: the module follows, the entries outside the layout stay as they were
    new = params.flat + np.random.default_rng(0).normal(scale=0.1, size=params.flat.shape)
    params.push(new)
    np.testing.assert_array_equal(_flow_engine.FlowParams(flow).flat, new)
    np.testing.assert_array_equal(params.flat, _flow_engine.FlowParams(make_flow(3, seed=80)).flat)
    for i, (layer, (a, b)) in enumerate(zip(flow.layers, params.axes, strict=True)):
        old = {k.removeprefix(f"layers.{i}."): v for k, v in before.items() if k.startswith(f"layers.{i}.")}
        assert torch.equal(layer.mask, old["mask"])
        assert layer.scale_factor[a] == old["scale_factor"][a]
        for name in ("s_func", "t_func"):
            net = getattr(layer, name)
            assert torch.equal(net[0].weight[:, b], old[f"{name}.0.weight"][:, b])
            assert torch.equal(net[4].weight[a], old[f"{name}.4.weight"][a])
            assert net[4].bias[a] == old[f"{name}.4.bias"][a]
    y = engine_batch(50)
    with torch.no_grad():
        ref = flow.log_probability(torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(_flow_engine.log_prob(_flow_engine.FlowParams(flow), y), ref, rtol=1e-13)


def test_flow_params_views_share_memory():
    params = _flow_engine.FlowParams(make_flow(2, seed=1))
    params.flat[:] = np.arange(params.flat.size)
    assert params.layers[1]["sf"] == params.flat[2 * params.size_per_layer - 1]
    assert params.layers[0]["W1"][0, 0] == 0.0 and params.layers[1]["W1"][0, 0] == params.size_per_layer
    params.grad[:] = 1.0
    assert all(np.all(v == 1.0) for layer in params.grad_layers for v in layer.values())


@pytest.mark.parametrize("lr", [1e-3, 0.05])
def test_engine_adam_equals_torch_adam(lr):
    rng = np.random.default_rng(0)
    M = rng.normal(size=(12, 12))
    A = M @ M.T / 12 + 0.1 * np.eye(12)
    c = rng.normal(size=12)
    x0 = rng.normal(size=12)

    x = x0.copy()
    opt = _flow_engine.Adam(x, lr=lr)
    theta = torch.tensor(x0, requires_grad=True)
    ref = torch.optim.Adam([theta], lr=lr)
    A_t, c_t = torch.from_numpy(A), torch.from_numpy(c)
    for _ in range(20):
        opt.step(A @ x - c)  # gradient of x'Ax/2 - c'x
        ref.zero_grad()
        (0.5 * theta @ A_t @ theta - c_t @ theta).backward()
        ref.step()
    assert opt.step_count == 20
    assert opt.params is x  # updated in place, so FlowParams' views follow
    assert np.abs(x - x0).max() > 10 * lr
    np.testing.assert_allclose(x, theta.detach().numpy(), rtol=1e-13, atol=1e-15)


# --- train ---------------------------------------------------------------------


def handout_train(model, data, epochs, batch_size, lr):
    """The handout's train loop (as in benchmarks/bench_flows.py), on a TensorDataset."""
    dataset = TensorDataset(data)
    lengths = [int(len(data) * 0.9), len(data) - int(len(data) * 0.9)]
    train_set, valid_set = random_split(dataset, lengths)
    train_loader = DataLoader(train_set, batch_size=batch_size)
    valid_loader = DataLoader(valid_set, batch_size=batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    train_losses, valid_losses = [], []
    for _ in range(epochs):
        epoch_loss = 0
        for (batch,) in train_loader:
            loss = -model.log_probability(batch).mean(0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item()
        train_losses.append(epoch_loss / len(train_loader))
        with torch.no_grad():
            valid = [-model.log_probability(batch).mean(0).item() for (batch,) in valid_loader]
        valid_losses.append(sum(valid) / len(valid))
    return train_losses, valid_losses


def moons64(n, seed=0):
    """Moons in float64, rounded to float32 values (train casts its data through the default dtype)."""
    return torch.from_numpy(sample_2d_datasets("Moons", n, seed=seed).astype(np.float32)).double()


def quiet_train(model, data, **kw):
    return train(model, data, progress=False, verbose=False, **kw)


@pytest.mark.parametrize("engine", ["numpy", "autograd"])
@pytest.mark.parametrize("K", [1, 3])
def test_train_equals_the_handout_loop(engine, K):
    data = moons64(300)
    torch.manual_seed(K)
    ref_model = CouplingFlow(K).double()
    torch.manual_seed(100)
    ref_train, ref_valid = handout_train(ref_model, data, epochs=3, batch_size=16, lr=1e-2)

    torch.manual_seed(K)
    model = CouplingFlow(K).double()
    torch.manual_seed(100)
    result = quiet_train(model, data, epochs=3, batch_size=16, lr=1e-2, engine=engine)
    model_best, train_losses, valid_losses = result
    np.testing.assert_allclose(train_losses, ref_train, rtol=1e-10)
    np.testing.assert_allclose(valid_losses, ref_valid, rtol=1e-10)
    assert model_best is model  # 30 validation points: the final model
    ref_state = ref_model.state_dict()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, ref_state[key], rtol=1e-9, atol=1e-11, msg=key)


@pytest.mark.parametrize("K", [1, 4])
def test_numpy_and_autograd_engines_agree(K):
    data = moons64(500, seed=3)
    curves = {}
    for engine in ("numpy", "autograd"):
        torch.manual_seed(K)
        model = CouplingFlow(K).double()
        torch.manual_seed(7)
        curves[engine] = quiet_train(model, data, epochs=4, batch_size=64, lr=5e-3, engine=engine)
    for i in (1, 2):
        np.testing.assert_allclose(curves["numpy"][i], curves["autograd"][i], rtol=1e-10)
    assert curves["numpy"].best_epoch == curves["autograd"].best_epoch


@pytest.mark.parametrize("engine", ["numpy", "autograd"])
def test_train_split_is_random_splits_permutation(engine):
    """With a negligible learning rate the losses are those of the initial model on random_split's subsets."""
    data = moons64(97, seed=5)
    model = make_flow(2, seed=9)
    torch.manual_seed(123)
    train_set, valid_set = random_split(TensorDataset(data), [87, 10])
    with torch.no_grad():
        lp = model.log_probability(data)
    train_idx, valid_idx = list(train_set.indices), list(valid_set.indices)
    expected_train = np.mean([-lp[c].mean().item() for c in torch.tensor(train_idx).split(7)])
    expected_valid = np.mean([-lp[c].mean().item() for c in torch.tensor(valid_idx).split(7)])
    other = -lp[torch.tensor(valid_idx).flip(0)[:7]].mean().item()
    torch.manual_seed(123)
    _, train_losses, valid_losses = quiet_train(model, data, epochs=1, batch_size=7, lr=1e-300, engine=engine)
    assert train_losses[0] == pytest.approx(expected_train, rel=1e-12)
    assert valid_losses[0] == pytest.approx(expected_valid, rel=1e-12)
    assert other != pytest.approx(expected_valid, rel=1e-6)  # batching in another order would show


def test_train_is_reproducible_and_depends_on_the_global_seed():
    data = moons64(200)
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(5)
        model = CouplingFlow(2)
        torch.manual_seed(seed)
        runs.append(quiet_train(model, data, epochs=2))
    assert runs[0][1] == runs[1][1] and runs[0][2] == runs[1][2]
    assert runs[0][2] != runs[2][2]


def test_train_keeps_float64_data():
    data = torch.from_numpy(engine_batch(100, seed=2))
    torch.manual_seed(0)
    model = make_flow(2, seed=1)
    torch.manual_seed(3)
    _, valid_set = random_split(TensorDataset(data), [90, 10])
    with torch.no_grad():
        expected = -model.log_probability(data[list(valid_set.indices)]).mean().item()
    torch.manual_seed(3)
    _, _, valid_losses = quiet_train(model, data, epochs=1, batch_size=64, lr=1e-300)
    assert valid_losses[0] == pytest.approx(expected, rel=1e-12)


def test_training_decreases_the_loss_on_moons():
    torch.manual_seed(0)
    model = CouplingFlow(4)
    torch.manual_seed(0)
    result = quiet_train(model, ToyDataset("Moons", num_samples=300, seed=0), epochs=20)
    model_best, train_losses, valid_losses = result
    assert isinstance(result, TrainResult) and isinstance(result, tuple) and len(result) == 3
    assert len(train_losses) == len(valid_losses) == 20
    assert all(type(v) is float and math.isfinite(v) for v in train_losses + valid_losses)
    assert train_losses[-1] < train_losses[0] - 0.2
    assert valid_losses[-1] < valid_losses[0] - 0.2
    assert model_best is model  # 30 validation points: "weak statistics", the final model
    assert result.best_epoch == int(np.argmin(valid_losses))
    assert result.min_valid_loss == min(valid_losses)


def test_small_validation_set_returns_the_final_model_even_when_an_earlier_epoch_was_best():
    data = moons64(400, seed=1)
    torch.manual_seed(0)
    model = CouplingFlow(2).double()
    torch.manual_seed(0)
    result = quiet_train(model, data, epochs=6, lr=0.05)
    assert result.best_epoch == int(np.argmin(result[2]))
    assert result.min_valid_loss == min(result[2])
    assert result.best_epoch < 5, "the setting no longer has an early best epoch"
    assert result[0] is model


@pytest.mark.parametrize("engine", ["numpy", "autograd"])
def test_large_validation_set_returns_the_best_model(engine):
    data = moons64(5560, seed=0)  # 556 validation points
    torch.manual_seed(2)
    model = CouplingFlow(2).double()
    torch.manual_seed(11)
    _, valid_set = random_split(TensorDataset(data), [5004, 556])
    valid = data[list(valid_set.indices)]
    torch.manual_seed(11)
    epochs = 4
    model_best, train_losses, valid_losses = result = quiet_train(model, data, epochs=epochs, lr=0.03, engine=engine)
    assert result.best_epoch == int(np.argmin(valid_losses)) and result.min_valid_loss == min(valid_losses)
    assert result.best_epoch < epochs - 1, "the setting no longer has an early best epoch"
    assert model_best is not model and isinstance(model_best, CouplingFlow)

    def valid_loss(m):
        with torch.no_grad():
            return np.mean([-m.log_probability(c).mean().item() for c in valid.split(64)])

    assert valid_loss(model_best) == pytest.approx(result.min_valid_loss, rel=1e-12)
    assert valid_loss(model) == pytest.approx(valid_losses[-1], rel=1e-12)
    assert valid_losses[-1] > result.min_valid_loss


def test_train_accepts_dataset_tensor_and_array():
    ds = ToyDataset("Circles", num_samples=120, seed=2)
    curves = []
    for data in (ds, ds.tensor, ds.data.astype(np.float32), ds.data.astype(np.float32).tolist()):
        torch.manual_seed(0)
        model = CouplingFlow(1)
        torch.manual_seed(1)
        curves.append(quiet_train(model, data, epochs=2, batch_size=32)[1:])
    assert all(c == curves[0] for c in curves[1:])


def test_train_verbose_prints_the_best_epoch(capsys):
    torch.manual_seed(0)
    result = train(CouplingFlow(1), moons64(60), epochs=2, progress=False)
    out = capsys.readouterr().out
    assert f"Best model achieved {result.min_valid_loss:.4f} validation loss at epoch {result.best_epoch}" in out


# --- bad input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("num_layers", "exc", "match"),
    [
        (0, ValueError, "num_layers must be >= 1"),
        (-1, ValueError, "num_layers must be >= 1"),
        (2.5, TypeError, "num_layers must be an integer"),
        (True, TypeError, "num_layers must be an integer"),
        ("2", TypeError, "num_layers must be an integer"),
    ],
)
def test_bad_num_layers(num_layers, exc, match):
    with pytest.raises(exc, match=match):
        CouplingFlow(num_layers)


@pytest.mark.parametrize(
    "mask",
    [
        torch.tensor([0.5, 0.5]),
        [1.0, 0.0, 0.0],
        torch.tensor([[1.0, 0.0]]),
        [2.0, 0.0],
        [1.0, -1.0],
        [1.0, 1.0],
        [0.0, 0.0],
    ],
)
def test_bad_mask(mask):
    with pytest.raises(ValueError, match=r"mask must be \[1, 0\] or \[0, 1\]"):
        CouplingLayer(mask)


@pytest.mark.parametrize("method", ["forward", "inverse"])
def test_bad_layer_input(method):
    layer = CouplingLayer(torch.tensor([1.0, 0.0]))
    name = "x" if method == "forward" else "y"
    call = getattr(layer, method)
    with pytest.raises(ValueError, match=rf"{name} must have shape \(B, 2\), got shape \(5, 3\)"):
        call(torch.zeros(5, 3))
    with pytest.raises(ValueError, match=rf"{name} must have shape \(B, 2\)"):
        call(torch.zeros(2))
    with pytest.raises(TypeError, match=f"{name} must be a tensor or array"):
        call("points")
    with pytest.raises(TypeError, match=f"{name} must be real-valued"):
        call(torch.zeros(5, 2, dtype=torch.complex64))
    # what students have at hand is cast to the layer's dtype: NumPy, float64, integers
    ref = call(torch.zeros(5, 2))[0]
    for ok in (np.zeros((5, 2)), torch.zeros(5, 2, dtype=torch.float64), torch.zeros(5, 2, dtype=torch.int64)):
        out = call(ok)[0]
        assert out.dtype == ref.dtype and torch.equal(out, ref)


def test_bad_flow_input():
    flow = CouplingFlow(2)
    with pytest.raises(ValueError, match=r"x must have shape \(B, 2\)"):
        flow.log_probability(torch.zeros(4, 3))
    with pytest.raises(TypeError, match="x must be a tensor or array"):
        flow.log_probability(None)
    assert flow.log_probability([[0.0, 0.0]]).shape == (1,)
    for method in (flow.sample_x, flow.sample_x_each_step):
        with pytest.raises(ValueError, match="num_samples must be >= 1"):
            method(0)
        with pytest.raises(ValueError, match="num_samples must be >= 1"):
            method(-3)
        with pytest.raises(TypeError, match="num_samples must be an integer"):
            method(2.0)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"epochs": 0}, ValueError, "epochs must be >= 1"),
        ({"epochs": 2.5}, TypeError, "epochs must be an integer"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"batch_size": -4}, ValueError, "batch_size must be >= 1"),
        ({"lr": 0}, ValueError, "lr must be a finite number > 0"),
        ({"lr": -1e-3}, ValueError, "lr must be a finite number > 0"),
        ({"lr": float("nan")}, ValueError, "lr must be a finite number > 0"),
        ({"lr": "fast"}, TypeError, "lr must be a real number"),
        ({"engine": "gpu"}, ValueError, "unknown engine 'gpu'"),
        ({"engine": None}, TypeError, "engine must be a string"),
        ({"data": np.zeros((20, 3))}, ValueError, r"data must have shape \(N, 2\), got shape \(20, 3\)"),
        ({"data": torch.zeros(20)}, ValueError, r"data must have shape \(N, 2\)"),
        ({"data": np.full((20, 2), np.nan)}, ValueError, "data must be finite"),
        ({"data": np.array([[0.0, np.inf]] * 20)}, ValueError, "data must be finite"),
        ({"data": np.zeros((1, 2))}, ValueError, "data must contain at least 2 points"),
        ({"data": 3.0}, TypeError, "data must be a ToyDataset, a tensor or an array"),
        ({"model": torch.nn.Linear(2, 2)}, TypeError, "model must be a CouplingFlow"),
    ],
)
def test_bad_train_arguments(kwargs, exc, match):
    args = {"model": CouplingFlow(1), "data": np.zeros((20, 2))} | kwargs
    model, data = args.pop("model"), args.pop("data")
    with pytest.raises(exc, match=match):
        quiet_train(model, data, **args)


def test_train_reports_divergence():
    torch.manual_seed(0)
    data = torch.randn(200, 2) * 50
    with pytest.raises(FloatingPointError, match="training diverged"):
        train(CouplingFlow(2), data, epochs=200, lr=1.0, progress=False, verbose=False)


def test_train_rejects_text_data():
    with pytest.raises(TypeError, match="data must be"):
        train(CouplingFlow(2), "abc", epochs=1, progress=False, verbose=False)


# --- bounded log-scale (scale_bound) ---------------------------------------------

BOUNDS = [0.5, 2.0]


def set_raw_scale(layer, median_abs):
    """Set scale_factor so that the raw log-scale has median |s_raw| = median_abs on points(200)."""
    b = int(torch.argmin(layer.mask))
    with torch.no_grad():
        layer.s_func[4].bias.zero_()  # s_raw then changes sign across the data: small and large |s_raw|
        x = points(200, seed=0).to(layer.mask.dtype)
        r = layer.s_func(x * layer.mask)[:, b].abs().median()
        layer.scale_factor.fill_(median_abs / r.item())


def make_bounded_flow(num_layers, bound, seed=0):
    """A float64 flow whose raw log-scales are often beyond the bound (median |s_raw| = 1.5 c)."""
    torch.manual_seed(seed)
    flow = CouplingFlow(num_layers, scale_bound=bound).double()
    for layer in flow.layers:
        set_raw_scale(layer, 1.5 * bound)
    return flow


def twin_layers(mask, bound, seed, median_abs=None):
    """The handout's layer and the bounded layer with the same weights (median |s_raw| = 2 c by default)."""
    torch.manual_seed(seed)
    plain = CouplingLayer(torch.tensor(mask)).double()
    set_raw_scale(plain, 2 * bound if median_abs is None else median_abs)
    bounded = CouplingLayer(torch.tensor(mask), scale_bound=bound).double()
    bounded.load_state_dict(plain.state_dict())
    return plain, bounded


@pytest.mark.parametrize("bound", BOUNDS)
@pytest.mark.parametrize("mask", MASKS.values(), ids=MASKS.keys())
def test_bounded_layer_is_the_clamped_handout_layer(mask, bound):
    plain, bounded = twin_layers(mask, bound, seed=90)
    a, b = mask.index(1.0), mask.index(0.0)
    x = points(500, seed=91)
    with torch.no_grad():
        _, s_raw = plain(x)  # the handout's log-det is its raw log-scale
        y, log_det = bounded(x)
        t = plain.t_func(x * plain.mask)[:, b]
    assert (s_raw.abs() > 2 * bound).float().mean() > 0.2  # the clamp acts on many points
    torch.testing.assert_close(log_det, bound * torch.tanh(s_raw / bound), rtol=1e-14, atol=1e-15)
    assert log_det.abs().max() <= bound
    assert torch.equal(y[:, a], x[:, a])
    torch.testing.assert_close(y[:, b], x[:, b] * torch.exp(log_det) + t, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("bound", BOUNDS)
@pytest.mark.parametrize("mask", MASKS.values(), ids=MASKS.keys())
def test_bounded_layer_log_det_equals_autograd_jacobian(mask, bound):
    _, layer = twin_layers(mask, bound, seed=92)
    a, b = mask.index(1.0), mask.index(0.0)
    clamped = 0
    for x in points(8, seed=93):
        J = jacobian(lambda v: layer(v[None])[0][0], x)
        y, log_det = layer(x[None])
        clamped += bool(log_det.abs()[0] > 0.9 * bound)
        assert J[a, b] == 0.0 and J[a, a] == 1.0
        torch.testing.assert_close(J[b, b], torch.exp(log_det[0]), rtol=1e-12, atol=0)
        torch.testing.assert_close(logabsdet(J), log_det[0], rtol=1e-12, atol=1e-14)

        J_inv = jacobian(lambda v: layer.inverse(v[None])[0][0], y[0].detach())
        _, inv_log_det = layer.inverse(y.detach())
        assert J_inv[a, b] == 0.0 and J_inv[a, a] == 1.0
        torch.testing.assert_close(logabsdet(J_inv), inv_log_det[0], rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(inv_log_det[0], -log_det[0], rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(J_inv @ J, torch.eye(2, dtype=F64), rtol=0, atol=1e-12)
    assert clamped >= 2  # some points sit near the bound, where tanh is far from linear


@pytest.mark.parametrize("bound", BOUNDS)
@pytest.mark.parametrize("mask", MASKS.values(), ids=MASKS.keys())
def test_bounded_layer_inverse_and_forward_are_inverse(mask, bound):
    _, layer = twin_layers(mask, bound, seed=94)
    x = points(400, seed=95, scale=4.0)
    with torch.no_grad():
        y, log_det = layer(x)
        x_back, inv_log_det = layer.inverse(y)
        y_back, _ = layer(layer.inverse(x)[0])
    torch.testing.assert_close(x_back, x, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(y_back, x, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(inv_log_det, -log_det, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("K", [1, 3])
def test_bounded_flow_log_probability_is_the_change_of_variables(K):
    flow = make_bounded_flow(K, 1.0, seed=96 + K)
    x = points(4, seed=K)
    with torch.no_grad():
        z = flow_inverse(flow, x)
        log_p = flow.log_probability(x)
        torch.testing.assert_close(flow_forward(flow, z), x, rtol=1e-12, atol=1e-12)
    for i in range(len(x)):
        J_inv = jacobian(lambda v: flow_inverse(flow, v[None])[0], x[i])
        torch.testing.assert_close(log_p[i], flow.prior.log_prob(z[i]) + logabsdet(J_inv), rtol=1e-12, atol=1e-12)
    torch.manual_seed(0)
    xs, log_ps = flow.sample_x(200)
    with torch.no_grad():
        torch.testing.assert_close(log_ps, flow.log_probability(xs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("K", [1, 2, 4])
def test_scale_bound_none_is_the_handout_flow_exactly(K):
    flows = []
    for kwargs in ({}, {"scale_bound": None}, {"scale_bound": 2.0}):
        torch.manual_seed(K)
        flows.append(CouplingFlow(K, **kwargs))
    plain, none, bounded = flows
    # the bound draws no random numbers: same seed, same weights
    for f in (none, bounded):
        for (k1, v1), (k2, v2) in zip(plain.state_dict().items(), f.state_dict().items(), strict=True):
            assert k1 == k2 and torch.equal(v1, v2)
    assert plain.scale_bound is none.scale_bound is None and bounded.scale_bound == 2.0
    assert all(layer.scale_bound is None for layer in none.layers)
    assert all(layer.scale_bound == 2.0 for layer in bounded.layers)
    assert "scale_bound=2" in repr(bounded) and "scale_bound" not in repr(plain)
    for f in (plain, none, bounded):
        for layer in f.layers:
            torch.nn.init.normal_(layer.scale_factor, std=3.0, generator=torch.Generator().manual_seed(0))
    x = points(64, seed=5).float()
    with torch.no_grad():
        assert torch.equal(none.log_probability(x), plain.log_probability(x))
        assert not torch.allclose(bounded.log_probability(x), plain.log_probability(x))
        # the handout's formula, written out
        layer = none.layers[0]
        m = layer.mask
        s = layer.s_func(x * m) * layer.scale_factor * (1 - m)
        y_ref = x * m + (1 - m) * (x * torch.exp(s) + layer.t_func(x * m) * (1 - m))
        y, log_det = layer(x)
        assert torch.equal(y, y_ref) and torch.equal(log_det, s.sum(-1))


def test_a_huge_bound_is_the_handout_layer():
    plain, bounded = twin_layers([1.0, 0.0], 1e8, seed=97, median_abs=1.0)
    x = points(100, seed=98)
    with torch.no_grad():
        for method in ("forward", "inverse"):
            (y1, ld1), (y2, ld2) = getattr(plain, method)(x), getattr(bounded, method)(x)
            torch.testing.assert_close(y2, y1, rtol=1e-13, atol=1e-13)
            torch.testing.assert_close(ld2, ld1, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("bound", BOUNDS)
@pytest.mark.parametrize("K", [1, 2, 4])
@pytest.mark.parametrize("n", [1, 64])
def test_engine_loss_and_grad_equal_autograd_with_a_bound(K, n, bound):
    flow = make_bounded_flow(K, bound, seed=100 + K)
    y = engine_batch(n, seed=K)
    params = _flow_engine.FlowParams(flow)
    assert params.bounds == [bound] * K
    loss = _flow_engine.loss_and_grad(params, y)

    flow.zero_grad()
    ref = -flow.log_probability(torch.from_numpy(y)).mean()
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-13)
    expected = torch_grads_in_engine_layout(flow, params)
    assert np.abs(expected).max() > 1e-2
    np.testing.assert_allclose(params.grad, expected, rtol=1e-12, atol=1e-14 * np.abs(expected).max())
    with torch.no_grad():
        ref_lp = flow.log_probability(torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(_flow_engine.log_prob(params, y), ref_lp, rtol=1e-13, atol=1e-13)
    # the last layer (the first inverse) sees y itself: there the clamp acts on many points
    last = flow.layers[-1]
    with torch.no_grad():
        yt = torch.from_numpy(y) * last.mask
        s_raw = (last.s_func(yt) * last.scale_factor)[:, int(torch.argmin(last.mask))]
    assert (s_raw.abs() > bound).float().mean() > 0.2 or n == 1


def test_engine_with_a_bound_in_float32_follows_the_module():
    flow = make_bounded_flow(2, 1.0, seed=3).float()
    params = _flow_engine.FlowParams(flow)
    y = engine_batch(64).astype(np.float32)
    loss = _flow_engine.loss_and_grad(params, y)
    flow.zero_grad()
    ref = -flow.log_probability(torch.from_numpy(y)).mean()
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-5)
    expected = torch_grads_in_engine_layout(flow, params)
    np.testing.assert_allclose(params.grad, expected, rtol=1e-3, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize("K", [1, 4])
def test_numpy_and_autograd_engines_agree_with_a_bound(K):
    data = moons64(500, seed=3)
    curves = {}
    for engine in ("numpy", "autograd"):
        torch.manual_seed(K)
        model = CouplingFlow(K, scale_bound=0.5).double()
        torch.manual_seed(7)
        curves[engine] = quiet_train(model, data, epochs=4, batch_size=64, lr=5e-2, engine=engine)
        states = {k: v.clone() for k, v in curves[engine][0].state_dict().items()}
        curves[engine] = (*curves[engine], states)
    for i in (1, 2):
        np.testing.assert_allclose(curves["numpy"][i], curves["autograd"][i], rtol=1e-10)
    for key, value in curves["numpy"][3].items():
        torch.testing.assert_close(value, curves["autograd"][3][key], rtol=1e-9, atol=1e-11, msg=key)


def test_fit_toy_flow_passes_the_bound_and_keeps_the_seeds():
    kw = {"num_samples": 200, "num_layers": 2, "epochs": 1, "num_test": 300, "progress": False}
    plain = fit_toy_flow("Moons", **kw)
    bounded = fit_toy_flow("Moons", scale_bound=1.5, **kw)
    assert plain.model.scale_bound is None and bounded.model.scale_bound == 1.5
    assert all(layer.scale_bound == 1.5 for layer in bounded.model.layers)
    torch.manual_seed(8)
    data = ToyDataset("Moons", num_samples=200)
    model = CouplingFlow(2, scale_bound=1.5)
    _, train_losses, valid_losses = quiet_train(model, data, epochs=1)
    assert bounded.train_losses == train_losses and bounded.valid_losses == valid_losses
    # one epoch from scale_factor = 0 stays in the clamp's nearly linear range: almost the handout's flow
    assert bounded.train_losses[0] == pytest.approx(plain.train_losses[0], rel=1e-3)


@pytest.mark.parametrize(
    ("bound", "exc", "match"),
    [
        (0, ValueError, "scale_bound must be a finite number"),
        (-1.0, ValueError, "scale_bound must be a finite number"),
        (float("nan"), ValueError, "scale_bound must be a finite number"),
        (float("inf"), ValueError, "scale_bound must be a finite number"),
        ("2", TypeError, "scale_bound must be a real number"),
        (True, TypeError, "scale_bound must be a real number"),
    ],
)
def test_bad_scale_bound(bound, exc, match):
    with pytest.raises(exc, match=match):
        CouplingLayer(torch.tensor([1.0, 0.0]), scale_bound=bound)
    with pytest.raises(exc, match=match):
        CouplingFlow(2, scale_bound=bound)

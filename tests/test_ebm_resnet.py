"""The course's own energy network (issue 18, item 5): the handout's ``ResNet(n_channels=1)``.

Randomly initialised checkpoints of the family, saved the handout's way
(``torch.save(model.state_dict(), path)``), must load with the handout's snippet and with
:func:`load_course_energy`, and give the same energies as the network that wrote them.
"""

import copy
import math
import re

import pytest
import torch
import torch.nn.functional as F

from probmods.ebm import ResNet, load_course_energy, load_energy, load_pretrained
from probmods.ebm.model import SamplerEnergy
from probmods.ebm.pretrained import WEIGHTS
from probmods.ebm.resnet import ENV_VAR, CourseEnergy, infer_architecture
from probmods.mcmc import target_from

# a few level tables: one level; downsampling to 7x7 with several blocks; four downsamplings
# through the odd sizes 7 -> 3 -> 1 with another in_conv (5x5, no bias); the handout's dict form
CONFIGS = {
    "one-level": dict(levels_params=[(1, 4, False)]),
    "to-7x7": dict(levels_params=[(2, 4, False), (1, 8, True), (2, 8, True)], width=3),
    "to-1x1": dict(levels_params=[(1, 3, True)] * 4, width=5, kernel_size=5, in_bias=False),
    "dicts": dict(levels_params=[{"n_blocks": 2, "n_channels": 6, "downsample": True},
                                 {"n_blocks": 1, "n_channels": 4, "downsample": False}]),
}


def trained_like(config, seed=0, dtype=torch.float32):
    """A member of the family with random weights, biases included (zero at the handout's init)."""
    torch.manual_seed(seed)
    net = ResNet(n_channels=1, **config).to(dtype)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net.eval()


def save_handout_way(net, path):
    torch.save(net.state_dict(), path)
    return path


def images(n=3, seed=1, dtype=torch.float32):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def reference_energy(state, arch, x):
    """The handout's forward pass written out with functional ops, from the state dict alone."""
    k = arch["kernel_size"]
    h = F.conv2d(x, state["_el.in_conv.weight"], state.get("_el.in_conv.bias"), padding=k // 2)
    for i, level in enumerate(arch["levels_params"]):
        for j in range(level["n_blocks"]):
            p = f"_el.levels.{i}.res_blocks.{j}."
            down = level["downsample"] and j == 0
            r = F.leaky_relu(h, 0.2)
            r = F.conv2d(r, state[p + "conv_1.weight"], state[p + "conv_1.bias"], padding=1)
            r = F.leaky_relu(r, 0.2)
            r = F.conv2d(r, state[p + "conv_2.weight"], state[p + "conv_2.bias"], stride=2 if down else 1, padding=1)
            s = F.conv2d(h, state[p + "shortcut_conv.weight"], state[p + "shortcut_conv.bias"],
                         stride=2 if down else 1) if j == 0 else h
            h = r + s
    h = F.leaky_relu(h, 0.2).sum(dim=(2, 3))
    return h @ state["_el.out_fc.weight"][0]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_handout_snippet_and_loader_agree(name, tmp_path):
    source = trained_like(CONFIGS[name])
    path = save_handout_way(source, tmp_path / "checkpoint.pt")
    # the handout's cell: instantiate, move, eval, then load
    ebm = ResNet(n_channels=1).to("cpu")
    ebm.eval()
    ebm.load_state_dict(torch.load(path, weights_only=True))
    assert not ebm.training and all(not m.training for m in ebm.modules())
    assert ebm.levels_params == source.levels_params
    energy = load_course_energy(path)
    x = images(4)
    e = source(x)
    assert e.shape == (4,) and torch.isfinite(e).all()
    assert torch.equal(ebm(x), e)
    assert torch.equal(energy(x), e)
    assert energy.info["path"] == str(path) and energy.info["levels_params"] == source.levels_params


@pytest.mark.parametrize("name", list(CONFIGS))
def test_forward_is_the_handouts(name):
    net = trained_like(CONFIGS[name], seed=3, dtype=torch.float64)
    state = net.state_dict()
    x = images(2, dtype=torch.float64)
    torch.testing.assert_close(net(x), reference_energy(state, infer_architecture(state), x), rtol=1e-12, atol=1e-12)


def test_parameter_names_and_initialisation_are_the_handouts():
    torch.manual_seed(0)
    net = ResNet(n_channels=1, levels_params=[(2, 4, True)], width=2)
    block0, block1 = "_el.levels.0.res_blocks.0.", "_el.levels.0.res_blocks.1."
    expected = {"_el.in_conv.weight": (2, 1, 3, 3), "_el.in_conv.bias": (2,),
                block0 + "shortcut_conv.weight": (4, 2, 2, 2), block0 + "shortcut_conv.bias": (4,),
                block0 + "conv_1.weight": (4, 2, 3, 3), block0 + "conv_1.bias": (4,),
                block0 + "conv_2.weight": (4, 4, 4, 4), block0 + "conv_2.bias": (4,),
                block1 + "conv_1.weight": (4, 4, 3, 3), block1 + "conv_1.bias": (4,),
                block1 + "conv_2.weight": (4, 4, 3, 3), block1 + "conv_2.bias": (4,),
                "_el.out_fc.weight": (1, 4)}
    state = net.state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == expected
    assert list(state) == list(expected)  # the handout's order: shortcut_conv first in a level's first block
    for key, value in state.items():
        if key.endswith("bias"):
            assert not value.any(), key  # conv biases start at zero
    # Xavier-uniform with gain sqrt(2): bound sqrt(2) * sqrt(6 / (fan_in + fan_out))
    w = state[block0 + "conv_2.weight"]
    bound = math.sqrt(2) * math.sqrt(6 / (4 * 16 + 4 * 16))
    assert w.abs().max() <= bound and w.abs().max() > 0.8 * bound


def test_an_adaptive_network_follows_dtype_mode_and_rebuilds(tmp_path):
    a, b = trained_like(CONFIGS["one-level"]), trained_like(CONFIGS["to-7x7"], seed=2)
    a64, b64 = copy.deepcopy(a).double(), copy.deepcopy(b).double()
    ebm = ResNet(n_channels=1).double()
    assert "adaptive" in repr(ebm) and list(ebm.parameters()) == []
    with pytest.raises(RuntimeError, match="load a checkpoint"):
        ebm(images())
    ebm.load_state_dict(a.state_dict())
    assert all(p.dtype == torch.float64 for p in ebm.parameters()) and ebm.training
    x = images(2, dtype=torch.float64)
    torch.testing.assert_close(ebm(x), a64(x))
    before = list(ebm.parameters())
    ebm.load_state_dict(a.state_dict())  # same architecture: the same parameters, updated in place
    assert all(p is q for p, q in zip(ebm.parameters(), before, strict=True))
    ebm.load_state_dict(b.state_dict())  # another architecture: rebuilt
    assert ebm.levels_params == b.levels_params
    torch.testing.assert_close(ebm(x), b64(x))
    # a fixed network refuses another architecture, as in PyTorch
    with pytest.raises(RuntimeError, match="size mismatch|Missing key|Unexpected key"):
        ResNet(n_channels=1, **CONFIGS["one-level"]).load_state_dict(b.state_dict())
    # inside another module (the sampler energy), loading builds it too
    outer = CourseEnergy(ResNet(n_channels=1))
    outer.load_state_dict(CourseEnergy(b).state_dict())
    assert torch.equal(outer(x.float()), b(x.float()))
    with pytest.raises(ValueError, match="n_channels=1"):
        ResNet(n_channels=1).load_state_dict(ResNet(n_channels=3, levels_params=[(1, 2, False)]).state_dict())
    assert torch.equal(ResNet.from_state_dict(b.state_dict()).eval()(images()), b(images()))


def test_course_energy_is_the_network_at_temperature_one_without_range_term(tmp_path):
    source = trained_like(CONFIGS["to-7x7"])
    energy = load_course_energy(save_handout_way(source, tmp_path / "checkpoint.pt"))
    assert isinstance(energy, SamplerEnergy) and energy.temperature == 1.0 and energy.range_scale == math.inf
    assert not energy.training and not any(p.requires_grad for p in energy.parameters())
    x = 1.5 * images(3) - 0.25  # pixels outside [0, 1]: the shipped model's range term would be > 0
    assert torch.equal(energy.range_term(x), torch.zeros(3))
    assert torch.equal(energy(x), source(x))  # E = +ebm(x): the handout's network returns the energy
    torch.testing.assert_close(energy(x.double()), source(x))  # float64 input is cast
    # the samplers' gradient is grad log p = -grad ebm(x)
    _, grad = target_from(energy=energy).log_prob_and_score(x.clone())
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(source(xg).sum(), xg)
    torch.testing.assert_close(grad, -g)
    with pytest.raises(ValueError, match="shape"):
        energy(torch.rand(3, 28, 28))
    with pytest.raises(TypeError, match="energy_net"):
        CourseEnergy("not a network")


def test_env_var_switches_the_pages_energy(tmp_path, monkeypatch):
    source = trained_like(CONFIGS["one-level"])
    path = save_handout_way(source, tmp_path / "checkpoint.pt")
    monkeypatch.setenv(ENV_VAR, str(path))
    energy = load_energy()
    assert isinstance(energy, CourseEnergy)
    assert torch.equal(energy(images()), source(images()))
    for value in (None, "", "  "):
        if value is None:
            monkeypatch.delenv(ENV_VAR)
        else:
            monkeypatch.setenv(ENV_VAR, value)
        shipped = load_energy()
        assert type(shipped) is SamplerEnergy and shipped.range_scale < math.inf
        assert torch.equal(shipped(images()), load_pretrained()(images()))
    missing = tmp_path / "nowhere.pt"
    monkeypatch.setenv(ENV_VAR, str(missing))
    with pytest.raises(ValueError, match=re.escape(str(missing)) + ".*" + ENV_VAR):
        load_energy()


def _state(**change):
    state = trained_like(CONFIGS["to-7x7"]).state_dict()
    return {**state, **change}


BAD = {
    "empty": lambda p: p.write_bytes(b""),
    "text": lambda p: p.write_text("not a torch file\n"),
    "foreign torch file": lambda p: torch.save({"something": torch.zeros(2)}, p),
    "a list": lambda p: torch.save([torch.zeros(2)], p),
    "probmods' own energy.pt": lambda p: p.write_bytes((WEIGHTS / "energy.pt").read_bytes()),
    "NaN weight": lambda p: torch.save(_state(**{"_el.out_fc.weight": torch.full((1, 8), math.nan)}), p),
    "inf bias": lambda p: torch.save(_state(**{"_el.in_conv.bias": torch.full((3,), math.inf)}), p),
    "integer weight": lambda p: torch.save(_state(**{"_el.out_fc.weight": torch.ones(1, 8, dtype=torch.int64)}), p),
    "wrong shape": lambda p: torch.save(_state(**{"_el.levels.2.res_blocks.1.conv_2.weight": torch.zeros(8, 8, 5, 5)}),
                                        p),
    "missing key": lambda p: torch.save({k: v for k, v in _state().items() if "res_blocks.1.conv_1.bias" not in k}, p),
    "extra key": lambda p: torch.save(_state(**{"_el.head.weight": torch.zeros(2)}), p),
    "three channels": lambda p: torch.save(ResNet(n_channels=3, levels_params=[(1, 2, False)]).state_dict(), p),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_files_raise_value_error_naming_the_path(kind, tmp_path):
    path = tmp_path / f"{kind.replace(' ', '-')}.pt"
    BAD[kind](path)
    with pytest.raises(ValueError, match=re.escape(str(path))):
        load_course_energy(path)


def test_missing_file_and_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "missing.pt"))):
        load_course_energy(tmp_path / "missing.pt")
    with pytest.raises(TypeError, match="path"):
        load_course_energy(3)
    with pytest.raises(TypeError, match="state_dict"):
        infer_architecture([1, 2])
    gap = {k: v for k, v in _state().items() if not k.startswith("_el.levels.1.")}
    with pytest.raises(ValueError, match="numbered"):
        infer_architecture(gap)
    with pytest.raises(ValueError, match="n_blocks"):
        ResNet(levels_params=[(0, 4, False)])
    with pytest.raises(TypeError, match="downsample"):
        ResNet(levels_params=[(1, 4, "yes")])
    with pytest.raises(ValueError, match="levels_params"):
        ResNet(width=8)
    with pytest.raises(ValueError, match="too small"):
        trained_like(CONFIGS["to-1x1"])(torch.rand(1, 1, 1, 1))

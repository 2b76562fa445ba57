"""The shipped files: energy model, judge, noisy digits (all load with weights_only=True)."""

import pytest
import torch

from probmods.ebm import load_judge, load_noisy_digits, load_pretrained
from probmods.ebm.data import load_digits, train_test_split
from probmods.ebm.pretrained import WEIGHTS, make_noisy_digits, training_log


def test_files_load_with_weights_only():
    for name in ("energy.pt", "judge.pt", "noisy_digits.pt", "training_log.pt"):
        torch.load(WEIGHTS / name, weights_only=True)
        assert (WEIGHTS / name).stat().st_size < 3_000_000


def test_pretrained_energy_is_frozen_and_finite():
    energy = load_pretrained()
    assert not energy.training and not any(p.requires_grad for p in energy.parameters())
    assert energy.temperature > 0 and energy.range_scale > 0
    x = torch.rand(5, 1, 28, 28, requires_grad=True)
    e = energy(x)
    assert e.shape == (5,) and torch.isfinite(e).all()
    (g,) = torch.autograd.grad(e.sum(), x)
    assert torch.isfinite(g).all() and g.abs().max() > 0
    real = load_digits()[0][:50]
    assert energy(real).mean() < energy(torch.rand(50, 1, 28, 28)).mean()  # data is more probable than noise
    with pytest.raises(ValueError, match="shape"):
        energy(torch.rand(5, 28, 28))
    with pytest.raises(TypeError, match="divide uint8 images by 255"):
        energy(torch.zeros(5, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(TypeError, match="real-valued"):
        energy(torch.zeros(5, 1, 28, 28, dtype=torch.complex64))
    with pytest.raises(ValueError, match="finite"):
        energy(torch.full((1, 1, 28, 28), float("nan")))


def test_judge_recognises_held_out_digits():
    images, labels = load_digits()
    _, test = train_test_split(labels)
    judge = load_judge()
    with torch.no_grad():
        pred = judge(images[test[::5]]).argmax(1)
    assert (pred == labels[test[::5]]).float().mean() > 0.95


def test_noisy_digits_are_held_out_and_reproducible():
    d = load_noisy_digits()
    _, test = train_test_split(load_digits()[1])
    assert set(d["index"].tolist()) <= set(test.tolist())
    assert d["noisy"].shape == (2, 30, 1, 28, 28) and sorted(d["labels"].tolist()) == sorted(list(range(10)) * 3)
    again = make_noisy_digits()
    for k in d:
        assert torch.equal(d[k], again[k])
    for s, noisy in zip(d["sigmas"].tolist(), d["noisy"], strict=True):
        assert abs((noisy - d["clean"]).std().item() / s - 1) < 0.05


def test_training_log():
    log = training_log()
    assert {"loss", "cd", "e_real", "e_fake", "seconds"} <= set(log)
    assert len(log["loss"]) == len(log["seconds"]) > 1000


def test_evaluate_samples_and_real_digits():
    from probmods.ebm.pretrained import evaluate_samples, format_quality, real_digits

    real, labels = real_digits(40, seed=1)
    assert real.shape == (40, 1, 28, 28) and labels.shape == (40,)
    assert torch.equal(real, real_digits(40, seed=1)[0])
    q = evaluate_samples(real)
    assert q["digit_fraction"] > 0.85 and q["junk_fraction"] == 0 and q["nearest_min"] > 1.0
    noise = evaluate_samples(torch.rand(40, 1, 28, 28))
    assert noise["digit_fraction"] == 0 and noise["frechet"] > 10 * q["frechet"]
    assert "digits" in format_quality(q) and "Frechet" in format_quality(q)
    with pytest.raises(ValueError, match="n must be between"):
        real_digits(1)


# --- the shipped files are checked on load ------------------------------------------

import shutil  # noqa: E402

from probmods.ebm import pretrained as _pretrained  # noqa: E402


def test_manifest_lists_every_shipped_file_with_its_sha256():
    manifest = _pretrained._manifest()
    assert set(manifest) == {p.name for p in WEIGHTS.glob("*.pt")}
    for name, digest in manifest.items():
        assert _pretrained._sha256(WEIGHTS / name) == digest


@pytest.fixture
def weights_copy(tmp_path, monkeypatch):
    """A copy of the shipped weights directory that the loaders use instead of the package's."""
    copy = tmp_path / "weights"
    shutil.copytree(WEIGHTS, copy)
    monkeypatch.setattr(_pretrained, "WEIGHTS", copy)
    return copy


@pytest.mark.parametrize("name, loader", [("energy.pt", load_pretrained), ("judge.pt", load_judge),
                                          ("noisy_digits.pt", load_noisy_digits), ("training_log.pt", training_log)])
def test_a_flipped_byte_in_a_shipped_file_is_refused(weights_copy, name, loader):
    loader()  # the intact copy loads
    data = bytearray((weights_copy / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (weights_copy / name).write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{name}: its sha256 does not match"):
        loader()


def _energy_state():
    return torch.load(WEIGHTS / "energy.pt", weights_only=True)


@pytest.mark.parametrize("tamper, match", [
    (lambda s: s["state_dict"].__setitem__("net.0.bias", s["state_dict"]["net.0.bias"] * float("nan")), "NaN"),
    (lambda s: s["state_dict"].pop("net.0.bias"), "missing keys"),
    (lambda s: s["state_dict"].__setitem__("net.0.bias", torch.zeros(3)), "shape"),
    (lambda s: s.__setitem__("temperature", -1.0), "temperature"),
    (lambda s: s.pop("width"), "not an energy file"),
])
def test_foreign_or_damaged_energy_files_name_the_path(tmp_path, tamper, match):
    state = _energy_state()
    tamper(state)
    path = tmp_path / "mine.pt"
    torch.save(state, path)
    with pytest.raises(ValueError, match=match) as info:
        load_pretrained(path)
    assert str(path) in str(info.value)


def test_empty_missing_and_foreign_files(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.pt: not a weights file"):
        load_pretrained(tmp_path / "empty.pt")
    with pytest.raises(ValueError, match="no such file"):
        load_judge(tmp_path / "absent.pt")
    torch.save({"anything": [1, 2, 3]}, tmp_path / "log.pt")
    with pytest.raises(ValueError, match="not a one-dimensional"):
        training_log(tmp_path / "log.pt")
    torch.save(torch.load(WEIGHTS / "noisy_digits.pt", weights_only=True) | {"labels": torch.zeros(3)},
               tmp_path / "noisy.pt")
    with pytest.raises(ValueError, match="labels"):
        load_noisy_digits(tmp_path / "noisy.pt")
    with pytest.raises(TypeError, match="path must be"):
        load_judge(3)

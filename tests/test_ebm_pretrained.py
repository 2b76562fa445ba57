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

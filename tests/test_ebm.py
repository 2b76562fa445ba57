"""The MNIST energy model: data split, energy, training steps, checkpoints."""

import numpy as np
import pytest
import torch

from probmods.ebm.data import load_digits, train_test_split
from probmods.ebm.model import EnergyCNN, SamplerEnergy, check_images
from probmods.ebm.train import TrainConfig, Trainer

SMALL = dict(width=8, buffer_size=64, batch_size=8, sampler_steps=3)


def test_digits_and_stratified_split():
    images, labels = load_digits()
    assert images.shape == (5000, 1, 28, 28) and images.dtype == torch.float32
    assert float(images.min()) == 0.0 and float(images.max()) == 1.0
    train_idx, test_idx = train_test_split(labels, per_class=100, seed=0)
    assert len(test_idx) == 1000 and len(train_idx) == 4000
    assert not set(train_idx) & set(test_idx)
    assert np.all(np.bincount(labels.numpy()[test_idx]) == 100)
    again, _ = train_test_split(labels, per_class=100, seed=0)
    np.testing.assert_array_equal(train_idx, again)
    with pytest.raises(ValueError, match="per_class must be smaller"):
        train_test_split(labels, per_class=500)


def test_energy_shapes_and_range_term():
    torch.manual_seed(0)
    energy = SamplerEnergy(EnergyCNN(width=8), temperature=0.5, range_scale=0.1)
    x = torch.rand(3, 1, 28, 28)
    e = energy(x)
    assert e.shape == (3,) and torch.isfinite(e).all()
    torch.testing.assert_close(energy.range_term(x), torch.zeros(3))
    y = x.clone()
    y[0, 0, 0, 0] = 1.5
    y[1, 0, 0, 0] = -0.2
    torch.testing.assert_close(energy.range_term(y), torch.tensor([0.25 / 0.02, 0.04 / 0.02, 0.0]))
    torch.testing.assert_close(energy(x), energy.energy_net(x) / 0.5)


@pytest.mark.parametrize(
    ("x", "exc", "match"),
    [
        ("images", TypeError, r"x must be a tensor or array of shape \(B, 1, 28, 28\)"),
        (torch.zeros(1, 28, 28), ValueError, r"x must have shape \(B, 1, 28, 28\)"),
        (torch.zeros(1, 1, 28, 28, dtype=torch.complex64), TypeError, "real-valued"),
        (torch.full((1, 1, 28, 28), float("nan")), ValueError, "finite"),
    ],
)
def test_bad_images(x, exc, match):
    with pytest.raises(exc, match=match):
        check_images(x)


def test_common_image_inputs_are_accepted():
    """NumPy arrays and float64 tensors become float tensors (the model's dtype when given)."""
    assert check_images(np.zeros((1, 1, 28, 28))).dtype == torch.float64
    with pytest.raises(TypeError, match="floating point"):
        check_images(torch.zeros(1, 1, 28, 28, dtype=torch.long))
    assert check_images(torch.zeros(2, 1, 28, 28, dtype=torch.float64), module=EnergyCNN(8)).dtype == torch.float32


def test_bad_energy_parameters():
    with pytest.raises(ValueError, match="temperature"):
        SamplerEnergy(EnergyCNN(8), temperature=0.0)


def _trainer():
    torch.manual_seed(0)
    images = torch.rand(32, 1, 28, 28)
    return Trainer(TrainConfig(**SMALL), images=images)


def test_training_steps_are_finite_and_keep_parameters_trainable():
    t = _trainer()
    for _ in range(3):
        rec = t.step()
    assert t.iteration == 3 and np.isfinite(rec["loss"])
    assert all(p.requires_grad for p in t.net.parameters())
    assert not any(p.requires_grad for p in t.ema.parameters())


def test_training_separates_data_from_chains():
    """A few iterations lower the energy of the data relative to the chains (CD term < 0)."""
    t = _trainer()
    recs = [t.step() for _ in range(25)]
    assert np.mean([r["cd"] for r in recs[-5:]]) < 0


def test_checkpoint_resumes(tmp_path):
    """Resuming continues the run: same weights, optimiser and random streams; the buffer
    is stored in float16, so the continuation agrees up to that rounding."""
    a = _trainer()
    a.step()
    a.save(tmp_path / "ckpt.pt")
    rec_a = a.step()
    b = _trainer()
    b.load(tmp_path / "ckpt.pt")
    rec_b = b.step()
    assert rec_a["loss"] == pytest.approx(rec_b["loss"], rel=1e-2, abs=1e-4)
    for pa, pb in zip(a.net.parameters(), b.net.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, atol=3e-4, rtol=0)
    assert b.iteration == a.iteration == 2


def test_checkpoint_refuses_another_configuration(tmp_path):
    a = _trainer()
    a.save(tmp_path / "ckpt.pt")
    other = Trainer(TrainConfig(**{**SMALL, "alpha": 0.5}), images=torch.rand(32, 1, 28, 28))
    with pytest.raises(ValueError, match="another configuration"):
        other.load(tmp_path / "ckpt.pt")


def test_posterior_term_runs_and_moves_chains_from_the_data():
    torch.manual_seed(0)
    t = Trainer(TrainConfig(**{**SMALL, "posterior_weight": 1.0, "posterior_batch": 4, "posterior_steps": 3}),
                images=torch.rand(32, 1, 28, 28))
    x, chains = t._posterior_chains()
    assert x.shape == chains.shape == (4, 1, 28, 28) and not torch.equal(x, chains)
    rec = t.step()
    assert np.isfinite(rec["loss"]) and np.isfinite(rec["posterior_cd"])
    assert all(p.requires_grad for p in t.net.parameters())


class _Quadratic(torch.nn.Module):
    """E_theta(x) = T |x - m|^2 / (2 s^2): E_theta / T is the exact energy of N(m, s^2 I)."""

    def __init__(self, m, s, temperature):
        super().__init__()
        self.m, self.s, self.t = m, s, temperature

    def forward(self, x):
        return self.t * ((x - self.m) ** 2).flatten(1).sum(1) / (2 * self.s**2)


@pytest.mark.parametrize("scale, zero", [(1.0, True), (2.0, False), (0.5, False)])
def test_dsm_anchor_vanishes_exactly_at_the_smoothed_datas_score(scale, zero):
    """All training images equal m: the data smoothed at sigma is N(m, sigma^2 I), whose energy
    makes the denoising-score-matching loss exactly 0; a wrong scale does not."""
    sigma = 0.05
    m = torch.rand(1, 1, 28, 28)
    t = Trainer(TrainConfig(**{**SMALL, "dsm_weight": 1.0, "dsm_batch": 4, "dsm_sigmas": (sigma, sigma)}),
                images=m.expand(16, 1, 28, 28).clone())
    t.net = _Quadratic(m, sigma * scale, t.config.temperature)
    loss = t._dsm_loss().item()
    assert (loss < 1e-10) == zero
    if not zero:  # sigma grad E - n = n (1/scale^2 - 1): |n|^2 (1/scale^2 - 1)^2 / D in expectation
        assert loss == pytest.approx((1 / scale**2 - 1) ** 2, rel=0.2)


def test_dsm_term_trains_and_is_off_by_default():
    torch.manual_seed(0)
    assert _trainer()._dsm_loss().item() == 0.0
    t = Trainer(TrainConfig(**{**SMALL, "dsm_weight": 1e-3, "dsm_batch": 4}), images=torch.rand(32, 1, 28, 28))
    rec = t.step()
    assert np.isfinite(rec["dsm"]) and rec["dsm"] > 0
    assert all(p.grad is not None for p in list(t.net.parameters())[:-1])


def test_a_new_run_starts_from_another_runs_checkpoint(tmp_path):
    a = _trainer()
    a.step()
    a.save(tmp_path / "ckpt.pt")
    b = Trainer(TrainConfig(**{**SMALL, "posterior_weight": 1.0, "posterior_batch": 4, "posterior_steps": 3}),
                images=torch.rand(32, 1, 28, 28))
    with pytest.raises(ValueError, match="another configuration"):
        b.load(tmp_path / "ckpt.pt")
    b.load(tmp_path / "ckpt.pt", init=True)
    assert b.iteration == 1 and b.config.posterior_weight == 1.0
    for pa, pb in zip(a.net.parameters(), b.net.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
    assert Trainer.saved_config(tmp_path / "ckpt.pt").posterior_weight == 0.0
    wide = Trainer(TrainConfig(**{**SMALL, "width": 2 * SMALL.get("width", 32)}), images=torch.rand(32, 1, 28, 28))
    with pytest.raises(ValueError, match="width"):
        wide.load(tmp_path / "ckpt.pt", init=True)


# --- the judge ------------------------------------------------------------------

from probmods.ebm.judge import JudgeCNN, frechet_distance, judge_report, make_junk, nearest_distance  # noqa: E402


def test_junk_images_are_valid_and_of_four_kinds():
    digits = torch.rand(10, 1, 28, 28)
    junk = make_junk(9, digits, generator=torch.Generator().manual_seed(0))
    assert junk.shape == (9, 1, 28, 28)
    assert float(junk.min()) >= 0.0 and float(junk.max()) <= 1.0
    # the permuted digits keep each digit's pixel values
    perm = make_junk(4, digits[:1].expand(10, 1, 28, 28).contiguous(), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(perm[3].flatten().sort().values, digits[0].flatten().sort().values)



@pytest.mark.parametrize("passes", [1, 3, 4])
def test_junk_smoothing_has_no_border_band(passes):
    # a constant image stays constant (zero padding darkened the border, and the stroke
    # fragments, level sets of smoothed noise, then traced the frame); the blur keeps the mean
    from probmods.ebm.judge import _smooth

    flat = torch.full((2, 1, 28, 28), 0.7, dtype=torch.float64)
    torch.testing.assert_close(_smooth(flat, passes), flat)
    x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = _smooth(x, passes)
    assert out.shape == x.shape
    assert float(out.std()) < float(x.std())
    # interior pixels are the plain separable binomial blur
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=torch.float64) / 16
    ref = torch.nn.functional.conv2d(x, (k[:, None] * k[None, :]).view(1, 1, 5, 5))
    if passes == 1:
        torch.testing.assert_close(out[..., 2:-2, 2:-2], ref)

def test_frechet_distance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    b = rng.normal(size=(4000, 3)) * 2 + 1
    # closed form for N(0, I) vs N(1, 4I) in 3-D: 3 * 1 + 3 * (1 + 4 - 2 * 2) = 6
    assert frechet_distance(a, b) == pytest.approx(6.0, rel=0.1)
    with pytest.raises(ValueError, match="feat_a and feat_b"):
        frechet_distance(a, b[:, :2])


def test_nearest_distance_and_report():
    ref = torch.rand(20, 1, 28, 28)
    d = nearest_distance(ref[:5], ref)
    np.testing.assert_allclose(d, 0.0, atol=1e-12)
    torch.manual_seed(0)
    judge = JudgeCNN().eval()
    rep = judge_report(judge, torch.rand(6, 1, 28, 28), threshold=0.0)
    assert set(rep) >= {"digit_fraction", "junk_fraction", "class_counts", "n_classes", "labels"}
    assert rep["class_counts"].shape == (10,) and len(rep["labels"]) == 6


# --- devices and processes ------------------------------------------------------------


def test_resolve_device():
    from probmods.ebm.train import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    with pytest.raises(TypeError, match="device"):
        resolve_device(3)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no GPU"):
            resolve_device("cuda")


def _ddp_worker(rank, world, init_file, out, steps, resume):
    """One process of a gloo group: (resume,) train, checkpoint, report."""
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        images = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(0))
        t = Trainer(TrainConfig(**SMALL), images=images)
        if resume:
            t.load(out / "ckpt.pt")
        for _ in range(steps):
            t.step()
        t.save(out / "ckpt.pt")
        flat = torch.cat([p.detach().flatten() for p in t.net.parameters()])
        gathered = [torch.empty_like(flat) for _ in range(world)]
        dist.all_gather(gathered, flat)
        torch.save({"same_weights": all(torch.equal(g, gathered[0]) for g in gathered), "shard": len(t.buffer),
                    "iteration": t.iteration, "buffer": t.buffer.clone()}, out / f"rank{rank}.pt")
        # both processes leave together: a process that tears down its group while the other's
        # gloo threads still talk to it can abort ("terminate called without an active exception")
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _spawn(tmp_path, world, steps, resume, tag):
    import torch.multiprocessing as mp

    mp.spawn(_ddp_worker, args=(world, tmp_path / f"init-{tag}", tmp_path, steps, resume), nprocs=world, join=True)
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(world)]


def test_data_parallel_training_over_two_processes_and_resume_with_any_number(tmp_path):
    """Two gloo processes: the gradients are averaged (the weights stay identical in both), each
    holds half the buffer, rank 0 writes the whole buffer; the checkpoint resumes in one process,
    and a one-process checkpoint resumes in two."""
    reports = _spawn(tmp_path, 2, steps=2, resume=False, tag="a")
    assert all(r["same_weights"] for r in reports)
    assert [r["shard"] for r in reports] == [SMALL["buffer_size"] // 2] * 2
    state = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert state["iteration"] == 2 and len(state["buffer"]) == SMALL["buffer_size"]
    torch.testing.assert_close(state["buffer"].float(), torch.cat([r["buffer"] for r in reports]).half().float())
    # resume in one process: the whole buffer, and training goes on
    one = Trainer(TrainConfig(**SMALL), images=torch.rand(32, 1, 28, 28))
    one.load(tmp_path / "ckpt.pt")
    assert len(one.buffer) == SMALL["buffer_size"] and one.iteration == 2
    rec = one.step()
    assert np.isfinite(rec["loss"]) and one.iteration == 3
    one.save(tmp_path / "ckpt.pt")
    # and a one-process checkpoint resumes in two processes
    reports = _spawn(tmp_path, 2, steps=1, resume=True, tag="b")
    assert all(r["same_weights"] for r in reports) and all(r["iteration"] == 4 for r in reports)


def test_batch_sizes_must_split_over_the_processes(monkeypatch):
    import probmods.ebm.train as train_module

    monkeypatch.setattr(train_module, "_distributed", lambda: (0, 3))
    with pytest.raises(ValueError, match="multiple of the number of processes"):
        Trainer(TrainConfig(**SMALL), images=torch.rand(32, 1, 28, 28))

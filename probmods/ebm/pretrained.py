"""The shipped weights: the energy model, the judge, and the 30 noisy held-out digits.

All files live in ``probmods/ebm/weights/`` and load with ``torch.load(..., weights_only=True)``;
the docs build never trains. Reproduce them with

* ``python -m probmods.ebm.train --iterations N`` then :func:`export_energy` (energy model);
* ``python -m probmods.ebm.judge`` (judge);
* ``python -m probmods.ebm.pretrained --noisy-digits`` (noisy digits, from fixed seeds).
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import torch

from .._checks import check_positive_int, check_seed
from .data import load_digits, train_test_split
from .judge import JudgeCNN, sample_quality
from .model import EnergyCNN, SamplerEnergy

__all__ = ["WEIGHTS", "load_pretrained", "load_judge", "load_noisy_digits", "export_energy", "make_noisy_digits",
           "training_log", "evaluate_samples", "real_digits", "format_quality"]

WEIGHTS = Path(__file__).with_name("weights")
NOISE_LEVELS = (50 / 256, 100 / 256)


def _freeze(module):
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def load_pretrained(path: str | Path | None = None) -> SamplerEnergy:
    r"""The trained energy model of MNIST digits, ready for the samplers.

    Returns the sampler-facing energy :math:`E(\mathbf x) = E_\theta(\mathbf x)/T + R(\mathbf x)`
    (:class:`~probmods.ebm.model.SamplerEnergy`): it maps images of shape (B, 1, 28, 28) with
    values in [0, 1] to energies of shape (B,), :math:`p(\mathbf x)\propto e^{-E(\mathbf x)}`.
    The temperature :math:`T` and the pixel-range scale :math:`\rho` are part of the model
    (attributes ``temperature`` and ``range_scale``). In eval mode, parameters frozen, convolution
    weights in channels-last memory format (a forward+backward pass on this CPU is about 1.3x
    faster than with contiguous weights; ``nox -s bench`` measures it).

    Parameters
    ----------
    path : path-like, optional
        Weights file; the shipped ``energy.pt`` by default.

    Examples
    --------
    >>> import torch
    >>> from probmods.ebm import load_pretrained
    >>> energy = load_pretrained()
    >>> x = torch.rand(3, 1, 28, 28, dtype=torch.float64)  # float64 is cast to the model's dtype
    >>> energy(x).shape
    torch.Size([3])
    """
    state = torch.load(Path(path) if path is not None else WEIGHTS / "energy.pt", weights_only=True)
    net = EnergyCNN(int(state["width"]))
    net.load_state_dict(state["state_dict"])
    net.to(memory_format=torch.channels_last)
    energy = SamplerEnergy(net, float(state["temperature"]), float(state["range_scale"]))
    energy.info = {k: v for k, v in state.items() if k != "state_dict"}
    return _freeze(energy)


def load_judge(path: str | Path | None = None) -> JudgeCNN:
    """The 11-class judge (10 digits + "not a digit"), eval mode, frozen; see :mod:`probmods.ebm.judge`."""
    judge = JudgeCNN()
    judge.load_state_dict(torch.load(Path(path) if path is not None else WEIGHTS / "judge.pt", weights_only=True))
    return _freeze(judge)


def load_noisy_digits(path: str | Path | None = None) -> dict:
    """The 30 held-out digits and their noisy versions (the handout's attachment, made here).

    Returns
    -------
    dict
        ``clean`` (30, 1, 28, 28), ``labels`` (30,), ``index`` (30,) into :func:`load_digits`,
        ``sigmas`` (2,) = (50/256, 100/256) and ``noisy`` (2, 30, 1, 28, 28): ``clean + sigma * n``,
        not clipped, noise from fixed seeds.
    """
    return torch.load(Path(path) if path is not None else WEIGHTS / "noisy_digits.pt", weights_only=True)


@functools.lru_cache(maxsize=1)
def _evaluation_sets():
    images, labels = load_digits()
    train, test = train_test_split(labels)
    # held-out digits: even positions are the Fréchet reference, odd ones the "real digits" baseline
    return load_judge(), images[train], images[test[0::2]], images[test[1::2]], labels[test[1::2]]


def evaluate_samples(samples: torch.Tensor, threshold: float = 0.9) -> dict:
    """Judge generated digits with the shipped judge (see :func:`probmods.ebm.judge.sample_quality`).

    The nearest-digit distance is to the 4,000 training digits; the Fréchet distance is to
    500 held-out digits (even positions of the held-out split).

    Parameters
    ----------
    samples : torch.Tensor, shape (n, 1, 28, 28)
    threshold : float, default 0.9

    Returns
    -------
    dict
        ``digit_fraction``, ``junk_fraction``, ``class_counts``, ``n_classes``, ``labels``,
        ``nearest_mean``, ``nearest_min``, ``frechet``.
    """
    judge, train, reference, _, _ = _evaluation_sets()
    return sample_quality(samples, judge, train, reference, threshold)


def real_digits(n: int = 100, seed: int = 0):
    """``n`` held-out digits that neither training nor the Fréchet reference uses: the baseline row.

    Returns
    -------
    images : torch.Tensor, shape (n, 1, 28, 28)
    labels : torch.Tensor, shape (n,)
    """
    *_, pool, labels = _evaluation_sets()
    if not 2 <= n <= len(pool):
        raise ValueError(f"n must be between 2 and {len(pool)}, got {n}")
    idx = torch.randperm(len(pool), generator=torch.Generator().manual_seed(check_seed(seed)))[:n]
    return pool[idx], labels[idx]


def format_quality(q: dict) -> str:
    """One line for a page: digits counted, classes, junk, nearest-digit distance, Fréchet distance."""
    return (f"digits {100 * q['digit_fraction']:3.0f}%  classes {q['n_classes']:2d}  "
            f"junk {100 * q['junk_fraction']:3.0f}%  nearest {q['nearest_mean']:4.1f} (min {q['nearest_min']:3.1f})  "
            f"Frechet {q['frechet']:6.0f}")


def make_noisy_digits(per_class: int = 3, seed: int = 0) -> dict:
    """Draw ``per_class`` held-out digits of every class and add noise at both levels (fixed seeds).

    The digits come from the odd positions of the held-out split, outside the Fréchet reference
    of :func:`evaluate_samples`, so that clean and denoised sets can be compared with it fairly.
    """
    images, labels = load_digits()
    _, test = train_test_split(labels)
    per_class = check_positive_int(per_class, "per_class")
    g = torch.Generator().manual_seed(check_seed(seed))
    test = torch.from_numpy(test[1::2])
    pick = torch.cat([test[labels[test] == c][torch.randperm(int((labels[test] == c).sum()), generator=g)[:per_class]]
                      for c in range(10)])
    clean = images[pick]
    noisy = torch.stack([clean + s * torch.randn(clean.shape, generator=g) for s in NOISE_LEVELS])
    return {"clean": clean, "labels": labels[pick], "index": pick, "sigmas": torch.tensor(NOISE_LEVELS),
            "noisy": noisy}


def export_energy(snapshots, out: str | Path | None = None, kind: str = "ema") -> Path:
    """Write the shipped energy file from training snapshots (the plain average of their ``kind`` weights).

    Parameters
    ----------
    snapshots : list of path-like
        ``weights-NNNNNN.pt`` files written by ``python -m probmods.ebm.train``.
    out : path-like, optional
        ``probmods/ebm/weights/energy.pt`` by default.
    kind : {"ema", "net"}
    """
    from .train import TrainConfig

    if kind not in ("ema", "net"):
        raise ValueError(f"unknown kind {kind!r}; expected one of 'ema', 'net'")
    states = [torch.load(Path(s), weights_only=True) for s in snapshots]
    if not states:
        raise ValueError("snapshots must name at least one file")
    avg = {k: sum(s[kind][k] for s in states) / len(states) for k in states[0][kind]}
    cfg = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in states[0]["config"].items()})
    out = Path(out) if out is not None else WEIGHTS / "energy.pt"
    torch.save({"state_dict": avg, "width": cfg.width, "temperature": cfg.temperature,
                "range_scale": cfg.range_scale, "iterations": [int(s["iteration"]) for s in states],
                "weights": kind}, out)
    return out


def training_log(path: str | Path | None = None) -> dict:
    """The per-iteration log of the shipped model's training run (``training_log.pt``): name -> tensor."""
    return torch.load(Path(path) if path is not None else WEIGHTS / "training_log.pt", weights_only=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write the shipped data files of probmods.ebm.")
    parser.add_argument("--noisy-digits", action="store_true", help="write weights/noisy_digits.pt")
    parser.add_argument("--energy", nargs="+", default=None, metavar="SNAPSHOT",
                        help="average these training snapshots (EMA weights) into weights/energy.pt")
    parser.add_argument("--log", type=Path, default=None, metavar="CHECKPOINT",
                        help="copy the per-iteration log of this training checkpoint to weights/training_log.pt")
    args = parser.parse_args(argv)
    if args.noisy_digits:
        torch.save(make_noisy_digits(), WEIGHTS / "noisy_digits.pt")
    if args.energy:
        print(export_energy(args.energy))
    if args.log:
        import json

        log = json.loads(torch.load(args.log, weights_only=True)["log"])
        keys = [k for k in log[0] if k != "iteration"]
        torch.save({k: torch.tensor([r[k] for r in log], dtype=torch.float32) for k in keys},
                   WEIGHTS / "training_log.pt")


if __name__ == "__main__":
    main()

"""The shipped weights: the energy model, the judge, and the 30 noisy held-out digits.

All files live in ``probmods/ebm/weights/`` and load with ``torch.load(..., weights_only=True)``;
the docs build never trains. Every load checks the file: a shipped file against its sha256 in
``weights/SHA256SUMS`` (a flipped byte is caught), any file against its schema (keys, shapes,
dtypes, finite values); a failure is a :class:`ValueError` that names the path. Reproduce them with

* ``python -m probmods.ebm.train --iterations N`` then :func:`export_energy` (energy model);
* ``python -m probmods.ebm.judge`` (judge);
* ``python -m probmods.ebm.pretrained --noisy-digits`` (noisy digits, from fixed seeds).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import math
from pathlib import Path

import torch

from .._checks import check_container, check_positive_int, check_probability, check_seed
from .data import load_digits, train_test_split
from .judge import JudgeCNN, _quality, check_images
from .model import EnergyCNN, SamplerEnergy

__all__ = ["WEIGHTS", "load_pretrained", "load_judge", "load_noisy_digits", "export_energy", "make_noisy_digits",
           "training_log", "evaluate_samples", "real_digits", "format_quality"]

WEIGHTS = Path(__file__).with_name("weights")
MANIFEST = "SHA256SUMS"  # in WEIGHTS: "<sha256>  <file>" per shipped file, checked on every default load
NOISE_LEVELS = (50 / 256, 100 / 256)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _manifest() -> dict:
    lines = (WEIGHTS / MANIFEST).read_text().split("\n")
    return {name: digest for digest, _, name in (line.partition("  ") for line in lines if line.strip())}


def _write_manifest() -> Path:
    """Rewrite ``weights/SHA256SUMS`` from the files in ``weights/`` (after re-exporting one of them)."""
    names = sorted(p.name for p in WEIGHTS.glob("*.pt"))
    (WEIGHTS / MANIFEST).write_text("".join(f"{_sha256(WEIGHTS / n)}  {n}\n" for n in names))
    return WEIGHTS / MANIFEST


def _bad(path, what):
    return ValueError(f"{path}: {what}")


def _finite_tensors(tensors: dict, path, expected: dict | None = None) -> None:
    """Every value a finite floating tensor; with ``expected`` (a state dict), the same keys and shapes."""
    if expected is not None:
        missing, extra = set(expected) - set(tensors), set(tensors) - set(expected)
        if missing or extra:
            raise _bad(path, f"not the expected weights (missing keys {sorted(missing)}, unexpected {sorted(extra)})")
    for key, value in tensors.items():
        if not torch.is_tensor(value) or not value.is_floating_point():
            raise _bad(path, f"{key!r} is not a floating-point tensor")
        if expected is not None and value.shape != expected[key].shape:
            raise _bad(path, f"{key!r} has shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}")
        if not torch.isfinite(value).all():
            raise _bad(path, f"{key!r} holds NaN or infinite values")


def _check_energy(state, path):
    if not isinstance(state, dict) or not {"state_dict", "width", "temperature", "range_scale"} <= set(state):
        raise _bad(path, "not an energy file (expected keys state_dict, width, temperature, range_scale)")
    width = state["width"]
    if isinstance(width, bool) or not isinstance(width, int) or not 2 <= width <= 1024:
        raise _bad(path, f"width must be an int in [2, 1024], got {width!r}")
    for key in ("temperature", "range_scale"):
        v = state[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
            raise _bad(path, f"{key} must be a positive finite number, got {v!r}")
    _finite_tensors(state["state_dict"], path, EnergyCNN(width).state_dict())


def _check_judge(state, path):
    if not isinstance(state, dict):
        raise _bad(path, "not a judge file (expected a state dict)")
    _finite_tensors(state, path, JudgeCNN().state_dict())


def _check_noisy_digits(data, path):
    keys = {"clean", "labels", "index", "sigmas", "noisy"}
    if not isinstance(data, dict) or set(data) != keys:
        raise _bad(path, f"not a noisy-digits file (expected keys {sorted(keys)})")
    clean, labels, sigmas, noisy = data["clean"], data["labels"], data["sigmas"], data["noisy"]
    _finite_tensors({"clean": clean, "sigmas": sigmas, "noisy": noisy}, path)
    n = len(clean)
    if clean.shape != (n, 1, 28, 28) or noisy.shape != (len(sigmas), n, 1, 28, 28) or sigmas.ndim != 1:
        raise _bad(path, "clean must be (n, 1, 28, 28), sigmas (k,) and noisy (k, n, 1, 28, 28)")
    for key in ("labels", "index"):
        v = data[key]
        if not torch.is_tensor(v) or v.dtype != torch.int64 or v.shape != (n,):
            raise _bad(path, f"{key!r} must be an int64 tensor of shape ({n},)")
    if not ((labels >= 0) & (labels <= 9)).all() or not (sigmas > 0).all():
        raise _bad(path, "labels must lie in 0..9 and sigmas be positive")


def _check_log(log, path):
    if not isinstance(log, dict) or not log or not all(isinstance(k, str) for k in log):
        raise _bad(path, "not a training log (expected a non-empty dict of named tensors)")
    lengths = set()
    for key, value in log.items():
        if not torch.is_tensor(value) or not value.is_floating_point() or value.ndim != 1:
            raise _bad(path, f"{key!r} is not a one-dimensional floating-point tensor")
        lengths.add(len(value))
    if not {"loss", "cd"} <= set(log):
        raise _bad(path, "not a training log (every log has the series 'loss' and 'cd')")
    if len(lengths) != 1:
        raise _bad(path, "the logged series have different lengths")


def _load(path, name: str, check):
    """``torch.load(weights_only=True)`` of a shipped file (sha256 checked) or of the caller's ``path``,
    then its schema check; every failure is a ValueError that names the path."""
    if path is None:
        file = WEIGHTS / name
        expected = _manifest().get(name)
        if expected is None or _sha256(file) != expected:
            raise ValueError(f"{file}: its sha256 does not match {WEIGHTS / MANIFEST}: the shipped file was "
                             "changed or damaged (reinstall probmods, or after re-exporting it on purpose run "
                             "`python -m probmods.ebm.pretrained --manifest`)")
    else:
        if not isinstance(path, (str, Path)):
            raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}")
        file = Path(path)
    if not file.is_file():
        raise ValueError(f"{file}: no such file")
    try:
        obj = torch.load(file, weights_only=True)
    except Exception as exc:  # empty or truncated files, foreign pickles, non-zip data
        raise ValueError(f"{file}: not a weights file that torch.load(weights_only=True) can read ({exc})") from exc
    check(obj, file)
    return obj


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
    state = _load(path, "energy.pt", _check_energy)
    net = EnergyCNN(int(state["width"]))
    net.load_state_dict(state["state_dict"])
    net.to(memory_format=torch.channels_last)
    energy = SamplerEnergy(net, float(state["temperature"]), float(state["range_scale"]))
    energy.info = {k: v for k, v in state.items() if k != "state_dict"}
    return _freeze(energy)


def load_judge(path: str | Path | None = None) -> JudgeCNN:
    """The 11-class judge (10 digits + "not a digit"), eval mode, frozen; see :mod:`probmods.ebm.judge`."""
    judge = JudgeCNN()
    judge.load_state_dict(_load(path, "judge.pt", _check_judge))
    return _freeze(judge)


def load_noisy_digits(path: str | Path | None = None) -> dict:
    """The 30 held-out digits and their noisy versions (the handout's attachment, made here).

    Returns
    -------
    dict
        ``clean`` (30, 1, 28, 28), ``labels`` (30,), ``index`` (30,) into :func:`~probmods.ebm.data.load_digits`,
        ``sigmas`` (2,) = (50/256, 100/256) and ``noisy`` (2, 30, 1, 28, 28): ``clean + sigma * n``,
        not clipped, noise from fixed seeds.
    """
    return _load(path, "noisy_digits.pt", _check_noisy_digits)


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
        At least 2 images (a covariance); float64 tensors and NumPy arrays are cast.
    threshold : float, default 0.9
        In [0, 1].

    Returns
    -------
    dict
        ``digit_fraction``, ``junk_fraction``, ``class_counts``, ``n_classes``, ``labels``,
        ``nearest_mean``, ``nearest_min``, ``frechet``.
    """
    judge, train, _, _, _ = _evaluation_sets()
    samples = check_images(samples, "samples", judge)
    threshold = check_probability(threshold, "threshold")
    return _quality(samples, judge, train, _reference_features(), threshold)


@functools.lru_cache(maxsize=1)
def _reference_features():
    """The judge's features of the Fréchet reference digits (computed once per process)."""
    judge, _, reference, _, _ = _evaluation_sets()
    with torch.no_grad():
        return judge.features(reference).numpy()


def real_digits(n: int = 100, seed: int = 0):
    """``n`` held-out digits that neither training nor the Fréchet reference uses: the baseline row.

    Returns
    -------
    images : torch.Tensor, shape (n, 1, 28, 28)
    labels : torch.Tensor, shape (n,)
    """
    n = check_positive_int(n, "n")
    seed = check_seed(seed)
    *_, pool, labels = _evaluation_sets()
    if not 2 <= n <= len(pool):
        raise ValueError(f"n must be between 2 and {len(pool)}, got {n}")
    idx = torch.randperm(len(pool), generator=torch.Generator().manual_seed(check_seed(seed)))[:n]
    return pool[idx], labels[idx]


def format_quality(q: dict) -> str:
    """One line for a page: digits counted, classes, junk, nearest-digit distance, Fréchet distance.

    ``q`` is a dict as :func:`evaluate_samples` returns (the keys ``digit_fraction``,
    ``n_classes``, ``junk_fraction``, ``nearest_mean``, ``nearest_min`` and ``frechet`` are used).
    """
    check_container(q, "q", (dict,), what="dict from evaluate_samples")
    missing = [k for k in _QUALITY_KEYS if k not in q]
    if missing:
        raise ValueError(f"q lacks the keys {missing} (a dict from evaluate_samples is expected)")
    return (f"digits {100 * q['digit_fraction']:3.0f}%  classes {q['n_classes']:2d}  "
            f"junk {100 * q['junk_fraction']:3.0f}%  nearest {q['nearest_mean']:4.1f} (min {q['nearest_min']:3.1f})  "
            f"Frechet {q['frechet']:6.0f}")


_QUALITY_KEYS = ("digit_fraction", "n_classes", "junk_fraction", "nearest_mean", "nearest_min", "frechet")


def make_noisy_digits(per_class: int = 3, seed: int = 0) -> dict:
    """Draw ``per_class`` held-out digits of every class and add noise at both levels (fixed seeds).

    The digits come from the odd positions of the held-out split, outside the Fréchet reference
    of :func:`evaluate_samples`, so that clean and denoised sets can be compared with it fairly.
    ``per_class`` is an integer in [1, 50] (the odd positions hold 50 digits of each class);
    ``seed`` an int-like seed.
    """
    per_class = check_positive_int(per_class, "per_class", 50)
    g = torch.Generator().manual_seed(check_seed(seed))
    images, labels = load_digits()
    _, test = train_test_split(labels)
    test = torch.from_numpy(test[1::2])
    pick = torch.cat([test[labels[test] == c][torch.randperm(int((labels[test] == c).sum()), generator=g)[:per_class]]
                      for c in range(10)])
    clean = images[pick]
    noisy = torch.stack([clean + s * torch.randn(clean.shape, generator=g) for s in NOISE_LEVELS])
    return {"clean": clean, "labels": labels[pick], "index": pick, "sigmas": torch.tensor(NOISE_LEVELS),
            "noisy": noisy}


def export_energy(snapshots, out: str | Path, kind: str = "ema") -> Path:
    """Write the shipped energy file from training snapshots (the plain average of their ``kind`` weights).

    Parameters
    ----------
    snapshots : list of path-like
        ``weights-NNNNNN.pt`` files written by ``python -m probmods.ebm.train``.
    out : path-like
        The file to write (the shipped one is ``probmods/ebm/weights/energy.pt``, which
        ``python -m probmods.ebm.pretrained --energy ...`` writes); required, so that no call
        overwrites the shipped weights by accident.
    kind : {"ema", "net"}
    """
    from .train import TrainConfig

    if not isinstance(out, (str, Path)):
        raise TypeError(f"out must be a path (str or pathlib.Path), got {type(out).__name__}")
    out = Path(out)
    if kind not in ("ema", "net"):
        raise ValueError(f"unknown kind {kind!r}; expected one of 'ema', 'net'")
    check_container(snapshots, "snapshots", (list, tuple), nonempty=False, what="list of paths")
    for s in snapshots:
        if not isinstance(s, (str, Path)):
            raise TypeError(f"snapshots must hold paths (str or pathlib.Path), got a {type(s).__name__}")
    states = [_load(s, "snapshots", functools.partial(_check_snapshot, kind=kind)) for s in snapshots]
    if not states:
        raise ValueError("snapshots must name at least one file")
    avg = {k: sum(s[kind][k] for s in states) / len(states) for k in states[0][kind]}
    cfg = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in states[0]["config"].items()})
    torch.save({"state_dict": avg, "width": cfg.width, "temperature": cfg.temperature,
                "range_scale": cfg.range_scale, "iterations": [int(s["iteration"]) for s in states],
                "weights": kind}, out)
    return out


def _check_snapshot(state, path, kind):
    """A training snapshot: the ``kind`` weights of an energy network, its config and iteration."""
    if not isinstance(state, dict) or not {kind, "config", "iteration"} <= set(state):
        raise _bad(path, f"not a training snapshot (expected keys {kind!r}, 'config', 'iteration')")
    if not isinstance(state["config"], dict) or "width" not in state["config"]:
        raise _bad(path, "not a training snapshot (its config has no width)")
    _finite_tensors(state[kind], path)


def training_log(path: str | Path | None = None) -> dict:
    """The per-iteration log of the shipped model's training run (``training_log.pt``): name -> tensor."""
    return _load(path, "training_log.pt", _check_log)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write the shipped data files of probmods.ebm.")
    parser.add_argument("--noisy-digits", action="store_true", help="write weights/noisy_digits.pt")
    parser.add_argument("--energy", nargs="+", default=None, metavar="SNAPSHOT",
                        help="average these training snapshots (EMA weights) into weights/energy.pt")
    parser.add_argument("--log", type=Path, default=None, metavar="CHECKPOINT",
                        help="copy the per-iteration log of this training checkpoint to weights/training_log.pt")
    parser.add_argument("--manifest", action="store_true",
                        help="only rewrite weights/SHA256SUMS (every command above rewrites it too)")
    args = parser.parse_args(argv)
    if args.noisy_digits:
        torch.save(make_noisy_digits(), WEIGHTS / "noisy_digits.pt")
    if args.energy:
        print(export_energy(args.energy, WEIGHTS / "energy.pt"))
    if args.log:
        import json

        log = json.loads(torch.load(args.log, weights_only=True)["log"])
        keys = [k for k in log[0] if k != "iteration"]
        torch.save({k: torch.tensor([r[k] for r in log], dtype=torch.float32) for k in keys},
                   WEIGHTS / "training_log.pt")
    if args.noisy_digits or args.energy or args.log or args.manifest:
        print(_write_manifest())


if __name__ == "__main__":
    main()

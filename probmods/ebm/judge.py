r"""An honest judge of generated digits: an 11-class classifier, nearest-digit distances, Fréchet distance.

A plain 10-class digit classifier is confident on almost any input, pure noise
included, so confidence alone proves nothing. The judge has an 11th class, "not a
digit", trained on four kinds of junk that a failing sampler produces: uniform
noise, smoothed-noise blobs, thin level-set stroke fragments and pixel-permuted
digits. A sample counts as a digit only when a digit class has probability
:math:`\ge 0.9`. Two more measures complete the picture: the Euclidean distance of
each sample to its nearest training digit (copies are near 0, real held-out digits
about 5, noise about 15) and the Fréchet distance between the judge's penultimate
features of samples and of held-out digits.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import linalg
from torch import nn
from torch.nn import functional as F

from .._checks import (
    as_array,
    as_points,
    check_callable,
    check_generator,
    check_positive_int,
    check_probability,
    check_seed,
)
from ..utils import progress_bar
from .model import check_images

__all__ = ["make_junk", "JudgeCNN", "train_judge", "judge_report", "nearest_distance", "frechet_distance",
           "sample_quality"]

JUNK = 10  # label of the "not a digit" class


def _smooth(x, passes):
    """``passes`` binomial (1 4 6 4 1)/16 blurs of images (B, 1, H, W), reflected at the borders.

    Reflection, not zero padding: zeros would darken a band along the border, whose level
    sets then trace the image frame (the stroke-fragment junk showed dashed frames).
    """
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype) / 16
    for _ in range(passes):
        x = F.conv2d(F.pad(x, (2, 2, 0, 0), mode="reflect"), k.view(1, 1, 1, 5))
        x = F.conv2d(F.pad(x, (0, 0, 2, 2), mode="reflect"), k.view(1, 1, 5, 1))
    return x


def _check_labels(labels, n):
    """Digit labels 0..9, one per image, as an int64 tensor (integer-valued floats accepted)."""
    y = as_array(labels, "labels", ndim=1, what="shape (n,) (one label per image)")
    if y.shape != (n,):
        raise ValueError(f"labels must have one entry per image ({n}), got shape {y.shape}")
    if not np.all((y == np.round(y)) & (y >= 0) & (y <= 9)):
        raise ValueError("labels must be digit classes 0..9")
    return torch.from_numpy(y.astype(np.int64))


def make_junk(n: int, digits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` non-digit images in [0, 1], a quarter of each kind.

    Kinds: uniform noise; smoothed noise rescaled to [0, 1] (blobs); thin
    level-set fragments of smoothed noise (stroke-like curves that are not
    digits); real digits with their pixels randomly permuted.

    Parameters
    ----------
    n : int
        In [1, 10**6].
    digits : torch.Tensor, shape (m, 1, 28, 28)
        Real digits, for the permuted kind.
    generator : torch.Generator or int, optional
        An int seeds a new generator.

    Returns
    -------
    torch.Tensor, shape (n, 1, 28, 28)
    """
    n = check_positive_int(n, "n", 10**6)
    digits = check_images(digits, "digits")
    g = check_generator(generator)
    k = [n // 4 + (1 if i < n % 4 else 0) for i in range(4)]
    noise = torch.rand(k[0], 1, 28, 28, generator=g)
    b = _smooth(torch.rand(k[1], 1, 28, 28, generator=g), 3)
    lo = b.flatten(1).min(1).values.view(-1, 1, 1, 1)
    hi = b.flatten(1).max(1).values.view(-1, 1, 1, 1)
    blobs = (b - lo) / (hi - lo + 1e-8)
    s = _smooth(torch.rand(k[2], 1, 28, 28, generator=g), 4)
    s = (s - s.flatten(1).mean(1).view(-1, 1, 1, 1)) / (s.flatten(1).std(1).view(-1, 1, 1, 1) + 1e-8)
    level = torch.rand(k[2], 1, 1, 1, generator=g) * 1.5 - 0.75
    strokes = torch.exp(-((s - level) ** 2) / (2 * 0.12**2))
    strokes = strokes * (torch.rand(k[2], 1, 28, 28, generator=g) < 0.9)
    idx = torch.randint(len(digits), (k[3],), generator=g)
    perm = torch.stack([torch.randperm(784, generator=g) for _ in range(k[3])]) if k[3] else torch.zeros(0, 784)
    permuted = torch.gather(digits[idx].flatten(1), 1, perm.long()).view(-1, 1, 28, 28)
    return torch.cat([noise, blobs, strokes.clamp(0, 1), permuted])


class JudgeCNN(nn.Module):
    """A small CNN: 10 digit classes and a "not a digit" class.

    :meth:`~probmods.ebm.judge.JudgeCNN.features` gives the penultimate layer.
    """

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        )
        self.head = nn.Linear(128, 11)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features of images ``x`` (B, 1, 28, 28), shape (B, 128)."""
        return self.conv(check_images(x, "x", self))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(check_images(x, "x", self)))


def train_judge(images: torch.Tensor, labels: torch.Tensor, epochs: int = 15, batch_size: int = 128,
                seed: int = 0, progress: bool = False) -> JudgeCNN:
    """Train the judge on real digits and as many junk images (fresh junk every epoch).

    Parameters
    ----------
    images : torch.Tensor, shape (n, 1, 28, 28)
        Training digits (never the held-out ones).
    labels : torch.Tensor, shape (n,)
        Digit classes 0..9, one per image (integer-valued floats and NumPy arrays accepted).
    epochs, batch_size, seed
    progress : bool

    Returns
    -------
    JudgeCNN
        In eval mode, parameters frozen.

    Notes
    -----
    Measured with the defaults on the 4000 training digits (seed 0, one thread,
    47 s): held-out top-1 accuracy 0.973, held-out digits counted (digit class at
    p >= 0.9) 0.942, fresh junk counted as a digit 0.000.
    """
    images = check_images(images, "images")
    labels = _check_labels(labels, len(images))
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_seed(seed)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    judge = JudgeCNN()
    opt = torch.optim.Adam(judge.parameters(), lr=1e-3)
    for _ in progress_bar(range(epochs), progress, desc="judge"):
        junk = make_junk(len(images), images, generator=g)
        x = torch.cat([images, junk])
        y = torch.cat([labels, torch.full((len(junk),), JUNK, dtype=torch.long)])
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch_size):
            b = order[i : i + batch_size]
            loss = F.cross_entropy(judge(x[b]), y[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    judge.eval()
    for p in judge.parameters():
        p.requires_grad_(False)
    return judge


def judge_report(judge: JudgeCNN, x: torch.Tensor, threshold: float = 0.9) -> dict:
    """Judge samples: fraction counted as digits, classes present, junk fraction.

    Parameters
    ----------
    judge : JudgeCNN
    x : torch.Tensor, shape (n, 1, 28, 28)
        Samples; pixels are clipped to [0, 1] first, as for display.
    threshold : float, default 0.9
        Probability a digit class needs for a sample to count as that digit, in [0, 1].

    Returns
    -------
    dict
        ``digit_fraction``, ``junk_fraction``, ``class_counts`` (10 counts of the
        samples counted as digits), ``n_classes``, ``labels`` (per sample, -1 when
        not counted).
    """
    check_callable(judge, "judge")
    x = check_images(x, "x", judge)
    threshold = check_probability(threshold, "threshold")
    with torch.no_grad():
        p = torch.softmax(judge(x.clamp(0, 1)), dim=1)
    conf, cls = p.max(dim=1)
    digit = (cls < JUNK) & (conf >= threshold)
    counts = np.bincount(cls[digit].numpy(), minlength=10)[:10]
    return {
        "digit_fraction": float(digit.float().mean()),
        "junk_fraction": float((cls == JUNK).float().mean()),
        "class_counts": counts,
        "n_classes": int((counts > 0).sum()),
        "labels": torch.where(digit, cls, torch.full_like(cls, -1)).numpy(),
    }


def nearest_distance(x: torch.Tensor, reference: torch.Tensor) -> np.ndarray:
    """Euclidean distance (pixels in [0, 1]) of each image to its nearest reference image, shape (n,)."""
    x = check_images(x)
    reference = check_images(reference, "reference")
    a = x.clamp(0, 1).flatten(1).double()
    b = reference.flatten(1).double()
    return torch.cdist(a, b).min(dim=1).values.numpy()


def frechet_distance(feat_a, feat_b) -> float:
    r"""Fréchet distance between Gaussians fitted to two feature sets (as FID does).

    .. math::

        \lVert\mu_a-\mu_b\rVert^2 + \operatorname{tr}\big(\Sigma_a+\Sigma_b-2(\Sigma_a\Sigma_b)^{1/2}\big)
    """
    a = as_points(feat_a, "feat_a", dim=None)
    b = as_points(feat_b, "feat_b", dim=None)
    if a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"feat_a and feat_b must be (n, d) arrays with n >= 2, got {a.shape} and {b.shape}")
    mu = a.mean(0) - b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr (Ca Cb)^(1/2) = sum of square roots of the eigenvalues of Ca^(1/2) Cb Ca^(1/2), which is
    # symmetric positive semi-definite: stable even when the covariances are singular (dead units)
    w, v = linalg.eigh(ca)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    tr_covmean = np.sqrt(np.clip(linalg.eigvalsh(root_a @ cb @ root_a), 0, None)).sum()
    return float(mu @ mu + np.trace(ca) + np.trace(cb) - 2 * tr_covmean)


def sample_quality(samples: torch.Tensor, judge: JudgeCNN, train_images: torch.Tensor,
                   reference: torch.Tensor, threshold: float = 0.9) -> dict:
    """Everything the chapter reports about a set of generated digits.

    Parameters
    ----------
    samples : torch.Tensor, shape (n, 1, 28, 28)
        Generated images (clipped to [0, 1] for judging, as for display), n >= 2; float64
        tensors and NumPy arrays are cast to the judge's dtype.
    judge : JudgeCNN
    train_images : torch.Tensor, shape (m, 1, 28, 28)
        The digits the energy model was trained on (for the nearest-digit distance).
    reference : torch.Tensor, shape (r, 1, 28, 28)
        Held-out real digits (for the Fréchet distance).
    threshold : float, default 0.9
        Probability a digit class needs for a sample to count as that digit, in [0, 1].

    Returns
    -------
    dict
        The keys of :func:`judge_report`, plus ``nearest_mean``, ``nearest_min``
        (distance to the nearest training digit; under 1.5 is a copy) and
        ``frechet`` (judge features of ``samples`` vs ``reference``).
    """
    check_callable(judge, "judge")
    samples = check_images(samples, "samples", judge)
    train_images = check_images(train_images, "train_images")
    reference = check_images(reference, "reference", judge)
    if len(reference) < 2:
        raise ValueError(f"reference must hold at least 2 images (a covariance), got {len(reference)}")
    threshold = check_probability(threshold, "threshold")
    with torch.no_grad():
        fb = judge.features(reference).numpy()
    return _quality(samples, judge, train_images, fb, threshold)


def _quality(samples, judge, train_images, reference_features, threshold):
    """:func:`sample_quality` from checked inputs and the reference's features (computed once by callers)."""
    if len(samples) < 2:
        raise ValueError(f"samples must hold at least 2 images (a covariance), got {len(samples)}")
    out = judge_report(judge, samples, threshold)
    near = nearest_distance(samples, train_images)
    with torch.no_grad():
        fa = judge.features(samples.clamp(0, 1)).numpy()
    fb = reference_features
    out.update(nearest_mean=float(near.mean()), nearest_min=float(near.min()), frechet=frechet_distance(fa, fb))
    return out


def main(argv=None):
    """Command line: ``python -m probmods.ebm.judge --out FILE`` trains the shipped judge (seed 0)."""
    import argparse
    from pathlib import Path

    from .data import load_digits, train_test_split

    parser = argparse.ArgumentParser(description="Train the 11-class judge on the training digits.")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("weights") / "judge.pt")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(check_positive_int(args.threads, "threads"))
    images, labels = load_digits()
    train_idx, _ = train_test_split(labels)
    judge = train_judge(images[train_idx], labels[train_idx], progress=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(judge.state_dict(), args.out)
    if args.out.resolve() == (Path(__file__).with_name("weights") / "judge.pt").resolve():
        from .pretrained import _write_manifest

        _write_manifest()  # the shipped file changed on purpose: record its new sha256
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()

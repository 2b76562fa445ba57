"""Judge snapshots of the MNIST energy model under the handout's sampler (how the shipped weights were chosen).

    python tools/eval_ebm.py ebm-training/weights-008000.pt:ema ebm-training/weights-00{7,8}000.pt:avg-ema

Each argument is FILE[:net|ema] or several files joined by "+" with ":avg-net"/":avg-ema" (plain average of the
weights). 100 chains from U[0,1] (seed 1000, not the chapter's), K = 2000 at sqrt(2 eps) = 2/256
(and 3/256 with --both), no clamping.

``--gates`` also measures the denoising gates of the calibrated-model issue on 30 *tuning* digits
(3 per class, held out, none of the chapter's 30 test digits, our own noise): the handout's
update from y, K = 2000 at 2/256, 10 samples per digit, at sigma = 50/256 and 100/256; PSNR of one
sample and of the mean of 10 (MMSE), the calibration ratio MSE(one) / MSE(mean of 10) (1.82 for
exact posterior samples), and the best Gaussian and Wiener filters, their parameters chosen on 100
further held-out digits. ``--temperature-scale`` multiplies T (the measured baseline of a flatter
posterior; a model passes only at scale 1).
"""

import argparse
import functools
import time
from dataclasses import asdict

import torch

from probmods.ebm import load_judge
from probmods.ebm.data import load_digits, train_test_split
from probmods.ebm.judge import sample_quality
from probmods.ebm.model import EnergyCNN, SamplerEnergy
from probmods.ebm.train import TrainConfig
from probmods.mcmc import eps_from_noise, langevin, sample, target_from


def load_state(spec):
    """(averaged weights, the run's TrainConfig) of FILE[:kind] or FILE+FILE:avg-kind."""
    files, _, kind = spec.partition(":")
    kind = kind or "ema"
    raw = [torch.load(f, weights_only=True) for f in files.split("+")]
    states = [r[kind.removeprefix("avg-")] for r in raw]
    saved = raw[0].get("config", {})  # snapshots carry their run's configuration (temperature included)
    cfg = TrainConfig(**{**asdict(TrainConfig()), **{k: tuple(v) if isinstance(v, list) else v
                                                      for k, v in saved.items()}})
    return {k: sum(s[k] for s in states) / len(states) for k in states[0]}, cfg


def denoise_report(energy, images, held_out):
    """Denoise 100 held-out digits outside the chapter's 30 (sigma = 50/256, 2 samples, K = 2000)."""
    import numpy as np

    from probmods.ebm.denoise import add_noise, perceptual_denoise, psnr
    from probmods.ebm.pretrained import load_noisy_digits

    others = np.setdiff1d(held_out, load_noisy_digits()["index"].numpy())  # sorted by class: draw at random
    tune = images[np.random.default_rng(0).choice(others, size=100, replace=False)]
    y = add_noise(tune, 50 / 256, seed=10)
    curve = []

    def record(k, state, info):
        if (k + 1) % 250 == 0:
            curve.append(psnr(state.position.view(2, *y.shape).mean(0), tune).mean())

    xs, _ = perceptual_denoise(energy, y, 50 / 256, n_samples=2, generator=torch.Generator().manual_seed(0),
                               callback=record)
    print("    denoise 50/256: MMSE(2) PSNR every 250 steps " + " ".join(f"{c:.1f}" for c in curve)
          + f"; one sample {psnr(xs[0], tune).mean():.2f}", flush=True)


def tuning_sets(held_out):
    """30 tuning digits (3 per class) and 100 filter-tuning digits, none of the chapter's 30."""
    import numpy as np

    from probmods.ebm.pretrained import load_noisy_digits

    images, labels = load_digits()
    pool = np.setdiff1d(held_out[1::2], load_noisy_digits()["index"].numpy())
    rng = np.random.default_rng(1)
    tune = np.concatenate([rng.choice(pool[labels[pool].numpy() == c], 3, replace=False) for c in range(10)])
    rest = np.setdiff1d(pool, tune)
    filt = rng.choice(rest, 100, replace=False)
    return images[tune], images[filt]


def denoise_gates(energy, held_out=None, n_samples=10):
    """Gate 1 and 2 numbers on the tuning digits (see the module docstring)."""
    if held_out is None:
        held_out = judging_data()[3]

    from probmods.ebm.denoise import (
        add_noise,
        best_parameter,
        gaussian_denoise,
        perceptual_denoise,
        psnr,
        wiener_denoise,
    )

    tune, filt = tuning_sets(held_out)
    for k, sigma in enumerate((50 / 256, 100 / 256)):
        y = add_noise(tune, sigma, seed=20 + k)
        yf = add_noise(filt, sigma, seed=30 + k)
        gw, _ = best_parameter(gaussian_denoise, filt, yf, [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4])
        ww, _ = best_parameter(lambda a, w, sigma=sigma: wiener_denoise(a, w, sigma), filt, yf, [3, 5, 7])
        g_psnr = psnr(gaussian_denoise(y, gw), tune).mean()
        w_psnr = psnr(wiener_denoise(y, ww, sigma), tune).mean()
        t0 = time.time()
        gen = torch.Generator().manual_seed(40 + k)
        xs, _ = perceptual_denoise(energy, y, sigma, n_samples=n_samples, generator=gen)
        xs = xs.clamp(0, 1)
        mse_one = ((xs - tune) ** 2).mean().item()
        mse_mean = ((xs.mean(0) - tune) ** 2).mean().item()
        print(f"    sigma {round(sigma * 256)}/256: one sample {psnr(xs[0], tune).mean():.2f} dB, "
              f"MMSE({n_samples}) {psnr(xs.mean(0), tune).mean():.2f} dB, ratio {mse_one / mse_mean:.2f}; "
              f"Gaussian({gw}) {g_psnr:.2f}, Wiener({ww}) {w_psnr:.2f}; {time.time() - t0:.0f}s", flush=True)



@functools.cache
def judging_data():
    """(the shipped judge, all digits, training indices, held-out indices), loaded once."""
    images, labels = load_digits()
    tr, te = train_test_split(labels)
    return load_judge(), images, tr, te


def judge_prior(energy, noise=2, chains=100):
    """100 chains from U[0,1] (seed 1000), K = 2000 at noise/256, judged: (final chains, report line)."""
    judge, images, tr, te = judging_data()
    g = torch.Generator().manual_seed(1000)  # not the chapter's seeds: its pages confirm independently
    x0 = torch.rand(chains, 1, 28, 28, generator=g)
    t0 = time.time()
    kernel = langevin(target_from(energy=energy), eps_from_noise(noise / 256))
    x = sample(x0, kernel, 2000, generator=g).state.position
    q = sample_quality(x, judge, images[tr], images[te])
    counts = q["class_counts"].tolist()
    share = max(counts) / max(1, sum(counts))
    line = (f"digits {q['digit_fraction']:.2f} junk {q['junk_fraction']:.2f} classes {q['n_classes']} {counts} "
            f"max share {share:.2f} near {q['nearest_mean']:.2f} (min {q['nearest_min']:.2f}) "
            f"FD {q['frechet']:.0f} px [{x.min():.2f},{x.max():.2f}] {time.time() - t0:.0f}s")
    return x, line


def main():
    p = argparse.ArgumentParser()
    p.add_argument("specs", nargs="+")
    p.add_argument("--both", action="store_true")
    p.add_argument("--chains", type=int, default=100)
    p.add_argument("--save", default=None)
    p.add_argument("--gates", action="store_true", help="also the denoising gates on 30 tuning digits")
    p.add_argument("--temperature-scale", type=float, default=1.0)
    p.add_argument("--denoise", action="store_true",
                   help="also denoise 100 held-out digits outside the 30 of the chapter (sigma = 50/256, K = 2000)")
    args = p.parse_args()
    torch.set_num_threads(1)
    _, images, _, te = judging_data()
    for spec in args.specs:
        weights, cfg = load_state(spec)
        net = EnergyCNN(cfg.width)
        net.load_state_dict(weights)
        net.eval().requires_grad_(False)
        energy = SamplerEnergy(net, cfg.temperature * args.temperature_scale, cfg.range_scale)
        print(f"{spec}: T = {cfg.temperature:.3e} x {args.temperature_scale} (eps / T = {cfg.eps_over_t})")
        for s in (2, 3) if args.both else (2,):
            x, line = judge_prior(energy, noise=s, chains=args.chains)
            print(f"{spec} {s}/256: {line}", flush=True)
            if args.denoise and s == 2:
                denoise_report(energy, images, te)
            if args.gates and s == 2:
                denoise_gates(energy, te)
            if args.save:
                torch.save(x, f"{args.save}-{spec.replace('/', '_')}-{s}.pt")


if __name__ == "__main__":
    main()

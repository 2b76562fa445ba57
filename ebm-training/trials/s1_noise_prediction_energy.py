"""Trial S1: an energy trained by denoising score matching alone, with a noise-prediction target.

    python ebm-training/trials/s1_noise_prediction_energy.py --out ebm-training/s1 --minutes 25

With x~ = x + sigma n, sigma log-uniform in [sigma_min, sigma_max], the loss is

    < || sigma_min * grad E(x~) - n ||^2 > / D,

so grad E is the noise predictor divided by sigma_min, and -grad E at the noise level sigma is the score of
the data smoothed at sigma times sigma / sigma_min, which pulls a chain in (towards the data smoothed at sigma_min)
instead of the neutral pull of the plain mixture of smoothed densities. No contrastive term, T = 1, no
pixel-range term. Resumes from OUT/state.pt; snapshots OUT/w-NNNNNN.pt. See ebm-training/README.md.
"""

import argparse
import copy
import math
import time
from pathlib import Path

import numpy as np
import torch

from probmods.ebm.data import load_digits, train_test_split
from probmods.ebm.model import EnergyCNN


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--smin", type=float, default=0.03)
    p.add_argument("--smax", type=float, default=1.0)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--every", type=int, default=5000)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images, labels = load_digits()
    train_idx, _ = train_test_split(labels, 100, seed=0)
    data = images[train_idx]
    net = EnergyCNN(a.width)
    ema = copy.deepcopy(net).requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    a.out.mkdir(parents=True, exist_ok=True)
    state_path = a.out / "state.pt"
    it = 0
    if state_path.exists():
        s = torch.load(state_path, weights_only=False)  # our own file: it holds a NumPy generator
        net.load_state_dict(s["net"])
        ema.load_state_dict(s["ema"])
        opt.load_state_dict(s["opt"])
        it, rng = s["it"], s["rng"]
        torch.set_rng_state(s["trng"])

    def save():
        torch.save({"net": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "it": it,
                    "trng": torch.get_rng_state(), "rng": rng}, state_path)
        torch.save({"net": net.state_dict(), "ema": ema.state_dict(), "it": it, "width": a.width,
                    "smin": a.smin, "smax": a.smax}, a.out / f"w-{it:06d}.pt")

    t0, running = time.time(), None
    lo, hi = math.log(a.smin), math.log(a.smax)
    while time.time() - t0 < a.minutes * 60:
        x = data[torch.from_numpy(rng.choice(len(data), a.batch, replace=False))]
        sigma = torch.exp(torch.empty(a.batch, 1, 1, 1).uniform_(lo, hi))
        n = torch.randn_like(x)
        xt = (x + sigma * n).requires_grad_(True)
        (g,) = torch.autograd.grad(net(xt).sum(), xt, create_graph=True)
        loss = ((a.smin * g - n) ** 2).flatten(1).sum(1).mean() / x[0].numel()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for pe, pp in zip(ema.parameters(), net.parameters(), strict=True):
                pe.mul_(0.999).add_(pp, alpha=0.001)
        it += 1
        running = loss.item() if running is None else 0.99 * running + 0.01 * loss.item()
        if it % 200 == 0:
            print(f"it {it} loss {running:.4f} {time.time() - t0:.0f}s", flush=True)
        if it % a.every == 0:
            save()
    save()
    print("done", it)


if __name__ == "__main__":
    main()

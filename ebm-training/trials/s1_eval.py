"""Judge a trial-S1 snapshot as ``tools/eval_ebm.py --gates`` judges the trainer's snapshots.

    python ebm-training/trials/s1_eval.py ebm-training/s1/w-010000.pt [--gates] [--save FILE]

The energy is the network itself (T = 1, no pixel-range term).
"""

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from eval_ebm import denoise_gates  # noqa: E402

from probmods.ebm.data import load_digits, train_test_split  # noqa: E402
from probmods.ebm.judge import JudgeCNN, sample_quality  # noqa: E402
from probmods.ebm.model import EnergyCNN  # noqa: E402
from probmods.mcmc import eps_from_noise, langevin, sample, target_from  # noqa: E402


class Plain(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("files", nargs="+")
    p.add_argument("--gates", action="store_true")
    p.add_argument("--save", default=None)
    a = p.parse_args()
    torch.set_num_threads(2)
    images, labels = load_digits()
    tr, te = train_test_split(labels)
    judge = JudgeCNN()
    judge.load_state_dict(torch.load("probmods/ebm/weights/judge.pt", weights_only=True))
    judge.eval().requires_grad_(False)
    for f in a.files:
        s = torch.load(f, weights_only=True)
        net = EnergyCNN(s["width"])
        net.load_state_dict(s["ema"])
        energy = Plain(net.eval().requires_grad_(False))
        g = torch.Generator().manual_seed(1000)
        x0 = torch.rand(100, 1, 28, 28, generator=g)
        t0 = time.time()
        x = sample(x0, langevin(target_from(energy=energy), eps_from_noise(2 / 256)), 2000, generator=g).state.position
        q = sample_quality(x, judge, images[tr], images[te])
        counts = q["class_counts"].tolist()
        print(f"{f} it {s['it']}: digits {q['digit_fraction']:.2f} junk {q['junk_fraction']:.2f} "
              f"classes {q['n_classes']} {counts} max share {max(counts) / max(1, sum(counts)):.2f} "
              f"near {q['nearest_mean']:.2f} (min {q['nearest_min']:.2f}) FD {q['frechet']:.0f} "
              f"px [{x.min():.2f},{x.max():.2f}] {time.time() - t0:.0f}s", flush=True)
        if a.save:
            torch.save(x, a.save)
        if a.gates:
            denoise_gates(energy, te)


if __name__ == "__main__":
    main()

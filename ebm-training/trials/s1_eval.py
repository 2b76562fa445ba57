"""Judge a trial-S1 snapshot as ``tools/eval_ebm.py --gates`` judges the trainer's snapshots.

    python ebm-training/trials/s1_eval.py ebm-training/s1/w-010000.pt [--gates] [--save FILE]

The energy is the network itself (T = 1, no pixel-range term).
"""

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from eval_ebm import denoise_gates, judge_prior  # noqa: E402

from probmods.ebm.model import EnergyCNN  # noqa: E402


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
    for f in a.files:
        s = torch.load(f, weights_only=True)
        net = EnergyCNN(s["width"])
        net.load_state_dict(s["ema"])
        energy = Plain(net.eval().requires_grad_(False))
        x, line = judge_prior(energy)
        print(f"{f} it {s['it']}: {line}", flush=True)
        if a.save:
            torch.save(x, a.save)
        if a.gates:
            denoise_gates(energy)


if __name__ == "__main__":
    main()

"""Trial C1: the shipped network behind a monotone calibration map, E = g(E_theta) / T + range term.

    python ebm-training/trials/c1_calibration_map.py 1,0,1 0.125,0.005,0.00125 [--gates]

Each argument a,E*,w gives g(E) = a E + (1 - a) w softplus((E - E*) / w): slope a / T below the knee E*
(a flatter density near the digits) and 1 / T above it (the shipped steepness far from them). One
density, one temperature. The same prior chains and tuning digits as ``tools/eval_ebm.py --gates``.
"""

import argparse
import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from eval_ebm import denoise_gates, judge_prior  # noqa: E402

from probmods.ebm import load_pretrained  # noqa: E402


class Calibrated(nn.Module):
    def __init__(self, base, a, knee, width):
        super().__init__()
        self.base, self.a, self.knee, self.width = base, a, knee, width

    def forward(self, x):
        e = self.base.energy_net(x)
        g = self.a * e + (1 - self.a) * self.width * F.softplus((e - self.knee) / self.width)
        return g / self.base.temperature + self.base._range(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("configs", nargs="+", help="a,E*,w")
    p.add_argument("--gates", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    base = load_pretrained()
    for c in args.configs:
        energy = Calibrated(base, *map(float, c.split(",")))
        x, line = judge_prior(energy)
        with torch.no_grad():
            ef = base.energy_net(x)
        print(f"{c}: {line} E_theta {ef.mean():.4f}", flush=True)
        if args.gates:
            denoise_gates(energy)


if __name__ == "__main__":
    main()

"""Score-matching training: probmods.score.train vs the handout's loop.

The reference is the handout's ``train`` (same network, loss, batch, optimiser).
probmods.score.train *is* that loop (with the loss kept as floats), so the ratio
should be about 1: the benchmark guards against the library's loop growing a cost
of its own. What the chapter's two full 10,000-step trainings cost, the score pages
3 and 4 print as they train. A lever measured and dropped: one intra-op thread (as
fast as two on an idle machine, faster only when another process competes for the
cores).
"""

from __future__ import annotations

import time

import torch

from probmods.gmm import GMMDist
from probmods.score import make_score_net, sliced_score_matching, train


def handout_train(score_net, batch_size=128, nsteps=10000, lr=0.001):
    teacher = GMMDist()
    optimizer = torch.optim.Adam(score_net.parameters(), lr=lr)
    losses = []
    for _step in range(nsteps):
        samples = teacher.sample(batch_size)
        loss = sliced_score_matching(score_net, samples, nv=1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.detach().item())
    return losses, score_net


def run(steps=1000):
    times = {"handout": [], "probmods": []}
    for _ in range(5):  # interleaved rounds, the minimum of each: short runs are noisy on 2 cores
        for name in times:
            torch.manual_seed(0)
            net = make_score_net()
            t0 = time.perf_counter()
            if name == "handout":
                handout_train(net, nsteps=steps)
            else:
                train(net, nsteps=steps, progress=False)
            times[name].append(time.perf_counter() - t0)
    t_ref, t_new = min(times["handout"]), min(times["probmods"])
    print(f"handout loop : {t_ref / steps * 1e3:.2f} ms/step (default threads: {torch.get_num_threads()})")
    print(f"probmods     : {t_new / steps * 1e3:.2f} ms/step")
    return (
        f"bench score-train: {t_ref / t_new:.1f}x vs handout train loop "
        f"({steps} steps, batch 128, best of 5 interleaved rounds; {t_new / steps * 1e3:.2f} vs "
        f"{t_ref / steps * 1e3:.2f} ms/step)"
    )


if __name__ == "__main__":
    print(run())

"""Per-step overhead of the Langevin and MALA samplers over the bare target evaluation.

1000 chains on the five-Gaussian ring for 2000 steps. The reference is the cost of
evaluating what a step must evaluate anyway, in the same loop shape: the score
(ULA), or the log-density and score (MALA, from one pass over the components:
``log_prob_and_score``), at a fresh batch of points. The ratio is the sampler's time
over that bare cost: 1.0x would be zero overhead. The lever beside it: MALA on a target
built from ``log_prob`` and ``score`` apart, which evaluates the mixture twice per step.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from _timing import interleaved_best, restores_torch_threads  # noqa: E402

from probmods.gmm import ring_gmm  # noqa: E402
from probmods.mcmc import eps_from_noise, langevin, mala, sample, target_from  # noqa: E402


@restores_torch_threads
def run(n_chains=1000, n_steps=2000):
    torch.set_num_threads(1)
    ring = ring_gmm()
    target = target_from(score=ring.score, log_prob_and_score=ring.log_prob_and_score)
    x0 = torch.rand(n_chains, 2) * 6 - 3
    eps = eps_from_noise(10 / 256)
    xs = torch.randn(n_chains, 2)

    def bare_score():
        for _ in range(n_steps):
            ring.score(xs)

    def bare_both():
        for _ in range(n_steps):
            ring.log_prob_and_score(xs)

    apart = target_from(score=ring.score, log_prob=ring.log_prob)
    t_score, t_both, t_ula, t_mala, t_apart = interleaved_best([
        bare_score,
        bare_both,
        lambda: sample(x0, langevin(target, eps), n_steps),
        lambda: sample(x0, mala(target, eps), n_steps),
        lambda: sample(x0, mala(apart, eps), n_steps),
    ], rounds=5)
    us = 1e6 / n_steps
    print(f"bare score             : {t_score * us:7.1f} us/step")
    print(f"bare log_prob_and_score: {t_both * us:7.1f} us/step")
    print(f"ULA step               : {t_ula * us:7.1f} us/step ({t_ula / t_score:.2f}x the bare score)")
    print(f"MALA step              : {t_mala * us:7.1f} us/step ({t_mala / t_both:.2f}x the bare evaluation)")
    print(f"MALA, log_prob + score : {t_apart * us:7.1f} us/step (the same chains, {t_apart / t_mala:.2f}x slower)")
    return (
        f"bench langevin-step: {t_ula / t_score:.2f}x vs bare score evaluation "
        f"({n_chains} chains, ring GMM, 1 thread; ULA {t_ula * us:.0f} us/step vs score {t_score * us:.0f} us; "
        f"MALA {t_mala / t_both:.2f}x its log_prob_and_score, {t_mala * us:.0f} us/step; "
        f"log_prob_and_score makes MALA {t_apart / t_mala:.2f}x faster than log_prob and score apart)"
    )


if __name__ == "__main__":
    print(run())

"""Per-step cost of Langevin and MALA on the MNIST energy model vs one forward+backward of the energy.

The reference is what a step must compute anyway: the energy of a batch and its gradient
with respect to the images (parameters frozen), in the same loop shape. The samplers add
the noise draw, the update and, for MALA, the proposal densities and the accept/reject
step. 100 chains (the chapter's evaluation batch), 200 steps, best of 3 interleaved rounds; the levers
measured on the reference, in the same rounds: intra-op threads and the memory format of the weights
(:func:`probmods.ebm.load_pretrained` returns them channels-last).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from _timing import interleaved_best, restores_torch_threads  # noqa: E402

from probmods.ebm import load_pretrained  # noqa: E402
from probmods.mcmc import eps_from_noise, langevin, mala, sample, target_from  # noqa: E402


def _fwd_bwd(energy, x, n_steps):
    def run():
        for _ in range(n_steps):
            xg = x.detach().requires_grad_(True)
            torch.autograd.grad(energy(xg).sum(), xg)

    return run


@restores_torch_threads
def run(n_chains=100, n_steps=200, rounds=3):
    energy = load_pretrained()
    torch.manual_seed(0)
    x0 = torch.rand(n_chains, 1, 28, 28)
    eps = eps_from_noise(2 / 256)
    target = target_from(energy=energy)
    us = 1e6 / n_steps
    contiguous = load_pretrained()
    contiguous.energy_net.to(memory_format=torch.contiguous_format)
    lines = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        runs = [_fwd_bwd(energy, x0, n_steps), lambda: sample(x0, langevin(target, eps), n_steps),
                lambda: sample(x0, mala(target, eps), n_steps)]
        if threads == 1:  # the memory-format lever, timed in the same rounds
            runs.append(_fwd_bwd(contiguous, x0, n_steps))
        best = interleaved_best(runs, rounds)
        lines[threads] = tuple(best)
        t_ref, t_ula, t_mala = best[:3]
        print(f"{threads} thread(s): fwd+bwd {t_ref * us:7.0f} us, ULA step {t_ula * us:7.0f} us "
              f"({t_ula / t_ref:.3f}x), MALA step {t_mala * us:7.0f} us ({t_mala / t_ref:.3f}x)")
    torch.set_num_threads(1)
    t_cl, t_contig = lines[1][0], lines[1][3]
    print(f"lever channels-last weights (1 thread): fwd+bwd {t_cl * us:.0f} us vs {t_contig * us:.0f} us contiguous")
    best = min(lines, key=lambda k: lines[k][1])
    return (
        f"bench ebm-step: ULA {lines[1][1] / lines[1][0]:.3f}x, MALA {lines[1][2] / lines[1][0]:.3f}x one "
        f"forward+backward of the energy ({n_chains} chains, 1 thread: {lines[1][0] * us:.0f} us fwd+bwd; "
        f"2 threads: ULA {lines[2][1] / lines[2][0]:.3f}x, MALA {lines[2][2] / lines[2][0]:.3f}x; "
        f"fastest ULA on {best} thread(s); channels-last weights make fwd+bwd {t_contig / t_cl:.2f}x faster)"
    )


if __name__ == "__main__":
    print(run())

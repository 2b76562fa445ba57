"""Training a coupling flow: probmods.flows.train vs the handout's train loop.

Same model (K=4), data (Moons, N=1500), split, batch size (64), optimiser, epochs,
validation and best-model rule. The reference is the handout's code: a DataLoader
over a Dataset whose ``__getitem__`` converts one NumPy row at a time, a
``MultivariateNormal`` prior, ``epoch_loss += loss`` on graph-carrying tensors,
validation with autograd on, and ``copy.deepcopy`` of the model on every
improvement. Both start from the same seeds, so they see the same initial
weights and the same split.
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.distributions.multivariate_normal import MultivariateNormal
from torch.optim import Adam
from torch.utils.data import DataLoader, Dataset, random_split

sys.path.insert(0, str(Path(__file__).parent))

from _timing import restores_torch_threads  # noqa: E402

from probmods.datasets import sample_2d_datasets  # noqa: E402
from probmods.flows import CouplingFlow, train  # noqa: E402


class HandoutToyDataset(Dataset):
    """The handout's ToyDataset: one NumPy row converted per __getitem__."""

    def __init__(self, dist_type, num_samples=1000, seed=0, num_gaussians=5):
        self.data = sample_2d_datasets(dist_type, num_samples, seed, num_gaussians)
        self.num_samples = num_samples

    def __len__(self):
        return self.num_samples

    def __getitem__(self, index):
        return torch.from_numpy(self.data[index]).type(torch.FloatTensor)


def handout_flow(num_layers):
    """CouplingFlow with the handout's MultivariateNormal prior."""
    model = CouplingFlow(num_layers)
    model.prior = MultivariateNormal(torch.zeros(2), torch.eye(2))
    return model


def handout_train(model, data, epochs=100, batch_size=64):
    """The handout's train function (tqdm and prints removed, nothing else changed)."""
    lengths = [int(len(data) * 0.9), len(data) - int(len(data) * 0.9)]
    train_set, valid_set = random_split(data, lengths)
    train_loader = DataLoader(train_set, batch_size=batch_size)
    valid_loader = DataLoader(valid_set, batch_size=batch_size)
    optimizer = Adam(model.parameters(), lr=1e-3)
    train_losses, valid_losses, min_valid_loss = [], [], np.inf
    for _epoch in range(epochs):
        epoch_loss = 0
        model.train(True)
        for _, training_sample in enumerate(train_loader):
            log_prob = model.log_probability(training_sample)
            loss = -log_prob.mean(0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_loss += loss
        epoch_loss /= len(train_loader)
        train_losses.append(np.copy(epoch_loss.detach().numpy()))
        epoch_loss_valid = 0
        model.train(False)
        for _, valid_sample in enumerate(valid_loader):
            log_prob = model.log_probability(valid_sample)
            loss_valid = -log_prob.mean(0)
            epoch_loss_valid += loss_valid
        epoch_loss_valid /= len(valid_loader)
        valid_losses.append(np.copy(epoch_loss_valid.detach().numpy()))
        if epoch_loss_valid < min_valid_loss:
            model_best = copy.deepcopy(model)
            min_valid_loss = epoch_loss_valid
    if lengths[1] < 500:
        model_best = model
    return model_best, train_losses, valid_losses


@restores_torch_threads
def run(epochs=60, rounds=2):
    torch.set_num_threads(1)
    names = ("handout", "probmods", "probmods-autograd")
    times = {k: [] for k in names}
    finals = {k: [] for k in names}
    for _ in range(rounds):  # alternate, so all see the same machine state
        for name in names:
            torch.manual_seed(8)
            if name == "handout":
                data = HandoutToyDataset("Moons", num_samples=1500)
                model = handout_flow(4)
                t0 = time.perf_counter()
                _, _, valid = handout_train(model, data, epochs=epochs)
            else:
                data = HandoutToyDataset("Moons", num_samples=1500).data
                model = CouplingFlow(4)
                engine = "numpy" if name == "probmods" else "autograd"
                t0 = time.perf_counter()
                _, _, valid = train(model, data, epochs=epochs, progress=False, verbose=False, engine=engine)
            times[name].append((time.perf_counter() - t0) / epochs)
            finals[name].append(float(valid[-1]))
    t = {k: min(v) for k, v in times.items()}
    v = {k: finals[k][-1] for k in names}
    for k in names:
        print(f"{k:18s}: {t[k] * 1e3:6.2f} ms/epoch, final validation NLL {v[k]:.4f}")
    if not abs(v["probmods"] - v["handout"]) < 0.05:
        raise SystemExit(f"the loops disagree: validation NLL {v['probmods']:.4f} vs {v['handout']:.4f}")
    return (
        f"bench flow-train: {t['handout'] / t['probmods']:.1f}x vs handout train loop "
        f"(K=4, Moons N=1500, batch 64, {epochs} epochs, 1 thread; "
        f"{t['probmods'] * 1e3:.2f} vs {t['handout'] * 1e3:.2f} ms/epoch; "
        f"autograd engine {t['handout'] / t['probmods-autograd']:.1f}x; "
        f"final validation NLL {v['probmods']:.4f} vs {v['handout']:.4f})"
    )


if __name__ == "__main__":
    print(run())

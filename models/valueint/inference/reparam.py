"""The sites of a hierarchical model that the samplers reparameterize, and how.

Every hierarchical model of valueint draws its subjects' unconstrained parameters as one
sample site, ``SUBJECT_SITE`` [subject, parameter] (one site rather than a plate, so that
a centeredness can be set per subject and parameter), from Normal(offset, sigma): the
population mean of each subject (``POPULATION_OFFSET``, a deterministic site where the
model records it) and the population sds (``POPULATION_SIGMA``).  The samplers
(``valueint.inference.sampling``, ``valueint.inference.chains``) then sample that site
partially centred (``reparameterized``) or whitened by a Gaussian approximation of each
subject's likelihood (``whitened``, ``valueint.inference.whitening``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from numpyro.infer.reparam import LocScaleReparam

from valueint.inference.whitening import WHITENED_SUFFIX, WhitenedReparam

SUBJECT_SITE = "subject_theta"
POPULATION_OFFSET = "population_offset"  # each subject's population mean [S, P]
POPULATION_SIGMA = "population_sigma"  # the population sds [P]
WHITENED_SITE = SUBJECT_SITE + WHITENED_SUFFIX


def whitened(numpyro_model, approximation):
    """``numpyro_model`` with the subject parameters whitened by ``approximation`` (a
    ``valueint.inference.whitening.LikelihoodApproximation``)."""
    return numpyro.handlers.reparam(
        numpyro_model, config={SUBJECT_SITE: WhitenedReparam(approximation)}
    )


def reparameterized(numpyro_model, centeredness):
    """``numpyro_model`` with the subject parameters partially centred (Gorinova et al.,
    2020): per subject and parameter, 1 samples theta itself (centred), 0 samples the standardized
    offset z = (theta - mean) / sigma (non-centred), values between interpolate;
    ``None`` makes it a learnable ``numpyro.param`` (for SVI)."""
    concrete = centeredness is not None and not isinstance(centeredness, jax.core.Tracer)
    if concrete and np.all(np.asarray(centeredness) == 1):
        return numpyro_model  # fully centred is the model as written
    centered = None if centeredness is None else jnp.asarray(centeredness, dtype=float)
    return numpyro.handlers.reparam(
        numpyro_model, config={SUBJECT_SITE: LocScaleReparam(centered=centered)}
    )

"""Declarative specs for cognitive models fitted to trial data.

One ``ModelSpec`` per model: its parameters (bounds, transform, default prior),
the data columns it needs, a simulator and a per-trial log-likelihood that share
one set of arrays.  Specs are registered by name; ``get_spec(name)`` returns one.

Shapes: one subject's data is a ``TrialArrays`` with leading axes [block, trial]
(learning restarts at each block).  Per-subject parameters are a dict of scalars
on the natural (constrained) scale.  Inference vmaps ``loglik`` over subjects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from valueint.inference.parameters import Parameter
from valueint.pytree import pytree_dataclass
from valueint.registry import Registry

# The label of each context code of ``TrialArrays.context``: 0 self, 1 other, 2 no one.
CONTEXTS = ("self", "other", "none")


@pytree_dataclass
class TrialArrays:
    """Trial data as dense arrays, padded to a rectangle and masked.

    Leading axes are [subject, block, trial] for a data set, [block, trial] for one
    subject.  Where ``mask`` is False the trial was missed or is padding: it adds
    nothing to the likelihood and leaves the learner's state unchanged.

    ``outcome_unchosen`` is the outcome the other option would have given on the trial,
    when the task's outcome schedule is known (e.g. a data set whose two options always
    pay complementarily), NaN where it is not; left out, it is NaN everywhere.  Only
    simulation reads it (``learning.block_simulate`` replays the schedule); the
    likelihood never does.
    """

    choice: jnp.ndarray  # int32; 1 = option 1 (e.g. the high-reward symbol), 0 = option 0
    outcome: jnp.ndarray  # float; reward that followed the choice (0 where missed)
    praise: jnp.ndarray  # float; social feedback y in {0, 1} (or -1 for disapproval)
    present: jnp.ndarray  # float; 1 where the caregiver was there to give feedback
    context: jnp.ndarray  # int32; recipient/context index of the trial (0 self, 1 other, 2 no one)
    mask: jnp.ndarray  # bool; trial observed
    outcome_unchosen: jnp.ndarray | None = None  # float; the other option's outcome, NaN unknown

    def __post_init__(self):
        if self.outcome_unchosen is None:  # no schedule known: NaN, of the choices' shape
            object.__setattr__(self, "outcome_unchosen", np.full(np.shape(self.choice), np.nan))


TRIAL_FIELDS = tuple(field.name for field in dataclasses.fields(TrialArrays))
# Fields that steer simulation only: the likelihood, and so a fit's data hash, ignore them.
SCHEDULE_FIELDS = ("outcome_unchosen",)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A cognitive model: parameters, needed columns, simulate and log-likelihood.

    ``loglik(params, data, options) -> [block, trial]`` log p(choice) per trial for one
    subject, 0 where ``data.mask`` is False; pure and jittable (``lax.scan`` over trials).
    ``simulate(params, data, key, options) -> TrialArrays`` draws choices (and the outcomes
    and feedback they cause) for one subject on the design in ``data`` (its context,
    present and mask, and its outcome schedule where ``outcome_unchosen`` is known; plus
    ``options`` such as the reward probabilities used where it is not).
    """

    name: str
    description: str
    parameters: tuple[Parameter, ...]
    columns: tuple[str, ...]
    loglik: Callable
    simulate: Callable

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)


# the shipped models register themselves in valueint.trials.catalogue
MODEL_SPECS: Registry[ModelSpec] = Registry("model", defined_in="valueint.trials.catalogue")


def register(spec: ModelSpec) -> ModelSpec:
    """Add ``spec`` under its name; a name may be registered once."""
    return MODEL_SPECS.register(spec.name, spec)


def get_spec(name: str) -> ModelSpec:
    """The registered model called ``name``; a KeyError lists the registered ones."""
    if name not in MODEL_SPECS:
        # worded as before the registry: the command line and its tests quote it
        raise KeyError(f"unknown model {name!r}; registered models: {', '.join(registered())}")
    return MODEL_SPECS.get(name)


def registered() -> tuple[str, ...]:
    """Names of the registered models, sorted."""
    return MODEL_SPECS.names()

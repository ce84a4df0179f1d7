"""Simulated subjects on a task: the trial models' side of recovery, calibration and
study design.

A ``Task`` lays out the trials ([subject, block, trial] arrays to be filled by a model's
``simulate``), names the model options it needs and may add feedback that a model does not
draw itself.  ``RecipientBlocks`` (``make_design``) is the recipient-block task: blocks of
16 trials, one recipient context per block (self, other, no one), each subject's blocks in
a random order that keeps the contexts balanced; the caregiver watches the first half of
every block and not the second (only the ISR models read it); outcomes follow the models'
``reward_probs`` option.  ``valueint.trials.socialization.SocializationTask`` is the task
on which the ISR models are identified.

``draw_parameters`` draws subjects from a population (per parameter a mean and sd on the
unconstrained scale; by default the prior's location and ``POPULATION_SD_FRACTION`` of its
scale), ``simulate_data`` plays a task with them, ``synthetic_data`` does both.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Protocol

import jax
import jax.numpy as jnp
import numpy as np

from valueint.inference.parameters import constrain
from valueint.trials.fit_data import FitData, resolve_spec
from valueint.trials.specs import CONTEXTS, ModelSpec, TrialArrays

BLOCK_SIZE = 16
N_TRIALS = 144  # the recipient-block task's trials per subject unless told otherwise
# Population of the simulated subjects, per parameter on the unconstrained scale:
# mean = the default prior's location, sd = POPULATION_SD_FRACTION * prior scale.  With
# the models' priors a learning rate is logit-normal(0, 0.9): 90% within (0.19, 0.81);
# beta log-normal(log 4, 0.6): 90% within (1.5, 10.7).
POPULATION_SD_FRACTION = 0.6


class Task(Protocol):
    """A task that simulated subjects perform: its trial layout, the options the models
    need on it, and any feedback it adds to what a model simulates."""

    trials_per_subject: int

    def arrays(self, n_subjects: int, seed: int) -> TrialArrays:
        """The design [subject, block, trial], to be filled by a model's ``simulate``."""

    def options(self, model: str) -> dict:
        """The options ``model`` needs on this design (e.g. its reward probabilities)."""

    def feedback(self, model: str, simulated: TrialArrays, seed: int) -> TrialArrays:
        """Data simulated by ``model`` with whatever the design adds that the model did not
        draw itself (e.g. a caregiver's praise of a learner that ignores praise)."""


def make_design(
    n_subjects: int, n_trials: int, seed: int = 0, block_size: int = BLOCK_SIZE
) -> TrialArrays:
    """A task design [subject, block, trial]: contexts per block, caregiver presence, mask.

    ``n_trials`` must be a multiple of ``block_size``.  Contexts are balanced over blocks
    (as far as the number of blocks allows) and shuffled per subject.  Choices, outcomes
    and praise are zeros, to be filled by a model's ``simulate``.
    """
    if n_subjects < 1:
        raise ValueError(f"n_subjects must be at least 1; got {n_subjects}")
    if n_trials < block_size or n_trials % block_size:
        raise ValueError(
            f"n_trials must be a positive multiple of the block size {block_size}; got {n_trials}"
        )
    n_blocks = n_trials // block_size
    rng = np.random.default_rng(seed)
    balanced = np.arange(n_blocks) % len(CONTEXTS)
    block_context = np.stack([rng.permutation(balanced) for _ in range(n_subjects)])
    shape = (n_subjects, n_blocks, block_size)
    present = np.zeros(shape)
    present[:, :, : block_size // 2] = 1.0
    return TrialArrays(
        choice=np.zeros(shape, np.int32),
        outcome=np.zeros(shape),
        praise=np.zeros(shape),
        present=present,
        context=np.repeat(block_context[:, :, None], block_size, axis=2).astype(np.int32),
        mask=np.ones(shape, bool),
    )


@dataclasses.dataclass(frozen=True)
class RecipientBlocks:
    """The recipient-block task of ``make_design`` as a ``Task``: ``n_trials`` per subject
    in blocks of ``block_size``; the models' own options; no feedback of its own."""

    n_trials: int = N_TRIALS
    block_size: int = BLOCK_SIZE

    def __post_init__(self) -> None:
        if self.n_trials < self.block_size or self.n_trials % self.block_size:
            raise ValueError(
                f"n_trials must be a positive multiple of the block size {self.block_size}; "
                f"got {self.n_trials}"
            )

    @property
    def trials_per_subject(self) -> int:
        return self.n_trials

    def arrays(self, n_subjects: int, seed: int = 0) -> TrialArrays:
        return make_design(n_subjects, self.n_trials, seed, self.block_size)

    def options(self, model: str) -> dict | None:
        return None

    def feedback(self, model: str, simulated: TrialArrays, seed: int) -> TrialArrays:
        return simulated


def population_of(spec: ModelSpec, population: Mapping | None = None) -> dict:
    """{parameter: (mean, sd)} on the unconstrained scale; defaults from the priors."""
    defaults = {
        p.name: (p.prior_loc, POPULATION_SD_FRACTION * p.prior_scale) for p in spec.parameters
    }
    population = dict(population or {})
    unknown = sorted(set(population) - set(defaults))
    if unknown:
        raise ValueError(
            f"model {spec.name!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(spec.parameter_names)}"
        )
    return {**defaults, **{k: (float(v[0]), float(v[1])) for k, v in population.items()}}


def draw_parameters(spec: ModelSpec, n_subjects: int, seed: int, population=None) -> dict:
    """True natural-scale subject parameters {name: [subject]} drawn from the population."""
    rng = np.random.default_rng(seed)
    unconstrained = {
        name: rng.normal(mean, sd, n_subjects)
        for name, (mean, sd) in population_of(spec, population).items()
    }
    return {k: np.asarray(v) for k, v in constrain(spec, unconstrained).items()}


def simulate_data(spec: ModelSpec, params: dict, design: TrialArrays, seed: int, options=None):
    """Simulated trial arrays [subject, block, trial] for subject parameters {name: [subject]}."""
    n_subjects = np.shape(design.choice)[0]
    keys = jax.random.split(jax.random.key(seed), n_subjects)
    design = jax.tree.map(jnp.asarray, design)
    params = {k: jnp.asarray(v, dtype=float) for k, v in params.items()}
    simulated = _simulate(spec, _frozen(options), params, design, keys)
    return jax.tree.map(np.asarray, simulated)


def _frozen(options):
    """Model options as a hashable value (a compiled program's static argument)."""
    if options is None:
        return None
    return tuple(sorted((k, _frozen_value(v)) for k, v in dict(options).items()))


def _frozen_value(value):
    if isinstance(value, list | tuple):
        return tuple(_frozen_value(v) for v in value)
    return value


# one compiled program per model, options and shape, shared by every simulated data set
@functools.partial(jax.jit, static_argnames=("spec", "options"))
def _simulate(spec, options, params, design, keys):
    options = None if options is None else dict(options)
    return jax.vmap(lambda p, d, k: spec.simulate(p, d, k, options))(params, design, keys)


def task_options(spec: ModelSpec, task: Task, options=None) -> dict | None:
    """The options a model is simulated and fitted with on ``task``: the task's, updated
    with ``options``."""
    own = task.options(spec.name)
    if own is None:
        return options
    return {**own, **dict(options or {})}


def synthetic_data(
    model,
    n_subjects: int,
    task: Task | None = None,
    seed: int = 0,
    population=None,
    options=None,
) -> tuple[FitData, dict]:
    """Simulated ``FitData`` on ``task`` (default: ``RecipientBlocks()``) and the true
    parameters {name: [subject]} behind it; ``options`` update the task's for the model."""
    spec = resolve_spec(model)
    task = RecipientBlocks() if task is None else task
    truth = draw_parameters(spec, n_subjects, seed, population)
    options = task_options(spec, task, options)
    arrays = simulate_data(spec, truth, task.arrays(n_subjects, seed), seed + 1, options)
    arrays = task.feedback(spec.name, arrays, seed + 2)
    return FitData(arrays, simulated_ids(n_subjects), (), CONTEXTS), truth


def simulated_ids(n_subjects: int) -> tuple[str, ...]:
    return tuple(f"sim{s:03d}" for s in range(n_subjects))

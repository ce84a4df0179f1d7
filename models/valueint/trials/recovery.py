"""Parameter and model recovery: simulate from known truth, refit, compare.

``recover`` draws subject parameters from a known population, simulates a task design,
refits the hierarchical model and reports, per parameter, the Pearson correlation of
truth and posterior mean, the RMSE and how often the central 90% interval covers the
truth.  ``model_recovery`` simulates from each of several models, fits all of them and
counts which one PSIS-LOO prefers: a confusion matrix.

Design (``make_design``): blocks of 16 trials, one recipient context per block (self,
other, no one), each subject's blocks in a random order that keeps the contexts
balanced; the caregiver watches the first half of every block and not the second (only
the ISR models read it).  Outcomes follow the models' ``reward_probs`` option.

Other designs (``design=``, a ``Design``) bring their own arrays and model options, e.g.
``valueint.trials.socialization.SocializationDesign``, on which the ISR models are
recovered.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from valueint.inference.comparison import compare
from valueint.inference.parameters import constrain
from valueint.trials.fit import fit
from valueint.trials.fit_data import FitData, resolve_spec
from valueint.trials.specs import CONTEXTS, ModelSpec, TrialArrays

BLOCK_SIZE = 16
N_TRIALS = 144  # make_design's trials per subject unless told otherwise
INTERVAL = 0.9
# Population of the simulated subjects, per parameter on the unconstrained scale:
# mean = the default prior's location, sd = POPULATION_SD_FRACTION * prior scale.  With
# the models' priors a learning rate is logit-normal(0, 0.9): 90% within (0.19, 0.81);
# beta log-normal(log 4, 0.6): 90% within (1.5, 10.7).
POPULATION_SD_FRACTION = 0.6


@dataclasses.dataclass(frozen=True)
class RecoveryResult:
    """Per subject and parameter estimates, and their summary per parameter."""

    model: str
    estimates: pd.DataFrame  # seed, subject, parameter, true, mean, lower, upper, covered
    summary: pd.DataFrame  # parameter, n, pearson_r, rmse, coverage (index: parameter)
    interval: float
    fit_seconds: float

    @property
    def coverage(self) -> float:
        """Coverage pooled over every parameter, subject and seed."""
        return float(self.estimates["covered"].mean())


@dataclasses.dataclass(frozen=True)
class ModelRecoveryResult:
    """How often LOO picked each fitted model (columns) for data from each model (rows)."""

    confusion: pd.DataFrame  # counts, rows = generating model, columns = selected model
    runs: pd.DataFrame  # one row per (seed, generating model, fitted model): elpd, se, rank
    by: str
    # each generating model's parameters recovered by its own fit (free with the fits)
    parameters: dict[str, RecoveryResult] = dataclasses.field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        counts = self.confusion.to_numpy()
        return float(np.trace(counts) / counts.sum())


# --------------------------------------------------------------------------- design


class Design(Protocol):
    """A task design other than ``make_design``'s, for ``recover`` and ``model_recovery``."""

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
    simulated = jax.jit(
        jax.vmap(lambda p, d, k: spec.simulate(p, d, k, options)), static_argnums=()
    )(params, design, keys)
    return jax.tree.map(np.asarray, simulated)


def design_options(spec: ModelSpec, design: Design | None, options=None) -> dict | None:
    """The options a model is simulated and fitted with: the design's, updated with ``options``."""
    if design is None:
        return options
    return {**design.options(spec.name), **dict(options or {})}


def _trials(n_trials: int | None, design: Design | None) -> int | None:
    """Trials per subject: ``n_trials`` for ``make_design`` (default 144); a design's own."""
    if design is None:
        return N_TRIALS if n_trials is None else n_trials
    if n_trials is not None and n_trials != design.trials_per_subject:
        raise ValueError(
            f"n_trials = {n_trials}, but the design has {design.trials_per_subject} trials per "
            "subject; leave n_trials out when giving a design"
        )
    return design.trials_per_subject


def synthetic_data(
    model,
    n_subjects: int,
    n_trials: int | None,
    seed: int,
    population=None,
    options=None,
    *,
    design: Design | None = None,
) -> tuple[FitData, dict]:
    """Simulated ``FitData`` and the true parameters {name: [subject]} behind it.

    On ``make_design(n_subjects, n_trials, seed)``, or on ``design`` (then ``n_trials`` is
    None or the design's count, and ``options`` update the design's options for the model).
    """
    spec = resolve_spec(model)
    truth = draw_parameters(spec, n_subjects, seed, population)
    n_trials = _trials(n_trials, design)
    if design is None:
        arrays = simulate_data(
            spec, truth, make_design(n_subjects, n_trials, seed), seed + 1, options
        )
    else:
        options = design_options(spec, design, options)
        arrays = simulate_data(spec, truth, design.arrays(n_subjects, seed), seed + 1, options)
        arrays = design.feedback(spec.name, arrays, seed + 2)
    subject_ids = tuple(f"sim{s:03d}" for s in range(n_subjects))
    return FitData(arrays, subject_ids, (), CONTEXTS), truth


# --------------------------------------------------------------------------- parameters


def recover(
    model,
    n_subjects: int = 40,
    n_trials: int | None = None,
    seeds: Sequence[int] = (0,),
    method: str = "nuts",
    *,
    design: Design | None = None,
    population: Mapping | None = None,
    options=None,
    chains: int = 2,
    draws: int = 500,
    warmup: int = 500,
    interval: float = INTERVAL,
    progress: bool = False,
    **fit_kwargs,
) -> RecoveryResult:
    """Simulate ``model`` for each seed, refit it hierarchically and score the estimates.

    The task is ``make_design`` with ``n_trials`` per subject (default 144), or ``design``.
    """
    spec = resolve_spec(model)
    if not 0 < interval < 1:
        raise ValueError(f"interval must lie in (0, 1); got {interval}")
    n_trials = _trials(n_trials, design)
    rows = []
    fit_seconds = 0.0
    for seed in seeds:
        data, truth = synthetic_data(
            spec, n_subjects, n_trials, seed, population, options, design=design
        )
        start = time.perf_counter()
        idata = fit(
            data,
            spec,
            method=method,
            chains=chains,
            draws=draws,
            warmup=warmup,
            seed=seed,
            options=design_options(spec, design, options),
            progress=progress,
            **fit_kwargs,
        )
        fit_seconds += time.perf_counter() - start
        rows.append(score_estimates(spec, idata, truth, data.subject_ids, seed, interval))
    estimates = pd.concat(rows, ignore_index=True)
    return RecoveryResult(
        spec.name, estimates, summarize_recovery(estimates, spec), interval, fit_seconds
    )


def score_estimates(spec: ModelSpec, idata, truth: dict, subject_ids, seed: int, interval: float):
    """Per subject and parameter: truth, posterior mean, central ``interval`` and coverage."""
    tail = (1 - interval) / 2
    rows = []
    for name in spec.parameter_names:
        samples = idata.posterior[name].stack(sample=("chain", "draw")).values  # [S, N]
        lower, upper = np.quantile(samples, [tail, 1 - tail], axis=1)
        true = truth[name]
        rows.append(
            pd.DataFrame(
                {
                    "seed": seed,
                    "subject": subject_ids,
                    "parameter": name,
                    "true": true,
                    "mean": samples.mean(axis=1),
                    "lower": lower,
                    "upper": upper,
                    "covered": (lower <= true) & (true <= upper),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def summarize_recovery(estimates: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """Per parameter: n, Pearson r (truth vs posterior mean), RMSE, interval coverage."""
    out = []
    for name in spec.parameter_names:
        sub = estimates[estimates["parameter"] == name]
        error = sub["mean"] - sub["true"]
        out.append(
            {
                "parameter": name,
                "n": len(sub),
                "pearson_r": float(np.corrcoef(sub["true"], sub["mean"])[0, 1]),
                "rmse": float(np.sqrt(np.mean(error**2))),
                "coverage": float(sub["covered"].mean()),
            }
        )
    return pd.DataFrame(out).set_index("parameter")


# --------------------------------------------------------------------------- models


def model_recovery(
    models: Sequence[str],
    n_subjects: int = 20,
    n_trials: int | None = None,
    seeds: Sequence[int] = (0,),
    method: str = "nuts",
    *,
    design: Design | None = None,
    populations: Mapping[str, Mapping] | None = None,
    options: Mapping[str, dict] | None = None,
    by: str = "trial",
    chains: int = 2,
    draws: int = 500,
    warmup: int = 500,
    interval: float = INTERVAL,
    progress: bool = False,
    **fit_kwargs,
) -> ModelRecoveryResult:
    """Simulate each model, fit every model, and count which one PSIS-LOO prefers.

    ``populations`` and ``options`` are keyed by model name.  ``by`` is ``"trial"``
    (leave one trial out) or ``"subject"`` (leave one subject out), as in ``compare``.
    The task is ``make_design`` with ``n_trials`` per subject (default 144), or ``design``.
    Each generating model's fit to its own data also scores its parameters, as ``recover``
    does (``ModelRecoveryResult.parameters``, central ``interval``).
    """
    specs = [resolve_spec(m) for m in models]
    names = [s.name for s in specs]
    if len(set(names)) != len(names) or len(names) < 2:
        raise ValueError(f"model recovery needs at least two distinct models; got {names}")
    if not 0 < interval < 1:
        raise ValueError(f"interval must lie in (0, 1); got {interval}")
    populations = dict(populations or {})
    options = {s.name: design_options(s, design, dict(options or {}).get(s.name)) for s in specs}
    n_trials = _trials(n_trials, design)
    records = []
    confusion = pd.DataFrame(0, index=pd.Index(names, name="generating"), columns=names)
    confusion.columns.name = "selected"
    estimates = {name: [] for name in names}
    own_fit_seconds = dict.fromkeys(names, 0.0)
    for seed in seeds:
        for generating in specs:
            data, truth = synthetic_data(
                generating,
                n_subjects,
                n_trials,
                seed,
                populations.get(generating.name),
                options.get(generating.name),
                design=design,
            )
            fits = {}
            for candidate in specs:
                start = time.perf_counter()
                fits[candidate.name] = fit(
                    data,
                    candidate,
                    method=method,
                    chains=chains,
                    draws=draws,
                    warmup=warmup,
                    seed=seed,
                    options=options.get(candidate.name),
                    progress=progress,
                    **fit_kwargs,
                )
                if candidate.name == generating.name:
                    own_fit_seconds[candidate.name] += time.perf_counter() - start
            own = fits[generating.name]
            estimates[generating.name].append(
                score_estimates(generating, own, truth, data.subject_ids, seed, interval)
            )
            table = compare(fits, by=by)
            winner = str(table.index[0])
            confusion.loc[generating.name, winner] += 1
            for fitted, row in table.iterrows():
                records.append(
                    {
                        "seed": seed,
                        "generating": generating.name,
                        "fitted": fitted,
                        "rank": int(row["rank"]),
                        "elpd": float(row["elpd"]),
                        "se": float(row["se"]),
                        "weight": float(row["weight"]),
                    }
                )
    parameters = {}
    for spec in specs:
        own_estimates = pd.concat(estimates[spec.name], ignore_index=True)
        parameters[spec.name] = RecoveryResult(
            spec.name,
            own_estimates,
            summarize_recovery(own_estimates, spec),
            interval,
            own_fit_seconds[spec.name],
        )
    return ModelRecoveryResult(confusion, pd.DataFrame(records), by, parameters)

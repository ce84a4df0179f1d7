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
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from valueint.trials.comparison import compare
from valueint.trials.fit_data import FitData, resolve_spec
from valueint.trials.inference import fit
from valueint.trials.specs import CONTEXTS, ModelSpec, TrialArrays
from valueint.trials.transforms import constrain

BLOCK_SIZE = 16
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

    @property
    def accuracy(self) -> float:
        counts = self.confusion.to_numpy()
        return float(np.trace(counts) / counts.sum())


# --------------------------------------------------------------------------- design


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


def synthetic_data(
    model, n_subjects: int, n_trials: int, seed: int, population=None, options=None
) -> tuple[FitData, dict]:
    """Simulated ``FitData`` and the true parameters {name: [subject]} behind it."""
    spec = resolve_spec(model)
    truth = draw_parameters(spec, n_subjects, seed, population)
    design = make_design(n_subjects, n_trials, seed)
    arrays = simulate_data(spec, truth, design, seed + 1, options)
    subject_ids = tuple(f"sim{s:03d}" for s in range(n_subjects))
    return FitData(arrays, subject_ids, (), CONTEXTS), truth


# --------------------------------------------------------------------------- parameters


def recover(
    model,
    n_subjects: int = 40,
    n_trials: int = 144,
    seeds: Sequence[int] = (0,),
    method: str = "nuts",
    *,
    population: Mapping | None = None,
    options=None,
    chains: int = 2,
    draws: int = 500,
    warmup: int = 500,
    interval: float = INTERVAL,
    progress: bool = False,
    **fit_kwargs,
) -> RecoveryResult:
    """Simulate ``model`` for each seed, refit it hierarchically and score the estimates."""
    spec = resolve_spec(model)
    if not 0 < interval < 1:
        raise ValueError(f"interval must lie in (0, 1); got {interval}")
    rows = []
    fit_seconds = 0.0
    tail = (1 - interval) / 2
    for seed in seeds:
        data, truth = synthetic_data(spec, n_subjects, n_trials, seed, population, options)
        start = time.perf_counter()
        idata = fit(
            data,
            spec,
            method=method,
            chains=chains,
            draws=draws,
            warmup=warmup,
            seed=seed,
            options=options,
            progress=progress,
            **fit_kwargs,
        )
        fit_seconds += time.perf_counter() - start
        for name in spec.parameter_names:
            samples = idata.posterior[name].stack(sample=("chain", "draw")).values  # [S, N]
            lower, upper = np.quantile(samples, [tail, 1 - tail], axis=1)
            true = truth[name]
            rows.append(
                pd.DataFrame(
                    {
                        "seed": seed,
                        "subject": data.subject_ids,
                        "parameter": name,
                        "true": true,
                        "mean": samples.mean(axis=1),
                        "lower": lower,
                        "upper": upper,
                        "covered": (lower <= true) & (true <= upper),
                    }
                )
            )
    estimates = pd.concat(rows, ignore_index=True)
    return RecoveryResult(
        spec.name, estimates, summarize_recovery(estimates, spec), interval, fit_seconds
    )


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
    n_trials: int = 144,
    seeds: Sequence[int] = (0,),
    method: str = "nuts",
    *,
    populations: Mapping[str, Mapping] | None = None,
    options: Mapping[str, dict] | None = None,
    by: str = "trial",
    chains: int = 2,
    draws: int = 500,
    warmup: int = 500,
    progress: bool = False,
    **fit_kwargs,
) -> ModelRecoveryResult:
    """Simulate each model, fit every model, and count which one PSIS-LOO prefers.

    ``populations`` and ``options`` are keyed by model name.  ``by`` is ``"trial"``
    (leave one trial out) or ``"subject"`` (leave one subject out), as in ``compare``.
    """
    specs = [resolve_spec(m) for m in models]
    names = [s.name for s in specs]
    if len(set(names)) != len(names) or len(names) < 2:
        raise ValueError(f"model recovery needs at least two distinct models; got {names}")
    populations = dict(populations or {})
    options = dict(options or {})
    records = []
    confusion = pd.DataFrame(0, index=pd.Index(names, name="generating"), columns=names)
    confusion.columns.name = "selected"
    for seed in seeds:
        for generating in specs:
            data, _ = synthetic_data(
                generating,
                n_subjects,
                n_trials,
                seed,
                populations.get(generating.name),
                options.get(generating.name),
            )
            fits = {
                candidate.name: fit(
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
                for candidate in specs
            }
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
    return ModelRecoveryResult(confusion, pd.DataFrame(records), by)

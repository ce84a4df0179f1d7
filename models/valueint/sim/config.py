"""Experiment configuration: TOML in, validated parameter pytrees out.

A config has five tables (all optional but ``env.name``)::

    [experiment]      name, n_episodes, chunk_episodes
    [env]             name = "gridworld" | "prosocial", plus that world's options
    [env_autonomous]  overrides of [env] used once the caregiver has gone
    [caregiver]       theta, beta, bias, disapproval, social_reward, presence, ...
    [learner]         kind, isr_mode, policy, q, temperature, ...
    [[conditions]]    label plus overrides of any table above, e.g. learner.kind

Conditions are simulated side by side under one ``jit``: they may change any
number but not the shape of the world (grid size, horizon, number of features).
Every error names the offending field and the allowed range or values.
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from importlib import resources
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from valueint.errors import (
    ConfigError,
    check_choice,
    check_range,
    check_type,
    check_vector,
    read_toml,
)
from valueint.pytree import pytree_dataclass
from valueint.sim import envs
from valueint.sim.agents import (
    ISR_MODES,
    LEARNER_KINDS,
    POLICIES,
    PRESENCE_WEIGHTINGS,
    LearnerParams,
)
from valueint.sim.caregiver import PRESENCE_UNITS, CaregiverParams, phase_span
from valueint.sim.envs.base import Env

Q_REPRESENTATIONS = ("linear", "tabular")
TABLES = ("experiment", "env", "env_autonomous", "caregiver", "learner", "conditions")
CONDITION_TABLES = ("env", "env_autonomous", "caregiver", "learner")

EXPERIMENT_DEFAULTS = {"name": "experiment", "n_episodes": 300, "chunk_episodes": 100}
CAREGIVER_DEFAULTS = {
    "theta": None,  # required: one weight per feature
    "beta": 2.0,
    "bias": -1.0,
    "disapproval": False,
    "social_reward": 2.0,
    "presence": 1.0,
    "autonomous_presence": 0.0,
    "presence_unit": "episode",
    "socialization_episodes": 100,
    "fade_episodes": 0,
}
LEARNER_DEFAULTS = {
    "kind": "isr_bayes",
    "isr_mode": "mean",
    "policy": "softmax",
    "presence_weighting": "observed",
    "q": "linear",
    "temperature": 0.15,
    "epsilon": 0.1,
    "learning_rate": 0.05,
    "discount": 0.9,
    "kappa": 1.0,
    "prior_sd": 1.0,
    "isr_learning_rate": 0.5,
    "isr_budget": 1_000_000_000,
    "praise_beta": None,  # the learner's model of the praise; None: the caregiver's own
    "praise_bias": None,
    "relearn_policy": False,  # forget Q when the autonomous phase starts (a new task)
}
MAX_EPISODES = 10**7  # episode numbers stay exact in float32 (< 2**24)


@pytree_dataclass
class ConditionParams:
    """Everything dynamic about one condition (stacked along axis 0 for many)."""

    env_social: object
    env_autonomous: object
    caregiver: CaregiverParams
    learner: LearnerParams


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A resolved config: the static world plus stacked per-condition params."""

    name: str
    env: Env
    n_episodes: int
    chunk_episodes: int
    q_representation: str
    labels: tuple[str, ...]
    condition_settings: tuple[dict, ...]  # flat, human-readable settings per condition
    params: ConditionParams  # leaves have a leading [n_conditions] axis
    config: dict  # the merged raw config, for the run record

    @property
    def n_conditions(self) -> int:
        return len(self.labels)

    def phase_span(self, phase: str, condition: int = 0) -> tuple[int, int]:
        """(first episode, last episode + 1) of ``phase`` in one condition."""
        care = jax.tree.map(lambda x: np.asarray(x)[condition], self.params.caregiver)
        return phase_span(care, phase, self.n_episodes)

    @property
    def autonomy_start(self) -> int:
        """The first autonomous episode the socialized conditions share: the first
        condition's (a never-socialized baseline comes after them)."""
        return self.phase_span("autonomous")[0]


def load_config(path: str | Path) -> dict:
    """Read a TOML config; errors name the file."""
    try:
        return read_toml(path, "config", ConfigError)
    except FileNotFoundError as err:
        raise ConfigError(str(err)) from None


def default_config(name: str = "default") -> dict:
    """One of the configs shipped with the package (``valueint/sim/configs/NAME.toml``)."""
    ref = resources.files("valueint.sim") / "configs" / f"{name}.toml"
    if not ref.is_file():
        shipped = sorted(
            p.name[:-5] for p in (resources.files("valueint.sim") / "configs").iterdir()
        )
        raise ConfigError(f"no shipped config named {name!r}; shipped: {shipped}")
    return tomllib.loads(ref.read_text())


def merge_tables(base: dict, override: dict) -> dict:
    """``base`` with ``override`` laid over it, table by table (neither is changed)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_tables(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _table(value, field: str) -> dict:
    return check_type(field, value, dict, "a table ([section] or { key = value, ... })")


def _check_keys(table: dict, allowed, prefix: str):
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ConfigError(f"{prefix}.{unknown[0]} is not a known field; allowed: {sorted(allowed)}")


def caregiver_params(table: dict, n_features: int, prefix: str = "caregiver") -> CaregiverParams:
    _check_keys(table, CAREGIVER_DEFAULTS, prefix)
    c = {**CAREGIVER_DEFAULTS, **table}
    if c["theta"] is None:
        raise ConfigError(f"{prefix}.theta is required: one weight per feature ({n_features})")
    theta = check_vector(
        f"{prefix}.theta", c["theta"], n_features, ", one per feature of the environment"
    )
    disapproval = check_type(f"{prefix}.disapproval", c["disapproval"], bool, "true or false")
    bias = check_range(f"{prefix}.bias", c["bias"], -50.0, 50.0)
    if disapproval and bias > 0:
        raise ConfigError(
            f"{prefix}.bias = {bias} must be <= 0 when {prefix}.disapproval is true "
            "(otherwise P(praise) + P(disapproval) can exceed 1)"
        )
    unit = check_choice(f"{prefix}.presence_unit", c["presence_unit"], PRESENCE_UNITS)
    f = jnp.asarray
    return CaregiverParams(
        theta=f(np.array(theta)),
        beta=f(check_range(f"{prefix}.beta", c["beta"], 0.0, 100.0)),
        bias=f(bias),
        disapproval=f(float(disapproval)),
        social_reward=f(check_range(f"{prefix}.social_reward", c["social_reward"], 0.0)),
        presence=f(check_range(f"{prefix}.presence", c["presence"], 0.0, 1.0)),
        autonomous_presence=f(
            check_range(f"{prefix}.autonomous_presence", c["autonomous_presence"], 0.0, 1.0)
        ),
        socialization_episodes=f(
            check_range(
                f"{prefix}.socialization_episodes",
                c["socialization_episodes"],
                0,
                MAX_EPISODES,
                integer=True,
            )
        ),
        fade_episodes=f(
            check_range(
                f"{prefix}.fade_episodes", c["fade_episodes"], 0, MAX_EPISODES, integer=True
            )
        ),
        presence_per_step=f(float(unit == "step")),
    )


def learner_params(
    table: dict, caregiver: CaregiverParams, prefix: str = "learner"
) -> tuple[LearnerParams, str]:
    """Learner params; ``praise_beta`` / ``praise_bias`` default to the caregiver's."""
    _check_keys(table, LEARNER_DEFAULTS, prefix)
    c = {**LEARNER_DEFAULTS, **table}
    if c["praise_beta"] is None:
        c["praise_beta"] = float(caregiver.beta)
    if c["praise_bias"] is None:
        c["praise_bias"] = float(caregiver.bias)
    praise_bias = check_range(f"{prefix}.praise_bias", c["praise_bias"], -50.0, 50.0)
    if float(caregiver.disapproval) > 0 and praise_bias > 0:
        raise ConfigError(
            f"{prefix}.praise_bias = {praise_bias} must be <= 0 when the caregiver may "
            "disapprove (otherwise P(praise) + P(disapproval) can exceed 1)"
        )

    def index(name, choices):
        return jnp.asarray(choices.index(check_choice(f"{prefix}.{name}", c[name], choices)))

    q = check_choice(f"{prefix}.q", c["q"], Q_REPRESENTATIONS)
    kind = check_choice(f"{prefix}.kind", c["kind"], LEARNER_KINDS)
    mode = check_choice(f"{prefix}.isr_mode", c["isr_mode"], ISR_MODES)
    if mode != "mean" and kind != "isr_bayes":
        isr = "a point ISR" if kind == "isr_point" else "a learner without an ISR"
        raise ConfigError(
            f"{prefix}.isr_mode = {mode!r} needs {prefix}.kind = 'isr_bayes' "
            f"({isr} has no posterior to draw from or be pessimistic about)"
        )
    f = jnp.asarray
    params = LearnerParams(
        kind=index("kind", LEARNER_KINDS),
        isr_mode=index("isr_mode", ISR_MODES),
        policy=index("policy", POLICIES),
        presence_weighting=index("presence_weighting", PRESENCE_WEIGHTINGS),
        temperature=f(check_range(f"{prefix}.temperature", c["temperature"], 1e-6)),
        epsilon=f(check_range(f"{prefix}.epsilon", c["epsilon"], 0.0, 1.0)),
        learning_rate=f(check_range(f"{prefix}.learning_rate", c["learning_rate"], 0.0, 1.0)),
        discount=f(check_range(f"{prefix}.discount", c["discount"], 0.0, 1.0)),
        kappa=f(check_range(f"{prefix}.kappa", c["kappa"], 0.0)),
        prior_sd=f(check_range(f"{prefix}.prior_sd", c["prior_sd"], 1e-3)),
        isr_learning_rate=f(
            check_range(f"{prefix}.isr_learning_rate", c["isr_learning_rate"], 0.0)
        ),
        isr_budget=f(
            check_range(f"{prefix}.isr_budget", c["isr_budget"], 0, 2**31 - 1, integer=True)
        ),
        praise_beta=f(check_range(f"{prefix}.praise_beta", c["praise_beta"], 0.0, 100.0)),
        praise_bias=f(praise_bias),
        relearn_policy=f(
            float(
                check_type(f"{prefix}.relearn_policy", c["relearn_policy"], bool, "true or false")
            )
        ),
    )
    return params, q


def _condition_settings(label: str, merged: dict) -> dict:
    learner = {**LEARNER_DEFAULTS, **merged.get("learner", {})}
    caregiver = {**CAREGIVER_DEFAULTS, **merged.get("caregiver", {})}
    settings = {"condition": label}
    settings.update({f"learner.{k}": v for k, v in learner.items() if k != "q"})
    settings.update({f"caregiver.{k}": v for k, v in caregiver.items() if k != "theta"})
    return settings


def _build_env(options: dict, field: str):
    if "name" in options:
        check_type(f"{field}.name", options["name"], str, "a string")
    return envs.build(options, field)


def _world_shape(env):
    """What conditions and phases must share: the world with its layout *distribution*
    flags set aside (whether each slot allows one object type is a distribution)."""
    if hasattr(env, "single_type_slots"):
        return dataclasses.replace(env, single_type_slots=True)
    return env


def resolve(config: dict) -> Experiment:
    """Validate a config dict and build the experiment it describes."""
    if not isinstance(config, dict):
        raise ConfigError("config must be a table of tables")
    _check_keys(config, TABLES, "config")
    for key in CONDITION_TABLES + ("experiment",):
        _table(config.get(key, {}), key)
    exp = {**EXPERIMENT_DEFAULTS, **config.get("experiment", {})}
    _check_keys(exp, EXPERIMENT_DEFAULTS, "experiment")
    name = check_type("experiment.name", exp["name"], str, "a string")
    n_episodes = check_range(
        "experiment.n_episodes", exp["n_episodes"], 1, MAX_EPISODES, integer=True
    )
    chunk = check_range(
        "experiment.chunk_episodes", exp["chunk_episodes"], 1, MAX_EPISODES, integer=True
    )
    if "env" not in config:
        raise ConfigError(
            f"env is required: a table with env.name, one of {list(envs.WORLDS.names())}"
        )

    conditions = config.get("conditions", [])
    if not isinstance(conditions, list):
        raise ConfigError("conditions must be an array of tables ([[conditions]])")
    conditions = conditions or [{"label": "default"}]
    base = {key: config.get(key, {}) for key in CONDITION_TABLES}
    world, q_repr = None, None
    labels, settings, params = [], [], []
    for i, cond in enumerate(conditions):
        prefix = f"conditions[{i}]"
        _check_keys(_table(cond, prefix), ("label", *CONDITION_TABLES), prefix)
        # errors in a table the condition overrides are named after the condition
        where = {key: f"{prefix}.{key}" if key in cond else key for key in CONDITION_TABLES}
        for key in CONDITION_TABLES:
            _table(cond.get(key, {}), where[key])
        label = check_type(f"{prefix}.label", cond.get("label", f"condition_{i}"), str, "a string")
        if label in labels:
            raise ConfigError(f"{prefix}.label = {label!r} is used twice; labels must be unique")
        merged = merge_tables(base, {k: v for k, v in cond.items() if k != "label"})
        env, env_social = _build_env(merged["env"], where["env"])
        env_auto_opts = merge_tables(merged["env"], merged["env_autonomous"])
        env_auto, env_autonomous = _build_env(env_auto_opts, where["env_autonomous"])
        if _world_shape(env_auto) != _world_shape(env):
            raise ConfigError(
                f"{where['env_autonomous']} changes the shape of the world (size, horizon, slots, "
                "features or agents); it may change only distributions and rewards"
            )
        if getattr(env_auto, "single_type_slots", True) is False:
            # tabular Q needs one type per slot in both phases' layouts
            env = dataclasses.replace(env, single_type_slots=False)
        if world is not None and _world_shape(env) != _world_shape(world):
            raise ConfigError(
                f"{prefix}.env changes the shape of the world; conditions of one experiment "
                "must share size, horizon, slots, features and agents"
            )
        if world is None or not getattr(env, "single_type_slots", True):
            world = env  # the world supports tabular Q only if every condition's does
        caregiver = caregiver_params(merged["caregiver"], env.n_features, where["caregiver"])
        learner, q = learner_params(merged["learner"], caregiver, where["learner"])
        if q_repr is not None and q != q_repr:
            raise ConfigError(
                f"{prefix}.learner.q = {q!r}; all conditions must share one Q representation"
            )
        q_repr = q
        if q == "tabular" and not env.supports_tabular:
            raise ConfigError(
                f"{where['learner']}.q = 'tabular' needs a world whose state_index is its whole "
                "state: for the gridworld, a fixed layout (env.fixed_cells, one agent cell, one "
                "type per slot); with drawn layouts use q = 'linear'"
            )
        labels.append(label)
        settings.append(_condition_settings(label, merged))
        params.append(ConditionParams(env_social, env_autonomous, caregiver, learner))

    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *params)
    return Experiment(
        name=name,
        env=world,
        n_episodes=n_episodes,
        chunk_episodes=chunk,
        q_representation=q_repr,
        labels=tuple(labels),
        condition_settings=tuple(settings),
        params=stacked,
        config=config,
    )

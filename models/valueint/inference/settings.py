"""How a fit samples: one validated record of the sampler's settings, for every family.

Every fit of every family (``valueint.trials``, ``valueint.infosampling``,
``valueint.paradigm``), and every analysis, refit, replication and simulated study built
on them, takes its sampler settings as a ``SamplerSettings``.  A family states its own
defaults as one such value (``ModelFamily.default_settings``: the paradigm models, a
handful of parameters, sample at a higher target acceptance, say), and refuses a setting
it has no use for by name.  A fit records the settings it ran with (``as_dict``), so that
a refit (K-fold, a resumed job) runs with the same ones (``from_dict``).
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping

from valueint.inference.rounds import Budget

METHODS = ("nuts", "svi")
INITS = ("svi", "median")
# how a hierarchical fit samples its subjects' parameters (``valueint.inference.sampling``)
PARAMETERIZATIONS = ("whitened", "auto", "centered", "noncentered")
MASS_MATRICES = ("population", "diagonal", "dense")
PRECISIONS = ("auto", "float32", "float64")
GUIDES = ("normal", "multivariate")
MAX_TREE_DEPTH = 15  # 2^15 leapfrog steps a draw: far past any useful fit


@dataclasses.dataclass(frozen=True)
class SamplerSettings:
    """The sampler's settings (every field is checked when the value is made).

    - ``method``: ``"nuts"`` (MCMC) or ``"svi"`` (a variational approximation);
    - ``chains``, ``warmup``, ``draws``: NUTS chains and their warmup and kept draws per
      chain (SVI: ``draws`` guide draws as one chain);
    - ``target_accept_prob``, ``max_tree_depth``: NUTS's step-size target and the cap on
      its trajectory length (2^depth leapfrog steps);
    - the warm start: ``init`` (``"svi"``: a short SVI run of ``warm_start_steps`` steps
      finds the start and, for ``parameterization="auto"``, the centeredness; ``"median"``:
      prior medians) and the pilot that fits the whitened coordinates
      (``pilot_warmup`` warmup steps per chain, then ``pilot_draws`` draws; None: the
      family's choice);
    - ``parameterization``: how subject parameters are sampled: ``"whitened"`` by a
      Gaussian approximation of each subject's likelihood, ``"auto"`` with a learned
      centeredness per subject and parameter, ``"centered"`` or ``"noncentered"``;
    - ``mass_matrix``: ``"population"`` (dense on the population block, diagonal on the
      subjects), ``"diagonal"`` or ``"dense"``;
    - ``precision``: the floating-point type of the likelihood's trial loop (``"auto"``:
      float32 on large data sets, see ``valueint.trials.population.likelihood_dtype``);
    - ``svi_steps``, ``svi_learning_rate``, ``svi_guide``: the SVI fit (Adam steps, its
      learning rate, a mean-field ``"normal"`` or full-rank ``"multivariate"`` guide);
    - ``until_converged``: after the warmup and draws, keep every chain going from its
      adapted state in rounds of ``draws`` more, adapting again at a higher target
      acceptance after divergences, until every posterior quantity meets the convergence
      criterion or the budget is spent (``valueint.inference.rounds``): at most
      ``budget_iterations`` NUTS iterations per chain, warmup included (None: 5 x
      (warmup + draws)), and ``budget_seconds`` of sampling (None: no limit).
    """

    method: str = "nuts"
    chains: int = 4
    warmup: int = 1000
    draws: int = 1000
    target_accept_prob: float = 0.8
    max_tree_depth: int = 10
    init: str = "svi"
    warm_start_steps: int = 1500
    parameterization: str = "auto"
    mass_matrix: str = "population"
    pilot_warmup: int | None = None
    pilot_draws: int | None = None
    precision: str = "auto"
    svi_steps: int = 5000
    svi_learning_rate: float = 0.01
    svi_guide: str = "normal"
    until_converged: bool = False
    budget_iterations: int | None = None
    budget_seconds: float | None = None

    def __post_init__(self) -> None:
        for name, allowed in (
            ("method", METHODS),
            ("init", INITS),
            ("parameterization", PARAMETERIZATIONS),
            ("mass_matrix", MASS_MATRICES),
            ("precision", PRECISIONS),
            ("svi_guide", GUIDES),
        ):
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        for name, low in (
            ("chains", 1),
            ("warmup", 0),
            ("draws", 1),
            ("max_tree_depth", 1),
            ("warm_start_steps", 1),
            ("svi_steps", 1),
        ):
            _check_integer(name, getattr(self, name), low)
        if self.max_tree_depth > MAX_TREE_DEPTH:
            raise ValueError(
                f"max_tree_depth must be at most {MAX_TREE_DEPTH}; got {self.max_tree_depth}"
            )
        if self.pilot_warmup is not None:
            _check_integer("pilot_warmup", self.pilot_warmup, 4)
        if self.pilot_draws is not None:
            _check_integer("pilot_draws", self.pilot_draws, 1)
        if not 0.0 < self.target_accept_prob < 1.0:
            raise ValueError(
                f"target_accept_prob must lie in (0, 1); got {self.target_accept_prob}"
            )
        if not self.svi_learning_rate > 0:
            raise ValueError(f"svi_learning_rate must be positive; got {self.svi_learning_rate}")
        if not isinstance(self.until_converged, bool):
            raise ValueError(f"until_converged must be True or False; got {self.until_converged!r}")
        if self.until_converged and self.method != "nuts":
            raise ValueError("until_converged samples NUTS chains: it needs method='nuts'")
        if self.until_converged and self.chains < 2:
            raise ValueError(
                "until_converged needs at least 2 chains (R-hat cannot judge one chain): "
                "give chains >= 2, or until_converged = false for draws of a fixed number"
            )
        if self.budget_iterations is not None:
            _check_integer("budget_iterations", self.budget_iterations, 1)
        if self.budget_seconds is not None and not self.budget_seconds > 0:
            raise ValueError(f"budget_seconds must be positive; got {self.budget_seconds!r}")

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        return tuple(field.name for field in dataclasses.fields(cls))

    def replace(self, **changes) -> SamplerSettings:
        """These settings with ``changes``; an unknown name is a TypeError naming it."""
        unknown = sorted(set(changes) - set(self.fields()))
        if unknown:
            raise TypeError(
                f"unknown sampler setting(s) {', '.join(unknown)}; the settings are "
                f"{', '.join(self.fields())}"
            )
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping, base: SamplerSettings | None = None) -> SamplerSettings:
        """Settings from a record (``as_dict``), over ``base`` (default: the defaults);
        keys that are not settings are ignored, so a fit's whole record may be given."""
        known = {k: v for k, v in values.items() if k in cls.fields()}
        return (base or cls()).replace(**known)

    @property
    def budget(self) -> Budget:
        """What sampling until converged may spend, with the default filled in."""
        budget = Budget(iterations=self.budget_iterations, seconds=self.budget_seconds)
        return budget.resolved(self.warmup, self.draws)

    @property
    def chains_run(self) -> int:
        """The chains a fit with these settings has: one for SVI."""
        return self.chains if self.method == "nuts" else 1


def split_settings(options: Mapping) -> tuple[dict, dict]:
    """(sampler settings, everything else) of keyword arguments: a fit's ``**options``."""
    names = set(SamplerSettings.fields())
    return (
        {k: v for k, v in options.items() if k in names},
        {k: v for k, v in options.items() if k not in names},
    )


def resolve_settings(
    settings: SamplerSettings | Mapping | None, defaults: SamplerSettings, **changes
) -> SamplerSettings:
    """``settings`` (a SamplerSettings, a mapping of changes, or None for ``defaults``),
    with ``changes`` on top.  A change ``budget`` (a ``valueint.inference.rounds.Budget``,
    or a number of seconds) sets ``budget_iterations`` and ``budget_seconds``."""
    changes = _with_budget(changes)
    if settings is None:
        settings = defaults
    elif not isinstance(settings, SamplerSettings):
        settings = defaults.replace(**_with_budget(settings))
    return settings.replace(**changes) if changes else settings


def _with_budget(changes: Mapping) -> dict:
    changes = dict(changes)
    if "budget" in changes:
        changes.update(budget_settings(changes.pop("budget")))
    return changes


def budget_settings(budget) -> dict:
    """The settings of a budget: a ``Budget``, a number of seconds, or None (the default)."""
    if budget is None:
        return {"budget_iterations": None, "budget_seconds": None}
    if isinstance(budget, Budget):
        return {"budget_iterations": budget.iterations, "budget_seconds": budget.seconds}
    if isinstance(budget, numbers.Real) and not isinstance(budget, bool):
        return {"budget_seconds": float(budget)}
    raise TypeError(f"a budget is a Budget or a number of seconds; got {budget!r}")


def _check_integer(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer of at least {low}; got {value!r}")

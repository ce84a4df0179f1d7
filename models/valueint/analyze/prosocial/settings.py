"""What the prosocial-learning analysis fits and how: the model family, the design's
groups and recipients, and the sampler settings with their full and quick presets."""

from __future__ import annotations

import dataclasses

from valueint.datasets import NAMED_DATASETS
from valueint.inference.settings import SamplerSettings


def dataset_option(name: str):
    """A model option that the Cutler et al. data set declares."""
    import valueint.trials.datasets  # noqa: F401  (registers the data set)

    return NAMED_DATASETS.get("cutler2021").model_options[name]


# the default family: the recipient hypotheses, the perseveration baseline, two learners
# with a choice kernel, one of them learning at different rates from outcomes above and
# below the chosen value; learners whose step shrinks with experience (``bayes``, with a
# choice kernel and per recipient), which can move far on a block's first outcome and
# little later; symbols learned as anticorrelated (an unrewarded choice is evidence for
# the other); and a win-stay/lose-shift mixture
COMPARED_MODELS = (
    "rw",
    "rw_recipient",
    "value_recipient",
    "choice_kernel",
    "rw_ck",
    "rw_asym_ck",
    "bayes",
    "bayes_ck",
    "bayes_recipient",
    "rw_anti",
    "rw_anti_ck",
    "rw_wsls",
)
# also fitted on request (``--models``): the asymmetric learner without the choice kernel
EXTRA_MODELS = ("rw_asym",)
FITTABLE_MODELS = (*COMPARED_MODELS, *EXTRA_MODELS)
GROUP_ORDER = ("young", "older")  # the first is the reference level
CONTEXT_ORDER = ("self", "other", "none")
CONTEXT_NAMES = {"self": "self", "other": "other", "none": "no one"}
HDI_PROB = 0.94
COMMAND = "valueint analyze prosocial-learning"


@dataclasses.dataclass(frozen=True)
class ProsocialSettings:
    """How the models are fitted.  ``subjects_per_group``: keep only the first N subjects
    of each age group (in order of appearance), for quick runs; None keeps all."""

    models: tuple[str, ...] = COMPARED_MODELS
    # 4 chains of 500 warmup and 1000 draws at target acceptance 0.9, a learned
    # centeredness per subject and parameter and a dense population block
    # (``valueint.inference.sampling``) ... then, by default, more rounds of 1000 draws until
    # every quantity converges: at most 7,500 iterations per chain and 10 minutes a fit
    # (``valueint.inference.rounds``)
    sampler: SamplerSettings = SamplerSettings(
        chains=4,
        draws=1000,
        warmup=500,
        target_accept_prob=0.9,
        until_converged=True,
        budget_seconds=600.0,
    )
    seed: int = 0
    subjects_per_group: int | None = None
    predictive_draws: int = 200
    # Q of both symbols at the start of a block (the delta-rule models' ``q_init``): the
    # data set's declared default (``valueint.trials.datasets``), as for every other path
    # that fits it; ``initial_value.csv`` says whether the data prefer it
    q_init: float = dataclasses.field(default_factory=lambda: dataset_option("q_init"))
    # also fit the best model with this initial value and compare the two (None: skip)
    q_init_alternative: float | None = 0.0
    # exact K-fold cross-validation by subject with this many folds (None: skip); the
    # refits repeat each model's fit and run as tasks on the job engine
    kfold: int | None = None

    def __post_init__(self) -> None:
        models = tuple(self.models)
        object.__setattr__(self, "models", models)
        unknown = [m for m in models if m not in FITTABLE_MODELS]
        if unknown:
            raise ValueError(
                f"unknown model(s) {', '.join(map(repr, unknown))}; this analysis fits "
                f"{', '.join(FITTABLE_MODELS)}"
            )
        if len(models) < 2 or len(set(models)) != len(models):
            raise ValueError(f"give at least two distinct models to compare; got {models}")
        if not isinstance(self.predictive_draws, int) or self.predictive_draws < 1:
            raise ValueError(
                f"predictive_draws must be a positive integer; got {self.predictive_draws!r}"
            )
        if self.kfold is not None and (not isinstance(self.kfold, int) or self.kfold < 2):
            raise ValueError(f"kfold must be an integer of at least 2; got {self.kfold!r}")
        for name in ("q_init", "q_init_alternative"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1] (a reward probability); got {value!r}")
        if self.q_init_alternative == self.q_init:
            raise ValueError(
                f"q_init_alternative = q_init = {self.q_init}: nothing to compare (use None)"
            )
        if self.subjects_per_group is not None and self.subjects_per_group < 2:
            raise ValueError(
                f"subjects_per_group must be at least 2 (or None for all); "
                f"got {self.subjects_per_group}"
            )

    @classmethod
    def full(cls, sampler: dict | None = None, **changes) -> ProsocialSettings:
        """All subjects, the default sampler, until converged.  The learned centeredness,
        not the whitened coordinates: on a choice-kernel model (``rw_asym_ck``, the kind
        this analysis finds best) whitening needs 1.7x the gradients per independent draw
        of the worst quantity, warmup included, and mixes worse (R-hat 1.027), though it
        wins on ``rw_recipient`` (``benchmarks/FIT_RESULTS.md``, the sampler comparison).
        ``sampler`` changes the sampler's settings."""
        base = cls().sampler.replace(**dict(sampler or {}))
        return cls(sampler=base, **changes)

    @classmethod
    def quick(cls, sampler: dict | None = None, **changes) -> ProsocialSettings:
        """10 subjects per group, 2 short chains of fixed length: checks the pipeline, not
        the science."""
        short = {"chains": 2, "draws": 150, "warmup": 150, "until_converged": False}
        base = cls().sampler.replace(**{**short, **dict(sampler or {})})
        preset = {"subjects_per_group": 10, "predictive_draws": 60}
        return cls(sampler=base, **{**preset, **changes})

    def as_dict(self) -> dict:
        return {**dataclasses.asdict(self), "models": list(self.models)}

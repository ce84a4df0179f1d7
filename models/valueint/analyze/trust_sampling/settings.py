"""What the trust-sampling analysis fits and how: the models, the participants kept, the
sampler of the fits and of the K-fold refits, and the quick preset."""

from __future__ import annotations

import dataclasses

from valueint.inference.settings import SamplerSettings
from valueint.infosampling.engagement import MIN_AGREEMENT

COMMAND = "valueint analyze trust-sampling"
COMPARED_MODELS = ("fixed_evidence", "sample_cost", "uncertainty", "confidence", "sd_and_distance")
# the fits: 2 chains of 500 warmup and 500 draws after a pilot of 100 + 50 per chain
SAMPLER = SamplerSettings(
    chains=2,
    warmup=500,
    draws=500,
    pilot_warmup=100,
    pilot_draws=50,
    target_accept_prob=0.85,
    parameterization="whitened",
    # more rounds of 500 draws until every quantity converges: at most 5,000 iterations
    # per chain and 15 minutes a fit (``valueint.inference.rounds``)
    until_converged=True,
    budget_iterations=5000,
    budget_seconds=900.0,
)
# K-fold refits: 2 chains each (a chain alone cannot show convergence), sampled until
# converged within 1,800 iterations per chain and 5 minutes (their diagnostics are kept
# with the folds' results)
KFOLD_REFIT = {
    "chains": 2,
    "warmup": 300,
    "draws": 300,
    "budget_iterations": 1800,
    "budget_seconds": 300.0,
}


@dataclasses.dataclass(frozen=True)
class TrustSamplingSettings:
    """What is fitted and how.  ``subjects`` keeps that many participants spread over the
    ages (None: all); ``kfold`` folds by participant (0: no K-fold), refitted with the
    sampler changes ``kfold_refit``."""

    models: tuple[str, ...] = COMPARED_MODELS
    sampler: SamplerSettings = SAMPLER
    seed: int = 0
    subjects: int | None = None
    kfold: int = 5
    kfold_refit: dict = dataclasses.field(default_factory=lambda: dict(KFOLD_REFIT))
    predictive_draws: int = 200
    # participants whose trust follows the tiles' majority less often are set aside
    # (valueint.infosampling.engagement); None keeps everyone
    min_agreement: float | None = MIN_AGREEMENT

    def __post_init__(self) -> None:
        from valueint.infosampling.catalogue import registered

        object.__setattr__(self, "models", tuple(self.models))
        unknown = sorted(set(self.models) - set(registered()))
        if unknown:
            raise ValueError(
                f"unknown model(s) {', '.join(unknown)}; known: {', '.join(registered())}"
            )
        if self.predictive_draws < 1:
            raise ValueError(f"predictive_draws must be at least 1; got {self.predictive_draws}")
        if self.kfold == 1 or self.kfold < 0:
            raise ValueError(f"kfold must be 0 (no K-fold) or at least 2; got {self.kfold}")
        self.sampler.replace(**self.kfold_refit)  # refuses an unknown setting by name

    @classmethod
    def quick(cls, sampler: dict | None = None, **changes) -> TrustSamplingSettings:
        """24 participants, short chains, 2 folds: checks the pipeline, not the science."""
        quick = {
            "warmup": 150,
            "draws": 100,
            "pilot_warmup": 60,
            "pilot_draws": 40,
            "until_converged": False,
        }
        base = SAMPLER.replace(**{**quick, **dict(sampler or {})})
        preset = {
            "subjects": 24,
            "kfold": 2,
            "kfold_refit": {"chains": 1, "warmup": 80, "draws": 60, "until_converged": False},
            "predictive_draws": 40,
        }
        return cls(sampler=base, **{**preset, **changes})

    @property
    def kfold_sampler(self) -> SamplerSettings:
        return self.sampler.replace(**self.kfold_refit)

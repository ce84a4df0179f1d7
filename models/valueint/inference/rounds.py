"""Sampling until the chains meet the criterion: rounds of draws from the adapted state,
within a budget.

Why.  A fixed number of draws is too many for an easy posterior and too few for a hard
one: on real data the tail ESS of a few weakly identified subjects and population
quantities binds, and which ones differs from fit to fit.  So a fit that is asked to
(``SamplerSettings.until_converged``) keeps every chain going from where it stopped,
with the step size and mass matrix its warmup adapted, in rounds of ``draws`` more draws,
until ``valueint.inference.diagnostics``' one criterion holds for every posterior
quantity or the budget is spent.  Each round is judged on all the draws kept so far.

More draws do not cure divergences: a divergence after warmup stays in the draws, and
says the step size is too large for part of the posterior.  After a round with
divergences the chains are therefore adapted again, from their last positions, at a
higher target acceptance (halving the distance to 1: 0.8, 0.9, 0.95, 0.975, then 0.99),
and the draws before that are dropped (they were made with the step size found wanting).

The budget counts NUTS iterations per chain (every warmup, and every round's draws) and
seconds; a round is not begun when it would not fit in what is left.  Every round is
recorded (``Round``): what it did, at which target acceptance, and what the
diagnostics said after it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Callable, Iterator

import numpy as np

from valueint.inference.diagnostics import posterior_judge

# each round is logged here as it ends (``rounds_reported`` routes the lines to a report)
logger = logging.getLogger(__name__)
MAX_TARGET_ACCEPT = 0.99
# the draw budget when none is given: this many times the fit's warmup + draws per chain
DEFAULT_BUDGET_FACTOR = 5


@dataclasses.dataclass(frozen=True)
class Budget:
    """What sampling until converged may spend: ``iterations`` NUTS iterations per chain
    (warmup included; None: ``DEFAULT_BUDGET_FACTOR`` x the settings' warmup + draws)
    and ``seconds`` of sampling (None: no limit)."""

    iterations: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.iterations is not None and (
            isinstance(self.iterations, bool) or int(self.iterations) != self.iterations
        ):
            raise ValueError(f"a budget's iterations are a whole number; got {self.iterations!r}")
        if self.iterations is not None and self.iterations < 1:
            raise ValueError(f"a budget's iterations must be positive; got {self.iterations}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"a budget's seconds must be positive; got {self.seconds}")

    def resolved(self, warmup: int, draws: int) -> Budget:
        """This budget with its default draw budget filled in."""
        if self.iterations is not None:
            return self
        return dataclasses.replace(self, iterations=DEFAULT_BUDGET_FACTOR * (warmup + draws))

    def describe(self) -> str:
        limits = []
        if self.iterations is not None:
            limits.append(f"{self.iterations} iterations per chain")
        if self.seconds is not None:
            limits.append(f"{self.seconds:g} s")
        return " or ".join(limits) or "no limit"


@dataclasses.dataclass(frozen=True)
class Until:
    """Sample until ``judge(kept samples, kept fields)`` (a ``Diagnostics``) says
    converged, or ``budget`` is spent."""

    judge: Callable
    budget: Budget


@dataclasses.dataclass(frozen=True)
class Round:
    """One round: ``kind`` ("first", "more draws" or "adapted again"), its target
    acceptance, the iterations per chain it ran and their leapfrog steps (gradients, all
    chains), the draws kept after it, its seconds, and the diagnostics of every kept draw
    after it."""

    kind: str
    target_accept_prob: float
    iterations: int
    gradients: int
    kept_draws: int
    seconds: float
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    converged: bool

    def describe(self, number: int) -> str:
        """One line: the round, what it ran and what the diagnostics said after it."""
        verdict = "converged" if self.converged else "not converged"
        return (
            f"round {number} ({self.kind}, target acceptance {self.target_accept_prob:g}): "
            f"{self.iterations} iterations per chain in {self.seconds:.0f} s, "
            f"{self.kept_draws} draws per chain kept; {verdict}: max R-hat "
            f"{self.max_rhat:.3f}, min bulk ESS {self.min_ess_bulk:.0f}, min tail ESS "
            f"{self.min_ess_tail:.0f}, {self.divergences} "
            f"divergence{'' if self.divergences == 1 else 's'}"
        )

    def as_dict(self) -> dict:
        row = dataclasses.asdict(self)
        for name in ("max_rhat", "min_ess_bulk", "min_ess_tail", "seconds"):
            value = row[name]
            row[name] = None if not math.isfinite(value) else round(float(value), 4)
        return row


@dataclasses.dataclass(frozen=True)
class Rounds:
    """Every round of a fit sampled until converged, why it stopped (``"converged"``,
    ``"iteration budget"``, ``"time budget"`` or ``"target acceptance at its most"``)
    and the budget it had."""

    rounds: tuple[Round, ...]
    stopped: str
    budget: Budget

    def record(self) -> dict:
        """The fit record's entry (JSON-ready)."""
        return {
            "until_converged": True,
            "budget": dataclasses.asdict(self.budget),
            "stopped": self.stopped,
            "n_gradients_all_rounds": sum(r.gradients for r in self.rounds),
            "rounds": [r.as_dict() for r in self.rounds],
        }

    def summary(self) -> str:
        """One line: how many rounds, their draws and why it stopped."""
        last = self.rounds[-1]
        return (
            f"{len(self.rounds)} round(s), {last.kept_draws} kept draws per chain at target "
            f"acceptance {last.target_accept_prob:g}; stopped: {self.stopped}"
        )


@contextlib.contextmanager
def rounds_reported(report: Callable[[str], None]) -> Iterator[None]:
    """Within the block, each round's line (``Round.describe``) also goes to ``report``."""

    class _Forward(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            report(record.getMessage())

    handler = _Forward(logging.INFO)
    level = logger.level
    logger.addHandler(handler)
    if not logger.isEnabledFor(logging.INFO):
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def until_for(settings, posterior_of) -> Until | None:
    """The ``Until`` of sampler ``settings`` (None unless ``until_converged``), judged on
    the posterior that ``posterior_of(kept samples)`` builds."""
    if not settings.until_converged:
        return None
    return Until(posterior_judge(posterior_of), settings.budget)


def raised_target(target: float) -> float:
    """The next target acceptance after divergences: halfway to 1, at most 0.99."""
    return min(MAX_TARGET_ACCEPT, round(1.0 - (1.0 - target) / 2.0, 6))


def sample_until_converged(
    first: Callable,
    more: Callable,
    again: Callable,
    until: Until,
    *,
    warmup: int,
    draws: int,
    target_accept_prob: float,
    leading: int | None = None,
):
    """Rounds of sampling until ``until`` is met.

    ``first()`` and ``again(state, target)`` adapt and sample (``warmup`` + ``draws``
    iterations, ``again`` from ``state``'s positions at target acceptance ``target``);
    ``more(state)`` draws ``draws`` more from ``state``, adapted.  Each returns (samples
    {site: [chain, iteration, ...]}, fields {name: [chain, iteration]}, state).

    The samples of ``first`` and ``again`` begin with ``leading`` warmup iterations (None:
    ``warmup``; 0 where the sampler keeps none).  Returns (samples, the last warmup's
    followed by every kept draw, fields likewise, the last state, ``Rounds``)."""
    leading = warmup if leading is None else leading
    budget = until.budget.resolved(warmup, draws)
    begun = time.perf_counter()
    target = float(target_accept_prob)
    used, last_cost, last_seconds = 0, 0, 0.0
    rounds: list[Round] = []
    stopped = "converged"
    samples = fields = state = None
    kind = "first"
    while True:
        cost = warmup + draws if kind != "more draws" else draws
        if rounds:
            if used + cost > budget.iterations:
                stopped = "iteration budget"
                break
            projected = last_seconds * cost / max(last_cost, 1)
            if budget.seconds is not None and time.perf_counter() - begun + projected > (
                budget.seconds
            ):
                stopped = "time budget"
                break
        started = time.perf_counter()
        if kind == "first":
            samples, fields, state = first()
        elif kind == "adapted again":
            samples, fields, state = again(state, target)
        else:
            new_samples, new_fields, state = more(state)
            samples = _joined(samples, new_samples)
            fields = _joined(fields, new_fields)
        last_seconds, last_cost = time.perf_counter() - started, cost
        used += cost
        steps = fields.get("num_steps")
        ran = min(cost, np.shape(steps)[1]) if steps is not None else 0
        gradients = 0 if steps is None else int(np.asarray(steps)[:, -ran:].sum())
        kept_samples = {k: v[:, leading:] for k, v in samples.items()}
        kept_fields = {k: v[:, leading:] for k, v in fields.items()}
        report = until.judge(kept_samples, kept_fields)
        rounds.append(
            Round(
                kind=kind,
                target_accept_prob=target,
                iterations=cost,
                gradients=gradients,
                kept_draws=int(next(iter(kept_fields.values())).shape[1]),
                seconds=last_seconds,
                max_rhat=report.max_rhat,
                min_ess_bulk=report.min_ess_bulk,
                min_ess_tail=report.min_ess_tail,
                divergences=report.divergences,
                converged=report.converged,
            )
        )
        logger.info(rounds[-1].describe(len(rounds)))
        if report.converged:
            stopped = "converged"
            break
        if report.divergences:
            if target >= MAX_TARGET_ACCEPT:
                stopped = "target acceptance at its most"
                break
            kind, target = "adapted again", raised_target(target)
        else:
            kind = "more draws"
    return samples, fields, state, Rounds(tuple(rounds), stopped, budget)


def _joined(old: dict, new: dict) -> dict:
    return {name: np.concatenate([old[name], new[name]], axis=1) for name in old}

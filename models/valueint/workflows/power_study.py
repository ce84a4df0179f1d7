"""A power study, read from a TOML file: what is simulated, fitted and judged.

Two kinds of study (``level``, each the models of one family):

- ``"paradigm"``: a count design (``valueint.paradigm``): the paradigm file's conditions,
  with ``sizes`` the candidate numbers of children per condition;
- ``"trial"``: a trial-level socialization design (``valueint.trials.socialization``:
  blocks, trials, the watched share, the caregiver's presence), with ``sizes`` the
  candidate numbers of participants.

For each size, ``studies`` data sets are simulated from the truth model (``[truth]``:
stated parameter values, draws from the prior, or, for paradigm studies, draws from the
posterior of the truth model fitted to pilot counts), every model of ``[fit]`` is
fitted to each, and ``[criteria]`` says what counts as a success.  Paths are relative to
the study file.  See ``data/zhao2017_praise_cheating/power.toml`` for an example.  A key
that no table knows (a misspelled ``studeis = 1``) is refused by name, with the keys it
knows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from valueint.errors import read_toml

# each level's family of models (``valueint.inference.family``)
LEVELS = {"paradigm": "paradigm", "trial": "trials"}
TRUTH_SOURCES = ("values", "prior", "posterior")
# the sampler's changes to each family's defaults (any sampler setting may be given)
FIT_DEFAULTS = {
    # sampled until converged, within 3x its warmup + draws (``valueint.inference.rounds``)
    "paradigm": {
        "method": "nuts",
        "chains": 2,
        "warmup": 500,
        "draws": 500,
        "until_converged": True,
        "budget_iterations": 3000,
    },
    "trial": {
        "method": "svi",
        "chains": 2,
        "warmup": 300,
        "draws": 300,
        "svi_steps": 3000,
        "target_accept_prob": 0.9,
    },
}
# the keys of each table of a study file
KEYS = {
    "": (
        "name",
        "level",
        "sizes",
        "studies",
        "seed",
        "truth",
        "fit",
        "criteria",
        "paradigm",
        "socialization",
    ),
    "truth": ("model", "from", "values", "counts"),
}
SOCIALIZATION_KEYS = (
    "n_blocks",
    "n_trials",
    "watched",
    "presence",
    "reward_probs",
    "caregiver_theta",
    "social_reward",
)


class StudyError(ValueError):
    """A study file that cannot be used; the message names the file and the key."""


def _known_keys(table: Mapping, known, where: str) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise StudyError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}")


@dataclasses.dataclass(frozen=True)
class Criteria:
    """What a simulated study must show.  ``weight``: the truth model's internalization
    weight (``value_weight`` for paradigm models, ``w`` for trial-level ISR models; the
    population mean for trial-level fits), whose 95% interval must lie above
    ``null_below`` (the weights are positive by construction, so "excludes 0" means
    "excludes [0, null_below]"); ``lead_se``: the truth model's LOO lead over the best
    other model must exceed this many standard errors; ``power``: the share of studies
    a size must reach."""

    weight: str
    null_below: float = 0.1
    lead_se: float = 2.0
    power: float = 0.8


@dataclasses.dataclass(frozen=True)
class PowerStudy:
    """A parsed study file (see the module doc)."""

    name: str
    level: str
    sizes: tuple[int, ...]
    studies: int
    seed: int
    truth_model: str
    truth_from: str
    truth_values: Mapping
    models: tuple[str, ...]
    fit: Mapping
    criteria: Criteria
    paradigm: Mapping | None = None  # the paradigm file's TOML (paradigm level)
    pilot_counts: str | None = None  # counts file for truth from the posterior
    socialization: Mapping = dataclasses.field(default_factory=dict)  # trial level
    source: str = "study"

    @property
    def size_label(self) -> str:
        return "children per condition" if self.level == "paradigm" else "participants"

    @property
    def family(self) -> str:
        """The family of the study's models."""
        return LEVELS[self.level]

    def task_options(self) -> dict:
        """The options of the family's ``task_design`` for this study: the paradigm (its
        TOML), or the socialization task's settings."""
        if self.level == "paradigm":
            return {"paradigm": dict(self.paradigm)}
        return {"socialization": dict(self.socialization)}

    def identity(self) -> dict:
        """What fixes the simulated studies and their fits (``studies`` may grow)."""
        record = dataclasses.asdict(self)
        record.pop("studies")
        record.pop("source")
        return record


def _need(table: Mapping, key: str, kind, where: str):
    if key not in table:
        raise StudyError(f"{where}: missing key {key!r}")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise StudyError(f"{where}: {key!r} must be {kind.__name__}; got {value!r}")
    return value


def _positive_int(value, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise StudyError(f"{where} must be a positive integer; got {value!r}")
    return value


def study_from_dict(raw: Mapping, source: str = "study", base: Path | None = None) -> PowerStudy:
    """A PowerStudy from a parsed TOML table; ``base`` is the folder paths are relative to."""
    base = Path(base or ".")
    _known_keys(raw, KEYS[""], source)
    level = _need(raw, "level", str, source)
    if level not in LEVELS:
        raise StudyError(f"{source}: level must be one of {', '.join(LEVELS)}; got {level!r}")
    if "paradigm" in raw and level != "paradigm":
        raise StudyError(f"{source}: 'paradigm' is for level = 'paradigm' studies")
    if "socialization" in raw and level != "trial":
        raise StudyError(f"{source}: [socialization] is for level = 'trial' studies")
    sizes = _sizes(raw, source)  # the tables in the file's order: its first fault is named
    truth = _truth(raw, level, base, source)
    study = PowerStudy(
        name=str(raw.get("name", Path(source).stem)),
        level=level,
        **sizes,
        **truth,
        **_fit(raw, level, truth["truth_model"], source),
        criteria=_criteria(raw, source),
        **_materials(raw, level, base, source),
        source=source,
    )
    check_models(study)
    return study


def _sizes(raw: Mapping, source: str) -> dict:
    """The candidate sizes, the simulated studies per size and the job's seed."""
    sizes = _need(raw, "sizes", list, source)
    if not sizes:
        raise StudyError(f"{source}: sizes is empty; give the candidate study sizes")
    sizes = tuple(_positive_int(s, f"{source}: every entry of sizes") for s in sizes)
    if len(set(sizes)) != len(sizes) or list(sizes) != sorted(sizes):
        raise StudyError(f"{source}: sizes must increase without repeats; got {list(sizes)}")
    studies = _positive_int(raw.get("studies", 100), f"{source}: studies")
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or seed < 0:
        raise StudyError(f"{source}: seed must be a non-negative integer; got {seed!r}")
    return {"sizes": sizes, "studies": studies, "seed": seed}


def _truth(raw: Mapping, level: str, base: Path, source: str) -> dict:
    """The [truth] table: the model that simulates, and where its values come from."""
    truth = _need(raw, "truth", dict, source)
    _known_keys(truth, KEYS["truth"], f"{source} [truth]")
    truth_model = _need(truth, "model", str, f"{source} [truth]")
    truth_from = truth.get("from", "values")
    if truth_from not in TRUTH_SOURCES:
        raise StudyError(
            f"{source} [truth]: from must be one of {', '.join(TRUTH_SOURCES)}; got {truth_from!r}"
        )
    values = truth.get("values", {})
    if truth_from == "values" and not values:
        raise StudyError(f"{source} [truth]: from = 'values' needs a values table")
    pilot = None
    if truth_from == "posterior":
        if level != "paradigm":
            raise StudyError(
                f"{source} [truth]: from = 'posterior' is for paradigm studies (pilot counts)"
            )
        pilot = str(base / _need(truth, "counts", str, f"{source} [truth]"))
    where = {"truth_from": truth_from, "truth_values": dict(values), "pilot_counts": pilot}
    return {"truth_model": truth_model, **where}


def _fit(raw: Mapping, level: str, truth_model: str, source: str) -> dict:
    """The [fit] table: the models compared and the sampler's changes to the defaults."""
    from valueint.inference.settings import SamplerSettings

    fit = dict(FIT_DEFAULTS[level])
    given = raw.get("fit", {})
    models = tuple(_need(given, "models", list, f"{source} [fit]"))
    if truth_model not in models or len(models) < 2:
        raise StudyError(
            f"{source} [fit]: models must list the truth model {truth_model!r} and at least "
            f"one other; got {list(models)}"
        )
    _known_keys(given, ("models", *SamplerSettings.fields()), f"{source} [fit]")
    fit |= {k: v for k, v in given.items() if k != "models"}
    if level == "paradigm" and fit["method"] != "nuts":
        raise StudyError(f"{source} [fit]: method must be nuts; got {fit['method']!r}")
    try:
        SamplerSettings(**fit)
    except ValueError as err:
        raise StudyError(f"{source} [fit]: {err}") from None
    return {"models": models, "fit": fit}


def _criteria(raw: Mapping, source: str) -> Criteria:
    criteria_raw = dict(_need(raw, "criteria", dict, source))
    _known_keys(
        criteria_raw, [f.name for f in dataclasses.fields(Criteria)], f"{source} [criteria]"
    )
    try:
        criteria = Criteria(**criteria_raw)
    except TypeError as err:
        raise StudyError(f"{source} [criteria]: {err}") from None
    if not 0 < criteria.power < 1 or criteria.lead_se < 0 or criteria.null_below < 0:
        raise StudyError(
            f"{source} [criteria]: power must lie in (0, 1) and lead_se, null_below be >= 0"
        )
    return criteria


def _materials(raw: Mapping, level: str, base: Path, source: str) -> dict:
    """What the simulated studies are run with: the paradigm file's TOML (paradigm level)
    or the socialization task's settings (trial level)."""
    if level == "paradigm":
        try:
            paradigm = read_toml(base / _need(raw, "paradigm", str, source), "paradigm", StudyError)
        except FileNotFoundError as err:
            raise StudyError(f"{source}: {err}") from None
        return {"paradigm": paradigm, "socialization": {}}
    socialization = dict(raw.get("socialization", {}))
    _known_keys(socialization, SOCIALIZATION_KEYS, f"{source} [socialization]")
    return {"paradigm": None, "socialization": socialization}


def check_models(study: PowerStudy) -> None:
    """Refuse models, parameters and weights the family does not know, and a design its
    ``task_design`` cannot build, by name."""
    from valueint.inference.family import FAMILIES

    family = FAMILIES.get(study.family)

    def parameters(name):
        if name not in family.models:
            known = ", ".join(family.models.names())
            raise StudyError(
                f"{study.source} [fit]: unknown {family.name} model {name!r}; known: {known}"
            )
        return tuple(p.name for p in family.parameters(name))

    for name in study.models:
        parameters(name)
    known = parameters(study.truth_model)
    if study.criteria.weight not in known:
        raise StudyError(
            f"{study.source} [criteria]: weight {study.criteria.weight!r} is no parameter of "
            f"{study.truth_model!r} ({', '.join(known)})"
        )
    unknown = sorted(set(study.truth_values) - set(known))
    if unknown:
        raise StudyError(
            f"{study.source} [truth]: {', '.join(unknown)} are no parameters of "
            f"{study.truth_model!r} ({', '.join(known)})"
        )
    try:
        family.task_design(study.truth_model, size=study.sizes[0], **study.task_options())
    except (TypeError, ValueError) as err:
        table = "[socialization]" if study.level == "trial" else "paradigm"
        raise StudyError(f"{study.source} {table}: {err}") from None


def load_study(path: str | Path) -> PowerStudy:
    """Read and check a study file; errors name the file and the key."""
    raw = read_toml(path, "study", StudyError)
    return study_from_dict(raw, str(path), Path(path).parent)

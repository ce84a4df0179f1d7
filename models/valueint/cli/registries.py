"""Help texts made from the registries, so that they name what is there: each family's
models, the named data sets, the worlds and the reproductions."""

from __future__ import annotations

from valueint.datasets import NAMED_DATASETS
from valueint.inference.family import FAMILIES, QUALIFIER


def family_models(family: str) -> str:
    return ", ".join(FAMILIES.get(family).models.names())


def _all_models() -> str:
    shared = {}
    for family in FAMILIES.values():
        for name in family.models.names():
            shared.setdefault(name, []).append(family.name)
    parts = [f"{family.name}: {family_models(family.name)}" for family in FAMILIES.values()]
    twice = [name for name, owners in shared.items() if len(owners) > 1]
    note = f" (write {twice[0]!r} of a family as 'paradigm{QUALIFIER}{twice[0]}')" if twice else ""
    return "; ".join(parts) + note


MODEL_HELP = f"the model; {_all_models()}"
TRIAL_MODEL_HELP = f"a trial model: {family_models('trials')}"
PARADIGM_MODELS_HELP = f"comma-separated paradigm models: {family_models('paradigm')}"
SAMPLING_MODELS_HELP = f"comma-separated sampling models: {family_models('infosampling')}"
DATASET_HELP = "a CSV or Parquet file of trials, or a named data set: " + ", ".join(
    NAMED_DATASETS.names()
)

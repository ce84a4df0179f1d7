"""The values file: every cited number with the record it came from, and the helpers that
read rows and fields out of the records."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from provenance import Fields, RecordError, Records, RecordState


@dataclass
class Values:
    """Every cited number: ``values[key] = {value, text, source}``; tables and lists of
    generated text in ``lists[key] = {items, source}``; figures by key."""

    records: Records
    values: dict = field(default_factory=dict)
    lists: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)

    def add(self, key: str, value, text: str | None = None, *, source: str) -> None:
        if key in self.values:
            raise ValueError(f"value {key} given twice")
        if text is None:
            text = value if isinstance(value, str) else json.dumps(value)
        self.values[key] = {"value": value, "text": text, "source": self.records.name(source)}

    def add_list(self, key: str, items: list, *, source: str | list[str]) -> None:
        sources = [source] if isinstance(source, str) else source
        self.lists[key] = {"items": items, "source": [self.records.name(s) for s in sources]}

    def figure(self, key: str, relative: str) -> None:
        self.records.path(relative)
        self.figures[key] = "/" + relative  # typst paths from the root: the paper folder

    def as_json(self, states: list[RecordState]) -> dict:
        return {
            "values": self.values,
            "lists": self.lists,
            "figures": self.figures,
            "records": [state.__dict__ for state in states],
            "cited": sorted(self.records.cited),
        }


def row_where(rows: list[dict], source: str, **match) -> dict:
    found = [r for r in rows if all(r.get(k) == str(v) for k, v in match.items())]
    if len(found) != 1:
        raise RecordError(f"{source}: {len(found)} rows where {match}, expected one")
    return found[0]


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def require(mapping: dict, *keys, source: str):
    value = mapping
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise RecordError(f"{source}: no field {'.'.join(map(str, keys))}")
        value = value[key]
    return value


def sampler_config(config: dict) -> dict:
    """A run's sampler settings, from either layout of its config: flat (the older
    records) or under ``sampler`` (``SamplerSettings.as_dict()``)."""
    where = getattr(config, "where", "config")
    return Fields({**config, **config.get("sampler", {})}, where)


def warmup_words(sampler: dict) -> str:
    """The warmup as run: a whitening pilot (``approximation_warmup`` or ``pilot_warmup``
    of a whitened sampler) before the warmup proper, as "200 + 300"."""
    from .formatting import count

    whitened = "whitened" in (sampler.get("parameterization"), sampler.get("centeredness"))
    pilot = sampler.get("approximation_warmup", sampler.get("pilot_warmup"))
    if whitened and pilot:
        return f"{count(pilot)} + {count(sampler['warmup'])}"
    return count(sampler["warmup"])


def until_words(sampler: dict, budget: dict | None) -> str:
    """How a fit sampled until converged, as run: "then rounds of 1,000 more draws until
    every quantity met the criterion, within 7,500 iterations per chain or 600 s a fit"
    (``budget``: the budget its rounds record, as resolved when it ran); empty for fixed
    draws."""
    from .formatting import count

    if not sampler.get("until_converged"):
        return ""
    if not budget:
        raise RecordError("a fit sampled until converged records no budget for its rounds")
    limits = [f"{count(budget['iterations'])} iterations per chain"]
    if budget.get("seconds"):
        limits.append(f"{count(budget['seconds'])} s")
    return (
        f", then rounds of {count(sampler['draws'])} more draws until every quantity met "
        f"the criterion, within {' or '.join(limits)} a fit"
    )

"""The model catalogue, written from the registries at build time so it cannot drift.

```{model-catalogue} trials
```

renders one family's models (``valueint.inference.family.FAMILIES``: each model's
description and parameters, then every parameter's bounds, transform, default prior and
meaning); ``worlds`` renders the simulation's worlds (``valueint.sim.envs.WORLDS``) and
``learners`` the simulated learners.  Each table sits in a ``div`` with the id
``catalogue-<name>``, which the site's tests read.
"""

from __future__ import annotations

import math

from generated_block import generated_block
from sphinx.util.docutils import SphinxDirective


def _number(value: float) -> str:
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:g}".replace("-", "−")


def _cell(text: str) -> str:
    """Table-cell safe: a pipe would end the cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _bounds(parameter) -> str:
    return f"({_number(parameter.lower)}, {_number(parameter.upper)})"


def _prior(parameter) -> str:
    return f"Normal({_number(parameter.prior_loc)}, {_number(parameter.prior_scale)})"


def family_lines(family) -> list[str]:
    """A family's models and the parameters they use, as Markdown."""
    lines = [
        f"The `{family.name}` family (`{family.unit}` is its unit of data) registers "
        f"{len(family.models)} models.",
        "",
        "| model | what it says | parameters |",
        "|---|---|---|",
    ]
    seen: dict[str, list] = {}
    for name in family.models.names():
        model = family.models.get(name)
        parameters = family.parameters(name)
        names = ", ".join(f"`{p.name}`" for p in parameters)
        lines.append(f"| `{name}` | {_cell(model.description)} | {names} |")
        for parameter in parameters:
            seen.setdefault(parameter.name, []).append((name, parameter))
    lines += [
        "",
        "Default priors are on the unconstrained scale (after the transform); where models "
        "give one parameter different priors, each model's is listed.",
        "",
        "| parameter | bounds | transform | default prior | meaning |",
        "|---|---|---|---|---|",
    ]
    for name, uses in seen.items():
        parameter = uses[0][1]
        priors = {_prior(p) for _, p in uses}
        if len(priors) == 1:
            prior = priors.pop()
        else:
            prior = "; ".join(f"`{model}`: {_prior(p)}" for model, p in uses)
        meanings = list(dict.fromkeys(p.description for _, p in uses if p.description))
        lines.append(
            f"| `{name}` | {_bounds(parameter)} | {parameter.transform} | {prior} "
            f"| {_cell('; '.join(meanings))} |"
        )
    return lines


def worlds_lines() -> list[str]:
    import importlib

    from valueint.sim.envs import WORLDS, make

    lines = [
        "| world | agents | actions | horizon | features (default config) | what it is |",
        "|---|---|---|---|---|---|",
    ]
    for name in WORLDS.names():
        env, _ = make(name)
        # a world's module says what it is; its dataclass only lists its shape
        module = importlib.import_module(WORLDS.get(name).__module__)
        summary = (module.__doc__ or "").strip().split("\n\n")[0]
        features = ", ".join(f"`{f}`" for f in env.feature_names)
        lines.append(
            f"| `{name}` | {env.n_agents} | {env.n_actions} | {env.horizon} | {features} "
            f"| {_cell(summary)} |"
        )
    return lines


def learners_lines() -> list[str]:
    from valueint.sim.agents import ISR_MODES, LEARNER_KINDS, POLICIES

    def names(values):
        return ", ".join(f"`{v}`" for v in values)

    return [
        "| what | registered values |",
        "|---|---|",
        f"| learners (`learner.kind`) | {names(LEARNER_KINDS)} |",
        f"| readings of the ISR (`learner.isr_mode`) | {names(ISR_MODES)} |",
        f"| action choice (`learner.policy`) | {names(POLICIES)} |",
    ]


def catalogue_lines(name: str) -> list[str]:
    if name == "worlds":
        return worlds_lines()
    if name == "learners":
        return learners_lines()
    from valueint.inference.family import FAMILIES

    return family_lines(FAMILIES.get(name, where="model-catalogue"))


class ModelCatalogue(SphinxDirective):
    required_arguments = 1

    def run(self):
        name = self.arguments[0]
        return generated_block(
            self,
            lambda: catalogue_lines(name),
            label=f"model-catalogue {name!r}",
            node_id=f"catalogue-{name}",
            css_class="model-catalogue",
            errors=(KeyError, ValueError),
        )


def setup(app):
    app.add_directive("model-catalogue", ModelCatalogue)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

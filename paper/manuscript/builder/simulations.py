"""The simulations: the claims each simulation record makes and the settings it ran with."""

from __future__ import annotations

from .formatting import count, estimate, number
from .values import Values, require, slug

SIMULATIONS = ("unlearning", "generalization", "reward_hacking", "prosocial")


def simulations(v: Values) -> None:
    # imported here, as in criteria: the package's modules start JAX
    from valueint.sim.reproduce import UNLIMITED  # the ISR budget of "every observation"

    for name in SIMULATIONS:
        source = f"figures/{name}.json"
        record = v.records.json(source)
        v.figure(f"sim_{name}", f"figures/{name}.png")
        claims = require(record, "claims", source=source)
        v.add(f"sim.{name}.seeds", len(record["seeds"]), count(len(record["seeds"])), source=source)
        v.add(f"sim.{name}.all_hold", bool(record["all_claims_hold"]), source=source)
        rows = []
        for claim in claims:
            key = f"sim.{name}.{slug(claim['name'])}"
            text = estimate(claim["estimate"], claim["low"], claim["high"], 3, signed=True)
            v.add(key, claim["estimate"], text, source=source)
            v.add(f"{key}.holds", bool(claim["holds"]), source=source)
            rows.append(
                {
                    "statement": claim["statement"],
                    "estimate": text,
                    "criterion": claim["criterion"],
                    "seeds": count(claim["n_seeds"]),
                    "holds": "yes" if claim["holds"] else "no",
                }
            )
        v.add_list(f"sim.{name}.claims", rows, source=source)
        config = record["config"]
        caregiver = config["caregiver"]
        social = caregiver["socialization_episodes"]
        episodes = config["experiment"]["n_episodes"]
        v.add(f"sim.{name}.socialization", social, count(social), source=source)
        v.add(f"sim.{name}.autonomous", episodes - social, count(episodes - social), source=source)
        theta = caregiver["theta"]
        features = config["env"].get("features") or ["benefit to other", "cost to self", "kept"]
        parts = [f"{f} {number(t, 0, signed=True)}" for f, t in zip(features, theta, strict=True)]
        v.add(f"sim.{name}.theta", theta, "(" + ", ".join(parts) + ")", source=source)
        v.add(
            f"sim.{name}.praise_worth",
            caregiver["social_reward"],
            number(caregiver["social_reward"], 0),
            source=source,
        )
    grid = v.records.json("figures/unlearning.json")["config"]["env"]
    v.add(
        "sim.grid", grid["size"], f"{grid['size']}×{grid['size']}", source="figures/unlearning.json"
    )
    v.add("sim.horizon", grid["horizon"], count(grid["horizon"]), source="figures/unlearning.json")
    ring = v.records.json("figures/prosocial.json")["config"]
    v.add(
        "sim.prosocial.agents",
        ring["env"]["n_agents"],
        count(ring["env"]["n_agents"]),
        source="figures/prosocial.json",
    )
    v.add(
        "sim.prosocial.epsilon",
        ring["learner"]["epsilon"],
        number(ring["learner"]["epsilon"], 1),
        source="figures/prosocial.json",
    )
    hacking = v.records.json("figures/reward_hacking.json")["config"]["conditions"]
    budgets = sorted(
        {c["learner"]["isr_budget"] for c in hacking if "isr_budget" in c.get("learner", {})}
    )
    finite = [b for b in budgets if b < UNLIMITED]
    text = ", ".join(count(b) for b in finite) + " or every observation"
    v.add("sim.reward_hacking.budgets", finite, text, source="figures/reward_hacking.json")

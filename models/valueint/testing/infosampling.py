"""Slow, obvious NumPy versions of the information-sampling models, for parity tests.

The reference the JAX code of ``valueint.infosampling`` (``belief``, ``models``, ``arrays``)
is tested against.  It is written from the formulas in those modules' docstrings, one
state (n tiles opened, g of them green) at a time, with plain Python loops and floats;
nothing but the parameter names is shared with the JAX code.

- the belief is a Beta(m k, (1 - m) k) prior updated by g greens in n tiles;
- stopping earns max(2 (mu - trust_threshold), 0); opening costs ``cost`` and leads to
  (n + 1, g + 1) with probability mu, else (n + 1, g); after ``MAX_TILES`` tiles the stop
  is forced; for ``sample_cost`` every max is a soft max, T log(e^(a/T) + e^(b/T)), at
  T = cost / stop_sharpness (stop or open) and 1 / trust_sharpness (trust or not);
- P(stop) = sigmoid(stop logit) per model, P(trust) = lapse / 2 + (1 - lapse) *
  sigmoid(trust_sharpness (mu - trust_threshold)).

A trial is given as the colour of each tile opened (1 green, 0 red), the number of tiles
opened before the stop and the trust choice (1 trusted).  ``simulate_trial`` draws one
with a NumPy Generator, step by step; ``expected_summary`` gives its expected tiles and
trust rate exactly, for checking both simulators.
"""

from __future__ import annotations

import functools
import math

import numpy as np

MAX_TILES = 25


def log_sigmoid(x: float) -> float:
    return -float(np.logaddexp(0.0, -x))


def sigmoid(x: float) -> float:
    return math.exp(log_sigmoid(x))


def prior_mean_and_count(p: dict) -> tuple[float, float]:
    """The Beta prior's mean and strength from its pseudo-tiles (prior_green, prior_red)."""
    green, red = float(p["prior_green"]), float(p["prior_red"])
    return green / (green + red), green + red


def posterior(prior_mean: float, prior_count: float, n: int, g: int) -> tuple[float, float]:
    """(mean, sd) of the Beta posterior after g greens in n tiles."""
    a = prior_mean * prior_count + g
    b = (1.0 - prior_mean) * prior_count + (n - g)
    mean = a / (a + b)
    variance = a * b / ((a + b) ** 2 * (a + b + 1.0))
    return mean, math.sqrt(variance)


def soft_max(a: float, b: float, temperature: float | None) -> float:
    """max(a, b), or T log(e^(a / T) + e^(b / T))."""
    if temperature is None or b == -math.inf:
        return max(a, b)
    return temperature * float(np.logaddexp(a / temperature, b / temperature))


@functools.lru_cache(maxsize=256)
def stopping_values(
    prior_mean: float,
    prior_count: float,
    cost: float,
    threshold: float = 0.5,
    temperature: float | None = None,
    trust_temperature: float | None = None,
) -> tuple[dict, dict]:
    """({(n, g): value of stopping}, {(n, g): value of opening one more tile}) for every
    reachable state, by backward recursion from the forced stop at ``MAX_TILES`` tiles."""
    stop, opening, value = {}, {}, {}
    for n in range(MAX_TILES, -1, -1):
        for g in range(n + 1):
            mu, _ = posterior(prior_mean, prior_count, n, g)
            stop[n, g] = 2.0 * soft_max(mu - threshold, 0.0, trust_temperature)
            if n == MAX_TILES:
                opening[n, g] = -math.inf
            else:
                expected = mu * value[n + 1, g + 1] + (1.0 - mu) * value[n + 1, g]
                opening[n, g] = -cost + expected
            value[n, g] = soft_max(stop[n, g], opening[n, g], temperature)
    return stop, opening


def _float_params(params: dict) -> dict:
    return {k: float(v) for k, v in params.items()}


def stop_logit(model_name: str, params: dict, n: int, g: int) -> float:
    """The log-odds of stopping by choice in state (n, g), n < MAX_TILES."""
    p = _float_params(params)
    if model_name == "fixed_evidence":
        return p["stop_sharpness"] * (n - p["stop_tiles"])
    if model_name == "sample_cost":
        stop, opening = stopping_values(
            *prior_mean_and_count(p),
            p["cost"],
            p["trust_threshold"],
            p["cost"] / p["stop_sharpness"],
            1.0 / p["trust_sharpness"],
        )
        return p["stop_sharpness"] * (stop[n, g] - opening[n, g]) / p["cost"]
    if model_name == "uncertainty":
        _, sd = posterior(*prior_mean_and_count(p), n, g)
        return p["stop_sharpness"] * (math.log(p["sd_threshold"]) - math.log(sd))
    if model_name == "confidence":
        mean, sd = posterior(*prior_mean_and_count(p), n, g)
        z = (mean - p["trust_threshold"]) / sd
        smoothed = math.sqrt(z * z + 1.0)  # |z|, smoothed within an sd of the threshold
        return p["stop_sharpness"] * math.log(smoothed / p["confidence"])
    if model_name == "sd_and_distance":
        mean, sd = posterior(*prior_mean_and_count(p), n, g)
        z = (mean - p["trust_threshold"]) / sd
        return p["stop_sharpness"] * (math.log(p["sd_threshold"]) - math.log(sd)) + p[
            "distance_weight"
        ] * math.log(math.sqrt(z * z + 1.0))
    raise KeyError(model_name)


def stop_probability(model_name: str, params: dict, n: int, g: int) -> float:
    """P(stop | n, g); 1 after MAX_TILES tiles (the forced stop)."""
    if n == MAX_TILES:
        return 1.0
    return sigmoid(stop_logit(model_name, params, n, g))


def trust_logit(params: dict, n: int, g: int) -> float:
    p = _float_params(params)
    mu, _ = posterior(*prior_mean_and_count(p), n, g)
    return p["trust_sharpness"] * (mu - p["trust_threshold"])


def trust_probability(params: dict, n: int, g: int) -> float:
    """P(trust | n, g), lapses included."""
    lapse = float(params["lapse"])
    return lapse / 2.0 + (1.0 - lapse) * sigmoid(trust_logit(params, n, g))


def distrust_probability(params: dict, n: int, g: int) -> float:
    """P(not trust | n, g), computed as its own sum (not 1 - P(trust)) to keep precision."""
    lapse = float(params["lapse"])
    return lapse / 2.0 + (1.0 - lapse) * sigmoid(-trust_logit(params, n, g))


def log_stop(model_name: str, params: dict, n: int, g: int) -> float:
    """log P(stop | n, g); 0 at the forced stop."""
    return 0.0 if n == MAX_TILES else log_sigmoid(stop_logit(model_name, params, n, g))


def log_continue(model_name: str, params: dict, n: int, g: int) -> float:
    """log P(open another | n, g); -inf at MAX_TILES tiles."""
    return -math.inf if n == MAX_TILES else log_sigmoid(-stop_logit(model_name, params, n, g))


def trial_loglik(model_name: str, params: dict, greens_sequence, tiles: int, trust: int) -> float:
    """log p of one trial: a continue before each of the ``tiles`` tiles, then the stop
    (not scored when forced at MAX_TILES tiles), then the trust choice.

    ``greens_sequence[i]`` is the colour (1 green) of tile i + 1; only the first ``tiles``
    are read."""
    total, g = 0.0, 0
    for n in range(tiles):
        total += log_continue(model_name, params, n, g)
        g += int(greens_sequence[n])
    if tiles < MAX_TILES:
        total += log_stop(model_name, params, tiles, g)
    if trust:
        total += math.log(trust_probability(params, tiles, g))
    else:
        total += math.log(distrust_probability(params, tiles, g))
    return total


def simulate_trial(model_name: str, params: dict, reciprocation: float, rng) -> tuple:
    """One trial against a peer who reciprocates with probability ``reciprocation``:
    (tiles opened, [colour of each tile], trust) with ``rng`` a NumPy Generator."""
    n, g, greens = 0, 0, []
    while n < MAX_TILES and rng.random() >= stop_probability(model_name, params, n, g):
        colour = int(rng.random() < reciprocation)
        greens.append(colour)
        g += colour
        n += 1
    trust = int(rng.random() < trust_probability(params, n, g))
    return n, greens, trust


def expected_summary(model_name: str, params: dict, reciprocation: float) -> tuple[float, float]:
    """(expected tiles opened, P(trust)) of a trial, exactly: the probability of every
    state is carried forward tile by tile."""
    reach, tiles, trust = {0: 1.0}, 0.0, 0.0  # reach[g]: P(reach (n, g) and not stop before)
    for n in range(MAX_TILES + 1):
        onward = {}
        for g, p_reach in reach.items():
            p_stop = stop_probability(model_name, params, n, g)
            tiles += p_reach * p_stop * n
            trust += p_reach * p_stop * trust_probability(params, n, g)
            go_on = p_reach * (1.0 - p_stop)
            onward[g + 1] = onward.get(g + 1, 0.0) + go_on * reciprocation
            onward[g] = onward.get(g, 0.0) + go_on * (1.0 - reciprocation)
        reach = onward
    return tiles, trust

"""The records of ``bench_fit.py`` and ``compare_samplers.py``: versions, the valueint commit,
ratios, and FIT_RESULTS.md rendered from both.

Kept apart from the runs themselves; imports nothing outside the standard library and
valueint.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def versions() -> dict:
    from importlib import metadata

    from valueint.records import package_versions

    out = package_versions()
    for name in ("pymc", "pytensor", "nutpie", "numba", "blackjax"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def valueint_source() -> dict:
    """Which commit of valueint ran, and its package files that differed from it."""
    import valueint

    package = Path(valueint.__file__).resolve().parent

    def git(*argv):
        done = subprocess.run(
            ["git", "-C", str(package), *argv], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else None

    changed = git("status", "--porcelain", "--", ".")
    return {
        "package_dir": str(package),
        "commit": git("rev-parse", "HEAD"),
        "commit_subject": git("log", "-1", "--format=%s"),
        "uncommitted_package_files": changed.splitlines() if changed else [],
    }


def covered_seconds(spans, start: float, end: float) -> float:
    """Seconds of [start, end] inside at least one (start, end) span; nested spans count once."""
    total, reach = 0.0, start
    for lo, hi in sorted((max(a, start), min(b, end)) for a, b in spans if b > start and a < end):
        if hi > reach:
            total += hi - max(lo, reach)
            reach = hi
    return total


def whitened_warmup(warmup: int) -> dict:
    """``fit``'s warmup settings that give the whitened sampler ``warmup`` iterations in
    all, like every other sampler: its pilot (which fits the whitened coordinates: half,
    at least 4), then its own warmup."""
    return {"pilot_warmup": max(warmup // 2, 4), "warmup": warmup - warmup // 2}


def ratios(runs: list[dict]) -> list[dict]:
    ours = next((r for r in runs if r["sampler"] == "valueint"), None)
    out = []
    for other in runs:
        if ours is None or other is ours:
            continue
        pair = (ours["min_ess_per_gradient_all"], other["min_ess_per_gradient_all"])
        out.append(
            {
                "against": other["label"],
                "sampler": other["sampler"],
                "min_ess_per_s": ours["min_ess_per_s"] / other["min_ess_per_s"],
                "min_ess_per_gradient": ours["min_ess_per_gradient"]
                / other["min_ess_per_gradient"],
                "min_ess_per_gradient_all": None if None in pair else pair[0] / pair[1],
            }
        )
    return out


def _uncommitted(porcelain: list[str]) -> str:
    """', with uncommitted changes to a, b' from ``git status --porcelain`` lines."""
    if not porcelain:
        return ""
    return ", with uncommitted changes to " + ", ".join(line.split()[-1] for line in porcelain)


def _short(text, limit: int = 80) -> str:
    text = text or "subject unknown"
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _per_1k(value) -> str:
    return "n/a" if value is None else f"{1000 * value:.2f}"


def _times(value) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def markdown(result: dict) -> str:
    """FIT_RESULTS.md from the record ``bench_fit.orchestrate`` builds."""
    config, source = result["config"], result["valueint_source"]
    dirty = source["uncommitted_package_files"]
    lines = [
        "# Hierarchical fit benchmark",
        "",
        "Written by `make bench-fit` (`benchmarks/bench_fit.py`); the raw numbers, versions and "
        "sampler settings are in `fit_results.json`.  Rerun it when valueint's sampler "
        "defaults change.",
        "",
        f"Run {result['date']} on {result['machine']} ({result['cpu_count']} CPU cores, "
        f"shared with other work), as `{result['command']}`.  valueint at commit "
        f"`{(source['commit'] or 'unknown')[:12]}` ({_short(source['commit_subject'])})"
        + _uncommitted(dirty)
        + ".",
        "",
        f"Data: {result['data']}.  Model: hierarchical `{config['model']}`.  Every sampler: "
        f"{config['chains']} chains x ({config['warmup']} warmup + {config['draws']} draws), "
        f"seed {config['seed']}.",
        "",
        "| sampler | compile s | sampling s | divergent | max R-hat | min bulk ESS "
        "| median bulk ESS | min ESS / s | min ESS / 1k gradients (draws) "
        "| min ESS / 1k gradients (all) | worst / draws | gradients / draw | worst parameter |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for run in result["runs"]:
        lines.append(
            f"| {run['label']} | {run['compile_s']:.1f} | {run['sampling_s']:.1f} | "
            f"{run['divergent']} | {run['rhat_max']:.3f} | {run['ess_bulk_min']:.0f} | "
            f"{run['ess_bulk_median']:.0f} | {run['min_ess_per_s']:.2f} | "
            f"{_per_1k(run['min_ess_per_gradient'])} | "
            f"{_per_1k(run['min_ess_per_gradient_all'])} | {run['worst_share_of_draws']:.2f} | "
            f"{run['gradients_per_draw']:.1f} | `{run['worst_parameter']}` |"
        )
    if result["ratios"]:
        lines += [
            "",
            "valueint / other on the worst-mixing parameter (above 1: valueint does better):",
            "",
            "| against | min ESS / s | min ESS / gradient (draws) | min ESS / gradient (all) |",
            "| --- | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {r['against']} | {_times(r['min_ess_per_s'])} | "
            f"{_times(r['min_ess_per_gradient'])} | {_times(r['min_ess_per_gradient_all'])} |"
            for r in result["ratios"]
        ]
    n_parameters = result["runs"][0]["n_parameters"] if result["runs"] else 0
    lines += [
        "",
        "## How it was run",
        "",
        "* Every run is a fresh Python process with empty pytensor/numba caches (a temporary "
        "folder, removed afterwards), so every compile is cold, as in a first session; JAX "
        "keeps no compiled code between processes either.",
        "* valueint: `valueint.trials.fit.fit(data, 'rw_recipient', chains=..., "
        "draws=..., warmup=..., seed=..., progress=False, parameterization='whitened')`, "
        "every other sampler setting at fit's default (all recorded under `settings` in the "
        "JSON); the whitened sampler's two warmup stages add up to `--warmup` "
        "(`approximation_warmup` half of it).  'valueint, learned centeredness' is fit's "
        "default sampler (`parameterization='auto'`, one warmup of `--warmup` steps), "
        "valueint's own baseline in the same run.  Compile time: the seconds of "
        "fit's own clock (`sampling_time_s`) in which JAX traced, lowered or compiled, from "
        "`jax.monitoring`'s compile events (nested ones counted once); sampling time: the "
        "rest of that clock, warm start and warmup included.  The pointwise log-likelihood "
        "and predictive draws fit adds afterwards are in neither.",
        "* PyMC: `build_pymc_model` in `bench_fit.py`, the model as a PyMC user writes it: "
        "non-centred, the same priors (checked against valueint's at run time), the delta "
        "rule a `pytensor.scan` over the 16 trials of a block (all blocks of all subjects "
        "at once), a `pm.Bernoulli` on the observed choices.  `pm.sample` with its defaults "
        f"(target acceptance 0.8, `cores={config['cores']}`) and `nuts_sampler='pymc'`: "
        "without it PyMC 6 hands the model to nutpie when nutpie is installed, the rows "
        "below.  Sampling time: pm.sample's own `sampling_time` (chains start to last "
        "draw); compile time: building the model plus the rest of pm.sample's wall time.",
        "* nutpie: `nutpie.compile_pymc_model(model, backend='numba')` of that model (the "
        "compile time, with building the model), then `nutpie.sample` with its default "
        "adaptation, or with `adaptation='low_rank'`, the low-rank modified mass matrix "
        "(what `low_rank_modified_mass_matrix=True` now maps to).",
        f"* ESS: `arviz_stats.ess(method='bulk')` over the same {n_parameters} parameters "
        "for every sampler: the four subject-level parameters of every subject, and `mu_` "
        "(natural scale) and `sigma_` of each.  Gradients: leapfrog steps summed over "
        "chains (numpyro `num_steps`, PyMC/nutpie `n_steps`); '(draws)' counts the kept "
        "draws only, '(all)' adds the warmup and, for valueint, one per step of its SVI "
        "warm start.  'worst / draws': the lowest bulk ESS as a share of all draws.",
        "* valueint's trial loop runs in float32 for data this size (fit's "
        "`likelihood_precision='auto'`), PyMC's and nutpie's in float64.",
    ]
    check = result.get("likelihood_check")
    if check is not None:
        lines.append(
            f"* The same likelihood: at a random point PyMC's log-likelihood is "
            f"{check['pymc']:.6f} and valueint's {check['valueint']:.6f} "
            f"(difference {check['abs_difference']:.1e})."
        )
    for run in result["runs"]:
        for message in run.get("fit_warnings", []):
            lines.append(f"* valueint's fit warned: {message}")
    lines += [f"* {note}" for note in result["notes"]]
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items())]
    return "\n".join(lines) + "\n"


def comparison_markdown(result: dict) -> str:
    """The sampler comparison section of FIT_RESULTS.md, from ``compare_samplers.py``'s record."""
    source = result["valueint_source"]
    dirty = source["uncommitted_package_files"]
    lines = [
        "## Sampler comparison on the binding quantities",
        "",
        f"Run {result['date']} on {result['machine']} ({result['cpu_count']} CPU cores), as "
        f"`{result['command']}`; valueint at `{(source['commit'] or 'unknown')[:12]}`"
        + _uncommitted(dirty)
        + f".  Data: {result['data']}.  "
        f"Every sampler: {result['config']['chains']} chains x ({result['config']['warmup']} "
        f"warmup + {result['config']['draws']} draws), seed {result['config']['seed']}.  "
        "'worst ESS' is the lower of the lowest bulk and the lowest tail ESS over every "
        "subject parameter, mu_ and sigma_ (natural scale), `[i]` the i-th subject in the "
        "data's order, from 0; gradients: gradient evaluations over all chains; seconds: warm "
        "start, tuning and sampling, compiles left out.",
        "",
    ]
    header = (
        "| model | sampler | divergent | max R-hat | min bulk ESS (worst) | min tail ESS (worst)"
        " | worst ESS / 1k gradients (draws) | (all) | worst ESS / s | gradients / draw "
        "| seconds |"
    )
    lines += [header, "| --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for run in result["runs"]:
        if "error" in run:
            lines.append(f"| `{run['model']}` | {run['sampler']} | failed: {run['error']} |")
            continue
        lines.append(
            f"| `{run['model']}` | {run['sampler']} | {run['divergent']} | {run['rhat_max']:.3f} "
            f"| {run['ess_bulk_min']:.0f} (`{run['worst_bulk']}`) "
            f"| {run['ess_tail_min']:.0f} (`{run['worst_tail']}`) "
            f"| {run['min_ess_per_1k_gradients_draws']:.2f} "
            f"| {run['min_ess_per_1k_gradients_all']:.2f} | {run['min_ess_per_s']:.2f} "
            f"| {run['gradients_per_draw']:.1f} | {run['sampling_s']:.0f} |"
        )
    lines.append("")
    models = list(dict.fromkeys(run["model"] for run in result["runs"]))
    samplers = list(dict.fromkeys(run["sampler"] for run in result["runs"]))
    measured = {(run["model"], run["sampler"]) for run in result["runs"]}
    missing = [f"`{m}` / {s}" for m in models for s in samplers if (m, s) not in measured]
    if missing:
        lines.append(f"* Not measured in this run: {', '.join(missing)}.")
    if result.get("resumed_from"):
        lines.append(
            f"* Resumed: the runs without an error were kept from the run of "
            f"{result['resumed_from']} with the same settings, the others run again."
        )
    for note in result["notes"]:
        lines.append(f"* {note}")
    versions = ", ".join(f"{k} {v}" for k, v in result["versions"].items())
    lines += ["", f"Versions: {versions}", ""]
    return "\n".join(lines)


BENCH_RECORD = "fit_results.json"
COMPARISON_RECORD = "sampler_comparison.json"


def write_fit_results(out_dir: Path) -> str:
    """FIT_RESULTS.md in ``out_dir`` from whichever of the two records it holds (each run
    rewrites its own record; the page always shows both), atomically; returns the text."""
    from valueint.records import atomic_write

    out_dir = Path(out_dir)
    parts = []
    if (out_dir / BENCH_RECORD).exists():
        parts.append(markdown(json.loads((out_dir / BENCH_RECORD).read_text())))
    if (out_dir / COMPARISON_RECORD).exists():
        parts.append(comparison_markdown(json.loads((out_dir / COMPARISON_RECORD).read_text())))
    text = "\n".join(parts)
    atomic_write(out_dir / "FIT_RESULTS.md", text)
    return text

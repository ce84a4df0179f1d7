"""Environment steps per second, with learning: the jitted JAX runner vs the NumPy reference.

JAX: ``valueint.sim.runner.run_experiment`` on the shipped default config cut down to
its ``isr_bayes`` condition, with N parallel learners (= N seeds), in float32.  It
is run once to compile and then timed on warm runs, which reuse the compiled
program because ``make_chunk_runner`` is memoized (the benchmark adds the memo if
the installed version lacks it); the compile time is reported separately as
(first call - best warm call).

NumPy: ``valueint.testing.simulation.run_reference`` on a short run of one learner,
replaying the same kind of noise ``trace_episodes`` draws (``episode_noise``).

Steps are agent-steps.  "Scan steps" are episodes x horizon x learners x agents,
what the scan actually executes (steps after an episode ends still run, frozen);
"active steps" are those before each episode ended (the ``steps`` metric).

    .venv/bin/python benchmarks/bench_simulation.py --learners 1024,16384 --out bench.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from rich.console import Console
from rich.table import Table

import valueint
from valueint.records import write_json
from valueint.sim import runner
from valueint.testing.simulation import run_reference

CONDITION = "isr_bayes"


def parse_learners(values: list[str] | None) -> list[int]:
    """``--learners 1024 --learners 4096,16384`` -> [1024, 4096, 16384]."""
    out = []
    for value in values or ["1024"]:
        for part in value.split(","):
            part = part.strip()
            if part:
                n = int(part)
                if n < 1:
                    raise argparse.ArgumentTypeError(f"--learners must be >= 1; got {n}")
                out.append(n)
    return out


def benchmark_config(n_episodes: int | None) -> dict:
    cfg = valueint.default_config()
    cfg["conditions"] = [c for c in cfg["conditions"] if c["label"] == CONDITION]
    if n_episodes is not None:
        cfg["experiment"]["n_episodes"] = n_episodes
        cfg["caregiver"]["socialization_episodes"] = min(
            cfg["caregiver"]["socialization_episodes"], max(n_episodes // 2, 1)
        )
    return cfg


def bench_jax(experiment, n_learners: int, repeats: int) -> dict:
    seeds = list(range(n_learners))
    t0 = time.perf_counter()
    metrics = runner.run_experiment(experiment, seeds)  # compile + run
    first = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        metrics = runner.run_experiment(experiment, seeds)
        runs.append(time.perf_counter() - t0)
    env = experiment.env
    scan_steps = experiment.n_episodes * env.horizon * n_learners * env.n_agents
    active_steps = float(np.sum(metrics.steps))  # steps is per agent: agent-steps
    best = min(runs)
    finite = all_finite(vars(metrics))
    return {
        "runner": "jax",
        "learners": n_learners,
        "episodes": experiment.n_episodes,
        "scan_steps": scan_steps,
        "active_steps": active_steps,
        "compile_s": max(first - best, 0.0),
        "first_call_s": first,
        "run_s": best,
        "run_s_median": statistics.median(runs),
        "scan_steps_per_s": scan_steps / best,
        "active_steps_per_s": active_steps / best,
        "finite": bool(finite),
    }


def reference_noise(experiment, seed: int, n_episodes: int):
    """The noise ``trace_episodes(experiment, ., seed, n_episodes)`` would replay."""
    env = experiment.env
    key = jax.random.key(seed)
    draw = jax.jit(
        jax.vmap(lambda e: runner.episode_noise(env, jax.random.fold_in(key, e), env.n_features))
    )
    return jax.device_get(draw(jnp.arange(n_episodes)))


def bench_reference(experiment, n_episodes: int, repeats: int) -> dict:
    noise = reference_noise(experiment, 0, n_episodes)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _, metrics = run_reference(experiment, 0, noise, n_episodes)
        runs.append(time.perf_counter() - t0)
    env = experiment.env
    scan_steps = n_episodes * env.horizon * env.n_agents
    active_steps = float(np.sum(metrics["steps"]))
    best = min(runs)
    return {
        "runner": "numpy reference",
        "learners": 1,
        "episodes": n_episodes,
        "scan_steps": scan_steps,
        "active_steps": active_steps,
        "compile_s": 0.0,
        "first_call_s": runs[0],
        "run_s": best,
        "run_s_median": statistics.median(runs),
        "scan_steps_per_s": scan_steps / best,
        "active_steps_per_s": active_steps / best,
        "finite": all_finite(metrics),
    }


def all_finite(metrics: dict) -> bool:
    """Every metric is finite, except socialized_rate, which is NaN by design for an
    episode without a choice (a time-out)."""
    return bool(
        all(
            np.all(np.isfinite(np.asarray(v)))
            for name, v in metrics.items()
            if name != "socialized_rate"
        )
    )


def versions() -> dict:
    import jaxlib

    return {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "valueint": valueint.__version__,
    }


def device_info() -> dict:
    dev = jax.devices()[0]
    return {
        "platform": dev.platform,
        "device_kind": dev.device_kind,
        "n_devices": jax.device_count(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "x64": bool(jax.config.jax_enable_x64),
    }


def render(results: list[dict], reference: dict, console: Console) -> None:
    table = Table(title="Simulation throughput with learning (agent-steps per second)")
    for col in (
        "runner",
        "learners",
        "episodes",
        "scan steps",
        "active steps",
        "compile s",
        "run s",
        "scan steps/s",
        "active steps/s",
        "x NumPy (scan)",
        "x NumPy (active)",
    ):
        table.add_column(col, justify="left" if col == "runner" else "right")
    for r in [*results, reference]:
        table.add_row(
            r["runner"],
            f"{r['learners']:,}",
            f"{r['episodes']:,}",
            f"{r['scan_steps']:,.0f}",
            f"{r['active_steps']:,.0f}",
            f"{r['compile_s']:.2f}",
            f"{r['run_s']:.3f}",
            f"{r['scan_steps_per_s']:,.0f}",
            f"{r['active_steps_per_s']:,.0f}",
            f"{r['scan_steps_per_s'] / reference['scan_steps_per_s']:,.0f}x",
            f"{r['active_steps_per_s'] / reference['active_steps_per_s']:,.0f}x",
        )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--learners",
        action="append",
        help="parallel learners (seeds) for JAX; repeat or comma-separate (default 1024)",
    )
    parser.add_argument(
        "--episodes", type=int, default=None, help="JAX episodes (default: the config's)"
    )
    parser.add_argument(
        "--ref-episodes", type=int, default=20, help="episodes of the NumPy reference run"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed warm runs (best is kept)")
    parser.add_argument("--out", type=Path, default=None, help="write results as JSON here")
    args = parser.parse_args(argv)
    learners = parse_learners(args.learners)
    if args.episodes is not None and args.episodes < 1:
        parser.error("--episodes must be >= 1")
    if args.ref_episodes < 1 or args.repeats < 1:
        parser.error("--ref-episodes and --repeats must be >= 1")

    # Every CPU core becomes a JAX device; the runner spreads seeds over them.
    numpyro.set_host_device_count(os.cpu_count() or 1)
    console = Console()
    if not console.is_terminal:  # a log or pipe: do not squeeze the table to 80 columns
        console = Console(width=150)
    experiment = valueint.resolve(benchmark_config(args.episodes))
    console.print(
        f"[bold]valueint[/] {valueint.__version__}  jax {jax.__version__} on "
        f"{jax.devices()[0].platform} ({jax.devices()[0].device_kind}) x {jax.device_count()}, "
        f"{os.cpu_count()} CPUs, float dtype {jnp.zeros(()).dtype}"
    )
    reference = bench_reference(experiment, args.ref_episodes, args.repeats)
    results = []
    for n in learners:
        console.print(f"JAX run_experiment: {n:,} learners x {experiment.n_episodes} episodes ...")
        results.append(bench_jax(experiment, n, args.repeats))
    render(results, reference, console)
    for r in results:
        if not r["finite"]:
            console.print(f"[red]warning: non-finite metrics with {r['learners']} learners[/]")
    ratio = results[0]["scan_steps_per_s"] / reference["scan_steps_per_s"]
    console.print(
        f"JAX / NumPy (scan steps/s, {results[0]['learners']:,} learners): {ratio:,.0f}x "
        f"(target >= 100x: {'met' if ratio >= 100 else 'NOT met'})"
    )

    if args.out is not None:
        payload = {
            "benchmark": "bench_simulation",
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "config": {"name": experiment.name, "condition": CONDITION},
            "device": device_info(),
            "versions": versions(),
            "argv": sys.argv[1:] if argv is None else argv,
            "jax": results,
            "reference": reference,
            "ratio_scan": {
                str(r["learners"]): r["scan_steps_per_s"] / reference["scan_steps_per_s"]
                for r in results
            },
            "ratio_active": {
                str(r["learners"]): r["active_steps_per_s"] / reference["active_steps_per_s"]
                for r in results
            },
        }
        write_json(args.out, payload)
        console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Agent-steps per second with learning: the jitted JAX runner against the vectorized
NumPy learner and the loop reference, all measured in the same run.

JAX: ``valueint.sim.runner.run_experiment`` on the shipped default config cut down to
its ``isr_bayes`` condition, with N parallel learners (= N seeds) in float32, seeds
split over every CPU core; the specialized step (the default) and, up to
``--general-max`` learners, the general step (``specialize=False``) that any params can
use.  Each is run once to compile and then timed on warm runs that reuse the compiled
program; compile time is reported apart, as first call minus best warm call.  Also the
full default experiment (its three conditions) at about 16,384 learners in all.

Vectorized NumPy: ``valueint.testing.vectorized.simulate_batched``, the same learner
batched over learners in NumPy (its own random numbers included), on one core, at the
sizes up to ``--numpy-max``.  Loop reference: ``valueint.testing.simulation.run_reference``
on one learner for ``--ref-episodes`` episodes.

Steps are agent-steps.  "Scan steps" are episodes x horizon x learners x agents, what
the scan executes (steps after an episode ends still run, frozen); "active steps" are
those before each episode ended (the ``steps`` metric).  The ratios divide scan
steps/s.  ``--results`` rewrites this machine's section of ``benchmarks/RESULTS.md``.

    .venv/bin/python benchmarks/bench_simulation.py --learners 1024,16384 --out bench.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import valueint
from valueint.devices import use_cpu_devices
from valueint.records import atomic_write, write_json

CONDITION = "isr_bayes"
DEFAULT_LEARNERS = "1024,16384,131072"
FULL_DEFAULT_LEARNERS = 16384  # the three-condition run: about this many learners in all
RESULTS = Path(__file__).with_name("RESULTS.md")


def parse_learners(values: list[str] | None) -> list[int]:
    """``--learners 1024 --learners 4096,16384`` -> [1024, 4096, 16384]."""
    out = []
    for value in values or [DEFAULT_LEARNERS]:
        for part in value.split(","):
            part = part.strip()
            if part:
                n = int(part)
                if n < 1:
                    raise argparse.ArgumentTypeError(f"--learners must be >= 1; got {n}")
                out.append(n)
    return out


def benchmark_config(n_episodes: int | None, all_conditions: bool = False) -> dict:
    cfg = valueint.default_config()
    if not all_conditions:
        cfg["conditions"] = [c for c in cfg["conditions"] if c["label"] == CONDITION]
    if n_episodes is not None:
        cfg["experiment"]["n_episodes"] = n_episodes
        cfg["caregiver"]["socialization_episodes"] = min(
            cfg["caregiver"]["socialization_episodes"], max(n_episodes // 2, 1)
        )
    return cfg


def timed(call, repeats: int):
    """(first call s, warm runs s, last result)."""
    t0 = time.perf_counter()
    result = call()
    first = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = call()
        runs.append(time.perf_counter() - t0)
    return first, runs, result


def row(runner_name, experiment, learners, episodes, first, runs, steps_metric, compiled):
    """One runner's timings: agent-steps per second, scan and active."""
    env = experiment.env
    scan_steps = episodes * env.horizon * learners * env.n_agents
    active_steps = float(np.sum(steps_metric))
    best = min(runs)
    return {
        "runner": runner_name,
        "learners": learners,
        "episodes": episodes,
        "scan_steps": scan_steps,
        "active_steps": active_steps,
        "compile_s": max(first - best, 0.0) if compiled else 0.0,
        "first_call_s": first,
        "run_s": best,
        "run_s_median": statistics.median(runs),
        "scan_steps_per_s": scan_steps / best,
        "active_steps_per_s": active_steps / best,
    }


def bench_jax(experiment, n_seeds: int, repeats: int, specialize: bool, name: str) -> dict:
    from valueint.sim import runner

    seeds = list(range(n_seeds))
    first, runs, metrics = timed(
        lambda: runner.run_experiment(experiment, seeds, specialize=specialize), repeats
    )
    out = row(
        name,
        experiment,
        n_seeds * experiment.n_conditions,
        experiment.n_episodes,
        first,
        runs,
        metrics.steps,
        compiled=True,
    )
    out["finite"] = all_finite(vars(metrics))
    out["socialized_rate_autonomous"] = float(
        np.nanmean(metrics.socialized_rate[:, :, experiment.autonomy_start :])
    )
    return out


def bench_numpy(experiment, n_learners: int, repeats: int) -> dict:
    from valueint.testing.vectorized import simulate_batched

    first, runs, metrics = timed(
        lambda: simulate_batched(experiment, 0, n_learners, experiment.n_episodes, seed=0),
        repeats,
    )
    out = row(
        "vectorized NumPy",
        experiment,
        n_learners,
        experiment.n_episodes,
        first,
        runs,
        metrics["steps"],
        compiled=False,
    )
    out["finite"] = all_finite(metrics)
    out["socialized_rate_autonomous"] = float(
        np.nanmean(metrics["socialized_rate"][:, experiment.autonomy_start :])
    )
    return out


def reference_noise(experiment, seed: int, n_episodes: int):
    """The noise ``trace_episodes(experiment, ., seed, n_episodes)`` would replay."""
    import jax
    import jax.numpy as jnp

    from valueint.sim import runner

    env = experiment.env
    key = jax.random.key(seed)
    draw = jax.jit(
        jax.vmap(lambda e: runner.episode_noise(env, jax.random.fold_in(key, e), env.n_features))
    )
    return jax.device_get(draw(jnp.arange(n_episodes)))


def bench_reference(experiment, n_episodes: int, repeats: int) -> dict:
    from valueint.testing.simulation import run_reference

    noise = reference_noise(experiment, 0, n_episodes)
    first, runs, (_, metrics) = timed(
        lambda: run_reference(experiment, 0, noise, n_episodes), repeats
    )
    out = row(
        "loop reference",
        experiment,
        1,
        n_episodes,
        first,
        runs,
        metrics["steps"],
        compiled=False,
    )
    out["finite"] = all_finite(metrics)
    return out


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
    import jax
    import jaxlib

    return {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "valueint": valueint.__version__,
    }


def device_info() -> dict:
    import jax

    dev = jax.devices()[0]
    return {
        "platform": dev.platform,
        "device_kind": dev.device_kind,
        "n_devices": jax.device_count(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "x64": bool(jax.config.jax_enable_x64),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def with_ratios(rows: list[dict], reference: dict, numpy_rows: list[dict]) -> list[dict]:
    """Each row's scan steps/s over the loop reference's and over the vectorized NumPy
    learner's at the same size (or, past the sizes NumPy ran, at its largest)."""
    by_size = {r["learners"]: r for r in numpy_rows}
    for r in rows:
        r["x_reference"] = r["scan_steps_per_s"] / reference["scan_steps_per_s"]
        if by_size:
            size = r["learners"] if r["learners"] in by_size else max(by_size)
            r["numpy_learners"] = size
            r["x_numpy"] = r["scan_steps_per_s"] / by_size[size]["scan_steps_per_s"]
    return rows


def table_markdown(rows: list[dict]) -> str:
    lines = [
        "| runner | learners | episodes | compile s | run s | scan steps/s | active steps/s "
        "| x loop reference | x vectorized NumPy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        numpy_ratio = "-"
        if "x_numpy" in r:
            at = "" if r["numpy_learners"] == r["learners"] else f" (vs {r['numpy_learners']:,})"
            numpy_ratio = f"{r['x_numpy']:,.1f}x{at}"
        compile_s = f"{r['compile_s']:.1f}" if r["compile_s"] else "-"
        lines.append(
            f"| {r['runner']} | {r['learners']:,} | {r['episodes']:,} | {compile_s} "
            f"| {r['run_s']:.3f} | {r['scan_steps_per_s']:,.0f} | {r['active_steps_per_s']:,.0f} "
            f"| {r['x_reference']:,.0f}x | {numpy_ratio} |"
        )
    return "\n".join(lines)


def targets(rows: list[dict]) -> list[str]:
    """The simulation's speed targets on CPU, checked on this run's rows."""
    fast = [r for r in rows if r["runner"] == "JAX"]
    out = []
    big = [r for r in fast if r["learners"] >= 16384]
    if big:
        best = max(big, key=lambda r: r["scan_steps_per_s"])
        met = best["scan_steps_per_s"] >= 1e7
        out.append(
            f">= 1e7 agent-steps/s at >= 16,384 learners: {best['scan_steps_per_s']:,.0f} at "
            f"{best['learners']:,} ({'met' if met else 'NOT met'})"
        )
    small = [r for r in fast if r["learners"] == 1024 and r.get("numpy_learners") == 1024]
    if small:
        x = small[0]["x_numpy"]
        out.append(f">= 5x vectorized NumPy at 1,024: {x:.1f}x ({'met' if x >= 5 else 'NOT met'})")
    if fast:
        x = min(r["x_reference"] for r in fast)
        out.append(
            f">= 100x the loop reference: {x:,.0f}x at the least ({'met' if x >= 100 else 'NOT met'})"
        )
    return out


def results_section(payload: dict, command: str) -> str:
    dev, ver = payload["device"], payload["versions"]
    kind = dev["machine"] if dev["platform"] == "cpu" else dev["device_kind"]
    name = f"{dev['platform'].upper()} ({kind})"
    lines = [
        f"## {payload['date'][:10]}, {name}, {dev['n_devices']} JAX devices, "
        f"{dev['cpu_count']} CPU cores",
        "",
        f"Written by `benchmarks/bench_simulation.py` (`make bench`).  Command: `{command}`.",
        f"valueint {ver['valueint']}, Python {ver['python']}, jax {ver['jax']}, numpy "
        f"{ver['numpy']}; float32; the default config's `{CONDITION}` condition, "
        f'{payload["episodes"]} episodes x horizon {payload["horizon"]} ("3 conditions": all '
        "of the default config).  Load average at the start: "
        f"{payload['load_average']}.",
        "",
        table_markdown(payload["rows"]),
        "",
        *[f"- {line}" for line in payload["targets"]],
        "",
    ]
    return "\n".join(lines)


def write_results_section(path: Path, key: str, section: str) -> None:
    """Replace (or add, first) the section marked ``key`` in ``path``, atomically."""
    begin, end = f"<!-- bench_simulation:{key} -->", f"<!-- /bench_simulation:{key} -->"
    block = f"{begin}\n{section}{end}\n"
    text = path.read_text() if path.exists() else "# Recorded benchmark results\n\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        title, _, rest = text.partition("\n\n")
        text = f"{title}\n\n{block}\n{rest}"
    atomic_write(path, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--learners",
        action="append",
        help=f"parallel learners (seeds) for JAX; repeat or comma-separate (default {DEFAULT_LEARNERS})",
    )
    parser.add_argument(
        "--episodes", type=int, default=None, help="episodes (default: the config's 300)"
    )
    parser.add_argument(
        "--ref-episodes", type=int, default=20, help="episodes of the loop reference run"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed warm runs (best is kept)")
    parser.add_argument(
        "--numpy-max", type=int, default=16384, help="largest size the vectorized NumPy runs"
    )
    parser.add_argument(
        "--general-max", type=int, default=16384, help="largest size the general JAX step runs"
    )
    parser.add_argument(
        "--no-full-default", action="store_true", help="skip the three-condition run"
    )
    parser.add_argument("--out", type=Path, default=None, help="write results as JSON here")
    parser.add_argument(
        "--results",
        type=Path,
        nargs="?",
        const=RESULTS,
        default=None,
        help=f"rewrite this machine's section of a results file (default {RESULTS.name})",
    )
    args = parser.parse_args(argv)
    learners = parse_learners(args.learners)
    if args.episodes is not None and args.episodes < 1:
        parser.error("--episodes must be >= 1")
    if args.ref_episodes < 1 or args.repeats < 1:
        parser.error("--ref-episodes and --repeats must be >= 1")

    # before JAX starts: every CPU core a device (the runner splits seeds over them)
    use_cpu_devices(os.cpu_count() or 1)
    import jax
    import jax.numpy as jnp
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # a log or pipe: do not squeeze the table to 80 columns
        console = Console(width=150)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    experiment = valueint.resolve(benchmark_config(args.episodes))
    console.print(
        f"[bold]valueint[/] {valueint.__version__}  jax {jax.__version__} on "
        f"{jax.devices()[0].platform} ({jax.devices()[0].device_kind}) x {jax.device_count()}, "
        f"{os.cpu_count()} CPUs, float dtype {jnp.zeros(()).dtype}, load {load:.2f}"
    )
    console.print(f"loop reference: 1 learner x {args.ref_episodes} episodes ...")
    reference = bench_reference(experiment, args.ref_episodes, args.repeats)
    numpy_rows = []
    for n in [n for n in learners if n <= args.numpy_max]:
        console.print(f"vectorized NumPy: {n:,} learners x {experiment.n_episodes} episodes ...")
        numpy_rows.append(bench_numpy(experiment, n, 1 if n > 4096 else args.repeats))
    rows = []
    for n in learners:
        console.print(f"JAX: {n:,} learners x {experiment.n_episodes} episodes ...")
        rows.append(bench_jax(experiment, n, args.repeats, True, "JAX"))
        if n <= args.general_max:
            rows.append(bench_jax(experiment, n, args.repeats, False, "JAX, general step"))
    if not args.no_full_default:
        full = valueint.resolve(benchmark_config(args.episodes, all_conditions=True))
        n = FULL_DEFAULT_LEARNERS // full.n_conditions
        console.print(f"JAX, 3 conditions: {n:,} seeds x {full.n_conditions} ...")
        rows.append(bench_jax(full, n, args.repeats, True, "JAX, 3 conditions"))
    rows = with_ratios(rows + numpy_rows, reference, numpy_rows) + [
        with_ratios([reference], reference, [])[0]
    ]
    console.print(table_markdown(rows))
    checks = targets(rows)
    for line in checks:
        console.print(line)
    for r in rows:
        if not r.get("finite", True):
            console.print(f"[red]warning: non-finite metrics: {r['runner']} {r['learners']:,}[/]")

    payload = {
        "benchmark": "bench_simulation",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": {"name": experiment.name, "condition": CONDITION},
        "episodes": experiment.n_episodes,
        "horizon": experiment.env.horizon,
        "device": device_info(),
        "versions": versions(),
        "load_average": round(load, 2),
        "argv": sys.argv[1:] if argv is None else argv,
        "rows": rows,
        "targets": checks,
    }
    if args.out is not None:
        write_json(args.out, payload)
        console.print(f"wrote {args.out}")
    if args.results is not None:
        argv_text = " ".join(payload["argv"])
        command = f"python benchmarks/bench_simulation.py {argv_text}".strip()
        key = f"{payload['device']['platform']}-{payload['device']['n_devices']}"
        write_results_section(args.results, key, results_section(payload, command))
        console.print(f"updated {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

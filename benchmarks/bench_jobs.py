"""The job engine's scaling: one model's SBC job on 1 local worker against 2 (or more).

The same job (``valueint.workflows.calibration.CalibrationJob``: model, design, sampler,
replications, seed) is run in fresh folders with each number of workers, after a warm-up job
that fills the persistent compilation cache (so every worker loads its programs
instead of compiling them; the warm-up's time is reported apart).  Wall time is the
engine's own (``JobReport.wall_s``: from submitting the tasks to the last result,
cluster start included).  The ratio is wall(1 worker) / wall(N workers), measured in
the same run; the tasks' results are checked to be identical across worker counts.

    .venv/bin/python benchmarks/bench_jobs.py --model trials:rw --replications 16
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

import valueint
from valueint.inference.family import family_for
from valueint.jobs import Engine
from valueint.records import write_json
from valueint.workflows.calibration import CalibrationJob, calibrate

console = Console(stderr=True)


def job_for(model: str, replications: int, seed: int) -> CalibrationJob:
    """The SBC job of ``model`` (``"family:name"`` or a name) at its family's default design."""
    design = {}
    if family_for(model)[0].name == "paradigm":
        import tomllib

        shipped = Path(__file__).parents[1] / "data" / "zhao2017_praise_cheating" / "paradigm.toml"
        design["paradigm"] = tomllib.loads(shipped.read_text())
    return CalibrationJob(model, design, replications=replications, seed=seed)


def timed(job: CalibrationJob, workers: int, folder: Path) -> dict:
    start = time.perf_counter()
    result = calibrate(job, folder, engine=Engine(workers=workers, progress=False))
    total = time.perf_counter() - start
    if result.failures or result.report.completed != job.replications:
        raise RuntimeError(f"{workers} worker(s): {len(result.failures)} task(s) failed")
    ranks = result.ranks.sort_values(["replication", "quantity"])[["rank"]].to_numpy()
    return {
        "workers": workers,
        "wall_s": round(result.report.wall_s, 2),
        "total_s": round(total, 2),
        "ranks": ranks.ravel().tolist(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="trials:rw", help="a model, or family:model")
    parser.add_argument("--replications", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the figures")
    args = parser.parse_args(argv)
    os.environ.setdefault(
        "JAX_COMPILATION_CACHE_DIR", str(Path(tempfile.gettempdir()) / "valueint-jax-cache")
    )
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")
    job = job_for(args.model, args.replications, args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        start = time.perf_counter()
        warm = job_for(args.model, 1, args.seed + 1)
        calibrate(warm, scratch / "warm", engine=Engine(workers=1, progress=False))
        warm_s = time.perf_counter() - start
        console.print(f"warm-up (fills the compile cache): {warm_s:.1f} s")
        runs = []
        for workers in sorted({1, args.workers}):
            run = timed(job, workers, scratch / f"w{workers}")
            console.print(f"{workers} worker(s): {run['wall_s']:.1f} s")
            runs.append(run)
    same = all(run["ranks"] == runs[0]["ranks"] for run in runs)
    ratio = runs[0]["wall_s"] / runs[-1]["wall_s"]
    console.print(
        f"speed-up with {runs[-1]['workers']} workers: {ratio:.2f}x; identical results: {same}"
    )
    record = {
        "benchmark": "bench_jobs",
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "valueint": valueint.__version__,
        "job": {
            **job.as_dict(),
            "design": {k: v for k, v in job.design.items() if k != "paradigm"},
        },
        "warm_up_s": round(warm_s, 2),
        "runs": [{k: v for k, v in run.items() if k != "ranks"} for run in runs],
        "speed_up": round(ratio, 3),
        "identical_results": same,
    }
    if args.out is not None:
        write_json(args.out, record)
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())

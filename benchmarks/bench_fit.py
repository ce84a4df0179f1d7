"""Hierarchical NUTS on one model, data set and run length: valueint against PyMC and nutpie.

Model: ``rw_recipient`` (learning rates for self / other / no one, inverse temperature),
hierarchical, with the priors and population model of ``valueint.trials``: per parameter
mu ~ Normal(loc, scale), sigma ~ HalfNormal(scale), z[subject] ~ Normal(0, 1) on the
unconstrained (logit / log) scale.  Data: Cutler et al. (2021)
(``valueint.trials.datasets.load_cutler2021``; 152 subjects x 144 trials, missed trials
masked), or its first ``--subjects N``.

Samplers, with the same chains, warmup, draws and seed:

* valueint: ``valueint.trials.fit.fit(data, "rw_recipient", ...)`` with its own
  default sampler settings (only chains, draws, warmup (split between its two warmup
  stages), seed and progress are passed);
* PyMC: the model written as a PyMC user would (``build_pymc_model``: non-centred, the
  likelihood a ``pytensor.scan`` over the 16 trials of a block), ``pm.sample`` with its
  defaults and PyMC's own NUTS;
* nutpie: the same PyMC model compiled with the numba backend, sampled with nutpie's
  default adaptation and with its low-rank modified mass matrix.

Each run is a fresh Python process with empty pytensor/numba caches, so compiles are cold
and no sampler inherits another's threads or caches.  Per sampler: compile time (timed
apart), sampling time, divergences, max R-hat, min and median bulk ESS over every subject-
and population-level parameter on the natural scale (the same set for all, by
``arviz_stats.ess``), ESS per second of sampling, ESS per gradient (ESS / leapfrog steps,
all chains), the share of draws the worst parameter reaches, and valueint / other ratios.
Results go to ``fit_results.json`` and ``FIT_RESULTS.md`` in ``--out-dir``, atomically.

    .venv/bin/python benchmarks/bench_fit.py                      # the recorded run
    .venv/bin/python benchmarks/bench_fit.py --subjects 20 --warmup 100 --draws 100 \\
        --out-dir /tmp/bench-fit                                  # a quick check

PyMC and nutpie come with the optional ``bench`` extra (``pip install -e ".[bench]"``);
they are imported only inside the functions that use them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

MODEL = "rw_recipient"
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # fit_report beside this file, when imported from elsewhere
    sys.path.insert(0, str(HERE))
from fit_report import covered_seconds, whitened_warmup  # noqa: E402

# rw_recipient's learning rates by context code 0, 1, 2 (``delta_rules._contextual``)
CONTEXTS = ("self", "other", "none")
SAMPLERS = ("valueint", "valueint-centeredness", "pymc", "nutpie", "nutpie-low-rank")
# valueint's own baseline in the same run: the sampler before whitening (a learned
# centeredness per subject and parameter, one warmup of --warmup steps)
VALUEINT_VARIANTS = {
    "valueint-centeredness": ("valueint, learned centeredness", {"parameterization": "auto"}),
}
NUTPIE_VARIANTS = {
    "nutpie": ("default adaptation", {}),
    # the current name of low_rank_modified_mass_matrix=True (nutpie maps the old one to it)
    "nutpie-low-rank": ("low-rank mass matrix", {"adaptation": "low_rank"}),
}
# what jax.monitoring reports as compiling: tracing, lowering to MLIR, XLA's compile
JAX_COMPILE_EVENTS = "/jax/core/compile/"
# The PyMC model's priors as a user writes them, checked against valueint's spec so that the
# two cannot drift apart: name -> (prior loc, prior scale, transform, lower bound)
PYMC_PRIORS = {
    "alpha_self": (0.0, 1.5, "logit", 0.0),
    "alpha_other": (0.0, 1.5, "logit", 0.0),
    "alpha_none": (0.0, 1.5, "logit", 0.0),
    "beta": (math.log(4.0), 1.0, "log", 0.0),
}
RUN_OPTIONS = ("chains", "warmup", "draws", "seed", "cores", "subjects")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=2, help="chains, every sampler")
    parser.add_argument("--warmup", type=int, default=500, help="warmup (tuning) steps per chain")
    parser.add_argument("--draws", type=int, default=500, help="kept draws per chain")
    parser.add_argument("--seed", type=int, default=0, help="seed of every sampler")
    parser.add_argument("--cores", type=int, default=2, help="PyMC's and nutpie's cores")
    parser.add_argument("--subjects", type=int, default=None, help="only the first N subjects")
    parser.add_argument(
        "--samplers", default=",".join(SAMPLERS), help=f"some of {','.join(SAMPLERS)}"
    )
    parser.add_argument(
        "--out-dir", type=Path, default=HERE, help="where fit_results.json and FIT_RESULTS.md go"
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="one pytensor/numba cache for every run (default: a fresh empty one per run)",
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--trials", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    samplers = tuple(s.strip() for s in args.samplers.split(",") if s.strip())
    if not samplers or set(samplers) - set(SAMPLERS):
        parser.error(f"--samplers {args.samplers!r}: expected some of {', '.join(SAMPLERS)}")
    args.samplers = samplers
    for name in ("chains", "draws", "cores"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1; got {getattr(args, name)}")
    if args.warmup < 0:
        parser.error(f"--warmup must be at least 0; got {args.warmup}")
    return args


def setup_environment(chains: int, cache_dir: Path) -> None:
    """Compile caches outside the repository; a JAX CPU device per chain (before JAX starts)."""
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    os.environ["PYTENSOR_FLAGS"] = ",".join(
        f for f in (flags, f"base_compiledir={cache_dir / 'pytensor'}") if f
    )
    os.environ["NUMBA_CACHE_DIR"] = str(cache_dir / "numba")
    import numpyro

    numpyro.set_host_device_count(chains)  # fit runs its chains in parallel only so
    numpyro.enable_x64()  # as fit does; the likelihood check compares in float64


def load_data(n_subjects: int | None):
    """(FitData, description) of Cutler et al. (2021), or of its first ``n_subjects``."""
    from valueint.trials.datasets import load_cutler2021
    from valueint.trials.fit_data import as_fit_data

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the loader's notes on the source's quirks
            frame = load_cutler2021()
    except FileNotFoundError as error:
        raise SystemExit(
            f"bench_fit: the Cutler et al. (2021) data were not found: {error}"
        ) from None
    ids = frame["subject"].unique()
    if n_subjects is not None:
        if not 1 <= n_subjects <= len(ids):
            raise SystemExit(f"--subjects {n_subjects}: the data have {len(ids)} subjects")
        frame = frame[frame["subject"].isin(ids[:n_subjects])]
    data = as_fit_data(frame, MODEL)
    shape = "x".join(str(n) for n in data.arrays.choice.shape)
    description = (
        f"Cutler et al. (2021), {len(data.subject_ids)} of {len(ids)} subjects "
        f"([subject, block, trial] = {shape}, {int(data.arrays.mask.sum()):,} observed trials)"
    )
    return data, description


# --------------------------------------------------------------------------- the common summary


def parameter_names() -> list[str]:
    """Every subject- and population-level parameter, as valueint's posterior names them."""
    from valueint.trials.specs import get_spec

    names = list(get_spec(MODEL).parameter_names)
    return names + [f"{kind}_{n}" for kind in ("mu", "sigma") for n in names]


def summarize(posterior, sample_stats, gradients_before: int | None) -> dict:
    """The mixing numbers every sampler is judged by, computed the same way for all.

    ``posterior`` maps each of ``parameter_names()`` to a DataArray (chain, draw[, subject])
    on the natural scale; ``sample_stats`` holds ``diverging`` and ``n_steps`` (leapfrog
    steps) of the kept draws; ``gradients_before``: the gradients spent before them
    (warmup, warm start), None where the sampler does not say.
    """
    import arviz_stats as azs
    import numpy as np
    import xarray as xr

    names = parameter_names()
    dataset = xr.Dataset({name: posterior[name] for name in names})
    ess = azs.ess(dataset, method="bulk")
    rhat = azs.rhat(dataset)
    labels, values = [], []
    for name in names:
        values.append(np.asarray(ess[name]).ravel())
        if "subject" in ess[name].dims:
            labels += [f"{name}[{s}]" for s in np.asarray(ess[name]["subject"])]
        else:
            labels.append(name)
    values = np.concatenate(values)
    worst = int(np.argmin(values))
    n_draws = dataset.sizes["chain"] * dataset.sizes["draw"]
    gradients = int(np.asarray(sample_stats["n_steps"]).sum())
    return {
        "divergent": int(np.asarray(sample_stats["diverging"]).sum()),
        "rhat_max": float(max(np.nanmax(np.asarray(rhat[n])) for n in names)),
        "n_parameters": int(values.size),
        "ess_bulk_min": float(values[worst]),
        "ess_bulk_median": float(np.median(values)),
        "worst_parameter": labels[worst],
        "worst_share_of_draws": float(values[worst]) / n_draws,
        "gradients_draws": gradients,
        "gradients_per_draw": gradients / n_draws,
        "gradients_all": None if gradients_before is None else gradients + gradients_before,
    }


def with_timing(run: dict, compile_s: float, sampling_s: float) -> dict:
    """``run`` with its times and the per-second and per-gradient rates."""
    ess_min, ess_median = run["ess_bulk_min"], run["ess_bulk_median"]
    sampling_s = max(sampling_s, 1e-9)
    every = run["gradients_all"]
    return {
        **run,
        "compile_s": compile_s,
        "sampling_s": sampling_s,
        "min_ess_per_s": ess_min / sampling_s,
        "median_ess_per_s": ess_median / sampling_s,
        "min_ess_per_gradient": ess_min / run["gradients_draws"],
        "median_ess_per_gradient": ess_median / run["gradients_draws"],
        "min_ess_per_gradient_all": None if every is None else ess_min / every,
    }


# --------------------------------------------------------------------------- valueint


def valueint_fit(data, args, **settings) -> dict:
    """fit() with its default sampler settings but ``settings``.  Compile time: the seconds of fit's sampling
    clock in which JAX traced, lowered or compiled (``jax.monitoring``); the rest is sampling.

    The whitened sampler splits its warmup in two (a first part that refits the
    subjects' coordinates, then the usual adaptation); here the two add up to
    ``--warmup``, so every sampler gets the same number of warmup iterations."""
    import jax

    from valueint.trials.fit import fit

    spans = []

    def listen(event, begin, end, **_):
        if event.startswith(JAX_COMPILE_EVENTS):
            spans.append((begin, end))

    jax.devices()  # start the backend outside the clock
    jax.monitoring.register_event_time_span_listener(listen)
    called = time.time()  # the clock jax.monitoring uses
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        split = {}
        if settings.get("parameterization") == "whitened":
            split = whitened_warmup(args.warmup)
        tree = fit(
            data,
            MODEL,
            chains=args.chains,
            draws=args.draws,
            seed=args.seed,
            progress=False,
            **{"warmup": args.warmup, **split, **settings},
        )
    wall_s = time.time() - called
    jax.monitoring.unregister_event_time_span_listener(listen)
    # fit's clock covers its warm start and sampling, not the pointwise log-likelihood and
    # predictive draws that follow; it starts a moment after the call (checks, transfers)
    total_s = float(tree.attrs["sampling_time_s"])
    recorded = json.loads(tree.attrs.get("settings", "{}"))
    started = float(recorded.get("sampling_started_unix", called))
    compile_s = covered_seconds(spans, started, started + total_s)
    sampler = json.loads(tree.attrs["sampler"])
    before = recorded.get("n_gradients_warmup")
    if before is not None and sampler.get("init") == "svi":
        before += int(sampler.get("warm_start_steps", 0))  # one gradient per SVI step
    run = summarize(tree["posterior"].to_dataset(), tree["sample_stats"].to_dataset(), before)
    return {
        **with_timing(run, compile_s, total_s - compile_s),
        "wall_s": wall_s,
        "fit_sampling_time_s": total_s,
        "compile_s_whole_call": covered_seconds(spans, called, called + wall_s),
        "settings": {**sampler, **recorded},
        "fit_warnings": sorted({str(w.message) for w in caught}),
    }


# --------------------------------------------------------------------------- PyMC and nutpie


def check_priors() -> None:
    """Raise unless ``PYMC_PRIORS`` are valueint's priors for ``MODEL`` (and Q starts at 0)."""
    from valueint.trials.catalogue import BASE_OPTIONS
    from valueint.trials.specs import get_spec

    spec = get_spec(MODEL)
    ours = {p.name: (p.prior_loc, p.prior_scale, p.transform, p.lower) for p in spec.parameters}
    if ours != PYMC_PRIORS or BASE_OPTIONS["q_init"] != 0.0:
        raise RuntimeError(
            f"bench_fit.PYMC_PRIORS = {PYMC_PRIORS} (q_init 0) but valueint's {MODEL!r} "
            f"has {ours} (q_init {BASE_OPTIONS['q_init']}); update build_pymc_model"
        )


TRIAL_ARRAYS = ("choice", "outcome", "context", "mask")


def save_trials(data, path: Path) -> None:
    """The trials as plain arrays [subject, block, trial], for the runs that need no JAX: a
    process whose JAX backend has started must not fork, and PyMC's chains fork."""
    import numpy as np

    arrays = {name: np.asarray(getattr(data.arrays, name)) for name in TRIAL_ARRAYS}
    np.savez(path, subject_ids=np.asarray(data.subject_ids, dtype=str), **arrays)


def load_trials(path: Path) -> dict:
    import numpy as np

    with np.load(path) as stored:
        return {name: stored[name] for name in stored.files}


def build_pymc_model(trials: dict):
    """The hierarchical rw_recipient model in PyMC, written the way a PyMC user would;
    ``trials``: arrays [subject, block, trial] (``save_trials``)."""
    import numpy as np
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt

    check_priors()
    observed = trials["mask"].astype(bool)

    def by_trial(x):  # [trial, subject, block]: the scan steps through a block's trials
        return np.moveaxis(np.where(observed, x, 0), -1, 0)

    chose_1 = by_trial(trials["choice"] == 1).astype("float64")
    outcome = by_trial(trials["outcome"]).astype("float64")
    context = by_trial(trials["context"]).astype("int64")
    seen = by_trial(observed).astype("float64")
    subject = np.arange(observed.shape[0])[None, :, None]
    coords = {"subject": list(trials["subject_ids"]), "context": list(CONTEXTS)}

    with pm.Model(coords=coords) as model:
        # non-centred: each subject is the population mean plus sigma times a standard normal
        alpha_mu = pm.Normal("alpha_mu", 0.0, 1.5, dims="context")  # logit scale
        alpha_sigma = pm.HalfNormal("alpha_sigma", 1.5, dims="context")
        alpha_z = pm.Normal("alpha_z", 0.0, 1.0, dims=("subject", "context"))
        alpha = pm.Deterministic(
            "alpha", pm.math.invlogit(alpha_mu + alpha_sigma * alpha_z), dims=("subject", "context")
        )
        beta_mu = pm.Normal("beta_mu", np.log(4.0), 1.0)  # log scale
        beta_sigma = pm.HalfNormal("beta_sigma", 1.0)
        beta_z = pm.Normal("beta_z", 0.0, 1.0, dims="subject")
        beta = pm.Deterministic("beta", pm.math.exp(beta_mu + beta_sigma * beta_z), dims="subject")

        # each trial learns at the rate of its block's recipient; a missed trial not at all
        rate = alpha[subject, context] * seen

        def update(c1, reward, a, q0, q1):
            return q0 + a * (1.0 - c1) * (reward - q0), q1 + a * c1 * (reward - q1)

        start = pt.zeros(chose_1.shape[1:])  # Q = 0 for both options at a block's start
        q0_after, q1_after = pytensor.scan(
            update,
            sequences=[pt.as_tensor(chose_1), pt.as_tensor(outcome), rate],
            outputs_info=[start, start],
            return_updates=False,
        )
        # the values a choice sees: the start values, then those after the previous trial
        q0 = pt.concatenate([start[None], q0_after[:-1]], axis=0)
        q1 = pt.concatenate([start[None], q1_after[:-1]], axis=0)
        logit_p = beta[None, :, None] * (q1 - q0)
        index = np.nonzero(np.moveaxis(observed, -1, 0))
        pm.Bernoulli("choice", logit_p=logit_p[index], observed=chose_1[index])
    return model


def pymc_parameters(posterior) -> dict:
    """A PyMC/nutpie posterior as ``parameter_names()``, on the natural scale."""
    import numpy as np
    from scipy.special import expit

    out = {}
    for ctx in CONTEXTS:
        name = f"alpha_{ctx}"
        out[name] = posterior["alpha"].sel(context=ctx, drop=True)
        out[f"mu_{name}"] = expit(posterior["alpha_mu"].sel(context=ctx, drop=True))
        out[f"sigma_{name}"] = posterior["alpha_sigma"].sel(context=ctx, drop=True)
    out["beta"] = posterior["beta"]
    out["mu_beta"] = np.exp(posterior["beta_mu"])
    out["sigma_beta"] = posterior["beta_sigma"]
    return out


def warmup_gradients(trace) -> int:
    import numpy as np

    return int(np.asarray(trace["warmup_sample_stats"]["n_steps"]).sum())


def pymc_run(trials, args) -> dict:
    """pm.sample with its defaults and PyMC's NUTS; compile = building the model plus what
    pm.sample spends before the chains start and after they end."""
    import pymc as pm
    import pytensor

    start = time.perf_counter()
    model = build_pymc_model(trials)
    with model:
        trace = pm.sample(
            draws=args.draws,
            tune=args.warmup,
            chains=args.chains,
            cores=args.cores,
            random_seed=args.seed,
            progressbar=False,
            # PyMC 6 hands the model to nutpie when it is installed; its own NUTS here
            nuts_sampler="pymc",
            compute_convergence_checks=False,  # arviz below, the same way for every sampler
            discard_tuned_samples=False,  # only to count the warmup's gradients
        )
    wall_s = time.perf_counter() - start
    sampling_s = float(trace["posterior"].attrs["sampling_time"])  # chains start to last draw
    run = summarize(
        pymc_parameters(trace["posterior"].to_dataset()),
        trace["sample_stats"].to_dataset(),
        warmup_gradients(trace),
    )
    settings = {"cores": args.cores, "nuts_sampler": "pymc", "mode": str(pytensor.config.mode)}
    timed = with_timing(run, wall_s - sampling_s, sampling_s)
    return {**timed, "wall_s": wall_s, "settings": settings}


def nutpie_run(trials, args, variant: str) -> dict:
    """nutpie on the PyMC model: compiled with the numba backend (timed), then sampled."""
    import nutpie

    options = NUTPIE_VARIANTS[variant][1]
    start = time.perf_counter()
    compiled = nutpie.compile_pymc_model(build_pymc_model(trials), backend="numba")
    compile_s = time.perf_counter() - start
    trace = nutpie.sample(
        compiled,
        draws=args.draws,
        tune=args.warmup,
        chains=args.chains,
        cores=args.cores,
        seed=args.seed,
        progress_bar=False,
        **options,
    )
    sampling_s = time.perf_counter() - start - compile_s
    run = summarize(
        pymc_parameters(trace["posterior"].to_dataset()),
        trace["sample_stats"].to_dataset(),
        warmup_gradients(trace),
    )
    settings = {"backend": "numba", "cores": args.cores, **options}
    timed = with_timing(run, compile_s, sampling_s)
    return {**timed, "wall_s": compile_s + sampling_s, "settings": settings}


def likelihood_check(trials, args) -> dict:
    """PyMC's and valueint's log-likelihood at one random point: the two models must agree."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from valueint.trials.specs import get_spec

    model = build_pymc_model(trials)
    rng = np.random.default_rng(args.seed)
    point = {k: v + rng.normal(0.0, 0.5, np.shape(v)) for k, v in model.initial_point().items()}
    theirs = float(model.compile_logp(vars=model.observed_RVs)(point))
    natural = model.compile_fn(
        model.replace_rvs_by_values([model["alpha"], model["beta"]]),
        inputs=model.value_vars,
        point_fn=False,
        on_unused_input="ignore",
    )
    alpha, beta = natural(*[point[v.name] for v in model.value_vars])
    params = {f"alpha_{c}": jnp.asarray(alpha[:, i]) for i, c in enumerate(CONTEXTS)}
    params["beta"] = jnp.asarray(beta)
    spec = get_spec(MODEL)
    data, _ = load_data(args.subjects)
    arrays = jax.tree.map(jnp.asarray, data.arrays)
    per_trial = jax.vmap(lambda p, d: spec.loglik(p, d))(params, arrays)
    ours = float(jnp.sum(jnp.where(arrays.mask, per_trial, 0.0)))
    return {"pymc": theirs, "valueint": ours, "abs_difference": abs(theirs - ours)}


# the jobs, each run in a process of its own; valueint's reads the data set itself
WORKERS = {
    "valueint": lambda args: valueint_fit(
        load_data(args.subjects)[0], args, parameterization="whitened"
    ),
    "valueint-centeredness": lambda args: valueint_fit(
        load_data(args.subjects)[0], args, **VALUEINT_VARIANTS["valueint-centeredness"][1]
    ),
    "pymc": lambda args: pymc_run(load_trials(args.trials), args),
    "nutpie": lambda args: nutpie_run(load_trials(args.trials), args, "nutpie"),
    "nutpie-low-rank": lambda args: nutpie_run(load_trials(args.trials), args, "nutpie-low-rank"),
    "likelihood-check": lambda args: likelihood_check(load_trials(args.trials), args),
}


def worker(args) -> int:
    """One job of ``WORKERS`` in this (fresh) process; its record to ``--worker-out``."""
    from valueint.records import write_json

    setup_environment(args.chains, args.cache_dir)
    write_json(args.worker_out, WORKERS[args.worker](args))
    return 0


def run_worker(name: str, args, scratch: Path) -> dict:
    """``name`` in a fresh Python process with its own empty compile cache (or --cache-dir)."""
    cache = args.cache_dir or Path(tempfile.mkdtemp(prefix=f"{name}-", dir=scratch))
    out = scratch / f"{name}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", name]
    command += ["--worker-out", str(out), "--cache-dir", str(cache)]
    command += ["--trials", str(scratch / "trials.npz")]
    for option in RUN_OPTIONS:
        if getattr(args, option) is not None:
            command += [f"--{option}", str(getattr(args, option))]
    print(f"--- {name}", flush=True)
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench_fit: the {name} run failed (exit {done.returncode})")
    if args.cache_dir is None:
        shutil.rmtree(cache, ignore_errors=True)
    record = json.loads(out.read_text())
    print({k: v for k, v in record.items() if k not in ("settings", "fit_warnings")}, flush=True)
    return record


# --------------------------------------------------------------------------- the run


def orchestrate(args, scratch: Path) -> int:
    if str(HERE) not in sys.path:  # fit_report beside this file, when imported from elsewhere
        sys.path.insert(0, str(HERE))
    from fit_report import BENCH_RECORD, ratios, valueint_source, versions, write_fit_results

    data, description = load_data(args.subjects)
    save_trials(data, scratch / "trials.npz")
    print(f"data: {description}", flush=True)
    result = {
        "date": dt.date.today().isoformat(),
        "command": shlex.join(["benchmarks/bench_fit.py", *sys.argv[1:]]),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "data": description,
        "config": {
            "model": MODEL,
            **{option: getattr(args, option) for option in RUN_OPTIONS},
            "samplers": list(args.samplers),
            "cold_caches": args.cache_dir is None,
        },
        "versions": versions(),
        "valueint_source": valueint_source(),
        "runs": [],
        "notes": [],
    }
    if "valueint" in args.samplers:
        run = run_worker("valueint", args, scratch)
        result["runs"].append({"sampler": "valueint", "label": "valueint, whitened", **run})
    for name in [s for s in args.samplers if s in VALUEINT_VARIANTS]:
        run = run_worker(name, args, scratch)
        result["runs"].append({"sampler": name, "label": VALUEINT_VARIANTS[name][0], **run})
    others = [s for s in args.samplers if s != "valueint" and s not in VALUEINT_VARIANTS]
    if others and versions()["pymc"] == "not installed":
        result["notes"].append("PyMC/nutpie not installed (pip install -e '.[bench]'): skipped")
        others = []
    for name in others:
        label = f"PyMC {result['versions']['pymc']}"
        if name in NUTPIE_VARIANTS:
            label = f"nutpie {result['versions']['nutpie']}, {NUTPIE_VARIANTS[name][0]}"
        result["runs"].append({"sampler": name, "label": label, **run_worker(name, args, scratch)})
    if others:
        check = run_worker("likelihood-check", args, scratch)
        result["likelihood_check"] = check
        if check["abs_difference"] > 1e-6 * max(1.0, abs(check["valueint"])):
            raise SystemExit(f"the PyMC model's log-likelihood differs from valueint's: {check}")
    result["ratios"] = ratios(result["runs"])

    from valueint.records import write_json

    write_json(args.out_dir / BENCH_RECORD, result)
    print(write_fit_results(args.out_dir))
    print(f"wrote {args.out_dir / BENCH_RECORD} and {args.out_dir / 'FIT_RESULTS.md'}")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker is not None:
        given = (args.worker_out, args.cache_dir, args.trials)
        if args.worker not in WORKERS or None in given:
            raise SystemExit(
                f"--worker must be one of {', '.join(WORKERS)}, with --worker-out, --cache-dir "
                "and --trials (bench_fit.py starts its workers itself)"
            )
        return worker(args)
    with tempfile.TemporaryDirectory(prefix="valueint-bench-fit-") as scratch:
        return orchestrate(args, Path(scratch))


if __name__ == "__main__":
    sys.exit(main())

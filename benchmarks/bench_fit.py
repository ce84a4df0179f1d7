"""Hierarchical NUTS: valueint (numpyro, JAX) against PyMC on the same model and data.

Model: ``rw_recipient``, non-centred hierarchical (mu, sigma, z per parameter on the
unconstrained scale; logit learning rates for self / other / no one, log inverse
temperature), the priors of ``valueint.trials.models``.  Data: the real Cutler et al.
(2021) trials when they are found (152 participants x 144 trials, missed trials masked),
else the same shape simulated.  PyMC writes the identical likelihood with
``pytensor.scan`` over the 16 trials of a block, every (subject, block) in parallel.

Both samplers run the same chains, warmup and draws.  Reported: wall time split into
compilation (a run of 2 warmup + 2 draws with the same shapes) and sampling (the
full run minus that), bulk ESS (min and median over every subject- and population-level
parameter, on the natural scale) and bulk ESS per second of sampling; the ratio
valueint / PyMC.  Then one full valueint fit as a user runs it (4 chains x 1,000 draws
after 1,000 warmup, pointwise log-likelihood and predictive draws included).

    .venv/bin/python benchmarks/bench_fit.py --out benchmarks/fit_results.json

PyMC is an optional benchmark dependency (``pip install -e ".[bench]"``); without it
the PyMC half is skipped and said so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
import warnings
from pathlib import Path

CHAINS_DEFAULT = 2
TARGET_ACCEPT = 0.8  # both tools; the default of numpyro, PyMC and valueint.fit


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=CHAINS_DEFAULT, help="chains, both tools")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--full-chains", type=int, default=4, help="chains of the full fit")
    parser.add_argument("--skip-pymc", action="store_true")
    parser.add_argument("--skip-full", action="store_true", help="skip the 4-chain full fit")
    parser.add_argument("--only-full", action="store_true", help="run only the full fit")
    parser.add_argument("--simulated", action="store_true", help="ignore the real data")
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the results")
    return parser.parse_args(argv)


def setup_jax(devices: int) -> None:
    import numpyro

    numpyro.set_host_device_count(devices)
    numpyro.enable_x64()


def load_data(simulated: bool):
    """(FitData, description): Cutler et al. (2021) if found, else simulated 152 x 144."""
    from valueint.trials.fit_data import as_fit_data
    from valueint.trials.recovery import synthetic_data

    if not simulated:
        try:
            from valueint.trials.datasets import load_cutler2021

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = load_cutler2021()
            return as_fit_data(frame, "rw_recipient"), "Cutler et al. (2021), 152 x 144"
        except FileNotFoundError:
            pass
    data, _ = synthetic_data("rw_recipient", 152, 144, seed=0)
    return data, "simulated rw_recipient, 152 x 144"


def ess_summary(posterior) -> dict:
    import arviz_stats as azs
    import numpy as np

    ess = azs.ess(posterior, method="bulk")
    values = np.concatenate([np.asarray(v).ravel() for v in ess.data_vars.values()])
    return {"ess_bulk_min": float(np.min(values)), "ess_bulk_median": float(np.median(values))}


# --------------------------------------------------------------------------- valueint


def run_valueint(data, chains: int, draws: int, warmup: int) -> dict:
    import jax
    import numpy as np
    from numpyro.infer import MCMC, NUTS

    from valueint.trials.inference import (
        _cast_floats,
        _device_arrays,
        _hierarchical_model,
        likelihood_dtype,
    )
    from valueint.trials.specs import get_spec

    spec = get_spec("rw_recipient")
    # the precision valueint.fit chooses for these data ("auto")
    dtype = likelihood_dtype("auto", int(np.asarray(data.arrays.mask).sum()))
    args = (spec, None, _cast_floats(_device_arrays(data.arrays), dtype), (), ())
    sites = list(spec.parameter_names) + [
        f"{k}_{n}" for n in spec.parameter_names for k in ("mu", "sigma")
    ]

    def sample(n_warmup, n_draws):
        mcmc = MCMC(
            NUTS(_hierarchical_model, target_accept_prob=TARGET_ACCEPT),
            num_warmup=n_warmup,
            num_samples=n_draws,
            num_chains=chains,
            chain_method="parallel" if jax.local_device_count() >= chains else "sequential",
            progress_bar=False,
        )
        start = time.perf_counter()
        mcmc.run(jax.random.key(0), *args, extra_fields=("diverging",))
        samples = mcmc.get_samples(group_by_chain=True)
        jax.block_until_ready(samples)
        return mcmc, samples, time.perf_counter() - start

    _, _, compile_s = sample(2, 2)
    mcmc, samples, total_s = sample(warmup, draws)
    import xarray as xr

    posterior = xr.Dataset(
        {
            name: (
                ("chain", "draw", *[f"d{i}" for i in range(samples[name].ndim - 2)]),
                np.asarray(samples[name]),
            )
            for name in sites
        }
    )
    divergent = int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum())
    return {
        "tool": "valueint (numpyro)",
        "compile_s": compile_s,
        "total_s": total_s,
        "sampling_s": max(total_s - compile_s, 1e-9),
        "divergent": divergent,
        **ess_summary(posterior),
    }


def full_fit(data, chains: int) -> dict:
    from valueint.trials.diagnostics import diagnostics
    from valueint.trials.inference import fit

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = fit(data, "rw_recipient", chains=chains, draws=1000, warmup=1000, progress=False)
    wall = time.perf_counter() - start
    report = diagnostics(tree)
    return {
        "chains": chains,
        "draws": 1000,
        "warmup": 1000,
        "wall_s": wall,
        "sampling_s": float(tree.attrs["sampling_time_s"]),
        "max_rhat": report.max_rhat,
        "min_ess_bulk": report.min_ess_bulk,
        "divergent": report.n_divergent,
        "n_obs": int(tree["log_likelihood"].sizes["obs"]),
    }


# --------------------------------------------------------------------------- PyMC


def build_pymc_model(data):
    """The same hierarchical rw_recipient model and likelihood in PyMC."""
    import numpy as np
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt

    from valueint.trials.specs import get_spec

    spec = get_spec("rw_recipient")
    arrays = data.arrays
    n_subjects, n_blocks, n_trials = np.shape(arrays.choice)
    flat = n_subjects * n_blocks
    # [trial, subject*block]: scan runs over trials, every block of every subject at once
    choice = np.asarray(arrays.choice).reshape(flat, n_trials).T.astype("int64")
    outcome = np.asarray(arrays.outcome).reshape(flat, n_trials).T
    mask = np.asarray(arrays.mask).reshape(flat, n_trials).T.astype("float64")
    context = np.asarray(arrays.context).reshape(flat, n_trials).T.astype("int64")
    subject = np.repeat(np.arange(n_subjects), n_blocks)
    loc = np.array([p.prior_loc for p in spec.parameters])
    scale = np.array([p.prior_scale for p in spec.parameters])

    with pm.Model() as model:
        mu = pm.Normal("mu", loc, scale, shape=4)
        sigma = pm.HalfNormal("sigma", scale, shape=4)
        z = pm.Normal("z", 0.0, 1.0, shape=(n_subjects, 4))
        theta = mu + sigma * z
        alphas = pm.Deterministic("alphas", pm.math.sigmoid(theta[:, :3]))  # self, other, none
        beta = pm.Deterministic("beta", pt.exp(theta[:, 3]))
        beta_flat = beta[subject]
        alpha_trial = alphas[subject[None, :], context]  # [trial, subject*block]

        def step(c, r, m, a, q0, q1, b):
            logit = b * (q1 - q0)
            logp = pt.switch(pt.eq(c, 1), -pt.softplus(-logit), -pt.softplus(logit))
            q0_new = pt.switch(pt.eq(c, 0), q0 + a * (r - q0), q0)
            q1_new = pt.switch(pt.eq(c, 1), q1 + a * (r - q1), q1)
            return (
                m * q0_new + (1 - m) * q0,
                m * q1_new + (1 - m) * q1,
                m * logp,
            )

        zeros = pt.zeros(flat)
        (_, _, logps), _ = pytensor.scan(
            step,
            sequences=[
                pt.as_tensor(choice),
                pt.as_tensor(outcome),
                pt.as_tensor(mask),
                alpha_trial,
            ],
            outputs_info=[zeros, zeros, None],
            non_sequences=[beta_flat],
        )
        pm.Potential("choices", logps.sum())
    return model


def run_pymc(data, chains: int, draws: int, warmup: int) -> dict:
    import pymc as pm

    model = build_pymc_model(data)

    def sample(n_warmup, n_draws):
        start = time.perf_counter()
        with model:
            idata = pm.sample(
                draws=n_draws,
                tune=n_warmup,
                chains=chains,
                cores=min(chains, os.cpu_count() or 1),
                target_accept=TARGET_ACCEPT,
                random_seed=0,
                progressbar=False,
                compute_convergence_checks=False,
            )
        return idata, time.perf_counter() - start

    _, compile_s = sample(2, 2)
    idata, total_s = sample(warmup, draws)
    posterior = idata["posterior"]
    if hasattr(posterior, "to_dataset"):  # an xarray.DataTree node (arviz 1.x)
        posterior = posterior.to_dataset()
    posterior = posterior[["alphas", "beta", "mu", "sigma"]]
    return {
        "tool": f"PyMC {pm.__version__}",
        "compile_s": compile_s,
        "total_s": total_s,
        "sampling_s": max(total_s - compile_s, 1e-9),
        "divergent": int(idata.sample_stats["diverging"].sum()),
        **ess_summary(posterior),
    }


# --------------------------------------------------------------------------- report


def versions() -> dict:
    from importlib import metadata

    from valueint.records import package_versions

    out = package_versions()
    for name in ("pymc", "pytensor"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def markdown(result: dict) -> str:
    lines = [
        f"## Hierarchical fit benchmark ({result['date']})",
        "",
        f"Machine: {result['machine']}; {result['cpu_count']} CPU cores; JAX devices: "
        f"{result['jax_devices']}.  Data: {result['data']}.  Model: hierarchical "
        f"`rw_recipient` (non-centred), {result['chains']} chains x {result['draws']} draws "
        f"after {result['warmup']} warmup, target acceptance {TARGET_ACCEPT}; valueint's "
        "trial loop in float32 (what `fit` chooses for 21,631 trials), PyMC in float64.",
        "",
        "| tool | compile s | sampling s | divergent | min bulk ESS | median bulk ESS "
        "| min ESS / s | median ESS / s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in result["runs"]:
        lines.append(
            f"| {run['tool']} | {run['compile_s']:.1f} | {run['sampling_s']:.1f} | "
            f"{run['divergent']} | {run['ess_bulk_min']:.0f} | {run['ess_bulk_median']:.0f} | "
            f"{run['ess_bulk_min'] / run['sampling_s']:.2f} | "
            f"{run['ess_bulk_median'] / run['sampling_s']:.2f} |"
        )
    if "ratio_min_ess_per_s" in result:
        lines += [
            "",
            f"valueint / PyMC, bulk ESS per second of sampling: "
            f"{result['ratio_min_ess_per_s']:.1f}x (min ESS), "
            f"{result['ratio_median_ess_per_s']:.1f}x (median ESS).",
        ]
    if "full_fit" in result:
        full = result["full_fit"]
        lines += [
            "",
            f"Full fit as `valueint.fit` runs it ({full['chains']} chains x {full['draws']} "
            f"draws after {full['warmup']} warmup, {full['n_obs']} observed trials, pointwise "
            f"log-likelihood and predictive draws included): {full['wall_s']:.0f} s wall "
            f"({full['sampling_s']:.0f} s compiling and sampling); max R-hat "
            f"{full['max_rhat']:.3f}, min bulk ESS {full['min_ess_bulk']:.0f}, "
            f"{full['divergent']} divergent.",
        ]
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items())]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_jax(max(args.chains, args.full_chains, os.cpu_count() or 1))
    data, description = load_data(args.simulated)
    import jax

    result = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "jax_devices": jax.local_device_count(),
        "data": description,
        "chains": args.chains,
        "draws": args.draws,
        "warmup": args.warmup,
        "versions": versions(),
        "runs": [],
    }
    print(f"data: {description}", flush=True)
    if not args.only_full:
        run = run_valueint(data, args.chains, args.draws, args.warmup)
        print(run, flush=True)
        result["runs"].append(run)
    if not (args.skip_pymc or args.only_full):
        try:
            import pymc  # noqa: F401
        except ImportError:
            print("PyMC is not installed: skipped (pip install -e '.[bench]')", flush=True)
        else:
            pymc_run = run_pymc(data, args.chains, args.draws, args.warmup)
            print(pymc_run, flush=True)
            result["runs"].append(pymc_run)
            ours, theirs = run, pymc_run
            for key in ("min", "median"):
                result[f"ratio_{key}_ess_per_s"] = (
                    ours[f"ess_bulk_{key}"] / ours["sampling_s"]
                ) / (theirs[f"ess_bulk_{key}"] / theirs["sampling_s"])
    if not args.skip_full:
        result["full_fit"] = full_fit(data, args.full_chains)
        print(result["full_fit"], flush=True)
    text = markdown(result)
    print(text)
    if args.out is not None:
        from valueint.records import write_json

        write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Which sampler needs the fewest gradients per independent draw, on the real data's binding quantities.

One hierarchical trial model fitted to Cutler et al. (2021) by several samplers, each from
the same data, model, chains, warmup iterations and seed, judged by the same numbers: the
lowest bulk and tail ESS over every subject- and population-level quantity (natural
scale), per 1,000 gradient evaluations and per second (warm start, tuning and sampling,
compiles left out), with max R-hat and divergences.

Samplers (``--samplers``):

* ``nuts-auto``: ``valueint.trials.fit.fit`` at its defaults (a learned centeredness per
  subject and parameter from an SVI warm start, a dense mass matrix on the population
  block);
* ``nuts-whitened``: fit with ``parameterization="whitened"`` (each subject in
  coordinates whitened by a Gaussian approximation of its likelihood);
* ``nuts-noncentered``: fit with ``parameterization="noncentered"``;
* ``nuts-auto-diagonal``: fit's default with a diagonal mass matrix everywhere (what the
  dense population block buys);
* ``mams``: blackjax's adjusted microcanonical sampler (``adjusted_mclmc_dynamic``, tuned
  by ``adjusted_mclmc_find_L_and_step_size``) on the non-centred model;
* ``neutra``: NUTS on the non-centred model preconditioned by an inverse autoregressive
  flow fitted by SVI (numpyro's ``NeuTraReparam`` with ``AutoIAFNormal``).

Gradients are each sampler's gradient evaluations over all chains (NUTS: leapfrog steps;
MAMS: two per integration step of its McLachlan integrator):
'(draws)' the kept draws only, '(all)' adds warmup, tuning and the SVI steps of a warm
start or flow fit.  blackjax and the flow are not valueint dependencies: they come with
the ``bench`` extra.

    .venv/bin/python benchmarks/compare_samplers.py --models rw_recipient,rw_asym_ck
    .venv/bin/python benchmarks/compare_samplers.py --subjects 20 --warmup 100 --draws 100 \\
        --out-dir /tmp/compare                                   # a quick check

Results go to ``sampler_comparison.json`` in ``--out-dir`` (after every run; run again with
the same settings, a comparison keeps the runs it finished and redoes the rest), and its section of ``FIT_RESULTS.md`` there
(``fit_report.write_fit_results``), atomically.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # fit_report beside this file, when imported from elsewhere
    sys.path.insert(0, str(HERE))
from fit_report import (  # noqa: E402
    covered_seconds,
    valueint_source,
    versions,
    whitened_warmup,
    write_fit_results,
)

SAMPLERS = (
    "nuts-auto",
    "nuts-whitened",
    "nuts-noncentered",
    "nuts-auto-diagonal",
    "mams",
    "neutra",
)
FIT_VARIANTS = {
    "nuts-auto": {},
    "nuts-whitened": {"parameterization": "whitened"},  # its pilot within --warmup: below
    "nuts-noncentered": {"parameterization": "noncentered"},
    "nuts-auto-diagonal": {"mass_matrix": "diagonal"},
}
FLOW_STEPS = 3000  # SVI steps that fit the flow of ``neutra``
# run only when named: on all 152 subjects, neutra's NUTS on rw_recipient had not finished
# after 25 minutes on 2 cores (its trajectories in the flow's coordinates run long).  On the
# first 12 (``--subjects 12 --warmup 200 --draws 200 --models rw_recipient --samplers
# neutra,nuts-auto``) its worst ESS per 1,000 gradients was 1.9 against nuts-auto's 2.3 on
# the kept draws, and 1.7 against 0.8 counting the flow's fit and nuts-auto's warm start
SLOW_SAMPLERS = ("neutra",)
JAX_COMPILE_EVENTS = "/jax/core/compile/"
# gradient evaluations per integration step of blackjax's default MCLMC integrator
# (isokinetic McLachlan: coefficients b1, a1, b2, a1, b1, two position updates)
MCLACHLAN_GRADIENTS = 2
# how the runs are measured: a record of another version is not resumed
HARNESS_VERSION = 2


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="rw_recipient,rw_asym_ck", help="trial models")
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subjects", type=int, default=None, help="only the first N subjects")
    parser.add_argument(
        "--samplers",
        default=",".join(s for s in SAMPLERS if s not in SLOW_SAMPLERS),
        help=f"some of {', '.join(SAMPLERS)} (default: all but {', '.join(SLOW_SAMPLERS)})",
    )
    parser.add_argument("--out-dir", type=Path, default=HERE)
    args = parser.parse_args(argv)
    args.models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    args.samplers = tuple(s.strip() for s in args.samplers.split(",") if s.strip())
    unknown = set(args.samplers) - set(SAMPLERS)
    if unknown or not args.samplers:
        parser.error(f"--samplers: expected some of {', '.join(SAMPLERS)}; got {args.samplers}")
    return args


# --------------------------------------------------------------------------- data and model


def cutler(n_subjects: int | None):
    """The Cutler et al. (2021) frame (its declared model options attached), or its first N."""
    import valueint

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the loader's notes on the source's quirks
        frame = valueint.load_data("cutler2021")
    if n_subjects is not None:
        ids = frame["subject"].unique()[:n_subjects]
        attrs = dict(frame.attrs)
        frame = frame[frame["subject"].isin(ids)].copy()
        frame.attrs.update(attrs)
    return frame


def model_inputs(frame, model: str, precision: str = "auto"):
    """(spec, the numpyro model, its arguments) as ``fit`` builds them: intercept-only."""
    from valueint.datasets import data_model_options
    from valueint.inference.covariates import CovariateFormulas, build_design
    from valueint.trials.fit import numpyro_inputs
    from valueint.trials.fit_data import as_fit_data, resolve_spec

    spec = resolve_spec(model)
    fit_data = as_fit_data(frame, spec)
    design = build_design(CovariateFormulas(), fit_data, spec)
    numpyro_model, model_args, _ = numpyro_inputs(
        spec, data_model_options(frame) or None, fit_data, design, precision=precision
    )
    return spec, numpyro_model, model_args


def noncentered(numpyro_model, model_args):
    import numpy as np

    from valueint.inference.reparam import reparameterized

    spec, _, arrays, _ = model_args
    shape = (arrays.choice.shape[0], len(spec.parameters))
    return reparameterized(numpyro_model, np.zeros(shape))


# --------------------------------------------------------------------------- the judge


def judge(posterior, spec, diverging, steps_draws, gradients_before, seconds) -> dict:
    """The numbers every sampler is judged by: ``posterior`` {name: [chain, draw(, subject)]}
    on the natural scale for every subject parameter, mu_ and sigma_."""
    import arviz_stats as azs
    import numpy as np
    import xarray as xr

    names = list(spec.parameter_names)
    names += [f"{kind}_{n}" for kind in ("mu", "sigma") for n in spec.parameter_names]
    variables = {}
    for name in names:
        value = np.asarray(posterior[name], dtype=float)
        dims = ("chain", "draw", "subject")[: value.ndim]
        variables[name] = xr.DataArray(value, dims=dims)
    dataset = xr.Dataset(variables)
    out = {}
    for method in ("bulk", "tail"):
        ess = azs.ess(dataset, method=method)
        labels, values = [], []
        for name in names:
            flat = np.asarray(ess[name]).ravel()
            values.append(flat)
            labels += [f"{name}[{i}]" for i in range(flat.size)] if flat.size > 1 else [name]
        values = np.concatenate(values)
        worst = int(np.nanargmin(values))
        out[f"ess_{method}_min"] = float(values[worst])
        out[f"ess_{method}_median"] = float(np.nanmedian(values))
        out[f"worst_{method}"] = labels[worst]
    rhat = azs.rhat(dataset)
    n_draws = dataset.sizes["chain"] * dataset.sizes["draw"]
    gradients = int(np.asarray(steps_draws).sum())
    every = gradients + int(gradients_before)
    worst_ess = min(out["ess_bulk_min"], out["ess_tail_min"])
    return {
        **out,
        "rhat_max": float(max(np.nanmax(np.asarray(rhat[n])) for n in names)),
        "divergent": int(np.asarray(diverging).sum()),
        "n_draws": int(n_draws),
        "n_quantities": int(sum(np.asarray(posterior[n]).size // n_draws for n in names)),
        "gradients_draws": gradients,
        "gradients_all": every,
        "gradients_per_draw": gradients / n_draws,
        "sampling_s": seconds,
        "min_ess_per_1k_gradients_draws": 1000 * worst_ess / gradients,
        "min_ess_per_1k_gradients_all": 1000 * worst_ess / every,
        "min_ess_per_s": worst_ess / max(seconds, 1e-9),
        "worst_share_of_draws": worst_ess / n_draws,
    }


class CompileClock:
    """The seconds JAX spent tracing, lowering or compiling within a span of wall time."""

    def __enter__(self):
        import jax

        self.spans = []
        self.jax = jax
        jax.monitoring.register_event_time_span_listener(self.listen)
        self.begin = time.time()
        return self

    def listen(self, event, begin, end, **_):
        if event.startswith(JAX_COMPILE_EVENTS):
            self.spans.append((begin, end))

    def __exit__(self, *exc):
        self.end = time.time()
        self.jax.monitoring.unregister_event_time_span_listener(self.listen)

    def compile_s(self, start: float | None = None, end: float | None = None) -> float:
        """Compile seconds within [start, end] (default: the whole span); nested compile
        events count once."""
        start = self.begin if start is None else start
        end = self.end if end is None else end
        return covered_seconds(self.spans, start, end)

    def sampling_s(self) -> float:
        return (self.end - self.begin) - self.compile_s()


# --------------------------------------------------------------------------- the samplers


def fit_variant(frame, model, name, args) -> dict:
    """valueint's own NUTS through ``fit``."""
    from valueint.trials.fit import fit
    from valueint.trials.fit_data import resolve_spec

    spec = resolve_spec(model)
    warmup = {"warmup": args.warmup}
    if FIT_VARIANTS[name].get("parameterization") == "whitened":
        warmup = whitened_warmup(args.warmup)
    with CompileClock() as clock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = fit(
            frame,
            spec,
            chains=args.chains,
            draws=args.draws,
            seed=args.seed,
            progress=False,
            predictive_draws=1,
            **warmup,
            **FIT_VARIANTS[name],
        )
    sampler = json.loads(tree.attrs["sampler"])
    recorded = json.loads(tree.attrs.get("settings", "{}"))
    before = int(recorded.get("n_gradients_warmup", 0)) + int(sampler.get("warm_start_steps", 0))
    stats = tree["sample_stats"]
    # fit's own clock, less its compiles: its data preparation before and its pointwise
    # log-likelihood and predictions after are outside it
    total = float(tree.attrs["sampling_time_s"])
    started = float(recorded["sampling_started_unix"])
    seconds = total - clock.compile_s(started, started + total)
    posterior = {name: tree["posterior"][name].values for name in tree["posterior"].data_vars}
    return judge(posterior, spec, stats["diverging"], stats["n_steps"], before, seconds)


def unconstrained_start(numpyro_model, model_args, key):
    """numpyro's model information at the prior medians: (potential, postprocess, start)."""
    from numpyro.infer import init_to_median
    from numpyro.infer.util import initialize_model

    info = initialize_model(key, numpyro_model, model_args=model_args, init_strategy=init_to_median)
    return info.potential_fn, info.postprocess_fn, info.param_info.z


def mams(frame, model, args) -> dict:
    """blackjax's adjusted microcanonical sampler on the non-centred model, from the prior
    medians, tuned per chain over ``--warmup`` steps."""
    import blackjax
    import jax
    import jax.numpy as jnp
    import numpy as np
    from blackjax.mcmc.adjusted_mclmc_dynamic import make_random_trajectory_length_fn

    spec, numpyro_model, model_args = model_inputs(frame, model)
    model_nc = noncentered(numpyro_model, model_args)
    key = jax.random.key(args.seed)
    potential, postprocess, start = unconstrained_start(model_nc, model_args, key)

    def logdensity(z):
        return -potential(z)

    kernel = blackjax.adjusted_mclmc_dynamic.build_kernel(
        integration_steps_fn=make_random_trajectory_length_fn(True)
    )

    def tuning_kernel(
        rng_key, state, logdensity_fn, step_size, inverse_mass_matrix, integration_steps_params
    ):
        return kernel(
            rng_key,
            state,
            logdensity_fn,
            step_size,
            jnp.inf,
            inverse_mass_matrix,
            integration_steps_params,
        )

    def one_chain(chain_key):
        init_key, tune_key, run_key = jax.random.split(chain_key, 3)
        state = blackjax.adjusted_mclmc_dynamic.init(start, logdensity, init_key)
        state, params, tuning_steps = blackjax.adjusted_mclmc_find_L_and_step_size(
            mclmc_kernel=tuning_kernel,
            logdensity_fn=logdensity,
            num_steps=args.warmup,
            state=state,
            rng_key=tune_key,
            target=0.9,
            # its two passes run (frac_tune1 + frac_tune2 + frac_tune1) x num_steps steps:
            # --warmup in all
            frac_tune1=1 / 3,
            frac_tune2=1 / 3,
        )
        steps_avg = params.L / params.step_size

        def step(state, step_key):
            state, info = kernel(
                step_key,
                state,
                logdensity,
                params.step_size,
                jnp.inf,
                params.inverse_mass_matrix,
                (steps_avg,),
            )
            return state, (state.position, info.num_integration_steps, info.is_divergent)

        _, (positions, n_steps, divergent) = jax.lax.scan(
            step, state, jax.random.split(run_key, args.draws)
        )
        return positions, n_steps, divergent, tuning_steps

    run = jax.jit(jax.vmap(one_chain))
    keys = jax.random.split(jax.random.fold_in(key, 1), args.chains)
    with CompileClock() as clock:
        positions, n_steps, divergent, tuning = jax.block_until_ready(run(keys))
    flat = jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), positions)
    values = jax.lax.map(postprocess, flat, batch_size=64)
    posterior = {
        k: np.asarray(v).reshape(args.chains, args.draws, *np.shape(v)[1:])
        for k, v in values.items()
    }
    # the McLachlan integrator evaluates the gradient twice per integration step
    gradients = MCLACHLAN_GRADIENTS * np.asarray(n_steps)
    tuning_gradients = MCLACHLAN_GRADIENTS * int(np.sum(tuning))
    return judge(posterior, spec, divergent, gradients, tuning_gradients, clock.sampling_s())


def neutra(frame, model, args) -> dict:
    """NUTS on the non-centred model in the coordinates of an IAF flow fitted by SVI; the
    trial loop in float64 (the flow's early draws reach parameters whose float32 softmax
    overflows, and the loss turns NaN)."""
    import jax
    import numpy as np
    import numpyro
    from numpyro.infer import MCMC, NUTS, SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoIAFNormal
    from numpyro.infer.reparam import NeuTraReparam

    spec, numpyro_model, model_args = model_inputs(frame, model, precision="float64")
    model_nc = noncentered(numpyro_model, model_args)
    key = jax.random.key(args.seed)
    guide = AutoIAFNormal(model_nc, num_flows=2, init_loc_fn=numpyro.infer.init_to_median)
    # a small, clipped step: at 1e-3 the flow's loss turns NaN within 100 steps on all subjects
    svi = SVI(model_nc, guide, numpyro.optim.ClippedAdam(2e-4, clip_norm=10.0), Trace_ELBO())
    with CompileClock() as clock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = svi.run(key, FLOW_STEPS, *model_args, progress_bar=False)
        if not np.all(np.isfinite(np.asarray(fitted.losses))):
            first = int(np.argmin(np.isfinite(np.asarray(fitted.losses))))
            raise FloatingPointError(f"the flow's SVI loss turned NaN at step {first}")
        reparam = NeuTraReparam(guide, fitted.params)
        warped = reparam.reparam(model_nc)
        mcmc = MCMC(
            NUTS(warped, target_accept_prob=0.8),
            num_warmup=args.warmup,
            num_samples=args.draws,
            num_chains=args.chains,
            chain_method="parallel" if jax.local_device_count() >= args.chains else "sequential",
            progress_bar=False,
        )
        mcmc.warmup(
            jax.random.fold_in(key, 1),
            *model_args,
            extra_fields=("num_steps",),
            collect_warmup=True,  # else nothing of the warmup is kept, its steps not either
        )
        warmup_steps = int(np.sum(mcmc.get_extra_fields()["num_steps"]))
        mcmc.run(jax.random.fold_in(key, 2), *model_args, extra_fields=("num_steps", "diverging"))
    # the model's deterministic sites (natural-scale parameters, mu_, sigma_) come with the draws
    posterior = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    fields = mcmc.get_extra_fields()
    result = judge(
        posterior,
        spec,
        fields["diverging"],
        fields["num_steps"],
        warmup_steps + FLOW_STEPS,
        clock.sampling_s(),
    )
    result["flow_loss_final"] = float(np.mean(np.asarray(fitted.losses)[-100:]))
    return result


def run_one(frame, model, name, args) -> dict:
    if name in FIT_VARIANTS:
        return fit_variant(frame, model, name, args)
    return {"mams": mams, "neutra": neutra}[name](frame, model, args)


# --------------------------------------------------------------------------- report


def main(argv=None) -> int:
    args = parse_args(argv)
    import numpyro

    numpyro.set_host_device_count(args.chains)
    numpyro.enable_x64()
    from valueint.records import write_json

    frame = cutler(args.subjects)
    result = {
        "date": dt.date.today().isoformat(),
        "command": shlex.join(["benchmarks/compare_samplers.py", *sys.argv[1:]]),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "valueint_source": valueint_source(),
        "data": f"Cutler et al. (2021), {frame['subject'].nunique()} subjects, "
        f"model options {frame.attrs.get('model_options')}",
        "config": {
            **{k: getattr(args, k) for k in ("chains", "warmup", "draws", "seed", "subjects")},
            "harness": HARNESS_VERSION,
        },
        "versions": versions(),
        "runs": [],
        "notes": [
            "fit's samplers start from their SVI warm start (counted in '(all)'); mams and "
            "neutra from the prior medians.",
        ],
    }
    if "neutra" in args.samplers:
        result["notes"].append(
            f"neutra's '(all)' includes its {FLOW_STEPS} SVI steps, one gradient each."
        )
    record = args.out_dir / "sampler_comparison.json"
    done = {}
    if record.exists():  # resume: keep the runs that finished, with the same settings
        earlier = json.loads(record.read_text())
        if earlier.get("config") != result["config"]:
            raise SystemExit(
                f"{record} holds a comparison with other settings ({earlier.get('config')}); "
                "give another --out-dir, or remove it to start again"
            )
        result["resumed_from"] = earlier.get("date")
        done = {(r["model"], r["sampler"]): r for r in earlier["runs"] if "error" not in r}
    for model in args.models:
        for name in args.samplers:
            if (model, name) in done:
                print(f"--- {model} / {name}: measured before, kept", flush=True)
                result["runs"].append(done[model, name])
                write_json(record, result)  # at once: a stop later must not lose it
                continue
            print(f"--- {model} / {name}", flush=True)
            begun = time.perf_counter()
            try:
                run = run_one(frame, model, name, args)
            except Exception as error:  # one sampler failing is a result, not the end
                run = {"error": f"{type(error).__name__}: {error}"[:300]}
            run = {"model": model, "sampler": name, "wall_s": time.perf_counter() - begun, **run}
            print({k: v for k, v in run.items()}, flush=True)
            result["runs"].append(run)
            write_json(record, result)
    requested = {(m, n) for m in args.models for n in args.samplers}
    kept = [run for key, run in done.items() if key not in requested]
    if kept:  # a run of some models or samplers keeps the record's others
        result["runs"] += kept
        write_json(record, result)
    print(write_fit_results(args.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())

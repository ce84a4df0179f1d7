"""The runner: many learners, conditions and seeds in one compiled JAX program.

``make_episode_runner(env, q_representation)`` returns a pure function that plays
one episode for one condition and one seed; ``make_chunk_runner`` scans it over a
block of episodes and ``vmap``s it over seeds and conditions under a single
``jit``.  ``simulate(config, seeds)`` calls that compiled function block by block
(so a progress bar can advance) and returns a tidy per-episode DataFrame.

Randomness: the key of seed s is ``jax.random.key(s)``, shared by all conditions
(common random numbers: the same seed sees the same layouts in every
condition), and episode e uses ``fold_in(key, e)``, so results do not depend on
how episodes are split into blocks.  Every random number is drawn up front by
``episode_noise`` and consumed by deterministic code, which is what lets the NumPy
reference replay a trajectory exactly.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from valueint.pytree import pytree_dataclass
from valueint.sim import agents as ln
from valueint.sim import caregiver as cg
from valueint.sim.config import ConditionParams, Experiment, resolve
from valueint.sim.envs.base import Env


@pytree_dataclass
class EpisodeMetrics:
    """Per agent sums (or rates) over one episode; every field is [n_agents]."""

    socialized_rate: jax.Array  # socialized acts / salient acts (NaN if there were none)
    salient_actions: jax.Array  # actions with phi != 0
    extrinsic_return: jax.Array  # sum R_e
    caregiver_reward: jax.Array  # sum theta_c . phi: true caregiver value earned
    isr_reward: jax.Array  # sum mean(theta) . phi: what the ISR believes was earned
    internal_reward: jax.Array  # sum (1 - P) R_i: internal reward as weighted in U
    social_reward: jax.Array  # sum P R_s: social reward as weighted in U
    praise: jax.Array  # count y = +1
    disapproval: jax.Array  # count y = -1
    presence: jax.Array  # fraction of steps with the caregiver present
    steps: jax.Array  # steps before the episode ended
    theta_mean: jax.Array  # [n_agents, K] ISR mean at the episode's end
    theta_sd: jax.Array  # [n_agents, K]
    theta_point: jax.Array  # [n_agents, K]


# the per-episode scalars (the theta_* fields are per feature)
METRICS = tuple(
    f.name for f in dataclasses.fields(EpisodeMetrics) if not f.name.startswith("theta_")
)


def episode_noise(env: Env, key, n_features: int, thompson: bool = True):
    """Every random number one episode uses, keyed only by ``key``.

    Drawn in a few bulk calls (per-step key splitting costs more than the draws).
    ``thompson=False`` leaves out the Thompson sample's normals (zeros instead) for
    experiments without Thompson learners; every other draw keeps its own key, so it
    is unchanged.
    """
    k_reset, k_presence, k_thompson, k_env, k_steps = jax.random.split(key, 5)
    n, horizon = env.n_agents, env.horizon
    explore, action, feedback = jax.random.uniform(k_steps, (3, horizon, n))
    present = jax.random.uniform(k_presence, (horizon + 1,))
    return {
        "reset": env.reset_noise(k_reset),
        "present": present[0],
        "thompson": jax.random.normal(k_thompson, (n, n_features))
        if thompson
        else jnp.zeros((n, n_features)),
        "steps": {
            "env": jax.vmap(env.step_noise)(jax.random.split(k_env, horizon)),
            "explore": explore,
            "action": action,
            "feedback": feedback,
            "present": present[1:],
        },
    }


def q_feature_map(env: Env, q_representation: str) -> Callable:
    """psi(s, a) for every agent and action, linear or one-hot (tabular)."""
    if q_representation == "linear":
        return lambda obs: obs.q_features
    n_q = n_q_features(env, q_representation)

    def tabular(obs):
        idx = obs.state_index[:, None] * env.n_actions + jnp.arange(env.n_actions)[None, :]
        return jax.nn.one_hot(idx, n_q, dtype=obs.social_features.dtype)

    return tabular


def n_q_features(env: Env, q_representation: str) -> int:
    return env.n_q_features if q_representation == "linear" else env.n_states * env.n_actions


def make_episode_runner(
    env: Env,
    q_representation: str = "linear",
    record: bool = False,
    uses: ln.LearnerUses = ln.ALL_USES,
    defer_isr: bool = False,
):
    """Return ``play(cond, learners, episode, noise) -> (learners, metrics[, trace])``.

    ``learners`` is a LearnerState with a leading [n_agents] axis.  With
    ``record=True`` a per-step trace is returned too (for tests and the reference).
    ``uses`` says which learner options the params may select (``learner_uses``); the
    step is compiled without the others.

    ``defer_isr``: in a world where a salient action ends the episode
    (``salient_action_ends_episode``) an agent learns from at most one piece of feedback
    per episode, and no later step reads the update, so the ISR update may run once
    after the episode's scan instead of at every step: the same result for a twelfth of
    the work in the default gridworld.  Ignored in other worlds and with ``record``
    (a trace shows the belief after every step).
    """
    psi_of = q_feature_map(env, q_representation)
    v_q = jax.vmap(ln.q_values)
    v_select = jax.vmap(functools.partial(ln.select_action, uses=uses), in_axes=(None, 0, 0, 0))
    v_internal = jax.vmap(
        functools.partial(ln.internal_reward, uses=uses), in_axes=(None, None, 0, 0)
    )
    v_isr_mean = jax.vmap(ln.isr_mean_value, in_axes=(None, 0, 0))
    v_td = jax.vmap(ln.td_update, in_axes=(None, 0, 0, 0, 0, None, None))
    v_isr_update = jax.vmap(
        functools.partial(ln.isr_update, uses=uses), in_axes=(None, None, 0, 0, 0, 0)
    )
    v_feedback = jax.vmap(cg.sample_feedback, in_axes=(None, 0, 0))
    v_start = jax.vmap(functools.partial(ln.start_episode, uses=uses), in_axes=(None, 0, 0))
    v_new_task = jax.vmap(ln.start_new_task, in_axes=(None, 0, None))
    defer_isr = defer_isr and bool(getattr(env, "salient_action_ends_episode", False))
    defer_isr = defer_isr and not record

    def play(cond: ConditionParams, learners, episode, noise):
        care, lp = cond.caregiver, cond.learner
        phase = cg.phase_index(care, episode)
        env_params = jax.tree.map(
            lambda a, b: jnp.where(phase == 2, b, a), cond.env_social, cond.env_autonomous
        )
        p_present = cg.presence_probability(care, episode)
        present_episode = noise["present"] < p_present
        new_task = episode == cg.autonomy_start(care)
        learners = v_new_task(lp, learners, new_task)
        learners = v_start(lp, learners, noise["thompson"])
        obs, state = env.reset_from_noise(noise["reset"], env_params)
        dtype = care.theta.dtype
        agents = jnp.arange(env.n_agents)

        def step(carry, step_noise):
            state, obs, learners, done, totals, pending = carry
            active = ~done
            present = jnp.where(
                care.presence_per_step > 0, step_noise["present"] < p_present, present_episode
            )
            psi_all = psi_of(obs)  # [n, A, n_q]
            q = v_q(learners, psi_all)
            actions = v_select(lp, q, step_noise["explore"], step_noise["action"])
            psi = psi_all[agents, actions]
            phi = obs.social_features[agents, actions]  # [n, K]
            next_obs, next_state, r_ext, next_done, info = env.step_from_noise(
                step_noise["env"], state, actions, env_params
            )
            salient = jnp.any(phi != 0, axis=-1)
            y = v_feedback(care, phi, step_noise["feedback"])
            observed = present & salient & active
            y = jnp.where(observed, y, 0)
            r_social = care.social_reward * y.astype(dtype)
            r_internal = v_internal(lp, care, learners, phi)
            u, w_social, w_internal = ln.utility(
                lp, r_ext, r_social, r_internal, present, p_present
            )
            next_q = v_q(learners, psi_of(next_obs))
            learners_td = v_td(lp, learners, psi, u, next_q, info["terminated"], active)
            if defer_isr:
                # the one observed salient step of the episode, learned from after it
                pending = jax.tree.map(
                    lambda new, old: jnp.where(
                        observed.reshape(-1, *[1] * (new.ndim - 1)), new, old
                    ),
                    {"phi": phi, "y": y, "observed": observed},
                    pending,
                )
                learners_new = learners_td
            else:
                learners_new = v_isr_update(lp, care, learners_td, phi, y, observed)

            true_value = phi @ care.theta
            mask = active.astype(dtype)
            sal = (salient & active).astype(dtype)
            out = {
                "salient": sal,
                "socialized": sal * (true_value > 0),
                "extrinsic": mask * r_ext,
                "caregiver": sal * true_value,
                "internal": mask * w_internal * r_internal,
                "social": mask * w_social * r_social,
                "praise": (y > 0).astype(dtype),
                "disapproval": (y < 0).astype(dtype),
                "present": mask * present.astype(dtype),
                "active": mask,
            }
            if uses.isr:  # no_isr learners' ISR value is not reported
                out["isr"] = sal * v_isr_mean(lp, learners, phi)
            # sums over the episode are carried, not stacked per step and summed after
            totals = jax.tree.map(jnp.add, totals, out)
            trace = None
            if record:
                trace = {
                    "action": actions,
                    "y": y,
                    "present": present,
                    "utility": u,
                    "reward": r_ext,
                    "internal": r_internal,
                    "active": active,
                    "q_weights": learners_new.q_weights,
                    "belief_mean": learners_new.belief.mean,
                }
            done = done | next_done
            # Past the end of an episode the world stands still.
            keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(active, a, b), new, old)  # noqa: E731
            carry = (
                keep(next_state, state),
                keep(next_obs, obs),
                learners_new,
                done,
                totals,
                pending,
            )
            return carry, trace

        per_agent = jnp.zeros(env.n_agents, dtype)
        names = [*TOTALS, "isr"] if uses.isr else TOTALS
        totals0 = {name: per_agent for name in names}
        totals0["active"] = jnp.zeros((), dtype)
        pending0 = {
            "phi": jnp.zeros((env.n_agents, env.n_features), dtype),
            "y": jnp.zeros(env.n_agents, jnp.int32),
            "observed": jnp.zeros(env.n_agents, bool),
        }
        init = (state, obs, learners, jnp.zeros((), dtype=bool), totals0, pending0)
        (_, _, learners, _, total, pending), trace = jax.lax.scan(step, init, noise["steps"])
        if defer_isr:
            learners = v_isr_update(
                lp, care, learners, pending["phi"], pending["y"], pending["observed"]
            )
        steps = total["active"]
        metrics = EpisodeMetrics(
            socialized_rate=jnp.where(
                total["salient"] > 0,
                total["socialized"] / jnp.maximum(total["salient"], 1.0),
                jnp.nan,
            ),
            salient_actions=total["salient"],
            extrinsic_return=total["extrinsic"],
            caregiver_reward=total["caregiver"],
            isr_reward=total.get("isr", per_agent),
            internal_reward=total["internal"],
            social_reward=total["social"],
            praise=total["praise"],
            disapproval=total["disapproval"],
            presence=jnp.broadcast_to(total["present"] / jnp.maximum(steps, 1.0), (env.n_agents,)),
            steps=jnp.broadcast_to(steps, (env.n_agents,)),
            theta_mean=learners.belief.mean,
            theta_sd=jnp.sqrt(jnp.diagonal(learners.belief.cov, axis1=-2, axis2=-1)),
            theta_point=learners.point,
        )
        if record:
            return learners, metrics, trace
        return learners, metrics

    return play


# the per-step quantities summed over an episode (besides "isr", kept when some learner
# has an ISR)
TOTALS = (
    "salient", "socialized", "extrinsic", "caregiver", "internal", "social", "praise",
    "disapproval", "present", "active",
)  # fmt: skip


def init_learners(env: Env, q_representation: str, learner_params: ln.LearnerParams):
    """One LearnerState per agent, stacked on a leading axis."""
    n_q = n_q_features(env, q_representation)
    one = ln.init_learner(learner_params, n_q, env.n_features)
    return jax.tree.map(lambda x: jnp.broadcast_to(x, (env.n_agents, *x.shape)), one)


def experiment_uses(experiment: Experiment) -> ln.LearnerUses:
    """The learner options some condition of ``experiment`` selects."""
    return ln.learner_uses(experiment.params.learner, experiment.params.caregiver)


# Seeds a device plays side by side: few enough that their state stays in cache through
# every step of an episode (at 131,072 learners on 2 CPU cores, 1.4x the throughput of
# one block per device; benchmarks/RESULTS.md).
SEED_BLOCK = 1024


@dataclasses.dataclass(frozen=True)
class SeedLayout:
    """How seeds are laid out: ``devices`` x ``blocks`` x ``block`` seeds, padded at the
    end (the padding seeds are played and dropped)."""

    devices: int
    blocks: int
    block: int

    @property
    def padded(self) -> int:
        return self.devices * self.blocks * self.block


def seed_layout(n_seeds: int, devices: int, block: int | None = None) -> SeedLayout:
    """Every device gets the same number of seeds, in blocks of at most ``block``; at most
    a block per device of padding.  ``block`` defaults to ``SEED_BLOCK``."""
    block = block or SEED_BLOCK
    per_device = math.ceil(n_seeds / devices)
    blocks = math.ceil(per_device / block)
    return SeedLayout(devices, blocks, math.ceil(per_device / blocks))


@functools.lru_cache(maxsize=32)
def make_chunk_runner(
    env: Env,
    q_representation: str,
    chunk_episodes: int,
    uses: ln.LearnerUses | None = None,
    devices: int = 1,
    blocks: int = 1,
):
    """Compiled ``run(params[C], learners[C,S], keys[S], first_episode)``.

    Plays ``chunk_episodes`` episodes for every condition C and seed S at once and
    returns (learners, metrics[C, S, chunk, n_agents]).  Cached on the static world (and
    the options in use), so experiments that differ only in numbers reuse one compiled
    program.  ``uses`` specializes the program to those learner options (and defers the
    ISR update where the world allows); None compiles the general step, which any
    params can use: the yardstick the specialized program is tested against.

    The seeds are split over ``devices`` (``shard_map``; seeds never interact, so the
    devices never communicate) and, on each, played ``blocks`` blocks one after another
    (``lax.map``); S must be a multiple of devices x blocks.
    """
    specialized = uses is not None
    uses = uses or ln.ALL_USES
    play = make_episode_runner(env, q_representation, uses=uses, defer_isr=specialized)
    n_features = env.n_features

    def one(cond, learners, key, first_episode):
        def body(learners, offset):
            episode = first_episode + offset
            noise = episode_noise(env, jax.random.fold_in(key, episode), n_features, uses.thompson)
            return play(cond, learners, episode, noise)

        return jax.lax.scan(body, learners, jnp.arange(chunk_episodes))

    over_seeds = jax.vmap(one, in_axes=(None, 0, 0, None))

    def in_blocks(cond, learners, keys, first_episode):
        if blocks == 1:
            return over_seeds(cond, learners, keys, first_episode)
        split = lambda x: x.reshape(blocks, -1, *x.shape[1:])  # noqa: E731
        out = jax.lax.map(
            lambda block: over_seeds(cond, *block, first_episode),
            (jax.tree.map(split, learners), split(keys)),
        )
        return jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), out)

    over_conditions = jax.vmap(in_blocks, in_axes=(0, 0, None, None))
    if devices == 1:
        return jax.jit(over_conditions)
    spec = jax.sharding.PartitionSpec
    sharded = jax.shard_map(
        over_conditions,
        mesh=seed_mesh(devices),
        in_specs=(spec(), spec(None, "seeds"), spec("seeds"), spec()),
        out_specs=spec(None, "seeds"),
        check_vma=False,  # the scans' carries vary by device; nothing is reduced across
    )
    return jax.jit(sharded)


def seed_mesh(devices: int):
    return jax.sharding.Mesh(np.array(jax.devices()[:devices]), ("seeds",))


def on_seed_mesh(tree, devices: int, axis: int | None):
    """Place ``tree`` for the sharded runner: split along ``axis`` (None: replicated)."""
    if devices == 1:
        return tree
    split = () if axis is None else (*[None] * axis, "seeds")
    sharding = jax.sharding.NamedSharding(seed_mesh(devices), jax.sharding.PartitionSpec(*split))
    return jax.device_put(tree, sharding)


def run_experiment(
    experiment: Experiment,
    seeds: Sequence[int],
    progress: Callable | None = None,
    specialize: bool = True,
):
    """Run every condition and seed; returns stacked EpisodeMetrics [C, S, E, n_agents].

    ``specialize=False`` runs the general program (``make_chunk_runner`` with no
    ``uses``): the same results, slower; for tests and benchmarks.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    if min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct non-negative integers; got {seeds}")
    n_chunks = math.ceil(experiment.n_episodes / experiment.chunk_episodes)
    chunk = math.ceil(experiment.n_episodes / n_chunks)
    uses = experiment_uses(experiment) if specialize else None
    layout = seed_layout(len(seeds), len(jax.devices()))
    runner = make_chunk_runner(
        experiment.env, experiment.q_representation, chunk, uses, layout.devices, layout.blocks
    )
    padding = [seeds[0]] * (layout.padded - len(seeds))
    keys = jax.vmap(jax.random.key)(jnp.asarray(seeds + padding))
    keys = on_seed_mesh(keys, layout.devices, axis=0)
    per_condition = jax.vmap(
        lambda lp: init_learners(experiment.env, experiment.q_representation, lp)
    )
    learners0 = per_condition(experiment.params.learner)
    learners = jax.tree.map(
        lambda x: jnp.broadcast_to(x[:, None], (x.shape[0], layout.padded, *x.shape[1:])),
        learners0,
    )
    learners = on_seed_mesh(learners, layout.devices, axis=1)
    params = on_seed_mesh(experiment.params, layout.devices, axis=None)
    # Every chunk's metrics are copied once, into arrays allocated for the whole run,
    # while the next chunk runs.
    out, pending = None, None
    for i in range(n_chunks + 1):
        if i < n_chunks:
            learners, metrics = runner(params, learners, keys, jnp.asarray(i * chunk))
        if pending is not None:
            first = (i - 1) * chunk
            if out is None:
                out = jax.tree.map(
                    lambda x: np.empty(
                        (x.shape[0], len(seeds), experiment.n_episodes, *x.shape[3:]), x.dtype
                    ),
                    pending,
                )
            jax.tree.map(functools.partial(_copy_chunk, first_episode=first), out, pending)
            if progress is not None:
                progress(min(i * chunk, experiment.n_episodes), experiment.n_episodes)
        pending = metrics if i < n_chunks else None
    return out


def _copy_chunk(out: np.ndarray, chunk: jax.Array, first_episode: int) -> None:
    """out[:, :, first_episode: ...] = the chunk's real seeds and episodes, shard by shard
    (no gathered copy of the whole chunk)."""
    n_seeds, n_episodes = out.shape[1], out.shape[2]
    last = min(first_episode + chunk.shape[2], n_episodes)
    for shard in chunk.addressable_shards:
        seeds = shard.index[1]
        start, stop, _ = seeds.indices(chunk.shape[1])
        stop = min(stop, n_seeds)
        if start >= stop:
            continue  # a shard of padding seeds only
        data = np.asarray(shard.data)
        out[:, start:stop, first_episode:last] = data[:, : stop - start, : last - first_episode]


PHASE_NAMES = np.array(cg.PHASES)


def metrics_frame(
    experiment: Experiment, seeds: Sequence[int], metrics: EpisodeMetrics
) -> pd.DataFrame:
    """Tidy DataFrame: one row per condition, seed, episode and agent."""
    n_c, n_s, n_e, n_a = np.asarray(metrics.socialized_rate).shape
    c, s, e, a = np.meshgrid(
        np.arange(n_c), np.arange(n_s), np.arange(n_e), np.arange(n_a), indexing="ij"
    )
    frame = {
        "condition": np.asarray(experiment.labels)[c.ravel()],
        "seed": np.asarray(seeds)[s.ravel()],
        "episode": e.ravel(),
        "agent": a.ravel(),
    }
    care = experiment.params.caregiver
    ep = e.ravel()
    phase = jax.vmap(lambda p: cg.phase_index(p, jnp.arange(n_e)))(care)  # [C, E]
    frame["phase"] = PHASE_NAMES[np.asarray(phase)[c.ravel(), ep]]
    frame["presence_prob"] = np.asarray(
        jax.vmap(lambda p: jax.vmap(lambda ep: cg.presence_probability(p, ep))(jnp.arange(n_e)))(
            care
        )
    )[c.ravel(), ep]
    kinds = np.asarray(experiment.params.learner.kind)[c.ravel()]
    frame["learner"] = np.asarray(ln.LEARNER_KINDS)[kinds]
    frame["isr_mode"] = np.asarray(ln.ISR_MODES)[
        np.asarray(experiment.params.learner.isr_mode)[c.ravel()]
    ]
    for name in METRICS:
        frame[name] = np.asarray(getattr(metrics, name), dtype=float).ravel()
    frame["isr_reward"] = np.where(kinds == ln.NO_ISR, np.nan, frame["isr_reward"])
    # no_isr learners have no ISR to report (their unused belief is not shown)
    for k, feature in enumerate(experiment.env.feature_names):
        for stat in ("mean", "sd", "point"):
            values = np.asarray(getattr(metrics, f"theta_{stat}"), dtype=float)[..., k].ravel()
            frame[f"theta_{stat}_{feature}"] = np.where(kinds == ln.NO_ISR, np.nan, values)
    df = pd.DataFrame(frame)
    df["condition"] = pd.Categorical(df["condition"], categories=list(experiment.labels))
    df["phase"] = pd.Categorical(df["phase"], categories=list(cg.PHASES))
    return df


def simulate(
    config, seeds: int | Sequence[int] = 16, progress: Callable | None = None
) -> pd.DataFrame:
    """Run a config (dict or resolved Experiment) over ``seeds``.

    ``seeds`` is a count (seeds 0..n-1) or an explicit list.  Returns one row per
    condition, seed, episode and agent with the metrics in ``METRICS``, the phase,
    the presence probability and the ISR's posterior summary per feature.
    """
    experiment = config if isinstance(config, Experiment) else resolve(config)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    metrics = run_experiment(experiment, seed_list, progress)
    return metrics_frame(experiment, seed_list, metrics)


def trace_episodes(experiment: Experiment, condition: int, seed: int, n_episodes: int):
    """Play ``n_episodes`` of one condition and seed step by step, recording everything.

    Returns (trace, noise, metrics) as NumPy pytrees with a leading episode axis:
    what the NumPy reference replays to check parity.
    """
    env = experiment.env
    cond = jax.tree.map(lambda x: x[condition], experiment.params)
    uses = ln.learner_uses(cond.learner, cond.caregiver)
    play = make_episode_runner(env, experiment.q_representation, record=True, uses=uses)
    key = jax.random.key(seed)

    @jax.jit
    def run(learners):
        def body(learners, episode):
            noise = episode_noise(env, jax.random.fold_in(key, episode), env.n_features)
            learners, metrics, trace = play(cond, learners, episode, noise)
            return learners, (trace, noise, metrics)

        return jax.lax.scan(body, learners, jnp.arange(n_episodes))

    learners = init_learners(env, experiment.q_representation, cond.learner)
    _, (trace, noise, metrics) = run(learners)
    return jax.device_get(trace), jax.device_get(noise), jax.device_get(metrics)

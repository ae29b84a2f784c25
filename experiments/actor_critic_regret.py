"""Claims: the rare-switching optimistic actor-critic has O(sqrt(T)) regret, switches its critic
O(log T) times (under the count / determinant doubling bounds), and each of its three
ingredients matters (Tan, Fan & Wei 2025, "Actor-Critics Can Achieve Optimal Sample
Efficiency", ICML; spec demo_regularized_actor_critic_subpo Part B, §B.8 and §B.10 items 1-3).

The algorithm is the spec's RECONSTRUCTION (:mod:`mdptheory.algorithms.actor_critic`), not the
paper's code (which could not be read); the paper's experiments are unknown (§B.9), so these are
the spec's own verification experiments (§B.10).

Setting (all in the output columns):

* Tabular environments (``env``): a Garnet (S ``garnet_S``, A ``garnet_A``, ``garnet_branching``
  successors, H ``garnet_H``, drawn from ``instance_seed``); RiverSwim (S ``river_S``, H
  ``river_H``); a combination lock (S ``lock_S``, A ``lock_A``, H ``lock_H``, combination from
  ``instance_seed``), the exploration-hard instance on which a uniform policy opens the lock with
  probability about lock_A^-(lock_S - 1) per episode. Linear: a random d-rectangular linear MDP
  (``linear_*``; Dirichlet(``linear_feature_concentration``) features), T = ``K_linear``.
* Learners: :class:`ActorCritic` (per-step counts, ``pooled``) and :class:`LinearActorCritic`
  with the spec's defaults: eta = sqrt(8 K_hat log|A| / (T H^2)), count / determinant doubling,
  uniform resets, delta ``delta``. Two constants each: the theory value (``bonus_theory`` c_b =
  1, ``beta_theory`` c_beta = 1) and the spec's practical one (``bonus_practical``,
  ``beta_practical``), column ``c``.
* Ablations (spec §B.10 item 3) at the practical constant on ``ablation_envs``:
  ``no_reset`` (a), ``refit_every_no_reset`` (b), ``policy_target`` (c, critic targets Q^pi),
  ``no_optimism`` (d), ``greedy_actor`` (e, eta = inf, the value-based reference).
* Regret is exact (sum over all episodes of V*_0(rho0) - V^{pi_t}_0(rho0), by dynamic
  programming on the true model); rewards observed as their means.

Verdicts (at least 10 seeds to pass):

* ``AC`` per environment and constant: mean regret under the rate-only bound sqrt(d H^5 T
  log|A|) + sqrt(d H^4 T log|F|) (constant 1; paper constants unknown) and log-log slope over the
  last decade of T not significantly above 1/2 (CI lower end <= 0.5; an upper-rate claim: on a
  fixed instance regret may grow like log T).
* Switches: under H S A (1 + log2 T) (tabular per-step; S A (1 + log2(H T)) pooled) or
  H d log2(1 + T/d) (linear) at every checkpoint, and growing logarithmically (last-decade slope
  CI lower end <= 0.2; a log2 T curve has slope 1/ln T there).
* (a) and (c): regret at T larger than the default's (seed-bootstrap 95% CI of the ratio of
  means above 1) — the spec's expectation (§B.10: "(c) degrade", "(a) long recovery periods").
* (d) on the combination lock: regret larger than the default's (ratio CI above 1) and linear
  in T (slope CI contains 1, tolerance 0.05). Elsewhere (d) has no stated expectation and is
  only plotted.
* (b) and (e): O(sqrt(T)) as for the default (upper-rate claim).

Reading the result (paper size, 10 seeds, ~40 min serial on 2 loaded cores): the theory
constants keep the critic at its clip (optimistic everywhere) for thousands of visits per pair,
so on RiverSwim, the lock and the linear MDP the theory-constant runs are still in their
exploration phase at T = 10^5 (2 10^4 linear) and their regret is nearly linear there (slopes
0.94, 1.00, 1.00; Garnet 0.57): reported as failing, like UCBVI-CH in ``ucbvi_regret``. With
the practical constants every slope is <= 1/2 (0.19 Garnet, 0.48 RiverSwim, 0.22 lock, 0.48
linear). Switches: 100-360 against bounds of 2 10^3-9 10^3 (tabular) and 57 against 299
(linear). Ablations: removing the resets costs 3.7x on the lock (long recoveries after
switches) but *helps* on the Garnet (x0.62) and the linear MDP (x0.72); the Q^pi-targeting
critic is indistinguishable from the Q* one (ratios 0.99-1.00): with rare switching the
critic is refit when the played softmax policy is already nearly greedy for the previous
critic, and clipped optimistic values coincide under max and average; dropping optimism costs
3.3x on the lock but its regret is not linear at T = 10^5 (slope 0.76): uniform exploration
opens this lock with probability ~3^-10 per episode, i.e. within 10^5 episodes in some seeds.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mdptheory import analysis, envs, runner
from mdptheory.algorithms.actor_critic import ActorCritic, LinearActorCritic
from mdptheory.analysis import Verdict
from mdptheory.bounds import actor_critic as bac

NAME = "actor_critic_regret"
PAPER = "Tan, Fan & Wei (2025), Actor-Critics Can Achieve Optimal Sample Efficiency (ICML)"
TABULAR_ENVS = ("garnet", "river_swim", "lock")
LINEAR_ENVS = ("linear",)
ABLATIONS = {
    "no_reset": {"reset": False},                                    # (a)
    "refit_every_no_reset": {"switching": "every", "reset": False},  # (b)
    "policy_target": {"target": "policy"},                           # (c)
    "no_optimism": {"optimistic": False},                            # (d)
    "greedy_actor": {"eta": math.inf},                               # (e)
}
HARD_ENVS = ("lock",)

CONFIG = {
    "K": 100_000, "K_linear": 20_000, "seeds": 10, "delta": 0.1, "instance_seed": 0, "checkpoints": 40,
    "garnet_S": 10, "garnet_A": 3, "garnet_branching": 3, "garnet_H": 5,
    "river_S": 6, "river_H": 10,
    "lock_S": 12, "lock_A": 3, "lock_H": 14,
    "linear_S": 20, "linear_A": 4, "linear_d": 5, "linear_H": 5, "linear_feature_concentration": 0.3,
    "bonus_theory": 1.0, "bonus_practical": 0.1, "beta_theory": 1.0, "beta_practical": 0.1,
    "pooled": False, "ablation_envs": "garnet,lock,linear",
}
SMALL = dict(CONFIG, K=1_000, K_linear=300, seeds=2, checkpoints=20, lock_S=6, lock_H=8,
             linear_S=10)


def make_env(name: str, config: dict):
    """The environment ``name`` (random ones drawn from ``instance_seed``)."""
    seed = int(config["instance_seed"])
    if name == "garnet":
        return envs.garnet(config["garnet_S"], config["garnet_A"], config["garnet_branching"],
                           H=config["garnet_H"], rng=seed)
    if name == "river_swim":
        return envs.river_swim(config["river_S"], H=config["river_H"])
    if name == "lock":
        return envs.combination_lock(config["lock_S"], config["lock_H"], A=config["lock_A"],
                                     rng=seed)
    if name == "linear":
        return envs.random_linear_mdp(config["linear_S"], config["linear_A"], config["linear_d"],
                                      config["linear_H"], rng=seed,
                                      feature_concentration=config["linear_feature_concentration"])
    raise ValueError(f"unknown environment {name!r}; expected one of "
                     f"{TABULAR_ENVS + LINEAR_ENVS}")


def _jobs(config: dict) -> list[tuple]:
    """(env, variant, c) in a fixed order: defaults at both constants, then ablations."""
    abl_envs = [e for e in str(config["ablation_envs"]).split(",") if e]
    jobs = []
    for env in TABULAR_ENVS + LINEAR_ENVS:
        lin = env in LINEAR_ENVS
        for c in ((config["beta_theory"], config["beta_practical"]) if lin
                  else (config["bonus_theory"], config["bonus_practical"])):
            jobs.append((env, "AC", float(c)))
        if env in abl_envs:
            c = config["beta_practical"] if lin else config["bonus_practical"]
            jobs += [(env, v, float(c)) for v in ABLATIONS]
    return jobs


def run(config: dict, seed: int) -> pd.DataFrame:
    """One seed: every (environment, variant, constant), one row per log-spaced checkpoint."""
    params = {k: v for k, v in config.items() if k != "seeds"}
    jobs = _jobs(config)
    streams = np.random.SeedSequence(seed).spawn(len(jobs))
    frames = []
    mdps = {}
    for (env, variant, c), stream in zip(jobs, streams):
        if env not in mdps:
            mdps[env] = make_env(env, config)
        mdp = mdps[env]
        lin = env in LINEAR_ENVS
        K = int(config["K_linear"] if lin else config["K"])
        kw = dict(ABLATIONS.get(variant, {}))
        if lin:
            learner = LinearActorCritic(mdp, K, delta=config["delta"], beta_scale=c, **kw)
            d = mdp.d
            log_F = bac.log_covering_linear(d, mdp.H, K)
        else:
            learner = ActorCritic(mdp.S, mdp.A, mdp.H, K, delta=config["delta"], bonus_scale=c,
                                  pooled=config["pooled"], **kw)
            d = mdp.S * mdp.A
            log_F = bac.log_covering_tabular(mdp.S, mdp.A, mdp.H, K)
        df = runner.online(learner, mdp, K, rng=np.random.default_rng(stream),
                           checkpoints=analysis.log_spaced(K, int(config["checkpoints"])))
        k = df["k"].to_numpy()
        df["bound"] = bac.actor_critic_regret(d, mdp.H, mdp.A, log_F, k)
        df["trivial_bound"] = k * df["optimal_value"]
        df["switch_bound"] = (bac.switches_linear(d, mdp.H, k) if lin else
                              bac.switches_tabular(mdp.S, mdp.A, mdp.H, k,
                                                   pooled=config["pooled"]))
        label = f"{variant} ({'c_beta' if lin else 'c_b'}={c:g})"
        frames.append(df.assign(experiment=NAME, env=env, kind="linear" if lin else "tabular",
                                variant=variant, c=c, algorithm=label, seed=seed, S=mdp.S,
                                A=mdp.A, H=mdp.H, d=d, eta_used=learner.eta, **params))
    return pd.concat(frames, ignore_index=True)


def _final(df: pd.DataFrame) -> pd.Series:
    """Regret at the largest k, per seed."""
    last = df[df["k"] == df["k"].max()]
    return last.set_index("seed")["regret"]


def _ratio_verdict(abl: pd.DataFrame, base: pd.DataFrame, env: str, variant: str, claim: str,
                   theorem: str, min_seeds: int = 10, n_boot: int = 2000) -> Verdict:
    """Ratio of seed-mean final regrets (ablation / default) with a seed-bootstrap CI; passes
    when the CI's lower end exceeds 1 (paired over seeds)."""
    a, b = _final(abl), _final(base)
    common = a.index.intersection(b.index)
    a, b = a.loc[common].to_numpy(), b.loc[common].to_numpy()
    ratio = float(a.mean() / b.mean())
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(a), size=(n_boot, len(a)))
    boots = a[idx].mean(1) / b[idx].mean(1)
    lo, hi = np.quantile(boots, [0.025, 0.975])
    ok = bool(lo > 1.0) and len(a) >= min_seeds
    note = (f"regret(T) {variant} / default = {ratio:.3g}, 95% CI [{lo:.3g}, {hi:.3g}] over "
            f"{len(a)} seeds (T = {int(abl['k'].max())})")
    if len(a) < min_seeds:
        note += f". FAILED: only {len(a)} seeds (< {min_seeds} required)"
    elif not ok:
        note += ". FAILED: ratio not significantly above 1"
    return Verdict(paper=PAPER, theorem=theorem, claim=claim, passed=ok, measured=ratio,
                   note=note)


def verdict(results: pd.DataFrame) -> list[Verdict]:
    out = []
    for (env, c), df in results[results["variant"] == "AC"].groupby(["env", "c"], sort=True):
        lin = df["kind"].iloc[0] == "linear"
        name = "c_beta" if lin else "c_b"
        last = df[df["k"] == df["k"].max()]
        ratio = float(last["bound"].mean() / last["trivial_bound"].mean())
        note = (f"{name}={c:g}; rate-only bound (constant 1) = {ratio:.3g} x the trivial "
                f"bound T V*" + (" (vacuous)" if ratio > 1 else ""))
        out.append(analysis.verdict(
            df, x="k", y="regret", bound="bound", claimed_exponent=0.5, exponent_is_upper=True,
            paper=PAPER, theorem="regret corollary: sqrt(T) (§B.8)",
            claim=f"actor-critic regret on {env} ({name}={c:g}) is O(sqrt(T))", note=note))
        rule = "determinant doubling" if lin else "count doubling"
        out.append(analysis.verdict(
            df, x="k", y="switches", bound="switch_bound", claimed_exponent=0.0,
            exponent_is_upper=True, tol=0.2, paper=PAPER,
            theorem=f"rare switching ({rule}, §B.4-B.5)",
            claim=f"critic switches on {env} ({name}={c:g}) stay under the {rule} bound and "
                  f"grow like log T",
            note=f"{int(last['switches'].mean())} switches at T (mean), bound "
                 f"{float(last['switch_bound'].mean()):.4g}; slope tolerance 0.2"))
    abl = results[results["variant"] != "AC"]
    for (env, variant), df in abl.groupby(["env", "variant"], sort=True):
        c = df["c"].iloc[0]
        base = results[(results["env"] == env) & (results["variant"] == "AC")
                       & (results["c"] == c)]
        th = "ablation (§B.10 item 3)"
        if variant in ("no_reset", "policy_target"):
            what = ("removing the resets" if variant == "no_reset"
                    else "targeting Q^pi instead of Q*")
            out.append(_ratio_verdict(df, base, env, variant, theorem=th,
                                      claim=f"{what} increases the regret on {env}"))
        elif variant == "no_optimism" and env in HARD_ENVS:
            out.append(_ratio_verdict(df, base, env, variant, theorem=th,
                                      claim=f"dropping optimism increases the regret on {env} "
                                            f"(exploration-hard)"))
            out.append(analysis.verdict(
                df, x="k", y="regret", claimed_exponent=1.0, tol=0.05, paper=PAPER, theorem=th,
                claim=f"without optimism the regret on {env} (exploration-hard) is linear in T"))
        elif variant in ("refit_every_no_reset", "greedy_actor"):
            out.append(analysis.verdict(
                df, x="k", y="regret", claimed_exponent=0.5, exponent_is_upper=True,
                paper=PAPER, theorem=th,
                claim=f"{variant} on {env} also has O(sqrt(T)) regret"))
    return out


def plot(results: pd.DataFrame, path) -> list:
    """Top row: regret vs T (log-log) per environment, every variant with its seed-bootstrap
    band, the rate-only bound of the default (dashed) and the trivial bound T V* (grey).
    Bottom row: switches vs T for the default at both constants, with the doubling bound."""
    import matplotlib.pyplot as plt

    env_list = [e for e in TABULAR_ENVS + LINEAR_ENVS if e in set(results["env"])]
    fig, axes = plt.subplots(2, len(env_list), figsize=(5.0 * len(env_list), 8.4),
                             squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, env in enumerate(env_list):
        sub = results[results["env"] == env]
        ax, ax2 = axes[0, j], axes[1, j]
        for i, label in enumerate(sorted(sub["algorithm"].unique())):
            df = sub[sub["algorithm"] == label]
            band = analysis.mean_band(df, "k", "regret", n_boot=300)
            col = colors[i % len(colors)]
            ax.plot(band["k"], band["mean"], color=col, lw=1.5, label=label)
            ax.fill_between(band["k"], band["lo"], band["hi"], color=col, alpha=0.2, lw=0)
            if df["variant"].iloc[0] == "AC":
                sw = analysis.mean_band(df, "k", "switches", n_boot=300)
                ax2.plot(sw["k"], sw["mean"], color=col, lw=1.5, label=f"{label} switches")
                ax2.fill_between(sw["k"], sw["lo"], sw["hi"], color=col, alpha=0.2, lw=0)
                b = df.groupby("k")["switch_bound"].mean()
                ax2.plot(b.index, b.to_numpy(), color=col, ls="--", lw=1.0,
                         label=f"bound ({label})")
        dflt = sub[sub["variant"] == "AC"]
        b = dflt.groupby("k")["bound"].mean()
        ax.plot(b.index, b.to_numpy(), color="k", ls="--", lw=1.0,
                label="rate-only bound (const. 1)")
        t = sub.groupby("k")["trivial_bound"].mean()
        ax.plot(t.index, t.to_numpy(), color="0.5", lw=1.0, ls=":", label="trivial bound T V*")
        for a_ in (ax, ax2):
            a_.set_xscale("log")
            a_.set_yscale("log")
            a_.grid(True, which="both", alpha=0.3)
            a_.set_xlabel("episodes T")
        ax.set_ylabel("cumulative regret (exact)")
        ax2.set_ylabel("critic switches")
        ax.set_title(f"{env}", fontsize=10)
        ax.legend(fontsize=6, loc="upper left")
        ax2.legend(fontsize=6, loc="lower right")
    fig.suptitle("Rare-switching actor-critic: regret O(sqrt T), switches O(log T) "
                 "(Tan, Fan & Wei 2025; spec §B.10)", fontsize=11)
    fig.tight_layout()
    return analysis.save_figure(fig, path, NAME)

"""Claim: the regret of Q-learning with UCB-Hoeffding grows at most like sqrt(K) (Theorem 1,
O(sqrt(H^4 S A T iota))) and so does that of UCB-Bernstein (Theorem 2,
O(sqrt(H^3 S A T iota) + sqrt(H^9 S^3 A^3) iota^2)), T = K H (Jin, Allen-Zhu, Bubeck & Jordan
2018), on RiverSwim and on a random Garnet.

Setting and choices (all visible in the output columns):

* Environments: RiverSwim (S = ``river_S``, A = 2, H = ``river_H``) and one Garnet (S =
  ``garnet_S``, A = ``garnet_A``, ``garnet_branching`` successors, H = ``garnet_H``) drawn once
  from ``instance_seed``: the instances of ``ucbvi_regret``, so the two papers' learners can be
  compared on the same numbers.
* Learner: :class:`mdptheory.algorithms.qlearning.QLearningUCB`, the paper's algorithms with
  per-step Q and counts. The paper's bonus constants c, c1, c2 are unspecified absolute
  constants; ``c``, ``c1``, ``c2`` default to our derivation from the proofs (2, 4, 4; see the
  module). The O(sqrt(H^3 S A T)) rates are recalled from the paper, not re-read, so the rate
  claims' provenance is "paper-recalled".
* Rewards: the learner observes mean rewards (``bernoulli_rewards=False``).
* Regret is exact: sum over every episode k of V*_0(rho0) - V^{pi_k}_0(rho0), by dynamic
  programming on the true model (:func:`mdptheory.runner.online`, compiled loop).
* Verdict per (environment, variant): the bounds are rate-only (no constants in the paper), so
  only the O(sqrt(K)) rate is tested, inside the regime where the bound's sqrt(T) term is
  >= 10x its K-free term and after the burn-in (docs/verdicts.md).

Reading the result: with the proof's constants the Hoeffding bonus c sqrt(H^3 iota / t) exceeds
H until a triple (h, x, a) has been visited ~c^2 H iota times; until then the greedy policy
keeps the first action tried at each state (its Q sits above the untried ones' H), so the
regret is linear for a long burn-in that the verdict reports as such.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mdptheory import analysis, bounds, envs, runner
from mdptheory.algorithms.qlearning import QLearningUCB

NAME = "qlearning_regret"
PAPER = "Jin, Allen-Zhu, Bubeck & Jordan (2018), Is Q-learning provably efficient?"
THEOREMS = {"hoeffding": "Theorem 1 (UCB-Hoeffding)", "bernstein": "Theorem 2 (UCB-Bernstein)"}
BOUND_NAMES = {"hoeffding": "qlearning_hoeffding_regret",
               "bernstein": "qlearning_bernstein_regret"}
ENVS = ("river_swim", "garnet")
BONUSES = ("hoeffding", "bernstein")

CONFIG = dict(K=10_000_000, seeds=10, p=0.1, c=2.0, c1=4.0, c2=4.0, river_S=6, river_H=20,
              garnet_S=10, garnet_A=3, garnet_branching=3, garnet_H=10, instance_seed=0,
              checkpoints=60)
SMALL = dict(CONFIG, K=2_000, seeds=2, checkpoints=30)


def make_env(name: str, config: dict):
    """The environment ``name`` of this experiment (the Garnet drawn from instance_seed)."""
    if name == "river_swim":
        return envs.river_swim(config["river_S"], H=config["river_H"])
    if name == "garnet":
        return envs.garnet(config["garnet_S"], config["garnet_A"], config["garnet_branching"],
                           H=config["garnet_H"], rng=config["instance_seed"])
    raise ValueError(f"unknown environment {name!r}; expected one of {ENVS}")


def run(config: dict, seed: int) -> pd.DataFrame:
    """One seed: every (environment, bonus) pair, one row per log-spaced checkpoint k."""
    K = int(config["K"])
    checkpoints = analysis.log_spaced(K, int(config["checkpoints"]))
    params = {k: v for k, v in config.items() if k != "seeds"}
    streams = np.random.SeedSequence(seed).spawn(len(ENVS) * len(BONUSES))
    frames = []
    for i, env_name in enumerate(ENVS):
        mdp = make_env(env_name, config)
        for j, bonus in enumerate(BONUSES):
            algo = QLearningUCB(mdp.S, mdp.A, mdp.H, K, p=config["p"], bonus=bonus,
                                c=config["c"], c1=config["c1"], c2=config["c2"])
            df = runner.online(algo, mdp, K,
                               rng=np.random.default_rng(streams[i * len(BONUSES) + j]),
                               checkpoints=checkpoints, bernoulli_rewards=False)
            df["bound"] = bounds.qlearning_regret(mdp.S, mdp.A, mdp.H, df["k"].to_numpy(),
                                                  config["p"], bonus=bonus, K_total=K)
            df["trivial_bound"] = df["k"] * df["optimal_value"]   # regret <= k V*, always
            frames.append(df.assign(experiment=NAME, env=env_name, algorithm=algo.name,
                                    bonus=bonus, seed=seed, S=mdp.S, A=mdp.A, H=mdp.H,
                                    **params))
    return pd.concat(frames, ignore_index=True)


def verdict(results: pd.DataFrame) -> list[analysis.Verdict]:
    """One verdict per (environment, algorithm): regret O(sqrt(K)), tested only where the
    bound's sqrt(T) part is >= 10x its K-free part (the bounds are rate-only, so their level
    is not tested). The bound's parts are recomputed from the stored configuration."""
    out = []
    for (env_name, algo_name), df in results.groupby(["env", "algorithm"], sort=True):
        bonus = df["bonus"].iloc[0]
        spec = bounds.get(BOUND_NAMES[bonus])
        S, A, H = (int(df[c].iloc[0]) for c in ("S", "A", "H"))
        p, K_total = float(df["p"].iloc[0]), int(df["K"].iloc[0])
        v_star = float(df["optimal_value"].iloc[0])
        df = df.assign(bound_leading=spec.split(S, A, H, df["k"].to_numpy(float), p,
                                                K_total=K_total)["leading"])

        def parts(K, S=S, A=A, H=H, p=p, spec=spec, v_star=v_star):
            out = spec.split(S, A, H, K, p, K_total=K)
            return {**out, "trivial": np.asarray(K, dtype=float) * v_star}

        consts = (f"c = {df['c'].iloc[0]:g}" if bonus == "hoeffding"
                  else f"c1 = {df['c1'].iloc[0]:g}, c2 = {df['c2'].iloc[0]:g}")
        out.append(analysis.verdict(
            df, x="k", y="regret", bound="bound", bound_leading="bound_leading",
            trivial_bound="trivial_bound", claimed_exponent=0.5, exponent_is_upper=True,
            bound_spec=spec, delta=p, bound_parts=parts, cumulative=True,
            switches="policy_switches", provenance="paper-recalled", paper=PAPER,
            theorem=THEOREMS[bonus],
            claim=f"{algo_name} regret on {env_name} is O(sqrt(K))",
            note=(f"K = {K_total}, p = {p:g}, {consts} (the paper's constants are unspecified "
                  f"absolute constants; ours are derived from its proofs); algorithm recalled "
                  f"from the paper")))
    return out


def plot(results: pd.DataFrame, path) -> list:
    """Regret vs K on log-log axes, one panel per environment, one colour per variant, with
    the rate-only bound (dashed), the trivial bound K V* (grey) and the last-decade slope fit.
    ``path``: a directory (writes qlearning_regret.png/.pdf in it) or a file stem."""
    return analysis.plot_curve_vs_bound(
        results, x="k", y="regret", bound="bound", panel="env", hue="algorithm", path=path,
        name=NAME, xlabel="episodes K", ylabel="cumulative regret (exact)",
        title="Q-learning-UCB regret is O(sqrt(K)) (Jin et al. 2018, Thm 1-2; rate-only bounds)",
        references={"trivial_bound": "trivial bound K V*"})

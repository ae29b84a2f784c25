"""Claim: StepMix and EpsMix satisfy the episode-wise conservative constraint
V^{pi_k}_0(rho0) >= (1 - alpha) V^b in *every* episode, in at least (1 - delta) of the runs
(Li, Huang, Shen & Yang 2023, abstract; spec iwocs_stepmix_mdpo.md §3.5, §3.9, §3.11 item 1).

Setting and choices (all visible in the output columns):

* Instances (spec §3.10, :mod:`mdptheory.envs.conservative`): an episodic Garnet
  (S, A, H, branching) with independent P_h, r_h drawn once from ``instance_seed`` and a start
  state s_1 = 0, with the baseline lam pi* + (1 - lam) pi^unif tuned to V^b / V* = 0.7
  ("garnet_0.7") or 0.9 ("garnet_0.9"); RiverSwim (S = ``river_S``, H = ``river_H``) with the
  baseline "always swim left" ("river_swim"), which never reaches the rewarding end.
* Learners (:mod:`mdptheory.algorithms.stepmix`, reconstruction of spec §3): StepMix with the
  per-step mixture, StepMix with the switch-step mixture ("StepMix-switch"), EpsMix, and UCBVI
  with the same bonus and no constraint (for contrast); delta = ``delta`` for the confidence
  sets; bonuses ``bonuses``: "l1" (B1, the one the safety argument covers) and "hoeffding" (B2,
  practical, *not* covered: a violation there is a finding about B2, not about the claim).
* For every episode of every run the exact value of the executed policy is computed on the true
  model (:class:`~mdptheory.algorithms.stepmix.ExactValueMonitor`): V^{pi_k}_0(rho0) for the
  Markov mixtures, eps_k V^{pi_bar_k} + (1 - eps_k) V^b (the conditional expectation) for EpsMix.
  A violation is an episode with that value < (1 - alpha) V^b - 1e-10. ``violations`` and
  ``min_margin`` are cumulative over *every* episode; rows are stored at log-spaced checkpoints.
  ``realized_violations`` counts episodes whose *played* policy is below the line (EpsMix's
  draws of pi_bar may be; the constraint is on the conditional expectation).
* Randomness: the instance comes from ``instance_seed`` only; each run's episodes and EpsMix's
  coin come from (seed, instance, bonus, algorithm, alpha) (spec §5.3).
* Verdict per (instance, bonus, alpha, conservative learner): the fraction of seeds with at
  least one violating episode is <= delta, over >= 10 seeds. The note gives UCBVI's violation
  count on the same instance (the constraint binds when UCBVI violates it).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mdptheory import analysis
from mdptheory.algorithms.stepmix import EpsMix, ExactValueMonitor, SameBonusUCBVI, StepMix
from mdptheory.bounds.stepmix import violation_probability
from mdptheory.envs.conservative import garnet_instance, river_swim_instance
from mdptheory.runner import online

NAME = "stepmix_safety"
PAPER = ("Li, Huang, Shen & Yang (2023), Near-optimal Conservative Exploration in RL under "
         "Episode-wise Constraints")
THEOREM = "conservative constraint w.p. >= 1 - delta (abstract; spec §3.5, reconstruction)"
ALGORITHMS = ("StepMix", "StepMix-switch", "EpsMix", "UCBVI")
CONSERVATIVE = ALGORITHMS[:3]
TOL = 1e-10

CONFIG = {"K": 20_000, "seeds": 20, "delta": 0.05, "alphas": (0.05, 0.1, 0.2), "bonuses": ("l1", "hoeffding"),
              "instances": ("garnet_0.7", "garnet_0.9", "river_swim"), "garnet_S": 5, "garnet_A": 3,
              "garnet_H": 5, "garnet_branching": 3, "river_S": 6, "river_H": 20, "instance_seed": 0,
              "checkpoints": 40}
SMALL = dict(CONFIG, K=300, seeds=2, alphas=(0.2,), bonuses=("l1",),
             instances=("garnet_0.9", "river_swim"), checkpoints=15)


def make_instance(name: str, config: dict):
    """The :class:`~mdptheory.envs.conservative.ConservativeInstance` called ``name``."""
    if name == "river_swim":
        return river_swim_instance(config["river_S"], config["river_H"])
    if name.startswith("garnet_"):
        return garnet_instance(config["garnet_S"], config["garnet_A"], config["garnet_H"],
                               config["garnet_branching"], ratio=float(name.split("_", 1)[1]),
                               rng=config["instance_seed"])
    raise ValueError(f"unknown instance {name!r}; expected 'river_swim' or 'garnet_<ratio>'")


def _learner(algorithm: str, inst, K: int, alpha: float, bonus: str, delta: float, rng):
    mdp = inst.mdp
    args = (mdp.S, mdp.A, mdp.H, K)
    if algorithm == "UCBVI":
        return SameBonusUCBVI(*args, rho0=mdp.rho0, delta=delta, bonus=bonus)
    if algorithm == "EpsMix":
        return EpsMix(*args, inst.pi_b, inst.V_b, alpha, rho0=mdp.rho0, delta=delta,
                      bonus=bonus, rng=rng)
    mixture = "switch_step" if algorithm == "StepMix-switch" else "per_step"
    return StepMix(*args, inst.pi_b, inst.V_b, alpha, rho0=mdp.rho0, delta=delta, bonus=bonus,
                   mixture=mixture)


def _rows(values: np.ndarray, df: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Per-checkpoint cumulative counts from the exact value of every episode."""
    k = df["k"].to_numpy()
    viol = np.cumsum(values < threshold - TOL)
    margin = np.minimum.accumulate(values - threshold)
    out = df.copy()
    out["exact_value"] = values[k - 1]
    out["violations"] = viol[k - 1]
    out["min_margin"] = margin[k - 1]
    return out


def run(config: dict, seed: int) -> pd.DataFrame:
    """One seed: every instance x bonus x alpha x learner; one row per checkpoint k."""
    K = int(config["K"])
    delta = float(config["delta"])
    checkpoints = analysis.log_spaced(K, int(config["checkpoints"]))
    params = {k: v for k, v in config.items()
              if k not in ("seeds", "alphas", "bonuses", "instances")}
    frames = []
    for i, name in enumerate(config["instances"]):
        inst = make_instance(name, config)
        mdp = inst.mdp
        for j, bonus in enumerate(config["bonuses"]):
            for a_idx, algorithm in enumerate(ALGORITHMS):
                alphas = config["alphas"]
                # UCBVI does not depend on alpha: run it once and count against every line
                for l_idx, alpha in enumerate(alphas[:1] if algorithm == "UCBVI" else alphas):
                    ss = np.random.SeedSequence([seed, i, j, a_idx, l_idx])
                    run_rng, coin_rng = (np.random.default_rng(s) for s in ss.spawn(2))
                    theta = (1.0 - alpha) * inst.V_b
                    mon = ExactValueMonitor(_learner(algorithm, inst, K, alpha, bonus, delta,
                                                     coin_rng), mdp, threshold=theta, tol=TOL)
                    df = online(mon, mdp, K, rng=run_rng, checkpoints=checkpoints)
                    values = np.asarray(mon.values)
                    targets = alphas if algorithm == "UCBVI" else (alpha,)
                    for a in targets:
                        th = (1.0 - a) * inst.V_b
                        rows = _rows(values, df, th)
                        if algorithm == "UCBVI":
                            rows["realized_violations"] = rows["violations"]
                        frames.append(rows.assign(
                            experiment=NAME, instance=name, bonus=bonus, algorithm=algorithm,
                            alpha=a, threshold=th, seed=seed, V_b=inst.V_b, V_star=inst.V_star,
                            kappa=inst.kappa, S=mdp.S, A=mdp.A, H=mdp.H, **params))
    out = pd.concat(frames, ignore_index=True)
    return out.drop(columns=[c for c in ("exact_regret",) if c in out.columns])


def _final(results: pd.DataFrame) -> pd.DataFrame:
    """The last checkpoint of every run."""
    keys = ["instance", "bonus", "alpha", "algorithm", "seed"]
    idx = results.groupby(keys)["k"].idxmax()
    return results.loc[idx].reset_index(drop=True)


def verdict(results: pd.DataFrame) -> list[analysis.Verdict]:
    """One Verdict per (instance, bonus, alpha, conservative learner)."""
    fin = _final(results)
    out = []
    for (inst, bonus, alpha), grp in fin.groupby(["instance", "bonus", "alpha"], sort=True):
        ucb = grp[grp["algorithm"] == "UCBVI"]
        ucb_note = (f"UCBVI (same bonus, unconstrained): {int((ucb['violations'] > 0).sum())}/"
                    f"{len(ucb)} seeds violate, mean {ucb['violations'].mean():.1f} violating "
                    f"episodes of {int(grp['k'].max())}" if len(ucb) else "UCBVI not run")
        for algo in CONSERVATIVE:
            g = grp[grp["algorithm"] == algo]
            if g.empty:
                continue
            delta = float(g["delta"].iloc[0])
            n = g["seed"].nunique()
            frac = float((g["violations"] > 0).mean())
            ok = frac <= violation_probability(delta) and n >= 10
            note = (f"{int((g['violations'] > 0).sum())}/{n} seeds with a violating episode "
                    f"(total {int(g['violations'].sum())} episodes); min margin over all episodes "
                    f"{g['min_margin'].min():.3g}; {ucb_note}")
            if algo == "EpsMix":
                note += (f"; played-policy episodes below the line (allowed): mean "
                         f"{g['realized_violations'].mean():.1f}")
            if "conservative_episodes" in g:
                note += (f"; conservative episodes: mean {g['conservative_episodes'].mean():.0f}")
            if bonus != "l1":
                note += "; B2 bonus: not covered by the safety argument (practical variant)"
            if n < 10:
                note += f". FAILED: only {n} seeds (< 10 required)"
            out.append(analysis.Verdict(
                paper=PAPER, theorem=THEOREM, passed=bool(ok), measured=frac, bound=delta,
                claim=(f"{algo} ({bonus}) on {inst}, alpha={alpha}: every episode has "
                       f"V^pi_k >= (1 - alpha) V^b in >= 1 - delta of the runs"),
                note=note))
    return out


def plot(results: pd.DataFrame, path) -> list:
    """Left: exact value of the executed policy per episode (seed mean, 95% band) against the
    line (1 - alpha) V^b, one panel row per instance (first bonus, middle alpha). Right: fraction
    of seeds with a violating episode per learner and alpha, with delta."""
    import matplotlib.pyplot as plt

    insts = sorted(results["instance"].unique(), key=str)
    bonus = results["bonus"].iloc[0]
    alphas = sorted(results["alpha"].unique())
    a_mid = alphas[len(alphas) // 2]
    fig, axes = plt.subplots(len(insts), 2, figsize=(11, 3.6 * len(insts)), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fin = _final(results)
    for row, inst in zip(axes, insts):
        sub = results[(results["instance"] == inst) & (results["bonus"] == bonus)
                      & (results["alpha"] == a_mid)]
        ax = row[0]
        for c, algo in zip(colors, ALGORITHMS):
            d = sub[sub["algorithm"] == algo]
            if d.empty:
                continue
            band = analysis.mean_band(d, "k", "exact_value")
            ax.plot(band["k"], band["mean"], color=c, lw=1.6, label=algo)
            ax.fill_between(band["k"], band["lo"], band["hi"], color=c, alpha=0.2, lw=0)
        if not sub.empty:
            ax.axhline(sub["threshold"].iloc[0], color="k", ls="--", lw=1.2,
                       label=f"(1 - alpha) V^b, alpha={a_mid}")
            ax.axhline(sub["V_star"].iloc[0], color="0.5", ls=":", lw=1.0, label="V*")
        ax.set_xscale("log")
        ax.set_xlabel("episode k")
        ax.set_ylabel("exact value of the executed policy")
        ax.set_title(f"{inst} ({bonus} bonus)", fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
        ax = row[1]
        f = fin[fin["instance"] == inst]
        width = 0.8 / max(len(alphas), 1)
        for i, a in enumerate(alphas):
            vals = [float((f[(f["algorithm"] == algo) & (f["alpha"] == a)
                            & (f["bonus"] == bonus)]["violations"] > 0).mean())
                    if len(f[(f["algorithm"] == algo) & (f["alpha"] == a)]) else np.nan
                    for algo in ALGORITHMS]
            xs = np.arange(len(ALGORITHMS)) + i * width
            ax.bar(xs, vals, width=width, label=f"alpha={a}")
            for x, v in zip(xs, vals):
                if np.isfinite(v):
                    ax.text(x, v + 0.02, f"{v:.2f}", ha="center", fontsize=6)
        ax.axhline(float(results["delta"].iloc[0]), color="k", ls="--", lw=1.2, label="delta")
        ax.set_xticks(np.arange(len(ALGORITHMS)) + 0.4 - width / 2)
        ax.set_xticklabels(ALGORITHMS, fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("fraction of seeds with a violation")
        ax.set_title(f"{inst}: runs with >= 1 episode below the line", fontsize=10)
        ax.legend(fontsize=7)
    fig.suptitle("StepMix / EpsMix: V^pi_k >= (1 - alpha) V^b in every episode w.p. >= 1 - delta "
                 "(Li et al. 2023; reconstruction)", fontsize=11)
    fig.tight_layout()
    return analysis.save_figure(fig, path, NAME)

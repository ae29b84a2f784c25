"""Claim: StepMix and EpsMix satisfy the episode-wise conservative constraint
V^{pi_k}_0(rho0) >= (1 - alpha) V^b in *every* episode, in at least (1 - delta) of the runs
(Li, Huang, Shen & Yang 2023, abstract; the algorithms are our reconstruction, see
docs/papers/stepmix.md).

Setting and choices (all visible in the output columns):

* Candidate configurations (declared here, before any learner ran on them): the episodic Garnet
  (S, A, H, branching) = (``garnet_S``, ``garnet_A``, ``garnet_H``, ``garnet_branching``) drawn
  from ``instance_seed``, with start state s_1 = 0 and the baselines lam pi* + (1 - lam)
  pi^unif at V^b / V* in ``candidate_ratios`` (:mod:`mdptheory.envs.conservative`); RiverSwim
  (S = ``river_S``, H = ``river_H``) with the baseline "always swim left" (``candidate_river``);
  each at every alpha in ``candidate_alphas``.
* **Pre-registered selection.** A safety claim is only informative where the learner leaves the
  baseline. Before any learner runs, each candidate is scored by a property of the instance, the
  baseline and alpha alone: the predicted certification time
  n_cert = (sum_h c_h sum_{s,a} sqrt(d*_h(s, a)))^2 / (kappa + alpha V^b)^2
  (:func:`mdptheory.bounds.stepmix.certification_episodes`; d* is the optimal policy's
  occupancy, c_h the B1 bonus coefficient, kappa = V* - V^b): the number of episodes of pi*
  after which its pessimistic value would clear (1 - alpha) V^b. A candidate is kept when
  n_cert <= ``cert_fraction`` K (K / 20 at paper size: twice as early as the runtime check
  below starts, to leave room for the exploration that n_cert ignores) and the baseline is
  clearly sub-optimal, kappa >= ``min_gap`` V*. The selection is deterministic
  (:func:`select_configurations`) and the rejected candidates, with their n_cert, are reported
  in the verdict's selection entry and in the ``selection`` column.
* **Runtime check.** Even a kept configuration is informative only if the learner actually
  leaves the baseline: the claim is inconclusive (with the reason) unless the seed mean of the
  share of conservative episodes (StepMix: mixing coefficient u_k < 1; EpsMix: eps_k < 1) over
  the episodes after the first tenth of K is below 0.5 (``late_conservative_share``).
* Learners (:mod:`mdptheory.algorithms.stepmix`, our reconstruction): StepMix with the per-step
  mixture, StepMix with the switch-step mixture ("StepMix-switch", our alternative reading),
  EpsMix, and UCBVI with the same bonus and no constraint (for contrast); confidence level
  ``delta``; bonuses ``bonuses``: "l1" (B1, the one our safety argument covers), optionally
  "hoeffding" (B2, practical, *not* covered).
* For every episode of every run the exact value of the executed policy is computed on the true
  model (:class:`~mdptheory.algorithms.stepmix.ExactValueMonitor`): V^{pi_k}_0(rho0) for the
  Markov mixtures, eps_k V^{pi_bar_k} + (1 - eps_k) V^b (the conditional expectation) for EpsMix.
  A violation is an episode with that value < (1 - alpha) V^b - 1e-10. ``violations`` and
  ``min_margin`` are cumulative over *every* episode; rows are stored at log-spaced checkpoints
  (K / 10 included). ``realized_violations`` counts episodes whose *played* policy is below the
  line (EpsMix's draws of pi_bar may be; the constraint is on the conditional expectation).
* Randomness: the instance comes from ``instance_seed`` only; each run's episodes and EpsMix's
  coin come from (seed, configuration, bonus, algorithm).
* **Verdicts.** Per kept (instance, alpha, bonus, conservative learner): "no episode violates
  the constraint, with probability >= 1 - delta", decided by
  :func:`mdptheory.analysis.proportion` on the runs without a violation, one-sided
  Clopper-Pearson with a **Bonferroni correction over every such claim of the run** (family
  size F = kept configurations x bonuses x 3 learners, fixed by the configuration before the
  run). Zero violations in n runs certify delta when (0.05 / F)^(1/n) >= 1 - delta, i.e.
  n >= ln(0.05 / F) / ln(1 - delta): 59 runs for F = 1, 112 for F = 15 (the paper-size
  ``seeds``). Provenance: "paper-recalled" for StepMix (per step) and EpsMix with B1 (the
  paper's claim, tested on our reconstruction of its mixing rule and bonus), "expectation" for
  the switch-step mixture and the B2 bonus (our readings, not the paper's). UCBVI's violations
  are reported as info (the constraint binds when UCBVI violates it).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from mdptheory import analysis
from mdptheory.algorithms.stepmix import EpsMix, ExactValueMonitor, SameBonusUCBVI, StepMix
from mdptheory.bounds.stepmix import certification_episodes
from mdptheory.envs.conservative import garnet_instance, river_swim_instance
from mdptheory.runner import online
from mdptheory.solvers.finite import backward_induction, occupancy_measure

NAME = "stepmix_safety"
PAPER = ("Li, Huang, Shen & Yang (2023), Near-optimal Conservative Exploration in RL under "
         "Episode-wise Constraints")
THEOREM = ("conservative constraint in every episode w.p. >= 1 - delta (abstract; tested on our "
           "reconstruction)")
ALGORITHMS = ("StepMix", "StepMix-switch", "EpsMix", "UCBVI")
CONSERVATIVE = ALGORITHMS[:3]
TOL = 1e-10
LATE_SHARE_MAX = 0.5        # runtime check: conservative share after K / 10 must be below this

CONFIG = {"K": 20_000, "seeds": 112, "delta": 0.05, "bonuses": ("l1",),
          "candidate_ratios": (0.5, 0.7, 0.9), "candidate_alphas": (0.05, 0.1, 0.2),
          "candidate_river": True, "cert_fraction": 0.05, "min_gap": 0.05, "garnet_S": 5,
          "garnet_A": 3, "garnet_H": 5, "garnet_branching": 3, "river_S": 6, "river_H": 20,
          "instance_seed": 0, "checkpoints": 40}
# the smoke run: a short K, so the selection's fraction is loosened to keep one configuration
SMALL = dict(CONFIG, K=300, seeds=2, candidate_ratios=(0.5, 0.9), candidate_alphas=(0.2,),
             cert_fraction=2.0, checkpoints=15)


def make_instance(name: str, config: dict):
    """The :class:`~mdptheory.envs.conservative.ConservativeInstance` called ``name``."""
    if name == "river_swim":
        return river_swim_instance(config["river_S"], config["river_H"])
    if name.startswith("garnet_"):
        return garnet_instance(config["garnet_S"], config["garnet_A"], config["garnet_H"],
                               config["garnet_branching"], ratio=float(name.split("_", 1)[1]),
                               rng=config["instance_seed"])
    raise ValueError(f"unknown instance {name!r}; expected 'river_swim' or 'garnet_<ratio>'")


def select_configurations(config: dict) -> list[dict]:
    """Every candidate (instance, alpha) with its pre-registered score and decision (module
    docstring): n_cert, kappa / V*, ``kept`` and the ``reason``. Uses the instances and
    baselines only; deterministic."""
    names = [f"garnet_{r}" for r in config["candidate_ratios"]]
    if config["candidate_river"]:
        names.append("river_swim")
    K, delta = int(config["K"]), float(config["delta"])
    limit = float(config["cert_fraction"]) * K
    out = []
    for name in names:
        inst = make_instance(name, config)
        mdp = inst.mdp
        d_star = occupancy_measure(mdp, backward_induction(mdp).pi)
        for alpha in config["candidate_alphas"]:
            alpha = float(alpha)
            n_cert = float(certification_episodes(d_star, mdp.S, mdp.A, mdp.H, K, delta,
                                                  inst.kappa + alpha * inst.V_b))
            gap_share = inst.kappa / inst.V_star
            reasons = []
            if n_cert > limit:
                reasons.append(f"n_cert = {n_cert:.4g} > {config['cert_fraction']:g} K = "
                               f"{limit:.4g}")
            if gap_share < float(config["min_gap"]):
                reasons.append(f"kappa / V* = {gap_share:.3g} < {config['min_gap']:g}")
            out.append({"instance": name, "alpha": alpha, "n_cert": n_cert,
                        "kappa_share": gap_share, "V_b_ratio": inst.V_b / inst.V_star,
                        "kept": not reasons, "reason": "; ".join(reasons) or "kept"})
    return out


def family_size(config: dict, selection: list[dict] | None = None) -> int:
    """F = kept configurations x bonuses x conservative learners (the Bonferroni family)."""
    sel = select_configurations(config) if selection is None else selection
    return sum(c["kept"] for c in sel) * len(config["bonuses"]) * len(CONSERVATIVE)


def seeds_to_certify(delta: float, family: int, level: float = 0.05) -> int:
    """Smallest n with (level / family)^(1/n) >= 1 - delta: zero violations in n runs then
    certify delta under the Bonferroni correction."""
    return math.ceil(math.log(level / max(family, 1)) / math.log(1.0 - delta))


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


def _late_share(df: pd.DataFrame, K: int) -> float:
    """Share of conservative episodes among episodes K // 10 + 1 .. K (NaN for UCBVI)."""
    if "conservative_episodes" not in df or df["conservative_episodes"].isna().all():
        return np.nan
    k0 = max(K // 10, 1)
    n = df.set_index("k")["conservative_episodes"]
    return float((n.loc[K] - n.loc[k0]) / (K - k0)) if K > k0 else float(n.loc[K] / K)


def run(config: dict, seed: int) -> pd.DataFrame:
    """One seed: every kept (instance, alpha) x bonus x learner; one row per checkpoint k."""
    K = int(config["K"])
    delta = float(config["delta"])
    checkpoints = np.union1d(analysis.log_spaced(K, int(config["checkpoints"])),
                             [max(K // 10, 1)]).astype(np.int64)
    selection = select_configurations(config)
    kept = [c for c in selection if c["kept"]]
    sel_json = json.dumps(selection)
    F = family_size(config, selection)
    params = {k: v for k, v in config.items() if not isinstance(v, (tuple, list))}
    frames = []
    insts = {}
    for i, name in enumerate(sorted({c["instance"] for c in kept})):
        insts[name] = (i, make_instance(name, config))
    for name, (i, inst) in insts.items():
        mdp = inst.mdp
        alphas = [c["alpha"] for c in kept if c["instance"] == name]
        n_cert = {c["alpha"]: c["n_cert"] for c in kept if c["instance"] == name}
        for j, bonus in enumerate(config["bonuses"]):
            for a_idx, algorithm in enumerate(ALGORITHMS):
                # UCBVI does not depend on alpha: run it once and count against every line
                for l_idx, alpha in enumerate(alphas[:1] if algorithm == "UCBVI" else alphas):
                    ss = np.random.SeedSequence([seed, i, j, a_idx, l_idx])
                    run_rng, coin_rng = (np.random.default_rng(s) for s in ss.spawn(2))
                    theta = (1.0 - alpha) * inst.V_b
                    mon = ExactValueMonitor(_learner(algorithm, inst, K, alpha, bonus, delta,
                                                     coin_rng), mdp, threshold=theta, tol=TOL)
                    df = online(mon, mdp, K, rng=run_rng, checkpoints=checkpoints)
                    values = np.asarray(mon.values)
                    late = _late_share(df, K)
                    for a in (alphas if algorithm == "UCBVI" else (alpha,)):
                        th = (1.0 - a) * inst.V_b
                        rows = _rows(values, df, th)
                        if algorithm == "UCBVI":
                            rows["realized_violations"] = rows["violations"]
                            rows["conservative_episodes"] = 0
                        frames.append(rows.assign(
                            experiment=NAME, instance=name, bonus=bonus, algorithm=algorithm,
                            alpha=a, threshold=th, seed=seed, V_b=inst.V_b,
                            V_star=inst.V_star, kappa=inst.kappa, S=mdp.S, A=mdp.A, H=mdp.H,
                            n_cert=n_cert[a], late_conservative_share=late, family_size=F,
                            selection=sel_json, **params))
    if not frames:
        raise ValueError("no candidate configuration passes the pre-registered selection "
                         f"(cert_fraction={config['cert_fraction']}, K={K}): "
                         + "; ".join(f"{c['instance']}@{c['alpha']}: {c['reason']}"
                                     for c in selection))
    out = pd.concat(frames, ignore_index=True)
    return out.drop(columns=[c for c in ("exact_regret",) if c in out.columns])


def _final(results: pd.DataFrame) -> pd.DataFrame:
    """The last checkpoint of every run."""
    keys = ["instance", "bonus", "alpha", "algorithm", "seed"]
    idx = results.groupby(keys)["k"].idxmax()
    return results.loc[idx].reset_index(drop=True)


def _provenance(algo: str, bonus: str) -> str:
    if algo in ("StepMix", "EpsMix") and bonus == "l1":
        return "paper-recalled"
    return "expectation"


def verdict(results: pd.DataFrame) -> list[analysis.Verdict]:
    """One proportion claim per (instance, alpha, bonus, conservative learner), Bonferroni over
    the family declared by the configuration; UCBVI's violations and the pre-registered
    selection (kept and rejected candidates) as info."""
    fin = _final(results)
    F = int(results["family_size"].iloc[0])
    K = int(results["k"].max())
    selection = json.loads(results["selection"].iloc[0])
    rejected = [c for c in selection if not c["kept"]]
    out = [analysis.info(
        claim="pre-registered selection of configurations (n_cert <= cert_fraction K, "
              "kappa >= min_gap V*)",
        paper=PAPER, theorem=THEOREM, provenance="expectation",
        measured=float(sum(c["kept"] for c in selection)),
        reason=(f"kept {sum(c['kept'] for c in selection)} of {len(selection)} candidates: "
                + ", ".join(f"{c['instance']}@alpha={c['alpha']:g} (n_cert {c['n_cert']:.3g})"
                            for c in selection if c["kept"])
                + "; rejected: " + (", ".join(f"{c['instance']}@alpha={c['alpha']:g} "
                                              f"({c['reason']})" for c in rejected)
                                    or "none")))]
    for (inst, bonus, alpha), grp in fin.groupby(["instance", "bonus", "alpha"], sort=True):
        ucb = grp[grp["algorithm"] == "UCBVI"]
        delta = float(grp["delta"].iloc[0])
        if len(ucb):
            n_bad = int((ucb["violations"] > 0).sum())
            out.append(analysis.info(
                claim=f"UCBVI ({bonus}, unconstrained) on {inst}, alpha={alpha:g}: runs with a "
                      f"violating episode", paper=PAPER, theorem=THEOREM,
                provenance="expectation", measured=n_bad / len(ucb),
                reason=(f"{n_bad}/{len(ucb)} runs violate, mean {ucb['violations'].mean():.1f} "
                        f"violating episodes of {K} (the constraint binds when UCBVI violates "
                        f"it)")))
        for algo in CONSERVATIVE:
            g = grp[grp["algorithm"] == algo]
            if g.empty:
                continue
            n = int(g["seed"].nunique())
            ok = int((g["violations"] == 0).sum())
            late = float(g["late_conservative_share"].mean())
            informative = bool(late < LATE_SHARE_MAX)
            note = (f"{n - ok}/{n} runs with a violating episode (total "
                    f"{int(g['violations'].sum())} episodes); min margin over all episodes "
                    f"{g['min_margin'].min():.3g}; conservative share after K/10: mean "
                    f"{late:.3f}; n_cert {float(g['n_cert'].iloc[0]):.3g}; Bonferroni family "
                    f"F = {F} (runs needed with no violation: {seeds_to_certify(delta, F)})")
            if algo == "EpsMix":
                note += (f"; played-policy episodes below the line (allowed): mean "
                         f"{g['realized_violations'].mean():.1f}")
            if bonus != "l1":
                note += "; B2 bonus: not covered by the safety argument (practical variant)"
            out.append(analysis.proportion(
                ok, n, at_least=1.0 - delta, family_size=F, paper=PAPER, theorem=THEOREM,
                provenance=_provenance(algo, bonus), what="runs without a violating episode",
                claim=(f"{algo} ({bonus}) on {inst}, alpha={alpha:g}: every episode has "
                       f"V^pi_k >= (1 - alpha) V^b in >= 1 - delta of the runs"),
                applies=informative,
                applies_reason=(f"the learner stayed conservative in {late:.1%} (>= "
                                f"{LATE_SHARE_MAX:.0%}) of the episodes after the first tenth "
                                f"of K, so it hardly left the baseline"),
                note=note))
            if not informative:
                out[-1] = out[-1].with_(needs=(
                    f"a run in which the learner leaves the baseline: K well beyond {K} "
                    f"(conservative share after K/10 below {LATE_SHARE_MAX:.0%}), or an "
                    f"instance with a smaller n_cert"))
    return out


def plot(results: pd.DataFrame, path) -> list:
    """Left: exact value of the executed policy per episode (seed mean, 95% band) against the
    line (1 - alpha) V^b, one panel row per instance (first bonus, middle alpha). Right: fraction
    of seeds with a violating episode per learner and alpha, with delta."""
    import matplotlib.pyplot as plt

    insts = sorted(results["instance"].unique(), key=str)
    bonus = results["bonus"].iloc[0]
    fig, axes = plt.subplots(len(insts), 2, figsize=(11, 3.6 * len(insts)), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fin = _final(results)
    for row, inst in zip(axes, insts):
        alphas = sorted(results.loc[results["instance"] == inst, "alpha"].unique())
        a_mid = alphas[len(alphas) // 2]
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
                 "(Li et al. 2023; our reconstruction)", fontsize=11)
    fig.tight_layout()
    return analysis.save_figure(fig, path, NAME)

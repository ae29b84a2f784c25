"""Claims: SubPO's approximation ratios against exact optima (Prajapat, Mutny, Zeilinger &
Krause 2024, "Submodular Reinforcement Learning", ICLR 2024; spec Part C.9, experiments 1-4).

Five parts, all in one tidy table (column ``part``):

* ``ratio`` (C.9 exp. 1, Fig. 3 / Theorem 1). ``instances_per_seed`` random small grid SMDPs
  per seed (shape from ``grid_shapes``, H uniform in ``H_range``, reward family cycling
  through the five families of ``mdptheory.envs.submodular.FAMILIES``, slip alternating over
  ``slips``, random start). OPT = the exact history-dependent optimum (visit-graph DP). Methods:
  SubPO-M (tabular Markov, reward-to-go, leave-one-out batch baseline), SubPO-M with the
  released code's myopic-prefix estimator, SubPO-NM (tabular on (h, s, M)), SubPO-NM
  (visited-set-linear), ModPO, SubPO-M with exact gradients (no sampling error), the greedy
  marginal-gain planner and the uniform policy. Sampled methods: Adam, ``lr``, ``epochs``
  epochs of ``batch_size`` trajectories; the final policy's J is exact. Claims: SubPO-M >= ModPO
  (paired over instances; the paper's Fig. 3 ordering); the ratio distribution and the fraction
  of instances under 1 - 1/e (Theorem 1 rules out a constant-factor guarantee; informational).
* ``bandit`` (C.9 exp. 2, Theorem 3). ``bandit_instances`` random eps-Bandit SMDPs per seed
  (n = ``bandit_n`` states = actions, H = ``bandit_H``), eps in ``bandit_eps``. OPT over
  state-independent policies by enumeration of the A^H vertices. Frank-Wolfe with step 1/K
  (K in ``bandit_K``) from 0 and projected gradient ascent to a stationary point from
  ``bandit_inits`` random starts, all with exact gradients. Claims: FW >= (1 - 1/e) OPT
  (checked at the largest K, and against the finite-K bound (1 - 1/e) OPT - L D^2 / (2K));
  stationary points >= OPT / 2.
* ``curvature`` (C.9 exp. 3, Proposition 3). One random F_alpha structure per seed on a
  ``curv_shape`` grid (H ``curv_H``, slip in ``curv_slips``); for alpha in ``curv_alphas``:
  exact curvature c, OPT, and SubPO-M with exact gradients (Adam, ``curv_inits`` random inits,
  run until max |dJ/dtheta| <= ``curv_tol`` or ``curv_iters`` steps). Claim: min J / OPT >=
  1 - c, checked on the deterministic grids, where OPT (history-dependent) is attained by a
  Markov policy (Proposition 2); with slip > 0 the ratio to the history-dependent OPT is only
  a lower bound on the ratio to the best Markov policy and is reported in the note.
* ``estimator`` (C.9 exp. 4). One random instance and random logits per seed; for the
  estimators reinforce / reward_to_go / myopic_prefix x baselines none / batch_mean:
  ``est_reps`` independent estimates from ``est_batch`` trajectories vs the exact gradient.
  bias_rel = |mean - grad J| / |grad J|, bias_z = |mean - grad J| / sqrt(tr Cov / reps) (about 1
  when unbiased), var_rel = E|g_hat - mean|^2 / |grad J|^2; target_z is bias_z against the
  estimator's exact expectation (the myopic gradient for myopic-prefix) and exact_bias_rel =
  |expectation - grad J| / |grad J| (exact). Claims: reward-to-go is unbiased (bias_z < 3 in
  every seed); myopic-prefix is biased (MC mean consistent with the exact myopic gradient,
  which differs from grad J); reward-to-go has lower variance than REINFORCE.
* ``two_rooms`` (C.9 exp. 4 learning curves / Fig. 5a). The building-exploration map (68
  cells, H = 39, coverage). SubPO-M, SubPO-M (myopic prefix), SubPO-NM (visited-set-linear;
  the tabular history class does not fit) and ModPO, Adam ``rooms_lr``, ``rooms_batch``
  trajectories, ``rooms_epochs`` epochs. Measured: batch mean of F (unbiased estimate of J;
  S = 68 is beyond the exact DP). Claim (Fig. 5a): SubPO-NM ends higher than SubPO-M.

All hyper-parameters are ours (the paper has no theorem step sizes; its discrete code uses MLPs
with Adam, lr 1e-3..2e-2; our tabular logits need larger steps). Which estimator produced each
paper figure is unknown (spec C.10 item 1); both are run here.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from mdptheory import analysis
from mdptheory.algorithms import subpo as sp
from mdptheory.bounds import subpo as bd
from mdptheory.envs import submodular as sm

NAME = "subpo_approximation"
PAPER = sp.PAPER
ONE_MINUS_INV_E = 1.0 - np.exp(-1.0)
CURV_TOL = 1e-4          # J/OPT may sit this far under 1 - c (finite convergence tolerance)

CONFIG = dict(
    seeds=10,
    # part 1: ratio distribution (10 seeds x 10 instances = 100 instances)
    instances_per_seed=10, grid_shapes=((3, 4), (4, 4)), H_range=(4, 8), slips=(0.0, 0.1),
    epochs=300, batch_size=100, lr=0.3,
    # part 2: eps-bandit (Theorem 3)
    bandit_instances=2, bandit_n=6, bandit_H=4, bandit_eps=(0.0, 0.05, 0.1, 0.3),
    bandit_K=(10, 100), bandit_inits=5,
    # part 3: curvature (Proposition 3)
    curv_shape=(3, 3), curv_H=5, curv_slips=(0.0, 0.1),
    curv_alphas=(0.0, 0.25, 0.5, 0.75, 0.9, 1.0),
    curv_inits=5, curv_iters=3000, curv_tol=1e-5, curv_lr=0.3,
    # part 4: estimator bias / variance
    est_shape=(3, 3), est_H=5, est_slip=0.1, est_batch=50, est_reps=200,
    # part 5: two rooms
    rooms_epochs=140, rooms_batch=3000, rooms_lr=0.1, rooms_every=10,
)
SMALL = dict(
    CONFIG, seeds=2, instances_per_seed=2, grid_shapes=((2, 3),), H_range=(3, 4), epochs=20,
    batch_size=16, bandit_instances=1, bandit_n=4, bandit_H=2, bandit_eps=(0.0, 0.3),
    bandit_K=(5,), bandit_inits=2, curv_shape=(2, 2), curv_H=3, curv_alphas=(0.0, 1.0),
    curv_inits=2, curv_iters=100, est_shape=(2, 3), est_H=3, est_batch=10, est_reps=10,
    rooms_epochs=3, rooms_batch=16, rooms_every=1,
)

RATIO_METHODS = {
    "SubPO-M": dict(),
    "SubPO-M (myopic prefix)": dict(estimator="myopic_prefix"),
    "SubPO-NM (tabular)": dict(policy="history"),
    "SubPO-NM (linear)": dict(policy="linear"),
    "ModPO": dict(reward="modular"),
    "SubPO-M (exact gradient)": dict(gradient="exact"),
}
ROOMS_METHODS = {
    "SubPO-M": dict(),
    "SubPO-M (myopic prefix)": dict(estimator="myopic_prefix"),
    "SubPO-NM (linear)": dict(policy="linear"),
    "ModPO": dict(reward="modular"),
}
ESTIMATORS = ("reinforce", "reward_to_go", "myopic_prefix")

_FLOAT = ("value", "opt", "ratio", "bound", "slip", "eps", "alpha", "curvature", "bias_rel",
          "bias_z", "target_z", "exact_bias_rel", "var_rel", "mean_F", "stationarity",
          "wall_time")
_INT = ("instance", "H", "S", "K", "epoch", "init")
_STR = ("method", "family", "estimator", "baseline")


def _row(part: str, seed: int, **kw) -> dict:
    row = {"experiment": NAME, "part": part, "seed": int(seed)}
    for c in _FLOAT:
        row[c] = float(kw.pop(c, np.nan))
    for c in _INT:
        row[c] = int(kw.pop(c, -1))
    for c in _STR:
        row[c] = str(kw.pop(c, ""))
    if kw:
        raise KeyError(f"unknown columns {sorted(kw)}")
    return row


def _scalar_params(config: dict) -> dict:
    return {k: v for k, v in config.items()
            if k != "seeds" and isinstance(v, (int, float, str, bool))}


# ------------------------------------------------------------------------------ parts

def _ratio_part(config, seed):
    rows = []
    for i in range(int(config["instances_per_seed"])):
        rng = np.random.default_rng([seed, 1, i])
        shapes = config["grid_shapes"]
        shape = tuple(shapes[int(rng.integers(len(shapes)))])
        H = int(rng.integers(config["H_range"][0], config["H_range"][1] + 1))
        family = sm.FAMILIES[(seed * int(config["instances_per_seed"]) + i) % len(sm.FAMILIES)]
        slip = float(config["slips"][i % len(config["slips"])])
        start = (int(rng.integers(shape[0])), int(rng.integers(shape[1])))
        env = sm.random_grid_smdp(shape, H, family, slip=slip, rng=rng, start=start)
        opt = sp.optimum(env).value
        common = dict(instance=i, family=family, H=H, S=env.S, slip=slip, opt=opt)
        refs = {"greedy planner": sp.exact_value_history(env, sp.greedy_policy(env)),
                "uniform policy": sp.exact_value(env, np.full((H, env.S, env.A), 1.0 / env.A))}
        for name, val in refs.items():
            rows.append(_row("ratio", seed, method=name, value=val, ratio=val / opt, **common))
        for j, (name, kw) in enumerate(RATIO_METHODS.items()):
            t = time.perf_counter()
            algo = sp.SubPO(env, batch_size=int(config["batch_size"]), lr=float(config["lr"]),
                            rng=np.random.default_rng([seed, 2, i, j]), **kw)
            algo.fit(int(config["epochs"]))
            val = algo.value()
            rows.append(_row("ratio", seed, method=name, value=val, ratio=val / opt,
                             wall_time=time.perf_counter() - t, **common))
    return rows


def _bandit_part(config, seed):
    rows = []
    for i in range(int(config["bandit_instances"])):
        rng = np.random.default_rng([seed, 3, i])
        family = sm.FAMILIES[int(rng.integers(len(sm.FAMILIES)))]
        F = sm.random_set_function(family, int(config["bandit_n"]), rng=rng)
        for eps in config["bandit_eps"]:
            env = sm.epsilon_bandit(F, int(config["bandit_H"]), float(eps))
            opt = sp.bandit_optimum(env)[0]
            L, D2 = sp.bandit_smoothness(env, float(eps))
            common = dict(instance=i, family=family, H=env.H, S=env.S, eps=float(eps), opt=opt)
            for K in config["bandit_K"]:
                fw = sp.frank_wolfe_bandit(env, int(K))
                rows.append(_row("bandit", seed, method="Frank-Wolfe", K=int(K), value=fw.value,
                                 ratio=fw.value / opt,
                                 bound=float(bd.subpo_frank_wolfe_bandit(opt, K, L, D2)) / opt,
                                 **common))
            for r in range(int(config["bandit_inits"])):
                x0 = rng.dirichlet(np.ones(env.A + 1), size=env.H)[:, :env.A]
                pga = sp.projected_gradient_bandit(env, x0)
                rows.append(_row("bandit", seed, method="projected gradient", init=r,
                                 value=pga.value, ratio=pga.value / opt, bound=0.5,
                                 stationarity=pga.stationarity, **common))
    return rows


def _curvature_part(config, seed):
    rows = []
    rng = np.random.default_rng([seed, 4])
    shape = tuple(config["curv_shape"])
    nodes = [(i, j) for i in range(shape[0]) for j in range(shape[1])]
    fps = sm.grid_footprints(nodes)
    mw, cw = rng.random(len(nodes)), rng.random(len(nodes))
    start = (int(rng.integers(shape[0])), int(rng.integers(shape[1])))
    for slip in config["curv_slips"]:
        for alpha in config["curv_alphas"]:
            F = sm.f_alpha(float(alpha), mw, fps, cw)
            env = sm.grid_smdp(shape, int(config["curv_H"]), F=F, start=start, slip=float(slip))
            opt = sp.optimum(env).value
            c = F.curvature()
            for r in range(int(config["curv_inits"])):
                algo = sp.SubPO(env, gradient="exact", lr=float(config["curv_lr"]),
                                init="random", rng=np.random.default_rng([seed, 5, r]))
                gnorm = np.inf
                while algo.epoch < int(config["curv_iters"]) and gnorm > config["curv_tol"]:
                    algo.fit(100)        # to convergence: max |dJ/dtheta| <= curv_tol
                    gnorm = float(np.abs(algo.exact_gradient()[1]["theta"]).max())
                val = algo.value()
                rows.append(_row("curvature", seed, method="SubPO-M (exact gradient)", init=r,
                                 alpha=float(alpha), curvature=c, value=val, opt=opt,
                                 ratio=val / opt, bound=1.0 - c, H=env.H, S=env.S,
                                 slip=float(slip), family="f_alpha", stationarity=gnorm,
                                 epoch=algo.epoch))
    return rows


def _estimator_part(config, seed):
    rows = []
    rng = np.random.default_rng([seed, 6])
    shape = tuple(config["est_shape"])
    env = sm.random_grid_smdp(shape, int(config["est_H"]), "weighted_coverage",
                              slip=float(config["est_slip"]), rng=rng)
    theta = rng.normal(size=(env.H, env.S, env.A))
    _, exact = sp.exact_gradient(env, sp._softmax(theta))
    norm = float(np.linalg.norm(exact))
    if norm == 0.0:
        raise ValueError("the estimator instance has a zero exact gradient (F is constant on "
                         "reachable sets); use a larger est_shape or est_H")
    myopic = sp.exact_myopic_gradient(env, sp._softmax(theta))
    for est in ESTIMATORS:
        for base in ("none", "batch_mean"):
            algo = sp.SubPO(env, estimator=est, baseline=base, batch_size=int(config["est_batch"]),
                            rng=np.random.default_rng([seed, 7]))
            algo.params["theta"] = theta.copy()
            X = np.stack([algo.gradient_estimate(algo.sample())["theta"]
                          for _ in range(int(config["est_reps"]))])
            mean = X.mean(axis=0)
            tr_cov = float(X.var(axis=0, ddof=1).sum())
            se = np.sqrt(tr_cov / X.shape[0])
            err = float(np.linalg.norm(mean - exact))
            target = myopic if est == "myopic_prefix" else exact   # the exact expectation
            rows.append(_row("estimator", seed, estimator=est, baseline=base,
                             method=f"{est} / {base}", bias_rel=err / norm, bias_z=err / se,
                             target_z=float(np.linalg.norm(mean - target)) / se,
                             exact_bias_rel=float(np.linalg.norm(target - exact)) / norm,
                             var_rel=tr_cov / norm ** 2, H=env.H, S=env.S))
    return rows


def _rooms_part(config, seed):
    rows = []
    env = sm.two_rooms()
    universe = env.F.value(range(env.S))
    every = int(config["rooms_every"])
    for j, (name, kw) in enumerate(ROOMS_METHODS.items()):
        algo = sp.SubPO(env, batch_size=int(config["rooms_batch"]), lr=float(config["rooms_lr"]),
                        rng=np.random.default_rng([seed, 8, j]), **kw)
        t = time.perf_counter()
        for e in range(int(config["rooms_epochs"])):
            m = algo.step()
            if (e + 1) % every == 0 or e == 0 or e + 1 == int(config["rooms_epochs"]):
                rows.append(_row("two_rooms", seed, method=name, epoch=e + 1,
                                 mean_F=m["mean_F"], ratio=m["mean_F"] / universe,
                                 H=env.H, S=env.S, wall_time=time.perf_counter() - t))
    return rows


def run(config: dict, seed: int) -> pd.DataFrame:
    """One seed: every part (module docstring); one row per (part, instance, method, ...)."""
    rows = []
    for part in (_ratio_part, _bandit_part, _curvature_part, _estimator_part, _rooms_part):
        rows += part(config, seed)
    return pd.DataFrame(rows).assign(**_scalar_params(config))


# ------------------------------------------------------------------------------ verdicts

def _V(theorem, claim, passed, measured, bound, note):
    return analysis.Verdict(paper=PAPER, theorem=theorem, claim=claim, passed=bool(passed),
                            measured=None if measured is None else float(measured),
                            bound=None if bound is None else float(bound), note=note)


def _paired_ci(d: np.ndarray, rng=0, n_boot=4000):
    rng = np.random.default_rng(rng)
    idx = rng.integers(0, d.size, size=(n_boot, d.size))
    means = d[idx].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def verdict(results: pd.DataFrame) -> list[analysis.Verdict]:
    """Nine claims; each note carries the measured numbers."""
    out = []
    seeds = results["seed"].nunique()
    enough = seeds >= 10
    sn = f"{seeds} seeds" + ("" if enough else " (< 10 required: not a verification)")

    # --- part 1
    r = results[results["part"] == "ratio"]
    tab = r.pivot_table(index=["seed", "instance"], columns="method", values="ratio")
    n_inst = len(tab)
    d = (tab["SubPO-M"] - tab["ModPO"]).to_numpy()
    lo, hi = _paired_ci(d)
    summary = "; ".join(f"{m}: mean {tab[m].mean():.3f}, min {tab[m].min():.3f}"
                        for m in tab.columns)
    out.append(_V("Fig. 3 (discrete tasks): SubPO outperforms ModPO",
                  "On random small grid SMDPs, SubPO-M's J/OPT is at least ModPO's (paired mean "
                  "difference, 95% bootstrap CI above 0)",
                  enough and lo > 0, float(d.mean()), 0.0,
                  f"{sn}, {n_inst} instances; mean J/OPT difference SubPO-M - ModPO "
                  f"{d.mean():.3f} [{lo:.3f}, {hi:.3f}]; SubPO-M >= ModPO on "
                  f"{np.mean(d >= -1e-9):.0%} of instances. {summary}"))
    sub = tab["SubPO-M"].to_numpy()
    q = np.quantile(sub, [0.0, 0.25, 0.5, 0.75, 1.0])
    frac = float(np.mean(sub < ONE_MINUS_INV_E))
    out.append(_V("Theorem 1 (inapproximability; informational)",
                  "Distribution of J(pi_SubPO-M)/OPT on random small instances and the fraction "
                  "under 1 - 1/e (no constant-factor guarantee exists in general, so nothing to "
                  "fail)",
                  True, frac, None,
                  f"{sn}, {n_inst} instances; SubPO-M ratio min/q25/median/q75/max = "
                  + "/".join(f"{x:.3f}" for x in q)
                  + f"; fraction < 1-1/e: {frac:.3f}; per family means: "
                  + ", ".join(f"{f} {g['ratio'].mean():.3f}" for f, g in
                              r[r["method"] == "SubPO-M"].groupby("family"))))

    # --- part 2
    b = results[results["part"] == "bandit"]
    fw = b[b["method"] == "Frank-Wolfe"]
    Kmax = int(fw["K"].max())
    fwK = fw[fw["K"] == Kmax]
    worst = float(fwK["ratio"].min())
    by_eps = ", ".join(f"eps={e:g}: min {g['ratio'].min():.3f}"
                       for e, g in fwK.groupby("eps"))
    finite_ok = bool((fw["ratio"] >= fw["bound"] - 1e-12).all())
    out.append(_V("Theorem 3 (eps-Bandit SMDP): Frank-Wolfe reaches (1 - 1/e) OPT",
                  f"Frank-Wolfe with K={Kmax} steps of size 1/K and exact gradients attains "
                  f"J >= (1 - 1/e) OPT over state-independent policies, for every eps",
                  enough and worst >= ONE_MINUS_INV_E - 1e-12, worst, ONE_MINUS_INV_E,
                  f"{sn}, {fwK[['seed', 'instance']].drop_duplicates().shape[0]} instances x "
                  f"{fwK['eps'].nunique()} eps; min J/OPT {worst:.4f} ({by_eps}); all K: "
                  f"min ratio by K " + ", ".join(f"K={k}: {g['ratio'].min():.3f}" for k, g in
                                                 fw.groupby("K"))
                  + f"; finite-K bound (1-1/e)OPT - L D^2/(2K) holds in every run: {finite_ok} "
                  f"(it is vacuous here: max bound/OPT {fw['bound'].max():.3f})"))
    pg = b[b["method"] == "projected gradient"]
    worst = float(pg["ratio"].min())
    stat = float(pg["stationarity"].max())
    out.append(_V("Theorem 3 (eps-Bandit SMDP): stationary points reach OPT / 2",
                  "Projected gradient ascent run to a stationary point attains J >= OPT / 2",
                  enough and worst >= 0.5 - 1e-12, worst, 0.5,
                  f"{sn}, {len(pg)} runs; min J/OPT {worst:.4f}, mean {pg['ratio'].mean():.4f}; "
                  f"max gradient-mapping norm at exit {stat:.2g}"))

    # --- part 3
    c = results[results["part"] == "curvature"]
    g = c.groupby(["slip", "seed", "alpha"]).agg(ratio=("ratio", "min"),
                                                  curvature=("curvature", "first"))
    g["slack"] = g["ratio"] - (1 - g["curvature"])

    def _by_alpha(gs):
        return ", ".join(f"{a:g} ({gg['curvature'].mean():.2f}, {gg['ratio'].min():.3f})"
                         for a, gg in gs.reset_index().groupby("alpha"))
    det = g.xs(0.0, level="slip") if 0.0 in g.index.get_level_values("slip") else g.iloc[:0]
    w = det["slack"].idxmin() if len(det) else None
    stoch = g[g.index.get_level_values("slip") > 0]
    note = f"{sn}; deterministic grids (OPT attainable by a Markov policy, Prop. 2): "
    if w is not None:
        note += (f"{int((det['slack'] < -CURV_TOL).sum())}/{len(det)} (seed, alpha) cases under "
                 f"1 - c (by more than {CURV_TOL:g}); worst seed {w[0]}, alpha {w[1]:g}: "
                 f"min J/OPT {det.loc[w, 'ratio']:.4f}"
                 f" vs 1 - c = {1 - det.loc[w, 'curvature']:.4f}; by alpha (mean c, min ratio): "
                 + _by_alpha(det))
    if len(stoch):
        note += (f". Slip > 0 (ratio vs the history-dependent OPT, a lower bound on the ratio "
                 f"to the best Markov policy): {int((stoch['slack'] < -CURV_TOL).sum())}/"
                 f"{len(stoch)} cases under 1 - c; by alpha: " + _by_alpha(stoch))
    note += (f". Convergence: max |dJ/dtheta| at exit {c['stationarity'].max():.2g} (tolerance "
             f"{c['curv_tol'].iloc[0] if 'curv_tol' in c else float('nan'):g}), "
             f"{int((c['stationarity'] > c['curv_tol']).sum()) if 'curv_tol' in c else -1} "
             f"runs stopped at the iteration cap")
    out.append(_V("Proposition 3 (bounded curvature)",
                  "Tabular SubPO-M (exact gradients, several inits) attains J >= (1 - c) OPT for "
                  "F_alpha of total curvature c (checked on deterministic grids, ratio tolerance "
                  f"{CURV_TOL:g})",
                  enough and w is not None and float(det["slack"].min()) >= -CURV_TOL,
                  None if w is None else float(det.loc[w, "ratio"]),
                  None if w is None else float(1 - det.loc[w, "curvature"]), note))

    # --- part 4
    e = results[results["part"] == "estimator"]
    rtg = e[e["estimator"] == "reward_to_go"]
    zmax = float(rtg["bias_z"].max())
    out.append(_V("Theorem 2 (marginal-gain policy gradient)",
                  "The reward-to-go marginal-gain estimator is unbiased: |mean - grad J| is "
                  "within 3 Monte-Carlo standard errors (bias_z < 3) in every seed, with and "
                  "without the leave-one-out baseline",
                  enough and zmax < 3.0, zmax, 3.0,
                  f"{sn}; " + "; ".join(
                      f"{m}: bias_z mean {gg['bias_z'].mean():.2f} max {gg['bias_z'].max():.2f},"
                      f" bias_rel {gg['bias_rel'].mean():.3f}, var_rel {gg['var_rel'].mean():.3g}"
                      for m, gg in e.groupby("method"))))
    my = e[e["estimator"] == "myopic_prefix"]
    ebias = float(my["exact_bias_rel"].min())
    tz = float(my["target_z"].max())
    out.append(_V("spec C.4 (released code's myopic-prefix estimator is biased)",
                  "The myopic-prefix estimator's expectation is the myopic gradient (Monte-Carlo "
                  "mean within 3 standard errors of it) and that differs from grad J (exact "
                  "relative bias >= 0.01 in every seed)",
                  enough and ebias >= 0.01 and tz < 3.0, ebias, 0.01,
                  f"{sn}; exact |myopic gradient - grad J| / |grad J|: min {ebias:.3f}, mean "
                  f"{my['exact_bias_rel'].mean():.3f}; MC mean vs myopic gradient: z max {tz:.2f};"
                  f" MC mean vs grad J: bias_z by baseline " + ", ".join(
                      f"{b} mean {g_['bias_z'].mean():.2f} (min {g_['bias_z'].min():.2f})"
                      for b, g_ in my.groupby("baseline"))
                  + " (without a baseline the variance hides the bias at this sample size)"))
    var = e.pivot_table(index=["seed", "baseline"], columns="estimator", values="var_rel")
    vr = (var["reward_to_go"] / var["reinforce"])
    out.append(_V("Theorem 2 / spec C.4 (reward-to-go vs full-return REINFORCE)",
                  "The marginal-gain reward-to-go estimator has lower variance than full-return "
                  "REINFORCE, with and without the baseline, in every seed",
                  enough and float(vr.max()) < 1.0, float(vr.max()), 1.0,
                  f"{sn}; var(reward-to-go)/var(REINFORCE): " + ", ".join(
                      f"{b} mean {g_.mean():.3f} max {g_.max():.3f}"
                      for b, g_ in vr.groupby(level="baseline"))
                  + "; relative variance per batch of "
                  f"{int(e['est_batch'].iloc[0]) if 'est_batch' in e else -1} trajectories: "
                  + ", ".join(f"{m} {g_['var_rel'].mean():.3g}" for m, g_ in e.groupby("method"))))

    # --- part 5
    t = results[results["part"] == "two_rooms"]
    last = t[t["epoch"] == t["epoch"].max()].groupby("method")["mean_F"]
    means = last.mean()
    nm, m_ = float(means.get("SubPO-NM (linear)", np.nan)), float(means.get("SubPO-M", np.nan))
    per_seed = t[t["epoch"] == t["epoch"].max()].pivot_table(index="seed", columns="method",
                                                             values="mean_F")
    dd = (per_seed["SubPO-NM (linear)"] - per_seed["SubPO-M"]).to_numpy()
    lo, hi = _paired_ci(dd) if dd.size > 1 else (float(dd.mean()), float(dd.mean()))
    out.append(_V("Fig. 5(a) (building exploration)",
                  "In the two-rooms domain SubPO-NM ends with higher coverage than SubPO-M "
                  "(paired over seeds, 95% bootstrap CI above 0)",
                  enough and lo > 0, nm - m_, 0.0,
                  f"{sn}; epoch {int(t['epoch'].max())}; final batch-mean F (of 68 cells): "
                  + ", ".join(f"{k} {v:.1f}" for k, v in means.items())
                  + f"; NM - M {dd.mean():.1f} [{lo:.1f}, {hi:.1f}]"))
    return out


# ------------------------------------------------------------------------------ plot

def plot(results: pd.DataFrame, path) -> list:
    """Six panels: ratio distributions, eps-bandit ratios, curvature, estimators, two rooms,
    ratio by family.
    ``path``: a directory (writes subpo_approximation.png/.pdf) or a file stem."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(19, 10.5))
    ax = axes.ravel()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    # (a) ratio distribution
    r = results[results["part"] == "ratio"]
    methods = list(dict.fromkeys(r["method"]))
    data = [r[r["method"] == m]["ratio"].to_numpy() for m in methods]
    ax[0].boxplot(data, orientation="horizontal", showmeans=True)
    ax[0].set_yticks(range(1, len(methods) + 1), methods, fontsize=7)
    ax[0].axvline(ONE_MINUS_INV_E, color="k", ls="--", lw=1, label="1 - 1/e")
    ax[0].set_xlabel("J(pi) / OPT (exact)")
    ax[0].set_title(f"(a) {r[['seed', 'instance']].drop_duplicates().shape[0]} random grid "
                    "SMDPs", fontsize=9)
    ax[0].legend(fontsize=7)

    # (b) bandit: mean with min-max band over instances/inits
    b = results[results["part"] == "bandit"]
    i = 0
    for (m, K), g in b.groupby(["method", "K"]):
        s = g.groupby("eps")["ratio"].agg(["mean", "min", "max"])
        lab = f"{m}" + (f" K={K}" if K >= 0 else "")
        ax[1].plot(s.index, s["mean"], "o-", color=colors[i], label=lab + " (mean; band min-max)")
        ax[1].fill_between(s.index, s["min"], s["max"], color=colors[i], alpha=0.2)
        i += 1
    ax[1].axhline(ONE_MINUS_INV_E, color="k", ls="--", lw=1, label="1 - 1/e (Frank-Wolfe)")
    ax[1].axhline(0.5, color="0.4", ls=":", lw=1, label="1/2 (stationary points)")
    ax[1].set_xlabel("eps")
    ax[1].set_ylabel("J / OPT (state-independent class)")
    ax[1].set_title("(b) eps-Bandit SMDP (Theorem 3)", fontsize=9)
    ax[1].legend(fontsize=7)

    # (c) curvature
    c = results[results["part"] == "curvature"]
    g = c.groupby(["slip", "seed", "alpha"]).agg(ratio=("ratio", "min"),
                                                  curvature=("curvature", "first"))
    for i, (slip, gs) in enumerate(g.groupby(level="slip")):
        ax[2].scatter(gs["curvature"], gs["ratio"], s=18, color=colors[i],
                      label=f"slip {slip:g}: min over inits of J/OPT (per seed, alpha)")
    cc = np.linspace(0, 1, 50)
    ax[2].plot(cc, 1 - cc, "k--", lw=1, label="bound 1 - c (Proposition 3)")
    ax[2].set_xlabel("total curvature c of F_alpha")
    ax[2].set_ylabel("J(pi_SubPO-M) / OPT")
    ax[2].set_title("(c) curvature bound", fontsize=9)
    ax[2].legend(fontsize=7)

    # (d) estimators
    e = results[results["part"] == "estimator"]
    ms = list(dict.fromkeys(e["method"]))
    z = [e[e["method"] == m]["bias_z"].to_numpy() for m in ms]
    v = [e[e["method"] == m]["var_rel"].to_numpy() for m in ms]
    y = np.arange(len(ms))
    ax[3].barh(y - 0.2, [x.mean() for x in z], height=0.4, color=colors[0],
               xerr=[x.std() for x in z], label="bias_z (~1 if unbiased)")
    ax[3].barh(y + 0.2, [x.mean() for x in v], height=0.4, color=colors[1],
               xerr=[x.std() for x in v], label="relative variance per batch")
    ax[3].axvline(3.0, color="k", ls="--", lw=1, label="bias_z = 3")
    ax[3].set_xscale("log")
    ax[3].set_yticks(y, ms, fontsize=7)
    ax[3].set_xlabel("mean over seeds (+- sd)")
    ax[3].set_title("(d) gradient estimators vs the exact gradient", fontsize=9)
    ax[3].legend(fontsize=7)

    # (e) two rooms learning curves with seed-bootstrap bands
    t = results[results["part"] == "two_rooms"]
    for i, (m, gm) in enumerate(t.groupby("method", sort=False)):
        band = analysis.mean_band(gm, "epoch", "mean_F")
        ax[4].plot(band["epoch"], band["mean"], color=colors[i], label=m)
        ax[4].fill_between(band["epoch"], band["lo"], band["hi"], color=colors[i], alpha=0.25)
    ax[4].axhline(68, color="0.4", ls=":", lw=1, label="all 68 cells")
    ax[4].set_xlabel("epoch")
    ax[4].set_ylabel("batch mean of F(tau) (cells covered)")
    ax[4].set_title("(e) two rooms (Fig. 5a): mean, 95% seed-bootstrap band", fontsize=9)
    ax[4].legend(fontsize=7)
    # (f) per-family mean ratio of the main methods
    fam = r.pivot_table(index="family", columns="method", values="ratio", aggfunc="mean")
    keep = [m for m in ("SubPO-M", "SubPO-NM (tabular)", "SubPO-M (myopic prefix)", "ModPO",
                        "greedy planner") if m in fam.columns]
    width = 0.8 / max(1, len(keep))
    for i, m in enumerate(keep):
        ax[5].bar(np.arange(len(fam)) + i * width, fam[m], width=width, color=colors[i],
                  label=m)
    ax[5].set_xticks(np.arange(len(fam)) + 0.4 - width / 2, fam.index, fontsize=7)
    ax[5].axhline(ONE_MINUS_INV_E, color="k", ls="--", lw=1, label="1 - 1/e")
    ax[5].set_ylabel("mean J / OPT")
    ax[5].set_title("(f) mean ratio by reward family", fontsize=9)
    ax[5].legend(fontsize=7)
    for a in ax:
        a.grid(True, alpha=0.3)
    fig.suptitle("SubPO (Prajapat et al. 2024): SubPO >= ModPO (Fig. 3); FW >= (1-1/e) OPT and "
                 "stationary points >= OPT/2 on eps-Bandit SMDPs (Thm 3);\nJ >= (1-c) OPT (Prop. "
                 "3); unbiased marginal-gain gradient (Thm 2); SubPO-NM beats SubPO-M in two rooms "
                 "(Fig. 5a)", fontsize=11)
    fig.tight_layout()
    return analysis.save_figure(fig, path, NAME)

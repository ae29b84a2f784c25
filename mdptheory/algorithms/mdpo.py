"""Exact tabular policy mirror descent (PMD) and Mirror Descent Policy Optimization (MDPO).

Papers
------
* Tomar, Shani, Efroni, Ghavamzadeh (2022), "Mirror Descent Policy Optimization", ICLR
  (arXiv 2005.09814); authors' code github.com/manantomar/Mirror-Descent-Policy-Optimization.
* The PMD theory the checks rest on: Shani, Efroni, Mannor (2020, AAAI; arXiv 1909.02769),
  Lan (2022, Math. Prog.), Xiao (2022, JMLR), Cen, Cheng, Chen, Wei, Chi (2022, Oper. Res.;
  arXiv 2007.06558), Johnson, Pike-Burke, Rebeschini (2023, arXiv 2302.11381).
* Project page: docs/papers/mdpo.md. Of these papers only the abstracts and the MDPO authors'
  code could be read: the statements checked here (our numbering T0-T8, defined on that page)
  are our derivations (T0-T6, checked numerically in ``proofs_check/mdpo.py``) or recollections
  of the papers' theorems (T7, Cen et al.'s Theorem 1; T8, Shani et al.'s rates), whose exact
  constants could not be checked. The algorithms A-D below are our reconstruction in that
  sense.

What is here
------------
Algorithm A (exact PMD). Policies live in log space (exponentiated updates underflow). With
exact Q_k = Q^{pi_k} (Q^{pi_k}_tau when regularised; policy evaluation by a dense LU solve,
``kernels.pmd.evaluate``), one step is, per state s,

    log pi_{k+1}(.|s) = alpha * log pi_k(.|s) + beta * Q_k(s, .) - logsumexp(...)

with (alpha, beta) from the chosen ``update``:

* ``"kl"``: KL-PMD / exact TRPO / MDPO with m = infinity: (1, eta). Using A or Q is the same.
* ``"prox"``: entropy-regularised exact prox (Lan): (1/(1 + eta tau), eta/(1 + eta tau)).
* ``"cen"``: Cen et al.'s entropy-regularised NPG, eta = their eta_c:
  (1 - eta tau/(1 - gamma), eta/(1 - gamma)); eta = (1 - gamma)/tau is soft policy iteration.
* ``"linearized"``: Shani's regularised (uniform) TRPO, off-policy MDPO's lambda-term:
  (1 - tau eta, eta); needs tau eta <= 1.

NPG normalisation (a frequent source of factor-(1 - gamma) errors): Agarwal et al. / Cen et al.
write pi e^{eta A/(1-gamma)}, so eta_PMD = eta_NPG/(1 - gamma) (:func:`npg_to_pmd`).

Step-size schedules (:class:`StepSchedule`) and the theorem each one targets:
``constant`` (T2; T6 with "prox", T7 with "cen"), ``geometric`` eta_{k+1} = eta_k theta/(theta-1)
(T3, Xiao; ratio from the MDP by default), ``inverse_gamma`` eta_k = eta_0 gamma^{-k} (T4,
Lan-style; it also meets T2 and T3's conditions), ``adaptive`` eta_k = max_s log(1/pi_k(a~_s|s))
/ (c gamma^{k+1}) (T5, Johnson et al.), ``shani`` t_k = (1-gamma)/(C sqrt(k+1)) and
``shani_regularized`` t_k = 1/(tau (k+2)) (T8), ``anneal`` t_k = t_0 (1 - k/n) (MDPO's code),
``sequence`` (any positive steps). :func:`schedule_conditions` reports which theorem's step-size
condition a schedule meets; :func:`policy_mirror_descent` warns (``warnings.warn``, naming the
parameter and the theorem) when a schedule violates the condition of the theorem it targets.

Algorithm B (tabular MDPO with exact gradients): from theta = log pi_k, m
ascent steps on L_k(theta) = sum_s d_k(s) [<pi_theta(s), A_k(s)> - KL(pi_theta(s)||pi_k(s))/t_k]
(``kernels.pmd.mdpo_ascent``); m = inf is exact PMD. The first step is a softmax policy-gradient
step (the KL gradient vanishes at theta_k); L_k is a d_k-weighted reverse-KL projection onto the
PMD iterate (our identity, docs/papers/mdpo.md).

Algorithms C and D (sample-based on- and off-policy MDPO on tabular MDPs), see
:func:`mdpo_on_policy` and :func:`mdpo_off_policy`; the authors' hyper-parameters are in
``PRESETS``.

Choices the papers leave open (all ours):

* Indexing: iterations k = 0, 1, ...; pi_0 uniform unless given. The papers' MDPO code counts
  updates from 1: its t_k = 1 - (k - 1)/n is our ``anneal`` t_k = 1 - k/n.
* Ties (argmax in the adaptive step, greedy optimal policy pi*): lowest action index.
* Adaptive step: if max_s log(1/pi_k(a~_s|s)) is 0 in floating point (pi_k already greedy for
  its own Q, hence optimal), the previous step size is kept (eta_0 = 1 at k = 0).
* MDPO inner step size ``lr="auto"``: min(1, t_k) / max_s w(s) (our stability
  heuristic beta d_k(s) max(1, 1/t_k) <= 1).
* Sampling (C, D): one stream of geometric-length episodes (restart from rho with probability
  1 - gamma after each step), so visited states follow d^pi_rho; Monte-Carlo Q estimates are
  undiscounted episode tails (unbiased); GAE(lambda) uses an explicit gamma and treats a
  restart as a truncation (bootstrapped). Tabular critic for GAE: per-state batch mean of the
  lambda-returns (the least-squares fit the code's 5 epochs of value regression approach).
* Adam state persists across MDPO iterations (one optimiser, as in the authors' code).
* Off-policy critic: one Q table with a Polyak-averaged target, expected SARSA (exact
  expectation over the discrete next action); the code's twin Q nets and V net are a
  function-approximation device. Behaviour actions are sampled from pi_theta (the code acts
  with the mean of a Gaussian, which has no tabular counterpart), uniform before
  ``learning_starts``.
* Exact evaluation: P is held as successor lists (a dense model is compacted once; a
  :class:`SparseTransitions` model is used as it is), and (I - gamma P_pi) V = r_pi is solved by
  a dense LU (LAPACK gesv inside numba): O(S A w) to assemble, O(S^3) to solve, fine for the
  S <= a few thousand this module is meant for. Actions with pi(a|s) < 1e-30 are left out of
  the assembly (below float64 resolution; see ``kernels.pmd.policy_system``).
* Steps are capped at ``ETA_MAX`` = 1e300 (geometric schedules would overflow), and the
  update shifts Q by its per-state maximum so that huge steps stay exact in log space.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..kernels import pmd as kp
from ..models import _validate
from ..models.finite import DiscountedMDP
from ..models.policies import greedy

UPDATES = ("kl", "prox", "cen", "linearized")
ETA_MAX = 1e300   # steps are capped here (geometric schedules overflow to inf otherwise)
SCHEDULES = ("constant", "geometric", "inverse_gamma", "adaptive", "shani",
             "shani_regularized", "anneal", "sequence")
OPTIMIZERS = {"sgd": 0, "adam": 1}
ADVANTAGES = ("mc", "gae")

# The authors' hyper-parameters (read from their code), as presets for the tabular
# sample-based variants. Network-specific settings (MLP sizes, observation normalisation, log-std
# clipping) have no tabular counterpart and are omitted.
PRESETS = {
    # mdpo_on/run_mujoco.py + mdpo_on/mdpo.py (README example: sgd_steps 10)
    "on_policy_authors": dict(batch=2048, m=10, optimizer="adam", lr=3e-4, clip_norm=0.5,
                              advantage="gae", gae_lambda=0.95, standardize=True,
                              schedule="anneal", anneal_updates=10_000_000 // 2048),
    # mdpo_off/run_mujoco.py + mdpo_off/mdpo.py (README example: lam 0.2, sgd_steps 1000)
    "off_policy_authors": dict(lam=0.2, klcoeff=1.0, m_refresh=1000, batch=256,
                               buffer_size=1_000_000, learning_starts=10_000,
                               optimizer="adam", actor_lr=3e-4, critic_lr=3e-4, polyak=0.005),
}


# ============================================================================= validation


def _ell_from_dense(P: np.ndarray):
    """Successor lists (probs, idx) of shape (S, A, w), w = the largest row support."""
    S, A, _ = P.shape
    P2 = P.reshape(S * A, S)
    nz = P2 != 0.0
    w = max(1, int(nz.sum(axis=1).max()))
    order = np.argsort(~nz, axis=1, kind="stable")[:, :w]        # nonzeros first, in order
    probs = np.take_along_axis(P2, order, axis=1)                 # padding entries are 0
    return (np.ascontiguousarray(probs.reshape(S, A, w)),
            np.ascontiguousarray(order.reshape(S, A, w).astype(np.int64)))


_ELL_CACHE: dict = {}


def _dense(mdp):
    """(probs, idx, r, gamma, rho0): P of a DiscountedMDP as successor lists (S, A, w).

    Dense models are compacted once (cached per model object, which is immutable); sparse
    models (:class:`SparseTransitions`) are used as they are."""
    if not isinstance(mdp, DiscountedMDP):
        raise TypeError(f"mdp must be a DiscountedMDP, got {type(mdp).__name__}")
    key = id(mdp)
    hit = _ELL_CACHE.get(key)
    if hit is not None and hit[0] is mdp:
        probs, idx = hit[1], hit[2]
    else:
        if mdp.is_sparse:
            probs = np.ascontiguousarray(mdp.P.probs, dtype=np.float64)
            idx = np.ascontiguousarray(mdp.P.indices, dtype=np.int64)
        else:
            probs, idx = _ell_from_dense(np.asarray(mdp.P))
        if len(_ELL_CACHE) >= 4:
            _ELL_CACHE.clear()
        _ELL_CACHE[key] = (mdp, probs, idx)
    return probs, idx, np.ascontiguousarray(mdp.r), float(mdp.gamma), np.asarray(mdp.rho0)


def _positive(name: str, value) -> float:
    return _validate.real(name, value, lo=0.0, lo_open=True)


def _check_tau(tau, update: str) -> float:
    tau = _validate.real("tau", tau)
    if update == "kl":
        if tau != 0.0:
            raise ValueError(f"tau must be 0 for update='kl' (unregularised PMD), got {tau}; "
                             "use update='prox', 'cen' or 'linearized' for entropy "
                             "regularisation")
        return 0.0
    if tau <= 0.0:
        raise ValueError(f"tau (temperature) must be > 0 for update={update!r}, got {tau}")
    return tau


def _check_update(update) -> str:
    if update not in UPDATES:
        raise ValueError(f"update must be one of {UPDATES}, got {update!r}")
    return update


def _log_policy(name: str, log_pi, S: int, A: int) -> np.ndarray:
    """float64 (S, A) log-policy whose rows are normalised (logsumexp = 0 within 1e-8)."""
    arr = _validate.as_float_array(name, log_pi)
    _validate.shape(name, arr, expected=(S, A))
    if np.isnan(arr).any() or np.isposinf(arr).any():
        idx = np.unravel_index(int(np.argmax(np.isnan(arr) | np.isposinf(arr))), arr.shape)
        raise ValueError(f"{name}[{idx[0]}, {idx[1]}] is {arr[idx]}, expected a log-probability")
    m = arr.max(axis=1)
    lse = m + np.log(np.exp(arr - m[:, None]).sum(axis=1))
    bad = np.abs(lse) > 1e-8
    if bad.any():
        s = int(np.argmax(bad))
        raise ValueError(f"{name}[{s}] has logsumexp {lse[s]:.6g}, expected 0 (a normalised "
                         "log-policy, tolerance 1e-8)")
    return arr


def _initial_log_pi(log_pi0, pi0, S: int, A: int) -> np.ndarray:
    if log_pi0 is not None and pi0 is not None:
        raise ValueError("give at most one of log_pi0 and pi0")
    if pi0 is not None:
        pi0 = _validate.as_float_array("pi0", pi0)
        _validate.shape("pi0", pi0, expected=(S, A))
        _validate.simplex("pi0", pi0)
        with np.errstate(divide="ignore"):
            log_pi = np.log(pi0)
        kp.log_normalize(log_pi, log_pi)
        return log_pi
    if log_pi0 is None:
        return np.full((S, A), -math.log(A))
    return _log_policy("log_pi0", log_pi0, S, A)


def _as_log_pi(pi, log_pi, S, A) -> np.ndarray:
    if (pi is None) == (log_pi is None):
        raise ValueError("give exactly one of pi and log_pi")
    if log_pi is not None:
        return _log_policy("log_pi", log_pi, S, A)
    pi = _validate.as_float_array("pi", pi)
    _validate.shape("pi", pi, expected=(S, A))
    _validate.simplex("pi", pi)
    with np.errstate(divide="ignore"):
        return np.log(pi)


# ============================================================================= exact quantities


def evaluate(mdp, pi=None, *, log_pi=None, tau: float = 0.0):
    """Exact V^pi_tau (S,) and Q^pi_tau (S, A) of a stochastic policy (exact linear solve).

    V^pi_tau(s) = E[sum_t gamma^t (r(s_t, a_t) - tau log pi(a_t|s_t))],
    Q^pi_tau(s, a) = r(s, a) + gamma sum_s' P(s'|s, a) V^pi_tau(s') (tau = 0: the usual ones).
    Give ``pi`` (S, A) or ``log_pi`` (S, A). Dense LU solve of (I - gamma P_pi) V = r_pi.
    """
    Pp, Pi, r, g, _ = _dense(mdp)
    tau = _validate.real("tau", tau, lo=0.0)
    lp = _as_log_pi(pi, log_pi, *r.shape)
    V, Q = np.empty(r.shape[0]), np.empty(r.shape)
    kp.evaluate(Pp, Pi, r, lp, g, tau, V, Q)
    return V, Q


def occupancy(mdp, pi=None, *, log_pi=None, mu=None) -> np.ndarray:
    """d^pi_mu = (1 - gamma) mu^T (I - gamma P_pi)^{-1} (S,); mu defaults to rho0."""
    Pp, Pi, r, g, rho0 = _dense(mdp)
    S, A = r.shape
    lp = _as_log_pi(pi, log_pi, S, A)
    if mu is None:
        mu = rho0
    else:
        mu = _validate.as_float_array("mu", mu)
        _validate.shape("mu", mu, expected=(S,))
        _validate.simplex("mu", mu)
    d = np.empty(S)
    kp.occupancy(Pp, Pi, lp, g, np.ascontiguousarray(mu, dtype=np.float64), d)
    return d


def stationary_distribution(P_pi, tol: float = 1e-9) -> np.ndarray:
    """A stationary law nu = nu P_pi of a row-stochastic (S, S) matrix.

    Least squares on [P_pi^T - I; 1^T] nu = [0; 1]. For a chain with several recurrent classes
    the minimum-norm solution is a positive mixture of their stationary laws, so it is a
    stationary law too. ValueError if the residual exceeds ``tol``.
    """
    P_pi = _validate.as_float_array("P_pi", P_pi)
    _validate.shape("P_pi", P_pi, ndim=2)
    S = P_pi.shape[0]
    _validate.shape("P_pi", P_pi, expected=(S, S))
    _validate.simplex("P_pi", P_pi)
    M = np.vstack([P_pi.T - np.eye(S), np.ones((1, S))])
    b = np.zeros(S + 1)
    b[-1] = 1.0
    nu = np.linalg.lstsq(M, b, rcond=None)[0]
    nu = np.clip(nu, 0.0, None)
    nu /= nu.sum()
    res = float(np.abs(nu @ P_pi - nu).max())
    if res > tol:
        raise ValueError(f"stationary law residual |nu P - nu| = {res:.3g} > tol = {tol:g}")
    return nu


def policy_matrix(mdp, pi) -> np.ndarray:
    """P_pi(s, s') = sum_a pi(a|s) P(s'|s, a), shape (S, S)."""
    Pp, Pi, r, _, _ = _dense(mdp)
    pi = np.asarray(pi, dtype=np.float64)
    S = r.shape[0]
    out = np.zeros((S, S))
    rows = np.broadcast_to(np.arange(S)[:, None, None], Pi.shape)
    np.add.at(out, (rows, Pi), pi[:, :, None] * Pp)
    return out


@dataclass(frozen=True)
class OptimalSolution:
    """V*, Q*, a deterministic optimal pi* (greedy in Q*, ties -> lowest index), and its log.

    For the regularised problem (tau > 0) ``pi`` is pi*_tau = exp((Q*_tau - V*_tau)/tau) and
    ``log_pi`` its logarithm; ``residual`` is the final Bellman residual (sup norm).
    """

    V: np.ndarray
    Q: np.ndarray
    pi: np.ndarray
    log_pi: np.ndarray
    tau: float
    residual: float
    num_iter: int


def optimal(mdp) -> OptimalSolution:
    """V*, Q* and a deterministic pi* by policy iteration (
    :func:`mdptheory.solvers.discounted.policy_iteration`), Bellman residual <= 1e-12 checked.
    """
    from ..solvers.discounted import policy_iteration

    Pp, Pi, r, g, _ = _dense(mdp)
    sol = policy_iteration(mdp)
    V = sol.V
    Q = np.empty(r.shape)
    kp.q_from_v(Pp, Pi, r, g, V, Q)
    residual = float(np.abs(Q.max(axis=1) - V).max())
    pi = greedy(Q)
    with np.errstate(divide="ignore"):
        log_pi = np.log(pi)
    return OptimalSolution(V=V, Q=Q, pi=pi, log_pi=log_pi, tau=0.0, residual=residual,
                           num_iter=sol.num_iter)


def soft_optimal(mdp, tau: float, *, tol: float = 1e-12, max_iter: int = 500) -> OptimalSolution:
    """Entropy-regularised optimum V*_tau, Q*_tau, pi*_tau by soft policy iteration.

    pi_{j+1} = softmax(Q^{pi_j}_tau / tau) (Cen's update at eta_c = (1 - gamma)/tau, a Newton
    method for the soft Bellman equation: monotone, locally quadratic), stopped when the soft
    Bellman residual |tau logsumexp(Q/tau) - V|_inf <= tol * max(1, |V|_inf).
    """
    Pp, Pi, r, g, _ = _dense(mdp)
    tau = _positive("tau", tau)
    S, A = r.shape
    log_pi = np.full((S, A), -math.log(A))
    V, Q = np.empty(S), np.empty((S, A))
    residual = np.inf
    for j in range(1, max_iter + 1):
        kp.evaluate(Pp, Pi, r, log_pi, g, tau, V, Q)
        z = Q / tau
        m = z.max(axis=1)
        lse = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
        residual = float(np.abs(tau * lse - V).max())
        if residual <= tol * max(1.0, float(np.abs(V).max())):
            break
        log_pi = z - lse[:, None]
    else:
        raise RuntimeError(f"soft policy iteration did not reach tol={tol:g} in {max_iter} "
                           f"iterations (residual {residual:.3g})")
    # final consistent triple: V from the soft Bellman equation at the converged Q
    V_soft = tau * lse
    log_pi = z - lse[:, None]
    return OptimalSolution(V=V_soft, Q=Q, pi=np.exp(log_pi), log_pi=log_pi, tau=tau,
                           residual=residual, num_iter=j)


def kl_rows(log_p, log_q) -> np.ndarray:
    """KL(p(.|s) || q(.|s)) per state from log-probabilities (S, A) -> (S,); 0 log 0 = 0."""
    log_p = np.asarray(log_p, dtype=np.float64)
    log_q = np.asarray(log_q, dtype=np.float64)
    p = np.exp(log_p)
    with np.errstate(invalid="ignore"):
        terms = np.where(p > 0, p * (log_p - log_q), 0.0)
    return terms.sum(axis=1)


def entropy_rows(log_p) -> np.ndarray:
    """H(p(.|s)) = -sum_a p log p per state, (S, A) -> (S,)."""
    log_p = np.asarray(log_p, dtype=np.float64)
    p = np.exp(log_p)
    with np.errstate(invalid="ignore"):
        return -np.where(p > 0, p * log_p, 0.0).sum(axis=1)


def kl_to_deterministic(log_pi, actions) -> np.ndarray:
    """KL(delta_{a*_s} || pi(.|s)) = -log pi(a*_s|s) per state; actions (S,) ints."""
    log_pi = np.asarray(log_pi, dtype=np.float64)
    return -log_pi[np.arange(log_pi.shape[0]), np.asarray(actions)]


def npg_to_pmd(eta_npg: float, gamma: float) -> float:
    """PMD step equivalent to an NPG step of Agarwal/Cen normalisation: eta_npg / (1 - gamma)."""
    eta_npg = _positive("eta_npg", eta_npg)
    gamma = _validate.real("gamma", gamma, lo=0.0, hi=1.0, hi_open=True)
    return eta_npg / (1.0 - gamma)


def mismatch_coefficient(mdp, rho=None) -> float:
    """theta_rho = |d^{pi*}_rho / rho|_inf / (1 - gamma) (T3's coefficient; >= 1/(1 - gamma)).

    pi* is the greedy optimal policy of :func:`optimal`. rho (default rho0) needs full support.
    """
    _, _, r, g, rho0 = _dense(mdp)
    rho = rho0 if rho is None else _validate.as_float_array("rho", rho)
    _validate.shape("rho", rho, expected=(r.shape[0],))
    if (rho <= 0).any():
        s = int(np.argmax(rho <= 0))
        raise ValueError(f"rho[{s}] is {rho[s]:.6g}: theta_rho (T3) needs rho with full "
                         "support")
    opt = optimal(mdp)
    d_star = occupancy(mdp, opt.pi, mu=rho)
    return float((d_star / rho).max() / (1.0 - g))


# ============================================================================= updates


def _snap_zero(alpha: float) -> float:
    """alpha, or exactly 0 when it is 0 up to the rounding of 1 - x (|alpha| <= 8 ulp(1)): the
    soft-policy-iteration steps eta = (1 - gamma)/tau (Cen) and eta = 1/tau (linearised) must
    drop the old policy, zero probabilities included (kernels.pmd.mirror_step)."""
    return 0.0 if abs(alpha) <= 8.0 * np.finfo(float).eps else alpha


def update_coefficients(update: str, eta: float, tau: float = 0.0, gamma: float | None = None):
    """(alpha, beta) of log pi+ = alpha log pi + beta Q - lse for ``update`` (module doc)."""
    if update == "kl":
        return 1.0, eta
    if update == "prox":
        return 1.0 / (1.0 + eta * tau), eta / (1.0 + eta * tau)
    if update == "cen":
        return _snap_zero(1.0 - eta * tau / (1.0 - gamma)), eta / (1.0 - gamma)
    if update == "linearized":
        return _snap_zero(1.0 - tau * eta), eta
    raise ValueError(f"update must be one of {UPDATES}, got {update!r}")


def pmd_step(log_pi, Q, eta: float, *, update: str = "kl", tau: float = 0.0,
             gamma: float | None = None) -> np.ndarray:
    """One exact PMD step from log_pi (S, A) with Q (S, A) and step ``eta``.

    ``"kl"``: pi+ prop. to pi e^{eta Q}; ``"prox"``: pi^{1/(1+eta tau)} e^{eta Q/(1+eta tau)};
    ``"cen"``: pi^{1-eta tau/(1-gamma)} e^{eta Q/(1-gamma)} (needs gamma);
    ``"linearized"``: pi^{1-tau eta} e^{eta Q}. Returns the new log-policy.
    """
    update = _check_update(update)
    eta = _positive("eta", eta)
    tau = _check_tau(tau, update)
    lp = _validate.as_float_array("log_pi", log_pi)
    _validate.shape("log_pi", lp, ndim=2)
    Q = _validate.as_float_array("Q", Q)
    _validate.shape("Q", Q, expected=lp.shape)
    if update == "cen":
        if gamma is None:
            raise ValueError("update='cen' needs gamma")
        gamma = _validate.real("gamma", gamma, lo=0.0, hi=1.0, hi_open=True)
    alpha, beta = update_coefficients(update, eta, tau, gamma)
    out = np.empty_like(lp)
    kp.mirror_step(lp, Q, alpha, beta, out)
    return out


# ============================================================================= schedules


@dataclass(frozen=True)
class StepSchedule:
    """Step sizes eta_k (k = 0, 1, ...) of one of the schedules above.

    Build with the factory functions (:func:`constant`, :func:`geometric`,
    :func:`inverse_gamma`, :func:`adaptive`, :func:`shani`, :func:`shani_regularized`,
    :func:`anneal`, :func:`sequence`). Parameters not used by ``kind`` are None.
    """

    kind: str
    eta0: float | None = None
    ratio: float | None = None     # geometric: eta_{k+1}/eta_k (None: theta/(theta-1))
    growth: float | None = None    # inverse_gamma: eta_{k+1}/eta_k (None: 1/gamma)
    c: float | None = None         # adaptive
    C: float | None = None         # shani: C_{omega,1} * C_max
    n: int | None = None           # anneal: number of updates
    etas: tuple | None = None      # sequence

    @property
    def target(self) -> str | None:
        """The theorem the schedule is meant for (module docstring)."""
        return {"geometric": "T3", "inverse_gamma": "T4", "adaptive": "T5", "shani": "T8",
                "shani_regularized": "T8"}.get(self.kind)

    def resolve(self, gamma: float, tau: float, theta: float | None = None) -> "StepSchedule":
        """The same schedule with problem-dependent defaults filled in (ratio, growth)."""
        if self.kind == "geometric" and self.ratio is None:
            if theta is None:
                raise ValueError("geometric schedule with ratio=None needs theta_rho")
            return StepSchedule("geometric", eta0=self.eta0, ratio=theta / (theta - 1.0))
        if self.kind == "inverse_gamma" and self.growth is None:
            return StepSchedule("inverse_gamma", eta0=self.eta0, growth=1.0 / gamma)
        return self

    def eta(self, k: int, *, gamma: float, tau: float = 0.0, log_pi=None, Q=None,
            prev: float | None = None) -> float:
        """eta_k, capped at ``ETA_MAX`` (1e300: by then the step is greedy to float precision).

        The adaptive kind needs the current log_pi and Q (and the previous eta)."""
        return min(self._eta(k, gamma, tau, log_pi, Q, prev), ETA_MAX)

    def _eta(self, k, gamma, tau, log_pi, Q, prev) -> float:
        kind = self.kind
        if kind == "constant":
            return self.eta0
        if kind == "geometric":
            return _power_step(self.eta0, self.ratio, k)
        if kind == "inverse_gamma":
            return _power_step(self.eta0, self.growth, k)
        if kind == "adaptive":
            if not gamma > 0.0:
                raise ValueError(f"the adaptive step (T5) needs gamma > 0, got gamma={gamma}")
            act = np.argmax(Q, axis=1)                                    # a~_s, lowest index
            num = float((-log_pi[np.arange(log_pi.shape[0]), act]).max())
            if not num > 0.0:        # pi_k greedy for its own Q in floating point
                return prev if prev is not None else 1.0
            log_eta = math.log(num) - math.log(self.c) - (k + 1) * math.log(gamma)
            return ETA_MAX if log_eta >= math.log(ETA_MAX) else math.exp(log_eta)
        if kind == "shani":
            return (1.0 - gamma) / (self.C * math.sqrt(k + 1.0))
        if kind == "shani_regularized":
            return 1.0 / (tau * (k + 2.0))
        if kind == "anneal":
            return self.eta0 * (1.0 - k / self.n)
        if kind == "sequence":
            if k >= len(self.etas):
                raise ValueError(f"sequence schedule has {len(self.etas)} steps; step k={k} "
                                 "was asked for")
            return self.etas[k]
        raise ValueError(f"unknown schedule kind {kind!r}")

    def sequence_for(self, K: int, *, gamma: float, tau: float = 0.0) -> np.ndarray | None:
        """eta_0..eta_{K-1} when they do not depend on the iterates (None for ``adaptive``)."""
        if self.kind == "adaptive":
            return None
        return np.array([self.eta(k, gamma=gamma, tau=tau) for k in range(K)])


def _power_step(eta0: float, ratio: float, k: int) -> float:
    """eta0 * ratio^k without overflow (capped at ETA_MAX)."""
    log_eta = math.log(eta0) + k * math.log(ratio)
    return ETA_MAX if log_eta >= math.log(ETA_MAX) else min(math.exp(log_eta), ETA_MAX)


def constant(eta: float = 1.0) -> StepSchedule:
    """eta_k = eta (T2 with update "kl"; T6 with "prox"; T7 with "cen", eta = Cen's eta_c)."""
    return StepSchedule("constant", eta0=_positive("eta", eta))


def geometric(eta0: float = 1.0, ratio: float | None = None) -> StepSchedule:
    """eta_k = eta0 ratio^k; T3 (Xiao) needs ratio >= theta_rho/(theta_rho - 1) (the default)."""
    eta0 = _positive("eta0", eta0)
    if ratio is not None:
        ratio = _positive("ratio", ratio)
    return StepSchedule("geometric", eta0=eta0, ratio=ratio)


def inverse_gamma(eta0: float = 1.0, growth: float | None = None) -> StepSchedule:
    """eta_k = eta0 growth^k with growth = 1/gamma by default (T4 needs growth >= 1/gamma)."""
    eta0 = _positive("eta0", eta0)
    if growth is not None:
        growth = _positive("growth", growth)
    return StepSchedule("inverse_gamma", eta0=eta0, growth=growth)


def adaptive(c: float = 1.0) -> StepSchedule:
    """eta_k = max_s log(1/pi_k(a~_s|s)) / (c gamma^{k+1}), a~_s in argmax Q_k(s, .) (T5)."""
    return StepSchedule("adaptive", c=_positive("c", c))


def shani(C: float = 1.0) -> StepSchedule:
    """t_k = (1 - gamma) / (C sqrt(k + 1)), C = C_{omega,1} C_max (= 1 for KL, r in [0, 1]) (T8)."""
    return StepSchedule("shani", C=_positive("C", C))


def shani_regularized() -> StepSchedule:
    """t_k = 1 / (tau (k + 2)) for the linearised regularised update (T8, regularised)."""
    return StepSchedule("shani_regularized")


def anneal(n: int, t0: float = 1.0) -> StepSchedule:
    """MDPO's on-policy code: t_k = t0 (1 - k/n), k = 0..n-1 (decreasing; no theorem)."""
    return StepSchedule("anneal", eta0=_positive("t0", t0), n=_validate.positive_int("n", n))


def sequence(etas) -> StepSchedule:
    """Explicit steps eta_0, eta_1, ... (each > 0)."""
    arr = _validate.as_float_array("etas", etas)
    _validate.shape("etas", arr, ndim=1)
    _validate.finite("etas", arr)
    bad = arr <= 0
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"etas[{i}] is {arr[i]:.6g}, expected a step size > 0")
    return StepSchedule("sequence", etas=tuple(float(x) for x in arr))


def make_schedule(spec) -> StepSchedule:
    """A StepSchedule from itself, a positive number (constant) or a sequence of steps."""
    if isinstance(spec, StepSchedule):
        return spec
    if isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, bool):
        return constant(spec)
    if isinstance(spec, (list, tuple, np.ndarray)):
        return sequence(spec)
    raise TypeError(f"schedule must be a StepSchedule, a number or a sequence of step sizes, "
                    f"got {type(spec).__name__}")


@dataclass(frozen=True)
class Condition:
    """Whether a schedule meets one theorem's step-size condition, and why."""

    theorem: str
    holds: bool | None        # None: depends on the iterates (checked during the run)
    reason: str


def schedule_conditions(schedule: StepSchedule, *, update: str, gamma: float, tau: float = 0.0,
                        K: int = 1000, theta: float | None = None,
                        full_support: bool = True) -> dict:
    """Which of the theorems' (T1-T8) step-size conditions ``schedule`` meets.

    Returns {"T1": Condition, ..., "T8": Condition} for the first ``K`` steps. ``theta`` is
    theta_rho (needed for T3; None: T3 reported as unknown); ``full_support=False`` (rho0 has
    zeros) rules T3 out.
    """
    sch = schedule
    etas = sch.sequence_for(K, gamma=gamma, tau=tau)
    out = {}

    def put(thm, holds, reason):
        out[thm] = Condition(thm, holds, reason)

    kl = update == "kl"
    # T1: any positive step for KL; for the regularised updates the analogous monotonicity of
    # V_tau holds for prox (any eta), cen with eta_c <= (1-gamma)/tau, linearized with tau t <= 1.
    if kl or update == "prox":
        put("T1", True, "any eta_k > 0")
    elif etas is None:
        put("T1", None, "depends on the iterates")
    elif update == "cen":
        ok = bool(np.all(etas <= (1.0 - gamma) / tau * (1 + 1e-12)))
        put("T1", ok, f"needs eta_c <= (1-gamma)/tau = {(1 - gamma) / tau:.6g}")
    else:
        ok = bool(np.all(tau * etas <= 1.0 + 1e-12))
        put("T1", ok, "needs tau * t_k <= 1")
    if not kl:
        for thm in ("T2", "T3", "T4", "T5"):
            put(thm, False, f"{thm} is for the unregularised KL update, not {update!r}")
    elif etas is None:
        for thm in ("T2", "T3", "T4"):
            put(thm, None, "adaptive steps: depends on the iterates")
        put("T5", True, "adaptive step of T5")
    else:
        nondec = bool(np.all(np.diff(etas) >= -1e-15 * etas[:-1])) if K > 1 else True
        put("T2", nondec, "needs non-decreasing eta_k" + ("" if nondec else
                                                        " (the steps decrease)"))
        ratios = etas[1:] / etas[:-1] if K > 1 else np.array([np.inf])
        if not full_support:
            put("T3", False, "T3 needs rho0 with full support")
        elif theta is None:
            put("T3", None, "needs theta_rho")
        else:
            need = theta / (theta - 1.0)
            ok = bool(np.all(ratios >= need * (1 - 1e-12)))
            put("T3", ok, f"needs eta_(k+1)/eta_k >= theta/(theta-1) = {need:.6g}; smallest "
                          f"ratio {ratios.min():.6g}")
        ok = bool(np.all(ratios >= (1.0 / gamma) * (1 - 1e-12))) if gamma > 0 else False
        put("T4", ok, f"needs eta_(k+1)/eta_k >= 1/gamma = {1 / gamma if gamma > 0 else np.inf:.6g}"
                      f"; smallest ratio {ratios.min():.6g}")
        put("T5", False, "needs the adaptive step of T5")
    if update == "prox":
        ok = sch.kind == "constant"
        put("T6", ok, "constant eta > 0 with the exact entropy prox" if ok else
            "T6 is stated for a constant step")
    else:
        put("T6", False, "T6 is for update='prox'")
    if update == "cen":
        if sch.kind != "constant":
            put("T7", False, "T7 is stated for a constant eta_c")
        else:
            ok = sch.eta0 <= (1.0 - gamma) / tau * (1 + 1e-12)
            put("T7", ok, f"needs 0 < eta_c <= (1-gamma)/tau = {(1 - gamma) / tau:.6g}, "
                          f"got {sch.eta0:.6g}")
    else:
        put("T7", False, "T7 is for update='cen'")
    if sch.kind == "shani" and kl:
        put("T8", True, "Shani et al.'s unregularised schedule")
    elif sch.kind == "shani_regularized" and update == "linearized":
        ok = bool(np.all(tau * etas <= 1 + 1e-12))
        put("T8", ok, "Shani et al.'s regularised schedule (tau t_k <= 1)")
    else:
        put("T8", False, "needs a Shani schedule with its update")
    return out


# Which parameter a violated target condition is about (for the warning text).
_PARAM = {"T2": "eta", "T3": "ratio", "T4": "growth", "T6": "eta", "T7": "eta", "T8": "tau * t_k"}


def _warn_conditions(schedule: StepSchedule, conds: dict, update: str) -> None:
    """Warn when a schedule violates the theorem it targets (module docstring)."""
    target = schedule.target
    if target is None:
        if update == "prox" and schedule.kind == "constant":
            target = "T6"
        elif update == "cen" and schedule.kind == "constant":
            target = "T7"
        elif update == "kl" and schedule.kind in ("constant", "sequence", "anneal"):
            target = "T2"
    if update == "cen" and conds["T1"].holds is False:
        warnings.warn(f"eta={schedule.eta0} violates the condition of T7 (Cen et al. Thm 1) "
                      f"and T1: {conds['T1'].reason}", UserWarning, stacklevel=3)
        return
    if update == "linearized" and conds["T1"].holds is False:
        warnings.warn(f"tau * t_k > 1 for some k: violates the condition of T8 "
                      f"(Shani et al.) and T1: {conds['T1'].reason}", UserWarning, stacklevel=3)
        return
    if target is None or target not in conds:
        return
    c = conds[target]
    if c.holds is False:
        param = _PARAM.get(target, "eta")
        if schedule.kind == "anneal":
            param = "t_k (anneal)"
        elif schedule.kind == "sequence":
            param = "etas"
        ok = sorted(t for t, v in conds.items() if v.holds)
        warnings.warn(f"step-size schedule {schedule.kind!r}: {param} violates the condition "
                      f"of {target}: {c.reason}. Conditions met: {', '.join(ok) or 'none'}",
                      UserWarning, stacklevel=3)


# ============================================================================= exact PMD (Alg. A)


@dataclass(frozen=True)
class PMDIterate:
    """State of exact PMD at iteration k: pi_k (log), its exact V_k (S,), Q_k (S, A) (both
    regularised when tau > 0) and the step eta_k about to be taken (NaN at the last k)."""

    k: int
    log_pi: np.ndarray
    V: np.ndarray
    Q: np.ndarray
    eta: float


def _prepare(mdp, schedule, update, tau, log_pi0, pi0, K, warn):
    P = _dense(mdp)[:2]
    _, _, r, g, rho0 = _dense(mdp)
    update = _check_update(update)
    tau = _check_tau(tau, update)
    schedule = make_schedule(schedule)
    if schedule.kind == "shani_regularized" and update != "linearized":
        raise ValueError("schedule 'shani_regularized' is for update='linearized'")
    if schedule.kind == "adaptive" and not g > 0.0:
        raise ValueError(f"the adaptive step (T5) needs gamma > 0, got gamma={g}")
    theta = None
    if schedule.kind == "geometric":
        if np.all(rho0 > 0):
            theta = mismatch_coefficient(mdp)
        elif schedule.ratio is None:
            raise ValueError("geometric schedule with ratio=None uses theta_rho (T3), which "
                             "needs rho0 with full support; give the ratio explicitly")
    schedule = schedule.resolve(g, tau, theta)
    if schedule.kind == "anneal" and K > schedule.n:
        raise ValueError(f"anneal schedule with n={schedule.n} cannot run K={K} iterations "
                         "(t_k would be <= 0)")
    if schedule.kind == "sequence" and K > len(schedule.etas):
        raise ValueError(f"K={K} iterations need {K} step sizes, etas has {len(schedule.etas)}")
    conds = schedule_conditions(schedule, update=update, gamma=g, tau=tau, K=max(K, 1),
                                theta=theta, full_support=bool(np.all(rho0 > 0)))
    if warn:
        _warn_conditions(schedule, conds, update)
    log_pi = _initial_log_pi(log_pi0, pi0, *r.shape)
    return P, r, g, rho0, update, tau, schedule, conds, log_pi


def pmd_iterates(mdp, K: int, schedule=1.0, *, update: str = "kl", tau: float = 0.0,
                 log_pi0=None, pi0=None, warn: bool = True):
    """Generator of exact PMD iterates k = 0..K (Algorithm A).

    Yields :class:`PMDIterate` for k = 0, ..., K: pi_k with its exact values and eta_k; the
    step to pi_{k+1} is taken after the consumer has seen iterate k (arrays are fresh each k).

    Parameters
    ----------
    mdp : DiscountedMDP
    K : int >= 0
        Number of PMD steps.
    schedule : StepSchedule, float or sequence
        Step sizes (a number is a constant step, a sequence explicit steps).
    update : {"kl", "prox", "cen", "linearized"}
    tau : float
        Entropy temperature; 0 for "kl", > 0 for the others.
    log_pi0, pi0 : array (S, A), optional
        Initial policy (default uniform).
    warn : bool
        Warn if the schedule violates its target theorem's condition.
    """
    K = _check_K(K)
    P, r, g, rho0, update, tau, sch, conds, log_pi = _prepare(
        mdp, schedule, update, tau, log_pi0, pi0, K, warn)
    return _iterates(P, r, g, update, tau, sch, log_pi, K)


def _check_K(K) -> int:
    if isinstance(K, (int, np.integer)) and not isinstance(K, bool) and K == 0:
        return 0
    return _validate.positive_int("K", K)


def _iterates(P, r, g, update, tau, sch, log_pi, K):
    Pp, Pi = P
    S, A = r.shape
    prev = None
    for k in range(K + 1):
        V, Q = np.empty(S), np.empty((S, A))
        kp.evaluate(Pp, Pi, r, log_pi, g, tau, V, Q)
        if k == K:
            yield PMDIterate(k, log_pi, V, Q, float("nan"))
            return
        eta = sch.eta(k, gamma=g, tau=tau, log_pi=log_pi, Q=Q, prev=prev)
        prev = eta
        yield PMDIterate(k, log_pi, V, Q, float(eta))
        alpha, beta = update_coefficients(update, eta, tau, g)
        new = np.empty((S, A))
        kp.mirror_step(log_pi, Q, alpha, beta, new)
        log_pi = new


@dataclass(frozen=True)
class PMDResult:
    """Outcome of :func:`policy_mirror_descent`.

    log_pi, pi (S, A): the last iterate; V (S,), Q (S, A) its exact values; values
    (num_iter + 1, S): V of every iterate; etas (num_iter,): the steps taken; gaps: V*(rho) -
    V^{pi_k}(rho) when a target was known (else None); conditions: the schedule's
    :class:`Condition` per theorem; converged: the gap tolerance was met.
    """

    log_pi: np.ndarray
    pi: np.ndarray
    V: np.ndarray
    Q: np.ndarray
    values: np.ndarray
    etas: np.ndarray
    num_iter: int
    converged: bool
    gaps: np.ndarray | None = None
    conditions: dict = field(default_factory=dict)


def policy_mirror_descent(mdp, K: int = 1000, schedule=1.0, *, update: str = "kl",
                          tau: float = 0.0, log_pi0=None, pi0=None, tol: float | None = None,
                          V_star=None, warn: bool = True) -> PMDResult:
    """Exact policy mirror descent (Algorithm A), at most K steps.

    Stops early when ``tol`` is given and V*(rho) - V^{pi_k}(rho) <= tol (regularised: with
    V*_tau); V* is computed by :func:`optimal` / :func:`soft_optimal` unless ``V_star`` (S,) is
    given. See :func:`pmd_iterates` for the other parameters.
    """
    K = _check_K(K)
    P, r, g, rho0, update, tau, sch, conds, log_pi = _prepare(
        mdp, schedule, update, tau, log_pi0, pi0, K, warn)
    if tol is not None:
        tol = _positive("tol", tol)
        if V_star is None:
            V_star = (optimal(mdp) if update == "kl" else soft_optimal(mdp, tau)).V
    if V_star is not None:
        V_star = _validate.as_float_array("V_star", V_star)
        _validate.shape("V_star", V_star, expected=(r.shape[0],))
        target = float(rho0 @ V_star)
    values, etas, gaps = [], [], []
    converged = False
    last = None
    for it in _iterates(P, r, g, update, tau, sch, log_pi, K):
        last = it
        values.append(it.V)
        if V_star is not None:
            gaps.append(target - float(rho0 @ it.V))
            if tol is not None and gaps[-1] <= tol:
                converged = True
                break
        if not math.isnan(it.eta):
            etas.append(it.eta)
    return PMDResult(log_pi=last.log_pi, pi=np.exp(last.log_pi), V=last.V, Q=last.Q,
                     values=np.array(values), etas=np.array(etas), num_iter=last.k,
                     converged=converged if tol is not None else True,
                     gaps=np.array(gaps) if V_star is not None else None, conditions=conds)


# ============================================================================= Tsallis variant


def _check_q(q) -> float:
    q = _validate.real("q", q, lo=0.0)
    if q <= 0.0 or q == 1.0:
        raise ValueError(f"q must be > 0 and != 1 (q = 1 is the KL step), got q={q}")
    return q


def tsallis_step(log_pi, Q, eta: float, q: float) -> np.ndarray:
    """One exact mirror step with the Tsallis entropy as mirror map (the Tsallis variant of
    MDPO, tabular and exact; our reconstruction, docs/papers/mdpo.md).

    Per state, p+ = argmax_p eta <Q(s), p> - D_q(p, pi(s)) over the simplex, where D_q is the
    Bregman divergence of psi_q(p) = (sum_a p_a^q - 1)/(q - 1), the negative Tsallis entropy
    (q -> 1 gives sum p log p and the KL step). q > 1 gives sparse steps (q = 2: Euclidean
    projection of pi + eta Q / 2); 0 < q < 1 keeps the support of pi. Returns log p+ (S, A),
    -inf where p+ = 0 (kernel: :func:`mdptheory.kernels.pmd.tsallis_step`).
    """
    eta = _positive("eta", eta)
    q = _check_q(q)
    lp = _validate.as_float_array("log_pi", log_pi)
    _validate.shape("log_pi", lp, ndim=2)
    Q = _validate.as_float_array("Q", Q)
    _validate.shape("Q", Q, expected=lp.shape)
    out = np.empty_like(lp)
    kp.tsallis_step(lp, Q, eta, q, out)
    return out


def tsallis_policy_mirror_descent(mdp, K: int, eta: float = 1.0, *, q: float = 2.0,
                                  log_pi0=None, pi0=None) -> PMDResult:
    """Exact tabular PMD with the Tsallis mirror step (:func:`tsallis_step`), constant step
    ``eta``, K steps from pi_0 (uniform by default). Returns a :class:`PMDResult` (gaps to the
    exact optimum V*(rho) of :func:`optimal`)."""
    K = _check_K(K)
    eta = _positive("eta", eta)
    q = _check_q(q)
    (Pp, Pi), r, g, rho0, *_, log_pi = _prepare(mdp, eta, "kl", 0.0, log_pi0, pi0, K, False)
    S, A = r.shape
    target = float(rho0 @ optimal(mdp).V)
    values, gaps = [], []
    for k in range(K + 1):
        V, Q = np.empty(S), np.empty((S, A))
        kp.evaluate(Pp, Pi, r, log_pi, g, 0.0, V, Q)
        values.append(V)
        gaps.append(target - float(rho0 @ V))
        if k == K:
            break
        new = np.empty((S, A))
        kp.tsallis_step(log_pi, Q, eta, q, new)
        log_pi = new
    return PMDResult(log_pi=log_pi, pi=np.exp(log_pi), V=V, Q=Q, values=np.array(values),
                     etas=np.full(K, eta), num_iter=K, converged=True, gaps=np.array(gaps))


# ============================================================================= MDPO (Alg. B)


def mdpo_surrogate(theta, log_pi_k, C, w, t: float):
    """L(theta) and its gradient (S, A), MDPO's tabular surrogate:
    L = sum_s [<pi_theta(s), C(s)> - w(s)/t KL(pi_theta(s) || pi_k(s))]; exact MDPO uses
    C = d_k[:, None] * A_k, w = d_k."""
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    grad = np.empty_like(theta)
    val = kp.mdpo_gradient(theta, np.ascontiguousarray(log_pi_k, dtype=np.float64),
                           np.ascontiguousarray(C, dtype=np.float64),
                           np.ascontiguousarray(w, dtype=np.float64), 1.0 / t, grad)
    return val, grad


@dataclass
class AdamState:
    """Adam moments (S, A) and step counter, persisting across MDPO iterations."""

    m: np.ndarray
    v: np.ndarray
    step: np.ndarray

    @classmethod
    def zeros(cls, S: int, A: int) -> "AdamState":
        return cls(np.zeros((S, A)), np.zeros((S, A)), np.zeros(1, dtype=np.int64))


def _check_m(m):
    if isinstance(m, float) and math.isinf(m) and m > 0:
        return math.inf
    if m is None:
        return math.inf
    return _validate.positive_int("m", m)


def mdpo_update(log_pi_k, C, w, t: float, m=10, *, lr="auto", optimizer: str = "sgd",
                clip_norm: float = 0.0, adam: AdamState | None = None) -> np.ndarray:
    """theta_{k+1} after m ascent steps on the MDPO surrogate from theta = log pi_k.

    m = inf returns the surrogate's maximiser pi_k e^{t C/w} normalised (for w(s) > 0; exact
    MDPO: the PMD iterate pi_k e^{t A_k}); states with w(s) = 0 keep pi_k. ``lr="auto"``:
    min(1, t) / max_s w(s). Returns the new log-policy (S, A) (log-softmax of theta).
    """
    log_pi_k = np.ascontiguousarray(log_pi_k, dtype=np.float64)
    S, A = log_pi_k.shape
    t = _positive("t", t)
    m = _check_m(m)
    C = np.ascontiguousarray(C, dtype=np.float64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {tuple(OPTIMIZERS)}, got {optimizer!r}")
    if m == math.inf:
        A_hat = np.where(w[:, None] > 0, C / np.where(w > 0, w, 1.0)[:, None], 0.0)
        out = np.empty((S, A))
        kp.mirror_step(log_pi_k, A_hat, 1.0, t, out)
        return out
    if isinstance(lr, str):
        if lr != "auto":
            raise ValueError(f"lr must be a positive number or 'auto', got {lr!r}")
        lr = min(1.0, t) / max(float(w.max()), 1e-300)
    lr = _positive("lr", lr)
    clip_norm = _validate.real("clip_norm", clip_norm, lo=0.0)
    if adam is None:
        adam = AdamState.zeros(S, A)
    theta = log_pi_k.copy()
    kp.mdpo_ascent(theta, log_pi_k, C, w, 1.0 / t, lr, m, OPTIMIZERS[optimizer], adam.m,
                   adam.v, adam.step, clip_norm)
    out = np.empty((S, A))
    kp.log_normalize(theta, out)
    return out


@dataclass(frozen=True)
class MDPOIterate:
    """Tabular MDPO with exact gradients at iteration k: pi_k (log), V_k, Q_k, d_k = d^{pi_k}_rho
    (S,), the step t_k, and, for the step just computed, log pi_{k+1} (MDPO) and the exact PMD
    iterate log pi^PMD_{k+1} from the same pi_k (both None at the last k)."""

    k: int
    log_pi: np.ndarray
    V: np.ndarray
    Q: np.ndarray
    d: np.ndarray
    t: float
    log_pi_next: np.ndarray | None
    log_pi_pmd: np.ndarray | None


def mdpo_exact_iterates(mdp, K: int, m=10, schedule=1.0, *, lr="auto",
                        optimizer: str = "sgd", clip_norm: float = 0.0, log_pi0=None,
                        warn: bool = True):
    """Tabular MDPO with exact A_k and d_k (Algorithm B): yields :class:`MDPOIterate`.

    theta_{k+1} = m ascent steps on L_k from theta_k = log pi_k (``lr`` "auto" or a number;
    ``optimizer`` "sgd" or "adam"); m = inf is exact PMD with step t_k.
    """
    K = _validate.positive_int("K", K)
    m = _check_m(m)
    P, r, g, rho0, update, tau, sch, conds, log_pi = _prepare(
        mdp, schedule, "kl", 0.0, log_pi0, None, K, warn)
    Pp, Pi = P
    S, A = r.shape
    adam = AdamState.zeros(S, A)
    for k in range(K + 1):
        V, Q, d = np.empty(S), np.empty((S, A)), np.empty(S)
        kp.evaluate(Pp, Pi, r, log_pi, g, 0.0, V, Q)
        kp.occupancy(Pp, Pi, log_pi, g, rho0, d)
        if k == K:
            yield MDPOIterate(k, log_pi, V, Q, d, float("nan"), None, None)
            return
        t = float(sch.eta(k, gamma=g, log_pi=log_pi, Q=Q))
        A_k = Q - V[:, None]
        pmd = np.empty((S, A))
        kp.mirror_step(log_pi, A_k, 1.0, t, pmd)
        nxt = mdpo_update(log_pi, d[:, None] * A_k, d, t, m, lr=lr, optimizer=optimizer,
                          clip_norm=clip_norm, adam=adam)
        yield MDPOIterate(k, log_pi, V, Q, d, t, nxt, pmd)
        log_pi = nxt


# ============================================================================= sample-based


def _sample(P, r, pi, rho0, g, n, rng, s_cont):
    Pp, Pi = P
    s = np.empty(n, dtype=np.int64)
    a = np.empty(n, dtype=np.int64)
    rew = np.empty(n)
    sn = np.empty(n, dtype=np.int64)
    cont = np.empty(n, dtype=np.int64)
    s_next = kp.sample_stream(Pp, Pi, r, pi, rho0, g, s_cont, rng, s, a, rew, sn, cont)
    return s, a, rew, sn, cont, s_next


def sample_transitions(mdp, pi, n: int, *, rng):
    """n on-policy transitions as geometric-length episodes (see ``kernels.pmd.sample_stream``).

    Returns a dict of arrays s, a, r, s_next (n,) and cont (n,): 1 if the episode continues
    after the transition, 0 if it restarts from rho0.
    """
    Pp, Pi, r, g, rho0 = _dense(mdp)
    pi = _validate.as_float_array("pi", pi)
    _validate.shape("pi", pi, expected=r.shape)
    _validate.simplex("pi", pi)
    n = _validate.positive_int("n", n)
    rng = _validate.rng(rng)
    s, a, rew, sn, cont, _ = _sample((Pp, Pi), r, pi, rho0, g, n, rng, -1)
    return dict(s=s, a=a, r=rew, s_next=sn, cont=cont)


def mc_returns(rew, cont):
    """Undiscounted episode tails G (n,) and a flag (n,) that the episode ended in the batch."""
    rew = np.ascontiguousarray(rew, dtype=np.float64)
    cont = np.ascontiguousarray(cont, dtype=np.int64)
    G = np.empty(rew.shape[0])
    done = np.empty(rew.shape[0], dtype=np.int64)
    kp.episode_returns(rew, cont, G, done)
    return G, done.astype(bool)


def gae_advantages(rew, s, s_next, cont, V_hat, gamma: float, lam: float):
    """GAE(lambda) with explicit gamma, an episode restart treated as a truncation.

    delta_i = r_i + gamma V_hat(s'_i) - V_hat(s_i); A_i = sum_j (gamma lam)^j delta_{i+j} over
    the rest of i's episode. Returns A (n,).
    """
    delta = rew + gamma * V_hat[s_next] - V_hat[s]
    adv = np.empty_like(delta)
    acc = 0.0
    for i in range(delta.shape[0] - 1, -1, -1):
        if cont[i] == 0:
            acc = 0.0
        acc = delta[i] + gamma * lam * acc
        adv[i] = acc
    return adv


@dataclass(frozen=True)
class SampleRun:
    """A sample-based MDPO run: cumulative env samples (n_points,), exact V^{pi}(rho) of the
    policy at each point (n_points,), and the final log-policy (S, A)."""

    samples: np.ndarray
    values: np.ndarray
    log_pi: np.ndarray
    info: dict = field(default_factory=dict)


def _preset(name: str | None, kind: str, kwargs: dict) -> dict:
    if name is None:
        return kwargs
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    if not name.startswith(kind):
        raise ValueError(f"preset {name!r} is not a {kind.replace('_', '-')} preset")
    out = dict(PRESETS[name])
    out.update({k: v for k, v in kwargs.items() if v is not None})
    return out


def mdpo_on_policy(mdp, n_iterations: int, *, rng, preset: str | None = None,
                   batch: int | None = None, m: int | None = None, schedule=None,
                   optimizer: str | None = None, lr=None, clip_norm: float | None = None,
                   advantage: str | None = None, gae_lambda: float | None = None,
                   standardize: bool | None = None, anneal_updates: int | None = None,
                   log_pi0=None) -> SampleRun:
    """Sample-based on-policy tabular MDPO (Algorithm C).

    Per iteration k: ``batch`` on-policy transitions of pi_k (geometric-length episodes);
    advantages by Monte Carlo (``"mc"``: G_i - mean of G over the batch's visits to s_i; only
    transitions of episodes that ended inside the batch) or GAE(lambda) (``"gae"``) with a
    tabular critic refitted each batch; optional per-batch standardisation; then m steps of
    ``optimizer`` on the sampled surrogate
    (1/n) sum_i [pi_theta(a_i|s_i)/pi_k(a_i|s_i)] A_i
    - (1/t_k)(1/n) sum_i KL(pi_theta(s_i)||pi_k(s_i)),
    i.e. the tabular surrogate with w(s) = n(s)/n and C(s, a) = sum_{i at (s,a)} A_i/(n pi_k(a|s)).

    Defaults (no preset): batch 2048, m 10, constant t = 1, SGD with lr "auto", no clipping,
    MC advantages, no standardisation. ``preset="on_policy_authors"`` takes the authors'
    values (read in their code); explicit arguments override a preset. Returns a :class:`SampleRun`
    with the exact value V^{pi_k}(rho) after every iteration.
    """
    kw = _preset(preset, "on_policy", dict(batch=batch, m=m, optimizer=optimizer, lr=lr,
                                            clip_norm=clip_norm, advantage=advantage,
                                            gae_lambda=gae_lambda, standardize=standardize,
                                            anneal_updates=anneal_updates,
                                            schedule=schedule))
    def get(key, default):
        v = kw.get(key)
        return default if v is None else v

    batch = _validate.positive_int("batch", get("batch", 2048))
    m = _check_m(get("m", 10))
    if m == math.inf:
        raise ValueError("sample-based MDPO needs a finite m")
    optimizer = get("optimizer", "sgd")
    lr = get("lr", "auto")
    clip_norm = get("clip_norm", 0.0)
    advantage = get("advantage", "mc")
    if advantage not in ADVANTAGES:
        raise ValueError(f"advantage must be one of {ADVANTAGES}, got {advantage!r}")
    gae_lambda = _validate.real("gae_lambda", get("gae_lambda", 0.95), lo=0.0, hi=1.0)
    standardize = bool(get("standardize", False))
    n_iterations = _validate.positive_int("n_iterations", n_iterations)
    sched = kw.get("schedule")
    if sched == "anneal":
        sched = anneal(get("anneal_updates", n_iterations))
    sched = make_schedule(1.0 if sched is None else sched)
    P, r, g, rho0, _, _, sched, _, log_pi = _prepare(mdp, sched, "kl", 0.0, log_pi0, None,
                                                     n_iterations, True)
    rng = _validate.rng(rng)
    S, A = r.shape
    adam = AdamState.zeros(S, A)
    V_hat = np.zeros(S)
    V, Q = np.empty(S), np.empty((S, A))
    samples, values = [0], []
    kp.evaluate(P[0], P[1], r, log_pi, g, 0.0, V, Q)
    values.append(float(rho0 @ V))
    s_cont = -1
    total = 0
    for k in range(n_iterations):
        pi = np.exp(log_pi)
        s, a, rew, sn, cont, s_cont = _sample(P, r, pi, rho0, g, batch, rng, s_cont)
        total += batch
        if advantage == "mc":
            G, done = mc_returns(rew, cont)
            s, a, adv_target = s[done], a[done], G[done]
            cnt = np.bincount(s, minlength=S).astype(np.float64)
            base = np.bincount(s, weights=adv_target, minlength=S) / np.maximum(cnt, 1.0)
            adv = adv_target - base[s]
        else:
            adv = gae_advantages(rew, s, sn, cont, V_hat, g, gae_lambda)
            targets = adv + V_hat[s]
            cnt = np.bincount(s, minlength=S).astype(np.float64)
            seen = cnt > 0
            V_hat[seen] = (np.bincount(s, weights=targets, minlength=S)[seen] / cnt[seen])
        n = s.shape[0]
        t = float(sched.eta(k, gamma=g))
        if n > 0:
            if standardize and n > 1:
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            w = np.bincount(s, minlength=S) / n
            C = np.zeros((S, A))
            np.add.at(C, (s, a), adv / (n * pi[s, a]))
            log_pi = mdpo_update(log_pi, C, w, t, m, lr=lr, optimizer=optimizer,
                                 clip_norm=clip_norm, adam=adam)
        kp.evaluate(P[0], P[1], r, log_pi, g, 0.0, V, Q)
        samples.append(total)
        values.append(float(rho0 @ V))
    return SampleRun(samples=np.array(samples), values=np.array(values), log_pi=log_pi,
                     info=dict(batch=batch, m=m, optimizer=optimizer, advantage=advantage,
                               standardize=standardize, schedule=sched.kind))


def mdpo_off_policy(mdp, n_steps: int, *, rng, preset: str | None = None,
                    lam: float | None = None, klcoeff: float | None = None,
                    m_refresh: int | None = None, batch: int | None = None,
                    buffer_size: int | None = None, learning_starts: int | None = None,
                    optimizer: str | None = None, actor_lr: float | None = None,
                    critic_lr: float | None = None, polyak: float | None = None,
                    checkpoints=None) -> SampleRun:
    """Off-policy tabular MDPO (Algorithm D): SAC-like actor-critic with the MDPO
    actor loss mean_s sum_a pi_theta [klcoeff (log pi_theta - log pi_old) + lam log pi_old - Q]
    (klcoeff = 1/t_k), old policy refreshed every ``m_refresh`` steps; see
    ``kernels.pmd.off_policy_loop`` for the loop.

    Defaults (no preset): lam 0, klcoeff 1, m_refresh 100, batch 32, buffer 100000,
    learning_starts 100, SGD actor lr 1, critic (TD) step 0.1, polyak 0.05.
    ``preset="off_policy_authors"``: the authors' values (read in their code). ``checkpoints``: step
    counts at which the policy is evaluated exactly (default 30 log-spaced). Returns a
    :class:`SampleRun` (values are unregularised V^{pi}(rho)).
    """
    kw = _preset(preset, "off_policy", dict(lam=lam, klcoeff=klcoeff, m_refresh=m_refresh,
                                             batch=batch, buffer_size=buffer_size,
                                             learning_starts=learning_starts,
                                             optimizer=optimizer, actor_lr=actor_lr,
                                             critic_lr=critic_lr, polyak=polyak))

    def get(key, default):
        v = kw.get(key)
        return default if v is None else v

    lam = _validate.real("lam", get("lam", 0.0), lo=0.0)
    klcoeff = _positive("klcoeff", get("klcoeff", 1.0))
    m_refresh = _validate.positive_int("m_refresh", get("m_refresh", 100))
    batch = _validate.positive_int("batch", get("batch", 32))
    buffer_size = _validate.positive_int("buffer_size", get("buffer_size", 100_000))
    learning_starts = int(get("learning_starts", 100))
    if learning_starts < 0:
        raise ValueError(f"learning_starts must be >= 0, got {learning_starts}")
    optimizer = get("optimizer", "sgd")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {tuple(OPTIMIZERS)}, got {optimizer!r}")
    actor_lr = _positive("actor_lr", get("actor_lr", 1.0))
    critic_lr = _validate.real("critic_lr", get("critic_lr", 0.1), lo=0.0, hi=1.0,
                               lo_open=True)
    polyak = _validate.real("polyak", get("polyak", 0.05), lo=0.0, hi=1.0, lo_open=True)
    n_steps = _validate.positive_int("n_steps", n_steps)
    rng = _validate.rng(rng)
    Pp, Pi, r, g, rho0 = _dense(mdp)
    S, A = r.shape
    if checkpoints is None:
        from ..analysis import log_spaced
        checkpoints = log_spaced(n_steps, 30)
    ck = np.unique(np.asarray(checkpoints, dtype=np.int64))
    if ck.size == 0 or ck[0] < 1 or ck[-1] > n_steps:
        raise ValueError(f"checkpoints must lie in [1, n_steps={n_steps}]")
    theta = np.zeros((S, A))
    theta_old = theta.copy()
    Q = np.zeros((S, A))
    Q_targ = np.zeros((S, A))
    adam_m, adam_v = np.zeros((S, A)), np.zeros((S, A))
    snaps = np.empty((ck.size, S, A))
    kp.off_policy_loop(Pp, Pi, r, rho0, g, n_steps, rng, theta, theta_old, Q, Q_targ, lam,
                       klcoeff, m_refresh, batch, buffer_size, learning_starts, actor_lr,
                       critic_lr, polyak, optimizer == "adam", adam_m, adam_v, ck, snaps)
    lp0 = np.full((S, A), -math.log(A))
    V, Qv = np.empty(S), np.empty((S, A))
    kp.evaluate(Pp, Pi, r, lp0, g, 0.0, V, Qv)
    values = [float(rho0 @ V)]
    lp = np.empty((S, A))
    for i in range(ck.size):
        kp.log_normalize(snaps[i], lp)
        kp.evaluate(Pp, Pi, r, lp, g, 0.0, V, Qv)
        values.append(float(rho0 @ V))
    return SampleRun(samples=np.concatenate([[0], ck]), values=np.array(values),
                     log_pi=lp.copy(), info=dict(lam=lam, klcoeff=klcoeff,
                                                 m_refresh=m_refresh, batch=batch,
                                                 critic=Q.copy()))


__all__ = [
    "UPDATES", "SCHEDULES", "PRESETS", "evaluate", "occupancy", "stationary_distribution",
    "policy_matrix", "optimal", "soft_optimal", "OptimalSolution", "kl_rows", "entropy_rows",
    "kl_to_deterministic", "npg_to_pmd", "mismatch_coefficient", "update_coefficients",
    "pmd_step", "tsallis_step", "tsallis_policy_mirror_descent", "StepSchedule", "constant",
    "geometric", "inverse_gamma", "adaptive", "shani",
    "shani_regularized", "anneal", "sequence", "make_schedule", "Condition",
    "schedule_conditions", "PMDIterate", "pmd_iterates", "PMDResult", "policy_mirror_descent",
    "mdpo_surrogate", "AdamState", "mdpo_update", "MDPOIterate", "mdpo_exact_iterates",
    "sample_transitions", "mc_returns", "gae_advantages", "SampleRun", "mdpo_on_policy",
    "mdpo_off_policy",
]

"""Optimistic rare-switching actor-critic with an off-policy Q*-critic and an exponential-weights
actor, tabular and linear; its hybrid (offline-initialised) and non-optimistic variants.

Paper: K. Tan, W. Fan, Y. Wei (2025), "Actor-Critics Can Achieve Optimal Sample Efficiency",
ICML (PMLR 267:58545-58590; arXiv 2505.03710).

RECONSTRUCTION — read this first. The paper's pseudo-code, algorithm names, switching test,
step sizes and hybrid bound could not be read (only the paper's opening was available). What is
verified
is the skeleton: optimism, an off-policy critic that targets Q* (Bellman-optimality targets),
rare-switching policy resets, the O(d H^5 log|A| / eps^2 + d H^4 log|F| / eps^2) sample
complexity, sqrt(T) regret, gains from offline initialisation, and the non-optimistic variant's
requirement N_off >= c*_off d H^4 / eps^2. This module implements our reconstruction
(docs/papers/actor_critic.md) with the standard tabular (UCBVI critic, count doubling) and linear
(LSVI-UCB critic, determinant doubling) instantiations. It is not the paper's code.

Algorithm:

1. D <- offline data (hybrid) or nothing. Fit the critic f^(0) on D (no data: f_h = H - h,
   the paper's H - h + 1 with 1-based h). k <- 0, t_0 <- 1.
2. For t = 1..T: play pi^t, append its H transitions to D. If the switching test holds, k <- k+1,
   refit the critic f^(k) on all of D (off-policy), t_k <- t + 1, reset the actor to uniform.
3. Actor: pi^t_h(.|s) = softmax(eta (t - t_k) f^(k)_h(s, .)), the closed form of
   pi^{t+1} ∝ pi^t exp(eta f^(k)) from a uniform start; the first episode of a phase is uniform.

Critic (tabular): counts n_h(s, a), empirical P_hat_h, r_hat_h from all data,
    b_h(s, a) = min(H, c_b H sqrt(L / max(1, n_h(s, a)))),   L = ln(S A H T / delta),
    f_h(s, a) = min(H - h, r_hat + P_hat V_{h+1} + b)  (visited),  H - h (unvisited),
    V_h(s) = max_a f_h(s, a)                               (the max makes it target Q*).
Critic (linear): Lambda_h = I + sum phi phi^T over D_h,
    w_h = Lambda_h^{-1} sum phi (r + V_{h+1}(s')),  f_h = clip(<w_h, phi> + beta ||phi||_{Lambda_h^{-1}},
    0, H - h),  beta = c_beta d H sqrt(ln(2 d T / delta)).
Switching: count doubling, some (h, s, a) with n_h(s, a) >= max(1, 2 n^(k)_h(s, a)) (at most
H S A (1 + log2 T) switches); determinant doubling, some h with
log det Lambda_h > log 2 + log det Lambda^(k)_h (at most H d log2(1 + T/d) switches, ||phi|| <= 1).
Step size (our reconstruction): eta = sqrt(8 K_hat log|A| / (T H^2)), K_hat = H d log2(1 + T/d), d
= S A
(tabular) or the feature dimension (linear).

Variants and ablations, all constructor flags:

* hybrid: ``offline_data`` (N_off trajectories of a behaviour policy) initialises D; every refit
  uses offline + online data; the first critic is fitted on the offline data.
* non-optimistic: ``optimistic=False``: no bonus, unvisited pairs get f = 0 (tabular:
  f_h = r_hat + P_hat max_a f_{h+1}, empirical-model VI), beta = 0 (linear). Meant with offline
  data (:meth:`ActorCritic.non_optimistic` warns without it or below the N_off threshold). In
  the purely online setting it is ablation (d).
* (a) ``reset=False``: exponential weights keep accumulating across switches,
  pi ∝ exp(sum over phases of eta n_j f^(j));
* (b) ``switching="every", reset=False``: critic refit after every episode, no resets (with
  ``reset=True`` every episode would be a phase start, i.e. the uniform policy);
* (c) ``target="policy"``: the critic targets Q^{pi} of the policy pi^t played last before the
  refit, V_{h+1}(s') = sum_a pi^t_{h+1}(a|s') f_{h+1}(s', a) (FQE-style), instead of the max
  (all data are still used; optimism kept);
* (d) ``optimistic=False`` without offline data;
* (e) ``eta=numpy.inf``: greedy actor, uniform over the critic's maximisers (the eta -> inf limit
  of the softmax), i.e. the value-based reference "UCBVI with rare switching";
* ``switching="never"``: the first critic is kept for the whole run.

Choices left open by the paper's opening, made here: T in L and beta is T_online + N_off (all
data the critic may see); the bonus is on the per-step counts (``pooled=False``, non-stationary models)
or on counts pooled over h (``pooled=True``, stationary models; then the switch bound is
S A (1 + log2(H T))); Q values are clipped to [0, H - h]; the linear critic regresses the
observed reward with the next value (``rewards="observed"``, the main formula) or adds
the known reward r_h = <phi, theta_h> (``rewards="known"``, the alternative). The PAC
output is the uniform mixture of pi^1..pi^T, whose suboptimality is Reg(T) / T.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..kernels import actor_critic as kac
from ..kernels import actor_critic_loop as kacl
from ..kernels import optimistic as ko
from ..models import _validate
from ..solvers._common import as_finite, finite_policy
from ..solvers.finite import backward_induction, evaluate_finite_policy, occupancy_measure
from . import linear_estimation as le
from ._common import CountStatistics, policy_cache_scratch, require_unit_rewards, step_caps

SWITCHING_TABULAR = ("doubling", "every", "never")
SWITCHING_LINEAR = ("determinant", "every", "never")
TARGETS = ("optimal", "policy")
LINEAR_REWARDS = ("observed", "known")

#: Constants: "theory" = c_b 1 (tabular) and
#: c_beta 1 (linear; the LSVI-UCB absolute constant is not given, 1 is used), "practical" = the
#: practical defaults c_b = c_beta = 0.1. ``ActorCritic(S, A, H, K,
#: **PRESETS_TABULAR["practical"])``, ``LinearActorCritic(model, K, **PRESETS_LINEAR[...])``.
PRESETS_TABULAR = {"theory": {"bonus_scale": 1.0}, "practical": {"bonus_scale": 0.1}}
PRESETS_LINEAR = {"theory": {"beta_scale": 1.0}, "practical": {"beta_scale": 0.1}}


# ----------------------------------------------------------------------------------------------
# formulas (each on its own, for tests and proofs_check)
# ----------------------------------------------------------------------------------------------
def switch_budget(d: int, H: int, T: int) -> float:
    """K_hat = H d log2(1 + T / d): the determinant-doubling switch bound used in eta."""
    return float(H * d * math.log2(1.0 + T / d))


def default_eta(T: int, A: int, H: int, d: int) -> float:
    """eta = sqrt(8 K_hat log|A| / (T H^2)), K_hat = :func:`switch_budget`:
    the minimiser of H (K_hat log|A| / eta + eta T H^2 / 8)."""
    return float(math.sqrt(8.0 * switch_budget(d, H, T) * math.log(A) / (T * H * H)))


def log_term(S: int, A: int, H: int, T: int, delta: float) -> float:
    """L = ln(S A H T / delta) of the tabular bonus."""
    return float(math.log(S * A * H * T / delta))


def tabular_bonus(n_sa, H: int, L: float, c_b: float) -> np.ndarray:
    """b(s, a) = min(H, c_b H sqrt(L / max(1, n(s, a)))), shaped like ``n_sa``."""
    n = np.maximum(np.asarray(n_sa, dtype=np.float64), 1.0)
    return np.minimum(float(H), c_b * H * np.sqrt(L / n))


def linear_beta(d: int, H: int, T: int, delta: float, c_beta: float = 1.0) -> float:
    """beta = c_beta d H sqrt(ln(2 d T / delta))."""
    return float(c_beta * d * H * math.sqrt(math.log(2.0 * d * T / delta)))


def exponential_weights(rewards, eta: float, resets=()) -> np.ndarray:
    """Reference exponential weights on one state: pi_1 uniform, pi_{t+1} ∝ pi_t exp(eta f_t),
    restarted from uniform after every round index in ``resets`` (0-based: after round j the
    next policy is uniform). rewards (T, A); returns the played policies (T, A)."""
    f = np.asarray(rewards, dtype=np.float64)
    T, A = f.shape
    reset_after = {int(j) for j in resets}
    logits = np.zeros(A)
    out = np.empty((T, A))
    for t in range(T):
        z = logits - logits.max()
        p = np.exp(z)
        out[t] = p / p.sum()
        logits = logits + eta * f[t]
        if t in reset_after:
            logits = np.zeros(A)
    return out


# ----------------------------------------------------------------------------------------------
# ground-truth quantities (exact, on a known model)
# ----------------------------------------------------------------------------------------------
def single_policy_concentrability(mdp, mu, pi_star=None) -> float:
    """c*_off = max_h max_{(s, a)} d^{pi*}_h(s, a) / d^mu_h(s, a), exactly, by
    forward occupancy recursions on the true model. ``pi_star`` defaults to the optimal policy of
    :func:`mdptheory.solvers.finite.backward_induction` (ties -> lowest action index). Pairs with
    d^{pi*} = 0 are skipped; inf when mu misses a pair pi* visits."""
    fin = as_finite(mdp)
    mu = finite_policy(fin, mu, "mu")
    pi_star = backward_induction(fin).pi if pi_star is None else finite_policy(fin, pi_star,
                                                                               "pi_star")
    d_star = occupancy_measure(fin, pi_star)
    d_mu = occupancy_measure(fin, mu)
    pos = d_star > 0
    if np.any(pos & (d_mu <= 0)):
        return float("inf")
    return float(np.max(d_star[pos] / d_mu[pos]))


def regret_decomposition(mdp, f, pi) -> dict:
    """The two decompositions of V*_0 - V^pi_0 (at rho0) of the analysis for a critic f (H, S, A):

    (i)  F_0 - V^pi_0 = sum_h E_{d^pi_h}[ g_h(s) ] + sum_h E_{d^pi_h}[ (f_h - T_h f_{h+1})(s, a) ]
         exactly, with F_0 = rho0 . max_a f_0, g_h(s) = max_a f_h(s, a) - <pi_h(.|s), f_h(s, .)>
         (greedy tracking) and T_h f_{h+1} = r_h + P_h max_a f_{h+1} (Bellman error along pi);
         so V* - V^pi <= (greedy tracking) + (Bellman error) whenever F_0 >= V*_0 (optimism).
    (ii) V* - V^pi = sum_h E_{d^{pi*}_h}[ <pi*_h - pi_h, f_h> ] + sum_h E_{d^{pi*}_h}[
         <pi*_h - pi_h, Q^pi_h - f_h> ]  (performance difference; pi* tracking + residual).

    Returns a dict with ``regret``, ``optimistic_value`` (F_0), ``greedy_tracking``,
    ``bellman_error_pi``, ``bellman_error_star`` (sum_h E_{d^{pi*}}[f_h - T_h f_{h+1}]),
    ``star_tracking``, ``star_residual``.
    """
    fin = as_finite(mdp)
    pi = finite_policy(fin, pi)
    f = np.asarray(f, dtype=np.float64)
    _validate.shape("f", f, expected=(fin.H, fin.S, fin.A))
    sol = backward_induction(fin)
    val = evaluate_finite_policy(fin, pi)
    F = np.zeros((fin.H + 1, fin.S))
    F[:fin.H] = f.max(axis=-1)
    Tf = fin.r + np.einsum("hsat,ht->hsa", fin.P, F[1:])          # (T_h f_{h+1})(s, a)
    g = F[:fin.H] - np.einsum("hsa,hsa->hs", pi, f)                 # greedy gap g_h(s)
    d_pi = occupancy_measure(fin, pi)
    d_star = occupancy_measure(fin, sol.pi)
    ds_state = d_star.sum(-1)                                       # d^{pi*}_h(s)
    v_star = sol.value(fin.rho0)
    v_pi = val.value(fin.rho0)
    return {
        "regret": v_star - v_pi,
        "optimistic_value": float(fin.rho0 @ F[0]),
        "greedy_tracking": float(np.einsum("hs,hs->", d_pi.sum(-1), g)),
        "bellman_error_pi": float(np.sum(d_pi * (f - Tf))),
        "bellman_error_star": float(np.sum(d_star * (f - Tf))),
        "star_tracking": float(np.einsum("hs,hsa,hsa->", ds_state, sol.pi - pi, f)),
        "star_residual": float(np.einsum("hs,hsa,hsa->", ds_state, sol.pi - pi, val.Q - f)),
    }


# ----------------------------------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------------------------------
def _eta(eta, temperature, eta_scale, default: float) -> float:
    """The actor's step size from ``eta`` or ``temperature`` (1 / eta), times ``eta_scale``."""
    if eta is not None and temperature is not None:
        raise ValueError(f"give at most one of eta and temperature (= 1 / eta), got eta={eta!r} "
                         f"and temperature={temperature!r}")
    scale = _validate.real("eta_scale", eta_scale, lo=0.0, lo_open=True)
    if temperature is not None:
        tau = _validate.real("temperature", temperature, lo=0.0, lo_open=True)
        return scale / tau
    if eta is None:
        return scale * default
    if isinstance(eta, (float, np.floating)) and math.isinf(eta) and eta > 0:
        return math.inf
    return scale * _validate.real("eta", eta, lo=0.0, lo_open=True)


def check_offline_data(offline_data, S: int, A: int, H: int, name: str = "offline_data"):
    """(s (N, H + 1), a (N, H), r (N, H)) of an offline dataset checked against (S, A, H).

    None -> None. TypeError for missing fields or non-integer states/actions; ValueError for
    shapes that do not match H, different episode counts, states or actions out of range,
    non-finite rewards. Warnings (UserWarning, naming the entry) for rewards outside [0, 1]
    (the theory's range) and for a dataset with no episodes (then None is returned).
    """
    if offline_data is None:
        return None
    for f in ("s", "a", "r"):
        if not hasattr(offline_data, f):
            raise TypeError(f"{name} must have fields s, a, r (a runner.Dataset), got "
                            f"{type(offline_data).__name__} without '{f}'")
    s = np.asarray(offline_data.s)
    a = np.asarray(offline_data.a)
    for f, x, cols, hi, what in (("s", s, H + 1, S, "a state"), ("a", a, H, A, "an action")):
        if x.ndim != 2 or x.shape[1] != cols:
            want = "(N, H + 1)" if f == "s" else "(N, H)"
            raise ValueError(f"{name}.{f} must have shape {want} = (*, {cols}) for H = {H}, got "
                             f"{x.shape}")
        if not np.issubdtype(x.dtype, np.integer):
            raise TypeError(f"{name}.{f} must hold integers, got dtype {x.dtype}")
        bad = (x < 0) | (x >= hi)
        if bad.any():
            i, j = np.unravel_index(int(np.argmax(bad)), x.shape)
            raise ValueError(f"{name}.{f}[{i}, {j}] is {x[i, j]}, expected {what} in "
                             f"[0, {hi})")
    if s.shape[0] != a.shape[0]:
        raise ValueError(f"{name}.s holds {s.shape[0]} episodes but {name}.a holds "
                         f"{a.shape[0]}")
    try:
        r = np.asarray(offline_data.r, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}.r must hold numbers") from exc
    if r.shape != a.shape:
        raise ValueError(f"{name}.r must have shape (N, H) = {a.shape}, got {r.shape}")
    _validate.finite(f"{name}.r", r)
    if a.shape[0] == 0:
        warnings.warn(f"{name} holds no episodes (N_off = 0); running without offline data",
                      UserWarning, stacklevel=3)
        return None
    out = (r < 0) | (r > 1)
    if out.any():
        i, j = np.unravel_index(int(np.argmax(out)), r.shape)
        warnings.warn(f"{name}.r[{i}, {j}] is {float(r[i, j])!r}, outside [0, 1]: the guarantees "
                      f"assume rewards in [0, 1]", UserWarning, stacklevel=3)
    return (np.ascontiguousarray(s, dtype=np.int64), np.ascontiguousarray(a, dtype=np.int64),
            np.ascontiguousarray(r))


def _choice(name, value, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


# ----------------------------------------------------------------------------------------------
# the learner (shared actor and phase bookkeeping)
# ----------------------------------------------------------------------------------------------
class _PhaseActorCritic:
    """Phase bookkeeping and the exponential-weights actor; subclasses provide the critic
    (``_refit``) and the switching statistics (``_record`` -> bool)."""

    d_complexity: int        # the "d" of the bounds: S A (tabular) or the feature dimension

    def check_model(self, mdp) -> None:
        """Called by the runners before the first episode: the sample-complexity and regret
        theorems (Tan, Fan & Wei 2025) assume rewards in [0, 1]."""
        require_unit_rewards(mdp, type(self).__name__,
                             "Tan, Fan & Wei 2025, main theorem and regret corollary")

    def _init_actor(self, eta, temperature, eta_scale, reset, target, switching, options):
        self.switching = _choice("switching", switching, options)
        self.target = _choice("target", target, TARGETS)
        self.reset = bool(reset)
        self.eta_default = default_eta(self.K, self.A, self.H, self.d_complexity)
        self.eta = _eta(eta, temperature, eta_scale, self.eta_default)
        self.episodes = 0                   # t: episodes played
        self.phase_start = 1                # t_k (1-based episode index)
        self.switches = 0                   # k
        self.switch_times = []              # t_k of every switch
        self._base = None if self.reset else np.zeros((self.H, self.S, self.A))  # past logits
        self._E = np.empty((self.H, self.S, self.A))     # exp(eta (f - max_a f)) of the phase
        self._uniform = np.full((self.H, self.S, self.A), 1.0 / self.A)
        self._last_pi = None
        self._pi = self._uniform
        self.target_gap = 0.0               # largest max_a f - <pi_target, f> of any refit

    # -- actor ------------------------------------------------------------------------------
    @property
    def inverse_temperature(self) -> float:
        """eta (t - t_k) of the next episode's softmax (t = episodes played + 1)."""
        if math.isinf(self.eta):
            return math.inf
        return self.eta * (self.episodes + 1 - self.phase_start)

    def _start_phase(self) -> None:
        """Actor of the first episode of a phase (after the critic is (re)fitted)."""
        if math.isinf(self.eta):
            pi = np.empty((self.H, self.S, self.A))
            kac.greedy_uniform_policy(self.Q, pi)
            self._pi = pi
            return
        kac.phase_multipliers(self.Q, self.eta, self._E)
        if self.reset:
            self._pi = self._uniform
        else:
            pi = np.empty((self.H, self.S, self.A))
            kac.actor_policy(self._base, self.Q, 0.0, True, pi)
            self._pi = pi

    def _advance(self) -> None:
        """Actor step inside a phase: pi^{t+1} ∝ pi^t exp(eta f^(k))."""
        if math.isinf(self.eta):
            return                                        # greedy: unchanged inside a phase
        pi = np.empty((self.H, self.S, self.A))
        if self.reset:
            if not kac.actor_step(self._pi, self._E, pi):
                self._pi = pi                             # else saturated: keep the same array
        else:
            kac.actor_policy(self._base, self.Q, self.inverse_temperature, True, pi)
            self._pi = pi

    def policy(self) -> np.ndarray:
        """pi^t[h, s, a] for the next episode t: softmax(eta (t - t_k) f^(k)) (plus the logits of
        earlier phases when ``reset=False``; uniform over the maximisers of f^(k) when eta = inf).
        The same array object is returned until the policy changes; it is never modified."""
        return self._pi

    def update(self, episode) -> None:
        """Append the episode to D; at a switch refit the critic and reset the actor; else take
        one exponential-weights step."""
        pi_played = self._pi
        self.episodes += 1
        switch = self._record(episode)
        if self.switching == "every":
            switch = True
        elif self.switching == "never":
            switch = False
        if switch:
            if not self.reset and math.isfinite(self.eta):
                # the finished phase's multiplier eta (t + 1 - t_k) f^(k) stays in the weights
                self._base += (self.eta * (self.episodes + 1 - self.phase_start)) * self.Q
            self._last_pi = pi_played
            self._refit()
            self.switches += 1
            self.phase_start = self.episodes + 1
            self.switch_times.append(self.phase_start)
            self._start_phase()
        else:
            self._advance()

    def _target_policy(self):
        """pi_target of the critic: the policy played last (ablation c), else None."""
        if self.target == "optimal":
            return None
        if self._last_pi is None:
            return np.full((self.H, self.S, self.A), 1.0 / self.A)
        return self._last_pi

    def metrics(self) -> dict:
        """Columns for the online driver."""
        return {"switches": self.switches, "phase_length": self.episodes + 1 - self.phase_start,
                "eta": self.eta, "target_gap": self.target_gap}

    def _note_target_gap(self, pi_t) -> None:
        """Record how far the Q^pi target of a refit is from the Q* target on the same critic:
        max over (h, s) of max_a f_h(s, a) - <pi_t,h(.|s), f_h(s, .)> (0 for the default)."""
        if pi_t is not None:
            gap = float(np.max(self.Q.max(axis=-1) - np.einsum("hsa,hsa->hs", pi_t, self.Q)))
            self.target_gap = max(self.target_gap, gap)

    # -- variants ---------------------------------------------------------------------------
    @classmethod
    def hybrid(cls, *args, offline_data, **kwargs):
        """The optimistic hybrid variant: the critic starts from ``offline_data``."""
        if offline_data is None:
            raise ValueError("offline_data is required for the hybrid variant, got "
                             "None")
        return cls(*args, offline_data=offline_data, optimistic=True, **kwargs)

    @classmethod
    def non_optimistic(cls, *args, offline_data, c_off=None, eps=None, **kwargs):
        """The non-optimistic hybrid variant: no bonus, critic on offline + online
        data. With ``c_off`` (single-policy concentrability) and ``eps`` given, warns when
        N_off < c_off d H^4 / eps^2, the sufficient condition of the paper (rate only)."""
        obj = cls(*args, offline_data=offline_data, optimistic=False, **kwargs)
        if obj.n_off == 0:
            warnings.warn("offline_data is empty or None: the non-optimistic actor-critic has "
                          "no guarantee without offline data", UserWarning,
                          stacklevel=2)
        if (c_off is None) != (eps is None):
            raise ValueError(f"give both c_off and eps (or neither), got c_off={c_off!r}, "
                             f"eps={eps!r}")
        if c_off is not None:
            c_off = _validate.real("c_off", c_off, lo=1.0)
            eps = _validate.real("eps", eps, lo=0.0, lo_open=True)
            need = c_off * obj.d_complexity * obj.H ** 4 / eps ** 2
            if obj.n_off < need:
                warnings.warn(f"offline_data holds N_off = {obj.n_off} episodes < c_off d H^4 / "
                              f"eps^2 = {need:.4g} (c_off = {c_off:.4g}, d = "
                              f"{obj.d_complexity}, H = {obj.H}, eps = {eps:.4g}): below the "
                              f"non-optimistic variant's requirement", UserWarning,
                              stacklevel=2)
        return obj


class ActorCritic(_PhaseActorCritic):
    """Tabular optimistic actor-critic.

    Online learner for :func:`mdptheory.runner.online`: :meth:`policy` for the next episode,
    :meth:`update` after it (one kernel call per episode), and ``compiled_episodes``, the
    driver's compiled loop (:mod:`mdptheory.kernels.actor_critic_loop`; every constructor
    variant; the same table bit for bit as the generic loop).

    Parameters
    ----------
    S, A, H : int
        States, actions, horizon.
    K : int
        Online episodes T of the run (enters eta, L).
    delta : float
        Confidence level in (0, 1) of the bonus.
    bonus_scale : float
        c_b of b = min(H, c_b H sqrt(L / n)), >= 0 (1 = theory, 0.1 = practical).
    eta : float, optional
        Actor step size > 0, or ``numpy.inf`` for the greedy actor (ablation e). Default
        :func:`default_eta` with d = S A.
    eta_scale : float
        Multiplier of eta (> 0; the experiment's sweep x {0.1, 0.3, 1, 3, 10}).
    temperature : float, optional
        1 / eta (> 0), instead of ``eta``.
    switching : {"doubling", "every", "never"}
        Count doubling (default), refit after every episode, or never refit.
    reset : bool
        Reset the actor to uniform at each switch (default; False = ablation a).
    target : {"optimal", "policy"}
        Critic targets Q* (default) or Q^{pi} of the last played policy (ablation c).
    optimistic : bool
        Bonus and optimistic unvisited pairs (default); False = the non-optimistic critic.
    offline_data : runner.Dataset, optional
        Offline trajectories initialising the critic (hybrid).
    pooled : bool
        Pool counts over steps (stationary models); default per-step counts.

    Attributes
    ----------
    Q : ndarray (H, S, A)
        The phase's critic f^(k); ``V`` (H + 1, S) its values.
    stats : CountStatistics
        Counts and empirical model of all data (offline + online).
    switches : int
        Number of critic refits / actor resets so far.
    """

    def __init__(self, S: int, A: int, H: int, K: int, *, delta: float = 0.1,
                 bonus_scale: float = 1.0, eta=None, eta_scale: float = 1.0, temperature=None,
                 switching: str = "doubling", reset: bool = True, target: str = "optimal",
                 optimistic: bool = True, offline_data=None, pooled: bool = False):
        self.S = S = _validate.positive_int("S", S)
        self.A = A = _validate.positive_int("A", A)
        self.H = H = _validate.positive_int("H", H)
        self.K = _validate.positive_int("K", K)
        self.delta = _validate.real("delta", delta, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        self.bonus_scale = _validate.real("bonus_scale", bonus_scale, lo=0.0)
        self.optimistic = bool(optimistic)
        self.pooled = bool(pooled)
        self.d_complexity = S * A
        # kernel state (mdptheory.kernels.actor_critic_loop): [t, t_k, k, last_pi set] and
        # [largest target gap]; episodes, phase_start, switches, target_gap read them
        self._counters = np.array([0, 1, 0, 0], dtype=np.int64)
        self._fstate = np.zeros(1)
        self._init_actor(eta, temperature, eta_scale, reset, target, switching,
                         SWITCHING_TABULAR)
        data = check_offline_data(offline_data, S, A, H)
        self.stats = CountStatistics(S, A, H, pooled=self.pooled)
        self.n_off = 0
        if data is not None:
            s, a, r = data
            ko.record_episodes(s, a, r, self.stats.n_sa, self.stats.n_sas, self.stats.r_sum,
                               self.stats.n_s, self.stats.P_hat, self.stats.r_hat,
                               self.stats.succ, self.stats.n_succ)
            self.n_off = a.shape[0]
        self.L = log_term(S, A, H, self.K + self.n_off, self.delta)
        self.v_max = step_caps(H)                                # H - h
        self._unvisited = self.v_max if self.optimistic else np.zeros(H)
        self.Q = np.broadcast_to(self.v_max[:, None, None], (H, S, A)).copy()   # f[h, s, a]
        self.V = np.zeros((H + 1, S))                                            # V[h, s]
        self._act = np.zeros((H, S), dtype=np.int64)
        self.n_snap = self.stats.n_sa.copy()                     # n^(k) at the last switch
        self._bonus = np.zeros(self.stats.n_sa.shape)            # b of the last refit
        self._pi_work = np.empty((H, S, A))                      # the kernels' pi^t
        self._last_pi_work = np.zeros((H, S, A))                 # pi played at the last switch
        self._consts = np.array([self.eta, self.L, self.bonus_scale])
        self._flags = np.array([kacl.SWITCH_CODES[self.switching], self.reset,
                                self.target == "policy", self.optimistic, math.isinf(self.eta)],
                               dtype=np.int64)
        self._kernel_state = (
            (self.stats.n_sa, self.stats.n_sas, self.stats.r_sum, self.stats.n_s,
             self.stats.P_hat, self.stats.r_hat, self.stats.succ, self.stats.n_succ),
            (self.Q, self.V, self._act, self._bonus, self.v_max, self._unvisited, self.n_snap),
            (self._pi_work, self._pi_work.view(np.int64), np.empty((H, S, A)), self._E,
             np.zeros((H, S, A)) if self._base is None else self._base, self._last_pi_work,
             self._uniform),
            self._consts, self._flags, self._counters, self._fstate)
        self._flat_state = tuple(x for part in self._kernel_state
                                 for x in (part if isinstance(part, tuple) else (part,)))
        self._episode = (np.zeros(H + 1, dtype=np.int64), np.zeros(H, dtype=np.int64),
                         np.zeros(H))                            # scratch of the compiled loop
        self._switch_log = np.zeros(0, dtype=np.int64)
        self._no_tracking = (np.zeros((H, S)), np.zeros((H, S, A)), np.zeros(1))
        if data is not None or not self.optimistic:
            self._refit()
        self._start_phase()

    # the kernels keep t, t_k, k and the target gap in arrays (shared with the compiled loop)
    episodes = property(lambda self: int(self._counters[0]),
                        lambda self, v: self._counters.__setitem__(0, v),
                        doc="t: episodes played.")
    phase_start = property(lambda self: int(self._counters[1]),
                           lambda self, v: self._counters.__setitem__(1, v),
                           doc="t_k: the (1-based) first episode of the current phase.")
    switches = property(lambda self: int(self._counters[2]),
                        lambda self, v: self._counters.__setitem__(2, v),
                        doc="k: critic refits / actor resets so far.")
    target_gap = property(lambda self: float(self._fstate[0]),
                          lambda self, v: self._fstate.__setitem__(0, v),
                          doc="Largest max_a f - <pi_target, f> of any refit (0 for Q*).")

    @property
    def name(self) -> str:
        return "AC" if self.optimistic else "AC-nonopt"

    def hyperparameters(self) -> dict:
        """The constants of this run (for the experiment's DataFrame)."""
        return {"delta": self.delta, "bonus_scale": self.bonus_scale, "eta": self.eta,
                "switching": self.switching, "reset": self.reset, "target": self.target,
                "optimistic": self.optimistic, "pooled": self.pooled, "L": self.L,
                "n_off": self.n_off}

    def bonus(self) -> np.ndarray:
        """b (G, S, A) on the current counts (0 when not optimistic)."""
        if not self.optimistic:
            return np.zeros(self.stats.n_sa.shape)
        return tabular_bonus(self.stats.n_sa, self.H, self.L, self.bonus_scale)

    def _refit(self) -> None:
        """Refit the critic on all data (the optimistic Q*-critic is UCBVI's backward pass
        without the monotone min; the other variants use the general critic pass), with the
        target gap and the count snapshot: :func:`mdptheory.kernels.actor_critic_loop.ac_refit`,
        the refit of the compiled loop."""
        stats, critic, actor, consts, flags, counters, fstate = self._kernel_state
        kacl.ac_refit(stats, critic, actor, consts, flags, counters, fstate)

    def _start_phase(self) -> None:
        """Actor of the first episode of a phase (after the critic is (re)fitted)."""
        _, critic, actor, consts, flags, _, _ = self._kernel_state
        kacl.ac_start_phase(critic, actor, consts, flags)
        self._pi = self._pi_work.copy()

    def update(self, episode) -> None:
        """Append the episode to D; at a switch refit the critic and reset the actor; else take
        one exponential-weights step: one call of
        :func:`mdptheory.kernels.actor_critic_loop.ac_update`, the step of the compiled loop."""
        pi_played = self._pi
        code = kacl.ac_update(episode.s, episode.a, np.asarray(episode.r, dtype=np.float64),
                              *self._flat_state)
        if code:
            self._pi = self._pi_work.copy()          # a new array; the old one is never touched
            if code == 2:
                self._last_pi = pi_played
                self.switch_times.append(self.phase_start)

    @property
    def compiled_episodes(self):
        """The compiled episode loop for :func:`mdptheory.runner.online` (see its module
        docstring): every constructor variant has one. A subclass that overrides the step
        (``policy``, ``update``, ``_refit`` or ``_start_phase``) has none: the attribute then
        raises AttributeError, so ``getattr(learner, "compiled_episodes", None)`` is None and
        the driver runs its generic loop."""
        cls = type(self)
        for name in ("policy", "update", "_refit", "_start_phase"):
            if getattr(cls, name) is not getattr(ActorCritic, name):
                raise AttributeError(f"{cls.__name__} overrides {name}(): no compiled episode "
                                     f"loop (the online driver uses its generic loop)")
        return self._compiled_episodes

    def _compiled_episodes(self, truth, tally, U, bernoulli_rewards: bool,
                           tracking=None) -> None:
        """Run U.shape[0] episodes in one compiled call
        (:func:`mdptheory.kernels.actor_critic_loop.actor_critic_episodes`: same kernels, same
        order as :meth:`update`), then sync the Python-side policy, switch times, last policy.
        ``tracking`` = (d_star, pi_star, acc (1,)): :class:`ActorTracking`'s term, added to
        acc[0] per episode."""
        kinds, pkeys, act_work = policy_cache_scratch(self, tally)
        n = U.shape[0]
        if self._switch_log.shape[0] < n:
            self._switch_log = np.zeros(n, dtype=np.int64)
        n_sw = kacl.actor_critic_episodes(truth, tally, U, bool(bernoulli_rewards),
                                          *self._kernel_state, pkeys, kinds, act_work,
                                          self._switch_log, *self._episode,
                                          tracking is not None,
                                          *(self._no_tracking if tracking is None else tracking))
        if n_sw:
            self.switch_times.extend(self._switch_log[:n_sw].tolist())
            self._last_pi = self._last_pi_work.copy()
        if not np.array_equal(self._pi, self._pi_work):
            self._pi = self._pi_work.copy()

    def __repr__(self) -> str:
        return (f"ActorCritic(S={self.S}, A={self.A}, H={self.H}, K={self.K}, eta={self.eta:.4g}, "
                f"switching={self.switching!r}, reset={self.reset}, target={self.target!r}, "
                f"optimistic={self.optimistic}, n_off={self.n_off})")


class RidgeStatistics:
    """Per-step ridge statistics of all data (offline + online) of the linear critic.

    Lambda (H, d, d) = ridge I + sum phi phi^T, its inverse Lambda_inv (H, d, d) kept by
    Sherman-Morrison, M (H, d, S) = sum of phi grouped by next state, counts (H, S), reward_sum
    (H, d) = sum phi r: the statistics of
    :class:`mdptheory.algorithms.linear_estimation.OnlineRidge`, updated by one compiled kernel
    per episode (:func:`mdptheory.kernels.actor_critic.ridge_episode_update`, built on the
    shared Sherman-Morrison kernel) instead of its Python loop over h; :meth:`step` hands the
    shared :class:`~mdptheory.algorithms.linear_estimation.RidgeStep` (solves) to the critic.
    """

    def __init__(self, phi, H: int, ridge: float):
        self.phi = np.ascontiguousarray(phi, dtype=np.float64)
        S, _, d = self.phi.shape
        self.H = H
        self.ridge = ridge
        self.Lambda = np.broadcast_to(ridge * np.eye(d), (H, d, d)).copy()       # Lambda[h]
        self.Lambda_inv = np.broadcast_to(np.eye(d) / ridge, (H, d, d)).copy()
        self.M = np.zeros((H, d, S))                                          # M[h, :, s']
        self.counts = np.zeros((H, S))                                        # counts[h, s']
        self.reward_sum = np.zeros((H, d))
        self.n = 0
        self._quad = np.empty(H)

    def update(self, s, a, r) -> np.ndarray:
        """Add one episode; returns phi^T Lambda_h^{-1} phi before the update, per h (H,)."""
        kac.ridge_episode_update(self.phi, s, a, r, self.Lambda, self.Lambda_inv, self.M,
                                 self.counts, self.reward_sum, self._quad)
        self.n += 1
        return self._quad

    def add_dataset(self, dataset, fm) -> None:
        """Add N episodes at once (shared :func:`linear_estimation.offline_ridge_steps`)."""
        eye = self.ridge * np.eye(self.Lambda.shape[1])
        for h, st in enumerate(le.offline_ridge_steps(dataset, fm, self.ridge)):
            self.Lambda[h] += st.Lambda - eye
            self.Lambda_inv[h] = np.linalg.inv(self.Lambda[h])
            self.M[h][:, st.cols] += st.M
            self.counts[h, st.cols] += st.counts
            self.reward_sum[h] += st.reward_sum
        self.n += len(dataset)

    def step(self, h: int) -> le.RidgeStep:
        """The regression of step h over the next states observed so far."""
        cols = np.flatnonzero(self.counts[h] > 0)
        return le.RidgeStep(Lambda=self.Lambda[h], M=np.ascontiguousarray(self.M[h][:, cols]),
                            cols=cols, counts=self.counts[h, cols],
                            reward_sum=self.reward_sum[h], Lambda_inv=self.Lambda_inv[h])


class LinearActorCritic(_PhaseActorCritic):
    """Linear optimistic actor-critic: LSVI-UCB critic refit at determinant-doubling
    switches, exponential-weights actor tabulated over the finite state set.

    Parameters
    ----------
    model : LinearMDP or linear_estimation.FeatureModel
        Known features phi (S, A, d) (||phi|| <= 1) and, for ``rewards="known"``, rewards.
    K : int
        Online episodes T.
    delta : float
        Confidence level in (0, 1).
    beta_scale : float
        c_beta of beta = c_beta d H sqrt(ln(2 d T / delta)), >= 0 (1 = theory, 0.1 practical).
    beta : float, optional
        The bonus scale itself (>= 0), instead of ``beta_scale``.
    ridge : float
        Ridge parameter of Lambda = ridge I + sum phi phi^T (> 0; default 1).
    eta, eta_scale, temperature, reset, target, optimistic, offline_data
        As in :class:`ActorCritic` (default eta with d = feature dimension).
    switching : {"determinant", "every", "never"}
        Determinant doubling (default; alias "doubling"), every episode, never.
    rewards : {"observed", "known"}
        Regress the observed reward with the next value (default) or add the known r_h.
    """

    def __init__(self, model, K: int, *, delta: float = 0.1, beta_scale: float = 1.0,
                 beta=None, ridge: float = 1.0, eta=None, eta_scale: float = 1.0,
                 temperature=None, switching: str = "determinant", reset: bool = True,
                 target: str = "optimal", optimistic: bool = True, offline_data=None,
                 rewards: str = "observed"):
        self.fm = fm = le.feature_model(model)
        self.S, self.A, self.H, self.d = fm.S, fm.A, fm.H, fm.d
        self.K = _validate.positive_int("K", K)
        self.delta = _validate.real("delta", delta, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        self.ridge_param = _validate.real("ridge", ridge, lo=0.0, lo_open=True)
        self.optimistic = bool(optimistic)
        self.rewards = _choice("rewards", rewards, LINEAR_REWARDS)
        self.d_complexity = self.d
        if switching == "doubling":
            switching = "determinant"
        self._init_actor(eta, temperature, eta_scale, reset, target, switching,
                         SWITCHING_LINEAR)
        data = check_offline_data(offline_data, self.S, self.A, self.H)
        self.ridge = RidgeStatistics(fm.phi, self.H, self.ridge_param)
        self.n_off = 0
        if data is not None:
            self._add_offline(offline_data)
        T = self.K + self.n_off
        if beta is not None:
            self.beta_scale = None
            self.beta = _validate.real("beta", beta, lo=0.0)
        else:
            self.beta_scale = _validate.real("beta_scale", beta_scale, lo=0.0)
            self.beta = linear_beta(self.d, self.H, T, self.delta, self.beta_scale)
        if not self.optimistic:
            self.beta = 0.0
        self.v_max = np.asarray(fm.v_max[:self.H], dtype=np.float64)
        self.logdet = np.array([np.linalg.slogdet(L)[1] for L in self.ridge.Lambda])
        self.logdet_snap = self.logdet.copy()
        self.Q = np.broadcast_to(self.v_max[:, None, None], (self.H, self.S, self.A)).copy()
        self.V = np.zeros((self.H + 1, self.S))
        if data is not None or not self.optimistic:
            self._refit()
        self._start_phase()

    @property
    def name(self) -> str:
        return "LinAC" if self.optimistic else "LinAC-nonopt"

    def hyperparameters(self) -> dict:
        return {"delta": self.delta, "beta": self.beta, "beta_scale": self.beta_scale,
                "eta": self.eta, "ridge": self.ridge_param, "switching": self.switching,
                "reset": self.reset, "target": self.target, "optimistic": self.optimistic,
                "rewards": self.rewards, "n_off": self.n_off}

    def _add_offline(self, dataset) -> None:
        self.ridge.add_dataset(dataset, self.fm)
        self.n_off = len(dataset)

    def _record(self, episode) -> bool:
        quad = self.ridge.update(episode.s, episode.a, episode.r)
        self.logdet += np.log1p(quad)                    # det(L + x x^T) = det L (1 + x^T L^-1 x)
        return bool(np.any(self.logdet > math.log(2.0) + self.logdet_snap))

    def _refit(self) -> None:
        fm = self.fm
        pi_t = self._target_policy()
        V = self.V
        for h in range(self.H - 1, -1, -1):
            st = self.ridge.step(h)
            y = st.M @ V[h + 1][st.cols]                        # sum_t phi_t V_{h+1}(s'_t)
            if self.rewards == "observed":
                y = y + st.reward_sum                           # + sum_t phi_t r_t
            w = st.solve(y)                                     # ridge fit Lambda^{-1} y
            q = fm.phi @ w
            if self.rewards == "known":
                q = q + fm.r[h]
            if self.beta > 0:
                q = q + le.elliptical_bonus(fm.phi, st.Lambda_inv, self.beta)
            q = np.clip(q, 0.0, self.v_max[h])
            self.Q[h] = q
            V[h] = q.max(axis=-1) if pi_t is None else np.einsum("sa,sa->s", pi_t[h], q)
        self._note_target_gap(pi_t)
        self.logdet_snap[:] = self.logdet

    def __repr__(self) -> str:
        return (f"LinearActorCritic(S={self.S}, A={self.A}, H={self.H}, d={self.d}, K={self.K}, "
                f"eta={self.eta:.4g}, beta={self.beta:.4g}, switching={self.switching!r}, "
                f"reset={self.reset}, target={self.target!r}, n_off={self.n_off})")


class ActorTracking:
    """Wraps an actor-critic learner and accumulates, over the episodes it plays, the actor's
    pi*-tracking term of the performance-difference decomposition (:func:`regret_decomposition`
    (ii)):

        sum_t sum_h E_{s ~ d^{pi*}_h}[ <pi*_h(.|s) - pi^t_h(.|s), f^(k)_h(s, .)> ],

    with f^(k) the critic of the phase in which pi^t is played and d^{pi*}, pi* exact on the
    true model (so d^{pi*} is computed once). The exponential-weights analysis bounds it
    deterministically by H ((K + 1) log|A| / eta + eta T H^2 / 8) with K the number of switches
    (:func:`mdptheory.bounds.actor_critic.actor_tracking_regret`). The wrapper is itself an
    online learner: ``metrics()`` adds the column ``actor_tracking``.
    """

    def __init__(self, learner, mdp):
        if not hasattr(learner, "Q") or not hasattr(learner, "policy"):
            raise TypeError(f"learner must be an ActorCritic or LinearActorCritic, got "
                            f"{type(learner).__name__}")
        fin = as_finite(mdp)
        if (fin.H, fin.S, fin.A) != tuple(learner.Q.shape):
            raise ValueError(f"mdp has (H, S, A) = {(fin.H, fin.S, fin.A)} but the learner's "
                             f"critic has shape {tuple(learner.Q.shape)}")
        self.learner = learner
        sol = backward_induction(fin)
        self._pi_star = np.ascontiguousarray(sol.pi, dtype=np.float64)
        self._d_star = np.ascontiguousarray(occupancy_measure(fin, sol.pi).sum(axis=-1))
        self.actor_tracking = 0.0
        self._tracking = np.zeros(1)           # the compiled loop's accumulator

    @property
    def name(self) -> str:
        return self.learner.name

    def check_model(self, mdp) -> None:
        self.learner.check_model(mdp)

    def policy(self) -> np.ndarray:
        return self.learner.policy()

    def update(self, episode) -> None:
        """Add this episode's term (the policy played and the phase's critic, before the
        update; :func:`mdptheory.kernels.actor_critic_loop.pi_star_tracking`), then update."""
        self.actor_tracking += kacl.pi_star_tracking(self._d_star, self._pi_star,
                                                     self.learner.policy(), self.learner.Q)
        self.learner.update(episode)

    @property
    def compiled_episodes(self):
        """The wrapped tabular :class:`ActorCritic`'s compiled loop with the tracking term
        accumulated inside it (the same kernel as :meth:`update`); AttributeError (so the
        online driver runs its generic loop) for a learner without one, e.g. the linear one,
        or for a subclass overriding ``update``."""
        inner = getattr(self.learner, "compiled_episodes", None)
        if (inner is None or not isinstance(self.learner, ActorCritic)
                or type(self).update is not ActorTracking.update):
            raise AttributeError(f"{type(self).__name__} of {type(self.learner).__name__}: no "
                                 f"compiled episode loop (the online driver uses its generic "
                                 f"loop)")
        return self._compiled_episodes

    def _compiled_episodes(self, truth, tally, U, bernoulli_rewards: bool) -> None:
        self._tracking[0] = self.actor_tracking
        self.learner._compiled_episodes(truth, tally, U, bernoulli_rewards,
                                        tracking=(self._d_star, self._pi_star, self._tracking))
        self.actor_tracking = float(self._tracking[0])

    def metrics(self) -> dict:
        return {**self.learner.metrics(), "actor_tracking": self.actor_tracking}


__all__ = [
    "LINEAR_REWARDS",
    "PRESETS_LINEAR",
    "PRESETS_TABULAR",
    "SWITCHING_LINEAR",
    "SWITCHING_TABULAR",
    "TARGETS",
    "ActorCritic",
    "ActorTracking",
    "LinearActorCritic",
    "RidgeStatistics",
    "check_offline_data",
    "default_eta",
    "exponential_weights",
    "linear_beta",
    "log_term",
    "regret_decomposition",
    "single_policy_concentrability",
    "switch_budget",
    "tabular_bonus",
]

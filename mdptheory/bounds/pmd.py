"""Convergence bounds of exact tabular policy mirror descent (PMD), the statements T1-T8 (our
numbering, defined in docs/papers/mdpo.md), each with its step-size condition.

Setting: discounted MDP, rewards in [0, 1], exact Q^{pi_k}, KL-PMD pi_{k+1} prop. to
pi_k e^{eta_k Q_k} unless stated otherwise; pi* a deterministic optimal policy;
D*_mu(pi) = E_{s~mu} KL(pi*(.|s) || pi(.|s)) (= log A for uniform pi_0); d* = d^{pi*}_rho.

Provenance: T0-T6 are our derivations (numerically verified in ``proofs_check/mdpo.py``),
matching Xiao (2022), Lan (2022) and Johnson et al. (2023) in form (their papers' bodies could
not be read); T7 is Cen et al. (2022) Theorem 1 as we recall it (numerically consistent); T8
are Shani et al. (2020) rates with unknown constants (``constants="rate-only"``). "Paper"
constants below mean our derived constants.

Conditions. Every bound function takes the step-size information its theorem needs and checks
the condition; when it fails the function warns (``warnings.warn``, naming the parameter and the
theorem) and returns NaN (the bound is not valid there). Bad values (steps <= 0, tau <= 0)
raise ValueError naming the parameter.

Linear-rate theorems have no power-law exponent in k; their ``exponent`` field is NaN and the
rate is given in ``quantity``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..models import _validate
from .base import register

_XIAO = "Xiao (2022), On the convergence rates of policy gradient methods, JMLR"
_LAN = "Lan (2022), Policy mirror descent for reinforcement learning, Math. Program."
_JOHNSON = ("Johnson, Pike-Burke & Rebeschini (2023), Optimal convergence rate for exact "
            "policy mirror descent in discounted MDPs, arXiv 2302.11381")
_CEN = ("Cen, Cheng, Chen, Wei & Chi (2022), Fast global convergence of natural policy "
        "gradient methods with entropy regularization, Oper. Res.")
_SHANI = ("Shani, Efroni & Mannor (2020), Adaptive trust region policy optimization: global "
          "convergence and faster rates for regularized MDPs, AAAI")
_OURS = "our numbering, docs/papers/mdpo.md"
_COMMON = ("discounted MDP, rewards in [0, 1], exact policy evaluation, tabular softmax "
           "policies",)


# ----------------------------------------------------------------------------- helpers


def _k(k) -> np.ndarray:
    arr = np.asarray(k, dtype=np.float64)
    if np.any(~np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"k must be iteration counts >= 0, got {k!r}")
    return arr


def _gamma(gamma) -> float:
    return _validate.real("gamma", gamma, lo=0.0, hi=1.0, hi_open=True)


def _pos(name, value) -> float:
    return _validate.real(name, value, lo=0.0, lo_open=True)


def _nonneg(name, value) -> float:
    """A measured quantity that is >= 0 in exact arithmetic: rounding noise down to -1e-8 is
    read as 0; anything more negative is a ValueError."""
    v = _validate.real(name, value)
    if v < 0.0:
        if v >= -1e-8:
            return 0.0
        raise ValueError(f"{name} must be >= 0, got {v}")
    return v


def _steps(etas) -> np.ndarray | None:
    if etas is None:
        return None
    arr = np.asarray(etas, dtype=np.float64).reshape(-1)
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"etas[{i}] is {arr[i]:.6g}, expected a step size > 0")
    return arr


def _violated(theorem: str, param: str, why: str, k):
    warnings.warn(f"{param} violates the step-size condition of {theorem}: {why}; "
                  f"the {theorem} bound does not apply (NaN returned)", UserWarning,
                  stacklevel=4)
    return np.full(np.shape(k), np.nan) if np.ndim(k) else float("nan")


def _out(x, k):
    return x if np.ndim(k) else float(x)


# ----------------------------------------------------------------------------- conditions


def t2_condition(etas) -> bool:
    """T2: eta_k non-decreasing (any constant step qualifies)."""
    e = _steps(etas)
    return bool(e.size < 2 or np.all(np.diff(e) >= -1e-15 * e[:-1]))


def t3_condition(etas, theta: float) -> bool:
    """T3 (Xiao): eta_{k+1} >= eta_k theta/(theta - 1) for every k."""
    e = _steps(etas)
    theta = _theta(theta)
    return bool(e.size < 2 or np.all(e[1:] >= e[:-1] * theta / (theta - 1.0) * (1 - 1e-12)))


def t4_condition(etas, gamma: float) -> bool:
    """T4: eta_{k+1} >= eta_k / gamma for every k (eta_k = eta_0 gamma^{-k} is the minimum)."""
    e = _steps(etas)
    gamma = _gamma(gamma)
    return bool(e.size < 2 or np.all(gamma * e[1:] >= e[:-1] * (1 - 1e-12)))


def t5_condition(etas, log_inv_pi_greedy, c: float, gamma: float) -> bool:
    """T5: eta_k >= max_s log(1/pi_k(a~_s|s)) / (c gamma^{k+1}) for every k (k = 0, 1, ...)."""
    e = _steps(etas)
    num = np.asarray(log_inv_pi_greedy, dtype=np.float64).reshape(-1)
    c = _pos("c", c)
    gamma = _gamma(gamma)
    ks = np.arange(e.size)
    return bool(np.all(e * c * gamma ** (ks + 1) >= num[: e.size] * (1 - 1e-12)))


def t7_condition(eta_c: float, tau: float, gamma: float) -> bool:
    """T7 (Cen et al.): 0 < eta_c <= (1 - gamma)/tau."""
    return _pos("eta_c", eta_c) <= (1.0 - _gamma(gamma)) / _pos("tau", tau) * (1 + 1e-12)


def _theta(theta) -> float:
    theta = _validate.real("theta", theta, lo=1.0, lo_open=True)
    return theta


# ----------------------------------------------------------------------------- T1


@register("pmd_t1_improvement", paper=_XIAO, theorem="T1 (monotone improvement; " + _OURS + ")",
          quantity="min_s [V^{pi_{k+1}}(s) - V^{pi_k}(s)] >= 0 (lower bound 0, every k, "
                   "any eta_k > 0)",
          variable="k", exponent=0.0, constants="paper", probability="deterministic",
          assumptions=_COMMON + ("KL-PMD with any eta_k > 0; also <Q_k(s), pi_{k+1}(s) - "
                                 "pi_k(s)> >= 0 for every s and Q^{pi_{k+1}} >= Q^{pi_k}",))
def pmd_t1_improvement(k, eta=1.0):
    """Lower bound 0 on V^{pi_{k+1}} - V^{pi_k} (pointwise) for any step eta > 0."""
    _pos("eta", eta) if np.ndim(eta) == 0 else _steps(eta)
    return _out(np.zeros(np.shape(_k(k))), k)


# ----------------------------------------------------------------------------- T2


@register("pmd_t2_sublinear", paper=_XIAO, theorem="T2 (sublinear rate; " + _OURS + ")",
          quantity="V*(rho) - V^{pi_k}(rho) <= (D*_{d*}(pi_0)/((1-gamma) eta_0) + "
                   "1/(1-gamma)^2) / k",
          variable="k", exponent=-1.0, constants="paper", probability="deterministic",
          assumptions=_COMMON + ("KL-PMD, eta_k non-decreasing (constant allowed)",
                                 "any rho (no full support needed); D weighted by "
                                 "d* = d^{pi*}_rho; k >= 1"))
def pmd_t2_sublinear(k, D0: float, eta0: float, gamma: float, etas=None):
    """(1/k) (D0 / ((1 - gamma) eta0) + 1/(1 - gamma)^2); condition checked on ``etas``."""
    kk = _k(k)
    D0, eta0, gamma = _nonneg("D0", D0), _pos("eta0", eta0), _gamma(gamma)
    if etas is not None and not t2_condition(etas):
        return _violated("T2", "etas", "eta_k must be non-decreasing", k)
    with np.errstate(divide="ignore"):
        b = (D0 / ((1.0 - gamma) * eta0) + 1.0 / (1.0 - gamma) ** 2) / kk
    return _out(b, k)


# ----------------------------------------------------------------------------- T3


@register("pmd_t3_linear", paper=_XIAO, theorem="T3 (linear rate, geometric steps; " + _OURS + ")",
          quantity="V*(rho) - V^{pi_k}(rho) <= (1 - 1/theta)^k (V*(rho) - V^{pi_0}(rho) + "
                   "D*_{d*}(pi_0)/((1-gamma) eta_0 (theta-1))), linear rate 1 - 1/theta",
          variable="k", exponent=float("nan"), constants="paper", probability="deterministic",
          assumptions=_COMMON + ("KL-PMD with eta_{k+1} >= eta_k theta/(theta-1)",
                                 "rho with full support; theta = |d*_rho/rho|_inf/(1-gamma)",
                                 "our placement of the constants (Xiao's printed form "
                                 "may place (1-gamma) differently)"))
def pmd_t3_linear(k, gap0: float, D0: float, eta0: float, theta: float, gamma: float,
                  ratio: float | None = None, etas=None):
    """(1 - 1/theta)^k (gap0 + D0 / ((1 - gamma) eta0 (theta - 1))); condition on ``ratio``
    (eta_{k+1}/eta_k) or ``etas``."""
    kk = _k(k)
    gap0, D0, eta0 = _nonneg("gap0", gap0), _nonneg("D0", D0), _pos("eta0", eta0)
    theta, gamma = _theta(theta), _gamma(gamma)
    need = theta / (theta - 1.0)
    if ratio is not None and _pos("ratio", ratio) < need * (1 - 1e-12):
        return _violated("T3", "ratio", f"ratio = {ratio:.6g} < theta/(theta-1) = {need:.6g}", k)
    if etas is not None and not t3_condition(etas, theta):
        return _violated("T3", "etas", f"eta_(k+1)/eta_k must be >= {need:.6g}", k)
    b = (1.0 - 1.0 / theta) ** kk * (gap0 + D0 / ((1.0 - gamma) * eta0 * (theta - 1.0)))
    return _out(b, k)


def pmd_t3_rate(theta: float) -> float:
    """T3's linear rate 1 - 1/theta."""
    return 1.0 - 1.0 / _theta(theta)


# ----------------------------------------------------------------------------- T4


@register("pmd_t4_gamma_rate", paper=_LAN, theorem="T4 (gamma-rate, eta_k = eta_0 gamma^{-k}; "
          + _OURS + ")",
          quantity="f_k = E_{nu*}[V* - V^{pi_k}] <= gamma^k (f_0 + D*_{nu*}(pi_0)/(gamma eta_0)), "
                   "linear rate gamma",
          variable="k", exponent=float("nan"), constants="paper", probability="deterministic",
          assumptions=_COMMON + ("KL-PMD with eta_{k+1} >= eta_k / gamma",
                                 "nu* any stationary law of P^{pi*}; D weighted by nu*",
                                 "Lan (2022) proves linear rates of this type; its exact "
                                 "constants could not be checked"))
def pmd_t4_gamma_rate(k, f0: float, D0: float, eta0: float, gamma: float,
                      growth: float | None = None, etas=None):
    """gamma^k (f0 + D0 / (gamma eta0)); condition on ``growth`` (eta_{k+1}/eta_k) or ``etas``."""
    kk = _k(k)
    f0, D0, eta0, gamma = _nonneg("f0", f0), _nonneg("D0", D0), _pos("eta0", eta0), _gamma(gamma)
    if gamma == 0.0:
        raise ValueError("gamma must be > 0 for T4, got 0.0")
    if growth is not None and _pos("growth", growth) * gamma < 1 - 1e-12:
        return _violated("T4", "growth", f"growth = {growth:.6g} < 1/gamma = {1 / gamma:.6g}", k)
    if etas is not None and not t4_condition(etas, gamma):
        return _violated("T4", "etas", f"eta_(k+1)/eta_k must be >= 1/gamma = {1 / gamma:.6g}",
                         k)
    return _out(gamma ** kk * (f0 + D0 / (gamma * eta0)), k)


# ----------------------------------------------------------------------------- T5


@register("pmd_t5_adaptive", paper=_JOHNSON, theorem="T5 (gamma-rate, adaptive steps; "
          + _OURS + ")",
          quantity="|V* - V^{pi_k}|_inf <= gamma^k (|V* - V^{pi_0}|_inf + k c), linear rate gamma",
          variable="k", exponent=float("nan"), constants="paper", probability="deterministic",
          assumptions=_COMMON + ("KL-PMD with eta_k >= max_s log(1/pi_k(a~_s|s)) / (c gamma^{k+1}),"
                                 " a~_s greedy in Q_k",
                                 "one-step form: |V*-V^{k+1}| <= gamma |V*-V^k| + eps_k, "
                                 "eps_k = max_s log(1/pi_k(a~_s|s)) / eta_k"))
def pmd_t5_adaptive(k, err0: float, c: float, gamma: float, etas=None,
                    log_inv_pi_greedy=None):
    """gamma^k (err0 + k c); condition checked when ``etas`` and ``log_inv_pi_greedy`` (the
    per-iteration max_s log(1/pi_k(a~_s|s))) are given."""
    kk = _k(k)
    err0, c, gamma = _nonneg("err0", err0), _pos("c", c), _gamma(gamma)
    if etas is not None and log_inv_pi_greedy is not None and \
            not t5_condition(etas, log_inv_pi_greedy, c, gamma):
        return _violated("T5", "etas", "eta_k < max_s log(1/pi_k(a~_s|s)) / (c gamma^(k+1)) "
                                       "for some k", k)
    return _out(gamma ** kk * (err0 + kk * c), k)


def pmd_t5_step(err_k, eps_k, gamma: float):
    """One-step T5 bound gamma |V* - V^{pi_k}|_inf + eps_k on |V* - V^{pi_{k+1}}|_inf."""
    return _gamma(gamma) * np.asarray(err_k, dtype=np.float64) + np.asarray(eps_k, dtype=np.float64)


# ----------------------------------------------------------------------------- T6


@register("pmd_t6_regularized", paper=_LAN, theorem="T6 (entropy prox, constant step; Lan 2022 "
          "Thm 1, entropy instance, our derivation; " + _OURS + ")",
          quantity="f_k + (1/eta + tau) D_k <= rho^k (f_0 + (1/eta + tau) D_0), "
                   "rho = max(gamma, 1/(1 + eta tau)); f, D weighted by nu*_tau",
          variable="k", exponent=float("nan"), constants="paper", probability="deterministic",
          assumptions=_COMMON + ("exact entropy prox pi+ prop. to pi^{1/(1+eta tau)} "
                                 "e^{eta Q_tau/(1+eta tau)}, any constant eta > 0, tau > 0",
                                 "nu*_tau stationary for P^{pi*_tau}; f_k = E[V*_tau - V_tau^k],"
                                 " D_k = E KL(pi*_tau || pi_k)",
                                 "one-step form: f_{k+1} + (1/eta + tau) D_{k+1} <= gamma f_k "
                                 "+ D_k/eta"))
def pmd_t6_regularized(k, f0: float, D0: float, eta: float, tau: float, gamma: float):
    """rho^k (f0 + (1/eta + tau) D0), rho = max(gamma, 1/(1 + eta tau)) (a bound on the
    potential f_k + (1/eta + tau) D_k, hence on f_k)."""
    kk = _k(k)
    f0, D0 = _nonneg("f0", f0), _nonneg("D0", D0)
    eta, tau, gamma = _pos("eta", eta), _pos("tau", tau), _gamma(gamma)
    return _out(pmd_t6_rate(eta, tau, gamma) ** kk * (f0 + (1.0 / eta + tau) * D0), k)


def pmd_t6_rate(eta: float, tau: float, gamma: float) -> float:
    """T6's linear rate max(gamma, 1/(1 + eta tau))."""
    return max(_gamma(gamma), 1.0 / (1.0 + _pos("eta", eta) * _pos("tau", tau)))


def pmd_t6_step(f_k, D_k, eta: float, tau: float, gamma: float):
    """One-step T6 bound gamma f_k + D_k/eta on f_{k+1} + (1/eta + tau) D_{k+1}."""
    return (_gamma(gamma) * np.asarray(f_k, dtype=np.float64)
            + np.asarray(D_k, dtype=np.float64) / _pos("eta", eta))


# ----------------------------------------------------------------------------- T7


def cen_c1(q_err0: float, logpi_err0: float, eta_c: float, tau: float, gamma: float) -> float:
    """C1 = |Q*_tau - Q^(0)_tau|_inf
    + 2 tau (1 - eta_c tau/(1-gamma)) |log pi*_tau - log pi^(0)|_inf (Cen et al. Thm 1)."""
    gamma, tau, eta_c = _gamma(gamma), _pos("tau", tau), _pos("eta_c", eta_c)
    return (_nonneg("q_err0", q_err0)
            + 2.0 * tau * (1.0 - eta_c * tau / (1.0 - gamma)) * _nonneg("logpi_err0", logpi_err0))


@register("pmd_t7_cen_q", paper=_CEN, theorem="Theorem 1 (T7; recalled, " + _OURS + ")",
          quantity="|Q*_tau - Q^(t+1)_tau|_inf <= C1 gamma (1 - eta_c tau)^t, linear rate "
                   "1 - eta_c tau",
          variable="t", exponent=float("nan"), constants="paper", probability="deterministic",
          assumptions=_COMMON + ("Cen's update pi^(t+1) prop. to (pi^(t))^{1-eta_c tau/(1-gamma)}"
                                 " e^{eta_c Q_tau^(t)/(1-gamma)}, 0 < eta_c <= (1-gamma)/tau",
                                 "C1 = |Q*_tau - Q^(0)_tau| + 2 tau (1 - eta_c tau/(1-gamma)) "
                                 "|log pi*_tau - log pi^(0)|",
                                 "statement recalled, not read in the paper (numerically "
                                 "consistent)"))
def pmd_t7_cen_q(t, C1: float, eta_c: float, tau: float, gamma: float):
    """C1 gamma (1 - eta_c tau)^t for t >= 0 (bounds the error of iterate t + 1)."""
    tt = _k(t)
    C1 = _nonneg("C1", C1)
    if not t7_condition(eta_c, tau, gamma):
        return _violated("T7", "eta_c", f"eta_c = {eta_c:.6g} > (1-gamma)/tau = "
                                        f"{(1 - gamma) / tau:.6g}", t)
    return _out(C1 * gamma * (1.0 - eta_c * tau) ** tt, t)


@register("pmd_t7_cen_logpi", paper=_CEN, theorem="Theorem 1 (T7; recalled, "
          + _OURS + ")",
          quantity="|log pi*_tau - log pi^(t+1)|_inf <= 2 C1 (1 - eta_c tau)^t / tau",
          variable="t", exponent=float("nan"), constants="paper", probability="deterministic",
          assumptions=_COMMON + ("as pmd_t7_cen_q",))
def pmd_t7_cen_logpi(t, C1: float, eta_c: float, tau: float, gamma: float):
    """2 C1 (1 - eta_c tau)^t / tau for t >= 0 (bounds the error of iterate t + 1)."""
    tt = _k(t)
    C1 = _nonneg("C1", C1)
    if not t7_condition(eta_c, tau, gamma):
        return _violated("T7", "eta_c", f"eta_c = {eta_c:.6g} > (1-gamma)/tau = "
                                        f"{(1 - gamma) / tau:.6g}", t)
    return _out(2.0 * C1 * (1.0 - eta_c * tau) ** tt / tau, t)


def pmd_t7_rate(eta_c: float, tau: float) -> float:
    """T7's linear rate 1 - eta_c tau."""
    return 1.0 - _pos("eta_c", eta_c) * _pos("tau", tau)


# ----------------------------------------------------------------------------- T8


@register("pmd_t8_unregularized", paper=_SHANI, theorem="uniform TRPO, unregularised (T8; "
          "rate from the abstract, schedule and constants recalled; " + _OURS + ")",
          quantity="|V* - V^{pi_N}|_inf = O(C_omega C_max / ((1-gamma)^2 sqrt(N)))",
          variable="N", exponent=-0.5, constants="rate-only", probability="deterministic",
          assumptions=_COMMON + ("t_k = (1-gamma)/(C_omega C_max sqrt(k+1)), KL: C_omega = 1",
                                 "only the decay exponent -1/2 is checked (an upper rate)"))
def pmd_t8_unregularized(N, gamma: float, C_omega: float = 1.0, C_max: float = 1.0):
    """C_omega C_max / ((1 - gamma)^2 sqrt(N)) (rate only; unknown constant factor)."""
    NN = _k(N)
    gamma = _gamma(gamma)
    with np.errstate(divide="ignore"):
        b = _pos("C_omega", C_omega) * _pos("C_max", C_max) / ((1.0 - gamma) ** 2 * np.sqrt(NN))
    return _out(b, N)


@register("pmd_t8_regularized", paper=_SHANI, theorem="uniform TRPO, regularised (T8; rate "
          "from the abstract, schedule and constants recalled; " + _OURS + ")",
          quantity="|V*_tau - V^{pi_N}_tau|_inf = O~(C_omega^2 C_max,tau^2 / (tau (1-gamma)^3 N))",
          variable="N", exponent=-1.0, constants="rate-only", probability="deterministic",
          assumptions=_COMMON + ("linearised update pi^{1-tau t_k} e^{t_k Q_tau}, "
                                 "t_k = 1/(tau (k+2)) (tau t_k <= 1)",
                                 "C_max,tau ~ C_max + tau log A; logs ignored",
                                 "only the decay exponent -1 is checked (an upper rate)"))
def pmd_t8_regularized(N, tau: float, A: int, gamma: float, C_omega: float = 1.0,
                       C_max: float = 1.0):
    """C_omega^2 (C_max + tau log A)^2 / (tau (1 - gamma)^3 N) (rate only)."""
    NN = _k(N)
    tau, gamma = _pos("tau", tau), _gamma(gamma)
    A = _validate.positive_int("A", A)
    c_tau = _pos("C_max", C_max) + tau * math.log(A)
    with np.errstate(divide="ignore"):
        b = _pos("C_omega", C_omega) ** 2 * c_tau ** 2 / (tau * (1.0 - gamma) ** 3 * NN)
    return _out(b, N)


__all__ = ["pmd_t1_improvement", "pmd_t2_sublinear", "pmd_t3_linear", "pmd_t3_rate",
           "pmd_t4_gamma_rate", "pmd_t5_adaptive", "pmd_t5_step", "pmd_t6_regularized",
           "pmd_t6_rate", "pmd_t6_step", "cen_c1", "pmd_t7_cen_q", "pmd_t7_cen_logpi",
           "pmd_t7_rate", "pmd_t8_unregularized", "pmd_t8_regularized", "t2_condition",
           "t3_condition", "t4_condition", "t5_condition", "t7_condition"]

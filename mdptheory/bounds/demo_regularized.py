"""Bounds of demonstration-regularized RL (Tiapkin, Belomestny, Calandriello, Moulines, Munos,
Naumov, Perrault, Valko & Ménard 2024, "Demonstration-Regularized RL", ICLR 2024, arXiv
2310.17303; the project's page docs/papers/demo_regularized.md says what could be read).

What we know of the paper's statements (from its abstract and the OpenReview reviews, which
quote theorem numbers; the full text could not be read) is the *rates*: BC's KL error is
linear in 1/N^E (Theorems 1-2), regularized BPI is a fast O(1/eps) rate (Theorem 5, UCBVI-Ent+),
and demonstration-regularized BPI needs O~(Poly(S, A, H) / (eps^2 N^E)) episodes (tabular,
Corollary 3) or O~(Poly(d, H) / (eps^2 N^E)) (linear). The polynomials and constants are
recalled from secondary sources with low confidence, so every paper bound here is
``constants="rate-only"``:
an absolute constant ``c`` (default 1) times the recalled polynomial times a log factor.

Two bounds have explicit constants:

* the reduction inequality (the structure of the paper's reduction; our short proof: V^pi >=
  V^pi_lambda since KL >= 0, and V*_lambda >= V^{pi^E}_lambda): for every policy pi^RL and
  every lambda >= 0,
      V*(s_1) - V^{pi^RL}(s_1) <= [V* - V^{pi^E}] + lambda KL_traj(pi^E || pi^BC)
                                  + [V*_lambda - V^{pi^RL}_lambda];
  deterministic, no constants;
* an expectation bound for add-kappa BC derived here (NOT the paper's constants): for a Markov
  expert, N^E i.i.d. trajectories and kappa >= 1,
      E[KL_traj(pi^E || pi^BC)] <= (kappa A - 1) sum_h |supp d^E_h| / (N^E + 1)
                                 <= (kappa A - 1) S H / (N^E + 1).
  Proof: given N_h(s) = n visits, the n actions are i.i.d. pi^E_h(.|s); for each action,
  E[-log(N(a) + kappa)] <= log E[1 / (N(a) + kappa)] (Jensen) <= -log((n + 1) p(a)) (binomial
  identity E[1/(X + 1)] <= 1/((n + 1) p), and N + kappa >= N + 1), so
  E[KL(p || p_hat)] <= log((n + kappa A)/(n + 1)) <= (kappa A - 1)/(n + 1); then
  E[1/(N_h(s) + 1)] <= 1/((N^E + 1) d^E_h(s)) and the d^E_h(s) weights cancel.
"""
from __future__ import annotations

import numpy as np

from .base import register

_PAPER = ("Tiapkin, Belomestny, Calandriello, Moulines, Munos, Naumov, Perrault, Valko & "
          "Ménard (2024), Demonstration-Regularized RL, ICLR 2024")
_RATE = ("rate only: the paper's polynomial and constants could not be read (secondary "
         "sources only); c (default 1) times the recalled polynomial times a log factor")


def _log(*terms) -> np.ndarray:
    return np.maximum(1.0, np.log(np.prod([np.asarray(t, dtype=np.float64) for t in terms],
                                          axis=0)))


@register("demo_bc_kl_tabular", paper=_PAPER, theorem="Theorem 1 (tabular BC)",
          quantity="KL_traj(pi^E || pi^BC)", variable="N^E", exponent=-1.0,
          constants="rate-only", probability="w.p. >= 1 - delta",
          assumptions=(_RATE, "natural form O~(S A H / N^E) (recalled)",
                       "add-kappa smoothed MLE, kappa = 1 (our reconstruction of the "
                       "paper's log-regularized MLE)"))
def bc_kl_tabular(S: int, A: int, H: int, N_E, delta: float = 0.1, c: float = 1.0):
    """c S A H log(S A H / delta) / N^E."""
    N_E = np.asarray(N_E, dtype=np.float64)
    return c * S * A * H * _log(S * A * H / delta) / N_E


@register("demo_bc_kl_expected", paper=_PAPER,
          theorem="derived in mdptheory (expectation bound for add-kappa BC; not the paper's "
                  "Theorem 1 constants)",
          quantity="E[KL_traj(pi^E || pi^BC)]", variable="N^E", exponent=-1.0,
          constants="derived", probability="in expectation over the demonstrations",
          assumptions=("kappa >= 1", "Markov expert, N^E i.i.d. expert trajectories",
                       "support = sum_h |supp d^E_h| <= S H (expert-reachable states)",
                       "proof in the module docstring of mdptheory.bounds.demo_regularized"))
def bc_kl_expected_bound(support, A: int, N_E, kappa: float = 1.0):
    """(kappa A - 1) support / (N^E + 1); NaN for kappa < 1 (the proof needs kappa >= 1)."""
    N_E = np.asarray(N_E, dtype=np.float64)
    val = (kappa * A - 1.0) * np.asarray(support, dtype=np.float64) / (N_E + 1.0)
    return np.where(kappa >= 1.0, val, np.nan)


def bc_kl_heuristic(S_eff, A: int, H: int, N_E, kappa: float = 1.0,
                    expert: str = "deterministic"):
    """Large-N^E heuristic curve (our asymptotics): kappa H S_eff (A - 1) / N^E for a deterministic
    expert, H S_eff (A - 1) / (2 N^E) for a full-support stochastic one (classical asymptotics
    of the add-constant estimator)."""
    N_E = np.asarray(N_E, dtype=np.float64)
    if expert == "deterministic":
        return kappa * H * np.asarray(S_eff, np.float64) * (A - 1) / N_E
    if expert == "stochastic":
        return H * np.asarray(S_eff, np.float64) * (A - 1) / (2.0 * N_E)
    raise ValueError(f"expert must be 'deterministic' or 'stochastic', got {expert!r}")


@register("demo_bc_kl_linear", paper=_PAPER,
          theorem="BC for linear / general policy classes (covering-number bound)",
          quantity="KL_traj(pi^E || pi^BC)", variable="N^E", exponent=-1.0,
          constants="rate-only", probability="w.p. >= 1 - delta",
          assumptions=(_RATE, "form O~(d H / N^E) (recalled, low confidence)",
                       "smoothed softmax-linear class with gamma_s = min(1/2, 1/N^E) (our "
                       "design choice)"))
def bc_kl_linear(d: int, H: int, N_E, A: int = 2, delta: float = 0.1, c: float = 1.0):
    """c d H log(A N^E / delta) / N^E (the log(1/gamma_s) factor of a smoothed class)."""
    N_E = np.asarray(N_E, dtype=np.float64)
    return c * d * H * _log(A * N_E / delta) / N_E


@register("demo_reduction", paper=_PAPER,
          theorem="reduction inequality (structure of the paper's reduction; our proof)",
          quantity="V*(s_1) - V^{pi^RL}(s_1)", variable="lambda", exponent=1.0,
          constants="paper", probability="deterministic (every policy, every lambda >= 0)",
          assumptions=("KL_traj is the forward KL, expert first",
                       "V^pi >= V^pi_lambda (KL >= 0) and V*_lambda >= V^{pi^E}_lambda"))
def reduction_bound(eps_E, lam, kl, reg_gap=0.0):
    """eps_E + lambda KL_traj(pi^E || pi^BC) + (V*_lambda - V^{pi^RL}_lambda)."""
    return (np.asarray(eps_E, np.float64) + np.asarray(lam, np.float64) * np.asarray(kl)
            + np.asarray(reg_gap, np.float64))


@register("demo_regbpi_tabular", paper=_PAPER, theorem="Theorem 5 (UCBVI-Ent+)",
          quantity="episodes until the regularized gap is <= eps_RL", variable="eps_RL",
          exponent=-1.0, constants="rate-only", probability="w.p. >= 1 - delta",
          assumptions=(_RATE, "1/(lambda eps_RL) fast rate: 1/eps quoted by a reviewer, "
                       "1/lambda recalled", "polynomial H^3 S A (recalled)"))
def regbpi_tabular_episodes(S: int, A: int, H: int, lam, eps_rl, delta: float = 0.1,
                            c: float = 1.0):
    """c H^3 S A log(S A H / delta) / (lambda eps_RL)."""
    return c * H ** 3 * S * A * _log(S * A * H / delta) / (np.asarray(lam, np.float64)
                                                            * np.asarray(eps_rl, np.float64))


@register("demo_regbpi_linear", paper=_PAPER, theorem="Theorem 6 (linear regularized BPI)",
          quantity="episodes until the regularized gap is <= eps_RL", variable="eps_RL",
          exponent=-1.0, constants="rate-only", probability="w.p. >= 1 - delta",
          assumptions=(_RATE, "form O~(poly(d, H) / (lambda eps)) (recalled)",
                       "polynomial d^2 H^5 (recalled)"))
def regbpi_linear_episodes(d: int, H: int, lam, eps_rl, delta: float = 0.1, c: float = 1.0):
    """c d^2 H^5 log(d H / delta) / (lambda eps_RL)."""
    return c * d ** 2 * H ** 5 * _log(d * H / delta) / (np.asarray(lam, np.float64)
                                                         * np.asarray(eps_rl, np.float64))


def _demo_tab(S, A, H, eps, N_E, delta=0.1, c=1.0):
    return (c * S ** 2 * A ** 2 * H ** 6 * _log(S * A * H / delta)
            / (np.asarray(eps, np.float64) ** 2 * np.asarray(N_E, np.float64)))


def _demo_lin(d, H, eps, N_E, delta=0.1, c=1.0):
    return (c * d ** 2 * H ** 6 * _log(d * H / delta)
            / (np.asarray(eps, np.float64) ** 2 * np.asarray(N_E, np.float64)))


_TAB = (_RATE, "expert O(eps)-optimal (reviewer reading of Corollary 3)",
        ("polynomial S^2 A^2 H^6 (recalled); improves on plain BPI (H^3 S A / eps^2) once "
         "N^E > H^3 S A (one reviewer's reading)"))
_LIN = (_RATE, "polynomial d^2 H^6 (recalled; somewhere between d^2 H^6 and d^3 H^7)")


@register("demo_bpi_tabular", paper=_PAPER, theorem="Corollary 3 (tabular)",
          quantity="online episodes n(eps, N^E)", variable="N^E", exponent=-1.0,
          constants="rate-only", probability="w.p. >= 1 - delta", assumptions=_TAB)
def demo_bpi_tabular(S: int, A: int, H: int, eps, N_E, delta: float = 0.1, c: float = 1.0):
    """c S^2 A^2 H^6 log(S A H / delta) / (eps^2 N^E)."""
    return _demo_tab(S, A, H, eps, N_E, delta, c)


@register("demo_bpi_tabular_eps", paper=_PAPER, theorem="Corollary 3 (tabular)",
          quantity="online episodes n(eps, N^E)", variable="eps", exponent=-2.0,
          constants="rate-only", probability="w.p. >= 1 - delta", assumptions=_TAB)
def demo_bpi_tabular_eps(S: int, A: int, H: int, eps, N_E, delta: float = 0.1, c: float = 1.0):
    """The same bound, read as a rate in eps (exponent -2)."""
    return _demo_tab(S, A, H, eps, N_E, delta, c)


@register("demo_bpi_linear", paper=_PAPER, theorem="Demonstration-regularized BPI, linear",
          quantity="online episodes n(eps, N^E)", variable="N^E", exponent=-1.0,
          constants="rate-only", probability="w.p. >= 1 - delta", assumptions=_LIN)
def demo_bpi_linear(d: int, H: int, eps, N_E, delta: float = 0.1, c: float = 1.0):
    """c d^2 H^6 log(d H / delta) / (eps^2 N^E)."""
    return _demo_lin(d, H, eps, N_E, delta, c)


@register("demo_bpi_linear_eps", paper=_PAPER, theorem="Demonstration-regularized BPI, linear",
          quantity="online episodes n(eps, N^E)", variable="eps", exponent=-2.0,
          constants="rate-only", probability="w.p. >= 1 - delta", assumptions=_LIN)
def demo_bpi_linear_eps(d: int, H: int, eps, N_E, delta: float = 0.1, c: float = 1.0):
    """The same bound, read as a rate in eps (exponent -2)."""
    return _demo_lin(d, H, eps, N_E, delta, c)


__all__ = [
    "bc_kl_expected_bound",
    "bc_kl_heuristic",
    "bc_kl_linear",
    "bc_kl_tabular",
    "demo_bpi_linear",
    "demo_bpi_linear_eps",
    "demo_bpi_tabular",
    "demo_bpi_tabular_eps",
    "reduction_bound",
    "regbpi_linear_episodes",
    "regbpi_tabular_episodes",
]

"""Algorithms from the papers, one module per paper; shared estimators and bonuses in
:mod:`._common` (tabular) and :mod:`.linear_estimation` (ridge pieces). Online learners expose
``policy()`` / ``update(episode)`` for :func:`mdptheory.runner.online`; offline algorithms are
functions from a dataset to a policy.

Modules are imported on first use (``mdptheory.algorithms.SubPO`` loads ``.subpo``), so that
``import mdptheory`` stays fast.
"""
import importlib

_EXPORTS = {
    "ucbvi": ["UCBVI"],
    "qlearning": ["QLearningUCB"],
    "r2pvi": ["R2PVI"],
    "dr_rpo": ["DRRPO"],
    "iwocs": ["iwocs", "IWOCSResult", "static_worst_case", "robust_value_iteration",
              "robust_policy_iteration", "robust_evaluate"],
    "stepmix": ["StepMix", "EpsMix"],
    "mdpo": ["policy_mirror_descent", "pmd_iterates", "pmd_step", "mdpo_exact_iterates",
             "mdpo_on_policy", "mdpo_off_policy", "StepSchedule"],
    "actor_critic": ["ActorCritic", "LinearActorCritic"],
    "demo_regularized": ["behavior_cloning", "linear_behavior_cloning", "RegBPITabular",
                         "RegBPILinear", "demo_regularized_bpi", "rlhf_pipeline",
                         "trajectory_kl"],
    "subpo": ["SubPO", "ModPO", "optimum", "exact_value", "exact_gradient"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE) + sorted(_EXPORTS)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    if name in _EXPORTS:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Config values are read as the config's types and checked in the driver (runner.configs)."""
import math

import pytest

from mdptheory import experiments_registry as registry
from mdptheory.runner.configs import (
    ConfigError,
    check_config,
    coerce,
    parse_grid_values,
    rule_errors,
)


@pytest.mark.parametrize("text, expected", [
    ("true", True), ("False", False), ("no", False), ("YES", True), ("1", True), ("0", False),
    ("off", False), ("On", True)])
def test_bool_accepts_the_usual_words_in_any_case(text, expected):
    assert coerce("flag", text, False) is expected


@pytest.mark.parametrize("bad", ["maybe", "2", "", "truthy"])
def test_bool_rejects_other_words(bad):
    with pytest.raises(ConfigError, match=r"flag=.*expected a boolean"):
        coerce("flag", bad, True)


def test_int_reads_integers_and_integral_floats_and_rejects_fractions():
    assert coerce("K", "2000", 10) == 2000 and isinstance(coerce("K", "1e5", 10), int)
    assert coerce("K", "2_000", 10) == 2000
    for bad in ("2.5", "abc", "True", "[1]", 2.5, True):
        with pytest.raises(ConfigError, match="expected an integer"):
            coerce("K", bad, 10)


def test_float_accepts_ints_and_inf_and_rejects_text_and_nan():
    assert coerce("eps", "3", 0.1) == 3.0 and isinstance(coerce("eps", "3", 0.1), float)
    assert coerce("eps", 2, 0.1) == 2.0 and coerce("eps", "1e-3", 0.1) == 1e-3
    assert math.isinf(coerce("eps", "inf", 0.1))
    for bad in ("abc", "nan", None, "[0.1]"):
        with pytest.raises(ConfigError, match="expected a number"):
            coerce("eps", bad, 0.1)


def test_strings_stay_strings_and_lose_their_quotes():
    assert coerce("env", "river_swim", "garnet") == "river_swim"
    assert coerce("env", "'a b'", "garnet") == "a b" and coerce("env", "5", "x") == "5"
    with pytest.raises(ConfigError, match="expected a string"):
        coerce("env", 5, "x")


def test_lists_are_typed_elementwise_and_keep_their_container():
    assert coerce("Ks", "[10, 1e2]", [1, 2]) == [10, 100]
    assert coerce("Ks", "(10, 20)", (1, 2)) == (10, 20)
    assert coerce("names", "[l1, hoeffding]", ("l1",)) == ("l1", "hoeffding")
    assert coerce("ms", "[1, inf]", (1, "inf")) == (1, "inf")          # mixed element types
    assert coerce("sizes", "[(3, 4), (5, 6)]", ((1, 2),)) == ((3, 4), (5, 6))
    with pytest.raises(ConfigError, match=r"Ks\[1\]=2.5: expected an integer"):
        coerce("Ks", "[1, 2.5]", [1, 2])
    with pytest.raises(ConfigError, match="expected a list"):
        coerce("Ks", "7", [1, 2])


def test_none_valued_keys_take_literals_else_text():
    assert coerce("eta", "0.5", None) == 0.5 and coerce("eta", "None", None) is None
    assert coerce("eta", "auto", None) == "auto"


def test_grid_values_are_typed_and_deduplicated_after_typing():
    assert parse_grid_values("K", "[2000, 2000.0, 1e3]", 10) == [2000, 1000]
    assert parse_grid_values("eps", "[1, 1.0, 0.5]", 0.1) == [1.0, 0.5]
    with pytest.raises(ConfigError, match="expected an integer"):
        parse_grid_values("K", "[2000, 2.5]", 10)
    with pytest.raises(ConfigError, match="non-empty list"):
        parse_grid_values("K", "[]", 10)


@pytest.mark.parametrize("config, message", [
    ({"K": 0}, "K=0: a count must be an integer >= 1"),
    ({"river_H": 0}, "river_H=0: a count must be an integer >= 1"),
    ({"N_E": [10, 0]}, r"N_E\[1\]=0"),
    ({"garnet_S": 2.5}, "garnet_S=2.5"),
    ({"delta": 2.0}, "delta=2.0: a probability must lie in \\(0, 1\\)"),
    ({"delta": 0}, "delta=0"),
])
def test_generic_rules_by_key_name(config, message):
    with pytest.raises(ConfigError, match=message):
        check_config(config)


def test_rules_leave_other_keys_alone():
    assert rule_errors({"instance_seed": 0, "gamma": 1.0, "eps": 0.0, "label": "x", "ms": (1, "inf"),
                            "K": float("inf"), "seeds": 0}) == []


def test_every_built_in_config_passes_the_rules():
    for name in registry.list_experiments():
        module = registry.load_experiment(name)
        for size in ("CONFIG", "SMALL"):
            zero_ok = getattr(module, "ZERO_MEANS_DEFAULT", ())
            assert rule_errors(getattr(module, size), zero_ok) == [], (name, size)


def test_an_experiment_may_let_named_counts_be_zero_and_only_those():
    config = {"grid_epochs": 0, "K": 0}
    assert rule_errors(config, ("grid_epochs",)) == ["K=0: a count must be an integer >= 1"]
    assert rule_errors({"grid_epochs": -1}, ("grid_epochs",)) != []
    with pytest.raises(ConfigError, match="K=0"):
        check_config(config, None, ("grid_epochs",))


def test_the_experiment_hook_runs_after_the_rules_and_its_message_is_kept():
    def hook(config):
        if config["K"] < config["checkpoints"]:
            raise ValueError(f"checkpoints={config['checkpoints']} > K={config['K']}")

    check_config({"K": 10, "checkpoints": 5}, hook)
    with pytest.raises(ConfigError, match="rejected by the experiment: checkpoints=50 > K=10"):
        check_config({"K": 10, "checkpoints": 50}, hook)
    with pytest.raises(ConfigError, match="K=0"):             # rules first: hook not reached
        check_config({"K": 0, "checkpoints": 50}, hook)

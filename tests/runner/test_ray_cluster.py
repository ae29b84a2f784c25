"""The Ray backend on a multi-node cluster (a head and one worker node on this machine, one CPU
each): the experiment and the mdptheory package reach the workers through the runtime
environment, not the driver's files, and the table equals the serial one."""
import os
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import mdptheory
from mdptheory.runner import backends, run_sweep, shipping
from mdptheory.runner.storage import comparable

EXPERIMENT = textwrap.dedent('''
    """A tiny experiment that reports where its code was loaded from."""
    import os

    import numpy as np
    import pandas as pd

    import mdptheory

    from . import _helper

    CONFIG = dict(n=20, scale=1.0)
    SMALL = dict(CONFIG)


    def run(config, seed):
        x = np.random.default_rng(seed).random(config["n"]) * config["scale"]
        return pd.DataFrame({"k": np.arange(config["n"]), "y": _helper.cumulative(x),
                             "experiment_file": __file__, "package_file": mdptheory.__file__,
                             "pid": os.getpid()})


    def verdict(results):
        return []


    def plot(results, path):
        return []
''')
HELPER = "import numpy as np\n\n\ndef cumulative(x):\n    return np.cumsum(x)\n"


@pytest.fixture
def exp_dir(tmp_path):
    d = tmp_path / "my_experiments"
    d.mkdir()
    (d / "where.py").write_text(EXPERIMENT)
    (d / "_helper.py").write_text(HELPER)
    return d


def test_shipping_stages_the_package_and_the_experiment_folder(exp_dir):
    env, remap, root = shipping.stage([(str(exp_dir / "where.py"), {"n": 1}, 0, True)],
                                      {"A": "1"})
    try:
        assert env == {"working_dir": str(root), "env_vars": {"A": "1"}}
        assert remap[str(exp_dir)] == "my_experiments"
        builtin = Path(mdptheory.__file__).parents[1] / "experiments"
        assert remap[str(builtin)] == "experiments"
        assert (root / "experiments" / "ucbvi_regret.py").is_file()
        assert (root / "my_experiments" / "_helper.py").is_file()
        assert (root / "mdptheory" / "runner" / "shipping.py").is_file()
        assert not list(root.rglob("__pycache__"))
        cwd = os.getcwd()
        assert shipping.local_path(str(exp_dir / "where.py"), remap) == os.path.join(
            cwd, "my_experiments", "where.py")
        assert shipping.local_path("other", remap) == "other"
    finally:
        import shutil
        shutil.rmtree(root)


@pytest.mark.slow   # a 2-node local Ray cluster: ~20-40 s on a shared 2-core machine
def test_two_node_cluster_runs_shipped_code_and_gives_the_serial_table(exp_dir, tmp_path):
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    configs = [{"n": 20, "scale": 1.0}, {"n": 20, "scale": 2.0}]
    serial = run_sweep("where", configs, 2, out=tmp_path / "serial", backend="serial",
                       experiments_dir=exp_dir, progress=False)
    small = {"num_cpus": 1, "object_store_memory": 80 * 1024 ** 2, "include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args=small)
    try:
        cluster.add_node(**{k: v for k, v in small.items() if k != "include_dashboard"})
        cluster.wait_for_nodes()
        backend = backends.RayBackend(address=cluster.address)   # as --address HOST:PORT
        try:
            on_ray = run_sweep("where", configs, 2, out=tmp_path / "ray", backend=backend,
                               experiments_dir=exp_dir, progress=False)
            assert len([n for n in ray.nodes() if n["Alive"]]) == 2
            assert backend.workers == 2
        finally:
            backend.close()
        assert not ray.is_initialized()
    finally:
        cluster.shutdown()
    assert on_ray.computed == 4 and on_ray.backend == "ray"
    t = on_ray.table
    # the workers loaded the experiment and mdptheory from Ray's unpacked runtime environment
    driver_pkg = str(Path(mdptheory.__file__).parent)
    for f in t["experiment_file"].unique():
        assert not f.startswith(str(exp_dir)) and "runtime_resources" in f, f
        assert f.endswith(os.path.join("my_experiments", "where.py"))
    for f in t["package_file"].unique():
        assert not f.startswith(driver_pkg) and "runtime_resources" in f, f
    assert set(serial.table["experiment_file"]) == {str(exp_dir / "where.py")}
    drop = ["experiment_file", "package_file", "pid"]
    pd.testing.assert_frame_equal(comparable(serial.table.drop(columns=drop)),
                                  comparable(t.drop(columns=drop)), check_exact=True)

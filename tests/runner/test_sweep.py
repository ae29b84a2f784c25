"""Sweeps: resume after crashes gives the uninterrupted table, writes are atomic, and the
serial, process and Ray backends give identical results."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mdptheory.runner import backends, storage
from mdptheory.runner.storage import ResultStore, comparable, config_hash
from mdptheory.runner.sweep import RunFailed, UsageError, expand_grid, run_experiment, run_sweep
from mdptheory.testing.processes import source_env

FAKE = textwrap.dedent('''
    """Fake experiment: noisy sqrt curve; seed-driven numbers, a string column, a timing column."""
    import os
    import time
    import numpy as np
    import pandas as pd

    CONFIG = dict(n=40, scale=1.0, fail_seed=-1, seeds=4)
    SMALL = dict(CONFIG, n=10, seeds=2)

    def run(config, seed):
        if seed == config["fail_seed"]:
            raise ValueError(f"seed {seed} fails on purpose")
        time.sleep(config.get("sleep", 0.0) + float(os.environ.get("FAKE_RUN_SLEEP", "0")))
        rng = np.random.default_rng(seed)
        k = np.arange(1, config["n"] + 1)
        y = config["scale"] * np.sqrt(k) + rng.normal(size=k.size)
        return pd.DataFrame({"k": k, "y": y, "z": rng.random(k.size), "tag": f"s{seed}",
                             "seed": seed, "scale": config["scale"],
                             "wall_time": rng.random() + time.perf_counter()})

    def verdict(results):
        from mdptheory.analysis.verdict import Verdict   # here: workers only need run()
        m = float(results.groupby("k")["y"].mean().iloc[-1])
        b = 3.0 * float(np.sqrt(results["k"].max()))
        return Verdict(paper="Fake (2020)", theorem="Thm 1", claim="y <= 3 sqrt(k)",
                       passed=m <= b, measured=m, bound=b)

    def plot(results, path):
        from matplotlib.figure import Figure
        fig = Figure()
        fig.subplots().plot(results.groupby("k")["y"].mean())
        out = [f"{path}.png", f"{path}.pdf"]
        for p in out:
            fig.savefig(p)
        return out
''')

SWEEP_SCRIPT = textwrap.dedent('''
    import sys
    from mdptheory.runner.sweep import run_sweep
    if __name__ == "__main__":
        exp_dir, out = sys.argv[1], sys.argv[2]
        run_sweep("fake", [dict(n=40, scale=1.0, fail_seed=-1),
                           dict(n=40, scale=2.0, fail_seed=-1)], 12,
                  out=out, backend="process", workers=2, experiments_dir=exp_dir,
                  progress=False)
''')

CONFIGS = [{"n": 40, "scale": 1.0, "fail_seed": -1}, {"n": 40, "scale": 2.0, "fail_seed": -1}]


@pytest.fixture
def exp_dir(tmp_path):
    d = tmp_path / "exps"
    d.mkdir()
    (d / "fake.py").write_text(FAKE)
    return d


def _sweep(exp_dir, out, seeds=5, backend="serial", **kw):
    return run_sweep("fake", CONFIGS, seeds, out=out, backend=backend, experiments_dir=exp_dir,
                     progress=False, **kw)


def _parquet_files(root: Path):
    return sorted(p for p in root.rglob("*.parquet"))


def test_sweep_stores_one_file_per_config_and_seed_and_merges_in_fixed_order(exp_dir, tmp_path):
    out = _sweep(exp_dir, tmp_path / "res", seeds=3)
    assert (out.computed, out.reused) == (6, 0)
    runs = [p for p in _parquet_files(tmp_path / "res" / "fake" / "runs")]
    assert len(runs) == 6
    t = out.table
    assert list(t["config_hash"].unique()) == [config_hash(c) for c in CONFIGS]
    assert list(t.groupby("config_hash", sort=False)["seed"].unique().iloc[0]) == [0, 1, 2]
    assert t["wall_time_s"].ge(0).all()
    on_disk = pd.read_parquet(tmp_path / "res" / "fake" / "results.parquet")
    pd.testing.assert_frame_equal(on_disk, t)


def test_same_seed_same_rows_different_seed_different_rows(exp_dir, tmp_path):
    a = comparable(_sweep(exp_dir, tmp_path / "a", seeds=2).table)
    b = comparable(_sweep(exp_dir, tmp_path / "b", seeds=2).table)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    y0 = a[(a.seed == 0) & (a.scale == 1.0)]["y"].to_numpy()
    y1 = a[(a.seed == 1) & (a.scale == 1.0)]["y"].to_numpy()
    assert not np.array_equal(y0, y1)


def test_resume_after_lost_and_half_written_runs_gives_the_uninterrupted_table(exp_dir,
                                                                               tmp_path):
    reference = comparable(_sweep(exp_dir, tmp_path / "ref").table)
    first = _sweep(exp_dir, tmp_path / "res")
    store = ResultStore(tmp_path / "res", "fake")
    h0, h1 = (config_hash(c) for c in CONFIGS)
    # a crash after these runs: three never written, one left as a dead writer's temporary
    for h, s in [(h0, 1), (h0, 4), (h1, 0)]:
        store.run_path(h, s).unlink()
    half = store.run_path(h1, 3)
    dead_tmp = half.parent / f".{half.name}.tmp-999999999-0badc0de"
    dead_tmp.write_bytes(half.read_bytes()[:100])
    half.unlink()
    (tmp_path / "res" / "fake" / "results.parquet").unlink()

    again = _sweep(exp_dir, tmp_path / "res")
    assert (again.computed, again.reused) == (4, 6)
    assert not dead_tmp.exists()
    pd.testing.assert_frame_equal(comparable(again.table), reference, check_exact=True)
    # the timing columns are the only ones that differ from the first, uninterrupted pass
    assert "wall_time" in first.table and "wall_time" not in comparable(first.table)


def _descendants(pid: int) -> list[int]:
    """Live processes below ``pid`` (from /proc: ppid links)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_sweep_killed_with_sigkill_resumes_to_the_uninterrupted_table(exp_dir, tmp_path):
    script = tmp_path / "sweep_script.py"
    script.write_text(SWEEP_SCRIPT)
    out = tmp_path / "killed"
    runs_dir = out / "fake" / "runs"
    env = source_env(FAKE_RUN_SLEEP="0.1")
    proc = subprocess.Popen([sys.executable, str(script), str(exp_dir), str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while len(_parquet_files(runs_dir)) < 4 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.01)
        helpers = _descendants(proc.pid)          # forkserver, pool workers, resource tracker
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    written = _parquet_files(runs_dir)
    assert 4 <= len(written) < 24
    for p in written:                     # every run file is complete and readable
        assert len(pd.read_parquet(p)) == 40
    # stored = with its checksum (a kill between the two writes leaves a file without one)
    done = [p for p in written if p.with_name(p.name + ".sha256").is_file()]
    assert len(done) >= len(written) - 2
    # orphaned pool workers notice the dead driver and exit, and the forkserver with them
    deadline = time.monotonic() + 15
    while any(_running(p) for p in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(helpers) >= 3 and not [p for p in helpers if _running(p)]

    fresh = _sweep(exp_dir, tmp_path / "fresh", seeds=12)
    rerun = _sweep(exp_dir, out, seeds=12)
    assert rerun.reused == len(done) and rerun.computed == 24 - len(done)
    assert not list(runs_dir.rglob(".*.tmp-*"))
    pd.testing.assert_frame_equal(comparable(rerun.table), comparable(fresh.table),
                                  check_exact=True)


def test_atomic_write_failing_midway_leaves_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "runs" / "x.parquet"
    old = pd.DataFrame({"a": [1.0, 2.0]})
    storage.atomic_write_parquet(path, old)

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(storage.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        storage.atomic_write_parquet(path, pd.DataFrame({"a": np.arange(10_000.0)}))
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(path), old)


def test_stale_temporaries_of_live_writers_are_kept(tmp_path):
    live = tmp_path / f".a.parquet.tmp-{os.getpid()}-12345678"
    dead = tmp_path / ".b.parquet.tmp-999999999-12345678"
    live.write_bytes(b"x")
    dead.write_bytes(b"x")
    assert storage.remove_stale_temporaries(tmp_path) == 1
    assert live.exists() and not dead.exists()


def test_more_seeds_later_reuse_the_runs_done(exp_dir, tmp_path):
    three = _sweep(exp_dir, tmp_path / "res", seeds=3)
    five = _sweep(exp_dir, tmp_path / "res", seeds=5)
    assert (five.computed, five.reused) == (4, 6)
    head = five.table[five.table.seed < 3].reset_index(drop=True)
    pd.testing.assert_frame_equal(head, three.table)


def test_runs_reused_from_an_edited_experiment_are_counted_as_stale(exp_dir, tmp_path):
    assert _sweep(exp_dir, tmp_path / "res", seeds=2).stale == 0
    assert _sweep(exp_dir, tmp_path / "res", seeds=2).stale == 0
    (exp_dir / "fake.py").write_text((exp_dir / "fake.py").read_text() + "\n# edited\n")
    again = _sweep(exp_dir, tmp_path / "res", seeds=3)
    assert (again.computed, again.reused, again.stale) == (2, 4, 4)
    fresh = _sweep(exp_dir, tmp_path / "res", seeds=3, rerun_stale=True)
    assert (fresh.computed, fresh.reused, fresh.stale) == (4, 2, 0)


def test_no_resume_recomputes_every_run(exp_dir, tmp_path):
    _sweep(exp_dir, tmp_path / "res", seeds=2)
    again = _sweep(exp_dir, tmp_path / "res", seeds=2, resume=False)
    assert (again.computed, again.reused) == (4, 0)


def test_failing_run_raises_with_its_traceback_and_keeps_finished_runs(exp_dir, tmp_path):
    cfg = {"n": 5, "scale": 1.0, "fail_seed": 2}
    with pytest.raises(RunFailed, match=r"seed 2\)") as info:
        run_sweep("fake", cfg, 4, out=tmp_path / "res", backend="serial",
                  experiments_dir=exp_dir, progress=False)
    assert "seed 2 fails on purpose" in info.value.details
    store = ResultStore(tmp_path / "res", "fake")
    assert store.has(config_hash(cfg), 0) and store.has(config_hash(cfg), 1)
    assert not store.has(config_hash(cfg), 2)


def test_failing_run_on_the_pool_aborts_the_runs_in_flight(exp_dir, tmp_path):
    cfg = {"n": 5, "scale": 1.0, "fail_seed": 0, "sleep": 60.0}     # seed 0 fails at once, others sleep
    t = time.perf_counter()
    with pytest.raises(RunFailed, match=r"seed 0\)"):
        run_sweep("fake", cfg, 3, out=tmp_path / "res", backend="process", workers=2,
                  experiments_dir=exp_dir, progress=False)
    assert time.perf_counter() - t < 45


def test_config_hash_ignores_seeds_and_key_order():
    assert config_hash({"a": 1, "b": [1, 2], "seeds": 3}) == config_hash({"b": (1, 2), "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 1.5})


def test_expand_grid_is_a_product_in_key_order_and_checks_keys():
    grid = expand_grid({"a": 0, "b": 0, "c": 9}, {"a": [1, 2], "b": [3, 4]})
    assert [(g["a"], g["b"], g["c"]) for g in grid] == [(1, 3, 9), (1, 4, 9), (2, 3, 9),
                                                         (2, 4, 9)]
    with pytest.raises(UsageError, match="grid key 'x' is not in the config"):
        expand_grid({"a": 0}, {"x": [1]})


def test_run_experiment_rejects_unknown_key_bad_size_and_zero_seeds(exp_dir, tmp_path):
    kw = {"out": tmp_path / "res", "backend": "serial", "experiments_dir": exp_dir, "progress": False}
    with pytest.raises(UsageError, match="unknown config key 'bogus'"):
        run_experiment("fake", overrides={"bogus": 1}, **kw)
    with pytest.raises(UsageError, match="unknown size 'huge'"):
        run_experiment("fake", size="huge", **kw)
    with pytest.raises(UsageError, match="seeds must be an integer >= 1, got 0"):
        run_experiment("fake", seeds=0, **kw)


def test_unreachable_ray_address_fails_fast_with_one_line():
    t = time.perf_counter()
    with pytest.raises(backends.BackendError, match=r"^cannot reach Ray at 127\.0\.0\.1:1: "):
        backends.check_reachable("127.0.0.1:1")
    assert time.perf_counter() - t < 10


@pytest.fixture
def grid():
    return expand_grid({"n": 40, "scale": 1.0, "fail_seed": -1}, {"scale": [1.0, 2.0]})


def test_serial_and_process_backends_give_identical_tables(exp_dir, tmp_path, grid):
    kw = {"experiments_dir": exp_dir, "progress": False}
    serial = run_sweep("fake", grid, 3, out=tmp_path / "serial", backend="serial", **kw)
    process = run_sweep("fake", grid, 3, out=tmp_path / "process", backend="process",
                        workers=2, **kw)
    assert serial.computed == process.computed == 6
    pd.testing.assert_frame_equal(comparable(serial.table), comparable(process.table),
                                  check_exact=True)


@pytest.mark.slow   # starting a local Ray takes 15-30 s on a shared 2-core machine
def test_ray_backend_gives_the_serial_table(exp_dir, tmp_path, grid):
    import ray

    kw = {"experiments_dir": exp_dir, "progress": False}
    serial = run_sweep("fake", grid, 3, out=tmp_path / "serial", backend="serial", **kw)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = run_sweep("fake", grid, 3, out=tmp_path / "ray", backend="ray", **kw)
        assert ray.is_initialized()        # a Ray started by the caller is left running
    finally:
        ray.shutdown()
    assert on_ray.computed == 6 and on_ray.backend == "ray"
    pd.testing.assert_frame_equal(comparable(serial.table), comparable(on_ray.table),
                                  check_exact=True)


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["flip_data", "flip_footer", "truncate", "no_checksum"])
def test_damaged_run_files_are_detected_and_recomputed(exp_dir, tmp_path, damage):
    reference = comparable(_sweep(exp_dir, tmp_path / "ref", seeds=3).table)
    _sweep(exp_dir, tmp_path / "res", seeds=3)
    store = ResultStore(tmp_path / "res", "fake")
    h = config_hash(CONFIGS[1])
    path = store.run_path(h, 2)
    size = path.stat().st_size
    if damage == "flip_data":
        _flip_byte(path, size // 3)
    elif damage == "flip_footer":
        _flip_byte(path, size - 60)
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[: size // 2])
    else:
        store.checksum_path(h, 2).unlink()    # a writer killed between the two files
    expected = "missing" if damage == "no_checksum" else "corrupt"
    assert store.run_state(h, 2) == expected
    if expected == "corrupt":
        with pytest.raises(storage.CorruptRunFile, match="rerun the sweep to recompute it"):
            store.read_run(h, 2)
    again = _sweep(exp_dir, tmp_path / "res", seeds=3)
    assert (again.computed, again.reused) == (1, 5)
    assert again.corrupt == (1 if expected == "corrupt" else 0)
    assert store.run_state(h, 2) == "ok"
    pd.testing.assert_frame_equal(comparable(again.table), reference, check_exact=True)


def test_a_run_file_damaged_after_planning_fails_the_merge_with_the_hint(exp_dir, tmp_path,
                                                                          monkeypatch):
    _sweep(exp_dir, tmp_path / "res", seeds=2)
    store_cls = storage.ResultStore
    original = store_cls.merge

    def damage_then_merge(self, keys):
        _flip_byte(self.run_path(*keys[0]), 200)
        return original(self, keys)

    monkeypatch.setattr(store_cls, "merge", damage_then_merge)
    with pytest.raises(RunFailed, match="does not match its checksum.*rerun the sweep"):
        _sweep(exp_dir, tmp_path / "res", seeds=2)


CONCURRENT_SCRIPT = textwrap.dedent('''
    import sys, time
    from mdptheory.runner.sweep import run_sweep
    if __name__ == "__main__":
        exp_dir, out, stamp = sys.argv[1], sys.argv[2], sys.argv[3]
        t0 = time.time()
        o = run_sweep("fake", [dict(n=40, scale=1.0, fail_seed=-1, sleep=0.05),
                               dict(n=40, scale=2.0, fail_seed=-1, sleep=0.05)], 6,
                      out=out, backend="serial", experiments_dir=exp_dir, progress=False)
        open(stamp, "w").write(f"{t0} {time.time()} {o.computed} {o.reused}")
''')


def test_two_concurrent_sweeps_into_one_folder_take_turns(exp_dir, tmp_path):
    script = tmp_path / "two_sweeps.py"
    script.write_text(CONCURRENT_SCRIPT)
    out = tmp_path / "shared"
    procs = [subprocess.Popen([sys.executable, str(script), str(exp_dir), str(out),
                               str(tmp_path / f"stamp{i}")], env=source_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for i in range(2)]
    errs = [p.communicate(timeout=240)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    stamps = [tuple(float(x) for x in (tmp_path / f"stamp{i}").read_text().split())
              for i in range(2)]
    # one sweep computed all 12 runs, the other (waiting for the lock if they overlapped)
    # reused them all
    assert sorted((int(c), int(r)) for _, _, c, r in stamps) == [(0, 12), (12, 0)]
    fresh = run_sweep("fake", [{"n": 40, "scale": 1.0, "fail_seed": -1, "sleep": 0.05},
                               {"n": 40, "scale": 2.0, "fail_seed": -1, "sleep": 0.05}], 6,
                      out=tmp_path / "fresh", backend="serial", experiments_dir=exp_dir,
                      progress=False)
    merged = pd.read_parquet(out / "fake" / "results.parquet")
    pd.testing.assert_frame_equal(comparable(merged), comparable(fresh.table), check_exact=True)


TRY_LOCK = "import fcntl, sys; fcntl.flock(open(sys.argv[1]), fcntl.LOCK_EX | fcntl.LOCK_NB)"


def test_a_sweep_waits_while_another_process_holds_the_folder_lock(exp_dir, tmp_path):
    script = tmp_path / "two_sweeps.py"
    script.write_text(CONCURRENT_SCRIPT)
    out = tmp_path / "shared"
    (out / "fake").mkdir(parents=True)
    with storage.folder_lock(out / "fake" / ".lock"):
        proc = subprocess.Popen([sys.executable, str(script), str(exp_dir), str(out),
                                 str(tmp_path / "stamp")], env=source_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stderr.readline()          # blocks until the sweep reports the wait
            assert f"waiting for the sweep in process {os.getpid()}" in line
            time.sleep(0.5)
            assert proc.poll() is None and not _parquet_files(out / "fake")
        except BaseException:
            proc.kill()
            raise
    assert proc.wait(timeout=240) == 0, proc.stderr.read()
    assert len(_parquet_files(out / "fake" / "runs")) == 12


def test_the_folder_lock_is_reentrant_and_released(tmp_path):
    lock = tmp_path / ".lock"
    with storage.folder_lock(lock), storage.folder_lock(lock):
        probe = subprocess.run([sys.executable, "-c", TRY_LOCK, str(lock)],
                               capture_output=True, check=False)
        assert probe.returncode != 0 and b"BlockingIOError" in probe.stderr
    probe = subprocess.run([sys.executable, "-c", TRY_LOCK, str(lock)], check=False)
    assert probe.returncode == 0


def test_pool_workers_die_with_a_killed_driver_that_nobody_reaps(exp_dir, tmp_path):
    """A driver killed with SIGKILL but not reaped stays a zombie whose pid still answers
    kill(pid, 0): its workers must notice anyway, within seconds."""
    script = tmp_path / "sweep_script.py"
    script.write_text(SWEEP_SCRIPT)
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(script), str(exp_dir), str(out)],
                            env=source_env(FAKE_RUN_SLEEP="0.5"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while len(_parquet_files(out / "fake" / "runs")) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None
            time.sleep(0.01)
        helpers = _descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        t_kill = time.monotonic()
        while Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            time.sleep(0.01)
        while any(_running(p) for p in helpers) and time.monotonic() - t_kill < 20:
            time.sleep(0.05)
        alive = [p for p in helpers if _running(p)]
        waited = time.monotonic() - t_kill
        assert _running(proc.pid) is False        # still unreaped: a zombie
        assert Path(f"/proc/{proc.pid}").exists()
    finally:
        proc.wait()
    assert len(helpers) >= 3 and not alive and waited < 10   # it was ~25 s without the fix


def test_workers_must_be_a_positive_integer(exp_dir, tmp_path):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(backends.BackendError, match="--workers must be"):
            _sweep(exp_dir, tmp_path / "res", backend="process", workers=bad)
    assert not (tmp_path / "res").exists()


HELPER_EXPERIMENT = textwrap.dedent('''
    """Experiment importing a helper module from its folder."""
    import pandas as pd
    from . import _shared
    from ._more import OFFSET

    CONFIG = dict(n=3, seeds=2)
    SMALL = CONFIG

    def run(config, seed):
        return pd.DataFrame({"k": range(config["n"]), "y": _shared.VALUE + OFFSET + seed})

    def verdict(results):
        return []

    def plot(results, path):
        return []
''')


def test_stale_runs_cover_helpers_and_the_mdptheory_source(tmp_path, monkeypatch):
    from mdptheory import experiments_registry as registry

    d = tmp_path / "exps"
    d.mkdir()
    (d / "withhelper.py").write_text(HELPER_EXPERIMENT)
    (d / "_shared.py").write_text("VALUE = 1\n")
    (d / "_more.py").write_text("from ._deep import X\nOFFSET = 10 + X\n")
    (d / "_deep.py").write_text("X = 0\n")
    (d / "_unused.py").write_text("Z = 0\n")
    kw = {"out": tmp_path / "res", "backend": "serial", "experiments_dir": d, "progress": False}
    cfg = {"n": 3}
    assert run_sweep("withhelper", cfg, 2, **kw).computed == 2
    assert run_sweep("withhelper", cfg, 2, **kw).stale == 0
    (d / "_unused.py").write_text("Z = 1\n")                 # not imported: not stale
    assert run_sweep("withhelper", cfg, 2, **kw).stale == 0
    (d / "_deep.py").write_text("X = 0  # edited\n")         # imported through _more
    again = run_sweep("withhelper", cfg, 2, **kw)
    assert (again.stale, again.stale_reasons) == (2, ["experiment_helpers"])
    assert run_sweep("withhelper", cfg, 2, rerun_stale=True, **kw).computed == 2
    monkeypatch.setattr(registry, "package_source_hash", lambda: "0" * 16)
    moved = run_sweep("withhelper", cfg, 2, **kw)
    assert (moved.stale, moved.stale_reasons) == (2, ["mdptheory_source"])
    monkeypatch.setattr("mdptheory.__version__", "9.9")
    both = run_sweep("withhelper", cfg, 2, **kw)
    assert both.stale_reasons == ["mdptheory_source", "mdptheory_version"]


def test_package_source_hash_is_deterministic_and_skips_the_cli():
    from mdptheory import experiments_registry as registry

    registry.package_source_hash.cache_clear()
    first = registry.package_source_hash()
    registry.package_source_hash.cache_clear()
    assert registry.package_source_hash() == first and len(first) == 16

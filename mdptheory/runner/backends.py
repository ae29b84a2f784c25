"""Where the runs of a sweep execute: ``serial``, ``process`` (local pool, the default) or ``ray``.

A backend maps a picklable module-level function over argument tuples and yields
``(index, result)`` pairs as runs finish, in completion order; the sweep puts results back in
a fixed order, so the backend never changes the numbers (every run draws its randomness from its
own seed only).

* ``serial``: in this process, one run after another (debugging, profiling, tiny sweeps).
* ``process``: a local pool of ``workers`` processes (``workers`` >= 1; None, the default,
  means all cores this process may use; 0 or less is an error),
  started with the ``forkserver`` context: a fresh server interpreter imports, once, the
  libraries and mdptheory modules this process has loaded (the experiment's imports) and
  initialises numba, then forks every worker from itself. Workers so start in milliseconds,
  without inheriting this process's threads (Ray, tqdm, numba's pool, Arrow) — a plain ``fork``
  of a threaded parent can deadlock — and the server stays up for later pools of this process.
  Kernels load from numba's on-disk cache (``cache=True``; ~3 ms each once numba is
  initialised). Workers run with ``NUMBA_NUM_THREADS=1`` and one BLAS thread: the pool already
  uses every core. ``MDPTHEORY_START_METHOD=fork|spawn`` overrides the start method.
* ``ray``: Ray tasks of one CPU each. ``address=None`` starts a local Ray with one CPU per core
  (and shuts it down afterwards); ``"auto"`` or ``"HOST:PORT"`` (or ``"ray://HOST:PORT"``)
  joins a running cluster, after checking that the address answers (Ray itself would retry
  for minutes). Ray is started (or joined) at the first sweep, with the driver's ``mdptheory``
  package and the experiment's folder as its runtime environment (:mod:`mdptheory.runner.
  shipping`): the workers need only mdptheory's dependencies, not the driver's files. If Ray is
  already initialised in this process it is used as it is (its workers must then see the
  experiment files at the same path, or the caller ships them). Ray is optional
  (``pip install 'mdptheory[distributed]'``) and imported only here.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import socket
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

from . import shipping

BACKENDS = ("serial", "process", "ray")
#: Environment of worker processes: one thread each, the pool uses the cores.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}
#: Modules the forkserver always imports before forking workers; it also imports the
#: libraries below and the mdptheory modules that this process has imported when it starts.
FORKSERVER_PRELOAD = ["numpy", "pandas", "pyarrow.parquet", "mdptheory.runner.sweep"]
_HEAVY_LIBRARIES = ("scipy", "numba", "matplotlib", "matplotlib.pyplot", "cvxpy", "networkx")
_WARM_FLAG = "_MDPTHEORY_WARM_NUMBA"


class BackendError(RuntimeError):
    """A backend that cannot be used as asked (Ray missing, address unreachable ...)."""


def available_cpus() -> int:
    """Cores this process may run on (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def limit_worker_threads() -> None:
    """Make the current (worker) process single-threaded in numba and, where possible, BLAS."""
    os.environ.update(WORKER_ENV)
    numba = sys.modules.get("numba")
    if numba is not None:
        try:
            numba.set_num_threads(1)
        except Exception:  # noqa: BLE001, S110  # a threading layer that cannot be resized keeps its default
            pass


def _warm_numba() -> None:
    """Pay numba's one-time initialisation (~0.5 s: LLVM, typing registry) in this process."""
    try:
        import numba
        numba.njit(lambda x: x + 1)(1)
    except Exception:  # noqa: BLE001, S110  # numba missing or broken: workers will report it when they need it
        pass


def forkserver_preload() -> list[str]:
    """What the forkserver should import: the fixed list, the heavy libraries this process has
    imported, and every mdptheory module it has imported."""
    names = list(FORKSERVER_PRELOAD)
    names += [m for m in _HEAVY_LIBRARIES if m in sys.modules]
    names += sorted(m for m in list(sys.modules)
                    if m.startswith("mdptheory.") and m not in names)
    return names


# The forkserver starts with _WARM_FLAG set and imports this module (through the preload): it
# then initialises numba once, and the workers forked from it inherit that.
if os.environ.pop(_WARM_FLAG, None) == "1":
    _warm_numba()


def check_workers(workers) -> None:
    """BackendError unless ``workers`` is None (all cores) or an integer >= 1."""
    if workers is None:
        return
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise BackendError(f"--workers must be an integer >= 1, got {workers!r}")
    if workers < 1:
        raise BackendError(f"--workers must be >= 1, got {workers} (leave it out to use all "
                           f"{available_cpus()} cores)")


def _proc_start_time(pid: int) -> str | None:
    """Field 22 (start time) of /proc/PID/stat, None if the process is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if fields[0] in ("Z", "X"):        # dead, waiting to be reaped: gone for our purpose
        return None
    return fields[19]


def _pid_alive(pid: int, start_time: str | None = None) -> bool:
    """Whether ``pid`` still runs (a zombie does not; on Linux a reused pid does not either:
    its start time differs from ``start_time``)."""
    if os.path.isdir("/proc/self"):
        now = _proc_start_time(pid)
        return now is not None and (start_time is None or now == start_time)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch_driver(pid: int, start_time: str | None, period: float) -> None:
    while True:
        time.sleep(period)
        if not _pid_alive(pid, start_time):
            os._exit(3)


def _die_with_parent() -> None:
    """Linux: ask the kernel to SIGKILL this process when its parent exits (the driver for
    fork/spawn workers, the forkserver, which exits with the driver, for forkserver ones)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)        # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def init_pool_worker(driver_pid: int, period: float = 0.5,
                     driver_start: str | None = None) -> None:
    """Initializer of pool workers: one thread for numba/BLAS, and exit when the driver dies.

    A worker blocks on its task queue, of which it holds both ends, so it would never notice a
    driver killed with SIGKILL. Two guards: the kernel's parent-death signal (Linux), and a
    daemon thread that checks every ``period`` s that the driver still runs — a killed driver
    that nobody reaped stays a zombie whose pid answers ``kill(pid, 0)``, so the check reads
    its state (and start time, against pid reuse) from /proc.
    """
    _die_with_parent()
    limit_worker_threads()
    if not _pid_alive(driver_pid, driver_start):
        os._exit(3)
    threading.Thread(target=_watch_driver, args=(driver_pid, driver_start, period),
                     daemon=True, name="mdptheory-driver-watch").start()


class SerialBackend:
    name = "serial"

    def __init__(self):
        self.workers = 1

    def imap_unordered(self, fn, args_list):
        for i, args in enumerate(args_list):
            yield i, fn(*args)

    def close(self):
        pass


@contextmanager
def _environ(values: dict):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _pythonpath_with_package() -> str:
    """``PYTHONPATH`` for a forkserver or spawned worker, with the folder this ``mdptheory``
    was imported from first: they start as ``python -c`` in the driver's *current* folder, and
    an empty entry of the driver's sys.path (the folder it started in) would not lead them to
    the same copy of the package."""
    root = str(Path(__file__).resolve().parents[2])
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    return os.pathsep.join([root, *rest])


class ProcessBackend:
    """A local process pool (see the module docstring for the start method)."""

    name = "process"

    def __init__(self, workers: int | None = None, start_method: str | None = None):
        check_workers(workers)
        self.workers = available_cpus() if workers is None else workers
        start_method = start_method or os.environ.get("MDPTHEORY_START_METHOD") or "forkserver"
        if start_method not in multiprocessing.get_all_start_methods():
            raise BackendError(f"start method {start_method!r} is not available here "
                               f"({', '.join(multiprocessing.get_all_start_methods())})")
        self.start_method = start_method
        self._ctx = multiprocessing.get_context(start_method)
        self._pool = None

    def imap_unordered(self, fn, args_list):
        args_list = list(args_list)
        if not args_list:
            return
        # Children inherit the environment at start: set it before the pool (or the
        # forkserver) starts, so numba and BLAS read one thread when they are first imported.
        env = dict(WORKER_ENV)
        if self.start_method == "forkserver":
            env[_WARM_FLAG] = "1"        # read by the server only (it is started in here)
            self._ctx.set_forkserver_preload(forkserver_preload())
        elif self.start_method == "fork":
            _warm_numba()                 # forked workers inherit numba's initialisation
        if self.start_method != "fork":
            env["PYTHONPATH"] = _pythonpath_with_package()
        with _environ(env):
            self._pool = ProcessPoolExecutor(max_workers=min(self.workers, len(args_list)),
                                             mp_context=self._ctx,
                                             initializer=init_pool_worker,
                                             initargs=(os.getpid(), 0.5,
                                                       _proc_start_time(os.getpid())))
            finished = False
            try:
                futures = {self._pool.submit(fn, *args): i for i, args in enumerate(args_list)}
            except BaseException:
                self._abort()
                self._pool = None
                raise
        try:                        # workers started: the environment is restored
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield futures[fut], fut.result()
            finished = True
        finally:
            if finished:
                self._pool.shutdown(wait=True)
            else:              # the caller stopped early (a failed run, Ctrl-C): abort
                self._abort()
            self._pool = None

    def _abort(self):
        """Stop runs in flight instead of waiting for them (their results are not wanted)."""
        procs = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            try:
                proc.terminate()
            except (OSError, ValueError):   # already gone
                pass
        for proc in procs:
            proc.join(timeout=10)

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _import_ray():
    try:
        import ray
    except ImportError as exc:
        raise BackendError("the ray backend needs Ray: pip install 'mdptheory[distributed]'") \
            from exc
    return ray


def _host_port(address: str) -> tuple[str, int]:
    addr = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = addr.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise BackendError(f"Ray address {address!r} is not 'auto' or HOST:PORT")
    return host.strip("[]"), int(port)


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """BackendError unless a TCP connection to ``address`` (HOST:PORT) opens within timeout."""
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BackendError(f"cannot reach Ray at {address}: {reason}") from None


def _resolve_auto(ray) -> str:
    """The address 'auto' stands for (RAY_ADDRESS, else the latest local cluster)."""
    env = os.environ.get("RAY_ADDRESS")
    if env and env != "auto":
        return env
    try:
        from ray._private import services
        found = services.get_ray_address_from_environment("auto", None)
    except Exception:  # noqa: BLE001
        found = None
    if not found:
        raise BackendError("no running Ray cluster found for --address auto "
                           "(start one with `ray start --head`, or pass HOST:PORT)")
    return found


class RayBackend:
    """Ray tasks of one CPU each (see the module docstring for addresses)."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None):
        ray = _import_ray()
        self._ray = ray
        self._owns = False
        self._pending = None
        self._remap = {}                          # driver folder -> its shipped copy
        if ray.is_initialized():
            self.workers = int(ray.cluster_resources().get("CPU", 1))
            return
        init = {"include_dashboard": False, "log_to_driver": False}
        check_workers(workers)
        if address is None:
            self.workers = available_cpus() if workers is None else workers
            init["num_cpus"] = self.workers
        else:
            # 'auto' is passed on as such: only then does Ray pick up a local cluster's
            # token (~/.ray/auth_token); an explicit address needs RAY_AUTH_MODE=token.
            check_reachable(_resolve_auto(ray) if address == "auto" else address)
            init["address"] = address
            self.workers = None                   # the cluster's CPUs, once joined
        self._pending = (init, address)           # started by the first imap_unordered

    def _start(self, runtime_env: dict) -> None:
        """ray.init with this runtime environment (the code shipped to the workers)."""
        ray = self._ray
        init, address = self._pending
        try:
            env_vars = {**dict(WORKER_ENV), **runtime_env.get("env_vars", {})}
            ray.init(**dict(init, runtime_env={**runtime_env, "env_vars": env_vars}))
        except Exception as exc:  # noqa: BLE001
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if address not in (None, "auto") and "RAY_AUTH_MODE" not in os.environ:
                reason += (" (if the cluster uses token authentication, set RAY_AUTH_MODE=token"
                           " and RAY_AUTH_TOKEN or ~/.ray/auth_token)")
            raise BackendError(f"cannot start Ray ({address or 'local'}): {reason}") from None
        self._owns = True
        self._pending = None
        if address is not None:
            self.workers = int(ray.cluster_resources().get("CPU", 1))

    def imap_unordered(self, fn, args_list):
        ray = self._ray
        args_list = list(args_list)
        if self._pending is not None:             # start Ray with the code of these tasks
            env, self._remap, staged = shipping.stage(args_list, WORKER_ENV)
            try:
                self._start(env)
            finally:
                shutil.rmtree(staged, ignore_errors=True)   # Ray uploaded it in ray.init
        remote = ray.remote(num_cpus=1, max_retries=0)(shipping.call_shipped)
        refs = {remote.remote(fn, self._remap, *args): i for i, args in enumerate(args_list)}
        try:
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1)
                for ref in done:
                    yield refs.pop(ref), ray.get(ref)
        finally:
            for ref in refs:
                ray.cancel(ref, force=True)

    def close(self):
        if self._owns:
            self._ray.shutdown()
            self._owns = False


def make_backend(name: str = "process", *, address: str | None = None,
                 workers: int | None = None):
    """A backend by name: "serial", "process" or "ray" (``address`` only for Ray)."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})")
    if address is not None and name != "ray":
        raise BackendError("--address applies only to --backend ray")
    if name == "serial":
        return SerialBackend()
    if name == "process":
        return ProcessBackend(workers)
    return RayBackend(address, workers)


__all__ = ["BACKENDS", "WORKER_ENV", "BackendError", "ProcessBackend", "RayBackend",
           "SerialBackend", "available_cpus", "check_reachable", "check_workers",
           "limit_worker_threads", "make_backend"]

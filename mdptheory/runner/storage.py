"""Results store: one Parquet file per (experiment, config hash, seed), written atomically,
with a checksum, under a per-experiment lock.

Layout under the output folder ``DIR`` (``results/`` by default)::

    DIR/<experiment>/.lock                                   held by the sweep writing here
    DIR/<experiment>/runs/<config hash>/config.json          the config the hash stands for
    DIR/<experiment>/runs/<config hash>/seed-000007.parquet  the rows run(config, 7) returned
    DIR/<experiment>/runs/<config hash>/seed-000007.parquet.sha256   its SHA-256 (hex)
    DIR/<experiment>/results.parquet                         the merged table of the last sweep

Every file is first written under a temporary name in the same folder (``.<name>.tmp-<pid>-…``),
flushed and fsync'ed, then renamed over its final name with ``os.replace`` (atomic on POSIX).
A run is *stored* when its Parquet file and its checksum file both exist and the file's
SHA-256 matches (the checksum is written second, so it marks the run complete): a process
killed at any moment (SIGKILL included) leaves at most a temporary file, which the next sweep
removes, or a Parquet file without checksum, and the run is recomputed. A run file whose bytes
changed afterwards (flipped bits, truncation) fails the check: the sweep recomputes it
(:meth:`ResultStore.run_state`), and merging refuses to read it (:class:`CorruptRunFile`).

One sweep at a time writes into ``DIR/<experiment>``: :meth:`ResultStore.lock` takes an
exclusive ``flock`` on its ``.lock`` file (released by the kernel when the process dies); a
second sweep waits for it, then resumes from the runs the first one stored.

The merged table is the concatenation of the run files in a fixed order (configs in grid order,
then seeds ascending), rows of a run in the order ``run`` returned them; two sweeps over the same
configs and seeds therefore give the same table whichever runs were resumed and whichever
backend computed them. Columns whose names start with ``wall_time`` hold timings; they differ
between runs and :func:`comparable` drops them before comparing tables.
"""
from __future__ import annotations

import io
import json
import os
import re
import sys
import threading
import uuid
from contextlib import contextmanager
from hashlib import sha256
from pathlib import Path

import numpy as np
import pandas as pd

TIMING_PREFIX = "wall_time"
_TMP_RE = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]+$")


def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (set, frozenset)):
        return sorted(x)
    raise TypeError(f"config value {x!r} of type {type(x).__name__} is not JSON-serialisable")


def canonical_json(config: dict) -> str:
    """Key-sorted compact JSON of a config (tuples become lists; inf/nan are written as
    Python's json writes them, Infinity/NaN, which Python's json reads back)."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), default=_jsonable)


def config_hash(config: dict) -> str:
    """12 hex digits of SHA-256 of :func:`canonical_json` of ``config`` without "seeds".

    The seed count is not part of the hash, so asking for more seeds later reuses the runs done.
    """
    return sha256(canonical_json({k: v for k, v in config.items() if k != "seeds"})
                  .encode()).hexdigest()[:12]


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode())


def parquet_bytes(df: pd.DataFrame, metadata: dict | None = None) -> bytes:
    """``df`` (index dropped) as Parquet bytes; ``metadata`` (str -> str) is stored in the
    file's schema metadata, next to pandas' own."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata:
        merged = dict(table.schema.metadata or {})
        merged.update({f"mdptheory.{k}".encode(): str(v).encode() for k, v in metadata.items()})
        table = table.replace_schema_metadata(merged)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def atomic_write_parquet(path, df: pd.DataFrame, metadata: dict | None = None) -> Path:
    """Serialise ``df`` to Parquet in memory (:func:`parquet_bytes`), then write it atomically."""
    return atomic_write_bytes(path, parquet_bytes(df, metadata))


def _metadata_of(schema) -> dict:
    raw = schema.metadata or {}
    return {k.decode()[len("mdptheory."):]: v.decode() for k, v in raw.items()
            if k.startswith(b"mdptheory.")}


def read_parquet_metadata(path) -> dict:
    """The ``metadata`` given to :func:`atomic_write_parquet` (without reading the data)."""
    import pyarrow.parquet as pq

    return _metadata_of(pq.read_schema(path))


class CorruptRunFile(OSError):
    """A run file whose bytes do not match its recorded checksum (or that cannot be read)."""


class OutputNotWritable(OSError):
    """The output folder cannot be created or written."""


_HELD: dict[Path, list] = {}      # lock file -> [open file, depth]: the locks this process holds
_HELD_GUARD = threading.Lock()


@contextmanager
def folder_lock(path, wait_message: str | None = None):
    """Hold an exclusive ``flock`` on the file ``path`` (created if missing) for the block.

    Re-entrant within a process. If another process holds it, ``wait_message`` (with
    ``{pid}`` replaced by the holder's pid, as it wrote it in the file) goes to stderr once, and
    the call waits. The kernel releases the lock when the holder dies, however it dies.
    """
    import fcntl

    path = Path(path).resolve()
    with _HELD_GUARD:
        held = _HELD.get(path)
        if held is not None:
            held[1] += 1
    if held is None:
        f = open(path, "a+")  # noqa: SIM115  (held open for the lock's lifetime)
        try:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if wait_message:
                    f.seek(0)
                    holder = f.read().strip() or "?"
                    print(wait_message.format(pid=holder), file=sys.stderr, flush=True)
                fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            f.truncate()
            f.write(f"{os.getpid()}\n")
            f.flush()
        except BaseException:
            f.close()
            raise
        held = [f, 1]
        with _HELD_GUARD:
            _HELD[path] = held
    try:
        yield
    finally:
        with _HELD_GUARD:
            held[1] -= 1
            last = held[1] == 0
            if last:
                del _HELD[path]
        if last:
            held[0].close()          # closing the file releases the flock


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder) -> int:
    """Delete temporary files left under ``folder`` by writers that no longer run; count them."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    removed = 0
    for p in folder.rglob(".*.tmp-*"):
        m = _TMP_RE.match(p.name)
        if m and not _pid_alive(int(m.group(1))):
            p.unlink(missing_ok=True)
            removed += 1
    return removed


def _sha256_file(path) -> str:
    h = sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without timing columns (``wall_time*``), index reset: for equality checks."""
    keep = [c for c in df.columns if not str(c).startswith(TIMING_PREFIX)]
    return df[keep].reset_index(drop=True)


class ResultStore:
    """The results of one experiment under ``root`` (see the module docstring for the layout)."""

    def __init__(self, root, experiment: str):
        self.root = Path(root)
        self.experiment = experiment
        self.dir = self.root / experiment
        self.runs_dir = self.dir / "runs"
        self.results_path = self.dir / "results.parquet"

    def run_path(self, chash: str, seed: int) -> Path:
        return self.runs_dir / chash / f"seed-{int(seed):06d}.parquet"

    def checksum_path(self, chash: str, seed: int) -> Path:
        path = self.run_path(chash, seed)
        return path.with_name(path.name + ".sha256")

    def prepare(self) -> None:
        """Create the experiment's folder; OutputNotWritable (one line) if that fails."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            probe = self.dir / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise OutputNotWritable(f"cannot write results under {self.root}: {reason} "
                                    f"({exc.filename or self.dir})") from None

    def lock(self):
        """Context manager: exclusive lock on this experiment's folder (see module docstring)."""
        return folder_lock(self.dir / ".lock",
                           f"waiting for the sweep in process {{pid}} to finish writing "
                           f"{self.dir} ...")

    def run_state(self, chash: str, seed: int) -> str:
        """"ok" (stored and intact), "missing" (no file, or no checksum yet: never completed)
        or "corrupt" (the bytes do not match the checksum)."""
        path, check = self.run_path(chash, seed), self.checksum_path(chash, seed)
        if not path.is_file() or not check.is_file():
            return "missing"
        try:
            return "ok" if _sha256_file(path) == check.read_text().strip() else "corrupt"
        except OSError:
            return "corrupt"

    def has(self, chash: str, seed: int) -> bool:
        return self.run_state(chash, seed) == "ok"

    def write_config(self, chash: str, config: dict) -> None:
        path = self.runs_dir / chash / "config.json"
        if not path.is_file():
            atomic_write_text(path, json.dumps(json.loads(canonical_json(config)), indent=1,
                                               sort_keys=True) + "\n")

    def write_run(self, chash: str, seed: int, df: pd.DataFrame,
                  metadata: dict | None = None) -> Path:
        """Write the run's Parquet file, then its checksum (which marks it complete)."""
        data = parquet_bytes(df, metadata)
        self.checksum_path(chash, seed).unlink(missing_ok=True)
        path = atomic_write_bytes(self.run_path(chash, seed), data)
        atomic_write_text(self.checksum_path(chash, seed), sha256(data).hexdigest() + "\n")
        return path

    def run_metadata(self, chash: str, seed: int) -> dict:
        try:
            return read_parquet_metadata(self.run_path(chash, seed))
        except Exception:  # noqa: BLE001  (unreadable footers are caught by the checksum)
            return {}

    def read_run(self, chash: str, seed: int) -> pd.DataFrame:
        """The run's rows, after checking its bytes against the checksum (CorruptRunFile)."""
        import pyarrow.parquet as pq

        path, check = self.run_path(chash, seed), self.checksum_path(chash, seed)
        hint = "rerun the sweep to recompute it (or delete it)"
        try:
            data = path.read_bytes()
            expected = check.read_text().strip()
        except OSError as exc:
            raise CorruptRunFile(f"cannot read run file {path} or its checksum "
                                 f"({exc.strerror or exc}); {hint}") from None
        if sha256(data).hexdigest() != expected:
            raise CorruptRunFile(f"run file {path} does not match its checksum "
                                 f"(damaged or truncated); {hint}")
        try:
            return pq.read_table(io.BytesIO(data)).to_pandas()
        except Exception as exc:  # written by another pyarrow, say
            raise CorruptRunFile(f"cannot read run file {path} ({exc}); {hint}") from exc

    def clean(self) -> int:
        """Remove temporaries of dead writers (see :func:`remove_stale_temporaries`)."""
        return remove_stale_temporaries(self.dir)

    def merge(self, keys) -> pd.DataFrame:
        """Concatenate the runs ``keys`` = [(config hash, seed), ...] in that order into
        results.parquet (written atomically) and return the table."""
        frames = [self.read_run(h, s) for h, s in keys]
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        atomic_write_parquet(self.results_path, table)
        return table


__all__ = ["TIMING_PREFIX", "CorruptRunFile", "OutputNotWritable", "ResultStore",
           "atomic_write_bytes", "atomic_write_parquet", "atomic_write_text", "canonical_json",
           "comparable", "config_hash", "folder_lock", "parquet_bytes",
           "remove_stale_temporaries"]

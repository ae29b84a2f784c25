"""Results store: one Parquet file per (experiment, config hash, seed), written atomically.

Layout under the output folder ``DIR`` (``results/`` by default)::

    DIR/<experiment>/runs/<config hash>/config.json       the config the hash stands for
    DIR/<experiment>/runs/<config hash>/seed-000007.parquet  the rows run(config, 7) returned
    DIR/<experiment>/results.parquet                      the merged table of the last sweep

Every file is first written under a temporary name in the same folder (``.<name>.tmp-<pid>-…``),
flushed and fsync'ed, then renamed over its final name with ``os.replace`` (atomic on POSIX).
So a run file either exists complete or not at all: a process killed at any moment (SIGKILL
included) leaves at most a temporary file, which the next sweep removes, and the run is
recomputed. "Complete" means "the final name exists"; resuming never re-reads old runs to decide.

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
import uuid
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


def atomic_write_parquet(path, df: pd.DataFrame, metadata: dict | None = None) -> Path:
    """Serialise ``df`` (index dropped) to Parquet in memory, then write it atomically.

    ``metadata`` (str -> str) is stored in the file's schema metadata, next to pandas' own.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata:
        merged = dict(table.schema.metadata or {})
        merged.update({f"mdptheory.{k}".encode(): str(v).encode() for k, v in metadata.items()})
        table = table.replace_schema_metadata(merged)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return atomic_write_bytes(path, buf.getvalue())


def read_parquet_metadata(path) -> dict:
    """The ``metadata`` given to :func:`atomic_write_parquet` (without reading the data)."""
    import pyarrow.parquet as pq

    raw = pq.read_schema(path).metadata or {}
    return {k.decode()[len("mdptheory."):]: v.decode() for k, v in raw.items()
            if k.startswith(b"mdptheory.")}


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

    def has(self, chash: str, seed: int) -> bool:
        return self.run_path(chash, seed).is_file()

    def write_config(self, chash: str, config: dict) -> None:
        path = self.runs_dir / chash / "config.json"
        if not path.is_file():
            atomic_write_text(path, json.dumps(json.loads(canonical_json(config)), indent=1,
                                               sort_keys=True) + "\n")

    def write_run(self, chash: str, seed: int, df: pd.DataFrame,
                  metadata: dict | None = None) -> Path:
        return atomic_write_parquet(self.run_path(chash, seed), df, metadata)

    def run_metadata(self, chash: str, seed: int) -> dict:
        try:
            return read_parquet_metadata(self.run_path(chash, seed))
        except Exception:  # unreadable footers are reported by read_run when merging
            return {}

    def read_run(self, chash: str, seed: int) -> pd.DataFrame:
        path = self.run_path(chash, seed)
        try:
            return pd.read_parquet(path, engine="pyarrow")
        except Exception as exc:  # a damaged file is named so the user can delete it
            raise OSError(f"cannot read run file {path} ({exc}); delete it and rerun") from exc

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


__all__ = ["ResultStore", "config_hash", "canonical_json", "comparable", "atomic_write_bytes",
           "atomic_write_text", "atomic_write_parquet", "remove_stale_temporaries",
           "TIMING_PREFIX"]

"""The row store: finished rows by content key, and what one run did (:class:`RunStats`, :class:`Failure`).

The store is a folder (``<store>/rows/<key>.json``, one JSON object per content key, beside ``<store>/audio/``)
and is treated as a database:

* **atomic**: every row (and every table, :func:`atomic_save`) is written to a temporary file with a unique name
  (process id + uuid) in the same folder, flushed to disk, then renamed over the target; a crash, a full disk or
  two processes writing one key leave either the old file or the new one, never a partial one, and no
  temporary file (a process killed with SIGKILL may leave one: :func:`sweep_temporaries` removes those older
  than an hour);
* **verified on read**: a row that is not a JSON object with :data:`REQUIRED` fields, or is not the row of the
  task asking for it, or whose enhanced audio is missing or truncated (wav header frames vs the frames in the
  file), is never reused: :meth:`RowStore.verified` names it in a warning and the task is recomputed;
* **relocatable**: paths inside the store (:data:`STORE_PATHS`) are written relative to the store folder and
  resolved on read, so a moved or copied store keeps working;
* **compatible**: rows written before (absolute paths) are read as they are; nothing is migrated or lost.

Why files and not SQLite: measured on 1,500 rows of the main job's shape (``/tmp``, ext4, a shared 2-core
machine), reading the rows takes 63-82 ms from the page cache (SQLite: 22-28 ms) and 1.15 s cold (SQLite: 60 ms);
a rerun's whole lookup, which also checks the headers of the 1,000 enhanced files (needed either way), takes
0.43 s warm and 2.1 s cold. SQLite would save at most a second on a run whose tasks take seconds each. Files
keep what SQLite would take away: users' existing stores are read without a migration; one corrupt row costs
that row, not the database; a store on NFS or a cluster's shared disk, where SQLite's locking is unreliable, stays
safe with rename-based writes; stores merge and sync with ``cp``/``rsync``; a row is readable with ``cat``.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from ..audio import info, wav_declared_frames
from ..errors import AudioError, SetoolkitError
from ..registry import not_run_note
from .task import NOISY, Task

#: Fields every evaluation row has; one without them is not reused (``RowStore(..., required=REQUIRED)``).
REQUIRED = ("dataset", "model", "file")
#: Row fields holding a path inside the store: written relative to the store folder, resolved on read.
STORE_PATHS = ("output_path",)
#: Temporary files (of rows, tables and audio) older than this are left-overs of a killed process.
STALE_SECONDS = 3600.0


class RowError(SetoolkitError):
    """A stored row cannot be used: unreadable, not JSON, not an object, missing fields, or another task's."""


def atomic_save(path: str | os.PathLike, writer: Callable[[Path], object]) -> Path:
    """Write ``path`` atomically: ``writer(tmp)`` writes a uniquely named temporary file in the same folder, which
    is flushed to disk and renamed over ``path``. On any failure (a full disk, a signal) the temporary file is
    removed, ``path`` is left as it was, and the exception propagates."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        writer(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_save`)."""
    return atomic_save(path, lambda tmp: tmp.write_bytes(data))


#: Names of the temporary files of :func:`atomic_save` and of :func:`setoolkit.audio.write` (``mkstemp``).
TEMPORARY = re.compile(r"^\..+\.(\d+\.[0-9a-f]{12}\.tmp|[a-z0-9_]{8}\.(wav|flac|ogg|mp3))$")


def sweep_temporaries(folder: str | os.PathLike, *, older_than: float = STALE_SECONDS) -> int:
    """Remove the temporary files that a killed process left in ``folder`` (not below it) more than ``older_than``
    seconds ago: only names :data:`TEMPORARY` matches, nothing else. Returns how many."""
    now, n = time.time(), 0
    for p in Path(folder).glob(".*"):
        try:
            if TEMPORARY.match(p.name) and p.is_file() and now - p.stat().st_mtime > older_than:
                p.unlink()
                n += 1
        except OSError:  # another run removed or renamed it meanwhile
            pass
    return n


def audio_problem(path: str | os.PathLike) -> str | None:
    """Why the audio file at ``path`` cannot stand for a stored result (``None`` when it can): missing, empty,
    unreadable header, or truncated (a wav whose header declares more frames than the file holds)."""
    path = Path(path)
    if not path.exists():
        return "missing"
    try:
        frames = info(path)["frames"]
        declared = wav_declared_frames(path)
    except (AudioError, OSError) as exc:
        return str(exc)
    if declared is not None and declared > frames:
        return f"truncated: the header declares {declared} frames, the file holds {frames}"
    return None


class Failure(NamedTuple):
    """One failed task: the task (``dataclasses.asdict`` of it) and the reason (exception type: message)."""

    task: dict
    reason: str

    @property
    def dataset(self) -> str:
        return self.task["dataset"]

    @property
    def file(self) -> str:
        """The file's key in its set (``a/x.wav`` in a nested set), as the table's ``file`` column."""
        return self.task.get("file") or Path(self.task["noisy"]).name

    @property
    def model(self) -> str:
        return self.task["model"]

    def __str__(self) -> str:
        return f"{self.dataset}/{self.file} ({self.model}): {self.reason}"


def failures_table(failures: Sequence[Failure]) -> pd.DataFrame:
    """``failures`` as a table: dataset, file, model, reason, noisy_path, clean_path."""
    return pd.DataFrame(
        [
            {
                "dataset": f.dataset,
                "file": f.file,
                "model": f.model,
                "reason": f.reason,
                "noisy_path": f.task["noisy"],
                "clean_path": f.task.get("clean"),
            }
            for f in failures
        ],
        columns=["dataset", "file", "model", "reason", "noisy_path", "clean_path"],
    )


class EvaluationTable(pd.DataFrame):
    """The table :func:`~setoolkit.evaluation.evaluate` returns: a DataFrame (one row per task) that also carries
    what the run did, ``table.stats`` (a :class:`RunStats`: counts, seconds per stage, the failures); a slice or a
    copy keeps it."""

    _metadata = ["stats"]

    @property
    def _constructor(self):
        return EvaluationTable


def rows_table(rows: Sequence[dict]) -> pd.DataFrame:
    """Rows as one table, sorted by set and file, the noisy baseline first per file."""
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(list(rows)).assign(_enhanced=lambda d: d["model"] != NOISY)
    return df.sort_values(["dataset", "file", "_enhanced", "model"]).drop(columns="_enhanced").reset_index(drop=True)


class RowStore:
    """Finished rows as one JSON file per content key under ``root`` (see the module docstring: atomic,
    verified on read, relocatable). ``base`` (default: ``root``'s parent, the store folder) is the folder the
    paths of :data:`STORE_PATHS` are relative to; ``required``: the fields a row must have to be read (the
    evaluation rows: :data:`REQUIRED`; the timing pass's caches hold other rows)."""

    def __init__(
        self, root: str | os.PathLike, *, base: str | os.PathLike | None = None, required: Sequence[str] = ()
    ) -> None:
        self.root = Path(root)
        self.base = Path(base) if base is not None else self.root.parent
        self.required = tuple(required)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def done(self) -> set[str]:
        """The keys with a row file (not yet verified: see :meth:`verified`)."""
        return {p.stem for p in self.root.glob("*.json")}

    def put(self, key: str, row: dict) -> None:
        """Store ``row`` under ``key`` atomically; paths inside the store are written relative to it."""
        row = dict(row)
        for k in STORE_PATHS:
            if isinstance(row.get(k), str) and Path(row[k]).is_relative_to(self.base):
                row[k] = Path(row[k]).relative_to(self.base).as_posix()
        atomic_write(self.path(key), json.dumps(row).encode())

    def get(self, key: str) -> dict:
        """The row stored under ``key``, paths resolved; :class:`RowError` naming the file when it is unreadable,
        not a JSON object, or lacks a required field (``FileNotFoundError`` when there is none)."""
        p = self.path(key)
        text = p.read_text()  # FileNotFoundError: no row (a caller's question, not a corrupt store)
        try:
            row = json.loads(text)
        except ValueError as exc:
            raise RowError(f"{p}: not valid JSON ({exc}; {len(text)} bytes)") from None
        if not isinstance(row, dict):
            raise RowError(f"{p}: not a JSON object")
        missing = [k for k in self.required if k not in row]
        if missing:
            raise RowError(f"{p}: missing field(s) {', '.join(missing)}")
        for k in STORE_PATHS:
            if isinstance(row.get(k), str) and not Path(row[k]).is_absolute():
                row[k] = str(self.base / row[k])
        return row

    def verified(self, task: Task) -> dict | None:
        """The stored row of ``task`` when it can stand for the task, else ``None`` (recompute): no row, or one
        that is unreadable, another task's, or whose enhanced audio is missing or truncated -- each of the last
        named in a warning."""
        try:
            row = self.get(task.key)
        except FileNotFoundError:
            return None
        except (RowError, OSError) as exc:
            warnings.warn(f"stored row not reused, recomputing: {exc}", stacklevel=2)
            return None
        mine = {"dataset": task.dataset, "model": task.model, "file": task.file}  # the key: a/x.wav in nested sets
        if any(row.get(k) != v for k, v in mine.items()):
            theirs = {k: row.get(k) for k in mine}
            warnings.warn(
                f"stored row not reused, recomputing: {self.path(task.key)}: holds {theirs}, not {mine}", stacklevel=2
            )
            return None
        if task.output is not None:
            problem = audio_problem(task.output)
            if problem == "missing":
                return None  # audio deleted to save space: recomputed, nothing is wrong
            if problem:
                warnings.warn(f"stored enhanced audio not reused, recomputing: {task.output}: {problem}", stacklevel=2)
                return None
        return row

    def table(self, keys: Sequence[str] | None = None) -> pd.DataFrame:
        """The rows of ``keys`` (default: every stored row) as one table, noisy baseline first per file; a row
        that cannot be read is left out with a warning naming its file."""
        keys = sorted(self.done()) if keys is None else keys
        rows = []
        for k in keys:
            try:
                rows.append(self.get(k))
            except FileNotFoundError:
                pass
            except (RowError, OSError) as exc:
                warnings.warn(f"stored row left out: {exc}", stacklevel=2)
        return rows_table(rows)


@dataclass
class RunStats:
    """What one :func:`evaluate` call did. ``failed``: one :class:`Failure` per failed task (also written to
    ``failures.csv`` beside ``scores.csv``, :attr:`failures_path`)."""

    total: int
    skipped: int
    computed: int
    failed: list
    models_without_weights: dict = field(default_factory=dict)
    #: seconds per stage summed over the tasks computed now (see :func:`run_task`), plus ``plan`` (listing
    #: files, hashing them, keys) and ``lookup`` (reading and verifying stored rows, writing the tables), both in
    #: the calling process
    stages: dict = field(default_factory=dict)
    failures_path: Path | None = None
    #: how many failure reasons :meth:`__str__` lists
    shown: int = 5
    #: ``{model: reason}`` for the requested models that could not be built (a model spec that fails to import,
    #: raises or returns no Enhancer): their tasks were not run; also in ``models_without_weights``
    not_built: dict = field(default_factory=dict)

    def __str__(self) -> str:
        text = f"{self.total} tasks: {self.skipped} already done, {self.computed} computed, {len(self.failed)} failed"
        if self.models_without_weights:
            text += "; " + not_run_note(self.models_without_weights)
        for name, reason in self.not_built.items():
            text += f"\n  NOT BUILT {name}: {reason}"
        for f in self.failed[: self.shown]:
            text += f"\n  FAILED {f}"
        if len(self.failed) > self.shown:
            text += f"\n  ... and {len(self.failed) - self.shown} more"
        if self.failed and self.failures_path:
            text += f"\n  every failure: {self.failures_path}"
        return text

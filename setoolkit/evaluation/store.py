"""The row store: finished rows by content key, and what one run did (:class:`RunStats`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..registry import not_run_note
from .task import NOISY, Task


class RowStore:
    """Finished rows as one JSON file per content key under ``root`` (atomic writes; safe to kill at any time)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def done(self) -> set[str]:
        return {p.stem for p in self.root.glob("*.json")}

    def put(self, key: str, row: dict) -> None:
        tmp = self.root / f".{key}.tmp"
        tmp.write_text(json.dumps(row))
        os.replace(tmp, self.root / f"{key}.json")

    def get(self, key: str) -> dict:
        return json.loads((self.root / f"{key}.json").read_text())

    def table(self, keys: Sequence[str] | None = None):
        """The rows of ``keys`` (default: every stored row) as one table, noisy baseline first per file."""
        import pandas as pd

        paths = sorted(self.root.glob("*.json")) if keys is None else [self.root / f"{k}.json" for k in keys]
        rows = [json.loads(p.read_text()) for p in paths if p.exists()]
        if not rows:
            return pd.DataFrame()
        df = pd.DataFrame(rows).assign(_enhanced=lambda d: d["model"] != NOISY)
        return df.sort_values(["dataset", "file", "_enhanced", "model"]).drop(columns="_enhanced").reset_index(drop=True)


def reusable(task: Task, store: RowStore, done: set[str]) -> bool:
    """A stored row can stand for ``task`` when its key is there and its enhanced audio still exists."""
    return task.key in done and (task.output is None or Path(task.output).exists())


@dataclass
class RunStats:
    """What one :func:`evaluate` call did."""

    total: int
    skipped: int
    computed: int
    failed: list
    models_without_weights: dict = field(default_factory=dict)
    #: seconds per stage summed over the tasks computed now (see :func:`run_task`), plus ``plan`` (listing
    #: files, hashing them, keys) and ``lookup`` (reading reused rows), both in the calling process
    stages: dict = field(default_factory=dict)

    def __str__(self) -> str:
        text = (f"{self.total} tasks: {self.skipped} already done, {self.computed} computed, "
                f"{len(self.failed)} failed")
        if self.models_without_weights:
            text += "; " + not_run_note(self.models_without_weights)
        return text

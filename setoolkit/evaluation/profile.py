"""Seconds per named stage: the clock a task, :func:`~setoolkit.metrics.score_pair` and the main job time their
stages with (``with profile.stage("enhance"): ...``), and the per-stage table the main job writes."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path


class Profile:
    """Seconds per named stage, in the order stages first appear; repeated stages add up."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + float(seconds)

    def merge(self, stages: dict, *, prefix: str = "") -> None:
        for k, v in stages.items():
            self.add(prefix + k, v)

    @contextmanager
    def stage(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def frame(self):
        import pandas as pd

        return pd.DataFrame({"stage": list(self.seconds), "seconds": [round(v, 3) for v in self.seconds.values()]})

    def write(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.frame().to_csv(path, index=False)
        return path

    def __str__(self) -> str:
        width = max((len(k) for k in self.seconds), default=5)
        return "\n".join(f"{k:<{width}}  {v:9.1f} s" for k, v in self.seconds.items())

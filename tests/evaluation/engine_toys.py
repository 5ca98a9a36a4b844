"""Task functions without a model for the engine fault tests (importable by spawned workers and scripts): each
reads its noisy file, writes the output a real task would write, and returns a deterministic row."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np

from setoolkit.audio import read, write
from setoolkit.evaluation import Task


def toy_task(task: Task, **kwargs) -> dict:
    """The row of ``task``: a number computed from the noisy file; the output file is written."""
    x, sr = read(task.noisy)
    if task.output:
        write(task.output, x * 0.5, sr)
    return {
        "dataset": task.dataset,
        "model": task.model,
        "file": Path(task.noisy).name,
        "sr": sr,
        "value": float(np.abs(x).sum()),
        "metrics": ",".join(kwargs["metrics"]),
        "output_path": task.output or task.noisy,
        "noisy_path": task.noisy,
        "clean_path": task.clean,
        "_stages": {"enhance": 0.5},
    }


def slow_task(task: Task, **kwargs) -> dict:
    """:func:`toy_task` after ``$TOY_SLEEP`` seconds (default 0.3): a run long enough to interrupt."""
    time.sleep(float(os.environ.get("TOY_SLEEP", "0.3")))
    return toy_task(task, **kwargs)


def failing_task(task: Task, **kwargs) -> dict:
    """:func:`toy_task`, except that every task of ``b.wav`` raises."""
    if Path(task.noisy).name == "b.wav":
        raise ValueError(f"toy failure on {Path(task.noisy).name}")
    return toy_task(task, **kwargs)


def always_failing_task(task: Task, **kwargs) -> dict:
    raise RuntimeError(f"toy model cannot load for {Path(task.noisy).name}")


def warning_task(task: Task, **kwargs) -> dict:
    """:func:`toy_task` raising one warning shared by every task (twice) and one naming its own file."""
    warnings.warn("toy library is deprecated", DeprecationWarning)
    warnings.warn("toy library is deprecated", DeprecationWarning)
    warnings.warn(f"toy clipping: {Path(task.noisy).stem} samples clipped")
    return toy_task(task, **kwargs)


def make_set(folder: Path, n: int = 3, seconds: float = 0.25, sr: int = 16000) -> Path:
    """A paired set ``folder/{noisy,clean}/{a,b,c,...}.wav`` of generated noise; returns ``folder``."""
    rng = np.random.default_rng(0)
    for i in range(n):
        name = f"{chr(ord('a') + i)}.wav"
        for sub in ("noisy", "clean"):
            write(folder / sub / name, (rng.standard_normal(int(seconds * sr)) * 0.1).astype(np.float32), sr)
    return folder

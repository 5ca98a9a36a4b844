"""Evaluation sets: the (noisy, clean) files of a registry dataset or a local folder, and the tasks of a run."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from .. import assets
from ..errors import SetoolkitError
from ..metrics.scoring import DEFAULT_METRICS
from ..output_plan import AUDIO_EXTS
from .keys import task_content
from .task import NOISY, ORACLES, Task


def set_files(dataset: str | os.PathLike, *, mirror=None) -> list[tuple[Path, Path | None]]:
    """``(noisy, clean or None)`` for every file of a registry dataset or a local folder, sorted by name."""
    p = Path(dataset)
    if p.is_dir():
        noisy_dir = p / "noisy" if (p / "noisy").is_dir() else p
        clean_dir = p / "clean" if (p / "clean").is_dir() else None
        noisy = sorted(f for f in noisy_dir.iterdir() if f.suffix.lower() in AUDIO_EXTS)
        if not noisy:
            raise SetoolkitError(f"{noisy_dir}: no audio files")
        return [(f, (clean_dir / f.name) if clean_dir and (clean_dir / f.name).exists() else None) for f in noisy]
    names = [n for n in assets.registry() if n.startswith(f"data/{dataset}/")]
    if any(n.startswith(f"data/{dataset}/clean/") for n in names):
        return [(n, c) for c, n in assets.dataset_pairs(str(dataset), mirror=mirror)]
    return [(f, None) for f in assets.dataset_files(str(dataset), mirror=mirror)]


def _set_name(dataset) -> str:
    p = Path(dataset)
    return p.name if p.is_dir() else str(dataset)


def make_tasks(models: Sequence[str], datasets: Sequence[str], out_dir: Path, *, limit: int | None = None,
               mirror=None, metrics: Sequence[str] = DEFAULT_METRICS, use_dnsmos: bool = True) -> list[Task]:
    """All tasks (noisy baseline first) for ``models`` x ``datasets``, with their content keys.

    Outputs go to ``out_dir/audio/<set>/<model>/<stem>.<key[:8]><ext>``: named by content, so a changed
    model never overwrites the output an older row (and an older report) points to.
    """
    tasks = []
    for ds in datasets:
        name = _set_name(ds)
        for noisy, clean in set_files(ds, mirror=mirror)[:limit]:
            for m in [NOISY, *models]:
                if m in ORACLES and clean is None:
                    continue  # an oracle needs the clean speech
                t = Task(name, m, str(noisy), str(clean) if clean else None, None,
                         task_content(m, noisy, clean, metrics=metrics, use_dnsmos=use_dnsmos, mirror=mirror))
                if m != NOISY:
                    p = Path(noisy)
                    t = replace(t, output=str(Path(out_dir) / "audio" / name / m / f"{p.stem}.{t.key[:8]}{p.suffix}"))
                tasks.append(t)
    return tasks

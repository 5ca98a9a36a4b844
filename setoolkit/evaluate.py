"""Evaluation: enhance paired (clean/ + noisy/) sets with several models and score every output.

The result is a tidy table (pandas) with one row per file x model, including the unprocessed ``noisy``
input as a baseline row, every intrusive metric (after alignment), the processing time and the
real-time factor (processing time / audio duration).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np

from . import assets
from .audio import read, write
from .metrics import DEFAULT_METRICS, score_files

NOISY = "noisy"


def enhance_files(model, files: Sequence[Path], out_dir: Path, *, progress: bool = True) -> list[dict]:
    """Enhance each file into ``out_dir`` (same name, same rate); returns ``{file, output, seconds, duration}`` rows."""
    from tqdm.auto import tqdm

    rows = []
    for src in tqdm(files, desc=f"enhance {model.name}", disable=not progress):
        audio, sr = read(src)
        t0 = time.perf_counter()
        y = model.enhance(audio, sr, name=str(src))
        seconds = time.perf_counter() - t0
        dst = write(Path(out_dir) / Path(src).name, y, sr)
        rows.append({"file": Path(src).name, "output": str(dst), "seconds": seconds,
                     "duration": audio.shape[1] / sr})
    return rows


def evaluate_dataset(models: Sequence, dataset: str, out_dir: Path, *, metrics: Sequence[str] = DEFAULT_METRICS,
                     mirror=None, workers: int | None = None, limit: int | None = None, progress: bool = True):
    """Enhance the pairs of ``dataset`` with each model under ``out_dir/<model>/`` and score all outputs.

    ``limit`` keeps only the first pairs (quick runs). Returns a DataFrame:
    ``dataset, model, file, <metrics>, lag, seconds, rtf``.
    """
    import pandas as pd

    pairs = assets.dataset_pairs(dataset, mirror=mirror)[:limit]
    clean = {noisy.name: c for c, noisy in pairs}
    noisy_files = [n for _, n in pairs]
    runs = {NOISY: [{"file": n.name, "output": str(n), "seconds": np.nan,
                     "duration": np.nan} for n in noisy_files]}
    for model in models:
        runs[model.name] = enhance_files(model, noisy_files, Path(out_dir) / model.name, progress=progress)
    jobs, meta = [], []
    for name, rows in runs.items():
        for r in rows:
            jobs.append((clean[r["file"]], r["output"]))
            meta.append({"dataset": dataset, "model": name, "file": r["file"], "seconds": r["seconds"],
                         "rtf": r["seconds"] / r["duration"] if r["duration"] == r["duration"] else np.nan})
    scores = score_files(jobs, metrics=metrics, workers=workers, progress=progress)
    table = pd.DataFrame([{**m, **{k: v for k, v in s.items() if k not in ("file", "reference", "sr")}}
                          for m, s in zip(meta, scores)])
    return table


def summarize(table, metrics: Sequence[str] = ("pesq_wb", "stoi", "estoi", "si_sdr", "sdr")):
    """Per dataset x model means of ``metrics`` and RTF, plus each metric's improvement over ``noisy``."""
    metrics = [m for m in metrics if m in table.columns]
    summary = table.groupby(["dataset", "model"], sort=False)[metrics + ["rtf"]].mean()
    base = summary.xs(NOISY, level="model")
    for m in metrics:
        summary[f"delta_{m}"] = summary[m] - base[m].reindex(summary.index.get_level_values("dataset")).values
    return summary.reset_index()

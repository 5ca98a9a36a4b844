"""The main job: enhance the real sample sets with every available model, score, draw, report.

``python -m setoolkit run`` calls :func:`run_comparison`; it grows as models are added to the registry.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Sequence

from . import assets
from .audio import read
from .evaluate import evaluate_dataset, summarize
from .figures import metric_bars, spectrogram_grid
from .registry import list_models, load
from .report import write_report

PAIRED_SETS = ("vbd16k", "vbd48k")


def run_comparison(*, models: Sequence[str] | None = None, datasets: Sequence[str] = PAIRED_SETS,
                   reports_dir: str | Path = "reports", figures_dir: str | Path = "figures",
                   date: str | None = None, mirror=None, workers: int | None = None, limit: int | None = None,
                   progress: bool = True) -> Path:
    """Run the comparison and return the report folder ``reports_dir/YYYY-MM-DD``.

    ``limit`` caps the pairs per dataset (for quick runs); by default every pair is used.
    """
    import pandas as pd

    date = date or dt.date.today().isoformat()
    out = Path(reports_dir) / date
    names = list(models) if models else [c.name for c in list_models(available_only=True)]
    enhancers = [load(n, mirror=mirror) for n in names]
    tables = []
    for ds in datasets:
        tables.append(evaluate_dataset(enhancers, ds, out / "audio" / ds, mirror=mirror, workers=workers,
                                       limit=limit, progress=progress))
    table = pd.concat(tables, ignore_index=True)
    table.to_csv(out / "scores.csv", index=False)
    summary = summarize(table)
    summary.to_csv(out / "summary.csv", index=False)

    figs = []
    for ds in datasets:
        figs.append(metric_bars(table, Path(figures_dir) / f"{date}_{ds}_metrics.png", dataset=ds))
        clean, noisy = assets.dataset_pairs(ds, mirror=mirror)[0]
        signals = {"noisy": read(noisy)[0][0], "clean": read(clean)[0][0]}
        for n in names:
            signals[n] = read(out / "audio" / ds / n / noisy.name)[0][0]
        sr = read(noisy)[1]
        figs.append(spectrogram_grid(signals, sr, Path(figures_dir) / f"{date}_{ds}_spectrograms.png",
                                     title=f"{ds}: {noisy.name}"))
    audio_links = [(f"{ds} {n} {p.name}", p) for ds in datasets for n in names
                   for p in sorted((out / "audio" / ds / n).glob("*.wav"))[:2]]
    notes = [f"models: {', '.join(names)}", f"datasets: {', '.join(datasets)} (real VoiceBank-DEMAND test pairs)",
             "metrics after cross-correlation alignment; PESQ-WB at 16 kHz; RTF = processing time / duration"]
    write_report(out, title=f"setoolkit comparison {date}", summary=summary.round(3), figures=figs, notes=notes,
                 audio_links=audio_links)
    return out


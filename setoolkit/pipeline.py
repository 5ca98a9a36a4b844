"""The main job: enhance the real sample sets with every available model, score, draw, report.

``python -m setoolkit run`` calls :func:`run_comparison`; it grows as models are added to the registry.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Sequence

from .evaluate import evaluate
from .report import build_report

#: Paired VoiceBank-DEMAND at 16 and 48 kHz, DNS3 synthetic pairs, and real noisy recordings (DNSMOS only).
DEFAULT_SETS = ("vbd16k", "vbd48k", "dns3_synthetic", "dns3_blind", "dns4_real48k")


def run_comparison(*, models: Sequence[str] | None = None, datasets: Sequence[str] = DEFAULT_SETS,
                   reports_dir: str | Path = "reports", figures_dir: str | Path = "figures",
                   date: str | None = None, mirror=None, workers: int | None = None, scheduler=None,
                   limit: int | None = None, use_dnsmos: bool = True, progress: bool = True) -> Path:
    """Evaluate ``models`` (default: all available) on ``datasets`` into ``reports_dir/YYYY-MM-DD`` (resumable:
    a rerun the same day computes only missing rows) and write the daily report there. Returns that folder."""
    date = date or dt.date.today().isoformat()
    out = Path(reports_dir) / date
    t0 = time.perf_counter()
    table, stats = evaluate(models, datasets, out, workers=workers, scheduler=scheduler, limit=limit, mirror=mirror,
                            use_dnsmos=use_dnsmos, progress=progress, return_stats=True)
    wall = time.perf_counter() - t0
    notes = [f"models: {', '.join(sorted(set(table['model']) - {'noisy'}))}",
             f"sets: {', '.join(datasets)}" + (f" (first {limit} files each)" if limit else ""),
             f"{stats}; evaluation wall time {wall:.0f} s",
             "intrusive metrics after cross-correlation alignment; PESQ-WB at 16 kHz; DNSMOS at 16 kHz; "
             "16 kHz models on 48 kHz sets run 48k -> 16k -> 48k; RTF = processing time / audio duration"]
    if stats.failed:
        notes.append(f"FAILED tasks: {stats.failed[:5]}")
    return build_report(table, out, date=date, figures_dir=figures_dir, notes=notes)

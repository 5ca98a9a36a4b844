"""The figures section: per dataset the metric bars, quality vs latency, size and (with a timing pass) RTF, and
the SNR-band curves; drawn into the caller's figures folder and copied into the report's ``figures/``."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...evaluation import NOISY
from .. import figures
from ..escape import md_escape, url_path
from ..leaderboard import ORACLE_PREFIX, model_info
from .base import ReportContext, Section


@dataclass
class FiguresView:
    """``sets``: ``(dataset, [figure paths relative to the report folder])`` in report order."""

    sets: list[tuple[str, list[str]]]


def with_variants(summary, variants):
    """``summary`` plus one row per runtime variant not scored itself, carrying its representative's scores
    (same weights; parity checked by the timing pass), so the speed figure shows every runtime."""
    if variants is None or not len(variants):
        return summary
    extra = []
    for v in variants.itertuples(index=False):
        rep = summary[summary["model"] == v.representative]
        if v.model != v.representative and len(rep) and not (summary["model"] == v.model).any():
            extra.append(rep.assign(model=v.model))
    return pd.concat([summary, *extra], ignore_index=True) if extra else summary


def set_figures(ctx: ReportContext, ds: str, *, sizes: dict, latency: dict, rtf: dict) -> list[Path]:
    """Draw one dataset's figures into ``ctx.figures_dir``; returns their paths."""
    summary, figs_dir, date = ctx.summary, ctx.figures_dir, ctx.date
    board = ctx.boards[ds]
    s = summary[(summary["dataset"] == ds) & ~summary["model"].str.startswith(ORACLE_PREFIX)]  # figures: models
    primary = board.attrs["primary"]
    made = [
        figures.metric_bars(
            s, figs_dir / f"{date}_{ds}_metrics.png", dataset=ds, metrics=board.attrs["metrics"], sort_by=primary
        )
    ]
    if (s["model"] != NOISY).any():
        made.append(
            figures.quality_vs_latency(
                s, latency, figs_dir / f"{date}_{ds}_quality_vs_latency.png", metric=primary, dataset=ds
            )
        )
        made.append(
            figures.quality_vs_size(s, sizes, figs_dir / f"{date}_{ds}_quality_vs_size.png", metric=primary, dataset=ds)
        )
        if rtf:
            made.append(
                figures.quality_vs_rtf(
                    with_variants(s, ctx.speed["variants"]),
                    figs_dir / f"{date}_{ds}_quality_vs_rtf.png",
                    metric=primary,
                    dataset=ds,
                    rtf=rtf,
                    threads=ctx.threads,
                )
            )
    if ctx.bands is not None and len(ctx.bands) and ds in set(ctx.bands["dataset"]):
        made.append(figures.snr_curves(ctx.bands, figs_dir / f"{date}_{ds}_snr_bands.png", dataset=ds))
    return made


def build(ctx: ReportContext) -> FiguresView:
    info = model_info(sorted(set(ctx.summary["model"]) - {NOISY}), ctx.speed["models"])
    sizes = ctx.sizes or {m: v for m, v in zip(info["model"], info["params_M"]) if np.isfinite(v)}
    latency = {m: v for m, v in zip(info["model"], info["latency_ms"]) if np.isfinite(v)}
    timing = ctx.speed["timing"]
    rtf = (
        {m: v for m, v in zip(timing["model"], timing["rtf"]) if np.isfinite(v)}
        if timing is not None and "rtf" in timing
        else {}
    )
    (ctx.out_dir / "figures").mkdir(exist_ok=True)
    sets = []
    for ds in ctx.datasets:
        local = []
        for f in set_figures(ctx, ds, sizes=sizes, latency=latency, rtf=rtf):
            shutil.copy(f, ctx.out_dir / "figures" / f.name)
            local.append(f"figures/{f.name}")
        sets.append((ds, local))
    return FiguresView(sets)


def markdown(view: FiguresView) -> list[str]:
    return ["## Figures", "", *[f"![{md_escape(Path(f).stem)}]({url_path(f)})" for _, fs in view.sets for f in fs], ""]


HTML = """\
  <h2>Figures</h2>
  {% for dataset, figures in view.sets %}
  <h3>{{ dataset }}</h3>
  <div class="figs">
    {% for f in figures %}<a href="{{ url(f) }}"><img src="{{ url(f) }}" alt="{{ f }}" loading="lazy"></a>{% endfor %}
  </div>
  {% endfor %}
"""

SECTION = Section(id="figures", nav="Figures", build=build, html=HTML, markdown=markdown)

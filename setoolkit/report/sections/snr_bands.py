"""The SNR-band section: per VoiceBank-DEMAND set, each model's PESQ-WB in each nominal input-SNR band (2.5, 7.5,
12.5, 17.5 dB), best at the lowest band first, with the files per band."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...metrics import catalog
from ..escape import md_escape
from ..leaderboard import fmt_num, is_reference, markdown_table, snr_pivot
from .base import ReportContext, Section


@dataclass
class SetPivot:
    """One set's :func:`snr_pivot` and its display ``cells`` (:func:`pivot_cells`)."""

    dataset: str
    pivot: pd.DataFrame
    cells: dict


@dataclass
class SnrBandsView:
    label: str
    sets: list[SetPivot]


def pivot_cells(p) -> dict:
    """Columns, rows (model, CSS class, cells with the best of each band marked) and files per band."""
    vals = p.to_numpy(dtype=float)
    enh = [i for i, m in enumerate(p.index) if not is_reference(m)]
    best = np.nanmax(vals[enh], axis=0) if enh else np.full(vals.shape[1], np.nan)
    rows = []
    for m, row in zip(p.index, vals):
        rows.append(
            {
                "model": m,
                "cls": "noisy" if is_reference(m) else "",
                "cells": [
                    {
                        "text": fmt_num(v),
                        "cls": "num"
                        + (" best" if not is_reference(m) and np.isfinite(v) and np.isclose(v, best[j]) else ""),
                    }
                    for j, v in enumerate(row)
                ],
            }
        )
    return {"columns": list(p.columns), "rows": rows, "n": p.attrs.get("n", {})}


def build(ctx: ReportContext) -> SnrBandsView | None:
    if ctx.bands is None or not len(ctx.bands):
        return None
    sets = []
    for ds in ctx.datasets:
        if ds in set(ctx.bands["dataset"]):
            p = snr_pivot(ctx.bands, ds)
            sets.append(SetPivot(ds, p, pivot_cells(p)))
    return SnrBandsView(catalog.label("pesq_wb"), sets) if sets else None


def markdown(view: SnrBandsView) -> list[str]:
    md = []
    for s in view.sets:
        md += [
            f"## {md_escape(s.dataset)} by input SNR band ({view.label})",
            "",
            markdown_table(s.pivot.round(3), index=True),
            "",
        ]
    return md


HTML = """\
  <h2>By input SNR band ({{ view.label }})</h2>
  {% for s in view.sets %}
  <h3>{{ s.dataset }}</h3>
  <table class="pivot">
    <thead><tr><th>model</th>{% for c in s.cells.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
    <tbody>
    {% for r in s.cells.rows %}
      <tr class="{{ r.cls }}"><td class="name">{{ r.model }}</td>{% for c in r.cells %}<td class="{{ c.cls }}">{{ c.text }}</td>{% endfor %}</tr>
    {% endfor %}
    </tbody>
  </table>
  <p class="legend">files per band: {% for b, n in s.cells.n.items() %}{{ "%g" | format(b) }} dB: {{ n }}{% if not loop.last %}, {% endif %}{% endfor %}</p>
  {% endfor %}
"""  # noqa: E501

SECTION = Section(id="snr", nav="SNR bands", build=build, html=HTML, markdown=markdown)

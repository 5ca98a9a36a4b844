"""The leaderboards section: the page opens here. One line per dataset saying who won and whether the lead is more
than noise, the families' colours, then one leaderboard per dataset (metrics as mean and 95% CI, the change over
the noisy input, the cost columns) with a "your model vs the best" sentence per model of your own."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...evaluation import NOISY
from ...evaluation.paired import NOT_COMPARED
from ...metrics import catalog
from ...registry import CARDS
from ..escape import md_escape
from ..figures import FAMILY_COLOURS
from ..leaderboard import (
    BUSY_MARK,
    board_display,
    fmt_ci,
    fmt_num,
    headline,
    is_reference,
    markdown_table,
    user_model_sentences,
)
from .base import ReportContext, Section
from .speed import load_sentence, timing_summary


@dataclass
class SetBoard:
    """One dataset's leaderboard: the ``board`` DataFrame, its ``headline``, the ``versus`` sentences and
    ``cells`` (``header`` and ``rows`` of display cells, see :func:`board_cells`)."""

    dataset: str
    board: pd.DataFrame
    headline: str
    versus: list[str]
    cells: dict


@dataclass
class LeaderboardsView:
    sets: list[SetBoard]
    family_colours: dict[str, str]
    timing_short: str | None
    rtf_line: str


def _status_badge(row) -> str:
    """``"not compared"`` for a model that shares no file with the leader (never "tied"), else ""."""
    return "not compared" if getattr(row, "status", "") == NOT_COMPARED else ""


def board_cells(board, variants=None, threads: int | None = None) -> dict:
    """Header and rows (cells with text, CI, CSS classes) of one leaderboard for the template."""
    metrics, deltas, primary = board.attrs["metrics"], board.attrs["deltas"], board.attrs["primary"]
    enh = board[~board["model"].map(is_reference)]
    cost_cols = [
        ("latency_ms", "latency", "ms", 0, "algorithmic latency (frame + lookahead), model card"),
        ("params_M", "params", "M", 2, "parameters, model card"),
        ("file_MB", "file", "MB", 1, "weight file size"),
        (
            "rtf",
            "RTF",
            f"{threads} thread{'s' if threads != 1 else ''}" if threads else "timing pass",
            3,
            "real-time factor from the dedicated timing pass (not the evaluation workers)",
        ),
        ("hop_p95_ms", "hop p95", "ms", 2, "95th percentile time per streaming hop, timing pass"),
    ]
    header = [{"text": "#"}, {"text": "model"}]
    for m in metrics:
        header.append({"text": catalog.label(m), "sub": "mean [95% CI]", "cls": "primary" if m == primary else ""})
    for d in deltas:
        header.append({"text": "Δ " + catalog.label(d[6:]), "sub": "vs noisy"})
    header += [{"text": t, "sub": u, "title": tip} for _, t, u, _, tip in cost_cols]

    def best(col, higher=True):
        v = enh[col].to_numpy(dtype=float) if col in enh else np.array([])
        v = v[np.isfinite(v)]
        return (v.max() if higher else v.min()) if v.size else None

    bests = {m: best(m, catalog.higher_is_better(m.removeprefix("delta_"))) for m in metrics + deltas}
    bests.update({c: best(c, higher=False) for c, *_ in cost_cols})
    var_of: dict[str, list[str]] = {}
    if variants is not None and len(variants):
        for r in variants.itertuples(index=False):
            if r.model != r.representative:
                var_of.setdefault(r.representative, []).append(r.model)
    rows = []
    for r in board.itertuples(index=False):
        noisy = is_reference(r.model)
        cells = [
            {"text": "" if noisy else str(int(r.rank)), "cls": "rank"},
            {
                "text": r.model,
                "cls": "name",
                "colour": None if noisy else FAMILY_COLOURS.get(r.family, "#777"),
                "badge": "tied" if r.tied else ("leader" if r.rank == 1 else _status_badge(r)),
                "domain": "in-domain" if r.in_domain else "",
                "domain_title": f"trained on {CARDS[r.model].trained_on}: this set is from its training corpus"
                if r.in_domain
                else "",
                "note": ("variants: " + ", ".join(var_of[r.model])) if r.model in var_of else "",
                "title": f"family {r.family}; {r.latency_class}; {r.size_class}"
                if not noisy
                else ("noisy input" if r.model == NOISY else "oracle mask: computed from the clean speech, a ceiling"),
            },
        ]
        for m in metrics + deltas:
            v = getattr(r, m)
            d = catalog.digits(m)
            lo, hi = getattr(r, f"{m}_lo", np.nan), getattr(r, f"{m}_hi", np.nan)
            is_best = not noisy and bests[m] is not None and np.isfinite(v) and np.isclose(v, bests[m])
            cells.append(
                {
                    "text": "–" if not np.isfinite(v) else (f"{v:+.{d}f}" if m.startswith("delta_") else f"{v:.{d}f}"),
                    "ci": fmt_ci(lo, hi, d),
                    "cls": "num" + (" best" if is_best else "") + (" primary" if m == primary else ""),
                }
            )
        for c, _, _, d, _ in cost_cols:
            v = getattr(r, c)
            is_best = not noisy and bests[c] is not None and np.isfinite(v) and np.isclose(v, bests[c])
            cell = {"text": "" if noisy else fmt_num(v, d), "cls": "num cost" + (" best" if is_best else "")}
            if c == "rtf" and not noisy and getattr(r, "rtf_busy", False):
                cell.update(
                    text=f"{cell['text']} {BUSY_MARK}",
                    cls=cell["cls"] + " busy",
                    title="timed while other processes used the CPU (timing.csv busy): an upper bound",
                )
            cells.append(cell)
        rows.append({"cells": cells, "cls": "noisy" if noisy else ("tied" if r.tied else "")})
    return {"header": header, "rows": rows}


def build(ctx: ReportContext) -> LeaderboardsView:
    timing, variants = ctx.speed["timing"], ctx.speed["variants"]
    sets = [
        SetBoard(
            dataset=ds,
            board=ctx.boards[ds],
            headline=headline(ctx.boards[ds]),
            versus=user_model_sentences(ctx.table, ctx.boards[ds]),
            cells=board_cells(ctx.boards[ds], variants, ctx.threads),
        )
        for ds in ctx.datasets
    ]
    families = sorted(
        {
            f
            for s in sets
            for f, m in zip(s.board["family"], s.board["model"])
            if not is_reference(m) and f in FAMILY_COLOURS
        }
    )
    summary = timing_summary(timing)
    return LeaderboardsView(
        sets=sets,
        family_colours={f: FAMILY_COLOURS[f] for f in families},
        timing_short=summary["short"] if summary else None,
        rtf_line="RTF: "
        + (
            f"one-thread timing pass (timing.csv). {load_sentence(timing)}".strip()
            if timing is not None and len(timing)
            else "– (no timing pass in this folder; the evaluation workers' times are contended)"
        ),
    )


def markdown(view: LeaderboardsView) -> list[str]:
    md = ["## At a glance", "", *[f"- {md_escape(s.headline)}" for s in view.sets], "", view.rtf_line, ""]
    for s in view.sets:
        md += [
            f"## Leaderboard: {md_escape(s.dataset)}",
            "",
            markdown_table(board_display(s.board)),
            "",
            *[f"{md_escape(v)}\n" for v in s.versus],
        ]
    return md


HTML = """\
  <ul class="glance">
  {% for s in view.sets %}
    <li><a href="#board-{{ url(s.dataset) }}">{{ s.dataset }}</a>: {{ s.headline[(s.dataset | length) + 2:] }}</li>
  {% endfor %}
  </ul>
  <p class="legend">
    Families:
    {% for f, c in view.family_colours.items() %}<span class="fam"><i style="background:{{ c }}"></i>{{ f }}</span>{% endfor %}
    &nbsp;·&nbsp; <b class="best-eg">bold green</b> = best in its column ·
    <span class="badge tied">tied</span> = not significantly different from the leader on the same files (paired Wilcoxon signed-rank, Holm-corrected, p ≥ 0.05; with 5 files or fewer nothing can be separated) ·
    <span class="badge not-compared">not compared</span> = no file in common with the leader ·
    <span class="badge domain">in-domain</span> = the model was trained on this set's corpus ·
    sorted by the <u>underlined</u> metric · RTF: {% if view.timing_short %}{{ view.timing_short }}{% else %}– (no timing pass in this folder){% endif %}
  </p>
  {% for s in view.sets %}
  <h2 id="board-{{ url(s.dataset) }}">{{ s.dataset }}</h2>
  <table class="board">
    <thead><tr>
      {% for h in s.cells.header %}<th class="{{ h.cls }}"{% if h.title %} title="{{ h.title }}"{% endif %}>{{ h.text }}{% if h.sub %}<small>{{ h.sub }}</small>{% endif %}</th>{% endfor %}
    </tr></thead>
    <tbody>
    {% for r in s.cells.rows %}
      <tr class="{{ r.cls }}">
      {% for c in r.cells %}
        {% if c.cls == "name" %}
        <td class="name" title="{{ c.title }}">{% if c.colour %}<i class="dot" style="background:{{ c.colour }}"></i>{% endif %}{{ c.text }}{% if c.badge %} <span class="badge {{ c.badge | replace(' ', '-') }}">{{ c.badge }}</span>{% endif %}{% if c.domain %} <span class="badge domain" title="{{ c.domain_title }}">{{ c.domain }}</span>{% endif %}{% if c.note %}<small class="note">{{ c.note }}</small>{% endif %}</td>
        {% else %}
        <td class="{{ c.cls }}"{% if c.title %} title="{{ c.title }}"{% endif %}>{{ c.text }}{% if c.ci %}<small>{{ c.ci }}</small>{% endif %}</td>
        {% endif %}
      {% endfor %}
      </tr>
    {% endfor %}
    </tbody>
  </table>
  {% for v in s.versus %}<p class="versus">{{ v }}</p>{% endfor %}
  {% endfor %}
"""  # noqa: E501

SECTION = Section(id="leaderboards", nav="Leaderboards", build=build, html=HTML, markdown=markdown)

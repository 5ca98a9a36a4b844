"""The competing-talker section: per built talker set, a leaderboard per input SIR band and who keeps the
competing voice.

For every built talker set in the evaluation table (:mod:`setoolkit.datasets`: a folder with ``recipe.json``),
the view holds the board (one row per model, reference rows last, sorted by SI-SDR against the target over the
one-talker files): SI-SDR per input SIR band (0, 5, 10, 15 dB), on babble and on talker + noise; PESQ-WB and
DNSMOS OVRL over the set; every optional metric the table holds (:data:`OPTIONAL_METRICS`: speaker similarity,
word errors... once their metrics land); and the SIR gain and verdict of :mod:`setoolkit.datasets.retention`;
then PESQ-WB per band, and one sentence naming the models that keep the voice and those that suppress it.
Writes ``talkers_retention.csv`` (component gains per output) and ``talkers_<set>.csv`` (the board).

Examples
--------
>>> view = build(ctx)                          # None when the table has no built talker set
>>> view.sets[0].sentence                       # which models keep the voice, which suppress it
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...datasets.recipes import BABBLE, TALKER, TALKER_NOISE
from ...datasets.retention import (
    KEEPS,
    KEEPS_BELOW_DB,
    PARTLY,
    SUPPRESSES,
    SUPPRESSES_FROM_DB,
    retention_table,
    verdicts,
)
from ...evaluation import NOISY
from ...metrics import catalog
from ..escape import md_escape
from ..leaderboard import fmt_num, is_reference, markdown_table
from .base import ReportContext, Section

#: Metrics shown over the whole set beside the SI-SDR bands, when the table has them.
SET_METRICS = ("pesq_wb", "OVRL")
#: Metrics other work adds to the table (speaker similarity to the target, word errors, NISQA...): a column each
#: when present.
OPTIONAL_METRICS = ("spk_sim", "wer", "cer", "nisqa", "distillmos")
#: Optional metrics where lower is better, until the metric catalogue records their direction.
LOWER_IS_BETTER = ("wer", "cer")
#: Band columns of the conditions that have no SIR band.
BAND_LABELS = {BABBLE: "babble", TALKER_NOISE: "talker + noise"}


@dataclass
class TalkerSet:
    """One built talker set: ``board`` (:func:`talker_board`), ``pesq_bands`` (PESQ-WB per band, board order),
    ``verdicts`` (:func:`setoolkit.datasets.retention.verdicts`), the ``sentence`` (:func:`keep_sentence`) and
    the display ``header`` (text, sub-text), ``rows`` and ``pesq_rows`` (model, CSS class, cells)."""

    dataset: str
    board: pd.DataFrame
    pesq_bands: pd.DataFrame
    verdicts: pd.DataFrame
    sentence: str
    header: list[tuple[str, str]]
    rows: list[dict]
    pesq_rows: list[dict]


@dataclass
class TalkersView:
    sets: list[TalkerSet]
    keeps_below_db: float = KEEPS_BELOW_DB
    suppresses_from_db: float = SUPPRESSES_FROM_DB


def band_of(condition: str, sir_db: float) -> str:
    """The board column of a file: ``"0 dB"`` ... for one competing talker, ``"babble"``, ``"talker + noise"``."""
    return f"{sir_db:g} dB" if condition == TALKER else BAND_LABELS.get(condition, condition)


def band_means(table: pd.DataFrame, retention: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean ``metric`` per model (rows) and band (columns, SIR bands first), for one set; ``n`` files per band in
    ``attrs["n"]``."""
    keys = retention[["dataset", "model", "file", "condition", "sir_db"]]
    m = table.merge(keys, on=["dataset", "model", "file"])
    if metric not in m.columns or not len(m):
        return pd.DataFrame()
    m = m.assign(band=[band_of(c, s) for c, s in zip(m["condition"], m["sir_db"])])
    order = [band_of(TALKER, s) for s in sorted(m.loc[m["condition"] == TALKER, "sir_db"].unique())]
    order += [b for b in (BAND_LABELS[BABBLE], BAND_LABELS[TALKER_NOISE]) if b in set(m["band"])]
    pivot = m.pivot_table(index="model", columns="band", values=metric, aggfunc="mean")[order]
    pivot.columns.name = None
    pivot.attrs["n"] = m[m["model"] == m["model"].iloc[0]].groupby("band").size().reindex(order).to_dict()
    return pivot


def talker_board(table: pd.DataFrame, retention: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """One set's board: ``model``, SI-SDR per band, ``si_sdr_talker`` (mean over the one-talker files: the sort
    key), the set means of :data:`SET_METRICS` and the optional metrics present, ``sir_gain_db`` and ``verdict``."""
    t, r = table[table["dataset"] == dataset], retention[retention["dataset"] == dataset]
    bands = band_means(t, r, "si_sdr")
    board = bands.copy()
    one = t.merge(r.loc[r["condition"] == TALKER, ["model", "file"]], on=["model", "file"])
    board["si_sdr_talker"] = one.groupby("model")["si_sdr"].mean()
    for m in (*SET_METRICS, *OPTIONAL_METRICS):
        if m in t.columns and t[m].notna().any():
            board[m] = t.groupby("model")[m].mean()
    v = verdicts(r).set_index("model")
    board["sir_gain_db"] = v["sir_gain_db"]
    board["verdict"] = v["verdict"]
    board = board.reset_index()
    ref = board["model"].map(is_reference)
    models = board[~ref].sort_values("si_sdr_talker", ascending=False)
    refs = board[ref].sort_values("si_sdr_talker", ascending=False)
    out = pd.concat([models, refs[refs["model"] != NOISY], refs[refs["model"] == NOISY]], ignore_index=True)
    out.attrs.update(dataset=dataset, bands=list(bands.columns), n=bands.attrs.get("n", {}))
    return out


def keep_sentence(v: pd.DataFrame, dataset: str) -> str:
    """Which models keep the competing voice and which suppress it (reference rows left out), in one sentence."""
    v = v[~v["model"].map(is_reference) & (v["verdict"] != "")]
    if not len(v):
        return f"{dataset}: no model output on a one-talker file to judge."

    parts: list[str] = []
    verbs = {
        KEEPS: ("keeps", "keep"),
        PARTLY: ("partly suppresses", "partly suppress"),
        SUPPRESSES: ("suppresses", "suppress"),
    }
    for kind, (one, many) in verbs.items():
        g = v[v["verdict"] == kind].sort_values("sir_gain_db")
        if len(g):
            names = ", ".join(f"{m} ({x:+.1f} dB)" for m, x in zip(g["model"], g["sir_gain_db"]))
            obj = "the competing voice" if not parts else "it"
            parts.append(f"{names} {one if len(g) == 1 else many} {obj}")
    return (
        f"{dataset}: " + "; ".join(parts) + f" (median SIR gain over the one-talker files: under {KEEPS_BELOW_DB:g} dB "
        f"keeps, from {SUPPRESSES_FROM_DB:g} dB suppresses)."
    )


def _cells(board: pd.DataFrame, cols: list[str]) -> list[list[dict]]:
    """Display cells of ``cols``, the best model value of each numeric column marked."""
    models = board[~board["model"].map(is_reference)]
    bands = {*board.attrs["bands"], "si_sdr_talker"}
    out = []
    for _, r in board.iterrows():
        row = []
        for c in cols:
            v = r[c]
            if c == "verdict":
                row.append({"text": v or "", "cls": "verdict", "badge": str(v).split()[0] if v else ""})
                continue
            digits = 1 if c in bands or c.endswith("_db") else catalog.digits(c)
            vals = models[c].to_numpy(dtype=float) if c in models else np.array([])
            vals = vals[np.isfinite(vals)]
            hib = catalog.higher_is_better(c) if c in catalog.CATALOG else c not in LOWER_IS_BETTER
            best = (vals.max() if hib else vals.min()) if vals.size else None
            is_best = not is_reference(r["model"]) and best is not None and np.isfinite(v) and np.isclose(v, best)
            v = 0.0 if np.isfinite(v) and round(float(v), digits) == 0 else v  # never "-0.0"
            row.append({"text": fmt_num(v, digits), "cls": "num" + (" best" if is_best else ""), "badge": ""})
        out.append(row)
    return out


def _headers(board: pd.DataFrame) -> list[tuple[str, str, str]]:
    """``(column, header, sub-header)`` of the board's display columns."""
    n = board.attrs.get("n", {})
    heads = [
        (b, f"SIR {b}" if b.endswith("dB") else b, f"SI-SDR dB, {n.get(b, '?')} files") for b in board.attrs["bands"]
    ]
    heads.append(("si_sdr_talker", "one talker", "SI-SDR dB, all SIRs"))
    heads += [(m, catalog.label(m), "set mean") for m in (*SET_METRICS, *OPTIONAL_METRICS) if m in board.columns]
    heads += [("sir_gain_db", "SIR gain", "dB, median"), ("verdict", "competing voice", "")]
    return heads


def _rows(board: pd.DataFrame, cols: list[str]) -> list[dict]:
    return [
        {"model": m, "cls": "noisy" if is_reference(m) else "", "cells": cells}
        for m, cells in zip(board["model"], _cells(board, cols))
    ]


def _pesq_rows(pesq: pd.DataFrame) -> list[dict]:
    """Rows of the PESQ-by-band table, the best model of each band marked."""
    if not len(pesq):
        return []
    vals = pesq.to_numpy(dtype=float)
    models = [i for i, m in enumerate(pesq.index) if not is_reference(m)]
    best = np.nanmax(vals[models], axis=0) if models else np.full(vals.shape[1], np.nan)
    return [
        {
            "model": m,
            "cls": "noisy" if is_reference(m) else "",
            "cells": [
                {"text": fmt_num(v), "cls": "num" + (" best" if i in models and np.isclose(v, best[j]) else "")}
                for j, v in enumerate(row)
            ],
        }
        for i, (m, row) in enumerate(zip(pesq.index, vals))
    ]


def build(ctx: ReportContext) -> TalkersView | None:
    """The view of every built talker set in ``ctx.table`` (``None`` when there is none); writes the CSV files."""
    table = ctx.table
    needed = {"dataset", "model", "file", "noisy_path", "output_path"}
    if not len(table) or not needed <= set(table.columns):
        return None
    retention = retention_table(table)
    if not len(retention):
        return None
    retention.to_csv(ctx.out_dir / "talkers_retention.csv", index=False)
    sets = []
    for ds in dict.fromkeys(retention["dataset"]):
        board = talker_board(table, retention, ds)
        board.to_csv(ctx.out_dir / f"talkers_{ds}.csv", index=False)
        t, r = table[table["dataset"] == ds], retention[retention["dataset"] == ds]
        pesq = band_means(t, r, "pesq_wb")
        pesq = pesq.reindex([m for m in board["model"] if m in pesq.index]) if len(pesq) else pesq
        v = verdicts(r)
        heads = _headers(board)
        sets.append(
            TalkerSet(
                ds,
                board,
                pesq,
                v,
                keep_sentence(v, ds),
                [(h, sub) for _, h, sub in heads],
                _rows(board, [c for c, _, _ in heads]),
                _pesq_rows(pesq),
            )
        )
    return TalkersView(sets)


def markdown(view: TalkersView) -> list[str]:
    md = ["## Competing talkers", ""]
    for s in view.sets:
        heads = _headers(s.board)
        shown = s.board[["model", *[c for c, _, _ in heads]]].rename(
            columns={c: f"{h} ({sub})" if sub else h for c, h, sub in heads}
        )
        shown = shown.round(2).apply(lambda c: c + 0.0 if c.dtype.kind == "f" else c)  # no "-0.000"
        md += [f"### {md_escape(s.dataset)}", "", md_escape(s.sentence), "", markdown_table(shown), ""]
        if len(s.pesq_bands):
            md += [f"{catalog.label('pesq_wb')} per band:", "", markdown_table(s.pesq_bands.round(2), index=True), ""]
    return md


HTML = """\
  <h2>Competing talkers</h2>
  <p class="legend">Built sets (<code>setoolkit datasets make</code>): a target talker with a competing talker of
    another speaker at input SIR 0, 5, 10 and 15 dB (ITU-T P.56 active levels), with babble of 4–6 talkers, and with a
    competing talker plus noise; the clean reference is the target alone. SI-SDR and PESQ-WB against the target.
    <b>SIR gain</b>: the least-squares gains of the target and of the interferer in each output give how much further
    below the target the interferer is than in the input (0 dB: the voice kept as it came), median over the one-talker
    files; under {{ "%g" | format(view.keeps_below_db) }} dB keeps the competing voice, from
    {{ "%g" | format(view.suppresses_from_db) }} dB suppresses it.</p>
  {% for s in view.sets %}
  <h3 id="talkers-{{ s.dataset }}">{{ s.dataset }}</h3>
  <p class="versus">{{ s.sentence }}</p>
  <div class="wide"><table class="board talkers">
    <thead><tr><th>model</th>{% for h, sub in s.header %}<th>{{ h }}<small>{{ sub }}</small></th>{% endfor %}</tr></thead>
    <tbody>
    {% for r in s.rows %}
      <tr class="{{ r.cls }}"><td class="name">{{ r.model }}</td>
      {% for c in r.cells %}<td class="{{ c.cls }}">{% if c.badge %}<span class="badge verdict-{{ c.badge }}">{{ c.text }}</span>{% else %}{{ c.text }}{% endif %}</td>{% endfor %}
      </tr>
    {% endfor %}
    </tbody>
  </table></div>
  {% if s.pesq_rows %}
  <details><summary>{{ label("pesq_wb") }} per band</summary>
  <table class="pivot">
    <thead><tr><th>model</th>{% for c in s.pesq_bands.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
    <tbody>
    {% for r in s.pesq_rows %}
      <tr class="{{ r.cls }}"><td class="name">{{ r.model }}</td>{% for c in r.cells %}<td class="{{ c.cls }}">{{ c.text }}</td>{% endfor %}</tr>
    {% endfor %}
    </tbody>
  </table></details>
  {% endif %}
  {% endfor %}
"""  # noqa: E501

SECTION = Section(id="talkers", nav="Competing talkers", build=build, html=HTML, markdown=markdown)

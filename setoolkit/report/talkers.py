"""The interfering-talker section of the daily report: a leaderboard per SIR band and who keeps the competing voice.

For every built talker set in the evaluation table (:mod:`setoolkit.datasets`: a folder with ``recipe.json``),
:func:`talker_sections` returns one :class:`TalkersSection`: its view model (the board, the PESQ-by-band table,
the verdicts, the sentence) and its HTML and Markdown fragments, read by the daily report's two writers.

The board has one row per model (reference rows last), sorted by SI-SDR against the target over the one-talker
files: SI-SDR per input SIR band (0, 5, 10, 15 dB), on babble and on talker + noise; PESQ-WB and DNSMOS OVRL
over the set; every optional metric the table holds (:data:`OPTIONAL_METRICS`: speaker similarity, word
errors... once their metrics land); and the SIR gain and verdict of :mod:`setoolkit.datasets.retention`.

Examples
--------
>>> sections = talker_sections(table, "reports/2026-01-02")     # also writes talkers_*.csv there
>>> sections[0].sentence                                         # which models keep the voice, which suppress it
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets.recipes import BABBLE, TALKER, TALKER_NOISE
from ..datasets.retention import (
    KEEPS,
    KEEPS_BELOW_DB,
    PARTLY,
    SUPPRESSES,
    SUPPRESSES_FROM_DB,
    retention_table,
    verdicts,
)
from ..evaluation import NOISY
from ..metrics import catalog
from .escape import md_escape
from .leaderboard import fmt_num, is_reference, markdown_table

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
class TalkersSection:
    """One built talker set in the report: ``board`` (one row per model), ``pesq_bands`` (PESQ-WB per band),
    ``verdicts`` (:func:`setoolkit.datasets.retention.verdicts`), the ``sentence`` naming who keeps and who
    suppresses the competing voice, and the ``html`` and ``markdown`` fragments."""

    dataset: str
    board: pd.DataFrame
    pesq_bands: pd.DataFrame
    verdicts: pd.DataFrame
    sentence: str
    html: str
    markdown: str


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

    parts = []
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


def section_html(board: pd.DataFrame, pesq: pd.DataFrame, sentence: str) -> str:
    """The section's HTML fragment (every name escaped)."""
    esc = html.escape
    heads = _headers(board)
    cols = [c for c, _, _ in heads]
    th = "".join(f"<th>{esc(h)}<small>{esc(s)}</small></th>" for _, h, s in heads)
    body = []
    for (_, r), cells in zip(board.iterrows(), _cells(board, cols)):
        tds = "".join(
            f'<td class="{c["cls"]}">'
            + (
                f'<span class="badge verdict-{esc(c["badge"])}">{esc(c["text"])}</span>'
                if c.get("badge")
                else esc(c["text"])
            )
            + "</td>"
            for c in cells
        )
        cls = ' class="noisy"' if is_reference(r["model"]) else ""
        body.append(f'<tr{cls}><td class="name">{esc(str(r["model"]))}</td>{tds}</tr>')
    ds = esc(board.attrs["dataset"])
    parts = [
        f'<h3 id="talkers-{ds}">{ds}</h3>',
        f'<p class="versus">{esc(sentence)}</p>',
        f'<div class="wide"><table class="board talkers"><thead><tr><th>model</th>{th}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>",
    ]
    if len(pesq):
        rows = "".join(
            f'<tr{" class=noisy" if is_reference(m) else ""}><td class="name">{esc(str(m))}</td>'
            + "".join(f'<td class="num">{fmt_num(v, 2)}</td>' for v in pesq.loc[m])
            + "</tr>"
            for m in board["model"]
            if m in pesq.index
        )
        head = "".join(f"<th>{esc(c)}</th>" for c in pesq.columns)
        parts.append(
            f"<details><summary>{esc(catalog.label('pesq_wb'))} per band</summary>"
            f'<table class="pivot"><thead><tr><th>model</th>{head}</tr></thead><tbody>{rows}</tbody></table></details>'
        )
    return "\n".join(parts)


def section_markdown(board: pd.DataFrame, pesq: pd.DataFrame, sentence: str) -> str:
    """The section's Markdown fragment."""
    heads = _headers(board)
    shown = board[["model", *[c for c, _, _ in heads]]].rename(
        columns={c: f"{h} ({s})" if s else h for c, h, s in heads}
    )
    md = [f"### {md_escape(board.attrs['dataset'])}", "", md_escape(sentence), "", markdown_table(shown.round(2))]
    if len(pesq):
        md += ["", f"{catalog.label('pesq_wb')} per band:", "", markdown_table(pesq.round(2), index=True)]
    return "\n".join(md)


def talker_sections(table: pd.DataFrame, out_dir: str | os.PathLike | None = None) -> list[TalkersSection]:
    """One :class:`TalkersSection` per built talker set in ``table`` (none: ``[]``). With ``out_dir``, writes
    ``talkers_retention.csv`` (per output: component gains) and ``talkers_<set>.csv`` (the board) there."""
    needed = {"dataset", "model", "file", "noisy_path", "output_path"}
    if not len(table) or not needed <= set(table.columns):
        return []
    retention = retention_table(table)
    if not len(retention):
        return []
    if out_dir is not None:
        retention.to_csv(Path(out_dir) / "talkers_retention.csv", index=False)
    out = []
    for ds in dict.fromkeys(retention["dataset"]):
        board = talker_board(table, retention, ds)
        t, r = table[table["dataset"] == ds], retention[retention["dataset"] == ds]
        pesq = band_means(t, r, "pesq_wb")
        pesq = pesq.reindex([m for m in board["model"] if m in pesq.index]) if len(pesq) else pesq
        v = verdicts(r)
        sentence = keep_sentence(v, ds)
        if out_dir is not None:
            board.to_csv(Path(out_dir) / f"talkers_{ds}.csv", index=False)
        out.append(
            TalkersSection(
                ds,
                board,
                pesq,
                v,
                sentence,
                section_html(board, pesq, sentence),
                section_markdown(board, pesq, sentence),
            )
        )
    return out

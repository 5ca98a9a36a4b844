"""The daily report: ``reports/YYYY-MM-DD/`` with HTML + Markdown pages built from an evaluation table.

It holds the summary (means with bootstrap 95% CIs, improvement over noisy), the per-SNR-band table for
paired VoiceBank-DEMAND sets, the figures (copied next to the page so the folder is self-contained), links
to the enhanced audio, and what changed since the previous report in the same reports folder.
"""

from __future__ import annotations

import html
import os
import shutil
from pathlib import Path
from typing import Sequence

import numpy as np

from .evaluate import NOISY, snr_bands, summarize

#: Columns of the summary shown in the report (CIs are in summary.csv).
SHOWN = ("dataset", "model", "n", "pesq_wb", "stoi", "si_sdr", "OVRL", "P808_MOS", "rtf", "delta_pesq_wb",
         "delta_si_sdr", "delta_OVRL")
#: A metric change of at least this much (in its unit) since the previous report is listed.
CHANGE_THRESHOLDS = {"pesq_wb": 0.05, "stoi": 0.01, "si_sdr": 0.5, "OVRL": 0.05, "P808_MOS": 0.05}


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "–" if v != v else f"{v:.3f}"
    return str(v)


def markdown_table(df) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def html_table(df) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f"<table><tr>{head}</tr>{body}</table>"


def previous_report(reports_root: str | os.PathLike, date: str) -> Path | None:
    """The latest ``reports_root/YYYY-MM-DD`` before ``date`` that has a ``summary.csv``."""
    root = Path(reports_root)
    if not root.is_dir():
        return None
    earlier = sorted(p for p in root.iterdir() if p.is_dir() and p.name < date and (p / "summary.csv").exists())
    return earlier[-1] if earlier else None


def changes_since(previous_summary, summary) -> list[str]:
    """Human-readable list of what changed between two summaries: models/sets added or removed, and metric
    means that moved by at least :data:`CHANGE_THRESHOLDS`."""
    prev = previous_summary.set_index(["dataset", "model"])
    cur = summary.set_index(["dataset", "model"])
    out = [f"new: {m} on {d}" for d, m in cur.index.difference(prev.index)]
    out += [f"no longer reported: {m} on {d}" for d, m in prev.index.difference(cur.index)]
    for key in cur.index.intersection(prev.index):
        for m, thr in CHANGE_THRESHOLDS.items():
            if m in cur.columns and m in prev.columns:
                a, b = prev.loc[key, m], cur.loc[key, m]
                if np.isfinite(a) and np.isfinite(b) and abs(b - a) >= thr:
                    out.append(f"{key[1]} on {key[0]}: {m} {a:.3f} -> {b:.3f} ({b - a:+.3f})")
    return out or ["no change beyond the thresholds"]


def build_report(table, out_dir: str | os.PathLike, *, date: str, figures_dir: str | os.PathLike = "figures",
                 sizes: dict | None = None, spectrogram_files: int = 1, notes: Sequence[str] = ()) -> Path:
    """Write ``summary.csv``, ``snr_bands.csv``, figures, ``report.md`` and ``report.html`` into ``out_dir``.

    ``table``: the evaluation table (:func:`setoolkit.evaluate.evaluate`). ``sizes``: model -> parameters
    in millions for the quality-vs-size figure (default: from the model cards). Returns ``out_dir``.
    """
    from . import figures
    from .audio import read
    from .registry import CARDS

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(table)
    summary.to_csv(out_dir / "summary.csv", index=False)
    bands = snr_bands(table[table["dataset"].str.startswith("vbd")]) if len(table) else None
    if bands is not None and len(bands):
        bands.to_csv(out_dir / "snr_bands.csv", index=False)
    sizes = sizes or {n: c.params / 1e6 for n, c in CARDS.items() if c.params}

    figs_dir = Path(figures_dir)
    figs = []
    for ds in summary["dataset"].unique():
        s = summary[summary["dataset"] == ds]
        figs.append(figures.metric_bars(s, figs_dir / f"{date}_{ds}_metrics.png", dataset=ds))
        has_pesq = "pesq_wb" in s.columns and s["pesq_wb"].notna().any()
        metric = "pesq_wb" if has_pesq else "OVRL"
        if (s["model"] != NOISY).any():
            figs.append(figures.quality_vs_rtf(s, figs_dir / f"{date}_{ds}_quality_vs_rtf.png", metric=metric,
                                               dataset=ds))
            figs.append(figures.quality_vs_size(s, sizes, figs_dir / f"{date}_{ds}_quality_vs_size.png",
                                                metric=metric, dataset=ds))
        if bands is not None and len(bands) and ds in set(bands["dataset"]):
            figs.append(figures.snr_curves(bands, figs_dir / f"{date}_{ds}_snr_bands.png", dataset=ds))
        rows = table[table["dataset"] == ds]
        for fname in list(dict.fromkeys(rows["file"]))[:spectrogram_files]:
            fr = rows[rows["file"] == fname]
            first = fr.iloc[0]
            signals = {"noisy": read(first["noisy_path"])[0][0]}
            if isinstance(first.get("clean_path"), str):
                signals["clean"] = read(first["clean_path"])[0][0]
            for r in fr[fr["model"] != NOISY].itertuples(index=False):
                signals[r.model] = read(r.output_path)[0][0]
            figs.append(figures.spectrogram_grid(signals, int(first["sr"]),
                                                 figs_dir / f"{date}_{ds}_{Path(fname).stem}_spectrograms.png",
                                                 title=f"{ds}: {fname}"))
    local_figs = []
    (out_dir / "figures").mkdir(exist_ok=True)
    for f in figs:
        dst = out_dir / "figures" / f.name
        shutil.copy(f, dst)
        local_figs.append(dst)

    prev = previous_report(out_dir.parent, date)
    import pandas as pd

    changes = (changes_since(pd.read_csv(prev / "summary.csv"), summary) if prev
               else ["first report in this folder"])
    shown = summary[[c for c in SHOWN if c in summary.columns]].round(3)
    audio = [(f"{r.dataset} / {r.model} / {r.file}", Path(r.output_path))
             for r in table[table["model"] != NOISY].groupby(["dataset", "model"]).head(2).itertuples(index=False)]
    _write_pages(out_dir, f"setoolkit daily report {date}", shown, bands, local_figs, audio, changes,
                 [*notes, f"previous report: {prev.name}" if prev else "previous report: none"])
    return out_dir


def _write_pages(out_dir: Path, title: str, shown, bands, figs, audio, changes, notes) -> None:
    def rel(p: Path) -> str:
        return os.path.relpath(Path(p).resolve(), out_dir.resolve())

    md = [f"# {title}", "", *[f"- {n}" for n in notes], "", "## What changed since the previous report", "",
          *[f"- {c}" for c in changes], "", "## Summary (means; 95% bootstrap CIs in summary.csv)", "",
          markdown_table(shown), ""]
    if bands is not None and len(bands):
        md += ["## VoiceBank-DEMAND by input SNR band", "", markdown_table(bands.round(3)), ""]
    md += ["## Figures", "", *[f"![{f.stem}]({rel(f)})" for f in figs], "", "## Audio", "",
           *[f"- [{label}]({rel(p)})" for label, p in audio]]
    (out_dir / "report.md").write_text("\n".join(md) + "\n")

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}img{max-width:100%}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>",
             "<h2>What changed since the previous report</h2><ul>"
             + "".join(f"<li>{html.escape(c)}</li>" for c in changes) + "</ul>",
             "<h2>Summary</h2>", html_table(shown)]
    if bands is not None and len(bands):
        parts += ["<h2>VoiceBank-DEMAND by input SNR band</h2>", html_table(bands.round(3))]
    parts += ["<h2>Figures</h2>"] + [f"<p><img src='{html.escape(rel(f))}' alt='{html.escape(f.stem)}'></p>"
                                     for f in figs]
    parts += ["<h2>Audio</h2><ul>"] + [
        f"<li>{html.escape(label)}: <audio controls preload='none' src='{html.escape(rel(p))}'></audio></li>"
        for label, p in audio] + ["</ul></body></html>"]
    (out_dir / "report.html").write_text("\n".join(parts))

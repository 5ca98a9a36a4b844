"""The daily report: ``reports/YYYY-MM-DD/`` with an HTML page and a Markdown page built from an evaluation table.

The page opens on one leaderboard per dataset (models sorted by PESQ-WB on paired sets, DNSMOS OVRL on
unpaired ones; each metric as mean and 95% bootstrap CI; improvement over the noisy input; the cost columns:
algorithmic latency, parameters and file size from the model cards, RTF and per-hop latency from the main
job's one-thread timing pass) with one sentence per dataset saying who won and whether the lead is more
than noise. Then the comparison groups (family, latency class, size class), the per-SNR-band pivot, the
figures, a listening section (the hardest and a typical file per dataset, every signal playable on one
timeline with its spectrogram and metric row; the same player as :mod:`setoolkit.widgets`), the speed
section and the full tables, collapsed. The folder is self-contained (audio, figures, JavaScript inlined).

Speed files the main job's timing pass writes into the report folder, read when present:
``timing.csv`` (model, threads, cpu, rtf, hop_ms, hop_p95_ms), ``variants.csv`` (model, representative,
parity_db, rtf), ``profile.csv`` (stage, seconds). RTF is never taken from the evaluation workers, which
share the cores.

Examples
--------
>>> board = leaderboard(summarize(table), "vbd16k")     # one row per model, sorted, with CIs and costs
>>> headline(board)                                     # the result in one sentence
>>> build_report(table, "reports/2026-01-02", date="2026-01-02")
"""

from __future__ import annotations

import html
import json
import math
import os
import shutil
from pathlib import Path
from typing import Sequence

import numpy as np

from .evaluate import NOISY, snr_bands, summarize

#: Model names of the oracle-mask rows (see :mod:`setoolkit.oracle`).
ORACLE_PREFIX = "oracle-"

PAIRED_METRICS = ("pesq_wb", "stoi", "si_sdr", "OVRL")
#: The columns SE papers print for a paired set, shown per paired set beside the published numbers.
PAPER_METRICS = ("pesq_wb", "csig", "cbak", "covl", "stoi", "si_sdr", "visqol", "distillmos")
UNPAIRED_METRICS = ("OVRL", "SIG", "BAK", "P808_MOS")
#: Latency classes (upper bound in ms, label); a model with no stated latency is offline.
LATENCY_CLASSES = ((10.0, "≤ 10 ms"), (40.0, "≤ 40 ms"), (math.inf, "> 40 ms or offline"))
#: Size classes (upper bound in parameters, label).
SIZE_CLASSES = ((1e6, "< 1 M params"), (10e6, "1–10 M params"), (math.inf, "> 10 M params"))
#: A metric change of at least this much (in its unit) since the previous report is listed.
CHANGE_THRESHOLDS = {"pesq_wb": 0.05, "stoi": 0.01, "si_sdr": 0.5, "OVRL": 0.05, "P808_MOS": 0.05}
#: Report order of the main job's sets (paired first); other sets follow by name.
SET_ORDER = ("vbd16k", "vbd48k", "dns3_synthetic", "dns3_blind", "dns4_real48k")
#: Examples per dataset in the listening section: the hardest input and a typical one.
EXAMPLES_PER_SET = 2
STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"


def _label(m: str) -> str:
    from .figures import LABELS

    return LABELS.get(m, m)


# ------------------------------------------------------------------------------------------ tables


def is_reference(model: str) -> bool:
    """The noisy input and the oracle masks (``oracle-*``, which need the clean speech) are reference rows:
    shown beside the models (floor and ceiling), never ranked, marked best or named the leader."""
    return model == NOISY or str(model).startswith(ORACLE_PREFIX)


def primary_metric(summary) -> str:
    """``pesq_wb`` when the set is paired (has PESQ values), else ``OVRL`` (DNSMOS)."""
    return "pesq_wb" if "pesq_wb" in summary.columns and summary["pesq_wb"].notna().any() else "OVRL"


def latency_class(ms: float | None) -> str:
    """The :data:`LATENCY_CLASSES` label of an algorithmic latency in ms (``None``: offline)."""
    v = math.inf if ms is None or not np.isfinite(ms) else float(ms)
    return next(label for bound, label in LATENCY_CLASSES if v <= bound)


def size_class(params: float | None) -> str:
    """The :data:`SIZE_CLASSES` label of a parameter count (``None``: ``"size unknown"``)."""
    if params is None or not np.isfinite(params):
        return "size unknown"
    return next(label for bound, label in SIZE_CLASSES if params < bound)


def model_info(models: Sequence[str]):
    """Model-card facts per model: ``model, family, latency_ms, params_M, file_MB, latency_class,
    size_class`` (NaN where a card does not state it; unknown names get family ``other``)."""
    import pandas as pd

    from .registry import CARDS

    rows = []
    for m in models:
        c = CARDS.get(m)
        fb = c.file_bytes if c else None
        rows.append({"model": m, "family": c.family if c else "other",
                     "latency_ms": c.latency_ms if c and c.latency_ms is not None else np.nan,
                     "params_M": c.params / 1e6 if c and c.params else np.nan,
                     "file_MB": fb / 1e6 if fb else np.nan,
                     "latency_class": latency_class(c.latency_ms if c else None),
                     "size_class": size_class(c.params if c else None)})
    return pd.DataFrame(rows, columns=["model", "family", "latency_ms", "params_M", "file_MB", "latency_class",
                                       "size_class"])


def read_speed(folder: str | os.PathLike) -> dict:
    """``timing``, ``variants``, ``profile`` DataFrames from the timing pass's CSV files in ``folder``
    (``None`` for each file that is not there)."""
    import pandas as pd

    out = {}
    for name in ("timing", "variants", "profile"):
        p = Path(folder) / f"{name}.csv"
        out[name] = pd.read_csv(p) if p.exists() else None
    return out


def leaderboard(summary, dataset: str, *, timing=None, variants=None):
    """One dataset's leaderboard from :func:`setoolkit.evaluate.summarize`: one row per model, sorted by the
    primary metric (best first), the noisy input last.

    Columns: ``rank, model, family, n``, each metric's mean with ``_lo``/``_hi`` (95% CI), ``delta_*``
    improvements over noisy with CIs, the card costs (``latency_ms, params_M, file_MB, latency_class,
    size_class``), ``rtf``/``hop_ms``/``hop_p95_ms`` from ``timing`` (one-thread pass; NaN without it), and
    ``tied``: the model's CI of the primary metric overlaps the leader's. Runtime variants listed in
    ``variants`` (model != representative) are left out: they are shown under their representative.
    ``attrs``: ``dataset, primary, metrics, deltas``.
    """
    import pandas as pd

    s = summary[summary["dataset"] == dataset].copy()
    primary = primary_metric(s)
    metrics = [m for m in (PAIRED_METRICS if primary == "pesq_wb" else UNPAIRED_METRICS)
               if m in s.columns and s[m].notna().any()]
    deltas = [d for d in ((f"delta_{primary}", "delta_si_sdr") if primary == "pesq_wb" else ("delta_OVRL",))
              if d in s.columns and s[d].notna().any()]
    if variants is not None and len(variants):
        hidden = set(variants.loc[variants["model"] != variants["representative"], "model"])
        s = s[~s["model"].isin(hidden)]
    keep = ["model", "n"] + [c for m in metrics + deltas for c in (m, f"{m}_lo", f"{m}_hi") if c in s.columns]
    board = s[keep].merge(model_info(list(s["model"])), on="model", how="left")
    if timing is not None and len(timing):
        t = timing.drop_duplicates("model", keep="last").set_index("model")
        for col in ("rtf", "hop_ms", "hop_p95_ms"):
            board[col] = board["model"].map(t[col]) if col in t.columns else np.nan
    else:
        board["rtf"], board["hop_ms"], board["hop_p95_ms"] = np.nan, np.nan, np.nan
    ref = board["model"].map(is_reference)
    enhanced = board[~ref].sort_values(primary, ascending=False, na_position="last")
    oracles = board[ref & (board["model"] != NOISY)].sort_values(primary, ascending=False, na_position="last")
    board = pd.concat([enhanced, oracles, board[board["model"] == NOISY]], ignore_index=True)
    board.insert(0, "rank", [i + 1 if not is_reference(m) else np.nan for i, m in enumerate(board["model"])])
    board["tied"] = False
    if len(enhanced) and f"{primary}_lo" in board.columns:
        lead_lo = board.loc[0, f"{primary}_lo"]
        his = board[f"{primary}_hi"].to_numpy(dtype=float)
        board["tied"] = (~board["model"].map(is_reference) & (board.index > 0) & np.isfinite(his) & np.isfinite(lead_lo)
                         & (his >= lead_lo))
    board.attrs.update(dataset=dataset, primary=primary, metrics=metrics, deltas=deltas)
    return board


def _fmt_num(v, digits: int = 2) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _fmt_ci(lo, hi, digits: int = 2) -> str:
    return "" if not (np.isfinite(lo) and np.isfinite(hi)) else f"[{lo:.{digits}f}, {hi:.{digits}f}]"


DIGITS = {"stoi": 3, "estoi": 3, "si_sdr": 1, "sdr": 1, "delta_si_sdr": 1, "delta_stoi": 3}


def headline(board) -> str:
    """The dataset's result in one sentence: the leader, its score and gain, who is statistically tied, and
    the smallest model among the tied ones. Starts with ``"<dataset>: "``."""
    ds, primary = board.attrs["dataset"], board.attrs["primary"]
    enh = board[~board["model"].map(is_reference)]
    if not len(enh):
        return f"{ds}: no enhanced outputs."
    lead = enh.iloc[0]
    d = DIGITS.get(primary, 2)
    n = int(lead["n"])
    text = (f"{ds}: {lead['model']} leads {_label(primary)} over {n} file{'s' if n != 1 else ''} with "
            f"{lead[primary]:.{d}f}")
    lo, hi = lead.get(f"{primary}_lo", np.nan), lead.get(f"{primary}_hi", np.nan)
    ci = _fmt_ci(lo, hi, d)
    text += f" {ci}" if ci else ""
    dcol = f"delta_{primary}"
    if dcol in enh.columns and np.isfinite(lead[dcol]):
        text += f" ({lead[dcol]:+.{d}f} over the noisy input)"
    tied = enh[enh["tied"]]
    if not np.isfinite(lo):
        text += "; too few files for a confidence interval, so the order is not evidence"
    elif len(tied):
        names = ", ".join(tied["model"].head(4)) + (f" and {len(tied) - 4} more" if len(tied) > 4 else "")
        text += (f"; {names} {'is' if len(tied) == 1 else 'are'} within its 95% CI, so these "
                 f"{len(tied) + 1} are not separated by this data")
        group = enh[enh["tied"] | (enh.index == enh.index[0])]
        small = group.sort_values(["params_M", "latency_ms"], na_position="last").iloc[0]
        if small["model"] != lead["model"] and np.isfinite(small["params_M"]):
            text += (f"; the smallest of them is {small['model']} ({small['params_M']:.2f} M parameters, "
                     f"{_fmt_num(small['latency_ms'], 0)} ms latency)")
    elif len(enh) > 1:
        text += ", clearly ahead: no other model's 95% CI reaches the leader's"
    return text + "."


def best_by_group(board, by: str):
    """The best model (highest primary metric) in each group of ``by`` (``family``, ``latency_class``,
    ``size_class``, or a list of them): ``group..., best, <primary>, ci, runner_up, models``."""
    import pandas as pd

    primary = board.attrs["primary"]
    keys = [by] if isinstance(by, str) else list(by)
    enh = board[~board["model"].map(is_reference)]
    rows = []
    order = {"latency_class": [l for _, l in LATENCY_CLASSES], "size_class": [l for _, l in SIZE_CLASSES]}
    for key, g in enh.groupby(keys, sort=False):
        g = g.sort_values(primary, ascending=False)
        top = g.iloc[0]
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(keys, key)), "best": top["model"], primary: top[primary],
                     "ci": _fmt_ci(top.get(f"{primary}_lo", np.nan), top.get(f"{primary}_hi", np.nan),
                                   DIGITS.get(primary, 2)),
                     "runner_up": g.iloc[1]["model"] if len(g) > 1 else "", "models": len(g)})
    out = pd.DataFrame(rows)
    if len(out):
        sort_keys = [out[k].map(lambda v, k=k: order[k].index(v) if v in order.get(k, []) else 99)
                     if k in order else out[k] for k in keys]
        out = out.iloc[np.lexsort([*reversed([np.asarray(s) for s in sort_keys])])] if len(keys) > 1 else \
            out.assign(_o=sort_keys[0]).sort_values(["_o", primary], ascending=[True, False]).drop(columns="_o")
    out.attrs.update(board.attrs)
    return out.reset_index(drop=True)


def best_under(board, *, max_params_M: float | None = None, max_latency_ms: float | None = None):
    """The board's rows within the limits (``params_M < max_params_M``, ``latency_ms <= max_latency_ms``), best
    first: ``best_under(board, max_params_M=1, max_latency_ms=40).iloc[0]`` is the best small real-time model."""
    b = board[~board["model"].map(is_reference)]
    if max_params_M is not None:
        b = b[b["params_M"] < max_params_M]
    if max_latency_ms is not None:
        b = b[b["latency_ms"] <= max_latency_ms]
    return b


def snr_pivot(bands, dataset: str, metric: str = "pesq_wb"):
    """Per-SNR-band means as a compact pivot: model rows (best at the lowest band first, noisy last) x band
    columns (dB), plus ``n`` files per band in ``attrs``."""
    import pandas as pd

    b = bands[bands["dataset"] == dataset]
    p = b.pivot_table(index="model", columns="band", values=metric, aggfunc="mean")
    p.columns = [f"{c:g} dB" for c in p.columns]
    enh = p.drop(index=[NOISY], errors="ignore").sort_values(p.columns[0], ascending=False) if len(p.columns) else p
    p = pd.concat([enh, p.loc[[NOISY]]]) if NOISY in p.index else enh
    p.attrs["n"] = b[b["model"] == NOISY].set_index("band")["n"].to_dict() if len(b) else {}
    return p


def pick_examples(table, dataset: str, n: int = EXAMPLES_PER_SET) -> list[tuple[str, str]]:
    """``(file, why)`` for the listening section: the hardest input (lowest noisy primary metric) and the
    most typical one (noisy score nearest the median)."""
    t = table[(table["dataset"] == dataset) & (table["model"] == NOISY)]
    metric = "pesq_wb" if "pesq_wb" in t.columns and t["pesq_wb"].notna().any() else "OVRL"
    if metric not in t.columns or not t[metric].notna().any():
        return [(f, "first file") for f in list(t["file"])[:n]]
    t = t[t[metric].notna()].sort_values(metric)
    picks = [(t.iloc[0]["file"], f"hardest input (noisy {_label(metric)} {t.iloc[0][metric]:.2f})")]
    med = t[metric].median()
    for _, r in t.iloc[(t[metric] - med).abs().argsort()].iterrows():
        if len(picks) >= n:
            break
        if r["file"] not in [p[0] for p in picks]:
            picks.append((r["file"], f"typical input (noisy {_label(metric)} {r[metric]:.2f}, median {med:.2f})"))
    return picks[:n]


# ------------------------------------------------------------------------------------------ previous report


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


# ------------------------------------------------------------------------------------------ markdown


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "–" if v != v else f"{v:.3f}"
    return str(v)


def markdown_table(df, *, index: bool = False) -> str:
    if index:
        df = df.reset_index()
    cols = list(df.columns)
    lines = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def html_table(df, *, index: bool = False) -> str:
    """A plain HTML table of a DataFrame (numbers to 3 decimals, NaN as –)."""
    if index:
        df = df.reset_index()
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f"<table class='full'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def paper_table(summary, dataset: str):
    """The metrics papers print (:data:`PAPER_METRICS`, each ``mean [95% CI]``) for one set, models in the
    leaderboard's order with the oracle and noisy rows last; ``None`` when the set has none of them."""
    import pandas as pd

    s = summary[summary["dataset"] == dataset]
    cols = [m for m in PAPER_METRICS if m in s.columns and s[m].notna().any()]
    if "pesq_wb" not in cols:
        return None
    s = s.assign(_ref=s["model"].map(is_reference)).sort_values(["_ref", "pesq_wb"], ascending=[True, False])
    out = {"model": s["model"]}
    for m in cols:
        d = DIGITS.get(m, 2)
        out[_label(m)] = [f"{v:.{d}f} {_fmt_ci(lo, hi, d)}".strip() if np.isfinite(v) else "–"
                          for v, lo, hi in zip(s[m], s.get(f"{m}_lo", s[m] * np.nan), s.get(f"{m}_hi", s[m] * np.nan))]
    return pd.DataFrame(out)


def published_table(summary, bands=None):
    """Published vs measured (:func:`setoolkit.studies.published.published_vs_measured`) for the models in
    ``summary``, rounded for display; ``None`` when none of them publishes a number."""
    from .studies.published import published_vs_measured

    t = published_vs_measured(summary, bands)
    t = t[t["model"].isin(set(summary["model"]))] if len(t) else t
    if not len(t):
        return None
    t = t.assign(source=t["citation"].where(t["official"], "not official: " + t["citation"]))
    keep = ["model", "dataset", "metric", "published", "measured", "difference", "n", "set"]
    keep += [c for c in t.columns if c.startswith("measured_") and c.endswith("dB")]
    return t[keep + ["caveat", "source"]].round(3)


def board_display(board):
    """The leaderboard as display strings (one column per metric: mean and CI), for notebooks and Markdown."""
    import pandas as pd

    cols = {"#": board["rank"].map(lambda r: "" if not np.isfinite(r) else f"{int(r)}"),
            "model": board["model"] + board["tied"].map(lambda t: " (tied)" if t else "")}
    for m in board.attrs["metrics"] + board.attrs["deltas"]:
        d = DIGITS.get(m, DIGITS.get(m.replace("delta_", ""), 2))
        name = ("Δ " + _label(m[6:])) if m.startswith("delta_") else _label(m)
        cols[name] = [(f"{v:+.{d}f}" if m.startswith("delta_") else f"{v:.{d}f}") + (f" {_fmt_ci(lo, hi, d)}"
                      if np.isfinite(lo) else "") if np.isfinite(v) else "–"
                      for v, lo, hi in zip(board[m], board.get(f"{m}_lo", board[m] * np.nan),
                                           board.get(f"{m}_hi", board[m] * np.nan))]
    cols["latency ms"] = board["latency_ms"].map(lambda v: _fmt_num(v, 0))
    cols["params M"] = board["params_M"].map(lambda v: _fmt_num(v, 2))
    cols["file MB"] = board["file_MB"].map(lambda v: _fmt_num(v, 1))
    cols["RTF (timing pass)"] = board["rtf"].map(lambda v: _fmt_num(v, 3))
    return pd.DataFrame(cols)


# ------------------------------------------------------------------------------------------ HTML pieces


def _board_html(board, variants=None, threads: int | None = None) -> dict:
    """Header and rows (cells with text, CI, CSS classes) of one leaderboard for the template."""
    from .figures import FAMILY_COLOURS

    metrics, deltas, primary = board.attrs["metrics"], board.attrs["deltas"], board.attrs["primary"]
    enh = board[~board["model"].map(is_reference)]
    cost_cols = [("latency_ms", "latency", "ms", 0, "algorithmic latency (frame + lookahead), model card"),
                 ("params_M", "params", "M", 2, "parameters, model card"),
                 ("file_MB", "file", "MB", 1, "weight file size"),
                 ("rtf", "RTF", f"{threads} thread{'s' if threads != 1 else ''}" if threads else "timing pass", 3,
                  "real-time factor from the dedicated timing pass (not the evaluation workers)"),
                 ("hop_p95_ms", "hop p95", "ms", 2, "95th percentile time per streaming hop, timing pass")]
    header = [{"text": "#"}, {"text": "model"}]
    for m in metrics:
        header.append({"text": _label(m), "sub": "mean [95% CI]", "cls": "primary" if m == primary else ""})
    for d in deltas:
        header.append({"text": "Δ " + _label(d[6:]), "sub": "vs noisy"})
    header += [{"text": t, "sub": u, "title": tip} for _, t, u, _, tip in cost_cols]

    def best(col, higher=True):
        v = enh[col].to_numpy(dtype=float) if col in enh else np.array([])
        v = v[np.isfinite(v)]
        return (v.max() if higher else v.min()) if v.size else None

    bests = {m: best(m) for m in metrics + deltas}
    bests.update({c: best(c, higher=False) for c, *_ in cost_cols})
    var_of = {}
    if variants is not None and len(variants):
        for r in variants.itertuples(index=False):
            if r.model != r.representative:
                var_of.setdefault(r.representative, []).append(r.model)
    rows = []
    for r in board.itertuples(index=False):
        noisy = is_reference(r.model)
        cells = [{"text": "" if noisy else str(int(r.rank)), "cls": "rank"},
                 {"text": r.model, "cls": "name", "colour": None if noisy else FAMILY_COLOURS.get(r.family, "#777"),
                  "badge": "tied" if r.tied else ("leader" if r.rank == 1 else ""),
                  "note": ("variants: " + ", ".join(var_of[r.model])) if r.model in var_of else "",
                  "title": f"family {r.family}; {r.latency_class}; {r.size_class}" if not noisy else
                  ("noisy input" if r.model == NOISY else "oracle mask: computed from the clean speech, a ceiling")}]
        for m in metrics + deltas:
            v = getattr(r, m)
            d = DIGITS.get(m, DIGITS.get(m.replace("delta_", ""), 2))
            lo, hi = getattr(r, f"{m}_lo", np.nan), getattr(r, f"{m}_hi", np.nan)
            is_best = not noisy and bests[m] is not None and np.isfinite(v) and np.isclose(v, bests[m])
            cells.append({"text": "–" if not np.isfinite(v) else (f"{v:+.{d}f}" if m.startswith("delta_")
                                                                   else f"{v:.{d}f}"),
                          "ci": _fmt_ci(lo, hi, d), "cls": "num" + (" best" if is_best else "")
                          + (" primary" if m == primary else "")})
        for c, _, _, d, _ in cost_cols:
            v = getattr(r, c)
            is_best = not noisy and bests[c] is not None and np.isfinite(v) and np.isclose(v, bests[c])
            cells.append({"text": "" if noisy else _fmt_num(v, d), "cls": "num cost" + (" best" if is_best else "")})
        rows.append({"cells": cells, "cls": "noisy" if noisy else ("tied" if r.tied else "")})
    return {"header": header, "rows": rows}


def _pivot_html(p) -> dict:
    vals = p.to_numpy(dtype=float)
    enh = [i for i, m in enumerate(p.index) if not is_reference(m)]
    best = np.nanmax(vals[enh], axis=0) if enh else np.full(vals.shape[1], np.nan)
    rows = []
    for i, (m, row) in enumerate(zip(p.index, vals)):
        rows.append({"model": m, "cls": "noisy" if is_reference(m) else "",
                     "cells": [{"text": _fmt_num(v), "cls": "num" + (" best" if not is_reference(m) and np.isfinite(v)
                                                                     and np.isclose(v, best[j]) else "")}
                               for j, v in enumerate(row)]})
    return {"columns": list(p.columns), "rows": rows, "n": p.attrs.get("n", {})}


def _matrix_html(board) -> dict:
    """Size class rows x latency class columns, each cell the best model there and its primary score; the last
    column is the best of each size class at any latency, the last row the best of each latency class at any
    size."""
    primary = board.attrs["primary"]
    d = DIGITS.get(primary, 2)

    def cells(table, keys):
        return {tuple(getattr(r, k) for k in keys): {"model": r.best, "value": f"{getattr(r, primary):.{d}f}",
                                                      "n": r.models}
                for r in table.itertuples(index=False)} if len(table) else {}

    both = cells(best_by_group(board, ["size_class", "latency_class"]), ["size_class", "latency_class"])
    by_size = cells(best_by_group(board, "size_class"), ["size_class"])
    by_lat = cells(best_by_group(board, "latency_class"), ["latency_class"])
    sizes = [l for _, l in SIZE_CLASSES] + ["size unknown"]
    lats = [l for _, l in LATENCY_CLASSES]
    rows = [{"label": z, "cells": [both.get((z, l)) for l in lats] + [by_size.get((z,))]}
            for z in sizes if (z,) in by_size]
    rows.append({"label": "any size", "cells": [by_lat.get((l,)) for l in lats] + [None], "cls": "any"})
    return {"rows": rows, "cols": lats + ["any latency"]}


def _metric_text(row, names) -> dict:
    out = {}
    for m in names:
        v = row.get(m, np.nan) if row is not None else np.nan
        out[_label(m)] = "" if v is None or not np.isfinite(v) else f"{v:.{DIGITS.get(m, 2)}f}"
    return out


def player_signals(table, dataset: str, fname: str, models: Sequence[str] | None = None):
    """``[(label, kind, path, row)]`` for one file: noisy, clean (when paired), then each model's output, in
    ``models`` order (default: the table's). ``row`` is the evaluation-table row (``None`` for clean)."""
    sel = table[(table["dataset"] == dataset) & (table["file"] == fname)]
    noisy = sel[sel["model"] == NOISY]
    if not len(noisy):
        raise ValueError(f"{dataset}/{fname}: no noisy row in the table")
    first = noisy.iloc[0]
    out = [("noisy", "noisy", first["noisy_path"], first)]
    clean = first.get("clean_path")
    if isinstance(clean, str) and clean:
        out.append(("clean", "clean", clean, None))
    for m in (models if models is not None else [m for m in dict.fromkeys(sel["model"]) if m != NOISY]):
        r = sel[sel["model"] == m]
        if len(r):
            out.append((m, "model", r.iloc[0]["output_path"], r.iloc[0]))
    return out


def _listening(table, out_dir: Path, dataset: str, models: Sequence[str], examples) -> list[dict]:
    """Copy/link the example audio into ``out_dir`` and draw the spectrograms; the player data per example."""
    from .audio import read, to_mono
    from .figures import spectrogram_image

    paired = "pesq_wb" in table.columns and table[table["dataset"] == dataset]["pesq_wb"].notna().any()
    names = [m for m in (PAIRED_METRICS if paired else UNPAIRED_METRICS) if m in table.columns]
    players = []
    for fname, why in examples:
        stem = Path(fname).stem
        folder = out_dir / "listening" / dataset / stem
        folder.mkdir(parents=True, exist_ok=True)
        sigs = [sg for sg in player_signals(table, dataset, fname, models) if Path(sg[2]).exists()]
        if not sigs or sigs[0][0] != "noisy":
            continue  # the table's audio is not on this machine any more
        audio = {}
        for label, kind, path, row in sigs:
            x, sr = read(path)
            audio[label] = (to_mono(x)[0], sr)
        vmax = None  # one dB scale per file (the noisy input's), so level differences stay visible
        specs = {}
        for label, (a, sr) in audio.items():
            png, v = spectrogram_image(a, sr, vmax=vmax)
            vmax = v if vmax is None else vmax
            specs[label] = png
        signals = []
        for label, kind, path, row in sigs:
            src = Path(path).resolve()
            if out_dir.resolve() in src.parents:
                url = os.path.relpath(src, out_dir.resolve())
            else:  # a mono 16-bit FLAC copy (what the player plays) keeps the folder self-contained and small
                import soundfile as sf

                dst = folder / f"{label}.flac"
                a, sr = audio[label]
                sf.write(dst, np.clip(a, -1, 1), sr, subtype="PCM_16")
                url = os.path.relpath(dst, out_dir)
            spec = folder / f"{label}.png"
            spec.write_bytes(specs[label])
            signals.append({"label": label, "kind": kind, "audio": Path(url).as_posix(),
                            "spec": Path(os.path.relpath(spec, out_dir)).as_posix(),
                            "metrics": _metric_text(row, names)})
        a, sr = audio["noisy"]
        players.append({"title": f"{dataset} / {fname}: {why}", "signals": signals,
                        "metric_names": [_label(m) for m in names], "duration": len(a) / sr,
                        "active": "noisy", "files": [], "models": [], "selected": []})
    return players


# ------------------------------------------------------------------------------------------ report


def build_report(table, out_dir: str | os.PathLike, *, date: str, figures_dir: str | os.PathLike = "figures",
                 sizes: dict | None = None, notes: Sequence[str] = (), examples: int = EXAMPLES_PER_SET) -> Path:
    """Write ``summary.csv``, ``snr_bands.csv``, ``leaderboard_<set>.csv``, figures, the listening files,
    ``report.md`` and ``report.html`` into ``out_dir`` (the figures also into ``figures_dir``).

    ``table``: the evaluation table (:func:`setoolkit.evaluate.evaluate`). ``sizes``: model -> parameters in
    millions for the quality-vs-size figure (default: the model cards). The timing pass's ``timing.csv``,
    ``variants.csv``, ``profile.csv`` in ``out_dir`` are used when present. Returns ``out_dir``.
    """
    import pandas as pd

    from . import figures

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(table)
    summary.to_csv(out_dir / "summary.csv", index=False)
    bands = snr_bands(table[table["dataset"].str.startswith("vbd")]) if len(table) else None
    if bands is not None and len(bands):
        bands.to_csv(out_dir / "snr_bands.csv", index=False)
    speed = read_speed(out_dir)
    timing, variants = speed["timing"], speed["variants"]
    order = {d: i for i, d in enumerate(SET_ORDER)}
    datasets = sorted(dict.fromkeys(summary["dataset"]), key=lambda d: (order.get(d, len(order)), d))
    boards = {ds: leaderboard(summary, ds, timing=timing, variants=variants) for ds in datasets}
    for ds, b in boards.items():
        b.to_csv(out_dir / f"leaderboard_{ds}.csv", index=False)

    info = model_info(sorted(set(summary["model"]) - {NOISY}))
    sizes = sizes or {m: v for m, v in zip(info["model"], info["params_M"]) if np.isfinite(v)}
    latency = {m: v for m, v in zip(info["model"], info["latency_ms"]) if np.isfinite(v)}
    rtf = ({m: v for m, v in zip(timing["model"], timing["rtf"]) if np.isfinite(v)}
           if timing is not None and "rtf" in timing else {})
    threads = (int(timing["threads"].iloc[0]) if timing is not None and "threads" in timing and len(timing)
               else None)
    figs_dir = Path(figures_dir)
    (out_dir / "figures").mkdir(exist_ok=True)
    sections = []
    for ds in datasets:
        board = boards[ds]
        s = summary[(summary["dataset"] == ds) & ~summary["model"].str.startswith(ORACLE_PREFIX)]  # figures: models
        primary = board.attrs["primary"]
        made = [figures.metric_bars(s, figs_dir / f"{date}_{ds}_metrics.png", dataset=ds,
                                    metrics=board.attrs["metrics"], sort_by=primary)]
        if (s["model"] != NOISY).any():
            made.append(figures.quality_vs_latency(s, latency, figs_dir / f"{date}_{ds}_quality_vs_latency.png",
                                                   metric=primary, dataset=ds))
            made.append(figures.quality_vs_size(s, sizes, figs_dir / f"{date}_{ds}_quality_vs_size.png",
                                                metric=primary, dataset=ds))
            if rtf:
                made.append(figures.quality_vs_rtf(_with_variants(s, variants), figs_dir / f"{date}_{ds}_quality_vs_rtf.png",
                                                   metric=primary, dataset=ds, rtf=rtf, threads=threads))
        pivot = None
        if bands is not None and len(bands) and ds in set(bands["dataset"]):
            made.append(figures.snr_curves(bands, figs_dir / f"{date}_{ds}_snr_bands.png", dataset=ds))
            pivot = snr_pivot(bands, ds)
        local = []
        for f in made:
            shutil.copy(f, out_dir / "figures" / f.name)
            local.append(f"figures/{f.name}")
        models = [m for m in board["model"] if not is_reference(m)]
        players = _listening(table, out_dir, ds, models, pick_examples(table, ds, examples)) if examples else []
        groups = {name: best_by_group(board, key) for name, key in
                  (("family", "family"), ("latency", "latency_class"), ("size", "size_class"))}
        paper = paper_table(summary, ds)
        sections.append({"dataset": ds, "board": board, "paper_html": html_table(paper) if paper is not None else "", "board_html": _board_html(board, variants, threads),
                         "headline": headline(board), "figures": local, "pivot": pivot,
                         "pivot_html": _pivot_html(pivot) if pivot is not None else None,
                         "players": players, "groups": groups,
                         "matrix": best_by_group(board, ["size_class", "latency_class"])})
        sections[-1]["matrix_html"] = _matrix_html(board)

    prev = previous_report(out_dir.parent, date)
    changes = (changes_since(pd.read_csv(prev / "summary.csv"), summary) if prev
               else ["first report in this folder"])
    notes = [*notes, f"previous report: {prev.name}" if prev else "previous report: none"]
    title = f"setoolkit daily report {date}"
    _write_markdown(out_dir, title, sections, summary, bands, changes, notes, speed)
    _write_html(out_dir, title, date, sections, summary, bands, changes, notes, speed)
    return out_dir


def _with_variants(summary, variants):
    """``summary`` plus one row per runtime variant not scored itself, carrying its representative's scores
    (same weights; parity checked by the timing pass), so the speed figure shows every runtime."""
    import pandas as pd

    if variants is None or not len(variants):
        return summary
    extra = []
    for v in variants.itertuples(index=False):
        rep = summary[summary["model"] == v.representative]
        if v.model != v.representative and len(rep) and not (summary["model"] == v.model).any():
            extra.append(rep.assign(model=v.model))
    return pd.concat([summary, *extra], ignore_index=True) if extra else summary


def _speed_context(speed) -> dict:
    timing, variants, profile = speed["timing"], speed["variants"], speed["profile"]
    ctx = {"timing": None, "variants": None, "profile": None}
    if timing is not None and len(timing):
        cpus = ", ".join(str(c) for c in dict.fromkeys(timing.get("cpu", []))) or "CPU not recorded"
        threads = ", ".join(str(t) for t in dict.fromkeys(timing.get("threads", []))) or "?"
        ctx["timing"] = {"text": f"RTF and per-hop latency from the dedicated timing pass: {threads} thread(s) "
                                 f"on {cpus}, warmed up, nothing else running.",
                         "short": f"timing pass, {threads} thread(s) on {cpus}",
                         "table": html_table(timing.round(4))}
    if variants is not None and len(variants):
        ctx["variants"] = html_table(variants.round(4))
    if profile is not None and len(profile):
        stages = profile["stage"].astype(str)
        top = profile[~stages.str.contains(":") & (stages != "total")]
        total = float(profile.loc[stages == "total", "seconds"].iloc[0]) if (stages == "total").any() \
            else float(top["seconds"].sum())
        share = (profile["seconds"] / total).map("{:.0%}".format) if total > 0 else "–"
        biggest = top.sort_values("seconds", ascending=False).head(3)
        ctx["profile"] = {"text": f"{total:.0f} s in all; most in " + ", ".join(
            f"{r.stage} ({r.seconds:.0f} s)" for r in biggest.itertuples(index=False)),
            "table": html_table(profile.assign(share=share).round(2))}
    return ctx


def _write_markdown(out_dir: Path, title, sections, summary, bands, changes, notes, speed) -> None:
    md = [f"# {title}", "", "## At a glance", "", *[f"- {s['headline']}" for s in sections], ""]
    timing = speed["timing"]
    md += ["RTF: " + ("one-thread timing pass (timing.csv)" if timing is not None and len(timing)
                      else "– (no timing pass in this folder; the evaluation workers' times are contended)"), ""]
    for s in sections:
        md += [f"## Leaderboard: {s['dataset']}", "", markdown_table(board_display(s["board"])), ""]
    md += ["## Comparison groups", ""]
    for s in sections:
        m = s["matrix"]
        if len(m):
            md += [f"### {s['dataset']}: best model per size x latency class", "",
                   markdown_table(m[["size_class", "latency_class", "best", s["board"].attrs["primary"], "ci"]]), ""]
    for s in sections:
        if s["pivot"] is not None:
            md += [f"## {s['dataset']} by input SNR band ({_label('pesq_wb')})", "",
                   markdown_table(s["pivot"].round(3), index=True), ""]
    md += ["## What changed since the previous report", "", *[f"- {c}" for c in changes], "",
           "## Figures", "", *[f"![{Path(f).stem}]({f})" for s in sections for f in s["figures"]], "",
           "## Full summary (means, 95% bootstrap CIs in summary.csv)", "",
           markdown_table(summary[[c for c in ("dataset", "model", "n", "pesq_wb", "stoi", "si_sdr", "OVRL",
                                               "delta_pesq_wb", "delta_si_sdr", "delta_OVRL")
                                   if c in summary.columns]].round(3)), "",
           "## Notes", "", *[f"- {n}" for n in notes], ""]
    if bands is not None and len(bands):
        md += ["VoiceBank-DEMAND by input SNR band, long format: snr_bands.csv", ""]
    (out_dir / "report.md").write_text("\n".join(md) + "\n")


def _write_html(out_dir: Path, title, date, sections, summary, bands, changes, notes, speed) -> None:
    import jinja2

    from .figures import FAMILY_COLOURS

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    families = sorted({f for s in sections for f, m in zip(s["board"]["family"], s["board"]["model"])
                       if not is_reference(m) and f in FAMILY_COLOURS})
    links = [p for p in ("scores.csv", "scores.parquet", "summary.csv", "snr_bands.csv", "timing.csv",
                         "variants.csv", "profile.csv") if (out_dir / p).exists()]
    links += [f"leaderboard_{s['dataset']}.csv" for s in sections]
    published = published_table(summary, bands)
    if published is not None:
        published.to_csv(out_dir / "published_vs_measured.csv", index=False)
    page = env.get_template("report.html.j2").render(
        published_html=html_table(published.drop(columns="caveat")) if published is not None else "",
        published_caveats=(sorted({(r.set or r.dataset, r.caveat) for r in published.itertuples()})
                           if published is not None else []),
        title=title, date=date, sections=sections, notes=notes, changes=changes, speed=_speed_context(speed),
        family_colours={f: FAMILY_COLOURS[f] for f in families}, links=links,
        summary_html=html_table(summary.round(3)),
        bands_html=html_table(bands.round(3)) if bands is not None and len(bands) else "",
        player_css=(STATIC / "player.css").read_text(), report_css=(STATIC / "report.css").read_text(),
        player_js=(STATIC / "player.js").read_text(), json=lambda o: json.dumps(o).replace("</", "<\\/"),
        label=_label, primary_of=lambda s: s["board"].attrs["primary"])
    (out_dir / "report.html").write_text(page)

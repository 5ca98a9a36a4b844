"""Leaderboards as pure functions over DataFrames: ranking, statistical ties, comparison groups, the one-sentence
headline, example picks, changes since the previous report, and the tables (Markdown, HTML, paper layout)."""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..evaluation import NOISY
from ..evaluation.paired import NOT_COMPARED, TOO_FEW, leader_ties, smallest_p, versus_best
from ..metrics import catalog
from ..registry import CARDS
from ..training_data import in_domain
from .escape import md_escape

#: Model names of the oracle-mask rows (see :mod:`setoolkit.models.oracle`).
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


def short_model_names(table):
    """``table`` with each file spec's model name (``/abs/path/my_model.py:build``, as the engine keys it) shortened
    to ``my_model.py:build`` for display, unless two specs would then share a name."""
    specs = {m for m in table["model"].unique() if ":" in str(m) and ("/" in str(m) or "\\" in str(m))}
    short = {m: f"{Path(str(m).rsplit(':', 1)[0]).name}:{str(m).rsplit(':', 1)[1]}" for m in specs}
    if len(set(short.values())) < len(short):
        return table
    return table.assign(model=table["model"].map(lambda m: short.get(m, m)))


def model_info(models: Sequence[str], cards=None):
    """Model-card facts per model: ``model, family, latency_ms, params_M, file_MB, latency_class,
    size_class`` (NaN where a card does not state it; unknown names get family ``other``).

    ``cards``: the run's ``models.csv`` (:func:`setoolkit.model_refs.model_table`), which holds the facts of models
    in no registry (a user's model: its parameters and latency); registry cards are read from the registry."""
    import pandas as pd

    user = {}
    if cards is not None and len(cards):
        for r in cards.to_dict("records"):
            if r["model"] not in CARDS:
                user[r["model"]] = _UserFacts(
                    str(r.get("family") or "user"), _num(r.get("latency_ms")), _num(r.get("params"))
                )
    rows = []
    for m in models:
        c = CARDS.get(m) or user.get(m)
        fb = c.file_bytes if c else None
        rows.append(
            {
                "model": m,
                "family": c.family if c else "other",
                "latency_ms": c.latency_ms if c and c.latency_ms is not None else np.nan,
                "params_M": c.params / 1e6 if c and c.params else np.nan,
                "file_MB": fb / 1e6 if fb else np.nan,
                "latency_class": latency_class(c.latency_ms if c else None),
                "size_class": size_class(c.params if c else None),
            }
        )
    return pd.DataFrame(
        rows, columns=["model", "family", "latency_ms", "params_M", "file_MB", "latency_class", "size_class"]
    )


@dataclass(frozen=True)
class _UserFacts:
    """The card facts ``models.csv`` keeps of a model in no registry."""

    family: str
    latency_ms: float | None
    params: float | None
    file_bytes: None = None


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


#: Beside an RTF measured while the machine was busy (timing.csv ``busy``): the number is an upper bound.
BUSY_MARK = "†"


def read_speed(folder: str | os.PathLike) -> dict:
    """``timing``, ``variants``, ``profile`` DataFrames from the timing pass's CSV files in ``folder`` and ``models``
    (the evaluation's ``models.csv``)
    (``None`` for each file that is not there)."""
    import pandas as pd

    out = {}
    for name in ("timing", "variants", "profile", "models"):
        p = Path(folder) / f"{name}.csv"
        out[name] = pd.read_csv(p) if p.exists() else None
    return out


def leaderboard(summary, dataset: str, *, timing=None, variants=None, table=None, cards=None):
    """One dataset's leaderboard from :func:`setoolkit.evaluation.summarize`: one row per model, sorted by the
    primary metric (best first), the noisy input last.

    Columns: ``rank, model, family, n``, each metric's mean with ``_lo``/``_hi`` (95% CI), ``delta_*``
    improvements over noisy with CIs, the card costs (``latency_ms, params_M, file_MB, latency_class,
    size_class``), ``rtf``/``hop_ms``/``hop_p95_ms`` from ``timing`` (one-thread pass; NaN without it),
    ``rtf_busy`` (the timing pass flagged the model ``busy``: timed while other processes used the CPU), and
    ``tied``: with ``table`` (the per-file evaluation table the summary came from), the model is not significantly
    different from the leader on the primary metric over the same files (paired Wilcoxon signed-rank,
    Holm-corrected across the models of this leaderboard, p >= 0.05; ``p_holm`` and ``vs_leader``, the mean
    paired difference, beside it); without ``table``, the model's 95% CI of the mean overlaps the leader's.
    ``status`` (paired only): :func:`~setoolkit.evaluation.paired.leader_ties`'s verdict, ``"not compared"`` when
    the model shares no file with the leader (never tied) and ``"too few files"`` when 5 pairs or fewer cannot
    separate anything; ``n_paired``: the pairs behind it. Better is the primary metric's catalogue direction.
    ``in_domain``: the model's card says it was trained on this set's corpus. Runtime variants listed in
    ``variants`` (model != representative) are left out: they are shown under their representative.
    ``attrs``: ``dataset, primary, metrics, deltas, paired`` (whether ``tied`` is the paired test). ``cards``: the
    run's ``models.csv`` (facts of user models, see :func:`model_info`).
    """
    import pandas as pd

    s = summary[summary["dataset"] == dataset].copy()
    primary = primary_metric(s)
    metrics = [
        m
        for m in (PAIRED_METRICS if primary == "pesq_wb" else UNPAIRED_METRICS)
        if m in s.columns and s[m].notna().any()
    ]
    deltas = [
        d
        for d in ((f"delta_{primary}", "delta_si_sdr") if primary == "pesq_wb" else ("delta_OVRL",))
        if d in s.columns and s[d].notna().any()
    ]
    if variants is not None and len(variants):
        hidden = set(variants.loc[variants["model"] != variants["representative"], "model"])
        s = s[~s["model"].isin(hidden)]
    keep = ["model", "n"] + [c for m in metrics + deltas for c in (m, f"{m}_lo", f"{m}_hi") if c in s.columns]
    board = s[keep].merge(model_info(list(s["model"]), cards), on="model", how="left")
    if timing is not None and len(timing):
        t = timing.drop_duplicates("model", keep="last").set_index("model")
        for col in ("rtf", "hop_ms", "hop_p95_ms"):
            board[col] = board["model"].map(t[col]) if col in t.columns else np.nan
        board["rtf_busy"] = (
            board["model"].map(t["busy"].astype(bool)).fillna(False).astype(bool) if "busy" in t.columns else False
        )
    else:
        board["rtf"], board["hop_ms"], board["hop_p95_ms"] = np.nan, np.nan, np.nan
        board["rtf_busy"] = False
    ref = board["model"].map(is_reference)
    down = catalog.higher_is_better(primary)
    enhanced = board[~ref].sort_values(primary, ascending=not down, na_position="last")
    oracles = board[ref & (board["model"] != NOISY)].sort_values(primary, ascending=not down, na_position="last")
    board = pd.concat([enhanced, oracles, board[board["model"] == NOISY]], ignore_index=True)
    board.insert(0, "rank", [i + 1 if not is_reference(m) else np.nan for i, m in enumerate(board["model"])])
    board["tied"] = False
    board["p_holm"], board["vs_leader"], board["n_paired"] = np.nan, np.nan, np.nan
    board["status"] = ""
    paired = table is not None and len(enhanced) > 1 and primary in table.columns
    if paired:
        ties = leader_ties(table, dataset, primary).set_index("model")
        others = ~board["model"].map(is_reference) & (board.index > 0) & board["model"].isin(ties.index)
        for col, src in (("tied", "tied"), ("p_holm", "p_holm"), ("vs_leader", "difference"), ("n_paired", "n")):
            board.loc[others, col] = board.loc[others, "model"].map(ties[src])
        board.loc[others, "status"] = board.loc[others, "model"].map(ties["status"])
        board["tied"] = board["tied"].astype(bool)
    elif len(enhanced) and f"{primary}_lo" in board.columns:
        lead_lo = board.loc[0, f"{primary}_lo"]
        his = board[f"{primary}_hi"].to_numpy(dtype=float)
        board["tied"] = (
            ~board["model"].map(is_reference)
            & (board.index > 0)
            & np.isfinite(his)
            & np.isfinite(lead_lo)
            & (his >= lead_lo)
        )
    board["in_domain"] = [bool(m in CARDS and in_domain(CARDS[m], dataset)) for m in board["model"]]
    board.attrs.update(dataset=dataset, primary=primary, metrics=metrics, deltas=deltas, paired=bool(paired))
    return board


def user_model_sentences(table, board) -> list[str]:
    """One "your model vs the best" sentence (:func:`~setoolkit.evaluation.paired.versus_best`) per model of
    ``board`` that is not in the registry (a model spec or an adapter of your own), naming the models it is
    significantly better and worse than on the primary metric."""
    primary, dataset = board.attrs["primary"], board.attrs["dataset"]
    mine = [m for m in board["model"] if not is_reference(m) and m not in CARDS]
    if table is None or primary not in table.columns:
        return []
    return [
        versus_best(table, dataset, primary, m)
        for m in mine
        if table[(table["dataset"] == dataset) & (table["model"] == m)][primary].notna().any()
    ]


def _names(models: list[str]) -> str:
    return models[0] if len(models) == 1 else ", ".join(models[:-1]) + " and " + models[-1]


def fmt_num(v, digits: int = 2) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def fmt_ci(lo, hi, digits: int = 2) -> str:
    return "" if not (np.isfinite(lo) and np.isfinite(hi)) else f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def headline(board) -> str:
    """The dataset's result in one sentence: the leader, its score and gain, who is statistically tied, and
    the smallest model among the tied ones. Starts with ``"<dataset>: "``."""
    ds, primary = board.attrs["dataset"], board.attrs["primary"]
    enh = board[~board["model"].map(is_reference)]
    if not len(enh):
        return f"{ds}: no enhanced outputs."
    lead = enh.iloc[0]
    d = catalog.digits(primary)
    n = int(lead["n"])
    text = (
        f"{ds}: {lead['model']} leads {catalog.label(primary)} over {n} file{'s' if n != 1 else ''} with "
        f"{lead[primary]:.{d}f}"
    )
    lo, hi = lead.get(f"{primary}_lo", np.nan), lead.get(f"{primary}_hi", np.nan)
    ci = fmt_ci(lo, hi, d)
    text += f" {ci}" if ci else ""
    dcol = f"delta_{primary}"
    if dcol in enh.columns and np.isfinite(lead[dcol]):
        text += f" ({lead[dcol]:+.{d}f} over the noisy input)"
    tied = enh[enh["tied"]]
    status = enh["status"] if "status" in enh else enh["model"].map(lambda _: "")
    apart = list(enh.loc[status == NOT_COMPARED, "model"])
    few = status.iloc[1:].eq(TOO_FEW)
    if not np.isfinite(lo):
        text += "; too few files for a confidence interval, so the order is not evidence"
    elif len(few) and few.all():
        m = int(np.nanmax(enh["n_paired"].to_numpy(float)))
        text += (
            f"; {m} common file{'s are' if m != 1 else ' is'} too few to separate any two models (the smallest "
            f"possible exact Wilcoxon p over {m} files is {smallest_p(m):.3g}, above 0.05), so the order is not "
            "evidence"
        )
    elif len(tied):
        names = ", ".join(tied["model"].head(4)) + (f" and {len(tied) - 4} more" if len(tied) > 4 else "")
        how = (
            "not significantly different from it (paired Wilcoxon over the same files, Holm-corrected)"
            if board.attrs.get("paired")
            else "within its 95% CI"
        )
        text += (
            f"; {names} {'is' if len(tied) == 1 else 'are'} {how}, so these "
            f"{len(tied) + 1} are not separated by this data"
        )
        group = enh[enh["tied"] | (enh.index == enh.index[0])]
        small = group.sort_values(["params_M", "latency_ms"], na_position="last").iloc[0]
        if small["model"] != lead["model"] and np.isfinite(small["params_M"]):
            text += (
                f"; the smallest of them is {small['model']} ({small['params_M']:.2f} M parameters, "
                f"{fmt_num(small['latency_ms'], 0)} ms latency)"
            )
    elif len(enh) > 1 + len(apart):
        text += (
            ", significantly ahead of every other model (paired Wilcoxon, Holm-corrected)"
            if board.attrs.get("paired")
            else ", clearly ahead: no other model's 95% CI reaches the leader's"
        )
    if apart:
        text += (
            f"; {_names(apart)} {'was' if len(apart) == 1 else 'were'} not compared with it (no common file), so "
            "not ranked against it"
        )
    return text + "."


def best_by_group(board, by: str | Sequence[str]):
    """The best model (best primary metric, by its catalogue direction) in each group of ``by`` (``family``,
    ``latency_class``, ``size_class``, or a list of them): ``group..., best, <primary>, ci, runner_up, models``."""
    import pandas as pd

    primary = board.attrs["primary"]
    keys = [by] if isinstance(by, str) else list(by)
    enh = board[~board["model"].map(is_reference)]
    rows = []
    order = {"latency_class": [c for _, c in LATENCY_CLASSES], "size_class": [c for _, c in SIZE_CLASSES]}
    down = catalog.higher_is_better(primary)
    for key, g in enh.groupby(keys, sort=False):
        g = g.sort_values(primary, ascending=not down)
        top = g.iloc[0]
        key = key if isinstance(key, tuple) else (key,)
        rows.append(
            {
                **dict(zip(keys, key)),
                "best": top["model"],
                primary: top[primary],
                "ci": fmt_ci(
                    top.get(f"{primary}_lo", np.nan), top.get(f"{primary}_hi", np.nan), catalog.digits(primary)
                ),
                "runner_up": g.iloc[1]["model"] if len(g) > 1 else "",
                "models": len(g),
            }
        )
    out = pd.DataFrame(rows)
    if len(out):
        sort_keys = [
            out[k].map(lambda v, k=k: order[k].index(v) if v in order.get(k, []) else 99) if k in order else out[k]
            for k in keys
        ]
        out = (
            out.iloc[np.lexsort([*reversed([np.asarray(s) for s in sort_keys])])]
            if len(keys) > 1
            else out.assign(_o=sort_keys[0]).sort_values(["_o", primary], ascending=[True, not down]).drop(columns="_o")
        )
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
    metric = primary_metric(t)
    if metric not in t.columns or not t[metric].notna().any():
        return [(f, "first file") for f in list(t["file"])[:n]]
    t = t[t[metric].notna()].sort_values(metric)
    picks = [(t.iloc[0]["file"], f"hardest input (noisy {catalog.label(metric)} {t.iloc[0][metric]:.2f})")]
    med = t[metric].median()
    for _, r in t.iloc[(t[metric] - med).abs().argsort()].iterrows():
        if len(picks) >= n:
            break
        if r["file"] not in [p[0] for p in picks]:
            picks.append(
                (r["file"], f"typical input (noisy {catalog.label(metric)} {r[metric]:.2f}, median {med:.2f})")
            )
    return picks[:n]


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


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "–" if np.isnan(v) else f"{v:.3f}"
    return str(v)


def markdown_table(df, *, index: bool = False) -> str:
    """A Markdown table of a DataFrame (numbers to 3 decimals, NaN as –); every header and cell escaped
    (:func:`setoolkit.report.escape.md_escape`), so a name is text, never markup."""
    if index:
        df = df.reset_index()
    cols = list(df.columns)
    lines = ["| " + " | ".join(md_escape(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(md_escape(_fmt(v)) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def html_table(df, *, index: bool = False) -> str:
    """A plain HTML table of a DataFrame (numbers to 3 decimals, NaN as –)."""
    if index:
        df = df.reset_index()
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
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
        d = catalog.digits(m)
        out[catalog.label(m)] = [
            f"{v:.{d}f} {fmt_ci(lo, hi, d)}".strip() if np.isfinite(v) else "–"
            for v, lo, hi in zip(s[m], s.get(f"{m}_lo", s[m] * np.nan), s.get(f"{m}_hi", s[m] * np.nan))
        ]
    return pd.DataFrame(out)


def board_display(board):
    """The leaderboard as display strings (one column per metric: mean and CI), for notebooks and Markdown."""
    import pandas as pd

    cols = {
        "#": board["rank"].map(lambda r: "" if not np.isfinite(r) else f"{int(r)}"),
        "model": board["model"]
        + board["tied"].map(lambda t: " (tied)" if t else "")
        + board.get("status", board["model"].map(lambda _: "")).map(
            lambda st: " (not compared)" if st == NOT_COMPARED else ""
        )
        + board.get("in_domain", board["tied"] & False).map(lambda t: " (in-domain)" if t else ""),
    }
    for m in board.attrs["metrics"] + board.attrs["deltas"]:
        d = catalog.digits(m)
        name = ("Δ " + catalog.label(m[6:])) if m.startswith("delta_") else catalog.label(m)
        cols[name] = [
            (f"{v:+.{d}f}" if m.startswith("delta_") else f"{v:.{d}f}")
            + (f" {fmt_ci(lo, hi, d)}" if np.isfinite(lo) else "")
            if np.isfinite(v)
            else "–"
            for v, lo, hi in zip(
                board[m], board.get(f"{m}_lo", board[m] * np.nan), board.get(f"{m}_hi", board[m] * np.nan)
            )
        ]
    cols["latency ms"] = board["latency_ms"].map(lambda v: fmt_num(v, 0))
    cols["params M"] = board["params_M"].map(lambda v: fmt_num(v, 2))
    cols["file MB"] = board["file_MB"].map(lambda v: fmt_num(v, 1))
    busy = board["rtf_busy"] if "rtf_busy" in board else [False] * len(board)
    cols["RTF (timing pass)"] = [fmt_num(v, 3) + (f" {BUSY_MARK}" if b else "") for v, b in zip(board["rtf"], busy)]
    return pd.DataFrame(cols)

"""The daily report: ``reports/YYYY-MM-DD/`` with an HTML page and a Markdown page built from an evaluation table.

The page opens on one leaderboard per dataset (models sorted by PESQ-WB on paired sets, DNSMOS OVRL on
unpaired ones; each metric as mean and 95% bootstrap CI; improvement over the noisy input; the cost columns:
algorithmic latency, parameters and file size from the model cards, RTF and per-hop latency from the main
job's one-thread timing pass) with one sentence per dataset saying who won and whether the lead is more
than noise. Then the comparison groups (family, latency class, size class), the per-SNR-band pivot, the
figures, a listening section (the hardest and a typical file per dataset, every signal playable on one
timeline with its spectrogram and metric row; the same player as :mod:`setoolkit.report.widgets`), the speed
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

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..evaluation import NOISY, snr_bands, summarize
from ..listening import listening_section
from ..listening.build import TEST_FILE
from ..listening.page import PAGE_FILE
from ..listening.report_section import ListeningSection
from ..metrics import catalog
from ..registry import CARDS
from . import figures
from .escape import md_escape, script_json, url_path
from .figures import FAMILY_COLOURS
from .leaderboard import (
    BUSY_MARK,
    EXAMPLES_PER_SET,
    LATENCY_CLASSES,
    ORACLE_PREFIX,
    SET_ORDER,
    SIZE_CLASSES,
    best_by_group,
    board_display,
    changes_since,
    fmt_ci,
    fmt_num,
    headline,
    html_table,
    is_reference,
    leaderboard,
    markdown_table,
    model_info,
    paper_table,
    pick_examples,
    previous_report,
    published_table,
    read_speed,
    short_model_names,
    snr_pivot,
    user_model_sentences,
)
from .players import listening_players

STATIC = Path(__file__).parents[1] / "static"
TEMPLATES = Path(__file__).parents[1] / "templates"


def _board_html(board, variants=None, threads: int | None = None) -> dict:
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

    bests = {m: best(m) for m in metrics + deltas}
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
                "badge": "tied" if r.tied else ("leader" if r.rank == 1 else ""),
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


def _pivot_html(p) -> dict:
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


def _matrix_html(board, matrix) -> dict:
    """Size class rows x latency class columns, each cell the best model there and its primary score; the last
    column is the best of each size class at any latency, the last row the best of each latency class at any
    size. ``matrix``: ``best_by_group(board, ["size_class", "latency_class"])``, computed once by the caller."""
    primary = board.attrs["primary"]
    d = catalog.digits(primary)

    def cells(table, keys):
        return (
            {
                tuple(getattr(r, k) for k in keys): {
                    "model": r.best,
                    "value": f"{getattr(r, primary):.{d}f}",
                    "n": r.models,
                }
                for r in table.itertuples(index=False)
            }
            if len(table)
            else {}
        )

    both = cells(matrix, ["size_class", "latency_class"])
    by_size = cells(best_by_group(board, "size_class"), ["size_class"])
    by_lat = cells(best_by_group(board, "latency_class"), ["latency_class"])
    sizes = [label for _, label in SIZE_CLASSES] + ["size unknown"]
    lats = [label for _, label in LATENCY_CLASSES]
    rows = [
        {"label": z, "cells": [both.get((z, lat)) for lat in lats] + [by_size.get((z,))]}
        for z in sizes
        if (z,) in by_size
    ]
    rows.append({"label": "any size", "cells": [by_lat.get((lat,)) for lat in lats] + [None], "cls": "any"})
    return {"rows": rows, "cols": lats + ["any latency"]}


@dataclass
class ReportData:
    """Everything the HTML and Markdown writers need, computed once by :func:`build_report`."""

    out_dir: Path
    title: str
    date: str
    sections: list[dict]
    summary: Any
    bands: Any
    changes: list[str]
    notes: list[str]
    speed: dict
    listening: list[ListeningSection] = field(default_factory=list)


def build_report(
    table,
    out_dir: str | os.PathLike,
    *,
    date: str,
    figures_dir: str | os.PathLike = "figures",
    sizes: dict | None = None,
    notes: Sequence[str] = (),
    examples: int = EXAMPLES_PER_SET,
    listening: Sequence[str | os.PathLike] = (),
) -> Path:
    """Write ``summary.csv``, ``snr_bands.csv``, ``leaderboard_<set>.csv``, figures, the listening files,
    ``report.md`` and ``report.html`` into ``out_dir`` (the figures also into ``figures_dir``).

    ``table``: the evaluation table (:func:`setoolkit.evaluation.evaluate`). ``sizes``: model -> parameters in
    millions for the quality-vs-size figure (default: the model cards). The timing pass's ``timing.csv``,
    ``variants.csv``, ``profile.csv`` in ``out_dir`` are used when present. ``listening``: listening-test folders
    (:func:`setoolkit.listening.build_test`; their ratings in ``<folder>/results``); each one with results gets a
    section (ratings with CIs, paired tests, agreement with the metrics) and a link to its page; test folders
    under ``out_dir/listening_tests/`` are found without being named. Returns ``out_dir``.
    """
    import pandas as pd

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = short_model_names(table)
    summary = summarize(table)
    summary.to_csv(out_dir / "summary.csv", index=False)
    bands = snr_bands(table[table["dataset"].str.startswith("vbd")]) if len(table) else None
    if bands is not None and len(bands):
        bands.to_csv(out_dir / "snr_bands.csv", index=False)
    speed = read_speed(out_dir)
    timing, variants = speed["timing"], speed["variants"]
    order = {d: i for i, d in enumerate(SET_ORDER)}
    datasets = sorted(dict.fromkeys(summary["dataset"]), key=lambda d: (order.get(d, len(order)), d))
    boards = {
        ds: leaderboard(summary, ds, timing=timing, variants=variants, table=table, cards=speed["models"])
        for ds in datasets
    }
    for ds, b in boards.items():
        b.to_csv(out_dir / f"leaderboard_{ds}.csv", index=False)

    info = model_info(sorted(set(summary["model"]) - {NOISY}), speed["models"])
    sizes = sizes or {m: v for m, v in zip(info["model"], info["params_M"]) if np.isfinite(v)}
    latency = {m: v for m, v in zip(info["model"], info["latency_ms"]) if np.isfinite(v)}
    rtf = (
        {m: v for m, v in zip(timing["model"], timing["rtf"]) if np.isfinite(v)}
        if timing is not None and "rtf" in timing
        else {}
    )
    threads = int(timing["threads"].iloc[0]) if timing is not None and "threads" in timing and len(timing) else None
    figs_dir = Path(figures_dir)
    (out_dir / "figures").mkdir(exist_ok=True)
    sections = []
    for ds in datasets:
        board = boards[ds]
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
                figures.quality_vs_size(
                    s, sizes, figs_dir / f"{date}_{ds}_quality_vs_size.png", metric=primary, dataset=ds
                )
            )
            if rtf:
                made.append(
                    figures.quality_vs_rtf(
                        _with_variants(s, variants),
                        figs_dir / f"{date}_{ds}_quality_vs_rtf.png",
                        metric=primary,
                        dataset=ds,
                        rtf=rtf,
                        threads=threads,
                    )
                )
        pivot = None
        if bands is not None and len(bands) and ds in set(bands["dataset"]):
            made.append(figures.snr_curves(bands, figs_dir / f"{date}_{ds}_snr_bands.png", dataset=ds))
            pivot = snr_pivot(bands, ds)
        local = []
        for f in made:
            shutil.copy(f, out_dir / "figures" / f.name)
            local.append(f"figures/{f.name}")
        models = [m for m in board["model"] if not is_reference(m)]
        players = listening_players(table, out_dir, ds, models, pick_examples(table, ds, examples)) if examples else []
        groups = {
            name: best_by_group(board, key)
            for name, key in (("family", "family"), ("latency", "latency_class"), ("size", "size_class"))
        }
        paper = paper_table(summary, ds)
        matrix = best_by_group(board, ["size_class", "latency_class"])
        sections.append(
            {
                "dataset": ds,
                "board": board,
                "paper_html": html_table(paper) if paper is not None else "",
                "board_html": _board_html(board, variants, threads),
                "headline": headline(board),
                "figures": local,
                "versus": user_model_sentences(table, board),
                "pivot": pivot,
                "pivot_html": _pivot_html(pivot) if pivot is not None else None,
                "players": players,
                "groups": groups,
                "matrix": matrix,
                "matrix_html": _matrix_html(board, matrix),
            }
        )

    prev = previous_report(out_dir.parent, date)
    changes = changes_since(pd.read_csv(prev / "summary.csv"), summary) if prev else ["first report in this folder"]
    notes = [*notes, f"previous report: {prev.name}" if prev else "previous report: none"]
    data = ReportData(
        out_dir,
        f"setoolkit daily report {date}",
        date,
        sections,
        summary,
        bands,
        changes,
        notes,
        speed,
        _listening_sections(table, out_dir, listening),
    )
    _write_markdown(data)
    _write_html(data)
    return out_dir


def _listening_sections(table, out_dir: Path, folders: Sequence[str | os.PathLike]) -> list[ListeningSection]:
    """The listening-test sections of the report, their figures written into ``out_dir/figures``."""
    found = sorted(p.parent for p in (out_dir / "listening_tests").glob(f"*/{TEST_FILE}"))
    out = []
    for folder in dict.fromkeys(Path(f).resolve() for f in [*folders, *found]):
        href = Path(os.path.relpath(folder / PAGE_FILE, out_dir.resolve())).as_posix()
        section = listening_section(folder / "results", folder, table, page_href=href)
        if section is not None:
            section.write_figure(out_dir / "figures")
            out.append(section)
    return out


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
    ctx: dict[str, Any] = {"timing": None, "variants": None, "profile": None}
    if timing is not None and len(timing):
        cpus = ", ".join(str(c) for c in dict.fromkeys(timing.get("cpu", []))) or "CPU not recorded"
        threads = ", ".join(str(t) for t in dict.fromkeys(timing.get("threads", []))) or "?"
        load = load_sentence(timing)
        busy = timing["busy"].fillna(False).astype(bool).any() if "busy" in timing else False
        ctx["timing"] = {
            "text": f"RTF and per-hop latency from the dedicated timing pass: {threads} thread(s) "
            f"on {cpus}, warmed up, after the evaluation workers finished. {load}".strip(),
            "short": f"timing pass, {threads} thread(s) on {cpus}"
            + (f"; {BUSY_MARK} = timed while the machine was busy" if busy else ""),
            "table": html_table(timing.round(4)),
        }
    if variants is not None and len(variants):
        ctx["variants"] = html_table(variants.round(4))
    if profile is not None and len(profile):
        stages = profile["stage"].astype(str)
        top = profile[~stages.str.contains(":") & (stages != "total")]
        total = (
            float(profile.loc[stages == "total", "seconds"].iloc[0])
            if (stages == "total").any()
            else float(top["seconds"].sum())
        )
        share = (profile["seconds"] / total).map("{:.0%}".format) if total > 0 else "–"
        biggest = top.sort_values("seconds", ascending=False).head(3)
        ctx["profile"] = {
            "text": f"{total:.0f} s in all; most in "
            + ", ".join(f"{r.stage} ({r.seconds:.0f} s)" for r in biggest.itertuples(index=False)),
            "table": html_table(profile.assign(share=share).round(2)),
        }
    return ctx


def load_sentence(timing) -> str:
    """One sentence on the machine's load during the timing pass (timing.csv ``load1, steal_pct, other_cpu,
    other_top, busy``); empty for a table without them."""
    if "other_cpu" not in timing or not timing["other_cpu"].notna().any():
        return ""
    load1, other = timing["load1"].dropna(), timing["other_cpu"].dropna()
    steal = timing["steal_pct"].dropna() if "steal_pct" in timing else other * np.nan
    busy = timing.loc[timing["busy"].fillna(False).astype(bool), "model"].tolist() if "busy" in timing else []
    worst = timing.loc[timing["other_cpu"].idxmax()]
    text = (
        f"Machine load during the pass: load average {load1.min():.1f}-{load1.max():.1f}, other processes "
        f"{other.min():.0f}-{other.max():.0f}% of a core (busiest: {worst.get('other_top') or '-'}), "
        f"CPU steal up to {steal.max() if len(steal) else 0:.0f}%. "
    )
    if busy:
        return text + (
            f"{len(busy)} of {len(timing)} models were timed again and stayed contended "
            f"({', '.join(busy)}; {BUSY_MARK} beside their RTF): their RTF is an upper bound."
        )
    return text + "Every model was timed with the machine to itself (other processes under half a core)."


def _write_markdown(data: ReportData) -> None:
    out_dir, title, sections, summary = data.out_dir, data.title, data.sections, data.summary
    bands, changes, notes, speed = data.bands, data.changes, data.notes, data.speed
    md = [f"# {md_escape(title)}", "", "## At a glance", "", *[f"- {md_escape(s['headline'])}" for s in sections], ""]
    timing = speed["timing"]
    md += [
        "RTF: "
        + (
            f"one-thread timing pass (timing.csv). {load_sentence(timing)}".strip()
            if timing is not None and len(timing)
            else "– (no timing pass in this folder; the evaluation workers' times are contended)"
        ),
        "",
    ]
    for s in sections:
        md += [
            f"## Leaderboard: {md_escape(s['dataset'])}",
            "",
            markdown_table(board_display(s["board"])),
            "",
            *[f"{md_escape(v)}\n" for v in s["versus"]],
        ]
    md += ["## Comparison groups", ""]
    for s in sections:
        m = s["matrix"]
        if len(m):
            md += [
                f"### {md_escape(s['dataset'])}: best model per size x latency class",
                "",
                markdown_table(m[["size_class", "latency_class", "best", s["board"].attrs["primary"], "ci"]]),
                "",
            ]
    for s in sections:
        if s["pivot"] is not None:
            md += [
                f"## {md_escape(s['dataset'])} by input SNR band ({catalog.label('pesq_wb')})",
                "",
                markdown_table(s["pivot"].round(3), index=True),
                "",
            ]
    md += [
        "## What changed since the previous report",
        "",
        *[f"- {md_escape(c)}" for c in changes],
        "",
        "## Figures",
        "",
        *[f"![{md_escape(Path(f).stem)}]({url_path(f)})" for s in sections for f in s["figures"]],
        "",
        "## Full summary (means, 95% bootstrap CIs in summary.csv)",
        "",
        markdown_table(
            summary[
                [
                    c
                    for c in (
                        "dataset",
                        "model",
                        "n",
                        "pesq_wb",
                        "stoi",
                        "si_sdr",
                        "OVRL",
                        "delta_pesq_wb",
                        "delta_si_sdr",
                        "delta_OVRL",
                    )
                    if c in summary.columns
                ]
            ].round(3)
        ),
        "",
        "## Notes",
        "",
        *[f"- {md_escape(n)}" for n in notes],
        "",
    ]
    if data.listening:
        md += ["## Listening tests", ""]
        for sec in data.listening:
            md += [sec.markdown.replace(f"]({sec.figure_name})", f"](figures/{sec.figure_name})"), ""]
    if bands is not None and len(bands):
        md += ["VoiceBank-DEMAND by input SNR band, long format: snr_bands.csv", ""]
    (out_dir / "report.md").write_text("\n".join(md) + "\n")


def _write_html(data: ReportData) -> None:
    out_dir, title, date, sections, summary = data.out_dir, data.title, data.date, data.sections, data.summary
    bands, changes, notes, speed = data.bands, data.changes, data.notes, data.speed
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    families = sorted(
        {
            f
            for s in sections
            for f, m in zip(s["board"]["family"], s["board"]["model"])
            if not is_reference(m) and f in FAMILY_COLOURS
        }
    )
    links = [
        p
        for p in (
            "scores.csv",
            "scores.parquet",
            "summary.csv",
            "snr_bands.csv",
            "timing.csv",
            "variants.csv",
            "profile.csv",
        )
        if (out_dir / p).exists()
    ]
    links += [f"leaderboard_{s['dataset']}.csv" for s in sections]
    published = published_table(summary, bands)
    if published is not None:
        published.to_csv(out_dir / "published_vs_measured.csv", index=False)
    page = env.get_template("report.html.j2").render(
        published_html=html_table(published.drop(columns="caveat")) if published is not None else "",
        published_caveats=(
            sorted({(r.set or r.dataset, r.caveat) for r in published.itertuples()}) if published is not None else []
        ),
        title=title,
        date=date,
        sections=sections,
        notes=notes,
        changes=changes,
        speed=_speed_context(speed),
        family_colours={f: FAMILY_COLOURS[f] for f in families},
        links=links,
        summary_html=html_table(summary.round(3)),
        bands_html=html_table(bands.round(3)) if bands is not None and len(bands) else "",
        player_css=(STATIC / "player.css").read_text(),
        report_css=(STATIC / "report.css").read_text(),
        player_js=(STATIC / "player.js").read_text(),
        json=script_json,
        url=url_path,
        label=catalog.label,
        primary_of=lambda s: s["board"].attrs["primary"],
        listening=[sec.html for sec in data.listening],
    )
    (out_dir / "report.html").write_text(page)

"""The daily report: ``reports/YYYY-MM-DD/`` with an HTML page and a Markdown page built from an evaluation table.

The report is a sequence of sections (:data:`setoolkit.report.sections.SECTIONS`, one module each with its
view model; :mod:`setoolkit.report.writers` writes both pages from them). The page opens on one leaderboard per
dataset (models sorted by PESQ-WB on paired sets, DNSMOS OVRL on unpaired ones; each metric as mean and 95%
bootstrap CI; improvement over the noisy input; the cost columns: algorithmic latency, parameters and file size
from the model cards, RTF and per-hop latency from the main job's one-thread timing pass) with one sentence per
dataset saying who won and whether the lead is more than noise. Then the comparison groups (family, latency class,
size class), the paper metrics, the per-SNR-band pivot, the figures, a listening section (the hardest and a
typical file per dataset, every signal playable on one timeline with its spectrogram and metric row; the same
player as :mod:`setoolkit.report.widgets`), the listening tests, the speed section, the changes and the full
tables, collapsed. The folder is self-contained (audio, figures, JavaScript inlined).

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
from collections.abc import Sequence
from pathlib import Path

from ..evaluation import snr_bands, summarize
from .leaderboard import (
    EXAMPLES_PER_SET,
    SET_ORDER,
    leaderboard,
    previous_report,
    read_speed,
)
from .sections import SECTIONS, ReportContext
from .writers import write_html, write_markdown


def report_context(
    table,
    out_dir: Path,
    *,
    date: str,
    figures_dir: str | os.PathLike = "figures",
    sizes: dict | None = None,
    notes: Sequence[str] = (),
    examples: int = EXAMPLES_PER_SET,
    listening: Sequence[str | os.PathLike] = (),
) -> ReportContext:
    """What every section reads: the summary, the SNR bands and one leaderboard per dataset (their CSV files
    written into ``out_dir``), the timing pass's files, the previous report. Arguments as :func:`build_report`."""
    # model names are display names already (setoolkit.model_refs): never shortened, so listening tests, players and
    # the leaderboard match their systems on one identity
    summary = summarize(table)
    summary.to_csv(out_dir / "summary.csv", index=False)
    bands = snr_bands(table[table["dataset"].str.startswith("vbd")]) if len(table) else None
    if bands is not None and len(bands):
        bands.to_csv(out_dir / "snr_bands.csv", index=False)
    speed = read_speed(out_dir)
    order = {d: i for i, d in enumerate(SET_ORDER)}
    datasets = sorted(dict.fromkeys(summary["dataset"]), key=lambda d: (order.get(d, len(order)), d))
    boards = {
        ds: leaderboard(
            summary, ds, timing=speed["timing"], variants=speed["variants"], table=table, cards=speed["models"]
        )
        for ds in datasets
    }
    for ds, b in boards.items():
        b.to_csv(out_dir / f"leaderboard_{ds}.csv", index=False)
    return ReportContext(
        out_dir=out_dir,
        date=date,
        title=f"setoolkit daily report {date}",
        table=table,
        summary=summary,
        bands=bands,
        speed=speed,
        datasets=datasets,
        boards=boards,
        figures_dir=Path(figures_dir),
        sizes=sizes,
        notes=list(notes),
        previous=previous_report(out_dir.parent, date),
        examples=examples,
        listening=listening,
    )


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
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = report_context(
        table,
        out_dir,
        date=date,
        figures_dir=figures_dir,
        sizes=sizes,
        notes=notes,
        examples=examples,
        listening=listening,
    )
    built = [(s, view) for s in SECTIONS if (view := s.build(ctx)) is not None]
    write_markdown(out_dir / "report.md", ctx.title, built)
    write_html(out_dir / "report.html", ctx.title, built)
    return out_dir

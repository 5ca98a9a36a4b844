"""The listening-test section of the daily report: HTML and Markdown fragments, a figure, a link to the test.

:func:`listening_section` reads a test folder and its results folder and returns a
:class:`ListeningSection`, or ``None`` when nobody has rated yet. Every name in the HTML is escaped; the
figure is embedded in the HTML as a data URL and referenced by :attr:`ListeningSection.figure_name` in the
Markdown (write it next to the Markdown with :meth:`ListeningSection.write_figure`).

Examples
--------
>>> s = listening_section("listening/mushra/results", "listening/mushra", table)
>>> s.write_figure("reports/2026-01-01"); html_parts.append(s.html)
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics import catalog
from .analysis import (
    ccr_scores,
    excluded,
    metric_agreement,
    paired_tests,
    ratings_frame,
    screen,
    system_scores,
)
from .build import load_test
from .kinds import test_type
from .kinds.base import headphone_passed
from .page import PAGE_FILE
from .plot import ratings_figure
from .results import collect_results

#: Below these many (kept) listeners or items the bootstrap CIs are printed with a warning; below 2, not at all.
MIN_LISTENERS, MIN_ITEMS = 10, 4


@dataclass
class ListeningSection:
    """One listening test in the report: ``html`` and ``markdown`` fragments, ``figure_png`` (PNG bytes, named
    ``figure_name`` in the Markdown), ``page`` (the test page) and the tables behind them."""

    title: str
    html: str
    markdown: str
    figure_png: bytes
    figure_name: str
    page: Path
    scores: pd.DataFrame
    tests: pd.DataFrame
    screening: pd.DataFrame
    agreement: pd.DataFrame

    def write_figure(self, out_dir: str | os.PathLike) -> Path:
        """Write the figure as ``out_dir/figure_name``; returns its path."""
        path = Path(out_dir) / self.figure_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.figure_png)
        return path


def _fmt(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else ""
    if isinstance(v, (float, np.floating)):
        return "–" if not np.isfinite(v) else f"{v:.3g}" if abs(float(v)) < 0.01 and v != 0 else f"{v:.2f}"
    return str(v)


def _cell(v, first: bool) -> str:
    kind = "name" if first else "num" if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else ""
    return f'<td class="{kind}">{html.escape(_fmt(v))}</td>' if kind else f"<td>{html.escape(_fmt(v))}</td>"


def html_table(df: pd.DataFrame) -> str:
    """``<table>`` of ``df`` with every header and cell escaped, styled like the report's leaderboards
    (``board``: names bold on the left, numbers right-aligned)."""
    text = [k == 0 or not pd.api.types.is_numeric_dtype(df[c]) for k, c in enumerate(df.columns)]
    head = "".join(
        f'<th style="text-align:left">{html.escape(str(c))}</th>' if t else f"<th>{html.escape(str(c))}</th>"
        for c, t in zip(df.columns, text)
    )
    body = "".join(
        "<tr>" + "".join(_cell(v, k == 0) for k, v in enumerate(row)) + "</tr>" for row in df.itertuples(index=False)
    )
    return f'<table class="board listening-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def markdown_table(df: pd.DataFrame) -> str:
    """GitHub Markdown table of ``df`` (``|`` in cells escaped)."""
    esc = lambda v: _fmt(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(esc(c) for c in df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(esc(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _score_table(scores: pd.DataFrame) -> pd.DataFrame:
    if "a" in scores.columns:  # pairwise (CCR): the CMOS of b against a
        return scores[["a", "b", "mean", "lo", "hi", "n_listeners", "n_items"]].rename(
            columns={
                "mean": "CMOS (b vs a)",
                "lo": "CI lo",
                "hi": "CI hi",
                "n_listeners": "listeners",
                "n_items": "items",
            }
        )
    extra = [c for c in scores.columns if c.startswith("DNSMOS")]
    s = scores[["scale", "system", "mean", "lo", "hi", "n_listeners", "n_items", *extra]]
    return s.rename(
        columns={"mean": "mean", "lo": "CI lo", "hi": "CI hi", "n_listeners": "listeners", "n_items": "items"}
    )


def _one_scale(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without its ``scale`` column when it holds one scale only (MUSHRA, ACR: the section's title)."""
    return df.drop(columns="scale") if "scale" in df and df["scale"].nunique() <= 1 else df


def listening_section(
    results_dir: str | os.PathLike,
    test_dir: str | os.PathLike,
    table: pd.DataFrame | None = None,
    *,
    page_href: str | None = None,
    names: dict[str, str] | None = None,
) -> ListeningSection | None:
    """The report section for the test in ``test_dir`` with the results in ``results_dir``; ``None`` when
    there are none. ``table``: the evaluation table, for the agreement with DNSMOS, DistillMOS, PESQ and
    ViSQOL, matched on the test's system names exactly as the evaluation keyed them (the same model identity
    as the leaderboard, never shortened first); ``names``: display names of systems (e.g. the leaderboard's
    shortened spec names), applied after matching; ``page_href``: the link to the test page (default its
    ``file://`` URI). Unreadable results files are skipped and named in the section."""
    test = load_test(test_dir)
    ktype = test_type(test.kind)
    collected = collect_results(results_dir, test)
    results = collected.results
    if not results:
        return None
    ratings = ratings_frame(results, test)
    if not len(ratings):
        return None
    screening = screen(results, test, ratings)
    out_listeners = excluded(screening)
    kept = ratings[~ratings["listener"].isin(out_listeners)]
    n_kept = kept["listener"].nunique()
    n_items = kept.groupby(["dataset", "file"]).ngroups
    scores = system_scores(kept)
    if n_kept < 2 or n_items < 2:  # a bootstrap over one listener or one item has no spread to show
        scores = scores.assign(lo=np.nan, hi=np.nan)
    tests = paired_tests(kept)
    agreement = metric_agreement(kept, table) if table is not None else pd.DataFrame()
    pairwise = ktype.pairwise
    fig_scores = ccr_scores(kept) if pairwise else scores
    if pairwise and (n_kept < 2 or n_items < 2):
        fig_scores = fig_scores.assign(lo=np.nan, hi=np.nan)
    beside = ktype.beside_metric
    if beside and table is not None and beside in table.columns and not pairwise:
        items = kept[["dataset", "file"]].drop_duplicates()
        ref = table.merge(items, on=["dataset", "file"]).groupby("model")[beside].mean()
        fig_scores = fig_scores.assign(**{catalog.label(beside): fig_scores["system"].map(ref)})
    show = names or {}
    for col in ("system", "a", "b"):
        if col in fig_scores:
            fig_scores = fig_scores.assign(**{col: fig_scores[col].map(lambda m: show.get(m, m))})
    if len(tests):
        tests = tests.assign(a=tests["a"].map(lambda m: show.get(m, m)), b=tests["b"].map(lambda m: show.get(m, m)))
    title = f"Listening test: {ktype.standard}"
    png = ratings_figure(fig_scores, test.kind, title=test.title, n_listeners=n_kept)
    figure_name = f"listening_{test.kind}_{test.id[:8]}.png"
    page = Path(test_dir).resolve() / PAGE_FILE
    href = page_href or page.as_uri()
    excl = (
        f"{len(out_listeners)} excluded by {ktype.screening}: "
        + ", ".join(
            f"{w} ({y})"
            for w, y in zip(
                screening.loc[screening["excluded"], "listener"], screening.loc[screening["excluded"], "why"]
            )
        )  # fmt: skip
        if out_listeners
        else f"none excluded ({ktype.screening})"
    )
    hp = sum(1 for r in results if not headphone_passed(r))
    summary = (
        f"{len(results)} listeners ({excl}; {hp} failed the headphone check), {n_items} items, "
        f"test id {test.id[:12]}. Stimuli at {test.target_dbov} dBov active speech level."
    )
    cautions = []
    if n_kept < 2 or n_items < 2:
        cautions.append(
            f"Only {n_kept} listener(s) and {n_items} item(s): no confidence interval can be estimated; the means "
            "are shown without CIs."
        )
    elif n_kept < MIN_LISTENERS or n_items < MIN_ITEMS:
        cautions.append(
            f"Only {n_kept} listeners and {n_items} items: too few for the 95% CIs printed to be trusted (they "
            f"resample listeners and items; at least {MIN_LISTENERS} screened listeners and {MIN_ITEMS} items are "
            f"needed; {ktype.listeners_advice})."
        )
    cautions += collected.warnings
    table_s = _one_scale(_score_table(fig_scores))
    sig = _one_scale(tests[tests["significant"]][["scale", "a", "b", "mean_diff", "p_holm"]]) if len(tests) else tests
    agree = agreement[agreement["level"] == "system"] if len(agreement) else agreement
    png_url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    parts = [
        f'<section class="listening-section"><h3>{html.escape(title)}</h3>',
        f"<p>{html.escape(summary)}</p>",
        *[f'<p class="legend listening-caution">⚠ {html.escape(c)}</p>' for c in cautions],
        f'<img src="{png_url}" alt="{html.escape(test.title)}: ratings with 95% CIs" style="max-width:100%">',
        html_table(table_s),
    ]
    md = [f"### {title}", "", summary, "", *[f"> ⚠ {c}\n" for c in cautions]]
    md += [f"![ratings with 95% CIs]({figure_name})", "", markdown_table(table_s)]
    if len(tests):
        caption = (
            f"Paired Wilcoxon signed-rank tests, Holm-corrected: {int(tests['significant'].sum())} of "
            f"{len(tests)} differences significant (p < 0.05)"
        )
        parts += [f"<p>{html.escape(caption)}.</p>", html_table(sig) if len(sig) else ""]
        md += ["", caption + ".", "", markdown_table(sig) if len(sig) else ""]
    if len(agree):
        caption = (
            "Agreement with the objective metrics (system level, Pearson and Spearman; the Spearman p is exact "
            "for up to 8 systems)"
        )
        a = agree[["scale", "metric", "n", "pearson", "pearson_p", "spearman", "spearman_p"]]
        a = _one_scale(a.assign(metric=a["metric"].map(catalog.label)))
        parts += [f"<p>{html.escape(caption)}:</p>", html_table(a)]
        md += ["", caption + ":", "", markdown_table(a)]
    parts.append(f'<p><a href="{html.escape(href, quote=True)}">Take the test (offline page)</a></p></section>')
    md += ["", f"[Take the test (offline page)](<{href}>)", ""]
    return ListeningSection(
        title=title,
        html="\n".join(p for p in parts if p),
        markdown="\n".join(md),
        figure_png=png,
        figure_name=figure_name,
        page=page,
        scores=fig_scores,
        tests=tests,
        screening=screening,
        agreement=agreement,
    )

"""The full-tables section: links to every CSV in the report folder, the whole summary (every dataset x model),
the SNR bands in long format, and the notes (the caller's, then which report came before)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..escape import md_escape
from ..leaderboard import html_table, markdown_table
from .base import ReportContext, Section

#: The report folder's data files, linked when present.
FILES = ("scores.csv", "scores.parquet", "summary.csv", "snr_bands.csv", "timing.csv", "variants.csv", "profile.csv")
#: The summary's columns in the Markdown page (all of them are in summary.csv).
MARKDOWN_COLUMNS = (
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


@dataclass
class FullTablesView:
    links: list[str]
    summary: pd.DataFrame
    bands: pd.DataFrame | None
    notes: list[str]
    summary_html: str
    bands_html: str


def build(ctx: ReportContext) -> FullTablesView:
    links = [p for p in FILES if (ctx.out_dir / p).exists()]
    links += [f"leaderboard_{ds}.csv" for ds in ctx.datasets]
    notes = [*ctx.notes, f"previous report: {ctx.previous.name}" if ctx.previous else "previous report: none"]
    bands = ctx.bands if ctx.has_bands else None
    return FullTablesView(
        links,
        ctx.summary,
        bands,
        notes,
        summary_html=html_table(ctx.summary.round(3)),
        bands_html=html_table(bands.round(3)) if bands is not None else "",
    )


def markdown(view: FullTablesView) -> list[str]:
    cols = [c for c in MARKDOWN_COLUMNS if c in view.summary.columns]
    md = ["## Full summary (means, 95% bootstrap CIs in summary.csv)", "", markdown_table(view.summary[cols].round(3))]
    md += ["", "## Notes", "", *[f"- {md_escape(n)}" for n in view.notes], ""]
    if view.bands is not None:
        md += ["VoiceBank-DEMAND by input SNR band, long format: snr_bands.csv", ""]
    return md


HTML = """\
  <h2>Full tables</h2>
  <p>Files: {% for l in view.links %}<a href="{{ url(l) }}">{{ l }}</a>{% if not loop.last %} · {% endif %}{% endfor %}</p>
  <details><summary>Summary: every dataset x model (means; CIs in summary.csv)</summary>{{ view.summary_html | safe }}</details>
  {% if view.bands_html %}<details><summary>SNR bands, long format</summary>{{ view.bands_html | safe }}</details>{% endif %}
  <h3>Notes</h3>
  <ul>{% for n in view.notes %}<li>{{ n }}</li>{% endfor %}</ul>
"""  # noqa: E501

SECTION = Section(id="full", nav="Full tables", build=build, html=HTML, markdown=markdown)

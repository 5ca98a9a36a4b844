"""The paper-metrics section: per paired set the columns SE papers print (mean and 95% CI, oracle rows as the
ceiling), then published vs measured under the paper's protocol (:mod:`setoolkit.studies.published`): one line
per published number with its condition, the raw and the SNR-standardised mean of the matching run, the gain over
the noisy input beside the paper's, and the sources as numbered notes (``published_vs_measured.csv``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...evaluation import NOISY
from ...metrics import catalog
from ...studies.published import published_vs_measured, set_caveat
from ..escape import md_escape
from ..leaderboard import SET_ORDER, fmt_ci, html_table, markdown_table, paper_table
from .base import ReportContext, Section


@dataclass
class PapersView:
    """``tables``: ``(dataset, HTML table)`` per set with paper metrics; ``published``: the published-vs-measured
    display table (:func:`published_table`, ``None`` without published numbers), its numbered ``notes`` and the
    ``caveats`` of its sets (``(set, text)``)."""

    tables: list[tuple[str, str]]
    published: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    caveats: list[tuple[str, str]] = field(default_factory=list)


def _signed(v, d: int) -> str:
    return "–" if not np.isfinite(v) else f"{v:+.{d}f}"


def _plain(v, d: int) -> str:
    return "–" if not np.isfinite(v) else f"{v:.{d}f}"


def published_table(measured: pd.DataFrame) -> pd.DataFrame:
    """The display form of :func:`~setoolkit.studies.published.published_vs_measured`: one line per row (model,
    set, condition, published, raw mean and n, SNR-standardised mean with its CI, difference, the gain over the
    noisy input as published and as measured, the source as a note number), the noisy input first in each set.
    ``attrs["notes"]``: the numbered sources (citation, and what the card notes about the number)."""
    order = {s: i for i, s in enumerate(SET_ORDER)}
    t = measured.assign(
        _set=measured["set"].map(lambda s: order.get(s, len(order))),
        _model=measured["model"].ne(NOISY),
    ).sort_values(["_set", "set", "_model", "model"], kind="stable")
    notes: list[str] = []
    rows = []
    for r in t.itertuples(index=False):
        note = ("" if r.official else "not official: ") + r.citation + (f" ({r.note})" if r.note else "")
        if note not in notes:
            notes.append(note)
        d = catalog.digits(r.metric)
        std = np.isfinite(r.standardised)
        rows.append(
            {
                "model": "noisy input" if r.model == NOISY else r.model,
                "set": r.set,
                "condition": r.condition,
                "published": f"{r.published:g}",
                "measured": f"{_plain(r.measured, d)} (n = {r.n})",
                "SNR-standardised": (
                    f"{r.standardised:.{d}f} {fmt_ci(r.standardised_lo, r.standardised_hi, d)}".strip() if std else "–"
                ),
                "difference": _signed(r.difference, d) + ("" if std else " (raw)"),
                "gain (paper)": _signed(r.published_gain, d),
                "gain (here)": _signed(r.measured_gain, d),
                "source": f"[{notes.index(note) + 1}]",
            }
        )
    out = pd.DataFrame(rows)
    out.attrs["notes"] = notes
    return out


def build(ctx: ReportContext) -> PapersView | None:
    tables = []
    for ds in ctx.datasets:
        paper = paper_table(ctx.summary, ds)
        if paper is not None:
            tables.append((ds, html_table(paper)))
    measured = published_vs_measured(ctx.table)
    if not len(measured) and not tables:
        return None
    if not len(measured):
        return PapersView(tables)
    measured.to_csv(ctx.out_dir / "published_vs_measured.csv", index=False)
    shown = published_table(measured)
    sets = list(dict.fromkeys(shown["set"]))
    caveats = [(s, c) for s in sets if (c := set_caveat(ctx.table, s))]
    return PapersView(tables, shown, shown.attrs["notes"], caveats)


def markdown(view: PapersView) -> list[str]:
    if view.published is None:
        return []
    md = ["## Published vs measured", "", *[f"- {md_escape(s)}: {md_escape(c)}" for s, c in view.caveats], ""]
    md += [markdown_table(view.published), ""]
    md += [f"{i}. {md_escape(n)}" for i, n in enumerate(view.notes, start=1)] + [""]
    return md


HTML = """\
  <h2>Paper metrics and published numbers</h2>
  <p class="legend">The columns SE papers print (PESQ-WB; CSIG, CBAK, COVL of Hu &amp; Loizou 2008 on that PESQ; STOI;
    SI-SDR; ViSQOL v3; DistillMOS), mean [95% CI]. Oracle rows apply ideal masks computed from the clean speech:
    the ceiling a mask-based model could reach.</p>
  {% for dataset, table in view.tables %}
  <h3>{{ dataset }}</h3>
  {{ table | safe }}
  {% endfor %}
  {% if view.published is not none %}
  <h3>Published vs measured</h3>
  <p class="legend">Each number a model's paper (or the noisy input's literature) publishes, beside setoolkit's run
    under the same condition: the set at the rate the paper ran the model at (a 48 kHz paper number meets
    vbd48k), the same metric variant. <b>SNR-standardised</b>: each pair's input SNR banded to 2.5 / 7.5 / 12.5 /
    17.5 dB and the bands weighted a quarter each, as in the full 824-pair test set, with a stratified 95% bootstrap
    CI; <b>difference</b>: that mean minus the published number (the raw mean, marked, where a band is empty);
    <b>gain</b>: over the noisy input, as published (minus the published noisy row) and as measured on the same
    files. Only sets that were run appear.</p>
  <ul class="legend">{% for set, caveat in view.caveats %}<li><b>{{ set }}</b>: {{ caveat }}</li>{% endfor %}</ul>
  <div class="wide">
  <table class="full published">
    <thead><tr>{% for c in view.published.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
    <tbody>
    {% for r in view.published.to_dict("records") %}
      <tr{% if r.model == "noisy input" %} class="noisy"{% endif %}>{% for c, v in r.items() %}{% if c == "source" %}<td><a href="#published-note-{{ v[1:-1] }}">{{ v }}</a></td>{% else %}<td>{{ v }}</td>{% endif %}{% endfor %}</tr>
    {% endfor %}
    </tbody>
  </table>
  </div>
  <ol class="notes">{% for n in view.notes %}<li id="published-note-{{ loop.index }}">{{ n }}</li>{% endfor %}</ol>
  {% endif %}
"""  # noqa: E501

SECTION = Section(id="papers", nav="Paper metrics", build=build, html=HTML, markdown=markdown)

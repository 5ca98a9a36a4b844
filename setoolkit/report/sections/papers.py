"""The paper-metrics section: per paired set the columns SE papers print (mean and 95% CI, oracle rows as the
ceiling), then what each model's paper publishes beside setoolkit's measurement (``published_vs_measured.csv``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..leaderboard import html_table, paper_table, published_table
from .base import ReportContext, Section


@dataclass
class PapersView:
    """``tables``: ``(dataset, HTML table)`` per set with paper metrics; ``published``: the published-vs-measured
    HTML table ("" without published numbers) and its ``caveats`` (``(set, caveat)``)."""

    tables: list[tuple[str, str]]
    published: str = ""
    caveats: list[tuple[str, str]] = field(default_factory=list)


def build(ctx: ReportContext) -> PapersView | None:
    tables = []
    for ds in ctx.datasets:
        paper = paper_table(ctx.summary, ds)
        if paper is not None:
            tables.append((ds, html_table(paper)))
    published = published_table(ctx.summary, ctx.bands)
    if published is None and not tables:
        return None
    if published is None:
        return PapersView(tables)
    published.to_csv(ctx.out_dir / "published_vs_measured.csv", index=False)
    return PapersView(
        tables,
        html_table(published.drop(columns="caveat")),
        sorted({(r.set or r.dataset, r.caveat) for r in published.itertuples()}),
    )


HTML = """\
  <h2>Paper metrics and published numbers</h2>
  <p class="legend">The columns SE papers print (PESQ-WB; CSIG, CBAK, COVL of Hu &amp; Loizou 2008 on that PESQ; STOI;
    SI-SDR; ViSQOL v3; DistillMOS), mean [95% CI]. Oracle rows apply ideal masks computed from the clean speech:
    the ceiling a mask-based model could reach.</p>
  {% for dataset, table in view.tables %}
  <h3>{{ dataset }}</h3>
  {{ table | safe }}
  {% endfor %}
  {% if view.published %}
  <h3>Published vs measured</h3>
  <p class="legend">What each model's paper or official page publishes beside setoolkit's measurement of the same
    checkpoint. Read the caveat first: <b>vbd16k is 44 of the 824 VoiceBank-DEMAND test pairs, weighted to the
    low-SNR bands</b>, so its mean sits below a full-test-set mean: compare per SNR band (the measured_&lt;band&gt;
    columns).</p>
  <ul class="legend">{% for set, caveat in view.caveats %}<li><b>{{ set }}</b>: {{ caveat }}</li>{% endfor %}</ul>
  <div class="wide">{{ view.published | safe }}</div>
  {% endif %}
"""

SECTION = Section(id="papers", nav="Paper metrics", build=build, html=HTML)

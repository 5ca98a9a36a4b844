"""The changes section: what moved since the previous report in the same folder (models or sets added or
removed, metric means that moved by at least :data:`setoolkit.report.leaderboard.CHANGE_THRESHOLDS`)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..escape import md_escape
from ..leaderboard import changes_since
from .base import ReportContext, Section


@dataclass
class ChangesView:
    changes: list[str]


def build(ctx: ReportContext) -> ChangesView:
    if ctx.previous is None:
        return ChangesView(["first report in this folder"])
    return ChangesView(changes_since(pd.read_csv(ctx.previous / "summary.csv"), ctx.summary))


def markdown(view: ChangesView) -> list[str]:
    return ["## What changed since the previous report", "", *[f"- {md_escape(c)}" for c in view.changes], ""]


HTML = """\
  <h2>What changed since the previous report</h2>
  <ul>{% for c in view.changes %}<li>{{ c }}</li>{% endfor %}</ul>
"""

SECTION = Section(id="changes", nav="Changes", build=build, html=HTML, markdown=markdown)

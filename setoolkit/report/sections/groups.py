"""The comparison-groups section: each leaderboard cut by size and latency class (the best model in each cell,
so "the best model under 1 M parameters and 40 ms" reads off one row) and by family."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ...metrics import catalog
from ..escape import md_escape
from ..figures import FAMILY_COLOURS
from ..leaderboard import LATENCY_CLASSES, SIZE_CLASSES, best_by_group, markdown_table
from .base import ReportContext, Section


@dataclass
class SetGroups:
    """One dataset's groups: ``matrix`` (:func:`best_by_group` by size x latency class), ``cells`` (its display
    form, see :func:`matrix_cells`), ``family`` (best per family), the ``primary`` metric and its ``label``."""

    dataset: str
    primary: str
    label: str
    matrix: pd.DataFrame
    cells: dict
    family: list[dict]


@dataclass
class GroupsView:
    sets: list[SetGroups]
    family_colours: dict[str, str]


def matrix_cells(board, matrix) -> dict:
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


def build(ctx: ReportContext) -> GroupsView:
    sets = []
    for ds in ctx.datasets:
        board = ctx.boards[ds]
        primary = board.attrs["primary"]
        matrix = best_by_group(board, ["size_class", "latency_class"])
        sets.append(
            SetGroups(
                dataset=ds,
                primary=primary,
                label=catalog.label(primary),
                matrix=matrix,
                cells=matrix_cells(board, matrix),
                family=best_by_group(board, "family").to_dict("records"),
            )
        )
    return GroupsView(sets=sets, family_colours=FAMILY_COLOURS)


def markdown(view: GroupsView) -> list[str]:
    md = ["## Comparison groups", ""]
    for s in view.sets:
        if len(s.matrix):
            md += [
                f"### {md_escape(s.dataset)}: best model per size x latency class",
                "",
                markdown_table(s.matrix[["size_class", "latency_class", "best", s.primary, "ci"]]),
                "",
            ]
    return md


HTML = """\
  <h2>Comparison groups</h2>
  <p>The same leaderboards cut by size and latency class (cell: the best model there and its score; hover for how
  many compete), then by family. Read "the best model under 1 M parameters and 40 ms" off the first row.</p>
  {% for s in view.sets %}
  <div class="groupset">
    <h3>{{ s.dataset }} <small>({{ s.label }})</small></h3>
    <div class="groupgrid">
      <table class="matrix">
        <thead><tr><th></th>{% for c in s.cells.cols %}<th>{{ c }}</th>{% endfor %}</tr></thead>
        <tbody>
        {% for r in s.cells.rows %}
          <tr class="{{ r.cls }}"><th>{{ r.label }}</th>
          {% for c in r.cells %}
            {% if c %}<td title="{{ c.n }} model(s) in this cell"><b>{{ c.model }}</b> {{ c.value }}</td>{% else %}<td class="empty">–</td>{% endif %}
          {% endfor %}
          </tr>
        {% endfor %}
        </tbody>
      </table>
      <table class="small">
        <thead><tr><th>family</th><th>best</th><th>{{ s.label }}</th><th>runner-up</th></tr></thead>
        <tbody>
        {% for r in s.family %}
          <tr><td><i class="dot" style="background:{{ view.family_colours.get(r.family, '#777') }}"></i>{{ r.family }}</td><td><b>{{ r.best }}</b></td><td class="num">{{ "%.2f" | format(r[s.primary]) }}<small>{{ r.ci }}</small></td><td>{{ r.runner_up }}</td></tr>
        {% endfor %}
        </tbody>
      </table>
    </div>
  </div>
  {% endfor %}
"""  # noqa: E501

SECTION = Section(id="groups", nav="Comparison groups", build=build, html=HTML, markdown=markdown)

"""The paper-metrics section's agreement table: Spearman's rho across the models of one set between every pair of
metrics (:func:`setoolkit.evaluation.agreement.system_agreement`), as a compact lower-triangular matrix."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ..evaluation.agreement import AGREEMENT_METRICS, EXACT_N, smallest_p, system_agreement
from ..metrics import catalog


def _p_text(p: float, exact: bool) -> str:
    if not np.isfinite(p):
        return ""
    shown = "< 0.001" if p < 0.001 else f"{p:.3f}" if p < 0.01 else f"{p:.2f}"
    return f"p {shown}" + ("" if exact else " (asympt.)")


def agreement_matrix(agree: pd.DataFrame) -> tuple[list[str], dict[tuple[str, str], tuple[str, str]]]:
    """``(metrics, cells)``: the metrics in the order of ``agree`` and ``{(row, col): (rho text, p text)}`` for
    each pair (row after col in that order); rho "–" where it could not be computed."""
    metrics = list(dict.fromkeys([*agree["a"], *agree["b"]]))
    order = {m: i for i, m in enumerate(metrics)}
    cells = {}
    for r in agree.itertuples(index=False):
        row, col = (r.b, r.a) if order[r.b] > order[r.a] else (r.a, r.b)
        cells[(row, col)] = (f"{r.rho:+.2f}" if np.isfinite(r.rho) else "–", _p_text(r.p, bool(r.exact)))
    return metrics, cells


def agreement_html(table: pd.DataFrame, dataset: str) -> tuple[str, int, str] | None:
    """The agreement matrix of ``dataset`` as an HTML table, the number of models it ranks and what that allows
    (``"the smallest possible p is 0.083"`` for 4); ``None`` with fewer than two of
    :data:`~setoolkit.evaluation.agreement.AGREEMENT_METRICS` or fewer than 3 models."""
    agree = system_agreement(table, dataset, AGREEMENT_METRICS)
    if not len(agree) or agree["n"].max() < 3:
        return None
    metrics, cells = agreement_matrix(agree)
    head = "".join(f"<th>{html.escape(catalog.label(m))}</th>" for m in metrics[:-1])
    body = []
    for i, row in enumerate(metrics[1:], start=1):
        tds = []
        for col in metrics[:-1]:
            if metrics.index(col) >= i:
                tds.append("<td class='empty'></td>")
                continue
            rho, p = cells[(row, col)]
            tds.append(f"<td class='num'>{html.escape(rho)}<small>{html.escape(p)}</small></td>")
        body.append(f"<tr><th>{html.escape(catalog.label(row))}</th>{''.join(tds)}</tr>")
    out = f"<table class='small agree'><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    n = int(agree["n"].max())
    floor = smallest_p(n)
    reach = f"the smallest possible p is {floor:.2g}" if n <= EXACT_N else "p is scipy's asymptotic one"
    return out, n, reach

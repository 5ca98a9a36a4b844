"""System-level agreement between metrics: do two metrics rank the models of a set the same way?

Each model's mean of each metric over its unique files of one set (the input and the oracle ceilings left out),
then Spearman's rho between every pair of metrics across models. The sign is aligned with each metric's
direction (:mod:`setoolkit.metrics.catalog`: lower WER is better), so +1 means "the same order of models, best
to worst" whatever the metrics' directions. The p-value is exact for small n (every ordering of the models
enumerated, up to :data:`EXACT_N`; 8! = 40320) and scipy's asymptotic one above: with 4 models the smallest
two-sided p is 2/24 = 0.083, so no pair of metrics can be shown to agree at 0.05 with 4 models or fewer.

Examples
--------
>>> system_agreement(table, "vbd16k", ["pesq_wb", "OVRL", "wer"])
   a     b      n   rho    p      exact
0  pesq_wb  OVRL  4  0.80  0.33   True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations, permutations

import numpy as np
import pandas as pd
from scipy import stats

from ..metrics import catalog
from .paired import BASELINE_PREFIXES, file_key

#: Up to this many models the Spearman p is exact (every permutation of one metric's ranks).
EXACT_N = 8
#: The metrics whose system-level agreement the report shows, where the table has them.
AGREEMENT_METRICS = ("pesq_wb", "estoi", "si_sdr", "OVRL", "nisqa_mos", "wer", "spk_sim")


def spearman_exact_p(x, y) -> float:
    """Two-sided p of Spearman's rho between ``x`` and ``y`` ``(n,)`` by enumerating all ``n!`` orderings of
    ``y``'s ranks (ties as average ranks): the fraction with ``|rho| >= |rho observed|``. Exact, for ``n <=``
    :data:`EXACT_N`; 2/24 = 0.083 for 4 models in the same order."""
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    if rx.size > EXACT_N:
        raise ValueError(f"spearman_exact_p: {rx.size} pairs; enumerating orderings is for n <= {EXACT_N}")
    rx, ry = rx - rx.mean(), ry - ry.mean()
    observed = abs(float(rx @ ry))
    perms = np.array(list(permutations(ry)))
    return float(np.mean(np.abs(perms @ rx) >= observed - 1e-9))


def smallest_p(n: int) -> float:
    """The smallest two-sided exact p of Spearman's rho over ``n`` distinct values: ``2 / n!`` (the two
    orderings with ``|rho| = 1``), 1.0 below 3."""
    return 1.0 if n < 3 else min(1.0, 2.0 / math.factorial(n))


def spearman(x, y) -> tuple[int, float, float, bool]:
    """``(n, rho, p, exact)`` of the finite pairs of ``x`` and ``y`` ``(n,)``: rho and p NaN for fewer than 3
    pairs or a constant side (no ranking to compare); p exact up to :data:`EXACT_N` pairs, scipy's above."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = int(x.size)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return n, float("nan"), float("nan"), n <= EXACT_N
    s = stats.spearmanr(x, y)
    exact = n <= EXACT_N
    return n, float(s.statistic), spearman_exact_p(x, y) if exact else float(s.pvalue), exact


def model_means(table: pd.DataFrame, dataset: str, metrics: Sequence[str]) -> pd.DataFrame:
    """Mean of each of ``metrics`` per competing model of ``dataset`` (rows: models, in table order), each model's
    files counted once; the noisy input and the oracle rows left out."""
    t = table[(table["dataset"] == dataset) & ~table["model"].astype(str).str.startswith(BASELINE_PREFIXES)]
    t = t.assign(file=t["file"].map(file_key)).drop_duplicates(["model", "file"], keep="last")
    return t.groupby("model", sort=False)[list(metrics)].mean()


def system_agreement(table: pd.DataFrame, dataset: str, metrics: Sequence[str] = AGREEMENT_METRICS) -> pd.DataFrame:
    """Spearman's rho across the models of ``dataset`` between every pair of ``metrics`` the table has (a column
    with at least one value on that set), signs aligned with the metrics' directions.

    Returns ``a, b, n, rho, p, exact`` (one row per pair, in ``metrics`` order; ``n``: models with both means).
    """
    t = table[table["dataset"] == dataset]
    present = [m for m in metrics if m in t.columns and t[m].notna().any()]
    means = model_means(table, dataset, present)
    rows = []
    for a, b in combinations(present, 2):
        sa = 1.0 if catalog.higher_is_better(a) else -1.0
        sb = 1.0 if catalog.higher_is_better(b) else -1.0
        n, rho, p, exact = spearman(sa * means[a].to_numpy(float), sb * means[b].to_numpy(float))
        rows.append({"a": a, "b": b, "n": n, "rho": rho, "p": p, "exact": exact})
    return pd.DataFrame(rows, columns=["a", "b", "n", "rho", "p", "exact"])

"""Analysis of listening-test results: screening, scores with CIs, paired tests, agreement with metrics.

All functions take the tidy ratings of :func:`ratings_frame` (one row per listener x stimulus x scale) and
return tidy DataFrames.

* :func:`screen_listeners`: ITU-R BS.1534-3 post-screening (MUSHRA): a listener who rates the hidden
  reference below 90, or the mid-range anchor above 90, in more than 15 % of the items is excluded.
* :func:`system_scores`: per system (and scale) the mean with a 95 % bootstrap CI, resampling listeners
  and items together (both are random samples); for P.835 this is the MOS per scale, for CCR the CMOS
  of each pair (:func:`ccr_scores`).
* :func:`paired_tests`: every pair of systems compared on the (listener, item) cells both were rated in,
  Wilcoxon signed-rank (:func:`scipy.stats.wilcoxon`), p-values Holm-corrected within each scale.
* :func:`metric_agreement`: Pearson and Spearman correlation between the listeners' ratings and each
  metric of the evaluation table, over systems (means over the tested items) and over stimuli; the Spearman p
  is exact (all permutations) up to :data:`setoolkit.evaluation.agreement.EXACT_N` pairs, asymptotic above
  (:func:`setoolkit.evaluation.agreement.spearman`, shared with the report's metric agreement).

Examples
--------
>>> r = ratings_frame(load_results("results", test), test)
>>> kept = r[~r.listener.isin(excluded(screen_listeners(r)))]
>>> system_scores(kept), paired_tests(kept)
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from ..evaluation.agreement import spearman
from .anchors import ANCHORS
from .design import TestDefinition
from .kinds import REFERENCE, test_type
from .kinds.mushra import SCREEN_FRACTION, SCREEN_SCORE, bs1534_screen

#: The controls of a MUSHRA trial (not systems under test).
CONTROLS = (REFERENCE, *ANCHORS)
#: Metrics of the evaluation table compared with the ratings, when present.
AGREEMENT_METRICS = ("SIG", "BAK", "OVRL", "P808_MOS", "distillmos", "pesq_wb", "visqol")

COLUMNS = ["listener", "trial", "dataset", "file", "system", "base", "stimulus", "scale", "rating", "raw", "position"]


def ratings_frame(results: Sequence[dict], test: TestDefinition, *, include_training: bool = False) -> pd.DataFrame:
    """Tidy ratings of ``results`` (result dicts of ``test``).

    Columns: ``listener, trial, dataset, file, system, base, stimulus, scale, rating, raw, position``.
    ``scale``: ``"MUSHRA"``, ``"SIG"``/``"BAK"``/``"OVRL"`` or ``"CMOS"``; ``position``: where the stimulus
    was shown (0 = first). CCR rows have ``system`` = the pair's ``b``, ``base`` = its ``a`` and ``rating``
    = the score of ``b`` against ``a`` (the presented order undone; ``raw`` is the score as given).
    """
    trials = {t.id: t for t in test.trials}
    kind = test_type(test.kind)
    rows = []
    for res in results:
        if res.get("test_id") != test.id:
            raise ValueError(
                f"ratings_frame: result of {res.get('listener')!r} is for test {res.get('test_id')!r}, not {test.id!r}"
            )
        for tid, tr in res.get("trials", {}).items():
            t = trials[tid]
            if (t.training and not include_training) or t.control:
                continue
            base = {"listener": res["listener"], "trial": tid, "dataset": t.dataset, "file": t.file}
            rows += [{**base, **row} for row in kind.rating_rows(t, tr)]
    return pd.DataFrame(rows, columns=COLUMNS)


def screen_listeners(
    ratings: pd.DataFrame, *, score: float = SCREEN_SCORE, fraction: float = SCREEN_FRACTION
) -> pd.DataFrame:
    """BS.1534-3 post-screening of MUSHRA ratings (:func:`.kinds.mushra.bs1534_screen`): an assessor is excluded
    who rates the hidden reference below ``score`` (90) in more than ``fraction`` (15 %) of the items, *or* the
    mid-range anchor above ``score`` in more than ``fraction`` of the items. Other kinds exclude nobody here;
    :func:`screen` applies each test type's own rules."""
    return bs1534_screen(ratings, score=score, fraction=fraction)


def screen(results: Sequence[dict], test: TestDefinition, ratings: pd.DataFrame | None = None) -> pd.DataFrame:
    """Post-screening by the rules of ``test``'s type (MUSHRA: BS.1534-3; P.835: headphone check and
    straight-lining; ACR: P.808's rejection rules; CCR: none): ``listener, excluded, why, ...``."""
    if ratings is None:
        ratings = ratings_frame(results, test)
    return test_type(test.kind).screen(results, test, ratings)


def excluded(screening: pd.DataFrame) -> list[str]:
    """The listeners :func:`screen_listeners` excluded."""
    return list(screening.loc[screening["excluded"], "listener"])


def _boot_ci(matrix: np.ndarray, n_boot: int, rng: np.random.Generator, level: float) -> tuple[float, float]:
    """Percentile CI of the mean of ``matrix`` ``(listeners, items)`` (NaN = not rated), resampling both."""
    n_l, n_i = matrix.shape
    li = rng.integers(0, n_l, size=(n_boot, n_l))
    ii = rng.integers(0, n_i, size=(n_boot, n_i))
    boots = matrix[li[:, :, None], ii[:, None, :]].reshape(n_boot, -1)
    with np.errstate(invalid="ignore"):
        sums, counts = np.nansum(boots, axis=1), np.sum(~np.isnan(boots), axis=1)
        means = sums[counts > 0] / counts[counts > 0]
    if means.size < 2:
        return np.nan, np.nan
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def system_scores(ratings: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Per ``scale``, ``system`` (and ``base`` for CCR): ``n_listeners, n_items, n, mean, lo, hi``.

    ``mean`` is over all ratings; ``lo``/``hi``: percentile bootstrap CI (``level``) resampling listeners
    and items (``dataset``/``file``) with replacement. Sorted by scale, then mean descending.
    """
    rng = np.random.default_rng(seed)
    out = []
    r = ratings.assign(item=ratings["dataset"] + "/" + ratings["file"])
    for (scale, system, base), g in r.groupby(["scale", "system", "base"], sort=True):
        m = g.pivot_table(index="listener", columns="item", values="rating", aggfunc="mean").to_numpy(float)
        lo, hi = _boot_ci(m, n_boot, rng, level)
        out.append(
            {
                "scale": scale,
                "system": system,
                "base": base,
                "n_listeners": m.shape[0],
                "n_items": m.shape[1],
                "n": len(g),
                "mean": float(g["rating"].mean()),
                "lo": lo,
                "hi": hi,
            }
        )
    df = pd.DataFrame(out, columns=["scale", "system", "base", "n_listeners", "n_items", "n", "mean", "lo", "hi"])
    return df.sort_values(["scale", "mean"], ascending=[True, False], ignore_index=True)


def ccr_scores(ratings: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """CMOS per CCR pair: ``a, b, n_listeners, n_items, n, mean, lo, hi`` (``mean`` > 0: ``b`` better)."""
    s = system_scores(ratings[ratings["scale"] == "CMOS"], **kwargs)
    return s.rename(columns={"base": "a", "system": "b"}).drop(columns="scale")[
        ["a", "b", "n_listeners", "n_items", "n", "mean", "lo", "hi"]
    ]


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (same order as ``p``)."""
    pv = np.asarray(p, dtype=float)
    m = pv.size
    order = np.argsort(pv)
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * pv[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def paired_tests(
    ratings: pd.DataFrame, *, systems: Sequence[str] | None = None, alpha: float = 0.05, include_controls: bool = False
) -> pd.DataFrame:
    """Wilcoxon signed-rank test of every pair of systems per scale, Holm-corrected within the scale.

    Pairs are matched on (listener, item) cells. ``systems``: which (default every system but the MUSHRA
    reference and anchors unless ``include_controls``). Returns ``scale, a, b, n, mean_diff`` (a - b)
    ``, statistic, p, p_holm, significant`` (``p_holm < alpha``).
    """
    out = []
    for scale, g in ratings.groupby("scale", sort=True):
        names = (
            list(systems)
            if systems is not None
            else [s for s in dict.fromkeys(g["system"]) if include_controls or s not in CONTROLS]
        )
        cells = g.pivot_table(index=["listener", "dataset", "file"], columns="system", values="rating", aggfunc="mean")
        rows = []
        for a, b in combinations(names, 2):
            if a not in cells or b not in cells:
                continue
            d = (cells[a] - cells[b]).dropna().to_numpy()
            if d.size == 0:
                continue
            if np.all(d == 0):
                stat, p = 0.0, 1.0
            else:
                res = stats.wilcoxon(d)
                stat, p = float(res.statistic), float(res.pvalue)
            rows.append(
                {
                    "scale": scale,
                    "a": a,
                    "b": b,
                    "n": int(d.size),
                    "mean_diff": float(d.mean()),
                    "statistic": stat,
                    "p": p,
                }
            )
        if rows:
            adj = holm([r["p"] for r in rows])
            for r, q in zip(rows, adj):
                out.append({**r, "p_holm": float(q), "significant": bool(q < alpha)})
    return pd.DataFrame(out, columns=["scale", "a", "b", "n", "mean_diff", "statistic", "p", "p_holm", "significant"])


def _corr(x: np.ndarray, y: np.ndarray) -> dict:
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return {"n": int(x.size), "pearson": np.nan, "pearson_p": np.nan, "spearman": np.nan, "spearman_p": np.nan}
    p = stats.pearsonr(x, y)
    n, rho, rho_p, _ = spearman(x, y)  # p exact up to EXACT_N pairs
    return {"n": n, "pearson": float(p.statistic), "pearson_p": float(p.pvalue), "spearman": rho, "spearman_p": rho_p}


def stimulus_metrics(ratings: pd.DataFrame, table: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Mean rating per ``scale, dataset, file, system`` beside each metric of ``table`` for that model and
    file (for CCR the metric of ``system`` minus that of ``base``). Controls, absent from the table, drop."""
    mean = ratings.groupby(["scale", "dataset", "file", "system", "base"], as_index=False)["rating"].mean()
    t = table.rename(columns={"model": "system"})[["dataset", "file", "system", *metrics]]
    t = t.drop_duplicates(["dataset", "file", "system"])
    out = mean.merge(t, on=["dataset", "file", "system"], how="inner")
    ccr = out["base"] != ""
    if ccr.any():
        b = out.loc[ccr, ["dataset", "file", "base"]].merge(
            t.rename(columns={"system": "base"}), on=["dataset", "file", "base"], how="left"
        )
        out.loc[ccr, list(metrics)] = out.loc[ccr, list(metrics)].to_numpy(float) - b[list(metrics)].to_numpy(float)
    return out


def metric_agreement(
    ratings: pd.DataFrame, table: pd.DataFrame, *, metrics: Sequence[str] = AGREEMENT_METRICS
) -> pd.DataFrame:
    """Pearson and Spearman correlation between ratings and each metric of ``table`` present in it.

    ``level="system"``: system means (ratings and metric, over the same tested items); ``level="stimulus"``:
    per (item, system). Returns ``level, scale, metric, n, pearson, pearson_p, spearman, spearman_p``.
    """
    metrics = [m for m in metrics if m in table.columns and table[m].notna().any()]
    cols = ["level", "scale", "metric", "n", "pearson", "pearson_p", "spearman", "spearman_p"]
    if not metrics or not len(ratings):
        return pd.DataFrame(columns=cols)
    per = stimulus_metrics(ratings, table, metrics)
    out = []
    for scale, g in per.groupby("scale", sort=True):
        sys_mean = g.groupby(["system", "base"])[["rating", *metrics]].mean()
        for m in metrics:
            out.append(
                {
                    "level": "system",
                    "scale": scale,
                    "metric": m,
                    **_corr(sys_mean["rating"].to_numpy(float), sys_mean[m].to_numpy(float)),
                }
            )
            out.append(
                {
                    "level": "stimulus",
                    "scale": scale,
                    "metric": m,
                    **_corr(g["rating"].to_numpy(float), g[m].to_numpy(float)),
                }
            )
    return pd.DataFrame(out, columns=cols)

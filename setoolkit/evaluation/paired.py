"""Paired statistics: is model A better than model B on the same files, by how much, and how sure are we?

Two models scored on the same files form pairs (one per unique ``dataset, file`` key: duplicated rows of a model
are collapsed with a warning when they agree and refused when they do not, never joined into a cross product;
files are keyed by their normalised relative path); the question is the mean of the paired
differences ``A - B``, its 95% paired bootstrap interval, a Wilcoxon signed-rank p-value, and an effect size that
does not grow with the number of files (matched-pairs rank-biserial correlation, Cohen's d_z). A leaderboard
compares every model with its leader and corrects the p-values for the number of comparisons (Holm), so a
"tie" means "not significantly different at 0.05 after correction", not "equal". Two models with no common
file are "not compared" (never tied). With 5 pairs or fewer no two-sided exact Wilcoxon p can fall below 0.05
(the smallest is 2 / 2**n: 0.0625 for n = 5), and the sentences say so instead of reading the order as
evidence. Which way is better comes from the metric catalogue (:mod:`setoolkit.metrics.catalog`: lower LSD is
better).

The input is the evaluation table (pandas DataFrame, one row per ``dataset, model, file``, one column per metric,
``model == "noisy"`` the unprocessed input whose ``snr`` column gives each file's SNR band).

Examples
--------
>>> r = compare(table, "my-model", "gtcrn-vctk", "pesq_wb", dataset="vbd16k")
>>> r.difference, r.ci, r.p, r.rank_biserial
>>> versus_best(table, "vbd16k", "pesq_wb", "my-model")      # one plain sentence
"""

from __future__ import annotations

import posixpath
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import MetricError
from ..metrics import catalog
from ..model_refs import table_name

NOISY = "noisy"
#: VoiceBank-DEMAND test set: the nominal SNRs (dB) its noisy files were mixed at (as ``evaluate.VBD_NOMINAL_SNRS``).
NOMINAL_SNRS = (2.5, 7.5, 12.5, 17.5)
#: Rows that are not competitors on a leaderboard: the input itself and the oracle-mask ceilings.
BASELINE_PREFIXES = (NOISY, "oracle-")
ALPHA = 0.05
#: Verdicts of a comparison (:meth:`Comparison.status`) and of a leaderboard row (:func:`leader_ties`).
NOT_COMPARED, TOO_FEW, COMPARED = "not compared", "too few files", "compared"


@dataclass(frozen=True)
class Comparison:
    """``a`` vs ``b`` on ``metric`` over the files both were scored on (``dataset`` or all sets).

    ``difference``: mean of ``a - b`` (metric units); ``ci_low``/``ci_high``: its paired bootstrap interval;
    ``p``: two-sided Wilcoxon signed-rank p (1.0 when every difference is zero); ``rank_biserial``: matched-pairs
    rank-biserial correlation in [-1, 1] (positive: ``a`` higher); ``cohen_dz``: mean / sd of the differences;
    ``n``: pairs used; ``n_dropped``: pairs dropped for a NaN on either side; ``bands``: the same per nominal SNR
    band (``band, n, difference, ci_low, ci_high, p``; empty without noisy rows carrying ``snr``).
    :meth:`status` says whether the pairs could tell the models apart at all (``"not compared"``: no common file;
    ``"too few files"``: 5 pairs or fewer).
    """

    a: str
    b: str
    metric: str
    dataset: str | None
    n: int
    n_dropped: int
    difference: float
    ci_low: float
    ci_high: float
    p: float
    rank_biserial: float
    cohen_dz: float
    bands: pd.DataFrame = field(repr=False, compare=False)

    @property
    def ci(self) -> tuple[float, float]:
        return self.ci_low, self.ci_high

    def status(self, alpha: float = ALPHA) -> str:
        """``"not compared"`` (no common file), ``"too few files"`` (no exact two-sided Wilcoxon p over these
        pairs can fall below ``alpha``: :func:`smallest_p`), else ``"compared"``."""
        if self.n == 0:
            return NOT_COMPARED
        if smallest_p(self.n) >= alpha:
            return TOO_FEW
        return COMPARED

    def significant(self, alpha: float = ALPHA) -> bool:
        """Whether the Wilcoxon p (uncorrected) is below ``alpha``."""
        return bool(self.p < alpha)


def file_key(name) -> str:
    """A file's key in a table: its relative path normalised (``a/sub/../n1.wav`` and ``./a/n1.wav`` are
    ``a/n1.wav``; backslashes read as separators)."""
    return posixpath.normpath(str(name).replace("\\", "/"))


def _spread(values: pd.Series) -> float:
    """Relative spread of one file's duplicated values: 0 when they agree (all NaN included), inf when only
    some are NaN."""
    v = values.to_numpy(float)
    finite = np.isfinite(v)
    if not finite.any():
        return 0.0
    if not finite.all():
        return float("inf")
    return float(np.ptp(v) / max(1.0, np.abs(v).max()))


def unique_rows(table: pd.DataFrame, model: str, metric: str) -> pd.DataFrame:
    """``dataset, file, <metric>`` of ``model``, one row per ``dataset, file`` key (:func:`file_key`).

    Duplicated rows (the same table concatenated twice, a file listed under two spellings) that agree on
    ``metric`` are collapsed to one with a warning; rows that disagree raise :class:`MetricError` naming the model
    and a file, since no pair can be formed from them without choosing one.
    """
    t = table.loc[table["model"] == model, ["dataset", "file", metric]]
    t = t.assign(file=t["file"].map(file_key))
    dup = t.duplicated(["dataset", "file"], keep=False)
    if not dup.any():
        return t
    spread = t[dup].groupby(["dataset", "file"])[metric].agg(_spread)
    bad = spread[spread > 1e-9]
    if len(bad):
        ds, f = bad.index[0]
        shown = ", ".join(f"{v:.4g}" for v in t.loc[(t["dataset"] == ds) & (t["file"] == f), metric])
        raise MetricError(
            f"model {model!r} has {len(bad)} file(s) with different {metric!r} values in duplicated rows "
            f"(e.g. {ds}/{f}: {shown}); keep one row per dataset, model and file "
            "(e.g. table.drop_duplicates(['dataset', 'model', 'file'], keep='last'))"
        )
    warnings.warn(
        f"model {model!r}: {int(dup.sum()) - len(spread)} duplicated row(s) over {len(spread)} file(s) collapsed to "
        f"one pair per file (e.g. {spread.index[0][0]}/{spread.index[0][1]})",
        stacklevel=3,
    )
    return t.drop_duplicates(["dataset", "file"], keep="last")


def paired_values(
    table: pd.DataFrame, a: str, b: str, metric: str, *, dataset: str | None = None
) -> tuple[pd.DataFrame, int]:
    """The pairs of ``a`` and ``b`` on ``metric``: one per ``dataset, file`` key both have (:func:`unique_rows`).

    Returns ``(pairs, n_dropped)``: ``pairs`` has columns ``dataset, file, a, b`` (finite values only) and
    ``n_dropped`` counts the joined pairs dropped because either value was NaN. Raises :class:`MetricError`
    naming the metric or model when the table has no such column, no rows of that model, or duplicated rows
    that disagree.
    """
    if metric not in table.columns:
        raise MetricError(f"metric {metric!r} is not a column of the table; columns: {', '.join(table.columns)}")
    t = table if dataset is None else table[table["dataset"] == dataset]
    for m in (a, b):
        if not (t["model"] == m).any():
            where = f" on dataset {dataset!r}" if dataset is not None else ""
            raise MetricError(f"model {m!r} has no rows{where}; models: {', '.join(map(str, t['model'].unique()))}")
    left = unique_rows(t, a, metric).rename(columns={metric: "a"})
    right = unique_rows(t, b, metric).rename(columns={metric: "b"})
    joined = left.merge(right, on=["dataset", "file"], how="inner", validate="one_to_one")
    ok = np.isfinite(joined["a"].to_numpy(float)) & np.isfinite(joined["b"].to_numpy(float))
    return joined[ok].reset_index(drop=True), int((~ok).sum())


def smallest_p(n: int) -> float:
    """The smallest two-sided p the exact Wilcoxon signed-rank test can give over ``n`` pairs: ``2 / 2**n``
    (every difference of one sign), 1.0 for ``n <= 1``. Below :data:`ALPHA` from ``n = 6`` on (0.03125); 0.0625
    at ``n = 5``, so 5 pairs or fewer cannot separate two models at 0.05, whatever the scores."""
    return 1.0 if n <= 1 else min(1.0, 2.0 / 2.0**n)


def bootstrap_mean_ci(diff, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences ``diff`` ``(n,)``, resampling pairs.

    NaN for fewer than 2 pairs.
    """
    d = np.asarray(diff, dtype=np.float64)
    if d.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def wilcoxon_p(diff) -> float:
    """Two-sided Wilcoxon signed-rank p of paired differences ``diff`` ``(n,)`` (scipy's defaults: zero
    differences dropped). 1.0 when every difference is zero (no evidence of any shift), NaN for no pairs."""
    d = np.asarray(diff, dtype=np.float64)
    if d.size == 0:
        return float("nan")
    if not np.any(d != 0):
        return 1.0
    return float(stats.wilcoxon(d).pvalue)


def rank_biserial(diff) -> float:
    """Matched-pairs rank-biserial correlation (Kerby 2014) of ``diff`` ``(n,)``: ``(R+ - R-) / (R+ + R-)`` with
    ``R+``/``R-`` the sums of the ranks of ``|d|`` over the positive/negative non-zero differences. In [-1, 1];
    0 when every difference is zero, NaN for no pairs."""
    d = np.asarray(diff, dtype=np.float64)
    if d.size == 0:
        return float("nan")
    d = d[d != 0]
    if d.size == 0:
        return 0.0
    ranks = stats.rankdata(np.abs(d))
    return float((ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum())


def cohen_dz(diff) -> float:
    """Cohen's d_z of paired differences ``diff`` ``(n,)``: mean / standard deviation (ddof 1). NaN for fewer
    than 2 pairs or zero spread."""
    d = np.asarray(diff, dtype=np.float64)
    if d.size < 2:
        return float("nan")
    sd = d.std(ddof=1)
    return float(d.mean() / sd) if sd > 0 else float("nan")


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values ``(m,)`` of ``pvalues`` ``(m,)``, in the input order.

    Sorted ascending, the k-th smallest (k = 0..m-1) becomes ``max_{j<=k} min(1, (m - j) p_(j))``; NaNs stay
    NaN and do not count in ``m``. Reject at ``alpha`` where the adjusted p is below ``alpha``.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    order = idx[np.argsort(p[idx], kind="stable")]
    m = order.size
    adjusted = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adjusted) if m else adjusted
    return out


def snr_band(snr, nominal=NOMINAL_SNRS) -> np.ndarray:
    """The nominal SNR (dB) nearest to each measured ``snr`` (dB) ``(n,)`` -> ``(n,)``."""
    nominal = np.asarray(nominal, dtype=np.float64)
    s = np.asarray(snr, dtype=np.float64).reshape(-1)
    return nominal[np.abs(s[:, None] - nominal[None]).argmin(axis=1)]


def _band_table(table: pd.DataFrame, pairs: pd.DataFrame, *, n_boot: int, seed: int) -> pd.DataFrame:
    columns = ["band", "n", "difference", "ci_low", "ci_high", "p"]
    if "snr" not in table.columns or not len(pairs):
        return pd.DataFrame(columns=columns)
    base = table.loc[(table["model"] == NOISY) & table["snr"].notna(), ["dataset", "file", "snr"]]
    base = base.assign(file=base["file"].map(file_key)).drop_duplicates(["dataset", "file"], keep="last")
    merged = pairs.merge(base, on=["dataset", "file"], how="inner")
    if not len(merged):
        return pd.DataFrame(columns=columns)
    merged = merged.assign(band=snr_band(merged["snr"]))
    rows = []
    for band, g in merged.groupby("band", sort=True):
        d = (g["a"] - g["b"]).to_numpy(float)
        lo, hi = bootstrap_mean_ci(d, n_boot=n_boot, seed=seed)
        rows.append(
            {
                "band": float(band),
                "n": len(d),
                "difference": float(d.mean()),
                "ci_low": lo,
                "ci_high": hi,
                "p": wilcoxon_p(d),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def compare(
    table: pd.DataFrame,
    a: str,
    b: str,
    metric: str,
    *,
    dataset: str | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> Comparison:
    """``a`` vs ``b`` on ``metric`` over the same files (``dataset``, or every set both were run on).

    Returns a :class:`Comparison`: mean difference ``a - b`` with its paired bootstrap interval (``level``,
    ``n_boot`` resamples, ``seed``), Wilcoxon signed-rank p, rank-biserial and d_z effect sizes, pair counts and
    the per-SNR-band breakdown.

    Examples
    --------
    >>> compare(table, "gtcrn-vctk", "noisy", "pesq_wb", dataset="vbd16k").difference
    0.77
    """
    a, b = (table_name(table["model"], m, strict=False) for m in (a, b))  # a spec as written names its model
    pairs, dropped = paired_values(table, a, b, metric, dataset=dataset)
    d = (pairs["a"] - pairs["b"]).to_numpy(float)
    lo, hi = bootstrap_mean_ci(d, n_boot=n_boot, seed=seed, level=level)
    return Comparison(
        a=a,
        b=b,
        metric=metric,
        dataset=dataset,
        n=int(d.size),
        n_dropped=dropped,
        difference=float(d.mean()) if d.size else float("nan"),
        ci_low=lo,
        ci_high=hi,
        p=wilcoxon_p(d),
        rank_biserial=rank_biserial(d),
        cohen_dz=cohen_dz(d),
        bands=_band_table(table, pairs, n_boot=n_boot, seed=seed),
    )


def _competitors(table: pd.DataFrame, dataset: str, metric: str) -> pd.Series:
    """Mean ``metric`` per competing model of ``dataset`` over its unique files (baselines and all-NaN models
    left out)."""
    t = table[table["dataset"] == dataset]
    if not len(t):
        known = ", ".join(map(str, table["dataset"].unique()))
        raise MetricError(f"dataset {dataset!r} has no rows; datasets: {known}")
    if metric not in t.columns:
        raise MetricError(f"metric {metric!r} is not a column of the table")
    t = t[~t["model"].astype(str).str.startswith(BASELINE_PREFIXES)]
    t = t.assign(file=t["file"].map(file_key)).drop_duplicates(["model", "file"], keep="last")
    return t.groupby("model", sort=False)[metric].mean().dropna()


def _direction(metric: str, higher_is_better: bool | None) -> bool:
    return catalog.higher_is_better(metric) if higher_is_better is None else bool(higher_is_better)


def leader_ties(
    table: pd.DataFrame,
    dataset: str,
    metric: str,
    higher_is_better: bool | None = None,
    *,
    alpha: float = ALPHA,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Every model of the ``dataset`` leaderboard on ``metric`` against its leader.

    The leader has the best mean (highest, or lowest where lower is better: ``higher_is_better``, by default the
    metric's direction in :mod:`setoolkit.metrics.catalog`); each other model is compared with it on their common
    files (:func:`compare`, ``model - leader``) and the Wilcoxon p-values are Holm-corrected across the models
    compared. ``status``: ``"leader"``, ``"different"`` (significantly, after correction), ``"tied"``,
    ``"too few files"`` (5 pairs or fewer: no p can reach ``alpha``, so nothing is separated) or
    ``"not compared"`` (no common file: no test, no p). ``tied``: not separated from the leader, i.e. status
    ``tied`` or ``too few files`` (the leader itself is tied; a model not compared is never tied). The ``noisy``
    input and ``oracle-*`` rows are not competitors. Returns ``model, mean, n, difference, ci_low, ci_high, p,
    p_holm, rank_biserial, status, tied, leader``, best mean first.
    """
    higher = _direction(metric, higher_is_better)
    means = _competitors(table, dataset, metric).sort_values(ascending=not higher)
    if not len(means):
        raise MetricError(f"no model has {metric!r} values on dataset {dataset!r}")
    leader = str(means.index[0])
    own = unique_rows(table[table["dataset"] == dataset], leader, metric)
    rows = [
        {
            "model": leader,
            "mean": float(means.iloc[0]),
            "n": int(own[metric].notna().sum()),
            "difference": 0.0,
            "ci_low": 0.0,
            "ci_high": 0.0,
            "p": float("nan"),
            "rank_biserial": 0.0,
            "status": "leader",
        }
    ]
    for model, mean in means.iloc[1:].items():
        c = compare(table, str(model), leader, metric, dataset=dataset, n_boot=n_boot, seed=seed)
        rows.append(
            {
                "model": str(model),
                "mean": float(mean),
                "n": c.n,
                "difference": c.difference,
                "ci_low": c.ci_low,
                "ci_high": c.ci_high,
                "p": c.p,
                "rank_biserial": c.rank_biserial,
                "status": c.status(alpha),
            }
        )
    out = pd.DataFrame(rows)
    out.insert(out.columns.get_loc("p") + 1, "p_holm", holm(out["p"]))
    compared = out["status"] == COMPARED
    out.loc[compared, "status"] = np.where(out.loc[compared, "p_holm"] < alpha, "different", "tied")
    out["tied"] = out["status"].isin(["leader", "tied", TOO_FEW])
    out["leader"] = out["model"] == leader
    return out


def _names(models: list[str]) -> str:
    return models[0] if len(models) == 1 else ", ".join(models[:-1]) + " and " + models[-1]


def _versus(c: Comparison, p_holm: float, m: int, alpha: float) -> str:
    """The difference to one model in words: value, interval, p, n, and why the interval and the test seem to
    disagree when they do (``m``: the comparisons the Holm correction counts)."""
    status = c.status(alpha)
    if status == NOT_COMPARED:
        return "they were run on no common file"
    ci = f"95% CI {c.ci_low:+.3g} to {c.ci_high:+.3g}"
    if status == TOO_FEW:
        return (
            f"{c.difference:+.3g} ({ci}, p = {c.p:.2g}, n = {c.n}); {c.n} file{'s are' if c.n != 1 else ' is'} too "
            f"few to separate any two models (the smallest possible exact Wilcoxon p is {smallest_p(c.n):.3g}), "
            "and a bootstrap interval over so few files is no evidence either"
        )
    text = f"{c.difference:+.3g} ({ci}, Holm p = {p_holm:.2g}, n = {c.n})"
    excludes_zero = np.isfinite(c.ci_low) and (c.ci_low > 0 or c.ci_high < 0)
    if excludes_zero and not p_holm < alpha:
        test = f"the Wilcoxon test, Holm-corrected for {m} comparisons," if m > 1 else "the exact Wilcoxon test"
        text += (
            f"; the bootstrap interval excludes zero but {test} does not reach {alpha:g} "
            f"(over {c.n} files its smallest possible p is {smallest_p(c.n):.2g}): not separated"
        )
    return text


def versus_best(
    table: pd.DataFrame,
    dataset: str,
    metric: str,
    model: str,
    higher_is_better: bool | None = None,
    *,
    alpha: float = ALPHA,
    n_boot: int = 2000,
    seed: int = 0,
) -> str:
    """One plain sentence: ``model`` against the best model of the ``dataset`` leaderboard on ``metric``, naming
    the models it is significantly better and worse than (Wilcoxon, Holm-corrected across its comparisons with
    every other competitor it shares files with, ``alpha``), the difference to the best with its 95% interval,
    and the models it could not be compared with (no common file) or not separated from for want of files
    (5 pairs or fewer). Better is the metric's direction (:mod:`setoolkit.metrics.catalog`) unless
    ``higher_is_better`` says otherwise.

    Examples
    --------
    >>> versus_best(table, "vbd16k", "pesq_wb", "my-model")
    'On vbd16k, my-model (pesq_wb 2.91) is significantly worse than the best, gtcrn-vctk (3.05): -0.14 ...'
    """
    higher = _direction(metric, higher_is_better)
    means = _competitors(table, dataset, metric)
    if model not in means.index and model not in set(table["model"]):
        model = table_name(table["model"], model, strict=False)  # a spec as written: its model's name
    if model not in means.index:
        raise MetricError(f"model {model!r} has no {metric!r} values on dataset {dataset!r}")
    best = str(means.idxmax() if higher else means.idxmin())
    others = [str(m) for m in means.index if m != model]
    comps = [compare(table, model, m, metric, dataset=dataset, n_boot=n_boot, seed=seed) for m in others]
    p_holm = holm([c.p if c.status(alpha) == COMPARED else np.nan for c in comps])
    status = {c.b: c.status(alpha) for c in comps}
    sign = 1 if higher else -1
    better = [c.b for c, p in zip(comps, p_holm) if p < alpha and sign * c.difference > 0]
    worse = [c.b for c, p in zip(comps, p_holm) if p < alpha and sign * c.difference < 0]
    tied = [c.b for c, p in zip(comps, p_holm) if status[c.b] == COMPARED and not p < alpha]
    few = [b for b, st in status.items() if st == TOO_FEW]
    apart = [b for b, st in status.items() if st == NOT_COMPARED]
    direction = "" if higher else ", lower is better"
    head = f"On {dataset}, {model} ({metric} {means[model]:.3g}{direction}"
    m = int(np.isfinite(p_holm).sum())
    if best == model:
        text = head + ") has the best mean"
    else:
        i = others.index(best)
        c = comps[i]
        verdict = {
            NOT_COMPARED: "not compared with",
            TOO_FEW: "not separated from",
        }.get(status[best], "significantly worse than" if best in worse else "not significantly different from")
        text = f"{head}) is {verdict} the best, {best} ({means[best]:.3g}): {_versus(c, p_holm[i], m, alpha)}"
    parts = []
    if better:
        parts.append(f"significantly better than {_names(better)}")
    rest_worse = [x for x in worse if x != best]
    if rest_worse:
        parts.append(f"significantly worse than {_names(rest_worse)}")
    rest_tied = [x for x in tied if x != best]
    if not better and not worse and not few and not apart and tied:
        parts.append("no significant difference from any other model")
    elif rest_tied:
        parts.append(f"not significantly different from {_names(rest_tied)}")
    rest_few = [x for x in few if x != best]
    if rest_few:
        parts.append(f"too few common files to separate it from {_names(rest_few)}")
    rest_apart = [x for x in apart if x != best]
    if rest_apart:
        parts.append(f"not compared with {_names(rest_apart)} (no common file)")
    if not parts:
        return text + "."
    return text + "; " + "; ".join(parts) + f" (Wilcoxon, Holm-corrected, alpha {alpha:g})."

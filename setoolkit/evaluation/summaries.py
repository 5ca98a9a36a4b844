"""Summaries of an evaluation table: means with bootstrap CIs, paired improvement over the noisy input, SNR bands."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..metrics import registry as metric_registry
from .task import NOISY

#: VoiceBank-DEMAND test set: the four nominal SNRs (dB) its noisy files were mixed at.
VBD_NOMINAL_SNRS = (2.5, 7.5, 12.5, 17.5)


def bootstrap_ci(values, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``values`` (NaNs dropped)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


#: The columns :func:`summarize` summarises by default: setoolkit's own metrics whose record says ``summary=True``
#: (PESQ-NB, SNR, segmental SNR and LSD are computed but left out of the summaries by default).
SUMMARY_METRICS = tuple(c for m in metric_registry.builtin() if m.summary for c in m.columns)


def summary_columns() -> tuple[str, ...]:
    """:data:`SUMMARY_METRICS` and the summarised columns of every metric registered since (plug-ins, specs)."""
    return tuple(dict.fromkeys(c for m in metric_registry.registered() if m.summary for c in m.columns))


def summarize(table, metrics: Sequence[str] | None = None, *, n_boot: int = 1000, seed: int = 0):
    """Per (dataset, model): ``n``, each metric's mean with a 95% bootstrap CI (``_lo``/``_hi``), the mean RTF,
    and the paired improvement over the noisy input (``delta_<metric>``, with its CI). ``metrics``: columns to
    summarise (default :func:`summary_columns`: every registered metric's, where the table has them)."""
    import pandas as pd

    metrics = summary_columns() if metrics is None else metrics
    metrics = [m for m in metrics if m in table.columns and table[m].notna().any()]
    rows = []
    for (ds, model), g in table.groupby(["dataset", "model"], sort=False):
        base = table[(table.dataset == ds) & (table.model == NOISY)].set_index("file")
        row = {"dataset": ds, "model": model, "n": len(g), "rtf": float(g["rtf"].mean())}
        gi = g.set_index("file")
        for m in metrics:
            row[m] = float(gi[m].mean())
            row[f"{m}_lo"], row[f"{m}_hi"] = bootstrap_ci(gi[m], n_boot=n_boot, seed=seed)
            if model != NOISY and m in base:
                diff = (gi[m] - base[m].reindex(gi.index)).to_numpy()
                row[f"delta_{m}"] = float(np.nanmean(diff)) if np.isfinite(diff).any() else float("nan")
                row[f"delta_{m}_lo"], row[f"delta_{m}_hi"] = bootstrap_ci(diff, n_boot=n_boot, seed=seed)
        rows.append(row)
    return pd.DataFrame(rows)


def snr_bands(
    table, metrics: Sequence[str] = ("pesq_wb", "stoi", "si_sdr"), *, nominal: Sequence[float] = VBD_NOMINAL_SNRS
):
    """Per-SNR-band means for a paired set: each file goes to the nominal SNR nearest to the measured SNR of
    its noisy input against its clean reference. Returns ``dataset, band, model, n, <metrics>``."""
    import pandas as pd

    if "snr" not in table.columns:
        return pd.DataFrame()
    base = table[(table.model == NOISY) & table["snr"].notna()][["dataset", "file", "snr"]]
    bands = np.asarray(nominal)
    base = base.assign(band=bands[np.abs(base["snr"].to_numpy()[:, None] - bands[None]).argmin(axis=1)])
    merged = table.merge(base[["dataset", "file", "band"]], on=["dataset", "file"])
    metrics = [m for m in metrics if m in merged.columns]
    out = merged.groupby(["dataset", "band", "model"], sort=True)[metrics].mean()
    out.insert(0, "n", merged.groupby(["dataset", "band", "model"], sort=True).size())
    return out.reset_index()

"""Published vs measured under the paper's protocol: each number a model's paper or official page publishes (the
cards' ``published``, plus the noisy input's own published baseline) beside setoolkit's measurement of the same
model under the same condition (test set, sample rate, metric variant), only where that set was run.

The VoiceBank-DEMAND test set mixes its 824 pairs at four nominal SNRs (2.5, 7.5, 12.5, 17.5 dB) in about equal
quarters; a subset (vbd16k: 44 pairs, most near 2.5 dB) does not, so its raw mean sits below the paper's. Beside
the raw mean each row therefore has an SNR-standardised mean: every pair's input SNR (the noisy row's ``snr``)
banded to the nearest nominal SNR, the band means weighted to the full test set's equal quarters, with a
stratified bootstrap interval. The noisy input's row shows how far the subset's own baseline sits from the
published one, and each model's gain over noisy (measured on the same files) sits beside the paper's gain.

Examples
--------
>>> t = published_vs_measured(table)       # table: the per-file evaluation table (with the noisy rows' snr)
>>> t[["model", "condition", "set", "published", "measured", "standardised", "difference"]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..evaluation.paired import NOISY, NOMINAL_SNRS, file_key, snr_band
from ..metrics import catalog
from ..registry import CARDS, Published


@dataclass(frozen=True)
class Condition:
    """A published test condition: its readable ``name``, the setoolkit ``sets`` measuring it by the rate the
    model ran at (key ``None``: any rate), and the nominal SNR ``bands`` its full test set holds in equal shares
    (empty: no standardisation)."""

    name: str
    sets: dict[int | None, str]
    bands: tuple[float, ...] = ()


#: Published dataset name -> its condition.
CONDITIONS = {
    "vbd": Condition("VoiceBank-DEMAND test (824 pairs)", {16000: "vbd16k", 48000: "vbd48k"}, NOMINAL_SNRS),
    "dns3_blind": Condition("DNS Challenge 3 blind test", {None: "dns3_blind"}),
    "dns_2020_synthetic_noreverb": Condition("DNS Challenge 2020 synthetic test, no reverb", {}),
}

_SEGAN = "Pascual et al., SEGAN, Interspeech 2017, Table 1 'Noisy' (the row later VoiceBank-DEMAND papers reprint)"
_REPRO = (
    "the noisy row of the full 824-pair test set as reproductions print it (e.g. the MFNet reproduction "
    "README: PESQ 1.98, STOI 92.11, SI-SNR 8.447)"
)
#: The noisy input's published numbers: the baseline a gap in the data shows against.
BASELINES = (
    *(
        Published("vbd", m, v, _SEGAN, "the unprocessed noisy input")
        for m, v in (("pesq_wb", 1.97), ("csig", 3.35), ("cbak", 2.44), ("covl", 2.63))
    ),
    Published("vbd", "stoi", 0.921, _REPRO, "the unprocessed noisy input; secondary source"),
    Published("vbd", "si_sdr", 8.45, _REPRO, "the unprocessed noisy input; SI-SNR; secondary source", variant="SI-SNR"),
)

#: What a reader must know about a set beyond its SNR mix (:func:`set_caveat` adds that from the data).
SET_NOTES = {
    "vbd16k": "16 kHz copies of the test pairs: a 48 kHz model sees input band-limited to 8 kHz",
    "vbd48k": "the test pairs at their original 48 kHz",
    "dns3_blind": "a subset of the 600-clip blind set; DNSMOS as setoolkit computes it (P.835 non-personalised, P.808)",
}

#: How papers compute a metric, where setoolkit's column name does not say it.
VARIANTS = {
    "pesq_wb": "PESQ-WB (P.862.2)",
    "stoi": "STOI (classic)",
    "OVRL": "DNSMOS P.835 OVRL",
    "SIG": "DNSMOS P.835 SIG",
    "BAK": "DNSMOS P.835 BAK",
    "P808_MOS": "DNSMOS P.808",
}

COLUMNS = [
    "model",
    "dataset",
    "condition",
    "rate",
    "metric",
    "published",
    "set",
    "n",
    "measured",
    "standardised",
    "standardised_lo",
    "standardised_hi",
    "difference",
    "published_gain",
    "measured_gain",
    "official",
    "citation",
    "note",
]


def snr_standardised_mean(
    values, snr, *, bands=NOMINAL_SNRS, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """The mean of ``values`` ``(n,)`` as if their inputs' SNRs ``snr`` ``(n,)`` (dB) filled ``bands`` in equal
    shares: each value goes to its nearest band, the band means are averaged with equal weights. Returns
    ``(mean, ci_low, ci_high)``: the interval from a bootstrap that resamples within each band (``n_boot``,
    ``level``). The mean is NaN when a band has no finite value; the interval is NaN when a band has fewer
    than 2.

    Examples
    --------
    >>> snr_standardised_mean([1.0, 1.2, 2.0, 3.0, 4.0], [2, 3, 8, 12, 17])[0]     # (1.1 + 2 + 3 + 4) / 4
    2.525
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    s = np.asarray(snr, dtype=np.float64).reshape(-1)
    ok = np.isfinite(v) & np.isfinite(s)
    if not ok.any():
        return math.nan, math.nan, math.nan
    band = snr_band(s[ok], bands)
    groups = [v[ok][band == b] for b in bands]
    if any(g.size == 0 for g in groups):
        return math.nan, math.nan, math.nan
    mean = float(np.mean([g.mean() for g in groups]))
    if any(g.size < 2 for g in groups):
        return mean, math.nan, math.nan
    rng = np.random.default_rng(seed)
    boots = np.mean([g[rng.integers(0, g.size, size=(n_boot, g.size))].mean(axis=1) for g in groups], axis=0)
    tail = (1 - level) / 2
    return mean, float(np.quantile(boots, tail)), float(np.quantile(boots, 1 - tail))


def band_counts(table, dataset: str, bands=NOMINAL_SNRS) -> dict[float, int]:
    """Files per nominal SNR band of ``dataset`` (from the noisy rows' ``snr``); ``{}`` without them."""
    if "snr" not in table.columns:
        return {}
    noisy = _rows(table, dataset, NOISY, "snr")
    s = noisy["snr"].to_numpy(float)
    s = s[np.isfinite(s)]
    if not s.size:
        return {}
    band = snr_band(s, bands)
    return {float(b): int((band == b).sum()) for b in bands}


def _rows(table, dataset: str, model: str, metric: str) -> pd.DataFrame:
    """``file, <metric>`` of one model on one set, one row per file."""
    t = table.loc[(table["dataset"] == dataset) & (table["model"] == model), ["file", metric]]
    return t.assign(file=t["file"].map(file_key)).drop_duplicates("file", keep="last")


def _sets(p: Published, model: str) -> list[tuple[str, int | None]]:
    """The setoolkit sets (with the rate they stand for) that measure ``p``'s condition for ``model``."""
    cond = CONDITIONS.get(p.dataset)
    if cond is None:
        return []
    if None in cond.sets:
        return [(cond.sets[None], None)]
    rate = p.rate if p.rate is not None else (CARDS[model].sample_rate if model in CARDS else None)
    if rate is None:  # the noisy input: every rate of the condition
        return [(s, r) for r, s in cond.sets.items()]
    return [(cond.sets[rate], rate)] if rate in cond.sets else []


def condition_text(p: Published, rate: int | None) -> str:
    """``"VoiceBank-DEMAND test (824 pairs), 48 kHz, PESQ-WB (P.862.2)"``: set, rate and metric variant."""
    cond = CONDITIONS.get(p.dataset)
    parts = [cond.name if cond else p.dataset]
    if rate is not None:
        parts.append(f"{rate / 1000:g} kHz")
    parts.append(p.variant or VARIANTS.get(p.metric, catalog.label(p.metric)))
    return ", ".join(parts)


def _measure(table, p: Published, model: str, ds: str, *, n_boot: int, seed: int) -> dict | None:
    """The measurement of ``model`` on ``ds`` matching ``p``; ``None`` when the set was not run for it."""
    if p.metric not in table.columns:
        return None
    own = _rows(table, ds, model, p.metric)
    own = own[np.isfinite(own[p.metric].to_numpy(float))]
    if not len(own):
        return None
    out = {"n": len(own), "measured": float(own[p.metric].mean())}
    bands = CONDITIONS[p.dataset].bands
    std = (math.nan, math.nan, math.nan)
    if bands and "snr" in table.columns:
        snr = _rows(table, ds, NOISY, "snr").set_index("file")["snr"]
        std = snr_standardised_mean(
            own[p.metric], snr.reindex(own["file"]).to_numpy(float), bands=bands, n_boot=n_boot, seed=seed
        )
    out["standardised"], out["standardised_lo"], out["standardised_hi"] = std
    gain = math.nan
    if model != NOISY:
        base = _rows(table, ds, NOISY, p.metric).set_index("file")[p.metric]
        d = own[p.metric].to_numpy(float) - base.reindex(own["file"]).to_numpy(float)
        gain = float(np.nanmean(d)) if np.isfinite(d).any() else math.nan
    out["measured_gain"] = gain
    return out


def published_vs_measured(table, *, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per published number that has a matching run in ``table``: :data:`COLUMNS`.

    ``table``: the per-file evaluation table (:func:`setoolkit.evaluation.evaluate`; the noisy rows' ``snr``
    column feeds the standardisation). A card's number is matched with the set of its condition at the rate the
    model was run at (:attr:`~setoolkit.registry.Published.rate`, default the card's rate): DeepFilterNet3's
    48 kHz VoiceBank-DEMAND number with ``vbd48k``, never ``vbd16k``. The noisy input's :data:`BASELINES`
    match every set of their condition. Numbers whose set was not run (or models not run) have no row.
    ``measured``: the raw mean over the set's files; ``standardised`` with ``_lo``/``_hi``:
    :func:`snr_standardised_mean` (NaN where the set lacks a band or has no ``snr``); ``difference``: the
    standardised mean (or the raw one where there is none) minus the published number; ``published_gain``: the
    published number minus the noisy input's published baseline; ``measured_gain``: the mean paired gain over
    the noisy input on the same files.
    """
    baseline = {(p.dataset, p.metric): p.value for p in BASELINES}
    records = [(NOISY, p) for p in BASELINES] + [(name, p) for name, c in CARDS.items() for p in c.published]
    rows = []
    for model, p in records:
        for ds, rate in _sets(p, model):
            m = _measure(table, p, model, ds, n_boot=n_boot, seed=seed)
            if m is None:
                continue
            ref = m["standardised"] if np.isfinite(m["standardised"]) else m["measured"]
            base = baseline.get((p.dataset, p.metric))
            rows.append(
                {
                    "model": model,
                    "dataset": p.dataset,
                    "condition": condition_text(p, rate),
                    "rate": rate,
                    "metric": p.metric,
                    "published": p.value,
                    "set": ds,
                    **m,
                    "difference": ref - p.value,
                    "published_gain": p.value - base if base is not None and model != NOISY else math.nan,
                    "official": p.official,
                    "citation": p.citation,
                    "note": p.note,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def set_caveat(table, dataset: str) -> str:
    """What a reader must know before comparing ``dataset``'s numbers with a paper's: its size, its input-SNR
    mix against the full test set's equal quarters (from the noisy rows' ``snr``), and :data:`SET_NOTES`."""
    parts = [SET_NOTES[dataset]] if dataset in SET_NOTES else []
    bands = next((c.bands for c in CONDITIONS.values() if dataset in c.sets.values()), ())
    counts = band_counts(table, dataset, bands) if bands else {}
    if counts:
        mix = "/".join(str(v) for v in counts.values())
        names = "/".join(f"{b:g}" for b in counts)
        text = (
            f"{sum(counts.values())} pairs; input SNR bands {names} dB hold {mix} (the full test set: a quarter each)"
        )
        missing = [f"{b:g} dB" for b, v in counts.items() if v == 0]
        if missing:
            text += f"; no file in {', '.join(missing)}, so no SNR-standardised mean"
        else:
            text += ": the standardised mean weighs each band a quarter"
        parts.append(text)
    return "; ".join(parts)

"""Published vs measured: the numbers each model's paper or official page publishes (the cards' ``published``)
beside setoolkit's measurement of the same model on the same kind of data, with the caveats that decide
whether a difference means anything.
"""

from __future__ import annotations

import math

from ..registry import CARDS

#: Published dataset name -> the setoolkit set measuring the same distribution.
MEASURED_ON = {"vbd": "vbd16k", "dns3_blind": "dns3_blind"}

#: What a reader must know before comparing, per setoolkit set.
CAVEATS = {
    "vbd16k": "44 of the 824 VoiceBank-DEMAND test pairs, weighted to the low-SNR bands (2.5 and 7.5 dB): "
    "the mean sits below a full-test-set mean; compare per SNR band",
    "dns3_blind": "the DNS3 blind recordings in the mirror are a subset of the 600-clip blind set; DNSMOS as "
    "setoolkit computes it (P.835 non-personalised, P.808)",
}


def published_vs_measured(summary, bands=None):
    """One row per published number: ``model, dataset, metric, published, measured, n, difference, set, caveat,
    official, citation, note``.

    ``summary``: :func:`setoolkit.evaluation.summarize` of an evaluation table (``dataset, model, n, <metric>``);
    ``bands``: optional :func:`setoolkit.evaluation.snr_bands` table, adding ``measured_<band>dB`` columns for the
    VoiceBank-DEMAND rows. ``measured`` is NaN where setoolkit has no such set or did not run the model.
    Returns a pandas DataFrame.
    """
    import pandas as pd

    rows = []
    for name, c in CARDS.items():
        for p in c.published:
            ds = MEASURED_ON.get(p.dataset)
            row = {
                "model": name,
                "dataset": p.dataset,
                "metric": p.metric,
                "published": p.value,
                "measured": math.nan,
                "n": 0,
                "set": ds or "",
                "official": p.official,
                "caveat": CAVEATS.get(ds, "no setoolkit set measures this distribution"),
                "citation": p.citation,
                "note": p.note,
            }
            hit = summary[(summary["dataset"] == ds) & (summary["model"] == name)] if ds else summary.iloc[:0]
            if len(hit) and p.metric in hit.columns:
                row["measured"], row["n"] = float(hit[p.metric].iloc[0]), int(hit["n"].iloc[0])
            if bands is not None and len(bands) and ds and p.metric in bands.columns:
                for _, b in bands[(bands["dataset"] == ds) & (bands["model"] == name)].iterrows():
                    row[f"measured_{b['band']:g}dB"] = float(b[p.metric])
            rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table.insert(table.columns.get_loc("n") + 1, "difference", table["measured"] - table["published"])
    return table

"""Published vs measured: every card's published numbers meet setoolkit's measurement on the matching set."""

import math

import pandas as pd

from setoolkit.registry import CARDS
from setoolkit.studies.published import published_vs_measured


def test_published_rows_meet_the_matching_measurement():
    summary = pd.DataFrame(
        [
            {"dataset": "vbd16k", "model": "gtcrn-vctk", "n": 44, "pesq_wb": 2.5, "stoi": 0.9, "si_sdr": 17.0},
            {"dataset": "dns3_blind", "model": "gtcrn", "n": 20, "OVRL": 2.9},
        ]
    )
    bands = pd.DataFrame([{"dataset": "vbd16k", "band": 2.5, "model": "gtcrn-vctk", "n": 11, "pesq_wb": 2.0}])
    t = published_vs_measured(summary, bands)
    assert len(t) == sum(len(c.published) for c in CARDS.values()) >= 20
    row = t[(t.model == "gtcrn-vctk") & (t.metric == "pesq_wb")].iloc[0]
    assert (row.published, row.measured, row.n, row.set) == (2.87, 2.5, 44, "vbd16k")
    assert math.isclose(row.difference, 2.5 - 2.87) and row["measured_2.5dB"] == 2.0
    assert "44 of the 824" in row.caveat and "SNR band" in row.caveat
    ovrl = t[(t.model == "gtcrn") & (t.metric == "OVRL")].iloc[0]
    assert ovrl.measured == 2.9 and ovrl.official
    dtln = t[t.model == "dtln"]
    assert dtln.measured.isna().all() and (dtln.caveat == "no setoolkit set measures this distribution").all()
    assert not t[t.model == "rnnoise"].official.any()  # numbers measured by other authors are marked

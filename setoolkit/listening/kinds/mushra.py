"""MUSHRA (ITU-R BS.1534-3): per item one trial with the open reference and, blind, the hidden reference, the
3.5 kHz low anchor, the 7 kHz mid anchor, the noisy input and each system, each rated 0-100.

The page enforces BS.1534-3's instructions before Save: every signal played and rated, at least one at 100
(``rules["require_max"]``, on by default)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..anchors import ANCHORS
from .base import NOISY, REFERENCE, TestType, is_number, register

#: The mid-range anchor of BS.1534-3 (the reference low-passed at 7 kHz).
MID_ANCHOR = "anchor_7k"
#: BS.1534-3 post-screening: hidden reference below (or mid anchor above) this score ...
SCREEN_SCORE = 90.0
#: ... in more than this fraction of a listener's items excludes the listener.
SCREEN_FRACTION = 0.15


def bs1534_screen(
    ratings: pd.DataFrame, *, score: float = SCREEN_SCORE, fraction: float = SCREEN_FRACTION
) -> pd.DataFrame:
    """BS.1534-3 post-screening of MUSHRA ``ratings`` (:func:`..analysis.ratings_frame`): an assessor is
    excluded who rates the hidden reference below ``score`` (90) in more than ``fraction`` (15 %) of the items,
    *or* the mid-range anchor (7 kHz) above ``score`` in more than ``fraction`` of the items.

    Returns ``listener, trials, below, fraction, anchor_above, anchor_fraction, excluded, why``.
    """
    listeners = sorted(ratings["listener"].unique())
    mushra = ratings[ratings["scale"] == "MUSHRA"]
    ref = mushra[mushra["system"] == REFERENCE]
    mid = mushra[mushra["system"] == MID_ANCHOR]

    def count(df):
        return df.groupby("listener")["trial"].nunique().reindex(listeners, fill_value=0)

    trials = count(ref)
    below, above = count(ref[ref["rating"] < score]), count(mid[mid["rating"] > score])
    frac = (below / trials.replace(0, np.nan)).fillna(0.0)
    afrac = (above / count(mid).replace(0, np.nan)).fillna(0.0)
    why = [
        "; ".join(
            w
            for w, bad in (
                (f"hidden reference below {score:g} in {f:.0%} of items", f > fraction),
                (f"mid anchor above {score:g} in {g:.0%} of items", g > fraction),
            )
            if bad
        )
        for f, g in zip(frac, afrac)
    ]
    return pd.DataFrame(
        {
            "listener": listeners,
            "trials": trials.to_numpy(),
            "below": below.to_numpy(),
            "fraction": frac.to_numpy(),
            "anchor_above": above.to_numpy(),
            "anchor_fraction": afrac.to_numpy(),
            "excluded": ((frac > fraction) | (afrac > fraction)).to_numpy(),
            "why": why,
        }
    )


#: BS.1534-3 allows at most 12 conditions besides the reference and anchors.
MAX_MUSHRA_SYSTEMS = 12


@register
class Mushra(TestType):
    name, title, standard = "mushra", "MUSHRA", "MUSHRA (ITU-R BS.1534-3)"
    paired, open_reference = True, True
    rules = {"play": "any", "require_max": True}
    widget = "sliders"
    listeners_advice = "ITU-R BS.1534-3 asks for about 20 listeners after screening"
    scale = {
        "min": 0,
        "max": 100,
        "question": "Rate the basic audio quality of each signal against the reference (rate at least one signal 100).",
        "labels": [[80, "Excellent"], [60, "Good"], [40, "Fair"], [20, "Poor"], [0, "Bad"]],
    }
    instructions = (
        "Each trial has a reference and several signals labelled by letters (one of them is the hidden reference). "
        "Switch between them while playing (the position is kept), loop a region if you like, and rate each "
        "signal's basic audio quality against the reference from 0 to 100. Play every signal; rate at least one 100."
    )

    def trials_of_item(self, systems: Sequence[str], pairs=None) -> list[tuple]:
        if len(systems) + 1 > MAX_MUSHRA_SYSTEMS:
            raise ValueError(
                f"MUSHRA: at most {MAX_MUSHRA_SYSTEMS} conditions besides reference and anchors, "
                f"got {len(systems) + 1} (noisy + {list(systems)})"
            )
        return [(REFERENCE, *ANCHORS, NOISY, *[s for s in systems if s != NOISY])]

    screening = "BS.1534-3 post-screening: hidden reference below 90, or mid anchor above 90, in more than 15% of items"

    def screen(self, results, test, ratings: pd.DataFrame) -> pd.DataFrame:
        out = bs1534_screen(ratings)
        missing = sorted({r["listener"] for r in results} - set(out["listener"]))
        extra = pd.DataFrame({"listener": missing, "excluded": False, "why": ""})
        return pd.concat([out, extra], ignore_index=True) if missing else out

    axis = {
        "xlim": (0, 108),
        "ticks": [0, 20, 40, 60, 80, 100],
        "fmt": ".0f",
        "label": "MUSHRA score, ITU-R BS.1534-3",
        "bands": [(0, "Bad"), (20, "Poor"), (40, "Fair"), (60, "Good"), (80, "Excellent")],
    }
    #: Simulated listeners: the mid anchor mid-scale, the low anchor near the bottom (BS.1534-3's intent).
    sim_defaults = {REFERENCE: 97.0, "anchor_7k": 55.0, "anchor_3.5k": 25.0, NOISY: 40.0, "*": 70.0}
    sim_spread, sim_noise = (3.0, 4.0), 8.0

    def simulate(self, order, systems, draw, *, truth, careless, rng, noise, control):
        def one(system):  # attentive listeners find the hidden reference
            return 100 - abs(rng.normal(0, 3)) if system == REFERENCE and not careless else draw(system, 0, 100)

        return {sid: round(one(systems[sid])) for sid in order}

    def rating_problems(self, ratings: dict, ids: Sequence[str], where: str) -> list[str]:
        out = []
        if set(ratings) != set(ids):
            out.append(f"{where}: ratings for {sorted(ratings)}, expected one per stimulus {sorted(ids)}")
        for sid, v in ratings.items():
            if sid in ids and not (is_number(v) and 0 <= v <= 100):
                out.append(f"{where}: MUSHRA rating {v!r} of {sid} is not a number in 0..100")
        return out

    def rating_rows(self, trial, entry: dict) -> list[dict]:
        systems = {s.id: s.system for s in trial.stimuli}
        r = entry["ratings"]
        return [
            {
                "system": systems[sid],
                "base": "",
                "stimulus": sid,
                "scale": "MUSHRA",
                "rating": float(r[sid]),
                "raw": float(r[sid]),
                "position": pos,
            }
            for pos, sid in enumerate(entry["order"])
        ]

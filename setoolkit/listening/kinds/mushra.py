"""MUSHRA (ITU-R BS.1534-3): per item one trial with the open reference and, blind, the hidden reference, the
3.5 kHz low anchor, the 7 kHz mid anchor, the noisy input and each system, each rated 0-100.

The page enforces BS.1534-3's instructions before Save: every signal played and rated, at least one at 100
(``rules["require_max"]``, on by default)."""

from __future__ import annotations

from collections.abc import Sequence

from ..anchors import ANCHORS
from .base import NOISY, REFERENCE, TestType, is_number, register

#: BS.1534-3 allows at most 12 conditions besides the reference and anchors.
MAX_MUSHRA_SYSTEMS = 12


@register
class Mushra(TestType):
    name, title, standard = "mushra", "MUSHRA", "MUSHRA (ITU-R BS.1534-3)"
    paired, open_reference = True, True
    rules = {"play": "any", "require_max": True}
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

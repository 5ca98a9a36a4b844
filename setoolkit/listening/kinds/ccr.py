"""CCR (ITU-T P.800 Annex E, CMOS): one trial per (item, pair); the listener hears the two in a per-listener
random order and rates the second against the first from -3 to +3; the analysis undoes the order, so scores
are always "``b`` compared with ``a``". Both samples must be played to their end before rating."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import NOISY, TestType, is_int, register


@register
class Ccr(TestType):
    name, title, standard = "ccr", "CCR", "CCR / CMOS (ITU-T P.800)"
    pairwise = True
    rules = {"play": "to_end"}
    instructions = (
        "Each trial has two samples, First and Second. Listen to both to the end, then rate the quality of the "
        "second compared to the first."
    )
    scale = {
        "question": "The quality of the second sample compared to the quality of the first is:",
        "labels": [
            [3, "Much Better"],
            [2, "Better"],
            [1, "Slightly Better"],
            [0, "About the Same"],
            [-1, "Slightly Worse"],
            [-2, "Worse"],
            [-3, "Much Worse"],
        ],
    }

    sim_defaults = {NOISY: 0.0, "*": 1.0}
    axis = {
        "xlim": (-3, 3.4),
        "ticks": [-3, -2, -1, 0, 1, 2, 3],
        "fmt": "+.2f",
        "label": "CMOS, ITU-T P.800 CCR: > 0 = first-named system better",
    }
    sim_spread, sim_noise = (0.2, 0.2), 0.7

    def simulate(self, order, systems, draw, *, truth, careless, rng, noise, control):
        first, second = (systems[s] for s in order)
        score = rng.uniform(-3, 3) if careless else truth(second) - truth(first) + rng.normal(0, noise)
        return {"score": int(np.clip(round(score), -3, 3))}

    def trials_of_item(self, systems: Sequence[str], pairs: Sequence[tuple[str, str]] | None = None) -> list[tuple]:
        return [tuple(p) for p in pairs] if pairs else [(NOISY, s) for s in systems if s != NOISY]

    def rating_problems(self, ratings: dict, ids: Sequence[str], where: str) -> list[str]:
        out = []
        if set(ratings) != {"score"}:
            out.append(f"{where}: CCR ratings {sorted(ratings)}, expected exactly 'score'")
        if "score" in ratings and not (is_int(ratings["score"]) and -3 <= ratings["score"] <= 3):
            out.append(f"{where}: CCR score {ratings['score']!r} is not an integer in -3..3")
        return out

    def rating_rows(self, trial, entry: dict) -> list[dict]:
        a, b = trial.stimuli[0], trial.stimuli[1]
        sign = 1 if entry["order"][0] == a.id else -1
        score = entry["ratings"]["score"]
        return [
            {
                "system": b.system,
                "base": a.system,
                "stimulus": b.id,
                "scale": "CMOS",
                "rating": float(sign * score),
                "raw": float(score),
                "position": 0,
            }
        ]

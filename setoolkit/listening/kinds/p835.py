"""P.835 (ITU-T P.835): one trial per (item, system), each sample rated on the SIG, BAK and OVRL 1-5 scales.

The page enforces that the sample was played to its end once before it can be rated."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .base import TestType, flat_raters, headphone_passed, is_int, register, screening_frame

SCALES = ("SIG", "BAK", "OVRL")


@register
class P835(TestType):
    name, title, standard = "p835", "P.835", "P.835 (ITU-T)"
    paired = False
    rules = {"play": "to_end"}
    widget = "scales"
    instructions = (
        "Each trial is one speech sample. Listen to it to the end, then rate the speech signal (SIG), the "
        "background (BAK) and the overall quality (OVRL), each on its five-point scale."
    )
    scale = {
        "order": list(SCALES),
        "scales": {
            "SIG": {
                "question": "Attending ONLY to the SPEECH SIGNAL, select the category which best describes the "
                "sample you just heard.",
                "labels": [
                    [5, "Very natural, no degradation"],
                    [4, "Fairly natural, little degradation"],
                    [3, "Somewhat natural, somewhat degraded"],
                    [2, "Fairly unnatural, fairly degraded"],
                    [1, "Very unnatural, very degraded"],
                ],
            },
            "BAK": {
                "question": "Attending ONLY to the BACKGROUND, select the category which best describes the "
                "sample you just heard.",
                "labels": [
                    [5, "Not noticeable"],
                    [4, "Slightly noticeable"],
                    [3, "Noticeable but not intrusive"],
                    [2, "Somewhat intrusive"],
                    [1, "Very intrusive"],
                ],
            },
            "OVRL": {
                "question": "Select the category which best describes the sample you just heard for purposes "
                "of everyday speech communication.",
                "labels": [[5, "Excellent"], [4, "Good"], [3, "Fair"], [2, "Poor"], [1, "Bad"]],
            },
        },
    }

    screening = (
        "as in P.835 crowdsourcing (P.808 Annex D): headphone check failed, or the same rating for every sample "
        "on a scale"
    )

    def screen(self, results, test, ratings: pd.DataFrame) -> pd.DataFrame:
        flat = {s: flat_raters(ratings, s) for s in SCALES}
        reasons = {
            r["listener"]: [
                *([] if headphone_passed(r) else ["failed the headphone check"]),
                *[f"the same {s} rating for every sample" for s in SCALES if r["listener"] in flat[s]],
            ]
            for r in results
        }
        return screening_frame(reasons)

    sim_defaults = {"noisy": 2.5, "*": 3.5}
    axis = {"xlim": (1, 5.6), "ticks": [1, 2, 3, 4, 5], "fmt": ".2f", "label": "ITU-T P.835 rating, 1-5"}

    def simulate(self, order, systems, draw, *, truth, careless, rng, noise, control):
        return {sid: {k: round(draw(systems[sid], 1, 5)) for k in SCALES} for sid in order}

    def rating_problems(self, ratings: dict, ids: Sequence[str], where: str) -> list[str]:
        out = []
        if set(ratings) != set(ids):
            out.append(f"{where}: ratings for {sorted(ratings)}, expected one per stimulus {sorted(ids)}")
        for sid, v in ratings.items():
            if sid not in ids:
                continue
            if not isinstance(v, dict) or set(v) != set(SCALES):
                out.append(f"{where}: P.835 rating {v!r} of {sid} needs exactly SIG, BAK, OVRL")
                continue
            for k, x in v.items():
                if not (is_int(x) and 1 <= x <= 5):
                    out.append(f"{where}: P.835 {k} rating {x!r} of {sid} is not an integer in 1..5")
        return out

    def rating_rows(self, trial, entry: dict) -> list[dict]:
        systems = {s.id: s.system for s in trial.stimuli}
        return [
            {
                "system": systems[sid],
                "base": "",
                "stimulus": sid,
                "scale": k,
                "rating": float(v),
                "raw": float(v),
                "position": pos,
            }
            for pos, sid in enumerate(entry["order"])
            for k, v in entry["ratings"][sid].items()
        ]

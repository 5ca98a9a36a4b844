"""ACR (ITU-T P.808, absolute category rating, as in crowdsourcing): one trial per (item, system), each sample
played to its end and rated on the five-point listening-quality scale (5 Excellent ... 1 Bad); the mean is the
MOS of the system. P.808's qualification (headphone check) and its screening are applied by the page and
the analysis (:mod:`..screening`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .base import TestType, flat_raters, headphone_passed, is_int, register, screening_frame


@register
class Acr(TestType):
    name, title, standard = "acr", "ACR", "ACR MOS (ITU-T P.808)"
    paired = None
    controls = ("trap", "gold")
    beside_metric = "P808_MOS"
    listeners_advice = "ITU-T P.808 asks for enough votes per condition for a 95% CI of about 0.1 MOS"
    rules = {"play": "to_end"}
    instructions = (
        "Each trial is one speech sample. Listen to it to the end, then rate its overall quality on the "
        "five-point scale. A sample that ends in a series of beeps is a check that you listen: rate it with the "
        "number of beeps you heard (one beep: 1, two beeps: 2, ...)."
    )
    scale = {
        "question": "Rate the quality of the speech sample you just heard.",
        "labels": [[5, "Excellent"], [4, "Good"], [3, "Fair"], [2, "Poor"], [1, "Bad"]],
    }

    screening = (
        "P.808 rejection: headphone check not passed, a trapping question answered wrong, a gold clip rated more "
        "than one category from its known answer, or the same rating for every clip"
    )

    def screen(self, results, test, ratings: pd.DataFrame) -> pd.DataFrame:
        """P.808's rejection rules per listener (``trap_failed``, ``gold_failed``, ``controls`` columns added)."""
        controls = {t.id: t.control for t in test.trials if t.control}
        flat = flat_raters(ratings, "ACR")
        reasons, traps, golds, seen = {}, {}, {}, {}
        for r in results:
            who, why = r["listener"], []
            rated = {tid: tr["ratings"]["score"] for tid, tr in r.get("trials", {}).items() if tid in controls}
            off = {tid: abs(v - controls[tid]["expected"]) > controls[tid]["tolerance"] for tid, v in rated.items()}
            traps[who] = sum(off[t] for t in off if controls[t]["type"] == "trap")
            golds[who] = sum(off[t] for t in off if controls[t]["type"] == "gold")
            seen[who] = len(rated)
            if not headphone_passed(r):
                why.append("failed the headphone check")
            if traps[who]:
                why.append(f"answered {traps[who]} trapping question(s) wrong")
            if golds[who]:
                why.append(f"rated {golds[who]} gold clip(s) more than one category off")
            if who in flat:
                why.append("gave every clip the same rating")
            reasons[who] = why
        return screening_frame(reasons, trap_failed=traps, gold_failed=golds, controls=seen)

    sim_defaults = {"reference": 4.6, "noisy": 2.2, "*": 3.4}
    axis = {"xlim": (1, 5.6), "ticks": [1, 2, 3, 4, 5], "fmt": ".2f", "label": "MOS, ITU-T P.808 ACR, 1-5"}

    def simulate(self, order, systems, draw, *, truth, careless, rng, noise, control):
        (sid,) = order  # attentive workers answer the trapping stimulus and the gold clips as expected
        expected = control.get("expected")
        return {"score": int(expected if expected is not None and not careless else round(draw(systems[sid], 1, 5)))}

    def rating_problems(self, ratings: dict, ids: Sequence[str], where: str) -> list[str]:
        out = []
        if set(ratings) != {"score"}:
            out.append(f"{where}: ACR ratings {sorted(ratings)}, expected exactly 'score'")
        if "score" in ratings and not (is_int(ratings["score"]) and 1 <= ratings["score"] <= 5):
            out.append(f"{where}: ACR score {ratings['score']!r} is not an integer in 1..5")
        return out

    def rating_rows(self, trial, entry: dict) -> list[dict]:
        s = trial.stimuli[0]
        score = float(entry["ratings"]["score"])
        return [
            {
                "system": s.system,
                "base": "",
                "stimulus": s.id,
                "scale": "ACR",
                "rating": score,
                "raw": score,
                "position": 0,
            }
        ]

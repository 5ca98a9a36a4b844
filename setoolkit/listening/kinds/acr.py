"""ACR (ITU-T P.808, absolute category rating, as in crowdsourcing): one trial per (item, system), each sample
played to its end and rated on the five-point listening-quality scale (5 Excellent ... 1 Bad); the mean is the
MOS of the system. P.808's qualification (headphone check) and its screening are applied by the page and
the analysis (:mod:`..screening`)."""

from __future__ import annotations

from collections.abc import Sequence

from .base import TestType, is_int, register


@register
class Acr(TestType):
    name, title, standard = "acr", "ACR", "ACR MOS (ITU-T P.808)"
    paired = None
    rules = {"play": "to_end"}
    instructions = (
        "Each trial is one speech sample. Listen to it to the end, then rate its overall quality on the "
        "five-point scale. Some samples end with an instruction (a number of beeps): then answer as instructed."
    )
    scale = {
        "question": "Rate the quality of the speech sample you just heard.",
        "labels": [[5, "Excellent"], [4, "Good"], [3, "Fair"], [2, "Poor"], [1, "Bad"]],
    }

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

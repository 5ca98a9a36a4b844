"""Simulated listeners: result files with known effects, for demonstrations and for testing the analysis.

Each simulated rating is ``effect[system] + listener bias + item effect + noise`` (rounded and clipped to
the scale); a *careless* listener rates uniformly at random. The results have the format the page and the
widget write, in each listener's own presentation order (:func:`.design.listener_plan`).

Examples
--------
>>> results = simulate_results(test, 12, effects={"gtcrn": 70, "nsnet2": 60}, careless=1)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .design import TestDefinition, listener_plan
from .kinds import NOISY, REFERENCE
from .results import new_result, record_trial

#: Default true scores: MUSHRA (0-100), P.835 (1-5, all scales) and CCR quality (CMOS units).
DEFAULTS = {
    "mushra": {REFERENCE: 97.0, "anchor_7k": 65.0, "anchor_3.5k": 30.0, NOISY: 40.0, "*": 70.0},
    "p835": {NOISY: 2.5, "*": 3.5},
    "ccr": {NOISY: 0.0, "*": 1.0},
    "acr": {REFERENCE: 4.6, NOISY: 2.2, "*": 3.4},
}
#: Listener bias and item effect SDs.
SPREAD = {"mushra": (3.0, 4.0), "p835": (0.2, 0.3), "ccr": (0.2, 0.2), "acr": (0.2, 0.3)}


def simulate_results(
    test: TestDefinition,
    listeners: int = 12,
    *,
    effects: Mapping[str, float] | None = None,
    noise: float | None = None,
    careless: int = 0,
    seed: int = 0,
) -> list[dict]:
    """``listeners`` complete results of ``test`` (``careless`` of them rate at random; ids ``L01``...,
    careless ones ``C01``...). ``effects``: true score per system (missing ones: :data:`DEFAULTS`);
    ``noise``: residual SD (default 8 MUSHRA points, 0.6 on 1-5 scales, 0.7 CMOS)."""
    rng = np.random.default_rng(seed)
    kind = test.kind
    true = {**DEFAULTS[kind], **(effects or {})}
    noise = {"mushra": 8.0, "p835": 0.6, "ccr": 0.7, "acr": 0.6}[kind] if noise is None else noise
    bias_sd, item_sd = SPREAD[kind]
    item_fx = {(t.dataset, t.file): rng.normal(0, item_sd) for t in test.trials}
    trials = {t.id: t for t in test.trials}
    ids = [f"L{i + 1:02d}" for i in range(listeners - careless)] + [f"C{i + 1:02d}" for i in range(careless)]
    out = []
    for lid in ids:
        random_rater, bias = lid.startswith("C"), rng.normal(0, bias_sd)
        res = {**new_result(test, lid), "headphone_check": {"answer": "left", "correct": True, "passed": True}}
        for entry in listener_plan(test, lid):
            t = trials[entry["trial"]]
            sys = {s.id: s.system for s in t.stimuli}

            mu_item = bias + item_fx[(t.dataset, t.file)]

            def draw(system, lo, hi, careless=random_rater, offset=mu_item):
                if careless:
                    return float(rng.uniform(lo, hi))
                if system == REFERENCE and kind == "mushra":  # attentive listeners find the hidden reference
                    return float(hi - abs(rng.normal(0, 3)))
                return float(np.clip(true.get(system, true["*"]) + offset + rng.normal(0, noise), lo, hi))

            if kind == "mushra":
                ratings = {sid: round(draw(sys[sid], 0, 100)) for sid in entry["order"]}
            elif kind == "p835":
                ratings = {
                    sid: {k: round(draw(sys[sid], 1, 5)) for k in ("SIG", "BAK", "OVRL")} for sid in entry["order"]
                }
            elif kind == "acr":
                (sid,) = entry["order"]
                expected = t.control.get("expected")
                score = expected if expected is not None and not random_rater else draw(sys[sid], 1, 5)
                ratings = {"score": int(round(score))}
            else:
                first, second = (sys[s] for s in entry["order"])
                diff = true.get(second, true["*"]) - true.get(first, true["*"])
                score = rng.uniform(-3, 3) if random_rater else diff + rng.normal(0, noise)
                ratings = {"score": int(np.clip(round(score), -3, 3))}
            res = record_trial(res, t.id, entry["order"], ratings)
        out.append({**res, "done": True})
    return out

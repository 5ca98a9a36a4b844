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
from .kinds import test_type
from .results import new_result, record_trial


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
    careless ones ``C01``...). ``effects``: true score per system (missing ones: the type's ``sim_defaults``);
    ``noise``: residual SD (default the type's ``sim_noise``: 8 MUSHRA points, 0.6 on 1-5 scales, 0.7 CMOS)."""
    rng = np.random.default_rng(seed)
    kind = test_type(test.kind)
    true = {**kind.sim_defaults, **(effects or {})}
    noise = kind.sim_noise if noise is None else noise
    bias_sd, item_sd = kind.sim_spread
    item_fx = {(t.dataset, t.file): rng.normal(0, item_sd) for t in test.trials}
    trials = {t.id: t for t in test.trials}
    ids = [f"L{i + 1:02d}" for i in range(listeners - careless)] + [f"C{i + 1:02d}" for i in range(careless)]

    def truth(system):
        return true.get(system, true["*"])

    out = []
    for lid in ids:
        random_rater, bias = lid.startswith("C"), rng.normal(0, bias_sd)
        res = {**new_result(test, lid), "headphone_check": {"answer": "left", "correct": True, "passed": True}}
        for entry in listener_plan(test, lid):
            t = trials[entry["trial"]]
            mu_item = bias + item_fx[(t.dataset, t.file)]

            def draw(system, lo, hi, careless=random_rater, offset=mu_item):
                if careless:
                    return float(rng.uniform(lo, hi))
                return float(np.clip(truth(system) + offset + rng.normal(0, noise), lo, hi))

            systems = {s.id: s.system for s in t.stimuli}
            ratings = kind.simulate(
                entry["order"],
                systems,
                draw,
                truth=truth,
                careless=random_rater,
                rng=rng,
                noise=noise,
                control=t.control,
            )
            res = record_trial(res, t.id, entry["order"], ratings)
        out.append({**res, "done": True})
    return out

"""'Was it chance?': the same fine-tuning under several seeds, scored before and after on real pairs.

For each metric: the per-seed mean change over the evaluation pairs, its mean and 95% CI across seeds
(Student t), a paired test per seed over files (Wilcoxon signed-rank), and a plain statement:
a change is called real only when every seed moves the metric the same way with p < 0.05.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..metrics import score_improvement


def score_model(model, pairs, metrics: Sequence[str] = ("si_sdr", "pesq_wb", "stoi")) -> np.ndarray:
    """``(files, metrics)`` scores of ``model`` on ``(clean, noisy)`` path pairs."""
    return score_improvement(model.enhance, pairs, metrics=metrics).after


@dataclass
class SeedStudy:
    """Result of :func:`seed_study`: ``before`` ``(files, metrics)``, ``after`` ``(seeds, files, metrics)``."""

    metrics: tuple[str, ...]
    seeds: tuple[int, ...]
    before: np.ndarray
    after: np.ndarray
    seconds: float

    def table(self):
        """One row per metric: before, mean change, 95% CI across seeds, per-seed changes and p-values, verdict."""
        import pandas as pd
        from scipy import stats

        rows = []
        for k, m in enumerate(self.metrics):
            deltas = self.after[:, :, k] - self.before[None, :, k]  # (seeds, files)
            per_seed = np.nanmean(deltas, axis=1)
            p = [float(stats.wilcoxon(d[np.isfinite(d)]).pvalue) if np.any(d[np.isfinite(d)]) else 1.0 for d in deltas]
            n = len(per_seed)
            half = (stats.t.ppf(0.975, n - 1) * per_seed.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
            same_sign = np.all(per_seed > 0) or np.all(per_seed < 0)
            if same_sign and all(pv < 0.05 for pv in p):
                verdict = f"significant {'improvement' if per_seed.mean() > 0 else 'degradation'} in every seed"
            elif any(pv < 0.05 for pv in p):
                verdict = "seed-dependent: significant in some seeds only (may be chance)"
            else:
                verdict = "no significant change (indistinguishable from chance)"
            rows.append(
                {
                    "metric": m,
                    "before": float(np.nanmean(self.before[:, k])),
                    "mean_change": float(per_seed.mean()),
                    "ci95_lo": float(per_seed.mean() - half),
                    "ci95_hi": float(per_seed.mean() + half),
                    "per_seed_change": [round(float(v), 4) for v in per_seed],
                    "per_seed_p": [float(f"{v:.3g}") for v in p],
                    "verdict": verdict,
                }
            )
        return pd.DataFrame(rows)


def seed_study(
    load_model: Callable,
    make_data: Callable,
    pairs,
    out_dir: str | Path,
    *,
    seeds=(0, 1, 2),
    steps: int = 100,
    batch_size: int = 4,
    lr: float = 1e-4,
    metrics: Sequence[str] = ("si_sdr", "pesq_wb", "stoi"),
    progress: bool = True,
) -> SeedStudy:
    """Fine-tune a fresh ``load_model()`` once per seed on ``make_data(seed)`` and score before/after on ``pairs``."""
    import time

    from .adapters import adapter_for
    from .trainer import finetune

    t0 = time.perf_counter()
    before = score_model(load_model(), pairs, metrics)
    after = []
    for seed in seeds:
        model = load_model()
        finetune(
            adapter_for(model),
            make_data(seed),
            Path(out_dir) / f"seed{seed}",
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            resume=False,
            progress=progress,
        )
        after.append(score_model(model, pairs, metrics))
    return SeedStudy(tuple(metrics), tuple(seeds), before, np.stack(after), time.perf_counter() - t0)

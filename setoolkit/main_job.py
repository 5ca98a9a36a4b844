"""The main job: enhance the real sample sets with every available model, score, time, draw, report.

``python -m setoolkit run`` calls :func:`run_comparison`; it grows as models are added to the registry.
Rows, enhanced audio and timings are kept by content key in one store beside the dated report folders
(``reports/store``), so tomorrow's run computes only what changed since today's.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .assets import dataset_files
from .errors import SetoolkitError
from .evaluation import ORACLES, evaluate
from .evaluation.profile import Profile
from .evaluation.timing import parity_failures, timing_pass
from .metrics import DEFAULT_METRICS
from .metrics import registry as metric_registry
from .model_refs import resolve as resolve_refs
from .registry import missing_extras, not_run_note, representatives, runnable_models
from .report import build_report

#: Paired VoiceBank-DEMAND at 16 and 48 kHz, DNS3 synthetic pairs, real noisy recordings (DNSMOS only), and the
#: interfering-talker set built from a seed into the cache on first use (:mod:`setoolkit.datasets`).
DEFAULT_SETS = ("vbd16k", "vbd48k", "dns3_synthetic", "dns3_blind", "dns4_real48k", "talkers16k")
#: The main job scores what papers print, ViSQOL v3 and speaker similarity on paired sets, NISQA (and DNSMOS and
#: DistillMOS) on every file; the oracle masks (IRM, PSM, cIRM) are the ceiling rows of the paired leaderboards.
#: Word errors (``wer``, ``cer``: PocketSphinx, about 0.9 CPU-s per audio-second) and ``mcd`` (0.14-0.64) would
#: more than double the job: they are opt-in (``--metrics``; see docs/metrics.md).
MAIN_JOB_METRICS = (*DEFAULT_METRICS, "visqol", "nisqa", "spk_sim")
#: The timing pass times the first DNS3 synthetic noisy recording (5 s, 16 kHz) and compares runtime
#: variants on the first VoiceBank-DEMAND noisy recordings.
PARITY_FILES = 3


def _timing_inputs(mirror=None):

    return (
        dataset_files("dns3_synthetic", mirror=mirror, subdir="noisy")[0],
        dataset_files("vbd16k", mirror=mirror, subdir="noisy")[:PARITY_FILES],
    )


def run_comparison(
    *,
    models: Sequence[str] | None = None,
    datasets: Sequence[str] = DEFAULT_SETS,
    reports_dir: str | Path = "reports",
    figures_dir: str | Path = "figures",
    date: str | None = None,
    mirror=None,
    workers: int | None = None,
    scheduler=None,
    limit: int | None = None,
    use_dnsmos: bool = True,
    progress: bool = True,
    store: str | Path | None = None,
    timing: bool = True,
    metrics: Sequence[str] | None = None,
    task_timeout: float | None = None,
) -> Path:
    """Evaluate ``models`` (default: all available) on ``datasets`` into ``reports_dir/YYYY-MM-DD`` and write
    the daily report there. Returns that folder. ``metrics``: names, columns or metric specs (default
    :data:`MAIN_JOB_METRICS`, less those whose extra is not installed).

    Runtime variants of one set of weights (cards with ``variant_of``) are scored once, through their
    representative; the timing pass (one thread, after the evaluation) times every model and checks each
    variant's output against its representative's. Beside the report: ``timing.csv``, ``variants.csv`` and
    ``profile.csv`` (seconds per stage; ``evaluate: <stage>`` rows are summed over the worker processes, and
    ``evaluate: worker CPU (all stages)`` is their CPU time).
    ``store`` (default ``reports_dir/store``) keeps rows, audio and timings by content key: a rerun, the same
    day or later, recomputes only what changed. A variant that fails parity raises after the report is written.
    """
    t_start = time.perf_counter()
    date = date or dt.date.today().isoformat()
    out = Path(reports_dir) / date
    store = Path(store) if store is not None else Path(reports_dir) / "store"
    prof = Profile()
    with prof.stage("plan"):
        names, not_here = (list(models), {}) if models else runnable_models()
        refs, broken = resolve_refs(names, mirror=mirror)
        not_here.update(broken)
        names = [r.source for r in refs]
        scored, variants = representatives(names)
    if metrics is None:  # a default metric whose extra is not installed (ViSQOL: setoolkit[visqol]) is left out
        metrics = [m for m in MAIN_JOB_METRICS if not missing_extras([x for x in [metric_registry.get(m).extra] if x])]
    metrics = metric_registry.resolve(metrics, use_dnsmos=use_dnsmos)  # an unknown name: one error, before any work
    t0 = time.perf_counter()
    table, stats = evaluate(
        [*scored, *ORACLES],
        datasets,
        out,
        metrics=metrics,
        workers=workers,
        scheduler=scheduler,
        limit=limit,
        mirror=mirror,
        use_dnsmos=use_dnsmos,
        progress=progress,
        return_stats=True,
        store=store,
        task_timeout=task_timeout,
    )
    wall = time.perf_counter() - t0
    stats.models_without_weights = {**not_here, **stats.models_without_weights}  # + the specs not built
    prof.add("plan", stats.stages.pop("plan", 0.0))
    prof.add("evaluate", wall)
    cpu = stats.stages.pop("cpu", None)
    prof.merge({k: v for k, v in stats.stages.items() if k != "lookup"}, prefix="evaluate: ")
    if cpu is not None:  # what the workers computed, not waited: the same on a busy machine as on an idle one
        prof.add("evaluate: worker CPU (all stages)", cpu)
    prof.add("lookup", stats.stages.get("lookup", 0.0))

    failures = []
    if timing:
        with prof.stage("timing pass"):
            spent: dict = {}
            clip, parity_files = _timing_inputs(mirror)
            timing_df, variants_df = timing_pass(
                names,
                variants,
                store=store,
                clip=clip,
                parity_files=parity_files,
                mirror=mirror,
                stages=spent,
                names={r.source: r.name for r in refs},
            )
        prof.merge(spent, prefix="timing pass: ")
        out.mkdir(parents=True, exist_ok=True)
        timing_df.to_csv(out / "timing.csv", index=False)
        variants_df.to_csv(out / "variants.csv", index=False)
        failures = parity_failures(variants_df)
        for line in failures:
            print(f"PARITY FAILURE: {line}", file=sys.stderr)

    notes = [
        f"models: {', '.join(sorted(set(table['model']) - {'noisy'}))}",
        f"sets: {', '.join(datasets)}" + (f" (first {limit} files each)" if limit else ""),
    ]
    if variants:
        notes.append(
            "runtime variants (scored through their representative; parity and speed in variants.csv): "
            + ", ".join(f"{v} = {r}" for v, r in variants.items())
        )
    notes.append(
        "intrusive metrics after cross-correlation alignment; PESQ-WB at 16 kHz; DNSMOS at 16 kHz; "
        "16 kHz models on 48 kHz sets run 48k -> 16k -> 48k; RTF = processing time / audio duration"
    )
    if stats.models_without_weights:
        notes.append(not_run_note(stats.models_without_weights))
    if stats.failed:
        notes.append(
            f"FAILED tasks ({len(stats.failed)}, all in {stats.failures_path}): "
            + "; ".join(map(str, stats.failed[:5]))
        )
    notes += [f"VARIANT PARITY FAILED: {line}" for line in failures]
    prof.write(out / "profile.csv")
    with prof.stage("report"):
        build_report(table, out, date=date, figures_dir=figures_dir, notes=notes)
    prof.add("total", time.perf_counter() - t_start)
    prof.write(out / "profile.csv")
    print(f"{stats}\nprofile (seconds; 'evaluate: ...' summed over worker processes):\n{prof}")
    if failures:
        raise SetoolkitError(f"runtime variant parity failed (report written to {out}): " + "; ".join(failures))
    if stats.not_built:
        raise SetoolkitError(
            f"requested model(s) could not be built (report written to {out}): "
            + "; ".join(f"{name}: {reason}" for name, reason in stats.not_built.items())
        )
    return out

"""Evaluation engine: every file x model of one or more sets -> one tidy, resumable table.

A *set* is a registry dataset name (``vbd16k``: paired ``clean/`` + ``noisy/``; ``dns3_blind``: noisy only)
or a local folder (``DIR/noisy`` + optional ``DIR/clean`` with matching names, or a folder of noisy files).
Each task (set, model, file) enhances the file (``model == "noisy"`` is the unprocessed baseline), writes the
output, and scores it: every intrusive metric against the clean file when there is one (after alignment),
DNSMOS P.835/P.808 always, plus processing time and real-time factor. One row per task.

Rows are written one JSON file each under ``<store>/rows/`` as tasks finish (:mod:`.store`), named by a
*content key*: the hash of everything the row depends on (the input and reference files' sha256, the model's
card and weights' sha256, the source of the setoolkit code that computes it and the versions of the libraries it
calls, the metric set). An interrupted run keeps what it finished; a rerun, the same day or the next into another
folder sharing the store, reuses every row whose key is unchanged (and whose row and audio verify) and computes
only new or changed ones; a row computed from other inputs, weights, code or metrics is never reused.

Tasks run in this process (``workers=1``), in local processes (``workers``, spawned), or on a Dask distributed
cluster when ``scheduler`` (an address or a ``distributed.Client``) is given: three runners (:mod:`.runners`)
behind one result-collecting loop (:func:`_collect`), one task function, the same keys.

Under faults:

* a failed task is kept as a :class:`~.store.Failure` (set, file, model, exception type and message) in
  ``RunStats.failed`` and ``out_dir/failures.csv``; a warning names the first ones; when every task fails,
  :func:`evaluate` raises :class:`SetoolkitError` with the first reasons;
* warnings raised inside a task are caught there and re-issued once in the calling process, prefixed with the set,
  file and model (one per distinct message, with the count of other tasks that raised it);
* SIGINT and SIGTERM stop the workers within seconds (each unwinds its task, so no temporary file is left, then
  exits; after 5 s it is killed), every finished row is kept, and :class:`Interrupted` (a ``KeyboardInterrupt``)
  is raised; the CLI exits 130 / 143. Workers ignore SIGINT (a terminal sends it to the whole group: the parent
  decides) and watch their parent: when it dies, even by SIGKILL, they exit within about a second;
* each task leaves its process as it found it (:mod:`.isolation`: NumPy's error state, the working folder, torch's
  default dtype and threads), so a model calling ``np.seterr(all="raise")`` or ``os.chdir`` changes no other row
  and no output path; with ``task_timeout`` a task running longer is stopped and kept as a failure naming the model
  and file (a worker stuck in native code ends itself and the other tasks run on a fresh pool);
* a requested model spec that cannot be built is in ``RunStats.not_built`` (the CLI exits 1 naming it);
* a script that calls ``evaluate(..., workers=2)`` at module level without ``if __name__ == "__main__":``
  would make each spawned worker re-run the script: this is detected before any process starts and raised as
  one :class:`SetoolkitError` saying where to put the guard (not run in-process instead: that would silently
  lose the parallelism asked for);
* the output folder and the store are proven writable before any work; ``scores.csv``, ``scores.parquet`` and
  ``failures.csv`` are written atomically; a write that fails (full disk) is one :class:`OutputError` naming the
  file, and the rows already stored stay for the rerun.

Examples
--------
>>> table = evaluate(["dpcrn-quant"], ["vbd16k"], "runs/today")      # pandas DataFrame
>>> table, stats = evaluate(["dpcrn-quant"], ["vbd16k"], "runs/today", return_stats=True)
>>> print(stats)                                                     # counts and the first failures
>>> summarize(table)                                                 # means with bootstrap 95% CIs
"""

from __future__ import annotations

import builtins
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from ..errors import Interrupted, OutputError, SetoolkitError
from ..metrics import registry as metric_registry
from ..metrics.scoring import DEFAULT_METRICS, cpu_count
from ..model_refs import MODELS_CSV, model_table
from ..model_refs import resolve as resolve_refs
from ..output_plan import ensure_writable_dir
from ..processes import GUARD_HELP, check_not_bootstrapping, limit_threads, unguarded_main_line
from ..registry import missing_extras, runnable_models
from .isolation import TaskTimeoutError, restored_state
from .runners import DaskPool, InProcess, LocalPool, SignalReceived, raise_on_signals
from .sets import make_tasks
from .store import (
    REQUIRED,
    EvaluationTable,
    Failure,
    RowStore,
    RunStats,
    atomic_save,
    failures_table,
    rows_table,
    sweep_temporaries,
)
from .task import STAGES, Task, run_task

__all__ = ["TaskTimeoutError", "evaluate", "limit_threads"]

# ------------------------------------------------------------------------------------------- the one loop


def check_timeout(seconds) -> None:
    """``task_timeout`` must be ``None`` or a positive number of seconds; anything else is one clear error."""
    ok = seconds is None or (isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 < seconds < 1e9)
    if not ok:
        raise SetoolkitError(f"task_timeout={seconds!r}: seconds per task must be a positive number (or none)")


def _collect(
    runner, todo: Sequence[Task], store: RowStore, stages: dict, bar, rows: dict, failed: list, warned: dict
) -> None:
    """Store each finished row as it arrives (stage seconds summed into ``stages``, warnings gathered in
    ``warned``), each failure in ``failed``. A row that cannot be stored (a full disk) ends the run."""
    for t, out in runner.results(todo):
        if isinstance(out, BaseException):
            failed.append(Failure(asdict(t), f"{type(out).__name__}: {out}"))
        else:
            row, caught = out
            for w in dict.fromkeys(map(tuple, caught)):  # once per task
                warned.setdefault(w, []).append(t)
            for k, v in row.pop(STAGES, {}).items():
                stages[k] = stages.get(k, 0.0) + v
            try:
                store.put(t.key, row)
            except OSError as exc:
                raise OutputError(
                    f"{store.path(t.key)}: cannot store the row ({exc.strerror or exc}); the "
                    f"{len(rows)} rows stored before are kept: free space and rerun"
                ) from None
            rows[t.key] = store.get(t.key)
        bar.update()


def _reissue(warned: dict) -> None:
    for (category, message), tasks in warned.items():
        t = tasks[0]
        more = f" [and {len(tasks) - 1} more tasks]" if len(tasks) > 1 else ""
        cat = getattr(builtins, category, None)
        cat = cat if isinstance(cat, type) and issubclass(cat, Warning) else UserWarning
        warnings.warn(f"{t.dataset}/{t.file} ({t.model}): {message}{more}", cat, stacklevel=3)


def _save_tables(out_dir: Path, table: pd.DataFrame, failures: list, store_dir: Path, refs=()) -> Path | None:
    """scores.csv, scores.parquet, models.csv (the card facts of each model: :func:`model_table`) and failures.csv
    (or none, a stale one removed), each written atomically."""
    kept = f"the rows stay in the store {store_dir / 'rows'}: free space and rerun (nothing is recomputed)"
    writes = []
    if len(table):
        writes.append((out_dir / "scores.csv", lambda p: table.to_csv(p, index=False)))
        cards = model_table(refs)
        writes.append((out_dir / MODELS_CSV, lambda p: cards.to_csv(p, index=False)))
        if not missing_extras(["parquet"]):  # scores.parquet needs pyarrow (setoolkit[parquet])
            writes.append((out_dir / "scores.parquet", lambda p: table.to_parquet(p, index=False)))
    fpath = out_dir / "failures.csv"
    if failures:
        writes.append((fpath, lambda p: failures_table(failures).to_csv(p, index=False)))
    else:
        fpath.unlink(missing_ok=True)
    for path, writer in writes:
        try:
            atomic_save(path, writer)
        except OSError as exc:
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc}); {kept}") from None
    return fpath if failures else None


def evaluate(
    models: Sequence[str] | None,
    datasets: Sequence[str],
    out_dir: str | os.PathLike,
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    use_dnsmos: bool = True,
    workers: int | None = None,
    scheduler=None,
    limit: int | None = None,
    mirror=None,
    progress: bool = True,
    task_fn: Callable = run_task,
    return_stats: bool = False,
    store: str | os.PathLike | None = None,
    task_timeout: float | None = None,
):
    """Evaluate ``models`` (default: every available model whose weights are on this machine) on ``datasets``.

    Incremental: ``store`` (default ``out_dir``) holds the rows (``rows/``) and the enhanced audio
    (``audio/``) by content key; tasks whose row is there (and verifies) are reused, the others computed. Point
    several runs (e.g. one report folder a day) at one store and each computes only what changed; concurrent runs
    on one store are safe. ``metrics``: metric names, columns or metric specs (``path/to/file.py:name``;
    :mod:`setoolkit.metrics.registry`), checked before any work; ``use_dnsmos`` adds DNSMOS and DistillMOS (where
    installed) to them. ``workers``: local processes (default: all cores; 1 runs in this process);
    ``scheduler``: a Dask scheduler address or ``distributed.Client`` to run the same tasks on a cluster;
    ``task_timeout``: seconds one task (load, enhance, score) may take; one that runs longer is stopped and kept as a
    failure naming the model and file (:class:`~.isolation.TaskTimeoutError`), and the run goes on (default: none).
    With a time limit the tasks run in worker processes even with ``workers=1`` (from a script without a
    ``__main__`` guard: in this process, where a task stuck in native code cannot be stopped), so a model that never
    returns from native code has its worker ended, and the rest runs on a new one. On Dask the limit stops a task
    stuck in Python code; one stuck in native code keeps its worker thread (Dask runs tasks in threads, and ending the
    worker's process from inside could end the caller's own with ``processes=False``): use the cluster's own limits.
    Each task leaves its process as it found it (NumPy's error state, the working folder, torch's dtype and
    threads: :func:`~.isolation.restored_state`).

    Returns
    -------
    table : EvaluationTable
        A DataFrame with one row per task of this call that has a row (failed tasks have none), also saved as
        ``out_dir/scores.csv`` and ``scores.parquet``; ``table.stats`` is what the run did (:class:`RunStats`:
        counts, seconds per stage, and ``failed``, one :class:`Failure` per failed task, also in
        ``out_dir/failures.csv``; a warning names the first ones either way).
    stats : RunStats
        ``table.stats`` again, as a second value, only with ``return_stats=True`` (kept for older callers).

    Raises
    ------
    SetoolkitError
        When every task failed (the first reasons in the message), or a script calls this at module level
        without ``if __name__ == "__main__":`` and workers would be spawned.
    OutputError
        ``out_dir`` or the store is not writable (before any work), or a row or table cannot be written.
    Interrupted
        SIGINT or SIGTERM: the workers are stopped, every finished row is kept; rerun to resume.
    """
    check_not_bootstrapping()
    t0 = time.perf_counter()
    metrics = metric_registry.resolve(metrics, use_dnsmos=use_dnsmos)  # an unknown name: one error, before any work
    out_dir = Path(out_dir)
    store_dir = Path(store) if store is not None else out_dir
    for folder in (out_dir, store_dir, store_dir / "rows"):
        ensure_writable_dir(folder)
    for folder in (out_dir, store_dir / "rows", *store_dir.glob("audio/*/*")):  # what a SIGKILL left
        sweep_temporaries(folder)
    check_timeout(task_timeout)
    names, not_here = (list(models), {}) if models else runnable_models()
    with restored_state():  # a spec's build() here (to name and key it) must not move the run's relative paths
        refs, broken_specs = resolve_refs(names, mirror=mirror)
    not_here.update(broken_specs)
    store_rows = RowStore(store_dir / "rows", base=store_dir, required=REQUIRED)
    with restored_state():  # the sets are found from the run's own working folder
        tasks = make_tasks(
            refs, datasets, store_dir, limit=limit, mirror=mirror, metrics=metrics, use_dnsmos=use_dnsmos
        )
    t1 = time.perf_counter()
    done = store_rows.done()
    rows = {t.key: r for t in tasks if t.key in done and (r := store_rows.verified(t)) is not None}
    todo = [t for t in tasks if t.key not in rows]
    stages = {"plan": t1 - t0, "lookup": time.perf_counter() - t1}
    kwargs = {"metrics": tuple(metrics), "use_dnsmos": use_dnsmos, "mirror": str(mirror) if mirror else None}
    workers = workers or cpu_count()
    runner: DaskPool | InProcess | LocalPool
    if scheduler is not None:
        runner = DaskPool(task_fn, kwargs, scheduler, task_timeout)
    elif (workers <= 1 or len(todo) <= 1) and (task_timeout is None or unguarded_main_line() is not None):
        runner = InProcess(task_fn, kwargs, task_timeout)
    else:  # with a time limit, even one worker is a process: a task stuck in native code can only be ended so
        where = unguarded_main_line()
        if where is not None:
            raise SetoolkitError(f"{where}: evaluate(..., workers={workers}) is called at module level: {GUARD_HELP}")
        runner = LocalPool(task_fn, kwargs, max(1, min(workers, len(todo))), task_timeout)
    reused = len(rows)
    failed: list[Failure] = []
    warned: dict = {}
    bar = tqdm(total=len(todo), desc="evaluate (dask)" if scheduler is not None else "evaluate", disable=not progress)
    try:
        with raise_on_signals():
            try:
                _collect(runner, todo, store_rows, stages, bar, rows, failed, warned)
            except SignalReceived as sig:
                runner.stop()
                raise Interrupted(sig.args[0], len(rows) - reused, reused, store_dir / "rows") from None
            except BaseException:
                runner.stop()
                raise
    finally:
        bar.close()
        runner.close()
        _reissue(warned)
    t2 = time.perf_counter()
    table = rows_table([rows[t.key] for t in tasks if t.key in rows])
    if len(table):
        # paths are where the files are now (a moved mirror or store changes no number)
        here = {(t.dataset, t.model, t.file): t for t in tasks}
        for col, attr in (("noisy_path", "noisy"), ("clean_path", "clean"), ("output_path", "output")):
            table[col] = [
                getattr(t, attr) or (t.noisy if attr == "output" else None)
                for t in (here[k] for k in zip(table["dataset"], table["model"], table["file"]))
            ]
    fpath = _save_tables(out_dir, table, failed, store_dir, refs)
    stages["lookup"] += time.perf_counter() - t2
    stats = RunStats(
        len(tasks), reused, len(todo) - len(failed), failed, not_here, stages, fpath, not_built=broken_specs
    )
    if failed:
        first = "; ".join(map(str, failed[:3]))
        if len(failed) == len(tasks):
            raise SetoolkitError(f"every task failed ({len(failed)}; all in {fpath}): {first}")
        warnings.warn(f"{len(failed)} of {len(tasks)} tasks failed (all in {fpath}): {first}", stacklevel=2)
    table = EvaluationTable(table)
    table.stats = stats
    return (table, stats) if return_stats else table

"""Evaluation engine: every file x model of one or more sets -> one tidy, resumable table.

A *set* is a registry dataset name (``vbd16k``: paired ``clean/`` + ``noisy/``; ``dns3_blind``: noisy only)
or a local folder (``DIR/noisy`` + optional ``DIR/clean`` with matching names, or a folder of noisy files).
Each task (set, model, file) enhances the file (``model == "noisy"`` is the unprocessed baseline), writes the
output, and scores it: every intrusive metric against the clean file when there is one (after alignment),
DNSMOS P.835/P.808 always, plus processing time and real-time factor. One row per task.

Rows are written one JSON file each under ``<store>/rows/`` as tasks finish, named by a *content key*: the
hash of everything the row depends on (the input and reference files' sha256, the model's card and weights'
sha256, the source of the setoolkit code that computes it and the versions of the libraries it calls, the
metric set). An interrupted run keeps what it finished; a rerun, the same day or the next into another
folder sharing the store, reuses every row whose key is unchanged and computes only new or changed ones; a
row computed from other inputs, weights, code or metrics is never reused. Tasks run in local processes
(``workers``), or on a Dask distributed cluster when ``scheduler`` (an address or a ``distributed.Client``)
is given: one code path, one task function, the same keys.

Examples
--------
>>> table = evaluate(["dpcrn-quant"], ["vbd16k"], "runs/today")      # pandas DataFrame
>>> summarize(table)                                                 # means with bootstrap 95% CIs
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Sequence

from ..metrics.scoring import DEFAULT_METRICS, cpu_count
from ..registry import missing_extras, runnable_models
from .sets import make_tasks, resolve_models, split_unbuildable
from .store import RowStore, RunStats, reusable
from .task import STAGES, Task, run_task

#: Environment variables that pin the numeric libraries to one pool size (read when they start).
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
              "TF_NUM_INTEROP_THREADS")


def limit_threads(threads: int) -> None:
    """Pin this process's numeric libraries to ``threads`` threads (call before torch/TF start)."""
    for k in THREAD_ENV:
        os.environ[k] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)



def evaluate(models: Sequence[str] | None, datasets: Sequence[str], out_dir: str | os.PathLike, *,
             metrics: Sequence[str] = DEFAULT_METRICS, use_dnsmos: bool = True, workers: int | None = None,
             scheduler=None, limit: int | None = None, mirror=None, progress: bool = True,
             task_fn: Callable = run_task, return_stats: bool = False, store: str | os.PathLike | None = None):
    """Evaluate ``models`` (default: every available model whose weights are on this machine) on ``datasets``.

    Incremental: ``store`` (default ``out_dir``) holds the rows (``rows/``) and the enhanced audio
    (``audio/``) by content key; tasks whose row is there are reused, the others computed. Point several
    runs (e.g. one report folder a day) at one store and each computes only what changed. ``workers``:
    local processes (default: all cores); ``scheduler``: a Dask scheduler address or ``distributed.Client``
    to run the same tasks on a cluster. The table of this call's tasks is saved as ``out_dir/scores.csv``
    and ``scores.parquet``.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    store_dir = Path(store) if store is not None else out_dir
    names, not_here = (list(models), {}) if models else runnable_models()
    names, broken_specs = split_unbuildable(resolve_models(names), mirror=mirror)
    not_here.update(broken_specs)
    rows = RowStore(store_dir / "rows")
    tasks = make_tasks(names, datasets, store_dir, limit=limit, mirror=mirror, metrics=metrics,
                       use_dnsmos=use_dnsmos)
    done = rows.done()
    todo = [t for t in tasks if not reusable(t, rows, done)]
    stages = {"plan": time.perf_counter() - t0}
    kwargs = {"metrics": tuple(metrics), "use_dnsmos": use_dnsmos, "mirror": str(mirror) if mirror else None}
    runner = _run_dask if scheduler is not None else _run_local
    failed = runner(todo, rows, task_fn, kwargs, workers=workers, scheduler=scheduler, progress=progress,
                    stages=stages)
    t1 = time.perf_counter()
    table = rows.table([t.key for t in tasks])
    if len(table):
        # paths are where the files are now (a moved mirror changes no number)
        here = {(t.dataset, t.model, t.file): t for t in tasks}
        for col, attr in (("noisy_path", "noisy"), ("clean_path", "clean")):
            table[col] = [getattr(here[k], attr) for k in zip(table["dataset"], table["model"], table["file"])]
        out_dir.mkdir(parents=True, exist_ok=True)
        table.to_csv(out_dir / "scores.csv", index=False)
        if not missing_extras(["parquet"]):  # scores.parquet needs pyarrow (setoolkit[parquet])
            table.to_parquet(out_dir / "scores.parquet", index=False)
    stages["lookup"] = time.perf_counter() - t1
    stats = RunStats(len(tasks), len(tasks) - len(todo), len(todo) - len(failed), failed, not_here, stages)
    return (table, stats) if return_stats else table


def _finish(t: Task, row: dict, store: RowStore, stages: dict) -> None:
    for k, v in row.pop(STAGES, {}).items():
        stages[k] = stages.get(k, 0.0) + v
    store.put(t.key, row)


def _run_local(todo, store, task_fn, kwargs, *, workers, scheduler, progress, stages) -> list:
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    from tqdm.auto import tqdm

    workers = workers or cpu_count()
    failed = []
    bar = tqdm(total=len(todo), desc="evaluate", disable=not progress)
    if workers <= 1 or len(todo) <= 1:
        for t in todo:
            try:
                _finish(t, task_fn(t, **kwargs), store, stages)
            except Exception as exc:  # keep going: one bad file must not stop a batch
                failed.append((asdict(t), f"{type(exc).__name__}: {exc}"))
            bar.update()
        return failed
    # each process loads each model once; spawn keeps TF/torch/onnxruntime state out of the children, and
    # each child computes on one thread (as many processes as cores: more threads would only contend)
    by_model = sorted(todo, key=lambda t: (t.model, t.dataset, t.noisy))
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=limit_threads,
                             initargs=(1,)) as pool:
        futures = {pool.submit(task_fn, t, **kwargs): t for t in by_model}
        for fut in as_completed(futures):
            t = futures[fut]
            try:
                _finish(t, fut.result(), store, stages)
            except Exception as exc:
                failed.append((asdict(t), f"{type(exc).__name__}: {exc}"))
            bar.update()
    return failed


def _run_dask(todo, store, task_fn, kwargs, *, workers, scheduler, progress, stages) -> list:
    from distributed import Client, as_completed
    from tqdm.auto import tqdm

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    failed = []
    futures = [client.submit(task_fn, t, **kwargs, key=f"setoolkit-{t.key}-{time.time_ns()}", pure=False)
               for t in todo]
    tasks = {f.key: t for f, t in zip(futures, todo)}
    bar = tqdm(total=len(todo), desc="evaluate (dask)", disable=not progress)
    for fut in as_completed(futures):
        t = tasks[fut.key]
        try:
            _finish(t, fut.result(), store, stages)
        except Exception as exc:  # KilledWorker, model errors: recorded, the rest goes on
            failed.append((asdict(t), f"{type(exc).__name__}: {exc}"))
        bar.update()
    if client is not scheduler:
        client.close()
    return failed

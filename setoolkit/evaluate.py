"""Evaluation engine: every file x model of one or more sets -> one tidy, resumable table.

A *set* is a registry dataset name (``vbd16k``: paired ``clean/`` + ``noisy/``; ``dns3_blind``: noisy only)
or a local folder (``DIR/noisy`` + optional ``DIR/clean`` with matching names, or a folder of noisy files).
Each task (set, model, file) enhances the file (``model == "noisy"`` is the unprocessed baseline), writes the
output, and scores it: every intrusive metric against the clean file when there is one (after alignment),
DNSMOS P.835/P.808 always, plus processing time and real-time factor. One row per task.

Rows are written one JSON file each under ``<out>/rows/`` as tasks finish, so an interrupted run (a killed
worker, Ctrl-C) keeps what it finished and a rerun computes only the missing rows. Tasks run in local
processes (``workers``), or on a Dask distributed cluster when ``scheduler`` (an address or a
``distributed.Client``) is given: one code path, one task function.

Examples
--------
>>> table = evaluate(["dpcrn-quant"], ["vbd16k"], "runs/today")      # pandas DataFrame
>>> summarize(table)                                                 # means with bootstrap 95% CIs
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import assets
from .audio import read, resample, to_mono, write
from .errors import SetoolkitError
from .metrics import DEFAULT_METRICS, score_pair

NOISY = "noisy"
DNSMOS_KEYS = ("SIG", "BAK", "OVRL", "P808_MOS")
#: VoiceBank-DEMAND test set: the four nominal SNRs (dB) its noisy files were mixed at.
VBD_NOMINAL_SNRS = (2.5, 7.5, 12.5, 17.5)
AUDIO_EXTS = (".wav", ".flac", ".ogg", ".mp3")


@dataclass(frozen=True)
class Task:
    """One unit of work: enhance ``noisy`` with ``model`` (or take it as is for ``"noisy"``) and score it."""

    dataset: str
    model: str
    noisy: str
    clean: str | None
    output: str | None

    @property
    def key(self) -> str:
        return hashlib.sha1(f"{self.dataset}|{self.model}|{Path(self.noisy).name}".encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------ sets


def set_files(dataset: str | os.PathLike, *, mirror=None) -> list[tuple[Path, Path | None]]:
    """``(noisy, clean or None)`` for every file of a registry dataset or a local folder, sorted by name."""
    p = Path(dataset)
    if p.is_dir():
        noisy_dir = p / "noisy" if (p / "noisy").is_dir() else p
        clean_dir = p / "clean" if (p / "clean").is_dir() else None
        noisy = sorted(f for f in noisy_dir.iterdir() if f.suffix.lower() in AUDIO_EXTS)
        if not noisy:
            raise SetoolkitError(f"{noisy_dir}: no audio files")
        return [(f, (clean_dir / f.name) if clean_dir and (clean_dir / f.name).exists() else None) for f in noisy]
    names = [n for n in assets.registry() if n.startswith(f"data/{dataset}/")]
    if any(n.startswith(f"data/{dataset}/clean/") for n in names):
        return [(n, c) for c, n in assets.dataset_pairs(str(dataset), mirror=mirror)]
    return [(f, None) for f in assets.dataset_files(str(dataset), mirror=mirror)]


def _set_name(dataset) -> str:
    p = Path(dataset)
    return p.name if p.is_dir() else str(dataset)


def make_tasks(models: Sequence[str], datasets: Sequence[str], out_dir: Path, *, limit: int | None = None,
               mirror=None) -> list[Task]:
    """All tasks (noisy baseline first) for ``models`` x ``datasets``; outputs go to ``out_dir/audio/<set>/<model>/``."""
    tasks = []
    for ds in datasets:
        name = _set_name(ds)
        for noisy, clean in set_files(ds, mirror=mirror)[:limit]:
            for m in [NOISY, *models]:
                out = None if m == NOISY else str(Path(out_dir) / "audio" / name / m / Path(noisy).name)
                tasks.append(Task(name, m, str(noisy), str(clean) if clean else None, out))
    return tasks


# ------------------------------------------------------------------------------------------ one task

_MODELS: dict = {}


def _model(name: str, mirror=None):
    if name not in _MODELS:
        from .registry import load

        _MODELS[name] = load(name, mirror=mirror)
    return _MODELS[name]


def run_task(task: Task, *, metrics: Sequence[str] = DEFAULT_METRICS, use_dnsmos: bool = True,
             mirror=None) -> dict:
    """Enhance and score one file; returns its row (plain dict, JSON-serialisable)."""
    audio, sr = read(task.noisy)
    seconds = float("nan")
    if task.model == NOISY:
        y = audio
    else:
        model = _model(task.model, mirror)
        t0 = time.perf_counter()
        y = model.enhance(audio, sr, name=task.noisy)
        seconds = time.perf_counter() - t0
        write(task.output, y, sr)
    duration = audio.shape[1] / sr
    row = {"dataset": task.dataset, "model": task.model, "file": Path(task.noisy).name, "sr": sr,
           "duration": duration, "seconds": seconds, "rtf": seconds / duration,
           "noisy_path": task.noisy, "clean_path": task.clean,
           "output_path": task.output if task.output else task.noisy}
    mono = to_mono(y)[0]
    if task.clean:
        clean, sr_c = read(task.clean)
        ref = to_mono(clean)[0]
        if sr_c != sr:
            ref = resample(ref, sr_c, sr)
        row.update(score_pair(ref, mono, sr, metrics=metrics))
    if use_dnsmos:
        from .dnsmos import dnsmos

        row.update(dnsmos(mono, sr, mirror=mirror))
    return {k: (float(v) if isinstance(v, (np.floating, np.integer)) else v) for k, v in row.items()}


# ------------------------------------------------------------------------------------------ store


class RowStore:
    """Finished rows as one JSON file per task under ``root`` (atomic writes; safe to kill at any time)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def done(self) -> set[str]:
        return {p.stem for p in self.root.glob("*.json")}

    def put(self, key: str, row: dict) -> None:
        tmp = self.root / f".{key}.tmp"
        tmp.write_text(json.dumps(row))
        os.replace(tmp, self.root / f"{key}.json")

    def table(self):
        import pandas as pd

        rows = [json.loads(p.read_text()) for p in sorted(self.root.glob("*.json"))]
        if not rows:
            return pd.DataFrame()
        df = pd.DataFrame(rows).assign(_enhanced=lambda d: d["model"] != NOISY)
        return df.sort_values(["dataset", "file", "_enhanced", "model"]).drop(columns="_enhanced").reset_index(drop=True)


@dataclass
class RunStats:
    """What one :func:`evaluate` call did."""

    total: int
    skipped: int
    computed: int
    failed: list
    models_without_weights: dict = field(default_factory=dict)

    def __str__(self) -> str:
        text = (f"{self.total} tasks: {self.skipped} already done, {self.computed} computed, "
                f"{len(self.failed)} failed")
        if self.models_without_weights:
            text += f"; not run (weights not on this machine): {', '.join(self.models_without_weights)}"
        return text


# ------------------------------------------------------------------------------------------ engine


def evaluate(models: Sequence[str] | None, datasets: Sequence[str], out_dir: str | os.PathLike, *,
             metrics: Sequence[str] = DEFAULT_METRICS, use_dnsmos: bool = True, workers: int | None = None,
             scheduler=None, limit: int | None = None, mirror=None, progress: bool = True,
             task_fn: Callable = run_task, return_stats: bool = False):
    """Evaluate ``models`` (default: every available model whose weights are on this machine) on ``datasets``.

    Resumable: tasks with a row under ``out_dir/rows`` are skipped. ``workers``: local processes (default:
    all cores); ``scheduler``: a Dask scheduler address or ``distributed.Client`` to run the same tasks on a
    cluster. The table is also saved as ``out_dir/scores.csv`` and ``scores.parquet``.
    """
    from .registry import runnable_models

    out_dir = Path(out_dir)
    names, not_here = (list(models), {}) if models else runnable_models()
    store = RowStore(out_dir / "rows")
    tasks = make_tasks(names, datasets, out_dir, limit=limit, mirror=mirror)
    done = store.done()
    todo = [t for t in tasks if t.key not in done]
    kwargs = {"metrics": tuple(metrics), "use_dnsmos": use_dnsmos, "mirror": str(mirror) if mirror else None}
    runner = _run_dask if scheduler is not None else _run_local
    failed = runner(todo, store, task_fn, kwargs, workers=workers, scheduler=scheduler, progress=progress)
    table = store.table()
    if len(table):
        table.to_csv(out_dir / "scores.csv", index=False)
        table.to_parquet(out_dir / "scores.parquet", index=False)
    stats = RunStats(len(tasks), len(tasks) - len(todo), len(todo) - len(failed), failed, not_here)
    return (table, stats) if return_stats else table


def _run_local(todo, store, task_fn, kwargs, *, workers, scheduler, progress) -> list:
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    from tqdm.auto import tqdm

    from .metrics import _cpu_count

    workers = workers or _cpu_count()
    failed = []
    bar = tqdm(total=len(todo), desc="evaluate", disable=not progress)
    if workers <= 1 or len(todo) <= 1:
        for t in todo:
            try:
                store.put(t.key, task_fn(t, **kwargs))
            except Exception as exc:  # keep going: one bad file must not stop a batch
                failed.append((asdict(t), f"{type(exc).__name__}: {exc}"))
            bar.update()
        return failed
    # each process loads each model once; spawn keeps TF/torch/onnxruntime state out of the children
    by_model = sorted(todo, key=lambda t: (t.model, t.dataset, t.noisy))
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(task_fn, t, **kwargs): t for t in by_model}
        for fut in as_completed(futures):
            t = futures[fut]
            try:
                store.put(t.key, fut.result())
            except Exception as exc:
                failed.append((asdict(t), f"{type(exc).__name__}: {exc}"))
            bar.update()
    return failed


def _run_dask(todo, store, task_fn, kwargs, *, workers, scheduler, progress) -> list:
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
            store.put(t.key, fut.result())
        except Exception as exc:  # KilledWorker, model errors: recorded, the rest goes on
            failed.append((asdict(t), f"{type(exc).__name__}: {exc}"))
        bar.update()
    if client is not scheduler:
        client.close()
    return failed


# ------------------------------------------------------------------------------------------ summaries


def bootstrap_ci(values, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``values`` (NaNs dropped)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


SUMMARY_METRICS = ("pesq_wb", "stoi", "estoi", "si_sdr", "sdr", "OVRL", "SIG", "BAK", "P808_MOS")


def summarize(table, metrics: Sequence[str] = SUMMARY_METRICS, *, n_boot: int = 1000, seed: int = 0):
    """Per (dataset, model): ``n``, each metric's mean with a 95% bootstrap CI (``_lo``/``_hi``), the mean RTF,
    and the paired improvement over the noisy input (``delta_<metric>``, with its CI)."""
    import pandas as pd

    metrics = [m for m in metrics if m in table.columns and table[m].notna().any()]
    rows = []
    for (ds, model), g in table.groupby(["dataset", "model"], sort=False):
        base = table[(table.dataset == ds) & (table.model == NOISY)].set_index("file")
        row = {"dataset": ds, "model": model, "n": len(g), "rtf": float(g["rtf"].mean())}
        gi = g.set_index("file")
        for m in metrics:
            row[m] = float(gi[m].mean())
            row[f"{m}_lo"], row[f"{m}_hi"] = bootstrap_ci(gi[m], n_boot=n_boot, seed=seed)
            if model != NOISY and m in base:
                diff = (gi[m] - base[m].reindex(gi.index)).to_numpy()
                row[f"delta_{m}"] = float(np.nanmean(diff)) if np.isfinite(diff).any() else float("nan")
                row[f"delta_{m}_lo"], row[f"delta_{m}_hi"] = bootstrap_ci(diff, n_boot=n_boot, seed=seed)
        rows.append(row)
    return pd.DataFrame(rows)


def snr_bands(table, metrics: Sequence[str] = ("pesq_wb", "stoi", "si_sdr"), *,
              nominal: Sequence[float] = VBD_NOMINAL_SNRS):
    """Per-SNR-band means for a paired set: each file goes to the nominal SNR nearest to the measured SNR of
    its noisy input against its clean reference. Returns ``dataset, band, model, n, <metrics>``."""
    import pandas as pd

    if "snr" not in table.columns:
        return pd.DataFrame()
    base = table[(table.model == NOISY) & table["snr"].notna()][["dataset", "file", "snr"]]
    nominal = np.asarray(nominal)
    base = base.assign(band=nominal[np.abs(base["snr"].to_numpy()[:, None] - nominal[None]).argmin(axis=1)])
    merged = table.merge(base[["dataset", "file", "band"]], on=["dataset", "file"])
    metrics = [m for m in metrics if m in merged.columns]
    out = merged.groupby(["dataset", "band", "model"], sort=True)[metrics].mean()
    out.insert(0, "n", merged.groupby(["dataset", "band", "model"], sort=True).size())
    return out.reset_index()

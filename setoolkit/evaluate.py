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

import ast
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import assets, quality_models
from .audio import read, resample, to_mono, write
from .errors import SetoolkitError
from .metrics import DEFAULT_METRICS, score_pair
from .oracle import KINDS, oracle_enhance
from .registry import missing_extras, not_run_note

NOISY = "noisy"
#: The oracle-mask rows of paired sets (:mod:`setoolkit.oracle`): not models, the ceiling of each leaderboard.
ORACLES = tuple(f"oracle-{k}" for k in KINDS)
DNSMOS_KEYS = ("SIG", "BAK", "OVRL", "P808_MOS")
#: VoiceBank-DEMAND test set: the four nominal SNRs (dB) its noisy files were mixed at.
VBD_NOMINAL_SNRS = (2.5, 7.5, 12.5, 17.5)
AUDIO_EXTS = (".wav", ".flac", ".ogg", ".mp3")


@dataclass(frozen=True)
class Task:
    """One unit of work: enhance ``noisy`` with ``model`` (or take it as is for ``"noisy"``) and score it.

    ``content`` is the hash of what the row depends on besides the names (inputs, weights, code, metric
    set; see :func:`task_content`); :attr:`key` names the row in the store.
    """

    dataset: str
    model: str
    noisy: str
    clean: str | None
    output: str | None
    content: str = ""

    @property
    def key(self) -> str:
        text = f"{self.dataset}|{self.model}|{Path(self.noisy).name}|{self.content}"
        return hashlib.sha1(text.encode()).hexdigest()[:20]


# ------------------------------------------------------------------------------------------ content keys

#: Libraries whose version can change a row's numbers (absent ones count as "absent").
LIBRARIES = ("numpy", "scipy", "soxr", "soundfile", "onnxruntime", "torch", "tensorflow-cpu", "keras",
             "ai-edge-litert", "pesq", "pystoi", "fast-bss-eval", "pyrnnoise")
#: Modules left out of code hashes: the card table changes with every description edit; a model's key
#: takes the card fields that shape its output instead (:func:`model_fingerprint`).
_NOT_HASHED = {"setoolkit.registry"}


def _sha1(*parts) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()


def _module_path(module: str) -> Path | None:
    root = Path(__file__).parent
    rel = module.split(".")[1:]
    for cand in (root.joinpath(*rel).with_suffix(".py"), root.joinpath(*rel, "__init__.py")):
        if rel and cand.is_file():
            return cand
    return None


@lru_cache(maxsize=None)
def code_hash(*modules: str) -> str:
    """sha1 of the source of ``modules`` (``"setoolkit.metrics"``...) and of every setoolkit module they
    import, directly or not, at the top or inside functions (found statically, by parsing the imports)."""
    seen: dict[str, Path] = {}
    stack = list(modules)
    while stack:
        mod = stack.pop()
        path = _module_path(mod)
        if mod in seen or mod in _NOT_HASHED or path is None:
            continue
        seen[mod] = path
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                stack += [a.name for a in node.names if a.name.startswith("setoolkit.")]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                    target = f"{base}.{node.module}" if node.module else base
                elif (node.module or "").startswith("setoolkit"):
                    target = node.module
                else:
                    continue
                stack += [target, *(f"{target}.{a.name}" for a in node.names)]
    h = hashlib.sha1()
    for mod in sorted(seen):
        h.update(mod.encode() + b"\0" + seen[mod].read_bytes() + b"\0")
    return h.hexdigest()


@lru_cache(maxsize=1)
def library_versions() -> str:
    """``name==version`` of every library in :data:`LIBRARIES` (read from package metadata, not imported)."""
    from importlib.metadata import PackageNotFoundError, version

    def v(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "absent"

    return ",".join(f"{n}=={v(n)}" for n in LIBRARIES)


def file_hash(path: str | os.PathLike | None) -> str:
    """sha256 of a file's bytes (memoised on path, size and mtime); ``""`` for no file."""
    return assets.sha256_of(path) if path else ""


def model_fingerprint(name: str, mirror=None) -> str:
    """Hash of what a model's output depends on: the card fields that shape it (builder, rate, framing,
    hyper-parameters, weight names), the sha256 of each weights file as found now (looked up on every call: a file replaced
    in a running session is seen), and the code of its builder module."""
    if name == NOISY:
        return NOISY
    if name in ORACLES:
        return _sha1(name, code_hash("setoolkit.oracle"), library_versions())
    from .registry import get_card

    card = get_card(name)
    weights = [file_hash(assets.fetch(w, mirror=mirror, download=False)) for w in card.weights]
    module = getattr(card.builder, "__module__", "") or ""
    builder = f"{module}:{getattr(card.builder, '__qualname__', card.builder)}"
    return _sha1(card.name, builder, card.sample_rate, card.frame, card.hop, repr(card.config), card.weights,
                 weights, code_hash(module) if module else "", library_versions())


def metrics_fingerprint(metrics: Sequence[str], use_dnsmos: bool) -> str:
    """Hash of the metric set and of the code that reads, aligns and scores (this module and its imports)."""
    return _sha1(tuple(metrics), use_dnsmos, not missing_extras(["learned-mos"]),
                 code_hash(__name__, "setoolkit.dnsmos", "setoolkit.quality_models"),
                 library_versions())


def task_content(model: str, noisy, clean, *, metrics: Sequence[str], use_dnsmos: bool, mirror=None) -> str:
    """The content part of a row's key: input and reference sha256, model fingerprint, metric fingerprint."""
    return _sha1(file_hash(noisy), file_hash(clean), model_fingerprint(model, str(mirror) if mirror else None),
                 metrics_fingerprint(metrics, use_dnsmos))


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
               mirror=None, metrics: Sequence[str] = DEFAULT_METRICS, use_dnsmos: bool = True) -> list[Task]:
    """All tasks (noisy baseline first) for ``models`` x ``datasets``, with their content keys.

    Outputs go to ``out_dir/audio/<set>/<model>/<stem>.<key[:8]><ext>``: named by content, so a changed
    model never overwrites the output an older row (and an older report) points to.
    """
    tasks = []
    for ds in datasets:
        name = _set_name(ds)
        for noisy, clean in set_files(ds, mirror=mirror)[:limit]:
            for m in [NOISY, *models]:
                if m in ORACLES and clean is None:
                    continue  # an oracle needs the clean speech
                t = Task(name, m, str(noisy), str(clean) if clean else None, None,
                         task_content(m, noisy, clean, metrics=metrics, use_dnsmos=use_dnsmos, mirror=mirror))
                if m != NOISY:
                    p = Path(noisy)
                    t = replace(t, output=str(Path(out_dir) / "audio" / name / m / f"{p.stem}.{t.key[:8]}{p.suffix}"))
                tasks.append(t)
    return tasks


# ------------------------------------------------------------------------------------------ one task

_MODELS: dict = {}

#: Key of the per-stage seconds a task function returns beside its row (taken out before the row is stored).
STAGES = "_stages"


class _Clock:
    """Seconds per stage of one task: ``with clock("enhance"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, stage: str):
        return _Lap(self, stage)


class _Lap:
    def __init__(self, clock: _Clock, stage: str) -> None:
        self.clock, self.stage = clock, stage

    def __enter__(self):
        self.t0 = time.perf_counter()

    def __exit__(self, *exc):
        self.clock.seconds[self.stage] = self.clock.seconds.get(self.stage, 0.0) + time.perf_counter() - self.t0


#: Metrics score_pair computes together in one call (the composite measures reuse PESQ-WB).
SHARED_METRICS = (("pesq_wb", "csig", "cbak", "covl"),)


def metric_groups(metrics: Sequence[str]) -> list[tuple[str, ...]]:
    """``metrics`` as the calls that compute them: each group of :data:`SHARED_METRICS` present is one
    call (at the place of its first member), every other metric its own."""
    groups, seen = [], set()
    for m in metrics:
        if m in seen:
            continue
        group = next((tuple(x for x in g if x in metrics) for g in SHARED_METRICS if m in g), (m,))
        groups.append(group)
        seen.update(group)
    return groups


def _model(name: str, mirror=None):
    if name not in _MODELS:
        from .registry import load

        _MODELS[name] = load(name, mirror=mirror)
    return _MODELS[name]


def run_task(task: Task, *, metrics: Sequence[str] = DEFAULT_METRICS, use_dnsmos: bool = True,
             mirror=None) -> dict:
    """Enhance and score one file; returns its row (plain dict, JSON-serialisable) with the seconds each
    stage took under :data:`STAGES` (``load`` once per process and model, ``read``, ``enhance``, ``write``,
    ``align``, one per metric, ``dnsmos`` and ``distillmos`` (not for the oracle rows: their non-intrusive MOS
    would rank no system and cost a tenth of the job); and ``cpu``, the process CPU time of the whole task, which a
    busy machine does not inflate as it does the wall-clock stages)."""
    from .metrics import align, check_lengths

    clock = _Clock()
    cpu0 = time.process_time()
    with clock("read"):
        audio, sr = read(task.noisy)
        ref = None
        if task.clean:  # read once: the oracle masks and the intrusive metrics both need it
            clean, sr_c = read(task.clean)
            ref = resample(to_mono(clean)[0], sr_c, sr)
    seconds = float("nan")
    if task.model == NOISY:
        y = audio
    else:
        if task.model in ORACLES:
            t0 = time.perf_counter()
            y = np.stack([oracle_enhance(ref, ch, sr, task.model[len("oracle-"):]) for ch in audio])
        else:
            with clock("load"):
                model = _model(task.model, mirror)
            t0 = time.perf_counter()
            y = model.enhance(audio, sr, name=task.noisy)
        seconds = time.perf_counter() - t0
        clock.seconds["enhance"] = seconds
        with clock("write"):
            write(task.output, y, sr)
    duration = audio.shape[1] / sr
    row = {"dataset": task.dataset, "model": task.model, "file": Path(task.noisy).name, "sr": sr,
           "duration": duration, "seconds": seconds, "rtf": seconds / duration,
           "noisy_path": task.noisy, "clean_path": task.clean,
           "output_path": task.output if task.output else task.noisy}
    mono = to_mono(y)[0]
    if ref is not None:
        # score_pair's own steps, timed one by one: align once, then each metric (or group of metrics that
        # share a computation) on the aligned pair; the numbers are score_pair's
        ref32 = np.asarray(ref, dtype=np.float32).reshape(-1)
        est32 = np.asarray(mono, dtype=np.float32).reshape(-1)
        check_lengths(len(ref32), len(est32), sr, name=task.noisy)
        with clock("align"):
            est, lag = align(ref32, est32, sr)
        scores = {}
        for group in metric_groups(metrics):
            with clock("+".join(group)):
                scores.update(score_pair(ref32, est, sr, metrics=group, align_signals=False))
        row.update({m: scores[m] for m in metrics})
        row["lag"] = lag
    if use_dnsmos and task.model not in ORACLES:   # an oracle is a ceiling of the intrusive metrics, not a system
        from . import dnsmos

        with clock("load"):
            dnsmos.warm_up(mirror=mirror)
        with clock("dnsmos"):
            row.update(dnsmos.dnsmos(mono, sr, mirror=mirror))
        if not missing_extras(["learned-mos"]):  # DistillMOS needs setoolkit[learned-mos]; the core skips it
            with clock("distillmos"):
                row["distillmos"] = quality_models.distillmos(mono, sr)
    row = {k: (float(v) if isinstance(v, (np.floating, np.integer)) else v) for k, v in row.items()}
    row[STAGES] = {**clock.seconds, "cpu": time.process_time() - cpu0}
    return row


# ------------------------------------------------------------------------------------------ store


class RowStore:
    """Finished rows as one JSON file per content key under ``root`` (atomic writes; safe to kill at any time)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def done(self) -> set[str]:
        return {p.stem for p in self.root.glob("*.json")}

    def put(self, key: str, row: dict) -> None:
        tmp = self.root / f".{key}.tmp"
        tmp.write_text(json.dumps(row))
        os.replace(tmp, self.root / f"{key}.json")

    def get(self, key: str) -> dict:
        return json.loads((self.root / f"{key}.json").read_text())

    def table(self, keys: Sequence[str] | None = None):
        """The rows of ``keys`` (default: every stored row) as one table, noisy baseline first per file."""
        import pandas as pd

        paths = sorted(self.root.glob("*.json")) if keys is None else [self.root / f"{k}.json" for k in keys]
        rows = [json.loads(p.read_text()) for p in paths if p.exists()]
        if not rows:
            return pd.DataFrame()
        df = pd.DataFrame(rows).assign(_enhanced=lambda d: d["model"] != NOISY)
        return df.sort_values(["dataset", "file", "_enhanced", "model"]).drop(columns="_enhanced").reset_index(drop=True)


def _reusable(task: Task, store: RowStore, done: set[str]) -> bool:
    """A stored row can stand for ``task`` when its key is there and its enhanced audio still exists."""
    return task.key in done and (task.output is None or Path(task.output).exists())


@dataclass
class RunStats:
    """What one :func:`evaluate` call did."""

    total: int
    skipped: int
    computed: int
    failed: list
    models_without_weights: dict = field(default_factory=dict)
    #: seconds per stage summed over the tasks computed now (see :func:`run_task`), plus ``plan`` (listing
    #: files, hashing them, keys) and ``lookup`` (reading reused rows), both in the calling process
    stages: dict = field(default_factory=dict)

    def __str__(self) -> str:
        text = (f"{self.total} tasks: {self.skipped} already done, {self.computed} computed, "
                f"{len(self.failed)} failed")
        if self.models_without_weights:
            text += "; " + not_run_note(self.models_without_weights)
        return text


# ------------------------------------------------------------------------------------------ engine

#: Environment variables that pin the numeric libraries to one pool size (read when they start).
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
              "TF_NUM_INTEROP_THREADS")


def limit_threads(threads: int) -> None:
    """Pin this process's numeric libraries to ``threads`` threads (call before torch/TF start)."""
    import sys

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
    from .registry import runnable_models

    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    store_dir = Path(store) if store is not None else out_dir
    names, not_here = (list(models), {}) if models else runnable_models()
    rows = RowStore(store_dir / "rows")
    tasks = make_tasks(names, datasets, store_dir, limit=limit, mirror=mirror, metrics=metrics,
                       use_dnsmos=use_dnsmos)
    done = rows.done()
    todo = [t for t in tasks if not _reusable(t, rows, done)]
    stages = {"plan": time.perf_counter() - t0}
    kwargs = {"metrics": tuple(metrics), "use_dnsmos": use_dnsmos, "mirror": str(mirror) if mirror else None}
    runner = _run_dask if scheduler is not None else _run_local
    failed = runner(todo, rows, task_fn, kwargs, workers=workers, scheduler=scheduler, progress=progress,
                    stages=stages)
    t1 = time.perf_counter()
    table = rows.table([t.key for t in tasks])
    if len(table):
        # paths are where the files are now (a moved mirror changes no number)
        here = {(t.dataset, t.model, Path(t.noisy).name): t for t in tasks}
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

    from .metrics import _cpu_count

    workers = workers or _cpu_count()
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


SUMMARY_METRICS = ("pesq_wb", "csig", "cbak", "covl", "stoi", "estoi", "si_sdr", "sdr", "visqol", "OVRL", "SIG",
                   "BAK", "P808_MOS", "distillmos")


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

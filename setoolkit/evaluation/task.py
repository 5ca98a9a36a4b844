"""One unit of evaluation work: a :class:`Task` (set, model, file, content key) and the function that
enhances and scores it (:func:`run_task`), one row per task."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..audio import read, resample, to_mono, write
from ..metrics import learned as quality_models
from ..metrics import dnsmos
from ..metrics.scoring import DEFAULT_METRICS, align, check_lengths, score_pair
from ..model_specs import is_spec, parse_spec
from ..models.oracle import KINDS, oracle_enhance
from ..registry import load

NOISY = "noisy"
#: The oracle-mask rows of paired sets (:mod:`setoolkit.models.oracle`): not models, the ceiling of each leaderboard.
ORACLES = tuple(f"oracle-{k}" for k in KINDS)


@dataclass(frozen=True)
class Task:
    """One unit of work: enhance ``noisy`` with ``model`` (or take it as is for ``"noisy"``) and score it.

    ``content`` is the hash of what the row depends on besides the names (inputs, weights, code, metric
    set; see :func:`task_content`); ``file`` is the input's key in its set (the table's ``file`` column: its
    name, or its path relative to the set's ``noisy/`` folder; default the file name); :attr:`key` names the
    row in the store.
    """

    dataset: str
    model: str
    noisy: str
    clean: str | None
    output: str | None
    content: str = ""
    file: str = ""

    def __post_init__(self) -> None:
        if not self.file:
            object.__setattr__(self, "file", Path(self.noisy).name)

    @property
    def key(self) -> str:
        text = f"{self.dataset}|{self.model}|{self.file}|{self.content}"
        return hashlib.sha1(text.encode()).hexdigest()[:20]


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


def _files_stamp(files: Sequence[str | Path]) -> tuple:
    """(path, size, mtime, ctime) of each file: changes when any of them is rewritten."""
    out = []
    for f in files:
        try:
            st = os.stat(f)
            out.append((str(f), st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        except OSError:
            out.append((str(f), None))
    return tuple(out)


def _model(name: str, mirror=None):
    """The loaded model ``name``, once per process; a model spec whose file or weights files changed since it was
    built (a spec edited between two runs of one session) is built again."""
    cached = _MODELS.get(name)
    if cached is not None and _files_stamp(cached[1]) == cached[2]:
        return cached[0]
    model = load(name, mirror=mirror)
    files = list(getattr(model, "weights_files", ()) or ())
    if is_spec(name) and parse_spec(name)[0] == "file":
        files.append(parse_spec(name)[1])
    _MODELS[name] = (model, files, _files_stamp(files))
    return model


def run_task(task: Task, *, metrics: Sequence[str] = DEFAULT_METRICS, use_dnsmos: bool = True,
             mirror=None) -> dict:
    """Enhance and score one file; returns its row (plain dict, JSON-serialisable) with the seconds each
    stage took under :data:`STAGES` (``load`` once per process and model, ``read``, ``enhance``, ``write``,
    ``align``, one per metric, ``dnsmos`` and ``distillmos`` (not for the oracle rows: their non-intrusive MOS
    would rank no system and cost a tenth of the job); and ``cpu``, the process CPU time of the whole task, which a
    busy machine does not inflate as it does the wall-clock stages)."""
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
    row = {"dataset": task.dataset, "model": task.model, "file": task.file, "sr": sr,
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
                scores.update(score_pair(ref32, est, sr, metrics=group, align_signals=False, name=task.noisy,
                                             reference=task.clean))
        row.update({m: scores[m] for m in metrics})
        row["lag"] = lag
    if use_dnsmos and task.model not in ORACLES:   # an oracle is a ceiling of the intrusive metrics, not a system
        with clock("load"):
            dnsmos.warm_up(mirror=mirror)
        with clock("dnsmos"):
            row.update(dnsmos.dnsmos(mono, sr, mirror=mirror))
        with clock("distillmos"):
            row["distillmos"] = quality_models.distillmos(mono, sr)
    row = {k: (float(v) if isinstance(v, (np.floating, np.integer)) else v) for k, v in row.items()}
    row[STAGES] = {**clock.seconds, "cpu": time.process_time() - cpu0}
    return row

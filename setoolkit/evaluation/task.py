"""One unit of evaluation work: a :class:`Task` (set, model, file, content key) and the function that
enhances and scores it (:func:`run_task`), one row per task."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import read, resample, to_mono, write
from ..metrics import registry as metric_registry
from ..metrics.scoring import DEFAULT_METRICS, score_pair
from ..model_refs import NOISY, ORACLES, load
from ..model_specs import is_spec
from ..models.oracle import oracle_enhance
from .profile import Profile

__all__ = ["NOISY", "ORACLES", "STAGES", "Task", "run_task"]


@dataclass(frozen=True)
class Task:
    """One unit of work: enhance ``noisy`` with ``model`` (or take it as is for ``"noisy"``) and score it.

    ``model`` is the display name (the table's ``model`` column, :class:`~setoolkit.model_refs.ModelRef`'s
    ``name``); ``source`` what builds it (a zoo name, or a spec with its absolute path; default ``model``);
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
    source: str = ""

    def __post_init__(self) -> None:
        if not self.file:
            object.__setattr__(self, "file", Path(self.noisy).name)
        if not self.source:
            object.__setattr__(self, "source", self.model)

    @property
    def key(self) -> str:
        text = f"{self.dataset}|{self.model}|{self.file}|{self.content}"
        return hashlib.sha1(text.encode()).hexdigest()[:20]


_MODELS: dict = {}

#: Key of the per-stage seconds a task function returns beside its row (taken out before the row is stored).
STAGES = "_stages"


def _model(source: str, mirror=None):
    """The loaded model ``source`` (a zoo name, or an absolute spec), once per process; a model spec whose files
    changed since it was built (a spec or its helper edited between two runs of one session) is built again
    (:func:`setoolkit.model_specs.built_spec`)."""
    if is_spec(source) and source not in _MODELS:
        return load(source, mirror=mirror)
    if source not in _MODELS:
        _MODELS[source] = load(source, mirror=mirror)
    return _MODELS[source]


def run_task(task: Task, *, metrics: Sequence[str] = DEFAULT_METRICS, use_dnsmos: bool = True, mirror=None) -> dict:
    """Enhance and score one file; returns its row (plain dict, JSON-serialisable) with the seconds each
    stage took under :data:`STAGES` (``load`` once per process and model or metric, ``read``, ``enhance``,
    ``write``, ``align``, one per metric (its name: ``pesq_wb``, ``composite``, ``dnsmos``, ``distillmos``...);
    and ``cpu``, the process CPU time of the whole task, which a busy machine does not inflate as it does the
    wall-clock stages).

    ``metrics``: names, columns or metric specs (:mod:`setoolkit.metrics.registry`); ``use_dnsmos`` adds DNSMOS and
    DistillMOS (where installed). The intrusive metrics need the task's clean file; the non-intrusive ones are
    not computed for the oracle rows (their MOS would rank no system and cost a tenth of the job)."""
    metrics = metric_registry.resolve(metrics, use_dnsmos=use_dnsmos)
    profile = Profile()
    clock = profile.stage
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
            assert ref is not None  # make_tasks plans oracle rows only on paired sets
            y = np.stack([oracle_enhance(ref, ch, sr, task.model[len("oracle-") :]) for ch in audio])
        else:
            with clock("load"):
                model = _model(task.source, mirror)
            t0 = time.perf_counter()
            y = model.enhance(audio, sr, name=task.noisy)
        seconds = time.perf_counter() - t0
        profile.seconds["enhance"] = seconds
        assert task.output is not None  # every enhanced row has its output path (make_tasks)
        with clock("write"):
            write(task.output, y, sr)
    duration = audio.shape[1] / sr
    row = {
        "dataset": task.dataset,
        "model": task.model,
        "file": task.file,
        "sr": sr,
        "duration": duration,
        "seconds": seconds,
        "rtf": seconds / duration,
        "noisy_path": task.noisy,
        "clean_path": task.clean,
        "output_path": task.output if task.output else task.noisy,
    }
    mono = to_mono(y)[0]
    scores = score_pair(
        ref,
        mono,
        sr,
        metrics=metrics,
        name=task.noisy,
        reference=str(task.clean),
        reference_path=task.clean,
        clock=clock,
        mirror=mirror,
        non_intrusive=task.model not in ORACLES,  # an oracle is a ceiling of the intrusive metrics, not a system
    )
    row.update(scores)
    row = {k: (float(v) if isinstance(v, (np.floating, np.integer)) else v) for k, v in row.items()}
    row[STAGES] = {**profile.seconds, "cpu": time.process_time() - cpu0}
    return row

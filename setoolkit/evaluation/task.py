"""One unit of evaluation work: a :class:`Task` (set, model, file, content key) and the function that
enhances and scores it (:func:`run_task`), one row per task."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import read, resample, to_mono, write
from ..metrics import registry as metric_registry
from ..metrics.scoring import DEFAULT_METRICS, score_pair
from ..model_specs import is_spec, parse_spec
from ..models.oracle import KINDS, oracle_enhance
from ..registry import load
from .profile import Profile

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


def _files_stamp(files: Sequence[str | Path]) -> tuple:
    """(path, size, mtime, ctime) of each file: changes when any of them is rewritten."""
    out: list[tuple] = []
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
                model = _model(task.model, mirror)
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
        clock=clock,
        mirror=mirror,
        non_intrusive=task.model not in ORACLES,  # an oracle is a ceiling of the intrusive metrics, not a system
    )
    row.update(scores)
    row = {k: (float(v) if isinstance(v, (np.floating, np.integer)) else v) for k, v in row.items()}
    row[STAGES] = {**profile.seconds, "cpu": time.process_time() - cpu0}
    return row

"""One unit of evaluation work: a :class:`Task` (set, model, file, content key) and the function that
enhances and scores it (:func:`run_task`), one row per task."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..audio import read, resample, to_mono, write
from ..metrics import learned as quality_models
from ..metrics import dnsmos
from ..metrics.scoring import DEFAULT_METRICS, score_pair
from ..models.oracle import KINDS, oracle_enhance
from ..registry import load, missing_extras
from .profile import Profile

NOISY = "noisy"
#: The oracle-mask rows of paired sets (:mod:`setoolkit.models.oracle`): not models, the ceiling of each leaderboard.
ORACLES = tuple(f"oracle-{k}" for k in KINDS)


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


_MODELS: dict = {}

#: Key of the per-stage seconds a task function returns beside its row (taken out before the row is stored).
STAGES = "_stages"


def _model(name: str, mirror=None):
    if name not in _MODELS:
        _MODELS[name] = load(name, mirror=mirror)
    return _MODELS[name]


def run_task(task: Task, *, metrics: Sequence[str] = DEFAULT_METRICS, use_dnsmos: bool = True,
             mirror=None) -> dict:
    """Enhance and score one file; returns its row (plain dict, JSON-serialisable) with the seconds each
    stage took under :data:`STAGES` (``load`` once per process and model, ``read``, ``enhance``, ``write``,
    ``align``, one per metric, ``dnsmos`` and ``distillmos`` (not for the oracle rows: their non-intrusive MOS
    would rank no system and cost a tenth of the job); and ``cpu``, the process CPU time of the whole task, which a
    busy machine does not inflate as it does the wall-clock stages)."""
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
            y = np.stack([oracle_enhance(ref, ch, sr, task.model[len("oracle-"):]) for ch in audio])
        else:
            with clock("load"):
                model = _model(task.model, mirror)
            t0 = time.perf_counter()
            y = model.enhance(audio, sr, name=task.noisy)
        seconds = time.perf_counter() - t0
        profile.seconds["enhance"] = seconds
        with clock("write"):
            write(task.output, y, sr)
    duration = audio.shape[1] / sr
    row = {"dataset": task.dataset, "model": task.model, "file": Path(task.noisy).name, "sr": sr,
           "duration": duration, "seconds": seconds, "rtf": seconds / duration,
           "noisy_path": task.noisy, "clean_path": task.clean,
           "output_path": task.output if task.output else task.noisy}
    mono = to_mono(y)[0]
    if ref is not None:
        scores = score_pair(ref, mono, sr, metrics=metrics, name=task.noisy, clock=clock)
        row.update({m: scores[m] for m in metrics})
        lag = scores["lag"]
        row["lag"] = lag
    if use_dnsmos and task.model not in ORACLES:   # an oracle is a ceiling of the intrusive metrics, not a system
        with clock("load"):
            dnsmos.warm_up(mirror=mirror)
        with clock("dnsmos"):
            row.update(dnsmos.dnsmos(mono, sr, mirror=mirror))
        if not missing_extras(["learned-mos"]):  # DistillMOS needs setoolkit[learned-mos]; the core skips it
            with clock("distillmos"):
                row["distillmos"] = quality_models.distillmos(mono, sr)
    row = {k: (float(v) if isinstance(v, (np.floating, np.integer)) else v) for k, v in row.items()}
    row[STAGES] = {**profile.seconds, "cpu": time.process_time() - cpu0}
    return row

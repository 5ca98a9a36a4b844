"""Comparison player for JupyterLab (anywidget): pick a file and models, listen on one shared timeline.

For the chosen file the player holds every signal (noisy, clean when there is one, each model's output); all
share one timeline, so switching between them while playing keeps the position (seamless A/B). A region
dragged on the spectrogram loops; the spectrogram of the signal heard has a playhead; each signal has its
spectrogram thumbnail and its metric row from the evaluation table. The JavaScript component
(``static/player.js``) is the same one the daily report's listening section uses.

Examples
--------
>>> table = evaluate(["dpcrn-quant", "gtcrn"], ["vbd16k"], "runs/x", limit=5)
>>> ComparisonPlayer(table, dataset="vbd16k")          # displays in a notebook cell
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path

import anywidget
import numpy as np
import traitlets

from ..audio import read, to_mono
from ..evaluation import NOISY
from ..metrics import catalog
from .figures import spectrogram_image
from .leaderboard import PAIRED_METRICS, UNPAIRED_METRICS
from .players import metric_text, player_signals

STATIC = Path(__file__).parents[1] / "static"


def wav_bytes(audio: np.ndarray, sr: int) -> bytes:
    """16-bit PCM WAV bytes of ``(samples,)`` or ``(channels, samples)`` audio (for browser players)."""
    import soundfile as sf

    buf = io.BytesIO()
    a = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    sf.write(buf, np.clip(a, -1, 1).T, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def data_url(data: bytes, mime: str) -> str:
    """``data:`` URL of ``data`` (base64), playable/showable by a browser without a server."""
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _key(dataset: str, fname: str) -> str:
    return f"{dataset} / {fname}"


class ComparisonPlayer(anywidget.AnyWidget):
    """Listening player over an evaluation table (:func:`setoolkit.evaluation.evaluate`).

    ``files``/``file``: the ``"dataset / file"`` choices and the current one; ``models``/``selected``: the
    models in the table and those shown; ``signals``: the current file's signals (label, kind, audio and
    spectrogram as data URLs, metric texts); ``active``: the signal heard (set by the page when you switch).
    Changing ``file`` or ``selected`` (from Python or the page) rebuilds ``signals``.
    """

    _esm = STATIC / "player.js"
    _css = STATIC / "player.css"

    title = traitlets.Unicode("").tag(sync=True)
    files = traitlets.List(traitlets.Unicode()).tag(sync=True)
    file = traitlets.Unicode("").tag(sync=True)
    models = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected = traitlets.List(traitlets.Unicode()).tag(sync=True)
    signals = traitlets.List(traitlets.Dict()).tag(sync=True)
    metric_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    duration = traitlets.Float(0.0).tag(sync=True)
    active = traitlets.Unicode("noisy").tag(sync=True)

    def __init__(
        self,
        table,
        *,
        dataset: str | None = None,
        models: Sequence[str] | None = None,
        file: str | None = None,
        **kwargs,
    ) -> None:
        self.table = table if dataset is None else table[table["dataset"] == dataset]
        if not len(self.table):
            raise ValueError(f"ComparisonPlayer: no rows for dataset {dataset!r}")
        pairs = list(dict.fromkeys(zip(self.table["dataset"], self.table["file"])))
        self._pairs = {_key(d, f): (d, f) for d, f in pairs}
        all_models = [m for m in dict.fromkeys(self.table["model"]) if m != NOISY]
        unknown = set(models or ()) - set(all_models)
        if unknown:
            raise ValueError(
                f"ComparisonPlayer: models not in the table: {sorted(unknown)}; the table has {all_models}"
            )
        first = (
            file
            if file is None or file in self._pairs
            else next((k for k, (_, f) in self._pairs.items() if f == file), None)
        )
        if file is not None and first is None:
            raise ValueError(f"ComparisonPlayer: file {file!r} not in the table")
        self._cache: dict = {}
        self._ready = False
        super().__init__(
            files=list(self._pairs),
            file=first or next(iter(self._pairs)),
            models=all_models,
            selected=list(models or all_models),
            **kwargs,
        )
        self._ready = True
        self.refresh()

    @traitlets.observe("file", "selected")
    def _changed(self, change) -> None:
        if getattr(self, "_ready", False) and change["old"] != change["new"]:
            self.refresh()

    def _signal(self, label: str, kind: str, path: str, row, names, vmax):
        key = (label, str(path), vmax)
        if key not in self._cache:
            x, sr = read(path)
            mono = to_mono(x)[0]
            png, v = spectrogram_image(mono, sr, vmax=vmax)
            self._cache[key] = (
                {
                    "label": label,
                    "kind": kind,
                    "audio": data_url(wav_bytes(mono, sr), "audio/wav"),
                    "spec": data_url(png, "image/png"),
                },
                v,
                len(mono) / sr,
            )
        sig, v, dur = self._cache[key]
        return {**sig, "metrics": metric_text(row, names)}, v, dur

    def refresh(self) -> None:
        """Rebuild ``signals`` for the current file and selected models."""
        dataset, fname = self._pairs[self.file]
        rows = self.table[self.table["dataset"] == dataset]
        paired = "pesq_wb" in rows.columns and rows["pesq_wb"].notna().any()
        names = [m for m in (PAIRED_METRICS if paired else UNPAIRED_METRICS) if m in self.table.columns]
        chosen = [m for m in self.models if m in self.selected]
        signals, vmax, duration = [], None, 0.0
        for label, kind, path, row in player_signals(self.table, dataset, fname, chosen):
            sig, v, dur = self._signal(label, kind, path, row, names, vmax)
            vmax = v if vmax is None else vmax  # one dB scale per file: the noisy input's
            duration = duration or dur
            signals.append(sig)
        self.metric_names = [catalog.label(m) for m in names]
        self.duration = duration
        self.title = f"{dataset} / {fname}"
        self.signals = signals

    @property
    def labels(self) -> list[str]:
        """Labels of the current signals, in order (noisy, clean, models)."""
        return [s["label"] for s in self.signals]

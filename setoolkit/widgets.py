"""Comparison player for JupyterLab (ipywidgets): pick a file and models, listen side by side.

For the chosen file it shows one row per signal (noisy, clean when there is one, each enhanced output):
an audio player, its spectrogram, and its metric row from the evaluation table.

Examples
--------
>>> table = evaluate(["dpcrn-quant", "dpcrn-base"], ["vbd16k"], "runs/x", limit=5)
>>> ComparisonPlayer(table)          # displays in a notebook cell
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np

from .evaluate import NOISY

ROW_METRICS = ("pesq_wb", "stoi", "si_sdr", "OVRL", "P808_MOS", "rtf")


def wav_bytes(audio: np.ndarray, sr: int) -> bytes:
    """16-bit PCM WAV bytes of ``(samples,)`` or ``(channels, samples)`` audio (for browser players)."""
    import soundfile as sf

    buf = io.BytesIO()
    a = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    sf.write(buf, np.clip(a, -1, 1).T, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def spectrogram_png(audio: np.ndarray, sr: int, *, title: str = "") -> bytes:
    """PNG bytes of one small log-power spectrogram (dB colour scale, top 80 dB)."""
    import tempfile

    from .figures import spectrogram_grid

    with tempfile.TemporaryDirectory() as d:
        path = spectrogram_grid({title or "signal": np.asarray(audio).reshape(-1)}, sr, Path(d) / "s.png")
        return path.read_bytes()


class ComparisonPlayer:
    """ipywidgets player over an evaluation table (:func:`setoolkit.evaluate.evaluate`).

    ``widget`` is the root ``VBox``; ``rows`` the per-signal ``HBox`` rows of the current selection.
    """

    def __init__(self, table, *, dataset: str | None = None, models: Sequence[str] | None = None) -> None:
        import ipywidgets as w

        self.table = table if dataset is None else table[table["dataset"] == dataset]
        files = sorted(set(zip(self.table["dataset"], self.table["file"])))
        all_models = [m for m in dict.fromkeys(self.table["model"]) if m != NOISY]
        self.file_picker = w.Dropdown(options=[(f"{d} / {f}", (d, f)) for d, f in files], description="file")
        self.model_picker = w.SelectMultiple(options=all_models, value=tuple(models or all_models),
                                             description="models")
        self.rows_box = w.VBox()
        self.file_picker.observe(lambda _: self.refresh(), names="value")
        self.model_picker.observe(lambda _: self.refresh(), names="value")
        self.widget = w.VBox([w.HBox([self.file_picker, self.model_picker]), self.rows_box])
        self.rows: list = []
        self.refresh()

    def _ipython_display_(self):  # pragma: no cover - notebook display
        from IPython.display import display

        display(self.widget)

    def refresh(self) -> None:
        """Rebuild the rows for the selected file and models."""
        import ipywidgets as w

        from .audio import read

        dataset, fname = self.file_picker.value
        sel = self.table[(self.table["dataset"] == dataset) & (self.table["file"] == fname)]
        noisy_row = sel[sel["model"] == NOISY].iloc[0]
        entries = [("noisy", noisy_row["noisy_path"], noisy_row)]
        clean = noisy_row.get("clean_path")
        if isinstance(clean, str) and clean:
            entries.append(("clean", clean, None))
        for m in self.model_picker.value:
            r = sel[sel["model"] == m]
            if len(r):
                entries.append((m, r.iloc[0]["output_path"], r.iloc[0]))
        self.rows = []
        for label, path, row in entries:
            audio, sr = read(path)
            mono = audio.mean(axis=0)
            metrics = "" if row is None else " · ".join(
                f"{k} {row[k]:.2f}" for k in ROW_METRICS if k in row and row[k] == row[k])
            self.rows.append(w.HBox([
                w.VBox([w.HTML(f"<b>{label}</b><br><small>{metrics}</small>"),
                        w.Audio(value=wav_bytes(mono, sr), format="wav", autoplay=False)],
                       layout=w.Layout(width="360px")),
                w.Image(value=spectrogram_png(mono, sr, title=label), format="png", layout=w.Layout(width="520px")),
            ]))
        self.rows_box.children = tuple(self.rows)

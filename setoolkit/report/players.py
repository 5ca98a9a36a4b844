"""The listening section shared by the daily report and the JupyterLab player: which signals a file has in a table,
their metric rows, and the player entries (audio, spectrogram) written into a report folder."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..audio import read, to_mono
from ..evaluation import NOISY
from ..evaluation.sets import path_part
from ..metrics import catalog
from .escape import url_path
from .figures import spectrogram_image
from .leaderboard import PAIRED_METRICS, UNPAIRED_METRICS


def metric_text(row, names) -> dict:
    out = {}
    for m in names:
        v = row.get(m, np.nan) if row is not None else np.nan
        out[catalog.label(m)] = "" if v is None or not np.isfinite(v) else f"{v:.{catalog.digits(m)}f}"
    return out


def player_signals(table, dataset: str, fname: str, models: Sequence[str] | None = None):
    """``[(label, kind, path, row)]`` for one file: noisy, clean (when paired), then each model's output, in
    ``models`` order (default: the table's). ``row`` is the evaluation-table row (``None`` for clean)."""
    sel = table[(table["dataset"] == dataset) & (table["file"] == fname)]
    noisy = sel[sel["model"] == NOISY]
    if not len(noisy):
        raise ValueError(f"{dataset}/{fname}: no noisy row in the table")
    first = noisy.iloc[0]
    out = [("noisy", "noisy", first["noisy_path"], first)]
    clean = first.get("clean_path")
    if isinstance(clean, str) and clean:
        out.append(("clean", "clean", clean, None))
    for m in models if models is not None else [m for m in dict.fromkeys(sel["model"]) if m != NOISY]:
        r = sel[sel["model"] == m]
        if len(r):
            out.append((m, "model", r.iloc[0]["output_path"], r.iloc[0]))
    return out


def listening_players(table, out_dir: Path, dataset: str, models: Sequence[str], examples) -> list[dict]:
    """Copy/link the example audio into ``out_dir`` and draw the spectrograms; the player data per example."""
    paired = "pesq_wb" in table.columns and table[table["dataset"] == dataset]["pesq_wb"].notna().any()
    names = [m for m in (PAIRED_METRICS if paired else UNPAIRED_METRICS) if m in table.columns]
    players = []
    for fname, why in examples:
        # names from the file system as safe path parts: a key may be nested (a/x.wav) or absolute (pair
        # lists), a model may be a spec path; nothing may land outside the report folder
        parts = [path_part(p) for p in Path(fname).with_suffix("").parts if p not in ("/", "..", "")]
        folder = out_dir.joinpath("listening", path_part(dataset), *parts)
        folder.mkdir(parents=True, exist_ok=True)
        sigs = [sg for sg in player_signals(table, dataset, fname, models) if Path(sg[2]).exists()]
        if not sigs or sigs[0][0] != "noisy":
            continue  # the table's audio is not on this machine any more
        audio = {}
        for label, _kind, path, _row in sigs:
            x, sr = read(path)
            audio[label] = (to_mono(x)[0], sr)
        vmax = None  # one dB scale per file (the noisy input's), so level differences stay visible
        specs = {}
        for label, (a, sr) in audio.items():
            png, v = spectrogram_image(a, sr, vmax=vmax)
            vmax = v if vmax is None else vmax
            specs[label] = png
        signals = []
        for label, kind, path, row in sigs:
            src = Path(path).resolve()
            if out_dir.resolve() in src.parents:
                url = os.path.relpath(src, out_dir.resolve())
            else:  # a mono 16-bit FLAC copy (what the player plays) keeps the folder self-contained and small
                import soundfile as sf

                dst = folder / f"{path_part(label)}.flac"
                a, sr = audio[label]
                sf.write(dst, np.clip(a, -1, 1), sr, subtype="PCM_16")
                url = os.path.relpath(dst, out_dir)
            spec = folder / f"{path_part(label)}.png"
            spec.write_bytes(specs[label])
            signals.append(
                {
                    "label": label,
                    "kind": kind,
                    "audio": url_path(Path(url).as_posix()),
                    "spec": url_path(Path(os.path.relpath(spec, out_dir)).as_posix()),
                    "metrics": metric_text(row, names),
                }
            )
        a, sr = audio["noisy"]
        players.append(
            {
                "title": f"{dataset} / {fname}: {why}",
                "signals": signals,
                "metric_names": [catalog.label(m) for m in names],
                "duration": len(a) / sr,
                "active": "noisy",
                "files": [],
                "models": [],
                "selected": [],
            }
        )
    return players

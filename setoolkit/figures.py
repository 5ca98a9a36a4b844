"""Figures written by library functions (matplotlib, Agg): metric bars and spectrogram grids.

Every function takes data, writes one PNG and returns its path; nothing here computes metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def metric_bars(table, out: str | Path, *, metrics: Sequence[str] = ("pesq_wb", "stoi", "si_sdr"),
                dataset: str | None = None) -> Path:
    """Bar chart of per-model means with 95% normal confidence intervals, one panel per metric."""
    plt = _plt()
    units = {"pesq_wb": "MOS-LQO", "pesq_nb": "MOS-LQO", "stoi": "0..1", "estoi": "0..1", "si_sdr": "dB",
             "sdr": "dB", "snr": "dB", "segsnr": "dB", "lsd": "dB"}
    if dataset is not None:
        table = table[table["dataset"] == dataset]
    models = list(dict.fromkeys(table["model"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.4), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        g = table.groupby("model", sort=False)[m]
        mean = g.mean().reindex(models)
        ci = (1.96 * g.std(ddof=1) / np.sqrt(g.count())).reindex(models)
        ax.bar(range(len(models)), mean.values, yerr=ci.values, capsize=3,
               color=["0.6" if n == "noisy" else f"C{i}" for i, n in enumerate(models)])
        ax.set_xticks(range(len(models)), models, rotation=30, ha="right")
        ax.set_ylabel(f"{m} ({units.get(m, '')})")
        ax.set_title(f"{m}" + (f" on {dataset}" if dataset else ""))
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, out)


def spectrogram_grid(signals: Mapping[str, np.ndarray], sr: int, out: str | Path, *, n_fft: int | None = None,
                     title: str = "") -> Path:
    """One log-power spectrogram per named signal ``(samples,)``, shared dB colour scale (top 80 dB)."""
    from .stft import stft_np, window

    plt = _plt()
    n_fft = n_fft or (512 if sr <= 16000 else 1024 if sr <= 24000 else 2048)
    hop = n_fft // 4
    w = window("hann", n_fft, dtype=np.float64)
    specs = {k: 10 * np.log10(np.abs(stft_np(np.asarray(v, dtype=np.float64).reshape(-1), n_fft, hop, w)) ** 2
                              + 1e-10) for k, v in signals.items()}
    vmax = max(s.max() for s in specs.values())
    fig, axes = plt.subplots(len(specs), 1, figsize=(8, 2.2 * len(specs)), squeeze=False, sharex=True)
    im = None
    for ax, (name, s) in zip(axes[:, 0], specs.items()):
        extent = [0, s.shape[1] * hop / sr, 0, sr / 2000]
        im = ax.imshow(s, origin="lower", aspect="auto", extent=extent, vmin=vmax - 80, vmax=vmax, cmap="magma")
        ax.set_ylabel("kHz")
        ax.set_title(name, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("time (s)")
    fig.colorbar(im, ax=axes[:, 0].tolist(), label="power (dB)")
    if title:
        fig.suptitle(title)
    return _save(fig, out)


def _save(fig, out: str | Path) -> Path:
    plt = _plt()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out

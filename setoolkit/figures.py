"""Figures written by library functions (matplotlib, Agg): metric bars and spectrogram grids.

Every function takes data, writes one PNG and returns its path; nothing here computes metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np


UNITS = {"pesq_wb": "MOS-LQO", "pesq_nb": "MOS-LQO", "stoi": "0..1", "estoi": "0..1", "si_sdr": "dB", "sdr": "dB",
         "snr": "dB", "segsnr": "dB", "lsd": "dB", "OVRL": "DNSMOS", "SIG": "DNSMOS", "BAK": "DNSMOS",
         "P808_MOS": "DNSMOS P.808"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def metric_bars(summary, out: str | Path, *, metrics: Sequence[str] = ("pesq_wb", "stoi", "si_sdr", "OVRL"),
                dataset: str | None = None) -> Path:
    """Bars of per-model means with their 95% bootstrap CIs (``<metric>_lo``/``_hi`` columns of
    :func:`setoolkit.evaluate.summarize`), one panel per metric."""
    plt = _plt()
    if dataset is not None:
        summary = summary[summary["dataset"] == dataset]
    metrics = [m for m in metrics if m in summary.columns and summary[m].notna().any()]
    models = list(summary["model"])
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.4), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        mean = summary[m].to_numpy()
        lo, hi = summary[f"{m}_lo"].to_numpy(), summary[f"{m}_hi"].to_numpy()
        ax.bar(range(len(models)), mean, yerr=np.vstack([mean - lo, hi - mean]), capsize=3,
               color=["0.6" if n == "noisy" else f"C{i}" for i, n in enumerate(models)])
        ax.set_xticks(range(len(models)), models, rotation=30, ha="right")
        ax.set_ylabel(f"{m} ({UNITS.get(m, '')})")
        ax.set_title(m + (f" on {dataset}" if dataset else ""))
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


def _log_x(ax, values: np.ndarray) -> None:
    """Log x axis spanning at least a decade around ``values``, with plain number labels."""
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    v = values[np.isfinite(values) & (values > 0)]
    ax.set_xscale("log")
    if v.size:
        ax.set_xlim(v.min() / 3, v.max() * 3)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _save(fig, out: str | Path) -> Path:
    plt = _plt()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out


def quality_vs_rtf(summary, out: str | Path, *, metric: str = "pesq_wb", dataset: str | None = None) -> Path:
    """Scatter of each model's mean ``metric`` (with its CI) against its real-time factor (log scale)."""
    plt = _plt()
    s = summary[summary["model"] != "noisy"]
    if dataset is not None:
        s = s[s["dataset"] == dataset]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, r in enumerate(s.itertuples(index=False)):
        y, lo, hi = getattr(r, metric), getattr(r, f"{metric}_lo", np.nan), getattr(r, f"{metric}_hi", np.nan)
        ax.errorbar([r.rtf], [y], yerr=[[y - lo], [hi - y]] if lo == lo else None, fmt="o", color=f"C{i}",
                    capsize=3, label=r.model)
        ax.annotate(r.model, (r.rtf, y), textcoords="offset points", xytext=(5, 4 + 11 * (i % 3)), fontsize=8)
    _log_x(ax, s["rtf"].to_numpy())
    ax.set_xlabel("real-time factor (processing time / audio duration, log)")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} vs speed" + (f" on {dataset}" if dataset else ""))
    ax.grid(alpha=0.3)
    return _save(fig, out)


def quality_vs_size(summary, sizes: Mapping[str, float], out: str | Path, *, metric: str = "pesq_wb",
                    dataset: str | None = None, unit: str = "parameters (millions)") -> Path:
    """Scatter of each model's mean ``metric`` against its size (``sizes[model]``, e.g. parameters in millions)."""
    plt = _plt()
    s = summary[(summary["model"] != "noisy") & summary["model"].isin(list(sizes))]
    if dataset is not None:
        s = s[s["dataset"] == dataset]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, r in enumerate(s.itertuples(index=False)):
        ax.scatter([sizes[r.model]], [getattr(r, metric)], color=f"C{i}")
        ax.annotate(r.model, (sizes[r.model], getattr(r, metric)), textcoords="offset points", xytext=(5, 4),
                    fontsize=8)
    _log_x(ax, np.asarray([sizes[m] for m in s["model"]], dtype=float))
    ax.set_xlabel(unit + " (log)")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} vs model size" + (f" on {dataset}" if dataset else ""))
    ax.grid(alpha=0.3)
    return _save(fig, out)


def snr_curves(bands, out: str | Path, *, metric: str = "pesq_wb", dataset: str | None = None) -> Path:
    """``metric`` per nominal input SNR band (dB), one line per model (noisy input dashed)."""
    plt = _plt()
    b = bands if dataset is None else bands[bands["dataset"] == dataset]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, (model, g) in enumerate(b.groupby("model", sort=False)):
        ax.plot(g["band"], g[metric], "--" if model == "noisy" else "-", marker="o",
                color="0.5" if model == "noisy" else f"C{i}", label=model)
    ax.set_xlabel("input SNR band (dB)")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per input SNR" + (f" on {dataset}" if dataset else ""))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, out)


def waveforms(signals: Mapping[str, np.ndarray], sr: int, out: str | Path, *, start: int = 0,
              stop: int | None = None, title: str = "") -> Path:
    """Stacked waveforms of named signals ``(samples,)`` over samples ``[start, stop)``, time in ms, shared
    y axis: the figure for showing a delay before and after compensation."""
    plt = _plt()
    fig, axes = plt.subplots(len(signals), 1, sharex=True, sharey=True, figsize=(8, 1.7 * len(signals)),
                             squeeze=False)
    for ax, (name, sig) in zip(axes[:, 0], signals.items()):
        seg = np.asarray(sig).reshape(-1)[start:stop]
        ax.plot((start + np.arange(len(seg))) / sr * 1000, seg, lw=0.7)
        ax.set_title(name, fontsize=9, loc="left")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("time (ms)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, out)


def loss_curves(logs: Mapping[str, str | Path], out: str | Path, *, ylabel: str = "training loss") -> Path:
    """Training loss per step from the trainer's ``log.csv`` files, one line per named run."""
    import pandas as pd

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for name, path in logs.items():
        log = pd.read_csv(path)
        ax.plot(log["step"], log["loss"], label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, out)

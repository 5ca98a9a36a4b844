"""DPCRN studies: parity with the official repository's own outputs, the streaming-cache ablation, agreement
between runtime variants of one checkpoint, speed, and the known conversion faults. They use the models (and
the registry, metrics and audio reading); the models never use them. Notebooks 02-04 and
``benchmarks/bench_dpcrn.py`` run them.
"""

from __future__ import annotations

import io
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import torch

from .. import assets, metrics
from ..audio import read
from ..diagnostics.dpcrn_port_faults import PORT_FAULTS, faulty_port
from ..errors import ModelError
from ..models.dpcrn.enhancer import STREAMING_MODES, DpcrnNet, DpcrnTorchModel
from ..registry import load


def official_pairs(*, mirror=None) -> list[tuple[Path, Path]]:
    """``(noisy, upstream enhanced)`` paths of ``dpcrn_official_samples``: real DNS3 blind recordings and
    the DPCRN_DNS3 repository's own outputs for them (16-bit WAV, written by upstream ``main.py``)."""
    noisy = {p.name: p for p in assets.dataset_files("dpcrn_official_samples", mirror=mirror, subdir="noisy")}
    enh = {p.name: p for p in assets.dataset_files("dpcrn_official_samples", mirror=mirror, subdir="enhanced")}
    return [(noisy[n], enh[n]) for n in sorted(set(noisy) & set(enh))]


def as_pcm16(y: np.ndarray, sr: int = 16000) -> np.ndarray:
    """``y`` ``(samples,)`` as upstream saved it: written to a 16-bit WAV (``soundfile`` defaults) and read
    back as float32. Comparing against the official outputs needs this: their 16-bit rounding alone limits
    SI-SDR to about 60-80 dB."""
    buf = io.BytesIO()
    sf.write(buf, np.asarray(y, dtype=np.float32), sr, format="WAV", subtype="PCM_16")
    buf.seek(0)
    return sf.read(buf, dtype="float32")[0]


def upstream_parity(model: DpcrnNet, *, mirror=None, limit: int | None = None) -> list[dict]:
    """SI-SDR of ``model``'s default offline path against each official output, on the span both complete:
    upstream writes ``(frames - 1) * hop + n_fft`` samples (dropping the input tail that does not fill a frame)
    and its last ``n_fft - hop`` of them hold only one frame's half of the overlap-add, where setoolkit's output
    also has the next frame; that tail is left out. Returns ``[{"file", "seconds", "si_sdr", "si_sdr_float"}]``;
    ``si_sdr`` is after the same 16-bit rounding upstream's file went through, ``si_sdr_float`` before it."""
    rows = []
    for noisy_path, ref_path in official_pairs(mirror=mirror)[:limit]:
        x, _ = read(noisy_path)
        ref, _ = read(ref_path)
        y = model.enhance(x, model.sample_rate)[0]
        if len(y) < ref.shape[1]:
            raise ModelError(f"{ref_path.name}: upstream output has {ref.shape[1]} samples, model gave {len(y)}")
        span = ref.shape[1] - (model.n_fft - model.hop)
        y, r = y[:span], ref[0, :span]
        rows.append(
            {
                "file": noisy_path.name,
                "seconds": x.shape[1] / model.sample_rate,
                "si_sdr": metrics.si_sdr(r, as_pcm16(y)),
                "si_sdr_float": metrics.si_sdr(r, y),
            }
        )
    return rows


def streaming_ablation(model: DpcrnNet, xs: list[np.ndarray], cleans: list[np.ndarray] | None = None) -> list[dict]:
    """Stream each signal of ``xs`` with each of :data:`STREAMING_MODES`
    (:meth:`~setoolkit.models.dpcrn.enhancer.DpcrnNet.stream_many`);
    ``[{"mode", "vs_offline", "vs_clean", "gain_kept"}]``: mean SI-SDR (dB) against the offline output and,
    when ``cleans`` are given, against the clean references, and the share of the offline SI-SDR
    improvement over the noisy input that the mode keeps."""
    offline = [model.enhance_model_rate(x) for x in xs]
    rows = []
    for mode, (carry, overlap) in STREAMING_MODES.items():
        ys = model.stream_many(xs, carry=carry, overlap=overlap)
        row = {"mode": mode, "vs_offline": float(np.mean([metrics.si_sdr(o, y) for o, y in zip(offline, ys)]))}
        if cleans is not None:
            noisy = [metrics.si_sdr(c, x) for c, x in zip(cleans, xs)]
            off = [metrics.si_sdr(c, o) for c, o in zip(cleans, offline)]
            got = [metrics.si_sdr(c, y) for c, y in zip(cleans, ys)]
            row["vs_clean"] = float(np.mean(got))
            row["gain_kept"] = float(np.mean(np.subtract(got, noisy)) / np.mean(np.subtract(off, noisy)))
        rows.append(row)
    return rows


def agreement(outputs: dict[str, list[np.ndarray]]) -> list[dict]:
    """Pairwise agreement of variants run on the same inputs: ``outputs`` maps a variant name to its outputs
    (one ``(samples,)`` per input, same order). Returns ``[{"a", "b", "mean", "min"}]``: SI-SDR (dB) of b
    against a over the inputs. Float exports of one model agree to > 100 dB; int8 weights to 30-50 dB."""
    rows = []
    for a, b in combinations(outputs, 2):
        d = [metrics.si_sdr(x, y) for x, y in zip(outputs[a], outputs[b])]
        rows.append({"a": a, "b": b, "mean": float(np.mean(d)), "min": float(np.min(d))})
    return rows


def weights_bytes(model) -> int | None:
    """Size of what the model loads: the card's weight files; for a quantised PyTorch port, its serialised
    ``state_dict`` (int8 packed linear layers)."""
    if getattr(model, "framework", "") == "torch int8":
        buf = io.BytesIO()
        torch.save(model.torch_model.state_dict(), buf)
        return buf.getbuffer().nbytes
    return model.card.file_bytes


def speed(model, x: np.ndarray, *, repeats: int = 2) -> dict:
    """CPU speed of ``model`` on ``x`` ``(samples,)`` at the model rate, in this process's thread settings.

    ``rtf_offline``: best-of-``repeats`` offline time / audio time; ``rtf_stream``: hop-by-hop streaming time /
    audio time; ``hop_ms`` / ``hop_ms_p95``: mean / 95th-percentile compute time of one hop; ``hop_budget``:
    ``hop_ms`` / hop duration (below 1: real time on this core). Streaming entries are NaN for a model that
    cannot stream.
    """
    dur = len(x) / model.sample_rate
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.enhance_model_rate(x)
        best = min(best, time.perf_counter() - t0)
    if not model.card.streaming:
        nan = float("nan")
        return {
            "rtf_offline": best / dur,
            "rtf_stream": nan,
            "hop_ms": nan,
            "hop_ms_p95": nan,
            "hop_budget": nan,
            "hop_duration_ms": nan,
        }
    s = model.stream()
    hops = []
    for i in range(0, len(x) - s.hop + 1, s.hop):
        t0 = time.perf_counter()
        s.process(x[i : i + s.hop])
        hops.append(time.perf_counter() - t0)
    hop_s = s.hop / model.sample_rate
    return {
        "rtf_offline": best / dur,
        "rtf_stream": float(np.sum(hops)) / (len(hops) * hop_s),
        "hop_ms": 1000 * float(np.mean(hops)),
        "hop_ms_p95": 1000 * float(np.percentile(hops, 95)),
        "hop_budget": float(np.mean(hops)) / hop_s,
        "hop_duration_ms": 1000 * hop_s,
    }


def variant_table(names: list[str], pairs: list[tuple], *, speed_clip: np.ndarray | None = None, mirror=None):
    """One row per registry model in ``names``: mean SI-SDR / PESQ-WB / STOI on ``pairs``
    (``[(clean_path, noisy_path)]`` at any rate: enhanced at the file's rate, resampled through the model),
    weights size, parameters, algorithmic latency, and (with ``speed_clip``, 16 kHz) :func:`speed`.
    A ``noisy`` row gives the baseline. Returns a pandas DataFrame."""
    audio = [(read(c)[0][0], *read(n)) for c, n in pairs]
    score = lambda c, y, sr: metrics.score_pair(c, y, sr, metrics=["si_sdr", "pesq_wb", "stoi"])  # noqa: E731
    rows = [
        {
            "model": "noisy",
            **{
                k: float(np.nanmean([score(c, n[0], sr)[k] for c, n, sr in audio]))
                for k in ("si_sdr", "pesq_wb", "stoi")
            },
        }
    ]
    for name in names:
        m = load(name, mirror=mirror)
        scores = [score(c, m.enhance(n, sr)[0], sr) for c, n, sr in audio]
        row = {
            "model": name,
            "framework": getattr(m, "framework", m.card.framework),
            **{k: float(np.nanmean([s[k] for s in scores])) for k in ("si_sdr", "pesq_wb", "stoi")},
            "MB": (weights_bytes(m) or float("nan")) / 1e6,
            "params": m.card.params,
            "latency_ms": m.card.latency_ms,
        }
        if speed_clip is not None:
            row.update(speed(m, speed_clip, repeats=1))
        rows.append(row)
    return pd.DataFrame(rows)


def fault_parity(model: DpcrnNet, xs: list[np.ndarray]) -> dict[str, float]:
    """For each known conversion mistake (:data:`~setoolkit.diagnostics.dpcrn_port_faults.PORT_FAULTS`), the mean SI-SDR
    (dB) of the PyTorch port with that mistake against the correct port, offline on ``xs``."""
    ref = [model.enhance_model_rate(x) for x in xs]
    out = {}
    for fault in PORT_FAULTS:
        port = faulty_port(model.h5_weights, model.cfg, fault)
        bad = DpcrnTorchModel(model.card, model.cfg, model.h5_weights).with_torch_model(port)
        out[fault] = float(np.mean([metrics.si_sdr(a, bad.enhance_model_rate(x)) for a, x in zip(ref, xs)]))
    return out

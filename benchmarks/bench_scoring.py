"""Scoring the same real pairs with setoolkit, torchmetrics' functional audio metrics and direct library calls, in
one run: the numbers side by side, and each one's cost as ratios to setoolkit's.

    SETOOLKIT_MIRROR=../shared PYTHONPATH=$PWD /tmp/ref-tm/bin/python benchmarks/bench_scoring.py \
        [--sets vbd16k,vbd48k] [--limit N] [--out benchmarks/results] [--without torchmetrics]

torchmetrics is not in requirements-lock.txt; the reference venv sits outside the repository on top of the
project's own (so torch, pesq, pystoi, onnxruntime and librosa are the locked versions for all three)::

    python3.11 -m venv /tmp/ref-tm
    .venv/bin/python -c "import site; print(site.getsitepackages()[0])" \
        > /tmp/ref-tm/lib/python3.11/site-packages/project.pth
    /tmp/ref-tm/bin/pip install --no-deps torchmetrics==1.9.0 lightning-utilities==0.15.3

The noisy file of each (clean, noisy) pair of the paired sets is scored against its clean file with PESQ-WB,
STOI, ESTOI, SI-SDR and DNSMOS P.835/P.808 by

* ``setoolkit``: its batch path, :func:`setoolkit.metrics.score_files` with one worker per core (timed first, in
  fresh worker processes: their start and model loading are in its time), and the same code in this process
  (:func:`setoolkit.metrics.score_pair` on each pair, timed per metric through its ``clock``);
* ``torchmetrics``: ``torchmetrics.functional.audio``'s ``perceptual_evaluation_speech_quality``,
  ``short_time_objective_intelligibility``, ``scale_invariant_signal_distortion_ratio(zero_mean=True)`` and
  ``deep_noise_suppression_mean_opinion_score``, called as its documentation shows (float32 tensors as
  torchaudio loads them, onnxruntime with its default threads). Its DNSMOS downloads the ONNX files into
  ``~/.torchmetrics/DNSMOS`` when they are missing; the function has no argument for a folder, so the run points
  its module constant ``DNSMOS_DIR`` at links to ``weights/dnsmos`` of the mirror (same files, no download);
* ``direct``: ``pesq.pesq``, ``pystoi.stoi``, SI-SDR written out in numpy (Le Roux et al. 2019) and
  ``speechmos.dnsmos.run`` (the reference DNSMOS package), on float64 arrays as soundfile reads them.

The peers need equal lengths: both signals are cut to the shorter (VoiceBank-DEMAND's pairs differ by one
sample); setoolkit aligns the estimate to the reference (lag 0 on every pair here) and cuts or zero-pads it to the
reference's length. PESQ takes 8 or 16 kHz only and speechmos 16 kHz only: the peers resample 48 kHz files with
``librosa.resample`` (its default, soxr HQ), as torchmetrics' DNSMOS does inside; setoolkit resamples with soxr
VHQ. Each peer is warmed up on the first pair (sessions opened, not timed); then every pair is scored by the three
in turn, the order rotating per pair, so machine load falls on all alike. CPU time is the process's (all its
threads) plus, for the batch, its worker processes'. Writes ``scoring.csv`` (one row per file and implementation:
the scores, lag and per-metric seconds) and ``scoring.md`` (agreement and cost tables) to ``--out``.

Then, torch on one thread (as the evaluation workers run it), two batch sections and the verdicts:

* **batch forms** (:func:`batch_forms`): every metric with a ``Metric.batch`` (``spk_sim``; NISQA, DNSMOS and
  DistillMOS have none: batching them costs more CPU, see :mod:`setoolkit.metrics.batching`) through
  ``score_files`` in one process, file by file and in batches of ``--batch-files``: CPU per file, the ratio, the
  largest difference;
* **DNSMOS against torchmetrics' batch path** (:func:`dnsmos_vs_peer_batch`): torchmetrics scores a batch of
  equal-length clips with one ONNX call per window position; the same noisy clips (cut to the shortest of their
  rate) scored by setoolkit one file at a time, onnxruntime on one thread for both;
* **which is ahead** (:func:`verdicts`): per metric, the whole run, each batch form, DNSMOS against the batch peer.

Measured 2026-12-06 21:56 UTC on the shared 2-core build machine (others' load average 3-4.5 during the run,
10 min in all; benchmarks/results/scoring.md): 44 vbd16k + 6 vbd48k pairs. Equal to the direct calls once given
setoolkit's inputs (PESQ, STOI, SI-SDR exactly, ESTOI 1e-15, DNSMOS 2.7e-7); otherwise the length rule (3 pairs one
sample short: PESQ 1.2e-4) and, at 48 kHz, the resampler explain every difference. Per pair, one process: CPU
ratios peer / setoolkit PESQ 0.91-1.02, STOI 1.16-1.21, ESTOI 1.07-1.08 (the same libraries: machine noise), SI-SDR
7.4 (torchmetrics) / 1.2 (numpy), DNSMOS 2.3; all metrics 2.1x (torchmetrics) and 2.0x (direct) CPU. score_files
(2 workers, cold) took 50.2 s wall / 47.8 s CPU: torchmetrics' loop 1.6x its wall and 1.7x its CPU. Batch forms:
spk_sim through score_files in batches of 16, 1.67x less CPU than file by file (0.077 vs 0.128 s per pair; 1.43x
in an earlier run the same day), within 1.8e-7. DNSMOS one file at a time against torchmetrics' batch path on the
same clips: setoolkit ahead, 1.52x less CPU at 16 kHz (44 clips), 3.2x at 48 kHz (6 clips; scores 0.56 apart
there, SIG, from the resampler alone: 1.4e-7 given torchmetrics' 16 kHz copies: the 2.06 s clips are repeated to
9.01 s, so the resampler's edges enter every window four times).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata as md
import os
import resource
import tempfile
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import soundfile as sf

from setoolkit import assets
from setoolkit.audio import read, resample, to_mono
from setoolkit.metrics import dnsmos as st_dnsmos
from setoolkit.metrics import pesq_p862, registry, score_files, score_pair
from setoolkit.metrics import speaker as st_speaker

METRICS = ("pesq_wb", "stoi", "estoi", "si_sdr", "dnsmos")
#: The columns each metric writes (DNSMOS: four).
COLUMNS = {"dnsmos": ("SIG", "BAK", "OVRL", "P808_MOS")}
IMPLEMENTATIONS = ("setoolkit", "torchmetrics", "direct")
#: speechmos's and torchmetrics' DNSMOS keys, in setoolkit's names.
_SPEECHMOS = {"SIG": "sig_mos", "BAK": "bak_mos", "OVRL": "ovrl_mos", "P808_MOS": "p808_mos"}
_TM_DNSMOS = ("P808_MOS", "SIG", "BAK", "OVRL")  # the order of torchmetrics' output vector


def columns(metrics) -> list[str]:
    return [c for m in metrics for c in COLUMNS.get(m, (m,))]


def _cpu_all() -> float:
    """CPU seconds of this process (every thread) and of its reaped children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class Clock:
    """Wall and CPU seconds per stage, summed: ``clock(stage)`` is a context manager (score_pair's ``clock``)."""

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, stage: str):
        w, c = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[stage] = self.wall.get(stage, 0.0) + time.perf_counter() - w
            self.cpu[stage] = self.cpu.get(stage, 0.0) + time.process_time() - c


# ------------------------------------------------------------------------------------------ the three scorers


def _pair_16k(ref, est, sr):
    if sr == 16000:
        return ref, est
    return (librosa.resample(x, orig_sr=sr, target_sr=16000) for x in (ref, est))


def _si_sdr_numpy(ref, est) -> float:
    """SI-SDR in dB as Le Roux et al. 2019 write it, both signals made zero-mean (float64)."""
    ref, est = ref - ref.mean(), est - est.mean()
    target = np.dot(est, ref) / np.dot(ref, ref) * ref
    return float(10 * np.log10(np.sum(target**2) / np.sum((est - target) ** 2)))


def direct_scorers(metrics) -> dict[str, Callable]:
    """``{metric: f(ref, est, sr) -> {column: value}}`` calling pesq, pystoi, numpy and speechmos directly."""
    from pesq import pesq
    from pystoi import stoi

    def dnsmos(ref, est, sr):
        import speechmos.dnsmos

        x = est if sr == 16000 else librosa.resample(est, orig_sr=sr, target_sr=16000)
        out = speechmos.dnsmos.run(x, 16000)
        return {c: float(out[k]) for c, k in _SPEECHMOS.items()}

    table = {
        "pesq_wb": lambda ref, est, sr: {"pesq_wb": float(pesq(16000, *_pair_16k(ref, est, sr), "wb"))},
        "stoi": lambda ref, est, sr: {"stoi": float(stoi(ref, est, sr, extended=False))},
        "estoi": lambda ref, est, sr: {"estoi": float(stoi(ref, est, sr, extended=True))},
        "si_sdr": lambda ref, est, sr: {"si_sdr": _si_sdr_numpy(ref, est)},
        "dnsmos": dnsmos,
    }
    return {m: table[m] for m in metrics}


def torchmetrics_scorers(metrics, dnsmos_weights: Path) -> dict[str, Callable]:
    """``{metric: f(ref, est, sr) -> {column: value}}`` calling ``torchmetrics.functional.audio`` on float32
    tensors; its DNSMOS reads the ONNX files under ``dnsmos_weights`` (``p835/``, ``personalized/``)."""
    import torch
    from torchmetrics.functional.audio import dnsmos as tm_dnsmos
    from torchmetrics.functional.audio import (
        perceptual_evaluation_speech_quality,
        scale_invariant_signal_distortion_ratio,
        short_time_objective_intelligibility,
    )

    links = Path(tempfile.mkdtemp(prefix="tm-dnsmos-"))
    (links / "DNSMOS").symlink_to(dnsmos_weights / "p835")
    (links / "pDNSMOS").symlink_to(dnsmos_weights / "personalized")
    tm_dnsmos.DNSMOS_DIR = str(links)  # its download folder; no argument names it
    t = torch.from_numpy

    def pesq(ref, est, sr):
        r, e = _pair_16k(ref, est, sr)
        return {"pesq_wb": float(perceptual_evaluation_speech_quality(t(e), t(r), 16000, "wb"))}

    def dnsmos(ref, est, sr):
        out = tm_dnsmos.deep_noise_suppression_mean_opinion_score(t(est), sr, personalized=False)
        return dict(zip(_TM_DNSMOS, (float(v) for v in out)))

    table = {
        "pesq_wb": pesq,
        "stoi": lambda ref, est, sr: {"stoi": float(short_time_objective_intelligibility(t(est), t(ref), sr))},
        "estoi": lambda ref, est, sr: {
            "estoi": float(short_time_objective_intelligibility(t(est), t(ref), sr, extended=True))
        },
        "si_sdr": lambda ref, est, sr: {
            "si_sdr": float(scale_invariant_signal_distortion_ratio(t(est), t(ref), zero_mean=True))
        },
        "dnsmos": dnsmos,
    }
    return {m: table[m] for m in metrics}


def _read_peer(clean: Path, noisy: Path, dtype: str):
    ref, sr = sf.read(str(clean), dtype=dtype)
    est, sr_est = sf.read(str(noisy), dtype=dtype)
    assert sr == sr_est, (clean, noisy)
    n = min(len(ref), len(est))
    return np.ascontiguousarray(ref[:n]), np.ascontiguousarray(est[:n]), sr


def peer_pair(scorers: dict[str, Callable], dtype: str, clean: Path, noisy: Path, clock: Clock) -> dict:
    """One pair scored by a peer: read (``dtype``), cut to the shorter, each metric timed on ``clock``."""
    with clock("read"):
        ref, est, sr = _read_peer(clean, noisy, dtype)
    row: dict = {"sr": sr, "lag": 0}
    for metric, f in scorers.items():
        with clock(metric), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row.update(f(ref, est, sr))
    return row


def setoolkit_pair(metrics, clean: Path, noisy: Path, clock: Clock) -> dict:
    """One pair scored by setoolkit in this process, as a :func:`score_files` worker does it (read, mono, the
    pair's own rate), with ``clock`` timing ``read``, ``align`` and each metric."""
    with clock("read"):
        est, sr = read(noisy)
        ref, _ = read(clean)
    row: dict = {"sr": sr}
    row.update(score_pair(to_mono(ref)[0], to_mono(est)[0], sr, metrics=metrics, clock=clock, name=str(noisy)))
    return row


# ------------------------------------------------------------------------------------------ the comparison


def same_inputs_check(rows: list[dict], pairs, metrics=METRICS) -> dict[str, float]:
    """The direct calls again (untimed), given the inputs setoolkit scored: the estimate cut or zero-padded to the
    reference's length (the peers cut the reference instead), and setoolkit's 16 kHz copies (soxr VHQ) of the
    pairs not at 16 kHz for PESQ and DNSMOS. Returns the largest difference left to setoolkit's scores per column:
    near zero when those two input rules are the whole difference."""
    from pesq import pesq
    from pystoi import stoi

    mine = {(r["set"], r["file"]): r for r in rows if r["impl"] == "setoolkit"}
    worst: dict[str, float] = {}
    for clean, noisy in pairs:
        ref, sr = sf.read(str(clean), dtype="float32")
        raw, _ = sf.read(str(noisy), dtype="float32")
        est = np.zeros_like(ref)
        est[: min(len(ref), len(raw))] = raw[: len(ref)]
        r16, e16, raw16 = (resample(x, sr, 16000) for x in (ref, est, raw))
        got: dict = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for m in metrics:
                if m == "pesq_wb":
                    got[m] = float(pesq(16000, r16.astype(np.float64), e16.astype(np.float64), "wb"))
                elif m in ("stoi", "estoi"):
                    got[m] = float(stoi(ref.astype(np.float64), est.astype(np.float64), sr, extended=m == "estoi"))
                elif m == "si_sdr":
                    got[m] = _si_sdr_numpy(ref.astype(np.float64), est.astype(np.float64))
                elif m == "dnsmos":
                    got |= direct_scorers(["dnsmos"])["dnsmos"](None, raw16.astype(np.float64), 16000)
        st = mine[Path(clean).parents[1].name, Path(noisy).name]
        for c, v in got.items():
            worst[c] = max(worst.get(c, 0.0), abs(v - st[c]))
    return worst


def zero_mean_check(rows: list[dict], pairs) -> float:
    """Largest difference (dB) between setoolkit's SI-SDR and torchmetrics' with its default ``zero_mean=False``
    (the benchmark calls it with ``zero_mean=True``; untimed)."""
    import torch
    from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio as tm_si_sdr

    mine = {(r["set"], r["file"]): r["si_sdr"] for r in rows if r["impl"] == "setoolkit"}
    worst = 0.0
    for clean, noisy in pairs:
        ref, est, _ = _read_peer(clean, noisy, "float32")
        value = float(tm_si_sdr(torch.from_numpy(est), torch.from_numpy(ref)))
        worst = max(worst, abs(value - mine[Path(clean).parents[1].name, Path(noisy).name]))
    return worst


def explanations(agree: pd.DataFrame, same: dict[str, float], short: int, zero_mean: float | None) -> str:
    """The differences in words, with this run's numbers."""

    def most(col, a="setoolkit", b=None, rate="vbd16k"):
        part = agree[(agree["column"] == col) & (agree["a"] == a) & (agree["set"].str.contains(rate))]
        part = part if b is None else part[part["b"] == b]
        return float(part["max_abs"].max()) if len(part) else float("nan")

    lines = [
        "## Why they differ",
        "Two input rules make every difference between setoolkit and the direct calls. Given setoolkit's inputs "
        "(below), the direct calls equal setoolkit's scores to "
        + ", ".join(f"{c} {v:.1e}" for c, v in same.items())
        + ".",
        f"- **Length**: {short} pairs have an estimate one sample shorter than the reference. The peers cut the "
        "reference to the estimate (they need equal lengths), setoolkit keeps the reference and zero-pads the "
        f"aligned estimate (lag 0 on every pair). On those pairs PESQ moves by up to {most('pesq_wb', b='direct'):.1e} "
        f"and SI-SDR by up to {most('si_sdr', b='direct'):.1e} dB (vbd16k); STOI drops the silent tail frame.",
        f"- **Resampler (48 kHz)**: PESQ (up to {most('pesq_wb', rate='48k'):.1e}) and DNSMOS (up to "
        f"{max(most(c, rate='48k') for c in COLUMNS['dnsmos']):.3f}, BAK most) work at 16 kHz; the peers resample "
        "with librosa's default (soxr HQ, as torchmetrics' DNSMOS does inside), setoolkit with soxr VHQ. "
        "STOI/ESTOI are equal at 48 kHz: pystoi resamples to 10 kHz itself, for all three.",
        "- **torchmetrics vs direct**: PESQ and STOI equal; SI-SDR up to "
        f"{most('si_sdr', 'torchmetrics', rate='vbd'):.1e} dB (float32 arithmetic in torch); DNSMOS P.808 up to "
        f"{most('P808_MOS', 'torchmetrics', rate='vbd'):.1e} (float32 audio into the same librosa log-mel). "
        "torchmetrics' default `zero_mean=False` SI-SDR (not used here) differs from setoolkit's "
        + (f"by up to {zero_mean:.1e} dB." if zero_mean is not None else "(torchmetrics not run).")
        + " Its SI-SDR cost is torch's per-call overhead around a sub-millisecond sum.",
        "- **DNSMOS at 16 kHz** (up to "
        f"{max(most(c) for c in COLUMNS['dnsmos']):.1e}): the same ONNX models; setoolkit computes the recording's "
        "convolution rows and log-mel frames once for all windows (float32, another order of sums). No VAD is "
        "involved in any of the three: DNSMOS P.835/P.808 score every 9.01 s window (shorter clips repeated).",
        "- **ESTOI** within 1e-15: pystoi's ESTOI moves in its last bits from call to call (numpy's SIMD sums "
        "depend on memory alignment); `extended=True` is ESTOI for all three.",
    ]
    if zero_mean is None:  # torchmetrics not run
        lines = [line for line in lines if "torchmetrics vs direct" not in line]
    return "\n".join(lines)


def batch(pairs, metrics, workers: int) -> tuple[list[dict], float, float]:
    """setoolkit's batch path on ``pairs``: rows, wall and CPU seconds (parent and workers)."""
    w, c = time.perf_counter(), _cpu_all()
    rows = score_files(pairs, metrics=metrics, workers=workers, progress=False)
    return rows, time.perf_counter() - w, _cpu_all() - c


def _forget() -> None:
    """Drop setoolkit's per-process memos (DNSMOS and PESQ scores, reference speaker embeddings): time work."""
    st_dnsmos._MEMO.clear()
    pesq_p862._MEMO.clear()
    st_speaker._memo.clear()


def _cpu_wall(f):
    """``(f(), CPU seconds of this process, wall seconds)``."""
    w, c = time.perf_counter(), time.process_time()
    out = f()
    return out, time.process_time() - c, time.perf_counter() - w


def batch_forms(pairs, metrics=None, batch_files: int = 16) -> pd.DataFrame:
    """Each metric with a batch form (``Metric.batch``; default: every registered one) through
    :func:`score_files` in this process (``workers=1``), file by file (``batch_files=0``) and in batches of
    ``batch_files``, models loaded first (one untimed file), memos emptied before each: CPU and wall seconds per
    file, the ratio per-file / batch (above 1: the batch path is ahead) and the largest difference of its columns."""
    metrics = list(metrics or [m.name for m in registry.registered() if m.batch is not None])
    out = []
    for name in metrics:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score_files(pairs[:1], metrics=[name], workers=1, progress=False, batch_files=0)
            _forget()
            one, c1, w1 = _cpu_wall(
                lambda n=name: score_files(pairs, metrics=[n], workers=1, progress=False, batch_files=0)
            )
            _forget()
            many, cb, wb = _cpu_wall(
                lambda n=name: score_files(pairs, metrics=[n], workers=1, progress=False, batch_files=batch_files)
            )
        cols = registry.get(name).columns
        diff = max(
            (abs(a[c] - b[c]) for a, b in zip(one, many) for c in cols if not (np.isnan(a[c]) and np.isnan(b[c]))),
            default=0.0,
        )
        out.append(
            {"metric": name, "files": len(pairs), "batch_files": batch_files, "per_file_cpu_s": c1 / len(pairs)}
            | {"batch_cpu_s": cb / len(pairs), "cpu_ratio": c1 / cb, "per_file_wall_s": w1 / len(pairs)}
            | {"batch_wall_s": wb / len(pairs), "wall_ratio": w1 / wb, "max_abs": diff}
            | {"ahead": "batch" if c1 > cb else "per-file"}
        )
    return pd.DataFrame(out)


def dnsmos_vs_peer_batch(pairs, dnsmos_weights: Path, batch_files: int = 16) -> pd.DataFrame:
    """setoolkit's DNSMOS (one call per file: no batch form pays for it, see :mod:`setoolkit.metrics.batching`)
    against torchmetrics' batch path (one ``deep_noise_suppression_mean_opinion_score`` call per ``batch_files``
    clips: each 9.01 s window position of the whole batch in one ONNX call) on the same noisy clips, cut to the
    shortest clip of their rate (torchmetrics' batches need equal lengths), onnxruntime on one thread for both.
    CPU and wall seconds per clip, the ratio torchmetrics / setoolkit (above 1: setoolkit ahead), the largest
    difference (and its column), and the largest once setoolkit is given torchmetrics' 16 kHz copies of clips at
    other rates (the resampler: short clips are repeated to 9.01 s, so its edges enter every window several times)."""
    import torch
    from torchmetrics.functional.audio import dnsmos as tm_dnsmos

    torchmetrics_scorers([], dnsmos_weights)  # points torchmetrics' DNSMOS at the mirror's files
    by_rate: dict[int, list[np.ndarray]] = {}
    for _, noisy in pairs:
        x, sr = sf.read(str(noisy), dtype="float32")
        by_rate.setdefault(sr, []).append(x)
    out = []
    for sr, clips in by_rate.items():
        n = min(len(x) for x in clips)
        clips = [np.ascontiguousarray(x[:n]) for x in clips]
        batches = [torch.from_numpy(np.stack(clips[a : a + batch_files])) for a in range(0, len(clips), batch_files)]

        def peer(batches=batches, sr=sr):
            return [
                v
                for b in batches
                for v in tm_dnsmos.deep_noise_suppression_mean_opinion_score(b, sr, False, num_threads=1)
            ]

        def mine(clips=clips, sr=sr):
            return [st_dnsmos.dnsmos(x, sr, threads=1) for x in clips]

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peer(batches[:1]), mine(clips[:1])  # sessions opened, not timed
            _forget()
            theirs, ct, wt = _cpu_wall(peer)
            ours, cs, ws = _cpu_wall(mine)
            # untimed: setoolkit given torchmetrics' 16 kHz copies (librosa's soxr HQ, not setoolkit's soxr VHQ)
            same = (
                ours if sr == 16000 else mine([librosa.resample(x, orig_sr=sr, target_sr=16000) for x in clips], 16000)
            )
        diff = {c: max(abs(float(t[k]) - o[c]) for t, o in zip(theirs, ours)) for k, c in enumerate(_TM_DNSMOS)}
        same_diff = max(abs(float(t[k]) - o[c]) for t, o in zip(theirs, same) for k, c in enumerate(_TM_DNSMOS))
        out.append(
            {"sr": sr, "clips": len(clips), "seconds": n / sr, "batch_files": batch_files}
            | {"setoolkit_cpu_s": cs / len(clips), "torchmetrics_batch_cpu_s": ct / len(clips), "cpu_ratio": ct / cs}
            | {"wall_ratio": wt / ws, "max_abs": max(diff.values()), "worst": max(diff, key=lambda c: diff[c])}
            | {"max_abs_same_input": same_diff}
            | {"ahead": "setoolkit" if ct > cs else "torchmetrics batch"}
        )
    return pd.DataFrame(out)


def verdicts(cost: pd.DataFrame, totals: pd.DataFrame, forms: pd.DataFrame | None, peer: pd.DataFrame | None) -> str:
    """Which is ahead, in words: per metric (CPU per pair, one process), the whole run, the batch forms against
    setoolkit's per-file path, setoolkit's DNSMOS against torchmetrics' batch path."""
    lines = ["## Which is ahead (CPU)"]
    impls = [c[: -len("_cpu_s")] for c in cost.columns if c.endswith("_cpu_s")]
    for r in cost.to_dict("records"):
        best = min(impls, key=lambda i: r[f"{i}_cpu_s"])
        ratios = ", ".join(f"{i} {r[f'{i}_cpu_ratio']:.2f}x" for i in impls if f"{i}_cpu_ratio" in r)
        lines.append(f"- {r['stage']}: {best} ({ratios} setoolkit's CPU)")
    best = totals.loc[totals["cpu_s"].idxmin()]
    lines.append(f"- whole run: {best['run']} ({best['cpu_s']:.1f} s CPU)")
    for r in [] if forms is None else forms.to_dict("records"):
        lines.append(
            f"- batch form {r['metric']}: {r['ahead']} (per-file / batch CPU {r['cpu_ratio']:.2f}x over {r['files']} "
            f"files in batches of {r['batch_files']}; largest difference {r['max_abs']:.1e})"
        )
    for r in [] if peer is None else peer.to_dict("records"):
        lines.append(
            f"- DNSMOS at {r['sr']} Hz, {r['clips']} clips of {r['seconds']:.2f} s: {r['ahead']} "
            f"(torchmetrics' batch path / setoolkit per file CPU {r['cpu_ratio']:.2f}x; "
            f"largest difference {r['max_abs']:.1e}, {r['worst']}; {r['max_abs_same_input']:.1e} given its 16 kHz copy)"
        )
    return "\n".join(lines)


def compare(pairs, metrics=METRICS, implementations=("setoolkit", "direct"), *, dnsmos_weights=None, log=print):
    """Score ``pairs`` [(clean, noisy)] with each of ``implementations`` in this process, interleaved per pair.

    Returns ``(rows, clocks, warm)``: one dict per (pair, implementation) with ``set``, ``file``, ``impl``, the
    columns, ``lag``; a :class:`Clock` per implementation (seconds per stage over all pairs, warm-up excluded);
    and each implementation's warm-up seconds (one untimed scoring of the first pair: sessions, imports)."""
    score: dict[str, Callable] = {}
    for impl in implementations:
        if impl == "setoolkit":
            score[impl] = lambda c, n, clock: setoolkit_pair(metrics, c, n, clock)
        elif impl == "direct":
            fs = direct_scorers(metrics)
            score[impl] = lambda c, n, clock, fs=fs: peer_pair(fs, "float64", c, n, clock)
        elif impl == "torchmetrics":
            ft = torchmetrics_scorers(metrics, Path(dnsmos_weights))
            score[impl] = lambda c, n, clock, ft=ft: peer_pair(ft, "float32", c, n, clock)
        else:
            raise ValueError(f"unknown implementation {impl!r}; known: {IMPLEMENTATIONS}")
    warm = {}
    for impl, f in score.items():
        w = time.perf_counter()
        f(*pairs[0], Clock())
        warm[impl] = time.perf_counter() - w
    st_dnsmos._MEMO.clear()  # time the computation, not setoolkit's memos of the warm-up pair
    pesq_p862._MEMO.clear()
    clocks = {impl: Clock() for impl in score}
    rows = []
    order = list(score)
    for i, (clean, noisy) in enumerate(pairs):
        turn = order[i % len(order) :] + order[: i % len(order)]
        for impl in turn:
            before = dict(clocks[impl].wall)
            row = score[impl](clean, noisy, clocks[impl])
            spent = {f"{k}_wall_s": v - before.get(k, 0.0) for k, v in clocks[impl].wall.items()}
            rows.append({"set": Path(clean).parents[1].name, "file": Path(noisy).name, "impl": impl, **row} | spent)
        log(f"{i + 1}/{len(pairs)} {Path(noisy).name}")
    return rows, clocks, warm


def agreement(rows: list[dict], metrics=METRICS) -> pd.DataFrame:
    """Max and mean absolute difference per column, set and pair of implementations (``a - b`` over files)."""
    table = pd.DataFrame(rows)
    impls = [i for i in IMPLEMENTATIONS if i in set(table["impl"])]
    out = []
    for col in columns(metrics):
        wide = table.pivot_table(index=["set", "file"], columns="impl", values=col, aggfunc="first")
        for k, a in enumerate(impls):
            for b in impls[k + 1 :]:
                d = (wide[a] - wide[b]).abs()
                for s, part in d.groupby(level="set"):
                    out.append(
                        {"column": col, "set": s, "a": a, "b": b, "files": len(part), "max_abs": part.max()}
                        | {"mean_abs": part.mean()}
                    )
    return pd.DataFrame(out)


def self_check(a: list[dict], b: list[dict], cols, bar: float = 1e-12) -> str:
    """How far two setoolkit runs over the same pairs differ: equal bits in every column but ESTOI, whose pystoi
    value moves in the last bits from call to call (numpy's SIMD sums depend on the arrays' memory alignment);
    raises AssertionError past ``bar``."""
    worst = {c: max(abs(x[c] - y[c]) for x, y in zip(a, b) if not (np.isnan(x[c]) and np.isnan(y[c]))) for c in cols}
    assert max(worst.values()) <= bar, f"two setoolkit runs of the same pairs differ: {worst}"
    moved = {c: v for c, v in worst.items() if v}
    if not moved:
        return "bit-identical"
    return "bit-identical but " + ", ".join(f"{c} (max {v:.1e}, pystoi's own last-bit drift)" for c, v in moved.items())


def costs(clocks: dict[str, Clock], n: int, metrics=METRICS) -> pd.DataFrame:
    """Per metric (and ``total``): each implementation's wall and CPU seconds per pair and ratio to setoolkit's."""
    out = []
    for stage in (*metrics, "total"):
        row: dict = {"stage": stage}
        for impl, clock in clocks.items():
            wall = sum(clock.wall.values()) if stage == "total" else clock.wall.get(stage, np.nan)
            cpu = sum(clock.cpu.values()) if stage == "total" else clock.cpu.get(stage, np.nan)
            row[f"{impl}_wall_s"], row[f"{impl}_cpu_s"] = wall / n, cpu / n
        for impl in clocks:
            if impl != "setoolkit" and "setoolkit" in clocks:
                row[f"{impl}_wall_ratio"] = row[f"{impl}_wall_s"] / row["setoolkit_wall_s"]
                row[f"{impl}_cpu_ratio"] = row[f"{impl}_cpu_s"] / row["setoolkit_cpu_s"]
        out.append(row)
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------------------ the run


def _versions() -> str:
    names = ("torch", "torchmetrics", "pesq", "pystoi", "onnxruntime", "speechmos", "librosa", "soxr")
    found = []
    for name in names:
        try:
            found.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            found.append(f"{name} (absent)")
    return ", ".join(found)


def _table(df: pd.DataFrame) -> str:
    def fmt(x):
        return f"{x:.3g}" if isinstance(x, float) else str(x)

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines)


def _markdown(agree, cost, totals, header, notes="") -> str:
    table = _table

    parts = [header, "## Agreement (absolute differences over files)", table(agree)]
    parts += ["## Cost per pair, one process, warm (ratio = peer / setoolkit; below 1 = peer faster)", table(cost)]
    parts += ["## Whole run (all metrics, all pairs)", table(totals)] + ([notes] if notes else [])
    return "\n\n".join(parts) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="vbd16k,vbd48k")
    ap.add_argument("--limit", type=int, default=None, help="pairs per set")
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--without", default="", help="implementations to leave out, e.g. torchmetrics")
    ap.add_argument("--batch-files", type=int, default=16, help="files per batch call in the batch-form sections")
    args = ap.parse_args()
    pairs = [p for s in args.sets.split(",") for p in assets.dataset_pairs(s)[: args.limit]]
    impls = [i for i in IMPLEMENTATIONS if i not in args.without.split(",")]
    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    print(f"{len(pairs)} pairs ({args.sets}), {cores} cores, load {load:.1f}; {_versions()}")

    brows, bwall, bcpu = batch(pairs, METRICS, cores)  # first: its workers start from a process with no model
    print(f"setoolkit score_files, {cores} workers: {bwall:.1f} s wall, {bcpu:.1f} s CPU")
    weights = assets.fetch("weights/dnsmos/p835/model_v8.onnx").parents[1]
    rows, clocks, warm = compare(pairs, METRICS, impls, dnsmos_weights=weights, log=lambda s: None)

    mine = [r for r in rows if r["impl"] == "setoolkit"]
    drift = self_check(brows, mine, columns(METRICS))
    print(f"score_files vs the in-process loop: {drift}")
    agree, cost = agreement(rows), costs(clocks, len(pairs))
    totals = [
        {
            "run": f"setoolkit score_files, {cores} workers (cold: worker start, model loading)",
            "wall_s": bwall,
            "cpu_s": bcpu,
        }
    ]
    for impl, clock in clocks.items():
        label = "setoolkit score_pair loop" if impl == "setoolkit" else f"{impl} loop"
        totals.append({"run": f"{label}, one process (warm)", "wall_s": sum(clock.wall.values())})
        totals[-1] |= {"cpu_s": sum(clock.cpu.values()), "warm_up_s": warm[impl]}
    tot = pd.DataFrame(totals)
    tot["wall_vs_batch"], tot["cpu_vs_batch"] = tot["wall_s"] / bwall, tot["cpu_s"] / bcpu

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out / "scoring.csv", index=False, float_format="%.9g")
    header = (
        f"# bench_scoring: {len(pairs)} pairs ({args.sets}), {cores} cores, load average {load:.1f} at start, "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n\n{_versions()}\n\n"
        f"setoolkit's score_files (worker processes) vs its score_pair loop in this process: {drift}."
    )
    same = same_inputs_check(rows, pairs)
    zero_mean = zero_mean_check(rows, pairs) if "torchmetrics" in impls else None
    short = sum(sf.info(str(n)).frames < sf.info(str(c)).frames for c, n in pairs)
    import torch

    torch.set_num_threads(1)  # as the evaluation workers run torch: CPU seconds without idle spinning threads
    forms = batch_forms(pairs, batch_files=args.batch_files)
    peer = dnsmos_vs_peer_batch(pairs, weights, args.batch_files) if "torchmetrics" in impls else None
    sections = [
        "## Batch forms vs setoolkit's per-file path (score_files, one process, torch on one thread)",
        _table(forms),
    ]
    if peer is not None:
        sections += ["## DNSMOS: setoolkit per file vs torchmetrics' batch path (same clips, one thread)", _table(peer)]
    notes = "\n\n".join([explanations(agree, same, short, zero_mean), *sections, verdicts(cost, tot, forms, peer)])
    text = _markdown(agree, cost, tot, header, notes)
    (out / "scoring.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

"""``setoolkit doctor``: find why a model's inference fails, with one measured number per check.

Seven checks, each ``pass`` / ``warn`` / ``fail`` / ``skip`` with the number it measured and a one-line
suggestion:

1. weights      files present, sha256 as registered, model builds (no missing/unexpected keys)
2. input        declared rate vs content, channels, dtype/scale, clipping, DC offset, length vs one frame
3. output       length, finiteness, family self-checks (e.g. the phase pair satisfies cos^2 + sin^2 = 1 and
                is used in that role)
4. delay        lag between input and output vs the card's algorithmic latency (catches unaligned scoring)
5. streaming    SI-SDR(streaming, offline) on real audio and the first hop where they diverge
6. quality      SI-SDR / PESQ improvements on reference pairs vs the card's expected range
7. environment  torch/TF/onnxruntime versions and the installed torch's stft/istft contract

Examples
--------
>>> report = doctor("dpcrn-quant")
>>> print(report)          # table
>>> report.failed          # names of failed checks
"""

from __future__ import annotations

import importlib.util
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from .. import assets, metrics
from ..audio import DC_LIMIT, as_channels_first, read, resample
from ..errors import SetoolkitError
from ..model_refs import load
from ..model_specs import load_spec
from ..registry import get_card, names_a_spec
from ..stft import istft, stft, torch_istft_takes_real_layout, window
from ..streaming import stream_signal

CHECKS = ("weights", "input", "output", "delay", "streaming", "quality", "environment")


@dataclass
class Check:
    """One row of the doctor's table."""

    number: int
    name: str
    status: str  # pass | warn | fail | skip
    value: str
    suggestion: str = ""


class DoctorReport:
    """The checks of one doctor run; ``str()`` gives the table."""

    def __init__(self, model_name: str, checks: list[Check]) -> None:
        self.model_name = model_name
        self.checks = checks

    def __getitem__(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.status == "fail"]

    @property
    def root_cause(self) -> str | None:
        """The first failed check: the diagnosis (later checks it affects are shown as warnings)."""
        return self.failed[0] if self.failed else None

    @property
    def statuses(self) -> dict[str, str]:
        return {c.name: c.status for c in self.checks}

    def __str__(self) -> str:
        rows = [("#", "check", "status", "measured", "suggestion")]
        rows += [(str(c.number), c.name, c.status.upper(), c.value, c.suggestion) for c in self.checks]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [f"doctor: {self.model_name}"]
        lines += ["  ".join(v.ljust(w) for v, w in zip(r[:4], widths)) + ("  " + r[4] if r[4] else "") for r in rows]
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------ checks


def _check_weights(model_or_name, mirror) -> tuple[Check, Any]:
    if not isinstance(model_or_name, str):
        model = model_or_name
        card = getattr(model, "card", None)
        files = []
        for w in getattr(card, "weights", ()):
            try:
                files.append(assets.fetch(w, mirror=mirror))
            except SetoolkitError as exc:
                return Check(1, "weights", "fail", str(exc)[:160], "re-fetch the file: setoolkit fetch NAME"), None
        for w in getattr(model, "weights_files", ()) or ():  # a user model's declared weights=
            try:
                files.append(Path(w))
                digest = assets.sha256_of(w)
            except OSError as exc:
                return Check(
                    1, "weights", "fail", f"{w}: cannot be read ({exc.strerror or exc})", "fix weights= in the spec"
                ), None
            if not digest:
                return Check(1, "weights", "fail", f"{w}: empty or unreadable", "fix weights= in the spec"), None
        issues = getattr(model, "load_issues", [])
        if issues:
            return Check(
                1, "weights", "fail", "; ".join(issues)[:160], "the checkpoint does not match the architecture"
            ), model
        return Check(1, "weights", "pass", f"{len(files)} file(s) verified, model built"), model
    if names_a_spec(model_or_name):
        try:
            model = load_spec(model_or_name, mirror=mirror)
        except SetoolkitError as exc:
            return Check(
                1, "weights", "fail", str(exc)[:300], "fix the spec: the file, the callable, what it returns"
            ), None
        return _check_weights(model, mirror)
    card = get_card(model_or_name)
    try:
        for w in card.weights:
            assets.fetch(w, mirror=mirror)
        model = load(model_or_name, mirror=mirror)
    except SetoolkitError as exc:
        return Check(
            1,
            "weights",
            "fail",
            str(exc)[:200],
            "delete the file and fetch it again (setoolkit fetch NAME); check $SETOOLKIT_MIRROR",
        ), None
    issues = getattr(model, "load_issues", [])
    if issues:
        return Check(1, "weights", "fail", "; ".join(issues)[:160], "the checkpoint does not match the model"), model
    return Check(1, "weights", "pass", f"{len(card.weights)} file(s) sha256 ok, model built"), model


def median_f0(x: np.ndarray, sr: int) -> float:
    """Median fundamental (Hz) over the voiced, most energetic 100 ms frames of ``x`` ``(samples,)``
    (normalised autocorrelation, shortest strong period so octave errors go up, not down); NaN if unvoiced."""
    n, hop = int(0.1 * sr), int(0.05 * sr)
    if x.shape[-1] < 2 * n:
        return float("nan")
    frames = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), n)[::hop]
    energy = np.sum(frames**2, axis=1)
    lo, hi = int(sr / 400), int(sr / 30)
    f0s = []
    for fr in frames[energy >= np.quantile(energy, 0.7)]:
        fr = fr - fr.mean()
        spec = np.fft.rfft(fr, 2 * n)
        ac = np.fft.irfft(np.abs(spec) ** 2)[:n]
        if ac[0] <= 0:
            continue
        ac = ac / ac[0]
        seg = ac[lo:hi]
        if seg.max() < 0.5:
            continue
        f0s.append(sr / (lo + int(np.nonzero(seg >= 0.85 * seg.max())[0][0])))
    return float(np.median(f0s)) if len(f0s) >= 5 else float("nan")


def _rate_suspicion(x: np.ndarray, sr: int) -> str | None:
    """A reason when speech declared at ``sr`` sounds far too low: a median voice pitch below 60 Hz (no adult
    voice) means the samples were recorded at a higher rate, e.g. 48 kHz audio passed as 16 kHz."""
    f0 = median_f0(x, sr)
    if f0 == f0 and f0 < 60:
        return (
            f"median voice pitch {f0:.0f} Hz at the declared {sr} Hz (speech is 80-400 Hz): the audio was "
            f"probably recorded at ~{int(round(sr * 150 / f0 / 1000))} kHz"
        )
    return None


def _check_input(model, audio, sr: int, raw_dtype, file_sr: int | None = None) -> Check:
    problems, warnings_ = [], []
    if file_sr is not None and file_sr != sr:
        problems.append(
            f"declared {sr} Hz but the file is {file_sr} Hz: the model would hear it {file_sr / sr:.2f}x slower"
        )
    x = np.asarray(audio)
    if raw_dtype is not None and np.dtype(raw_dtype).kind in "iu":
        warnings_.append(f"integer samples ({raw_dtype}) scaled by full scale")
    x = x.astype(np.float64)
    peak = float(np.max(np.abs(x)))
    if peak > 64:
        problems.append(f"peak {peak:.0f} >> 1: integer samples stored as float (divide by 32768)")
    elif peak > 1.0:
        problems.append(f"peak {peak:.2f} > 1.0 (over full scale)")
    elif 0 < peak < 1e-3:
        warnings_.append(f"peak {peak:.2e}: very quiet (scaled twice?)")
    x2 = np.atleast_2d(x)
    if x2.shape[0] > 1:
        warnings_.append(f"{x2.shape[0]} channels: each enhanced separately (downmix=True to average)")
    clip = float(np.mean(np.abs(x2) >= 0.999 * max(peak, 1e-9))) if peak >= 0.99 else 0.0
    if clip > 1e-3:
        warnings_.append(f"{100 * clip:.2f}% clipped samples")
    dc = float(np.abs(x2.mean(axis=-1)).max())
    if dc > DC_LIMIT:
        warnings_.append(
            f"DC offset {dc:.3g}: enhance() removes it before the model (above {DC_LIMIT:g} full "
            "scale; streaming does not: remove it before stream.process)"
        )
    elif dc > 0.01 * max(peak, 1e-9) and dc > 1e-3:
        warnings_.append(f"DC offset {dc:.3g} (below {DC_LIMIT:g}: passed to the model unchanged)")
    frame = model.card.frame or 0
    if x2.shape[-1] < frame * sr / model.sample_rate:
        warnings_.append(f"{x2.shape[-1]} samples < one frame ({frame} at {model.sample_rate} Hz)")
    reason = _rate_suspicion(x2[0], sr) if peak <= 64 else None
    if reason:
        problems.append(reason)
    rate_note = (
        f"{sr} Hz -> model {model.sample_rate} Hz (resampled)" if sr != model.sample_rate else f"{sr} Hz = model rate"
    )
    if problems:
        return Check(
            2,
            "input",
            "fail",
            "; ".join(problems),
            "read files with setoolkit.audio.read (float, true rate) and pass that sr",
        )
    if warnings_:
        return Check(2, "input", "warn", f"{rate_note}; " + "; ".join(warnings_), "see the measured values")
    return Check(2, "input", "pass", f"{rate_note}, peak {peak:.2f}, {x2.shape[0]} channel(s)")


def _istft_layout_error(exc: BaseException) -> bool:
    text = "".join(traceback.format_exception(exc))
    return "istft" in text and ("complex" in text.lower())


def _check_output(model, x16: np.ndarray) -> tuple[Check, np.ndarray | None, BaseException | None]:
    try:
        y = model.enhance_model_rate(x16)
    except Exception as exc:  # a model failing is what the doctor is for
        return (
            Check(
                3,
                "output",
                "skip" if _istft_layout_error(exc) else "fail",
                f"model raised {type(exc).__name__}: {str(exc)[:120]}",
                "see check 7" if _istft_layout_error(exc) else "run the model on this input directly",
            ),
            None,
            exc,
        )
    y = np.asarray(y)
    problems = []
    if y.shape != x16.shape:
        problems.append(f"output shape {y.shape} != input {x16.shape}")
    if not np.all(np.isfinite(y)):
        problems.append("NaN/Inf in output")
    for name, ok, detail in getattr(model, "self_check", lambda: [])():
        if not ok:
            problems.append(f"{name}: {detail}")
    if problems:
        return (
            Check(3, "output", "fail", "; ".join(problems), "identify outputs by their properties, not by position"),
            y,
            None,
        )
    details = "; ".join(d for _, _, d in getattr(model, "self_check", lambda: [])())
    return (
        Check(3, "output", "pass", f"length {y.shape[-1]} = input, finite" + (f"; {details}" if details else "")),
        y,
        None,
    )


def _check_delay(model, x16: np.ndarray, y: np.ndarray | None) -> Check:
    if y is None:
        return Check(4, "delay", "skip", "no output")
    max_lag = max(int(0.1 * model.sample_rate), 2 * (model.card.frame or 0))
    _, lag = metrics.align(x16, y, model.sample_rate, max_lag_seconds=max_lag / model.sample_rate)
    card_ms = model.card.latency_ms or 0
    if abs(lag) > 2:
        return Check(
            4,
            "delay",
            "fail",
            f"output late by {lag} samples ({1000 * lag / model.sample_rate:.1f} ms; "
            f"card algorithmic latency {card_ms:g} ms)",
            "compensate the model's delay (drop its first samples) or align before scoring",
        )
    return Check(
        4,
        "delay",
        "pass",
        f"lag {lag} samples: output aligned with input (card algorithmic latency {card_ms:g} ms compensated)",
    )


def _check_streaming(model, x16: np.ndarray, offline: np.ndarray | None) -> Check:

    if not model.card.streaming:
        return Check(5, "streaming", "skip", "model is not causal")
    if offline is None:
        return Check(5, "streaming", "skip", "no offline output")
    try:
        streamed = stream_signal(model.stream(), x16, chunk=model.card.hop or 256)
    except Exception as exc:
        return Check(5, "streaming", "fail", f"stream raised {type(exc).__name__}: {str(exc)[:100]}")
    aligned, lag = metrics.align(offline, streamed, model.sample_rate, max_lag_seconds=0.05)
    n = len(offline) - abs(lag)
    a, b = offline[:n], aligned[:n]
    value = metrics.si_sdr(a, b)
    hop = model.card.hop or 256
    diverge = np.nonzero(np.abs(a - b) > 1e-4 * (np.abs(a).max() + 1e-12))[0]
    first = (
        f", first diverging hop {diverge[0] // hop} (t = {diverge[0] / model.sample_rate:.2f} s)"
        if len(diverge)
        else ""
    )
    text = f"SI-SDR(stream, offline) {value:.1f} dB{first}"
    if value > 60:
        return Check(5, "streaming", "pass", text)
    return Check(
        5,
        "streaming",
        "fail" if value < 30 else "warn",
        text,
        "carry conv/RNN caches between frames (state is being reset or dropped)",
    )


#: The improvement over the input (SI-SDR dB, PESQ-WB) a model with no expected range on its card (a user's model)
#: must show on the reference pairs to pass the quality check; below it (but above zero) the check warns.
USER_MARGIN = {"si_sdr": 1.0, "pesq_wb": 0.1}


def _check_quality(model, pairs: Sequence[tuple[Path, Path]] | None) -> Check:
    expected = getattr(model.card, "expected", {}) or {}
    if not pairs:
        return Check(6, "quality", "skip", "no reference pairs")
    gain = metrics.score_improvement(model.enhance, pairs, metrics=("si_sdr", "pesq_wb")).mean_delta()
    ds, dp = gain["si_sdr"], gain["pesq_wb"]
    text = f"{len(pairs)} pairs: dSI-SDR {ds:+.2f} dB, dPESQ-WB {dp:+.2f}"
    if ds <= 0 or dp <= 0:
        return Check(
            6,
            "quality",
            "fail",
            text + " (worse than the input)",
            "the model makes things worse: check the checks above",
        )
    want_s, want_p = expected.get("si_sdr"), cast(float, expected.get("pesq_wb"))  # given with si_sdr
    if want_s is None and (ds < USER_MARGIN["si_sdr"] or dp < USER_MARGIN["pesq_wb"]):
        return Check(
            6,
            "quality",
            "warn",
            text + f" (below the margin a model without a card must clear: {USER_MARGIN['si_sdr']:+.1f} dB, "
            f"{USER_MARGIN['pesq_wb']:+.2f})",
            "hardly better than the input: check the model does enhance",
        )
    if want_s is not None and (ds < want_s - 3.0 or dp < want_p - 0.3):
        return Check(
            6,
            "quality",
            "fail",
            text + f" (card expects >= {want_s:+.1f} dB, {want_p:+.2f})",
            "far below the model card",
        )
    if want_s is not None and (ds < want_s or dp < want_p):
        return Check(
            6,
            "quality",
            "warn",
            text + f" (card expects >= {want_s:+.1f} dB, {want_p:+.2f})",
            "a little below the card on this subset",
        )
    return Check(
        6,
        "quality",
        "pass",
        text
        + (
            f" (card >= {want_s:+.1f} dB, {want_p:+.2f})"
            if want_s
            else " (no card range: compared against the noisy input)"
        ),
    )


def environment() -> dict[str, str]:
    """Versions of the frameworks that matter for SE models, and the installed torch's istft contract."""
    import importlib.metadata as md

    import torch

    env = {"torch": torch.__version__, "threads": str(torch.get_num_threads())}
    for pkg in ("torchaudio", "tensorflow-cpu", "onnxruntime", "ai-edge-litert", "numpy"):
        try:
            env[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            env[pkg] = "-"
    env["istft_real_layout"] = "accepted" if torch_istft_takes_real_layout() else "refused (complex only)"
    return env


def _check_environment(model_error: BaseException | None) -> Check:
    if importlib.util.find_spec("torch") is None:  # the core install: no torch STFT contract to check
        return Check(
            7,
            "environment",
            "pass",
            "torch not installed (setoolkit core, no setoolkit[torch]): the torch STFT checks do not apply",
        )
    import torch

    env = environment()
    summary = (
        f"torch {env['torch']}, torchaudio {env['torchaudio']}, TF {env['tensorflow-cpu']}, "
        f"ORT {env['onnxruntime']}, {env['threads']} threads; torch.istft real (...,2) input "
        f"{env['istft_real_layout']}"
    )
    if model_error is not None and _istft_layout_error(model_error):
        return Check(
            7,
            "environment",
            "fail",
            f"the model calls torch.istft with a real (..., 2) tensor, which torch {env['torch']} refuses",
            "use setoolkit.stft.istft(spec, ..., layout='real_imag') (same result on torch 1.x and 2.x)",
        )
    x = torch.randn(4096, dtype=torch.float64)
    w = window("sine", 512, dtype=np.float64)
    err = float((istft(stft(x, 512, 256, w, center=True), 512, 256, w, center=True, length=4096) - x).abs().max())
    if err > 1e-6:
        return Check(
            7,
            "environment",
            "fail",
            summary + f"; stft round trip error {err:.1e}",
            "the installed torch's FFT is broken",
        )
    return Check(7, "environment", "pass", summary)


# ------------------------------------------------------------------------------------------ entry


def doctor(
    model,
    *,
    audio: str | Path | np.ndarray | None = None,
    sr: int | None = None,
    pairs: str | Path | Sequence[tuple[Path, Path]] | None = None,
    n_pairs: int | None = None,
    mirror=None,
) -> DoctorReport:
    """Run the seven checks on ``model`` (a registry name or an :class:`~setoolkit.models.common.base.Enhancer`).

    ``audio``: a file or an array (then ``sr`` is required) to test the I/O contract, delay and streaming on;
    default: the first real noisy file of ``vbd16k``. ``sr`` with a file: the rate the caller believes it has
    (a mismatch with the file's header fails the input check). ``pairs``: a folder with ``clean/`` and ``noisy/`` (or a
    list of path pairs) for the quality check; default: the 44 ``vbd16k`` pairs the cards' expected ranges were
    measured on. ``n_pairs`` keeps only the first pairs (faster, noisier against the card).
    """
    if sr is not None and (
        isinstance(sr, bool) or not isinstance(sr, (int, float, np.number)) or not sr > 0 or not np.isfinite(sr)
    ):
        raise SetoolkitError(f"doctor: sr={sr!r} is not a sample rate (a positive number of Hz)")
    name = model if isinstance(model, str) else getattr(model, "name", type(model).__name__)
    checks: list[Check] = []
    c1, loaded = _check_weights(model, mirror)
    checks.append(c1)
    if loaded is None:
        checks += [Check(k + 1, CHECKS[k], "skip", "model did not load") for k in range(1, 6)]
        checks.append(_check_environment(None))
        return DoctorReport(name, checks)

    raw_dtype, file_sr = None, None
    if audio is None:
        audio = assets.dataset_pairs("vbd16k", mirror=mirror)[0][1]
    if isinstance(audio, (str, Path)):
        x, file_sr = read(audio)
        sr = sr if sr is not None else file_sr
    else:
        if sr is None:
            raise ValueError("doctor(audio=array) needs sr=")
        raw_dtype = np.asarray(audio).dtype
        x = np.atleast_2d(np.asarray(audio))
    checks.append(_check_input(loaded, x, int(sr), raw_dtype, file_sr))
    try:
        xs = as_channels_first(x, name="doctor input")
    except SetoolkitError:
        xs = np.clip(np.atleast_2d(np.asarray(x, dtype=np.float32)) / max(np.abs(x).max(), 1.0), -1, 1)
    x16 = resample(xs[0], int(sr), loaded.sample_rate)
    c3, y, exc = _check_output(loaded, x16)
    checks.append(c3)
    checks.append(_check_delay(loaded, x16, y))
    checks.append(_check_streaming(loaded, x16, y))
    if isinstance(pairs, (str, Path)):
        p = Path(pairs)
        clean = {f.name: f for f in sorted((p / "clean").glob("*.wav"))}
        pair_list = [(clean[f.name], f) for f in sorted((p / "noisy").glob("*.wav")) if f.name in clean][:n_pairs]
    elif pairs is None:
        try:
            pair_list = assets.dataset_pairs("vbd16k", mirror=mirror)[:n_pairs]
        except SetoolkitError:
            pair_list = []
    else:
        pair_list = list(pairs)[:n_pairs]
    if exc is not None:
        checks.append(Check(6, "quality", "skip", "model raised on the input"))
    else:
        checks.append(_check_quality(loaded, pair_list))
    checks.append(_check_environment(exc))
    return DoctorReport(name, _attribute_symptoms(checks))


def _attribute_symptoms(checks: list[Check]) -> list[Check]:
    """A failed weights/input/output check explains failures of delay/streaming/quality measured after it:
    those are downgraded to warnings that name the check they follow from, so the table shows one diagnosis."""
    root = next((c for c in checks if c.status == "fail" and c.name in ("weights", "input", "output")), None)
    if root is None:
        return checks
    for c in checks:
        if c.number > root.number and c.name in ("delay", "streaming", "quality") and c.status == "fail":
            c.status = "warn"
            c.suggestion = f"likely a symptom of check {root.number} ({root.name}); fix that first"
    return checks

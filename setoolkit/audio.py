"""Audio in and out: read any file into float32 ``(channels, samples)``, resample, chunk, write atomically.

The resampler is soxr (libsoxr, "VHQ" quality: linear phase, 175 dB stop-band, pass-band to 0.91 of the
lower Nyquist), the same library librosa and torchaudio's sox backend use. One resampler is used everywhere,
so a 48 kHz file fed to a 16 kHz model goes through exactly the same filter as a metric's resampling.

Examples
--------
>>> audio, sr = read("noisy.wav")          # (channels, samples), float32 in [-1, 1]
>>> x16 = resample(audio, sr, 16000)       # (channels, samples16)
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .errors import AudioError

#: Longest stretch an offline model processes in one call; longer inputs are chunked with crossfades.
MAX_CHUNK_SECONDS = 10.0
#: Overlap between consecutive chunks, crossfaded with complementary raised-cosine ramps.
CHUNK_OVERLAP_SECONDS = 0.5


def read(path: str | os.PathLike, *, dtype: str = "float32") -> tuple[np.ndarray, int]:
    """Read a wav/flac/ogg/mp3 (any rate, bit depth, channel count).

    Returns
    -------
    audio : ndarray, shape ``(channels, samples)``, float32, full scale = 1.0
    sr : int, the file's sample rate in Hz

    Raises :class:`AudioError` naming the file when it is missing, empty, not audio, has no samples,
    or holds NaN/Inf samples.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: file not found")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty (0 bytes)")
    try:
        data, sr = sf.read(str(path), dtype=dtype, always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(
            f"{path}: not a readable audio file (unsupported format or corrupt: {exc}); "
            "supported: wav, flac, ogg, mp3"
        ) from None
    audio = np.ascontiguousarray(data.T)
    if audio.shape[1] == 0:
        raise AudioError(f"{path}: contains no samples (zero-length audio)")
    _check_finite(audio, str(path))
    return audio, int(sr)


def info(path: str | os.PathLike) -> dict:
    """Sample rate, channels, frames, duration (s), format and subtype of an audio file, without reading it."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: file not found")
    try:
        i = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(f"{path}: not a readable audio file ({exc})") from None
    return {"samplerate": i.samplerate, "channels": i.channels, "frames": i.frames,
            "duration": i.duration, "format": i.format, "subtype": i.subtype}


def write(path: str | os.PathLike, audio: np.ndarray, sr: int, *, subtype: str | None = None) -> Path:
    """Write ``audio`` (``(channels, samples)`` or ``(samples,)``) atomically: temp file in the same folder + rename.

    ``subtype`` is a soundfile subtype (``"PCM_16"``, ``"PCM_24"``, ``"FLOAT"``...); default: the format's default.
    A failure leaves no partial file at ``path``.
    """
    path = Path(path)
    audio = as_channels_first(audio, name=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = _format_of(path)
    subtype = subtype or sf.default_subtype(fmt)
    if subtype not in ("FLOAT", "DOUBLE", "VORBIS", "OPUS"):  # integer/compressed PCM: clip, never wrap
        clipped = int(np.sum(np.abs(audio) > 1.0))
        if clipped:
            warnings.warn(f"{path}: {clipped} samples beyond full scale clipped to [-1, 1] for {subtype}")
            audio = np.clip(audio, -1.0, 1.0)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".wav", dir=path.parent)
    os.close(fd)
    try:
        sf.write(tmp, audio.T, int(sr), subtype=subtype, format=fmt)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, (sf.LibsndfileError, ValueError, TypeError)):
            raise AudioError(f"{path}: cannot write audio ({exc})") from None
        raise
    return path


def _format_of(path: Path) -> str:
    ext = path.suffix.lower().lstrip(".")
    formats = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "mp3": "MP3", "aiff": "AIFF", "aif": "AIFF"}
    if ext not in formats:
        raise AudioError(f"{path}: unsupported output format {path.suffix!r}; use one of {sorted(formats)}")
    return formats[ext]


def as_channels_first(audio, *, name: str = "audio") -> np.ndarray:
    """Validate an array and return it as float32 ``(channels, samples)``.

    Accepts ``(samples,)`` (mono) or ``(channels, samples)``. Integer arrays are scaled by their full scale
    (int16 / 32768). Raises :class:`AudioError` for wrong rank, an apparent ``(samples, channels)`` layout,
    empty input, NaN/Inf, or float values far beyond full scale (unscaled integers).
    """
    if hasattr(audio, "detach"):  # torch tensor
        audio = audio.detach().cpu().numpy()
    audio = np.asarray(audio)
    if audio.dtype.kind in "iu":
        info_ = np.iinfo(audio.dtype)
        audio = (audio.astype(np.float64) / max(abs(info_.min), info_.max)).astype(np.float32)
    elif audio.dtype.kind != "f":
        raise AudioError(f"{name}: audio must be a float or integer array, got dtype {audio.dtype}")
    if audio.ndim == 1:
        audio = audio[None, :]
    if audio.ndim != 2:
        raise AudioError(f"{name}: audio must have shape (samples,) or (channels, samples), got rank {audio.ndim} "
                         f"shape {tuple(audio.shape)}")
    if audio.shape[0] > 16 and audio.shape[1] <= 16:
        raise AudioError(f"{name}: shape {tuple(audio.shape)} looks like (samples, channels); "
                         "setoolkit uses (channels, samples): pass audio.T")
    if audio.shape[1] == 0:
        raise AudioError(f"{name}: audio has no samples (shape {tuple(audio.shape)})")
    _check_finite(audio, name)
    peak = float(np.max(np.abs(audio)))
    if peak > 64.0:
        raise AudioError(f"{name}: peak {peak:.0f} is far beyond full scale 1.0; this looks like integer "
                         "samples stored as float: divide by 32768 (16-bit) or 2**23 (24-bit)")
    return np.ascontiguousarray(audio, dtype=np.float32)


def _check_finite(audio: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(audio)
    if bad.any():
        what = "all samples are" if bad.all() else f"{int(bad.sum())} of {audio.size} samples are"
        raise AudioError(f"{name}: {what} NaN or Inf")


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Downmix ``(channels, samples)`` to ``(1, samples)`` by averaging channels."""
    return audio.mean(axis=0, keepdims=True)


def resample(audio: np.ndarray, sr_in: int, sr_out: int, *, length: int | None = None) -> np.ndarray:
    """Resample ``(channels, samples)`` (or ``(samples,)``) from ``sr_in`` to ``sr_out`` Hz with soxr VHQ.

    ``length``: trim or zero-pad the result to exactly this many samples (used when resampling back, so
    the output has the input's length). Returns float32 of the same rank.
    """
    if sr_in <= 0 or sr_out <= 0:
        raise AudioError(f"sample rates must be positive, got sr_in={sr_in}, sr_out={sr_out}")
    x = np.asarray(audio, dtype=np.float32)
    if sr_in != sr_out:
        if x.ndim == 1:
            x = soxr.resample(x, sr_in, sr_out, quality="VHQ")
        else:
            x = soxr.resample(x.T, sr_in, sr_out, quality="VHQ").T
    if length is not None:
        x = fit_length(x, length)
    return np.ascontiguousarray(x, dtype=np.float32)


def fit_length(x: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad the last axis of ``x`` to ``length`` samples."""
    n = x.shape[-1]
    if n >= length:
        return x[..., :length]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, length - n)]
    return np.pad(x, pad)


def crossfade_ramp(n: int) -> np.ndarray:
    """Raised-cosine fade-in of ``n`` samples; ``fade_in + fade_in[::-1] == 1`` exactly (sin^2 + cos^2)."""
    t = (np.arange(n) + 0.5) / n
    return np.sin(0.5 * np.pi * t) ** 2


def chunk_bounds(n_samples: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of chunks of at most ``chunk`` samples overlapping by ``overlap``, covering ``n_samples``."""
    if n_samples <= chunk:
        return [(0, n_samples)]
    if not 0 <= overlap < chunk:
        raise ValueError(f"overlap must be in [0, chunk), got overlap={overlap}, chunk={chunk}")
    step = chunk - overlap
    n_chunks = int(np.ceil((n_samples - overlap) / step))
    step = int(np.ceil((n_samples - overlap) / n_chunks))  # equal chunks, last one not a sliver
    bounds = []
    for k in range(n_chunks):
        start = k * step
        bounds.append((start, min(start + step + overlap, n_samples)))
    return bounds


def process_in_chunks(fn, x: np.ndarray, sr: int, *, max_seconds: float = MAX_CHUNK_SECONDS,
                      overlap_seconds: float = CHUNK_OVERLAP_SECONDS) -> np.ndarray:
    """Apply ``fn: (samples,) -> (samples,)`` to a 1-D signal in chunks of at most ``max_seconds``.

    Consecutive chunks overlap by ``overlap_seconds`` and are joined with complementary raised-cosine
    crossfades, so there is no click at a seam even when ``fn`` starts each chunk from a fresh state.
    Nothing is truncated: the output has exactly ``len(x)`` samples.
    """
    n = x.shape[-1]
    chunk = int(round(max_seconds * sr))
    overlap = int(round(overlap_seconds * sr))
    bounds = chunk_bounds(n, chunk, overlap)
    if len(bounds) == 1:
        return _checked_len(fn(x), n)
    out = np.zeros(n, dtype=np.float32)
    for k, (start, stop) in enumerate(bounds):
        y = _checked_len(fn(x[start:stop]), stop - start).astype(np.float32)
        if k > 0:  # fade in over the overlap with the previous chunk
            y[:overlap] *= crossfade_ramp(overlap)
        if k < len(bounds) - 1:  # fade out over the overlap with the next chunk
            y[-overlap:] *= crossfade_ramp(overlap)[::-1]
        out[start:stop] += y
    return out


def _checked_len(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != n:
        raise RuntimeError(f"model returned {y.shape[0]} samples for an input of {n}")
    return y

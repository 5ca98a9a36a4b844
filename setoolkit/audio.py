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
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .errors import AudioError

#: Sample rates (Hz) a real recording can have; a header outside this range is a corrupt or mislabelled file.
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 4000, 384000
#: Longest file :func:`read` accepts (s): 2 h of 48 kHz stereo is 1.4 GB as float32; split longer recordings.
MAX_FILE_SECONDS = 2 * 3600.0
#: A per-channel mean above this (full scale = 1, i.e. -40 dBFS) is a DC offset, removed before a model
#: (:func:`remove_dc`). Measured on 6 vbd16k pairs: DC 0.01 leaves GTCRN/DFN3 within 0.8 dB SI-SDR, 0.03 costs
#: DFN3 2.5 dB, 0.1 costs 9 dB; the largest DC of the 798 real recordings in the mirror is 0.007 (untouched).
DC_LIMIT = 0.01
#: Samples at or above this magnitude count as clipped; more than :data:`CLIP_FRACTION` of them is reported.
CLIP_LEVEL, CLIP_FRACTION = 0.999, 1e-3
#: A peak below this (-100 dBFS) is silence.
SILENCE_PEAK = 1e-5

#: Formats whose header states the exact frame count, so a shorter read means a truncated file.
EXACT_LENGTH_FORMATS = {"WAV", "WAVEX", "W64", "RF64", "AIFF", "FLAC", "CAF"}


class InputWarning(UserWarning):
    """Something about an input deserves a look (DC offset, clipping, silence) but does not stop the work."""


#: soxr quality of every resampling (:func:`resample` and the streamed file path, :mod:`setoolkit.blockwise`).
RESAMPLE_QUALITY = "VHQ"


def check_file(path: Path) -> None:
    """Raise :class:`AudioError` naming ``path`` when it is missing, a directory or empty (0 bytes)."""
    if not path.exists():
        raise AudioError(f"{path}: file not found")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty (0 bytes)")


def read(path: str | os.PathLike, *, dtype: str = "float32") -> tuple[np.ndarray, int]:
    """Read a wav/flac/ogg/mp3 (any rate, bit depth, channel count).

    Returns
    -------
    audio : ndarray, shape ``(channels, samples)``, float32, full scale = 1.0
    sr : int, the file's sample rate in Hz

    Raises :class:`AudioError` naming the file when it is missing, empty, not audio, has no samples,
    holds NaN/Inf samples, declares a sample rate outside [4 kHz, 384 kHz] (a corrupt header), is longer than
    :data:`MAX_FILE_SECONDS`, or is truncated (its header declares more frames than the file holds).
    The file is only ever opened for reading.
    """
    path = Path(path)
    check_file(path)
    try:
        with sf.SoundFile(str(path)) as f:
            declared, sr, fmt = f.frames, f.samplerate, f.format
            check_header(path, sr, declared)
            data = f.read(dtype=dtype, always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(
            f"{path}: not a readable audio file (unsupported format or corrupt: {exc}); supported: wav, flac, ogg, mp3"
        ) from None
    audio = np.ascontiguousarray(data.T)
    if audio.shape[1] == 0:
        raise AudioError(f"{path}: contains no samples (zero-length audio)")
    declared = max(declared, wav_declared_frames(path) or 0)
    if fmt in EXACT_LENGTH_FORMATS and audio.shape[1] < declared:
        raise AudioError(
            f"{path}: truncated: the header declares {declared} frames ({declared / sr:.2f} s) but "
            f"only {audio.shape[1]} ({audio.shape[1] / sr:.2f} s) are in the file (an interrupted "
            "copy or recording?)"
        )
    _check_finite(audio, str(path))
    return audio, int(sr)


def check_header(path: Path, sr: int, frames: int) -> None:
    """What a header alone can prove wrong: an implausible rate, no samples, a file too long to hold in memory."""
    check_sample_rate(sr, str(path))
    if frames == 0:
        raise AudioError(f"{path}: contains no samples (zero-length audio)")
    if frames > MAX_FILE_SECONDS * sr:
        raise AudioError(
            f"{path}: {frames / sr / 3600:.1f} h long; setoolkit reads files up to "
            f"{MAX_FILE_SECONDS / 3600:g} h: split the recording first"
        )


def wav_declared_frames(path: Path) -> int | None:
    """Frames a RIFF/WAVE file's ``data`` chunk header declares (libsndfile silently shortens a truncated file's
    frame count to what is present). ``None`` when not a plain RIFF wav or the size is unknown (streamed)."""
    import struct

    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, block_align = 12, None
    while pos + 8 <= len(head):
        chunk, size = head[pos : pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        if chunk == b"fmt " and pos + 22 <= len(head):
            block_align = struct.unpack_from("<H", head, pos + 20)[0]
        elif chunk == b"data":
            if not block_align or size in (0, 0xFFFFFFFF):
                return None
            return size // block_align
        pos += 8 + size + (size & 1)
    return None


def check_sample_rate(sr, name: str = "audio") -> int:
    """Return ``sr`` as int if it is a plausible recording rate in Hz, else raise :class:`AudioError`."""
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise AudioError(f"{name}: sample rate must be a positive integer in Hz, got {sr!r}")
    if not MIN_SAMPLE_RATE <= sr <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{name}: sample rate {sr} Hz is outside the range of real recordings "
            f"({MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz): the header is corrupt or the rate was "
            "given in the wrong unit"
        )
    return int(sr)


def inspect_signal(audio: np.ndarray, sr: int, name: str = "audio") -> dict:
    """Facts about ``(channels, samples)`` audio that change how it should be treated.

    Returns ``{"dc": (channels,) means, "clipped_fraction": float, "peak": float (full scale = 1),
    "seconds": float}``. Pure: warns nothing, changes nothing (see :func:`check_signal`).
    """
    x = np.asarray(audio)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return {
        "dc": x.mean(axis=-1, dtype=np.float64).reshape(-1),
        "peak": peak,
        "clipped_fraction": float(np.mean(np.abs(x) >= CLIP_LEVEL)) if x.size else 0.0,
        "seconds": x.shape[-1] / sr,
    }


def check_signal(audio: np.ndarray, sr: int, name: str = "audio") -> dict:
    """:func:`inspect_signal`, warning (:class:`InputWarning`, naming ``name`` and the number) about a DC offset,
    clipping or silence. Returns the facts."""
    facts = inspect_signal(audio, sr, name)
    warn_signal(facts, name, stacklevel=4)
    return facts


def warn_signal(facts: dict, name: str = "audio", *, stacklevel: int = 3) -> None:
    """The warnings of :func:`check_signal` for facts already measured (:func:`inspect_signal`'s keys)."""
    dc = facts["dc"]
    if np.any(np.abs(dc) > DC_LIMIT):
        worst = int(np.argmax(np.abs(dc)))
        warnings.warn(
            f"{name}: DC offset {dc[worst]:+.4f} (channel {worst + 1}); removed before the model (DC is not speech)",
            InputWarning,
            stacklevel=stacklevel,
        )
    if facts["clipped_fraction"] > CLIP_FRACTION:
        warnings.warn(
            f"{name}: {100 * facts['clipped_fraction']:.2f}% of samples at full scale: the recording is "
            "clipped; enhancement cannot restore clipped peaks",
            InputWarning,
            stacklevel=stacklevel,
        )
    if facts["peak"] < SILENCE_PEAK:
        level = "digital silence" if facts["peak"] == 0 else f"peak {20 * np.log10(facts['peak']):.0f} dBFS"
        warnings.warn(f"{name}: silent ({level}); the output will be silent too", InputWarning, stacklevel=stacklevel)


def remove_dc(audio: np.ndarray, *, limit: float = DC_LIMIT) -> np.ndarray:
    """Subtract each channel's mean from ``(channels, samples)`` audio where it exceeds ``limit`` (full scale).

    Channels with a smaller mean are returned untouched (bit for bit), so clean recordings take exactly the
    path they took before; the models were trained on zero-mean speech, and a DC offset wrecks their masks.
    """
    x = np.asarray(audio, dtype=np.float32)
    dc = x.mean(axis=-1, dtype=np.float64, keepdims=True)
    if not np.any(np.abs(dc) > limit):
        return x
    return np.where(np.abs(dc) > limit, x - dc.astype(np.float32), x).astype(np.float32)


def info(path: str | os.PathLike) -> dict:
    """Sample rate, channels, frames, duration (s), format and subtype of an audio file, without reading it.

    Raises :class:`AudioError` naming the file for what the header alone shows: missing, empty, not audio,
    an implausible rate, no samples, longer than :data:`MAX_FILE_SECONDS`."""
    path = Path(path)
    check_file(path)
    try:
        i = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(f"{path}: not a readable audio file ({exc})") from None
    check_header(path, i.samplerate, i.frames)
    return {
        "samplerate": i.samplerate,
        "channels": i.channels,
        "frames": i.frames,
        "duration": i.duration,
        "format": i.format,
        "subtype": i.subtype,
    }


def write(path: str | os.PathLike, audio: np.ndarray, sr: int, *, subtype: str | None = None) -> Path:
    """Write ``audio`` (``(channels, samples)`` or ``(samples,)``) atomically: temp file in the same folder + rename.

    ``subtype`` is a soundfile subtype (``"PCM_16"``, ``"PCM_24"``, ``"FLOAT"``...); default: the format's default.
    A failure leaves no partial file at ``path``.
    """
    path = Path(path)
    audio = as_channels_first(audio, name=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = format_of(path)
    subtype = subtype or sf.default_subtype(fmt)
    if subtype not in ("FLOAT", "DOUBLE", "VORBIS", "OPUS"):  # integer/compressed PCM: clip, never wrap
        clipped = int(np.sum(np.abs(audio) > 1.0))
        if clipped:
            warnings.warn(f"{path}: {clipped} samples beyond full scale clipped to [-1, 1] for {subtype}")
            audio = np.clip(audio, -1.0, 1.0)
    with atomic_output(path) as tmp:
        sf.write(tmp, audio.T, int(sr), subtype=subtype, format=fmt)
    return path


@contextmanager
def atomic_output(path: Path):
    """Yield a temp path in ``path``'s folder; on success it becomes ``path`` (``os.replace``), on any error it is
    removed, so ``path`` is either the complete new file or untouched. soundfile errors become :class:`AudioError`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".wav", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are as readable as any new file
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, (sf.LibsndfileError, ValueError, TypeError)):
            raise AudioError(f"{path}: cannot write audio ({exc})") from None
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def format_of(path: Path) -> str:
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
        raise AudioError(
            f"{name}: audio must have shape (samples,) or (channels, samples), got rank {audio.ndim} "
            f"shape {tuple(audio.shape)}"
        )
    if audio.shape[0] > 16 and audio.shape[1] <= 16:
        raise AudioError(
            f"{name}: shape {tuple(audio.shape)} looks like (samples, channels); "
            "setoolkit uses (channels, samples): pass audio.T"
        )
    if audio.shape[1] == 0:
        raise AudioError(f"{name}: audio has no samples (shape {tuple(audio.shape)})")
    _check_finite(audio, name)
    check_scale(float(np.max(np.abs(audio))), name)
    return np.ascontiguousarray(audio, dtype=np.float32)


def check_scale(peak: float, name: str = "audio") -> None:
    """Raise :class:`AudioError` for a float peak far beyond full scale (integer samples stored as float)."""
    if peak > 64.0:
        raise AudioError(
            f"{name}: peak {peak:.0f} is far beyond full scale 1.0; this looks like integer "
            "samples stored as float: divide by 32768 (16-bit) or 2**23 (24-bit)"
        )


def _check_finite(audio: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(audio)
    if bad.any():
        raise nonfinite_error(name, int(bad.sum()), audio.size)


def nonfinite_error(name: str, bad: int, total: int) -> AudioError:
    """The :class:`AudioError` for ``bad`` NaN/Inf samples out of ``total``."""
    return AudioError(f"{name}: {'all samples are' if bad == total else f'{bad} of {total} samples are'} NaN or Inf")


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
            x = soxr.resample(x, sr_in, sr_out, quality=RESAMPLE_QUALITY)
        else:
            x = soxr.resample(x.T, sr_in, sr_out, quality=RESAMPLE_QUALITY).T
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

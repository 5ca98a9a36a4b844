"""DeepFilterNet's signal processing around the networks, as pure numpy functions.

Everything here follows the official runtime (``libDF``): a Vorbis-window STFT whose forward transform is
scaled by ``2 hop / n_fft**2`` (so a plain inverse FFT, window and overlap-add reconstruct the input), 32 ERB
bands of whole FFT bins, ERB features ``10 log10(band power)`` normalised by a running exponential mean and
divided by 40, complex features of the deep-filter bins divided by the square root of a running mean of
their magnitude, ERB gains repeated over the bins of each band. The deep filter itself (a complex FIR over
``order`` frames, ``lookahead`` of them in the future) is applied in
:meth:`setoolkit.models.deepfilternet.enhancer.DeepFilterNet.enhance_frames`.

The running normalisations are first-order recursions ``s[t] = a s[t-1] + (1 - a) v[t]``; the functions take
and return their state, so a whole file (offline) and one frame at a time (streaming) give the same numbers.

Examples
--------
>>> cfg = DfnConfig.from_ini("config.ini")
>>> spec, _ = analysis(x, cfg.fft_size, cfg.hop_size)       # (frames, 481) complex
>>> feat, state = erb_features(spec, erb_widths(cfg), cfg.alpha, mean_norm_init(cfg.nb_erb))
"""

from __future__ import annotations

import configparser
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ...errors import AssetError
from ...stft import window

#: first value of the running ERB mean (dB) for the lowest and highest band; linear in between (libDF)
MEAN_NORM_INIT = (-60.0, -90.0)
#: first value of the running magnitude mean for the lowest and highest DF bin; linear in between (libDF)
UNIT_NORM_INIT = (0.001, 0.0001)


@dataclass(frozen=True)
class DfnConfig:
    """The ``[df]`` and model sections of a DeepFilterNet ``config.ini`` that the pipeline needs."""

    model: str  # "deepfilternet2" | "deepfilternet3"
    sr: int  # Hz
    fft_size: int  # samples
    hop_size: int  # samples
    nb_erb: int  # ERB bands
    nb_df: int  # deep-filter bins (the lowest ones)
    min_nb_erb_freqs: int
    norm_tau: float  # s, time constant of the running normalisations
    df_order: int  # frames of the deep filter
    df_lookahead: int  # future frames of the deep filter
    conv_lookahead: int  # future frames the encoder sees before its mask is applied

    @classmethod
    def from_ini(cls, path: str | Path) -> DfnConfig:
        """Parse ``config.ini``; an unreadable file or a missing key raises :class:`AssetError` naming it."""
        cp = configparser.ConfigParser()
        try:
            if not cp.read(path):
                raise AssetError(f"{path}: DeepFilterNet config.ini not found")
        except configparser.Error as exc:
            raise AssetError(f"{path}: not a valid DeepFilterNet config.ini ({exc})") from None

        def get(key: str, *sections: str) -> str:
            for s in sections:
                if cp.has_option(s, key):
                    return cp.get(s, key)
            raise AssetError(f"{path}: config.ini has no {key!r} in section(s) {', '.join(sections)}")

        try:
            return cls(
                model=get("model", "train"),
                sr=int(get("sr", "df")),
                fft_size=int(get("fft_size", "df")),
                hop_size=int(get("hop_size", "df")),
                nb_erb=int(get("nb_erb", "df")),
                nb_df=int(get("nb_df", "df")),
                min_nb_erb_freqs=int(get("min_nb_erb_freqs", "df")),
                norm_tau=float(get("norm_tau", "df")),
                df_order=int(get("df_order", "df", "deepfilternet")),
                df_lookahead=int(get("df_lookahead", "df", "deepfilternet")),
                conv_lookahead=int(get("conv_lookahead", "deepfilternet")),
            )
        except ValueError as exc:
            raise AssetError(f"{path}: config.ini has a non-numeric value ({exc})") from None

    @property
    def n_freqs(self) -> int:
        return self.fft_size // 2 + 1

    @property
    def alpha(self) -> float:
        return norm_alpha(self.sr, self.hop_size, self.norm_tau)


def norm_alpha(sr: int, hop: int, tau: float) -> float:
    """Decay of the running normalisations: ``exp(-hop / sr / tau)`` rounded to the fewest decimals (from
    3 up) that keep it below 1, as libDF does (0.99 for 48 kHz, hop 480, tau 1 s)."""
    a = math.exp(-hop / sr / tau)
    precision = 3
    while True:
        r = round(a * 10**precision) / 10**precision
        if r < 1.0:
            return r
        precision += 1


def noisy_mix(atten_lim_db: float) -> float:
    """The attenuation limit (libDF's ``atten_lim_db``) as the share of the noisy spectrum mixed back into the
    enhanced one: ``10^(-|lim|/20)``; 0 (no limit) from 100 dB up, 1 (no noise reduction) below 0.01 dB."""
    lim = abs(float(atten_lim_db))
    if lim >= 100.0:
        return 0.0
    return 1.0 if lim < 0.01 else 10.0 ** (-lim / 20.0)


def _freq2erb(f):
    return 9.265 * np.log1p(np.asarray(f, dtype=np.float64) / (24.7 * 9.265))


def _erb2freq(e):
    return 24.7 * 9.265 * (np.exp(np.asarray(e, dtype=np.float64) / 9.265) - 1.0)


def erb_widths(sr: int, fft_size: int, nb_bands: int, min_nb_freqs: int) -> np.ndarray:
    """FFT bins per ERB band ``(nb_bands,)`` int, summing to ``fft_size // 2 + 1``.

    Band edges equally spaced on the ERB scale from 0 Hz to Nyquist, rounded to bins; a band narrower than
    ``min_nb_freqs`` bins is widened and the next band gives the bins back (libDF ``erb_fb``).
    For 48 kHz / 960 / 32 bands: thirteen bands of 2 bins, then ``5, 5, 7, 7, 8, 10, ..., 42, 50, 56, 67``.
    """
    freq_width = sr / fft_size
    lo, hi = _freq2erb(0.0), _freq2erb(sr // 2)
    step = (hi - lo) / nb_bands
    widths = np.zeros(nb_bands, dtype=np.int64)
    prev, over = 0, 0
    for i in range(1, nb_bands + 1):
        fb = int(round(float(_erb2freq(lo + i * step)) / freq_width))
        n = fb - prev - over
        if n < min_nb_freqs:
            over = min_nb_freqs - n
            n = min_nb_freqs
        else:
            over = 0
        widths[i - 1] = n
        prev = fb
    widths[-1] += 1
    widths[-1] -= widths.sum() - (fft_size // 2 + 1)
    return widths


def mean_norm_init(nb_erb: int) -> np.ndarray:
    """Initial running ERB mean ``(nb_erb,)`` in dB: linear from -60 to -90."""
    return np.linspace(MEAN_NORM_INIT[0], MEAN_NORM_INIT[1], nb_erb)


def unit_norm_init(nb_df: int) -> np.ndarray:
    """Initial running magnitude mean ``(nb_df,)``: linear from 1e-3 to 1e-4."""
    return np.linspace(UNIT_NORM_INIT[0], UNIT_NORM_INIT[1], nb_df)


def _running_mean(v: np.ndarray, alpha: float, state: np.ndarray) -> np.ndarray:
    """``s[t] = alpha s[t-1] + (1 - alpha) v[t]`` along axis 0 of ``v`` ``(frames, bands)``, from ``state``."""
    if v.shape[0] == 1:
        return (alpha * state + (1.0 - alpha) * v[0])[None]
    from scipy.signal import lfilter

    s, _ = lfilter([1.0 - alpha], [1.0, -alpha], v, axis=0, zi=(alpha * state)[None])
    return s


def erb_features(spec: np.ndarray, widths: np.ndarray, alpha: float, state: np.ndarray):
    """ERB features of ``spec`` ``(frames, n_freqs)`` complex -> ``((frames, nb_erb) float, new state)``.

    Mean power per band in dB (``10 log10(p + 1e-10)``), minus the running mean (``state`` in dB, see
    :func:`mean_norm_init`), divided by 40.
    """
    power = spec.real**2 + spec.imag**2
    edges = np.concatenate([[0], np.cumsum(widths)[:-1]])
    band = np.add.reduceat(power, edges, axis=-1) / widths
    db = 10.0 * np.log10(band + 1e-10)
    mean = _running_mean(db, alpha, state)
    return (db - mean) / 40.0, mean[-1].copy()


def cplx_features(spec_df: np.ndarray, alpha: float, state: np.ndarray):
    """Normalised complex features of the DF bins ``(frames, nb_df)`` complex -> ``(same, new state)``:
    each bin divided by the square root of its running mean magnitude (``state``, :func:`unit_norm_init`)."""
    mean = _running_mean(np.abs(spec_df), alpha, state)
    return spec_df / np.sqrt(mean), mean[-1].copy()


def apply_erb_gains(spec: np.ndarray, gains: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """``spec`` ``(..., n_freqs)`` times band gains ``(..., nb_erb)`` repeated over each band's bins."""
    return spec * np.repeat(gains, widths, axis=-1)


def coefs_to_complex(coefs: np.ndarray, order: int) -> np.ndarray:
    """The DF decoder's ``coefs`` ``(..., nb_df, order * 2)`` (order-major, then real/imag) as complex
    ``(..., nb_df, order)``."""
    c = coefs.reshape(coefs.shape[:-1] + (order, 2))
    return c[..., 0] + 1j * c[..., 1]


@lru_cache(maxsize=8)
def analysis_window(fft_size: int) -> np.ndarray:
    """The Vorbis window ``(fft_size,)`` float64 (analysis = synthesis; read-only, computed once)."""
    w = window("vorbis", fft_size, dtype=np.float64)
    w.flags.writeable = False
    return w


def _frames(buf: np.ndarray, fft_size: int, hop: int) -> np.ndarray:
    """``(fft_size - hop + K * hop,)`` -> ``(K, fft_size)`` frames at ``hop`` (``fft_size`` a multiple of ``hop``)."""
    blocks = buf.reshape(-1, hop)
    k = blocks.shape[0] - fft_size // hop + 1
    return np.concatenate([blocks[j : j + k] for j in range(fft_size // hop)], axis=1)


def analysis(x: np.ndarray, fft_size: int, hop: int, memory: np.ndarray | None = None):
    """STFT as the real-time runtime computes it: ``x`` ``(K * hop,)`` -> ``((K, fft_size // 2 + 1) complex,
    new memory)``.

    Frame ``t`` is the ``fft_size`` samples ending with hop ``t``, preceded by ``memory`` (the last
    ``fft_size - hop`` input samples of the previous call; zeros at the start), Vorbis-windowed, FFT scaled by
    ``2 hop / fft_size**2``.
    """
    if x.shape[0] % hop or fft_size % hop:
        raise ValueError(f"analysis: length {x.shape[0]} and fft_size {fft_size} must be multiples of hop {hop}")
    if memory is None:
        memory = np.zeros(fft_size - hop, dtype=x.dtype)
    buf = np.concatenate([memory, x])
    spec = np.fft.rfft(_frames(buf, fft_size, hop) * analysis_window(fft_size), axis=-1) * (2 * hop / fft_size**2)
    return spec, buf[buf.shape[0] - (fft_size - hop) :].copy()


def synthesis(spec: np.ndarray, fft_size: int, hop: int, tail: np.ndarray | None = None):
    """Inverse of :func:`analysis`: ``(K, n_freqs)`` complex -> ``((K * hop,) float64, new tail)``.

    Output hop ``t`` is the first ``hop`` samples of frame ``t`` plus the overlap of the frames before
    (``tail``: the ``fft_size - hop`` samples still being summed; zeros at the start). The output is late by
    ``fft_size - hop`` samples against the input of :func:`analysis`.
    """
    k = spec.shape[0]
    frames = np.fft.irfft(spec, n=fft_size, axis=-1) * fft_size * analysis_window(fft_size)
    acc = np.zeros(k * hop + fft_size - hop)
    if tail is not None:
        acc[: fft_size - hop] = tail
    for j in range(fft_size // hop):  # overlap-add, one hop-long slice of every frame at once
        acc[j * hop : j * hop + k * hop] += frames[:, j * hop : (j + 1) * hop].reshape(-1)
    return acc[: k * hop], acc[k * hop :].copy()

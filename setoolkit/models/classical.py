"""Classical (DSP, no learned weights) speech enhancement: the reference points a DSP engineer compares a
50 k-parameter network against.

* ``spectral-gating`` (``noisereduce``, Sainburg 2020): non-stationary spectral gating, a time-smoothed noise
  floor per frequency and a soft mask; offline (its smoothing looks 2 s both ways).
* ``logmmse`` (``logmmse``, Ephraim & Malah 1985): the log-spectral-amplitude MMSE estimator with a decision-
  directed a-priori SNR and a VAD-gated noise update; the noise starts from the first 6 frames (120 ms), so
  it runs offline.
* ``speex`` (``pyspeex-noise``, the Speex preprocessor's noise suppressor, -30 dB, AGC off): causal, 10 ms hops
  of 16-bit PCM at 16 kHz, output one hop late; streams.

They run at 16 kHz; :meth:`~setoolkit.models.common.base.Enhancer.enhance` resamples other rates.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ..registry import ModelCard, card
from ..streaming import StreamingEnhancer, stream_signal
from .common.base import Enhancer

RATE = 16000


class SpectralGating(Enhancer):
    """``noisereduce.reduce_noise`` (non-stationary spectral gating, its defaults), offline."""

    def enhance_model_rate(self, x: np.ndarray) -> np.ndarray:
        import noisereduce

        return noisereduce.reduce_noise(y=x.astype(np.float32), sr=RATE, n_jobs=1).astype(np.float32)


def _logmmse_core():
    """The ``logmmse`` package's estimator, imported without its side effect: the package calls
    ``np.seterr('raise')`` at import, which would turn every harmless float warning of the whole process into
    an exception. The previous error settings are restored."""
    saved = np.geterr()
    try:
        from logmmse.logmmse import logmmse
    finally:
        np.seterr(**saved)
    return logmmse


class LogMmse(Enhancer):
    """Log-MMSE (the ``logmmse`` package's estimator): 20 ms Hann frames, 50% overlap, noise from the first 6
    frames then VAD-gated updates. Offline; the output is zero-padded over the last partial frame."""

    chunk_seconds = 60.0  # the package's own chunk: state (noise estimate) carried inside one call

    def enhance_model_rate(self, x: np.ndarray) -> np.ndarray:
        core = _logmmse_core()
        x64 = x.astype(np.float64) + np.finfo(np.float64).eps  # as the package does: no exact-zero noise floor
        with np.errstate(all="ignore"):
            y, _ = core(x64, RATE, 6, 0, 0.15)
        out = np.zeros(x.shape[0], dtype=np.float32)
        out[: len(y)] = np.nan_to_num(y[: x.shape[0]])
        return out


class SpeexStream(StreamingEnhancer):
    """The Speex noise suppressor, 160-sample (10 ms) hops of 16-bit PCM, output one hop late."""

    hop = 160
    latency = 160
    sample_rate = RATE

    def __init__(self, suppress_db: int = -30) -> None:
        super().__init__()
        from pyspeex_noise import AudioProcessor

        self._speex = AudioProcessor(0, suppress_db)  # auto_gain 0: automatic gain control off

    def _step(self, block: np.ndarray) -> np.ndarray:
        pcm = np.round(np.clip(block, -1.0, 32767 / 32768) * 32768).astype(np.int16)
        out = np.frombuffer(self._speex.process_10ms(pcm.tobytes()), dtype=np.int16)
        return out.astype(np.float32) / 32768


class Speex(Enhancer):
    """Speex noise suppression, offline = its stream with the hop of delay removed."""

    chunk_seconds = None  # a causal stream: any length, constant memory

    def enhance_model_rate(self, x: np.ndarray) -> np.ndarray:
        return stream_signal(self.stream(), x)

    def stream(self) -> SpeexStream:
        return SpeexStream(self.card.config["suppress_db"])


_CLASSES = {"spectral-gating": SpectralGating, "logmmse": LogMmse, "speex": Speex}


def build(c: ModelCard, *, mirror=None) -> Enhancer:
    """Build the card's classical enhancer (no weights: ``mirror`` is accepted and unused)."""
    if c.name not in _CLASSES:
        raise ModelError(f"{c.name}: not a classical baseline ({', '.join(_CLASSES)})")
    return _CLASSES[c.name](c)


CARDS = [
    card(
        name="spectral-gating",
        family="classical",
        sample_rate=RATE,
        framework="numpy (noisereduce 3.0.3)",
        frame=1024,
        hop=256,
        latency_ms=None,
        params=0,
        weights=[],
        license="MIT",
        streaming=False,
        builder=build,
        extras=["classical"],
        trained_on="none",
        description="Non-stationary spectral gating (noisereduce, Sainburg 2020, its defaults): smoothed per-bin "
        "noise floor, soft mask; offline (2 s smoothing both ways). On vbd16k it gains +0.97 dB "
        "SI-SDR but loses 0.12 PESQ-WB (measured): no quality floor is set",
    ),
    card(
        name="logmmse",
        family="classical",
        sample_rate=RATE,
        framework="numpy (logmmse 1.5)",
        frame=320,
        hop=160,
        latency_ms=None,
        params=0,
        weights=[],
        license="MIT",
        streaming=False,
        builder=build,
        extras=["classical"],
        trained_on="none",
        expected={"si_sdr": 5.2, "pesq_wb": 0.22},  # measured +5.54 dB, +0.25 (vbd16k)
        description="Log-spectral-amplitude MMSE (Ephraim & Malah 1985; logmmse): decision-directed a-priori "
        "SNR, noise from the first 120 ms then VAD-gated updates; offline",
    ),
    card(
        name="speex",
        family="classical",
        sample_rate=RATE,
        framework="c (pyspeex-noise 2.0.1)",
        frame=160,
        hop=160,
        latency_ms=10.0,
        params=0,
        weights=[],
        license="MIT (binding), BSD (Speex)",
        streaming=True,
        builder=build,
        extras=["classical"],
        config={"suppress_db": -30},
        trained_on="none",
        expected={"si_sdr": 1.4, "pesq_wb": 0.1},  # measured +1.66 dB, +0.13 (vbd16k)
        description="Speex preprocessor noise suppression (-30 dB, AGC off): causal, 10 ms hops of 16-bit PCM, "
        "output one hop (10 ms) late",
    ),
]

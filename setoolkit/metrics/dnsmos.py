"""DNSMOS: non-intrusive MOS of a recording (no clean reference), Microsoft's DNS Challenge models.

P.835 (``SIG`` speech quality, ``BAK`` background, ``OVRL`` overall; ``sig_bak_ovr.onnx`` on the raw
16 kHz waveform, mapped through the official calibration polynomials) and P.808 (``P808_MOS``;
``model_v8.onnx`` on a 120-band log-mel spectrogram). As upstream ``DNSMOS/dnsmos_local.py``: audio at
16 kHz, clips shorter than 9.01 s are repeated to that length, 9.01 s windows advance by 1 s, and the
per-window scores are averaged. Other rates are resampled with soxr first.

The numbers are upstream's (equal to ``speechmos`` within 1e-4, tested on every sample set); the work is
not done window by window as upstream does. Windows advance by 1 s = 100 frames of 160 samples, so
neighbouring windows share 8 s of their spectrogram frames. The P.835 network is four 3x3 convolutions at
full resolution (96 % of its cost) followed by pooling; those four layers run once over the whole
recording, and only the 4 frames at each window edge, where the window's zero padding differs from the
recording's true neighbours, are recomputed from the window itself. The rest of the network (after the
first pooling) runs one window per call, as does the P.808 model: on one core a batch of windows costs more
per window than single calls (it outgrows the caches). The P.808 log-mel frames are computed once for
the recording the same way (numpy, no librosa warm-up); each window keeps its own dB reference and
edge frames. Scores of a signal already scored in this process are returned from a small memo.

Examples
--------
>>> dnsmos(audio, 48000)      # {'SIG': 3.4, 'BAK': 3.9, 'OVRL': 3.0, 'P808_MOS': 3.5}
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from functools import lru_cache

import numpy as np

from ..assets import fetch
from ..audio import resample
from ..models.common.runtimes import onnx_session
from .registry import Metric

SR = 16000
WINDOW_SECONDS = 9.01
HOP_SECONDS = 1.0
#: P.835 framing (non-overlapping 160-sample blocks paired into 320-sample frames) and window length.
_BLOCK, _FRAMES = 160, 900
_WIN = int(WINDOW_SECONDS * SR)  # 144160 samples
_HOP_FRAMES = int(HOP_SECONDS * SR) // _BLOCK  # 100 frames between windows
#: Rows of the full-resolution convolution stack a window edge disturbs (one per 3x3 layer).
_EDGE = 4
#: Frames per run of the convolution stack (bounds memory: 128 channels x rows x 161 bins float32).
_CHUNK_ROWS = 1024
#: Windows whose convolution rows are computed in one run of the P.835 body (bounds memory for long recordings).
_BATCH_WINDOWS = 16
#: P.808 log-mel: n_fft 321 (centered frames, zero padded), hop 160, 120 Slaney mel bands.
_N_FFT, _N_MELS = 321, 120

# Official calibration polynomials (highest power first), from DNSMOS/dnsmos_local.py
_POLY = {
    False: {
        "SIG": [-0.08397278, 1.22083953, 0.0052439],
        "BAK": [-0.13166888, 1.60915514, -0.39604546],
        "OVRL": [-0.06766283, 1.11546468, 0.04602535],
    },
    True: {
        "SIG": [-0.01019296, 0.02751166, 1.19576786, -0.24348726],
        "BAK": [-0.04976499, 0.44276479, -0.1644611, 0.96883132],
        "OVRL": [-0.00533021, 0.005101, 1.18058466, -0.11236046],
    },
}

#: Tensor names in sig_bak_ovr.onnx where it is cut into front (frames -> log power), body (the four
#: full-resolution convolutions) and head (pooling onwards).
_P835_FRAMES = "mos_estimator_logpow/concat:0"
_P835_LOGPOW = "adjusted_input6"
_P835_BODY = "mos_estimator_logpow/conv2d_3/Relu:0"
_P835_OUT = "Identity:0"


# ------------------------------------------------------------------------------------------ sessions


def _part(model, inputs: list[str], outputs: list[str]):
    """The subgraph of ``model`` between tensors ``inputs`` and ``outputs``, with every dimension dynamic."""
    from onnx.utils import Extractor

    sub = Extractor(model).extract_model(inputs, outputs)
    del sub.graph.value_info[:]
    for v in list(sub.graph.input) + list(sub.graph.output):
        for i, d in enumerate(v.type.tensor_type.shape.dim):
            d.Clear()
            d.dim_param = f"d{i}"
    return sub.SerializeToString()


@lru_cache(maxsize=4)
def _sessions(personalized: bool, mirror=None, threads: int = 1):
    """``(front, body, head, p808)`` onnxruntime sessions (the three P.835 parts and the P.808 model)."""
    import onnx

    primary = "weights/dnsmos/personalized/sig_bak_ovr.onnx" if personalized else "weights/dnsmos/p835/sig_bak_ovr.onnx"
    model = onnx.shape_inference.infer_shapes(onnx.load(str(fetch(primary, mirror=mirror))))
    parts = [
        _part(model, [_P835_FRAMES], [_P835_LOGPOW]),
        _part(model, [_P835_LOGPOW], [_P835_BODY]),
        _part(model, [_P835_BODY], [_P835_OUT]),
    ]
    return (
        *(onnx_session(p, threads=threads, name=f"{primary} ({k})") for p, k in zip(parts, ("front", "body", "head"))),
        onnx_session(str(fetch("weights/dnsmos/p835/model_v8.onnx", mirror=mirror)), threads=threads),
    )


def warm_up(*, personalized: bool = False, mirror=None, threads: int = 1) -> None:
    """Open the sessions and run each once (first-run allocations), so no scored file pays for it.
    Once per process; later calls return at once."""
    _warm(personalized, str(mirror) if mirror else None, threads)


@lru_cache(maxsize=4)
def _warm(personalized, mirror, threads) -> None:
    _score(np.zeros(_WIN, dtype=np.float64) + 1e-3, personalized, mirror, threads)


# ------------------------------------------------------------------------------------------ P.808 features


@lru_cache(maxsize=1)
def mel_basis() -> np.ndarray:
    """Slaney-style mel filterbank ``(120, 161)`` float32 for 16 kHz, n_fft 321 (``librosa.filters.mel``'s
    defaults: Slaney mel scale, area-normalised triangles), computed as librosa does."""
    n_bins = 1 + _N_FFT // 2
    fft_freqs = np.fft.rfftfreq(_N_FFT, 1.0 / SR)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0

    def hz_to_mel(f):
        return min_log_mel + np.log(f / min_log_hz) / logstep if f >= min_log_hz else f / f_sp

    mels = np.linspace(hz_to_mel(0.0), hz_to_mel(SR / 2.0), _N_MELS + 2)
    freqs = np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), f_sp * mels)
    fdiff = np.diff(freqs)
    ramps = np.subtract.outer(freqs, fft_freqs)
    weights = np.zeros((_N_MELS, n_bins), dtype=np.float32)
    for i in range(_N_MELS):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (freqs[2 : _N_MELS + 2] - freqs[:_N_MELS]))[:, np.newaxis]
    return weights


@lru_cache(maxsize=1)
def _hann() -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(_N_FFT) / _N_FFT)  # periodic, as scipy's fftbins=True


def _mel_frames(frames: np.ndarray) -> np.ndarray:
    """Mel power ``(n, 120)`` float64 of 321-sample frames ``(n, 321)`` (Hann window, |rfft|^2, filterbank)."""
    power = np.abs(np.fft.rfft(frames * _hann(), axis=-1)) ** 2
    return power @ mel_basis().T.astype(np.float64)


def _centred_frames(x: np.ndarray, n_frames: int) -> np.ndarray:
    """``(n_frames, 321)`` frames of ``x`` centred every 160 samples from sample 0, zero padded at both ends."""
    padded = np.pad(x, _N_FFT // 2)
    return np.lib.stride_tricks.sliding_window_view(padded, _N_FFT)[::_BLOCK][:n_frames]


def p808_features(segment: np.ndarray) -> np.ndarray:
    """120-band log-mel of a 16 kHz segment as the P.808 model expects: ``(frames, 120)`` float32
    (n_fft 321, hop 160, centred frames with zero padding, ``(power_to_db(ref=max) + 40) / 40``)."""
    seg = np.asarray(segment, dtype=np.float64).reshape(-1)
    n_frames = 1 + (len(seg) + 2 * (_N_FFT // 2) - _N_FFT) // _BLOCK
    return _log_mel(_mel_frames(_centred_frames(seg, n_frames)))


def _log_mel(mel: np.ndarray) -> np.ndarray:
    """``power_to_db(mel, ref=max, amin=1e-10, top_db=80)``, then ``(+ 40) / 40``, float32."""
    db = 10.0 * np.log10(np.maximum(1e-10, mel)) - 10.0 * np.log10(max(1e-10, float(mel.max())))
    db = np.maximum(db, db.max() - 80.0)
    return ((db + 40) / 40).astype(np.float32)


# ------------------------------------------------------------------------------------------ scoring


def _windows(x: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Upstream's repetition of short clips, and the windows it scores: window k starts at second k; as
    upstream, a window whose float end ``int((k + 9.01) * 16000)`` rounds one sample short is skipped."""
    while len(x) < _WIN:
        x = np.concatenate([x, x])
    n = int(np.floor(len(x) / SR) - WINDOW_SECONDS) + 1
    keep = [
        k
        for k in range(n)
        if min(len(x), int((k * HOP_SECONDS + WINDOW_SECONDS) * SR)) - int(k * HOP_SECONDS * SR) >= _WIN
    ]
    return x, keep


def _body_rows(body, logpow: np.ndarray) -> np.ndarray:
    """The convolution stack over ``logpow`` ``(1, 1, T, 161)`` in chunks of rows with a 4-row halo: equal
    to one run over all T rows (zero padding only at the true ends)."""
    t = logpow.shape[2]
    out = None
    for a in range(0, t, _CHUNK_ROWS):
        b = min(a + _CHUNK_ROWS, t)
        lo, hi = max(0, a - _EDGE), min(t, b + _EDGE)
        y = body.run(None, {body.get_inputs()[0].name: logpow[:, :, lo:hi]})[0]
        if a == 0 and b == t:
            return y
        if out is None:
            out = np.empty((*y.shape[:2], t, y.shape[3]), dtype=y.dtype)
        out[:, :, a:b] = y[:, :, a - lo : a - lo + (b - a)]
    assert out is not None  # t >= 1: the clip is repeated to at least one window
    return out


def _p835_raw(x: np.ndarray, windows: list[int], sessions) -> np.ndarray:
    """Raw (uncalibrated) SIG/BAK/OVRL of each window, ``(len(windows), 3)``."""
    front, body, head, _ = sessions
    name = body.get_inputs()[0].name
    raw = []
    for b in range(0, len(windows), _BATCH_WINDOWS):
        batch = windows[b : b + _BATCH_WINDOWS]
        f0, f1 = batch[0] * _HOP_FRAMES, batch[-1] * _HOP_FRAMES + _FRAMES  # frames these windows cover
        blocks = x[f0 * _BLOCK : (f1 + 1) * _BLOCK].astype(np.float32).reshape(-1, _BLOCK)
        frames = np.concatenate([blocks[:-1], blocks[1:]], axis=1)[None]  # (1, f1 - f0, 320)
        logpow = front.run(None, {front.get_inputs()[0].name: frames})[0]  # (1, 1, f1 - f0, 161)
        shared = _body_rows(body, logpow)  # (1, 32, f1 - f0, 161)
        # each window's map is copied once into one buffer and the head runs window by window: a batch of
        # windows outgrows the caches (6 windows in one call cost 2x six single calls, measured)
        m = np.empty((1, shared.shape[1], _FRAMES, shared.shape[3]), dtype=shared.dtype)
        for k in batch:
            s = k * _HOP_FRAMES - f0
            m[0] = shared[0, :, s : s + _FRAMES]
            # an edge of the window inside the shared rows saw real neighbours there: redo it from the
            # window's own rows (zero padded); an edge at the end of the shared rows is already the window's
            if s > 0:
                m[0, :, :_EDGE] = body.run(None, {name: logpow[:, :, s : s + 2 * _EDGE]})[0][0, :, :_EDGE]
            if s + _FRAMES < logpow.shape[2]:
                tail = logpow[:, :, s + _FRAMES - 2 * _EDGE : s + _FRAMES]
                m[0, :, -_EDGE:] = body.run(None, {name: tail})[0][0, :, -_EDGE:]
            raw.append(head.run(None, {head.get_inputs()[0].name: m})[0])
    return np.concatenate(raw).astype(np.float64)


def _p808(x: np.ndarray, windows: list[int], sessions) -> np.ndarray:
    """P.808 MOS of each window, ``(len(windows),)``: window k's model input is the log-mel of
    ``x[16000 k : 16000 k + 144000]`` (upstream drops the window's last 160 samples): 900 centred frames,
    of which the first and the last reach into the window's zero padding; the others are frames of the
    whole recording, computed once."""
    p808 = sessions[3]
    seg_len, pad = _WIN - _BLOCK, _N_FFT // 2
    shared = _mel_frames(_centred_frames(x, windows[-1] * _HOP_FRAMES + _FRAMES))
    out = []
    for k in windows:  # one window per call: batches cost more per window (1.5x for 6, measured)
        seg = x[k * SR : k * SR + seg_len]
        mel = shared[k * _HOP_FRAMES : k * _HOP_FRAMES + _FRAMES].copy()
        first = np.pad(seg[: _N_FFT - pad], (pad, 0))
        last_start = (_FRAMES - 1) * _BLOCK - pad
        last = np.pad(seg[last_start:], (0, _N_FFT - (seg_len - last_start)))
        mel[[0, -1]] = _mel_frames(np.stack([first, last]))
        out.append(p808.run(None, {p808.get_inputs()[0].name: _log_mel(mel)[None]})[0][0, 0])
    return np.asarray(out, dtype=np.float64)


def _score(x: np.ndarray, personalized: bool, mirror, threads: int) -> dict[str, float]:
    sessions = _sessions(personalized, mirror, threads)
    x, windows = _windows(x)
    raw = _p835_raw(x, windows, sessions)
    out = {
        name: float(np.mean(np.polyval(_POLY[personalized][name], raw[:, k])))
        for k, name in enumerate(("SIG", "BAK", "OVRL"))
    }
    out["P808_MOS"] = float(np.mean(_p808(x, windows, sessions)))
    return out


_MEMO: OrderedDict = OrderedDict()
_MEMO_SIZE = 256


def dnsmos(audio, sr: int, *, personalized: bool = False, mirror=None, threads: int = 1) -> dict[str, float]:
    """DNSMOS P.835 and P.808 of a mono recording ``(samples,)`` (or ``(1, samples)``) at ``sr`` Hz.

    Returns ``{"SIG", "BAK", "OVRL", "P808_MOS"}`` (1..5, higher is better). ``personalized`` uses
    pDNSMOS (penalises interfering talkers) for P.835. ``threads``: onnxruntime intra-op threads (1 is
    fastest per core when several processes score at once, as the evaluation workers do).
    """
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    if sr != SR:
        x = resample(x.astype(np.float32), sr, SR).astype(np.float64)
    if x.size == 0:
        raise ValueError("dnsmos: empty audio")
    key = (hashlib.sha1(x.tobytes()).hexdigest(), personalized)
    if key not in _MEMO:
        _MEMO[key] = _score(x, personalized, str(mirror) if mirror else None, threads)
        if len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return dict(_MEMO[key])


#: The record of this family (:mod:`setoolkit.metrics.registry`): P.835 and P.808, one computation, four columns.
METRICS = (
    Metric(
        name="dnsmos",
        compute=lambda est, sr, mirror=None: dnsmos(est, sr, mirror=mirror),
        intrusive=False,
        columns=("SIG", "BAK", "OVRL", "P808_MOS"),
        label="DNSMOS",
        column_labels={"SIG": "DNSMOS SIG", "BAK": "DNSMOS BAK", "OVRL": "DNSMOS OVRL", "P808_MOS": "DNSMOS P.808"},
        unit="DNSMOS",
        rate=SR,
        libraries=("onnxruntime", "onnx"),
        weights=("weights/dnsmos/p835/sig_bak_ovr.onnx", "weights/dnsmos/p835/model_v8.onnx"),
        cost=0.5,
        load=lambda mirror=None: warm_up(mirror=mirror),
    ),
)

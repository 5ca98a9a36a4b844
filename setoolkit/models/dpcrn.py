"""DPCRN family: the released configurations as data, the h5 reader and architecture check, the models
(TF-native Keras offline, PyTorch port offline and streaming, int8 port), and the studies the notebooks and
``benchmarks/bench_dpcrn.py`` run (parity with the official outputs, streaming-cache ablation, agreement
between variants, speed).

The network itself lives in :mod:`~setoolkit.models.dpcrn_keras` (Keras 3 graph) and
:mod:`~setoolkit.models.dpcrn_torch` (PyTorch port, converter, streaming step); the per-frame TFLite/ONNX
exports in :mod:`~setoolkit.models.dpcrn_tflite`.

DPCRN (Le et al., Interspeech 2021): a causal conv encoder over (frames, freq, features), two dual-path RNN
blocks (intra-frame bidirectional RNN across frequency, inter-frame RNN across time, each followed by a dense
layer, a layer norm and a residual add), a transposed-conv decoder with skip connections, and a mask applied
to the noisy STFT.

Two configurations are released as Keras weights-only h5 files:

* :data:`DNS3` (``Le-Xiaohuai-speech/DPCRN_DNS3``, ``model_DPCRN_SNR+logMSE_causal_sinw.h5``): 400/200 sine
  window, input (real, imag) with a per-frame layer norm, time kernels of 2 (causal: one past frame), LSTM
  with Keras-2 ``hard_sigmoid`` gates, complex ratio mask. 804,646 parameters.
* :data:`BASE` (``Le-Xiaohuai-speech/SKIP-DPCRN``, DPCRN-base): 512/256, input (real, imag, log power) with
  a batch norm, time kernels of 1 (frame-wise convs), GRU (``reset_after=False``), softplus magnitude mask
  + unit phase pair.

Two details of these files that silently break a port when missed:

* the layer norms over two axes store ``gamma``/``beta`` as ``(axis[-1] size, axis[-2] size)`` (e.g.
  ``(2, 201)``) and Keras 2 applies them with a *reshape* (not a transpose) to ``(freq, channels)``:
  :func:`ln_param` does exactly that;
* Keras 2's ``hard_sigmoid`` is ``clip(0.2 x + 0.5, 0, 1)``; Keras 3's is ``clip(x / 6 + 0.5, 0, 1)`` and
  PyTorch's ``nn.LSTM`` uses the logistic sigmoid. The activation is not stored in a weights-only h5.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..assets import fetch
from ..errors import AssetError, ModelError
from ..stft import overlap_add_np
from ..streaming import FrameModel, StftFrameStream, offline_frames
from .base import Enhancer
from .keras_h5 import read_layers as read_h5  # {layer: [(weight name, array)]} in file order


@dataclass(frozen=True)
class DpcrnConfig:
    """Hyper-parameters of one released DPCRN (everything the h5 does not store)."""

    name: str
    n_fft: int
    hop: int
    features: str            # "ri": (real, imag); "ri_logpow": (real, imag, log(re^2 + im^2 + 1e-9))
    input_norm: str          # "layernorm" (per frame over freq x features) or "batchnorm" (per bin & feature)
    input_norm_eps: float
    filters: tuple           # encoder channels; the decoder mirrors them and ends with 2
    kernels: tuple           # encoder (time, freq) kernels; decoder layer i uses kernels[4 - i]
    strides: tuple
    freq_pads: tuple         # encoder (left, right) zero padding along frequency
    rnn: str                 # "lstm" or "gru"
    gate: str                # recurrent activation: "hard_sigmoid" (Keras 2: clip(0.2x + 0.5)) or "sigmoid"
    units: int               # intra RNN (both directions together) and inter RNN size
    width: int               # frequency width after the encoder
    dprnn_ln_axes: int       # 2: layer norm over (freq, channels) per frame; 1: over channels only
    dprnn_ln_eps: float
    head: str                # "complex": complex ratio mask; "mag_phase": softplus mask x unit phase pair

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def n_features(self) -> int:
        return 2 if self.features == "ri" else 3

    @property
    def channels(self) -> int:
        return self.filters[-1]

    @property
    def time_kernel(self) -> int:
        return self.kernels[0][0]

    def decoder(self) -> list[tuple[int, tuple, tuple, str]]:
        """``[(filters, kernel, strides, padding), ...]`` of ``dconv_1 .. dconv_5``."""
        filt = [self.filters[3], self.filters[2], self.filters[1], self.filters[0], 2]
        return [(filt[i], self.kernels[4 - i], self.strides[4 - i], "valid" if i == 4 else "same")
                for i in range(5)]

    def freq_sizes(self) -> list[int]:
        """Frequency size after each encoder conv, e.g. DNS3 ``[100, 50, 50, 50, 50]``."""
        sizes, f = [], self.n_bins
        for (kt, kf), (st, sf), (pl, pr) in zip(self.kernels, self.strides, self.freq_pads):
            f = (f + pl + pr - kf) // sf + 1
            sizes.append(f)
        return sizes


DNS3 = DpcrnConfig(
    name="DPCRN-DNS3", n_fft=400, hop=200, features="ri", input_norm="layernorm", input_norm_eps=1e-3,
    filters=(32, 32, 32, 64, 128), kernels=((2, 5), (2, 3), (2, 3), (2, 3), (2, 3)),
    strides=((1, 2), (1, 2), (1, 1), (1, 1), (1, 1)), freq_pads=((0, 2), (0, 1), (1, 1), (1, 1), (1, 1)),
    rnn="lstm", gate="hard_sigmoid", units=128, width=50, dprnn_ln_axes=2, dprnn_ln_eps=1e-3, head="complex")

BASE = DpcrnConfig(
    name="DPCRN-base", n_fft=512, hop=256, features="ri_logpow", input_norm="batchnorm", input_norm_eps=1e-9,
    filters=(32, 32, 32, 64, 128), kernels=((1, 5), (1, 3), (1, 3), (1, 3), (1, 3)),
    strides=((1, 2), (1, 2), (1, 2), (1, 1), (1, 1)), freq_pads=((0, 2), (0, 1), (0, 1), (1, 1), (1, 1)),
    rnn="gru", gate="sigmoid", units=128, width=32, dprnn_ln_axes=1, dprnn_ln_eps=1e-8, head="mag_phase")

BN_EPS = 1e-3            # Keras BatchNormalization default, used by every conv BN
LOG_EPS = 1e-9           # log-power feature and phase normalisation (DPCRN-base)


# ------------------------------------------------------------------------------------ expected layers


def _rnn_shapes(cfg: DpcrnConfig, units: int, n_in: int) -> list[tuple]:
    g = 4 if cfg.rnn == "lstm" else 3
    return [(n_in, g * units), (units, g * units), (g * units,)]


def expected_layers(cfg: DpcrnConfig) -> list[tuple[str, list[tuple]]]:
    """Every h5 layer with weights, in file order, with its weight shapes: what a checkpoint must hold."""
    c, w = cfg.channels, cfg.width
    layers = []
    if cfg.input_norm == "layernorm":
        layers.append(("layer_normalization", [(cfg.n_features, cfg.n_bins)] * 2))
    else:
        layers.append(("batch_normalization", [(1, 1, cfg.n_bins, cfg.n_features)] * 4))
    prelu = 0
    c_in = cfg.n_features
    for i, (f, k) in enumerate(zip(cfg.filters, cfg.kernels), start=1):
        layers += [(f"model0_conv_{i}", [(*k, c_in, f), (f,)]), (f"model0_bn_{i}", [(f,)] * 4),
                   (_prelu_name(prelu), [(1, 1, f)])]
        prelu += 1
        c_in = f
    ln = [(c, w)] * 2 if cfg.dprnn_ln_axes == 2 else [(c,)] * 2
    half = cfg.units // 2
    for b in range(2):
        block = (_rnn_shapes(cfg, half, c) * 2 + [(cfg.units, c), (c,)] + ln
                 + _rnn_shapes(cfg, cfg.units, c) + [(cfg.units, c), (c,)] + ln)
        layers.append(("dprnn_block" + (f"_{b}" if b else ""), block))
    skips = list(cfg.filters[::-1])
    for i, (f, k, _, _) in enumerate(cfg.decoder(), start=1):
        c_in = skips[i - 1] + (c if i == 1 else cfg.decoder()[i - 2][0])
        layers.append((f"model0_dconv_{i}", [(*k, f, c_in), (f,)]))
        if i < 5:
            layers += [(f"model0_dbn_{i}", [(f,)] * 4), (_prelu_name(prelu), [(1, 1, f)])]
            prelu += 1
    if cfg.head == "mag_phase":
        c_in = skips[4] + cfg.decoder()[3][0]
        layers += [("model0_dbn_5", [(2,)] * 4), ("model0mag_mask", [(*cfg.kernels[0], 1, c_in), (1,)]),
                   ("batch_normalization_1", [(cfg.n_bins,)] * 4)]
    return layers


def _prelu_name(i: int) -> str:
    return "p_re_lu" + (f"_{i}" if i else "")


def n_params(cfg: DpcrnConfig) -> int:
    """Number of stored parameters (including batch-norm statistics), as Keras counts them."""
    return int(sum(np.prod(s) for _, shapes in expected_layers(cfg) for s in shapes))


# ------------------------------------------------------------------------------------ h5 reading


def check_architecture(weights: dict[str, list[tuple[str, np.ndarray]]], cfg: DpcrnConfig,
                       path: str | os.PathLike) -> None:
    """Raise :class:`AssetError` naming the first layer of ``weights`` that does not fit ``cfg``.

    Every layer is checked in file order (name, number of weights, each shape); extra layers are refused
    too, so no weight of the file is skipped.
    """
    found = list(weights.items())
    for k, (name, shapes) in enumerate(expected_layers(cfg)):
        if k >= len(found):
            raise AssetError(f"{path}: not a {cfg.name} checkpoint: layer {name!r} is missing "
                             f"(the file has {len(found)} layers with weights)")
        fname, fweights = found[k]
        if fname != name:
            raise AssetError(f"{path}: not a {cfg.name} checkpoint: first mismatching layer is {fname!r} "
                             f"(expected {name!r} at position {k})")
        fshapes = [tuple(a.shape) for _, a in fweights]
        if fshapes != [tuple(s) for s in shapes]:
            bad = next((i for i, (a, b) in enumerate(zip(fshapes, shapes)) if a != tuple(b)), len(shapes))
            what = (f"weight {fweights[bad][0]!r} has shape {fshapes[bad]}, expected {tuple(shapes[bad])}"
                    if bad < min(len(fshapes), len(shapes)) else
                    f"{len(fshapes)} weights, expected {len(shapes)}")
            raise AssetError(f"{path}: not a {cfg.name} checkpoint: first mismatching layer is {name!r}: {what}")
    if len(found) > len(expected_layers(cfg)):
        raise AssetError(f"{path}: not a {cfg.name} checkpoint: unexpected extra layer "
                         f"{found[len(expected_layers(cfg))][0]!r}")


def load_h5(path: str | os.PathLike, cfg: DpcrnConfig) -> dict[str, list[np.ndarray]]:
    """Read and check ``path`` against ``cfg``: ``{layer name: [arrays in file order]}``."""
    weights = read_h5(path)
    check_architecture(weights, cfg, path)
    return {k: [a for _, a in v] for k, v in weights.items()}


def ln_param(a: np.ndarray, shape: tuple) -> np.ndarray:
    """A stored layer-norm ``gamma``/``beta`` as Keras 2 applies it: reshaped (row-major, no transpose) to
    the normalised ``shape`` in axis order, e.g. stored ``(2, 201)`` -> applied ``(201, 2)``."""
    return np.ascontiguousarray(a).reshape(shape)


# ------------------------------------------------------------------------------------ features & framing


def sine_window(n: int) -> np.ndarray:
    """The DPCRN analysis = synthesis window ``sin(pi (k + 0.5) / n)`` ``(n,)`` float32."""
    from ..stft import window

    return window("sine", n)


def features(cfg: DpcrnConfig, spec):
    """Complex STFT ``(..., frames, bins)`` -> network input ``(..., frames, bins, n_features)`` float32.
    numpy in, numpy out; a torch tensor in, a (differentiable) torch tensor out (fine-tuning)."""
    if isinstance(spec, np.ndarray):
        re, im = spec.real.astype(np.float32), spec.imag.astype(np.float32)
        log, stack = np.log, np.stack
    else:
        import torch

        re, im, log, stack = spec.real, spec.imag, torch.log, torch.stack
    parts = [re, im]
    if cfg.features == "ri_logpow":
        parts.append(log(re * re + im * im + np.float32(LOG_EPS)))
    return stack(parts, -1)


def upstream_frames(x: np.ndarray, cfg: DpcrnConfig) -> np.ndarray:
    """Frames exactly as upstream ``main.py`` makes them: ``tf.signal.frame`` without padding, sine-windowed,
    ``(frames, n_fft)``; the tail that does not fill a frame is dropped."""
    from ..stft import frame_np

    return frame_np(np.asarray(x, dtype=np.float32), cfg.n_fft, cfg.hop) * sine_window(cfg.n_fft)


# ------------------------------------------------------------------------------------ models


#: The released h5 files and the configuration each holds (by asset name).
CHECKPOINTS = {
    "weights/dpcrn_dns3/model_DPCRN_SNR+logMSE_causal_sinw.h5": DNS3,
    "weights/dpcrn_base/models_experiment_new_base_nomap_phasenloss_retrain_WSJmodel_84_0.022068.h5": BASE,
}


def apply_mask(cfg: DpcrnConfig, spec, mask):
    """Noisy STFT ``(..., bins)`` complex and network output ``(..., bins, 2 or 3)`` -> enhanced STFT
    (numpy arrays or torch tensors)."""
    if cfg.head == "complex":
        return spec * (mask[..., 0] + 1j * mask[..., 1])
    return spec * mask[..., 0] * (mask[..., 1] + 1j * mask[..., 2])


@contextlib.contextmanager
def torch_threads(n: int):
    """Run torch ops with ``n`` intra-op threads, restoring the previous setting after. DPCRN's per-frame
    work is many tiny ops: extra threads only add synchronisation, and on a busy machine two threads were
    measured 15x slower than one (setoolkit's default)."""
    import torch

    old = torch.get_num_threads()
    if old != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if old != n:
            torch.set_num_threads(old)


class DpcrnNet(Enhancer, FrameModel):
    """A DPCRN built from a released h5: offline over the whole spectrogram, streaming frame by frame.

    Offline and streaming frame the signal the same way (:func:`~setoolkit.streaming.offline_frames`: the
    first frame holds ``n_fft - hop`` zeros and the first hop), so their outputs agree sample for sample;
    :meth:`enhance_upstream` frames exactly as upstream ``main.py`` does (no padding), to compare with
    upstream's own outputs.
    """

    chunk_seconds = None  # causal, frame-recurrent: any length in one pass (memory grows with length offline)
    framework = "?"
    #: torch intra-op threads for this model's calls (see :func:`torch_threads`)
    threads = 1

    def __init__(self, card, cfg: DpcrnConfig, weights: dict[str, list[np.ndarray]]) -> None:
        Enhancer.__init__(self, card)
        self.cfg = cfg
        self.n_fft, self.hop = cfg.n_fft, cfg.hop
        self.window = sine_window(cfg.n_fft)
        self._weights = weights
        self._torch = None

    # -- the network ---------------------------------------------------------------------------------
    def net_offline(self, feats: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """``(frames, bins, n_features)`` -> ``(frames, bins, 2 or 3)``."""
        raise NotImplementedError

    @property
    def torch_model(self):
        """The PyTorch port (built from the same h5 on first use); it runs the streaming steps."""
        if self._torch is None:
            from .dpcrn_torch import from_h5

            self._torch = from_h5(self._weights, self.cfg)
        return self._torch

    def net_step(self, feat: np.ndarray, state, carry=None):
        """One frame ``(bins, n_features)`` -> ``(bins, 2 or 3)`` and the next state (PyTorch port)."""
        import torch

        from .dpcrn_torch import STATE_PARTS

        with torch.no_grad(), torch_threads(self.threads):
            out, state = self.torch_model.step(torch.from_numpy(feat)[None], state,
                                               carry=STATE_PARTS if carry is None else carry)
        return out[0].numpy(), state

    # -- FrameModel ---------------------------------------------------------------------------------
    def initial_state(self):
        return self.torch_model.initial_state()

    def process_frame(self, spec: np.ndarray, state, carry=None):
        mask, state = self.net_step(features(self.cfg, spec[None])[0], state, carry)
        return apply_mask(self.cfg, spec, mask), state

    def process_frames(self, specs: np.ndarray, state):
        return apply_mask(self.cfg, specs, self.net_offline(features(self.cfg, specs))), state

    # -- Enhancer -----------------------------------------------------------------------------------
    def enhance_model_rate(self, x: np.ndarray) -> np.ndarray:
        return offline_frames(self, x, block_frames=None)  # the offline network takes the whole sequence, no state

    def stream(self, carry=None, *, overlap: bool = True) -> StftFrameStream:
        """Hop-by-hop streaming (latency ``n_fft - hop`` samples). ``carry``: the state parts passed from
        frame to frame (default all of ``("conv", "deconv", "rnn")``); ``overlap=False`` drops the STFT
        overlap buffer (each frame holds zeros and the newest hop). Both reproduce broken streaming ports."""
        model = self if carry is None else _PartialCarry(self, tuple(carry))
        return StftFrameStream(model) if overlap else _NoOverlapStream(model)

    def stream_many(self, xs: list[np.ndarray], carry=None, *, overlap: bool = True,
                    batch: int = 8) -> list[np.ndarray]:
        """Stream several signals: frame by frame through the PyTorch step, ``batch`` streams at a time
        (grouped by length), each with its own caches; the computation of :meth:`stream` with the same
        ``carry``/``overlap``, several streams per step (faster on CPU: one frame is mostly call overhead).
        Returns each ``(samples,)`` with the latency removed, aligned with offline output."""
        order = sorted(range(len(xs)), key=lambda k: len(xs[k]))
        out = [None] * len(xs)
        for g in range(0, len(order), batch):
            group = order[g:g + batch]
            for k, y in zip(group, self._stream_lockstep([xs[k] for k in group], carry, overlap)):
                out[k] = y
        return out

    def _stream_lockstep(self, xs: list[np.ndarray], carry, overlap: bool) -> list[np.ndarray]:
        import torch

        from .dpcrn_torch import STATE_PARTS

        n_fft, hop, front = self.n_fft, self.hop, self.n_fft - self.hop
        lens = [len(x) for x in xs]
        n_frames = max((front + n - 1) // hop + 1 for n in lens)
        xp = np.zeros((len(xs), (n_frames - 1) * hop + n_fft), dtype=np.float32)
        for k, x in enumerate(xs):
            xp[k, front:front + lens[k]] = x
        idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
        frames = xp[:, idx]                                                  # (B, T, n_fft)
        if not overlap:
            frames[..., :front] = 0.0
        specs = np.fft.rfft(frames * self.window, axis=-1)
        state, masks = self.torch_model.initial_state(len(xs)), []
        with torch.no_grad(), torch_threads(self.threads):
            for t in range(n_frames):
                m, state = self.torch_model.step(torch.from_numpy(features(self.cfg, specs[:, t])), state,
                                                 carry=STATE_PARTS if carry is None else carry)
                masks.append(m.numpy())
        enh = apply_mask(self.cfg, specs, np.stack(masks, axis=1))
        frames = (np.fft.irfft(enh, n=n_fft, axis=-1) * self.window).astype(np.float32)
        return [overlap_add_np(frames[k], hop)[front:front + n] for k, n in enumerate(lens)]

    def enhance_upstream(self, x: np.ndarray) -> np.ndarray:
        """Upstream ``main.py`` inference: frames without padding, mask, inverse FFT, sine window, overlap-add.
        ``(samples,)`` -> ``((frames - 1) * hop + n_fft,)`` float32, the length upstream writes."""
        specs = np.fft.rfft(upstream_frames(x, self.cfg), axis=-1)
        enh, _ = self.process_frames(specs, None)
        return overlap_add_np((np.fft.irfft(enh, n=self.n_fft, axis=-1) * self.window).astype(np.float32),
                              self.hop)


class _PartialCarry(FrameModel):
    """A view of a :class:`DpcrnNet` whose streaming step carries only some state parts."""

    def __init__(self, model: DpcrnNet, carry: tuple) -> None:
        self.model, self.carry = model, carry
        self.n_fft, self.hop, self.window, self.sample_rate = model.n_fft, model.hop, model.window, model.sample_rate

    def initial_state(self):
        return self.model.initial_state()

    def process_frame(self, spec, state):
        return self.model.process_frame(spec, state, self.carry)


class _NoOverlapStream(StftFrameStream):
    """Streaming without the STFT overlap buffer: every frame is ``n_fft - hop`` zeros + the newest hop."""

    def _step(self, block: np.ndarray) -> np.ndarray:
        self._in[:] = 0.0
        return super()._step(block)


class DpcrnKeras(DpcrnNet):
    """TF-native DPCRN (Keras 3 graph loaded from the h5) offline; streaming through the PyTorch port."""

    framework = "keras"

    def __init__(self, card, cfg: DpcrnConfig, weights) -> None:
        super().__init__(card, cfg, weights)
        from .dpcrn_keras import KerasRunner

        self.keras = KerasRunner(cfg, weights)

    def net_offline(self, feats: np.ndarray) -> np.ndarray:
        return self.keras(feats)


class DpcrnTorchModel(DpcrnNet):
    """The PyTorch port offline and streaming; ``quantized=True``: dynamic int8 of its linear layers."""

    framework = "torch"

    def __init__(self, card, cfg: DpcrnConfig, weights, *, quantized: bool = False) -> None:
        super().__init__(card, cfg, weights)
        if quantized:
            from .dpcrn_torch import quantize_int8

            self._torch = quantize_int8(self.torch_model)
            self.framework = "torch int8"

    def net_offline(self, feats: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad(), torch_threads(self.threads):
            return self.torch_model(torch.from_numpy(feats)[None])[0].numpy()


def card_h5(card) -> str:
    """The asset name of the released h5 behind a DPCRN card."""
    return next(w for w in card.weights if w.endswith(".h5"))


def _weights_for(card, mirror, checkpoint) -> tuple[DpcrnConfig, dict]:
    """The card's configuration and the checked h5 weights (``checkpoint``: another h5 path to load instead,
    which must hold the same architecture, e.g. a fine-tuned one written by the DPCRN training adapter)."""
    name = card_h5(card)
    cfg = CHECKPOINTS[name]
    path = checkpoint if checkpoint is not None else fetch(name, mirror=mirror)
    return cfg, load_h5(path, cfg)


def build_keras(card, *, mirror=None, checkpoint=None) -> DpcrnKeras:
    """Registry builder: the TF-native model of the card's h5."""
    return DpcrnKeras(card, *_weights_for(card, mirror, checkpoint))


def build_torch(card, *, mirror=None, checkpoint=None) -> DpcrnTorchModel:
    """Registry builder: the PyTorch port of the card's h5."""
    return DpcrnTorchModel(card, *_weights_for(card, mirror, checkpoint))


def build_torch_int8(card, *, mirror=None, checkpoint=None) -> DpcrnTorchModel:
    """Registry builder: the PyTorch port with dynamic int8 linear layers."""
    return DpcrnTorchModel(card, *_weights_for(card, mirror, checkpoint), quantized=True)


# ------------------------------------------------------------------------------------ checks & studies


def official_pairs(*, mirror=None) -> list[tuple[Path, Path]]:
    """``(noisy, upstream enhanced)`` paths of ``dpcrn_official_samples``: real DNS3 blind recordings and
    the DPCRN_DNS3 repository's own outputs for them (16-bit WAV, written by upstream ``main.py``)."""
    from .. import assets

    noisy = {p.name: p for p in assets.dataset_files("dpcrn_official_samples", mirror=mirror, subdir="noisy")}
    enh = {p.name: p for p in assets.dataset_files("dpcrn_official_samples", mirror=mirror, subdir="enhanced")}
    return [(noisy[n], enh[n]) for n in sorted(set(noisy) & set(enh))]


def as_pcm16(y: np.ndarray, sr: int = 16000) -> np.ndarray:
    """``y`` ``(samples,)`` as upstream saved it: written to a 16-bit WAV (``soundfile`` defaults) and read
    back as float32. Comparing against the official outputs needs this: their 16-bit rounding alone limits
    SI-SDR to about 60-80 dB."""
    import io

    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.asarray(y, dtype=np.float32), sr, format="WAV", subtype="PCM_16")
    buf.seek(0)
    return sf.read(buf, dtype="float32")[0]


def upstream_parity(model: DpcrnNet, *, mirror=None, limit: int | None = None) -> list[dict]:
    """SI-SDR of ``model`` (upstream framing, :meth:`DpcrnNet.enhance_upstream`) against each official
    output: ``[{"file", "seconds", "si_sdr", "si_sdr_float"}]``; ``si_sdr`` is after the same 16-bit
    rounding upstream's file went through, ``si_sdr_float`` before it."""
    from .. import metrics
    from ..audio import read

    rows = []
    for noisy_path, ref_path in official_pairs(mirror=mirror)[:limit]:
        x, _ = read(noisy_path)
        ref, _ = read(ref_path)
        y = model.enhance_upstream(x[0])
        if len(y) != ref.shape[1]:
            raise ModelError(f"{ref_path.name}: upstream output has {ref.shape[1]} samples, model gave {len(y)}")
        rows.append({"file": noisy_path.name, "seconds": x.shape[1] / model.sample_rate,
                     "si_sdr": metrics.si_sdr(ref[0], as_pcm16(y)), "si_sdr_float": metrics.si_sdr(ref[0], y)})
    return rows


#: Streaming variants for the cache study: ``mode -> (state parts carried frame to frame, STFT overlap kept)``.
STREAMING_MODES = {
    "all caches (correct)": (("conv", "deconv", "rnn"), True),
    "no encoder conv caches": (("deconv", "rnn"), True),
    "no decoder transposed-conv caches": (("conv", "rnn"), True),
    "no inter-frame LSTM state": (("conv", "deconv"), True),
    "no STFT overlap buffer": (("conv", "deconv", "rnn"), False),
    "none (naive frame-by-frame port)": ((), True),
}


def streaming_ablation(model: DpcrnNet, xs: list[np.ndarray], cleans: list[np.ndarray] | None = None) -> list[dict]:
    """Stream each signal of ``xs`` with each of :data:`STREAMING_MODES` (:meth:`DpcrnNet.stream_many`);
    ``[{"mode", "vs_offline", "vs_clean", "gain_kept"}]``: mean SI-SDR (dB) against the offline output and,
    when ``cleans`` are given, against the clean references, and the share of the offline SI-SDR
    improvement over the noisy input that the mode keeps."""
    from .. import metrics

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
    from itertools import combinations

    from .. import metrics

    rows = []
    for a, b in combinations(outputs, 2):
        d = [metrics.si_sdr(x, y) for x, y in zip(outputs[a], outputs[b])]
        rows.append({"a": a, "b": b, "mean": float(np.mean(d)), "min": float(np.min(d))})
    return rows


def weights_bytes(model) -> int | None:
    """Size of what the model loads: the card's weight files; for a quantised PyTorch port, its serialised
    ``state_dict`` (int8 packed linear layers)."""
    if getattr(model, "framework", "") == "torch int8":
        import io

        import torch

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
    import time

    dur = len(x) / model.sample_rate
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.enhance_model_rate(x)
        best = min(best, time.perf_counter() - t0)
    if not model.card.streaming:
        nan = float("nan")
        return {"rtf_offline": best / dur, "rtf_stream": nan, "hop_ms": nan, "hop_ms_p95": nan, "hop_budget": nan,
                "hop_duration_ms": nan}
    s = model.stream()
    hops = []
    for i in range(0, len(x) - s.hop + 1, s.hop):
        t0 = time.perf_counter()
        s.process(x[i:i + s.hop])
        hops.append(time.perf_counter() - t0)
    hop_s = s.hop / model.sample_rate
    return {"rtf_offline": best / dur, "rtf_stream": float(np.sum(hops)) / (len(hops) * hop_s),
            "hop_ms": 1000 * float(np.mean(hops)), "hop_ms_p95": 1000 * float(np.percentile(hops, 95)),
            "hop_budget": float(np.mean(hops)) / hop_s, "hop_duration_ms": 1000 * hop_s}


def variant_table(names: list[str], pairs: list[tuple], *, speed_clip: np.ndarray | None = None,
                  mirror=None):
    """One row per registry model in ``names``: mean SI-SDR / PESQ-WB / STOI on ``pairs``
    (``[(clean_path, noisy_path)]`` at any rate: enhanced at the file's rate, resampled through the model),
    weights size, parameters, algorithmic latency, and (with ``speed_clip``, 16 kHz) :func:`speed`.
    A ``noisy`` row gives the baseline. Returns a pandas DataFrame."""
    import pandas as pd

    from .. import metrics
    from ..audio import read
    from ..registry import load

    audio = [(read(c)[0][0], *read(n)) for c, n in pairs]
    score = lambda c, y, sr: metrics.score_pair(c, y, sr, metrics=["si_sdr", "pesq_wb", "stoi"])  # noqa: E731
    rows = [{"model": "noisy", **{k: float(np.nanmean([score(c, n[0], sr)[k] for c, n, sr in audio]))
                                  for k in ("si_sdr", "pesq_wb", "stoi")}}]
    for name in names:
        m = load(name, mirror=mirror)
        scores = [score(c, m.enhance(n, sr)[0], sr) for c, n, sr in audio]
        row = {"model": name, "framework": getattr(m, "framework", m.card.framework),
               **{k: float(np.nanmean([s[k] for s in scores])) for k in ("si_sdr", "pesq_wb", "stoi")},
               "MB": (weights_bytes(m) or float("nan")) / 1e6, "params": m.card.params,
               "latency_ms": m.card.latency_ms}
        if speed_clip is not None:
            row.update(speed(m, speed_clip, repeats=1))
        rows.append(row)
    return pd.DataFrame(rows)


def fault_parity(model: DpcrnNet, xs: list[np.ndarray]) -> dict[str, float]:
    """For each known conversion mistake (:data:`~setoolkit.models.dpcrn_torch.PORT_FAULTS`), the mean SI-SDR
    (dB) of the PyTorch port with that mistake against the correct port, offline on ``xs``."""
    from .. import metrics
    from .dpcrn_torch import PORT_FAULTS, faulty_port

    ref = [model.enhance_model_rate(x) for x in xs]
    out = {}
    for fault in PORT_FAULTS:
        bad = DpcrnTorchModel(model.card, model.cfg, model._weights)
        bad._torch = faulty_port(model._weights, model.cfg, fault)
        out[fault] = float(np.mean([metrics.si_sdr(a, bad.enhance_model_rate(x)) for a, x in zip(ref, xs)]))
    return out

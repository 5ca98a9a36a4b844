"""DPCRN configuration and weight layout: the hyper-parameters of each released checkpoint (everything a
weights-only h5 does not store), the h5 layer list a checkpoint must hold, the network's input features and
its mask.

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

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import AssetError
from ...stft import window
from ..common.keras_h5 import read_layers as read_h5  # {layer: [(weight name, array)]} in file order


@dataclass(frozen=True)
class DpcrnConfig:
    """Hyper-parameters of one released DPCRN (everything the h5 does not store)."""

    name: str
    n_fft: int
    hop: int
    features: str  # "ri": (real, imag); "ri_logpow": (real, imag, log(re^2 + im^2 + 1e-9))
    input_norm: str  # "layernorm" (per frame over freq x features) or "batchnorm" (per bin & feature)
    input_norm_eps: float
    filters: tuple  # encoder channels; the decoder mirrors them and ends with 2
    kernels: tuple  # encoder (time, freq) kernels; decoder layer i uses kernels[4 - i]
    strides: tuple
    freq_pads: tuple  # encoder (left, right) zero padding along frequency
    rnn: str  # "lstm" or "gru"
    gate: str  # recurrent activation: "hard_sigmoid" (Keras 2: clip(0.2x + 0.5)) or "sigmoid"
    units: int  # intra RNN (both directions together) and inter RNN size
    width: int  # frequency width after the encoder
    dprnn_ln_axes: int  # 2: layer norm over (freq, channels) per frame; 1: over channels only
    dprnn_ln_eps: float
    head: str  # "complex": complex ratio mask; "mag_phase": softplus mask x unit phase pair
    #: zeros before the first STFT frame, as the checkpoint's own inference frames (see
    #: :attr:`setoolkit.streaming.FrameModel.front_pad`): 0 for DNS3 (upstream ``main.py``: ``tf.signal.frame``
    #: without padding), ``None`` (``n_fft - hop``) for DPCRN-base (its exports' real-time loop, empty buffer)
    front_pad: int | None = None

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
        return [(filt[i], self.kernels[4 - i], self.strides[4 - i], "valid" if i == 4 else "same") for i in range(5)]

    def freq_sizes(self) -> list[int]:
        """Frequency size after each encoder conv, e.g. DNS3 ``[100, 50, 50, 50, 50]``."""
        sizes, f = [], self.n_bins
        for (_kt, kf), (_st, sf), (pl, pr) in zip(self.kernels, self.strides, self.freq_pads):
            f = (f + pl + pr - kf) // sf + 1
            sizes.append(f)
        return sizes


DNS3 = DpcrnConfig(
    name="DPCRN-DNS3",
    n_fft=400,
    hop=200,
    features="ri",
    input_norm="layernorm",
    input_norm_eps=1e-3,
    filters=(32, 32, 32, 64, 128),
    kernels=((2, 5), (2, 3), (2, 3), (2, 3), (2, 3)),
    strides=((1, 2), (1, 2), (1, 1), (1, 1), (1, 1)),
    freq_pads=((0, 2), (0, 1), (1, 1), (1, 1), (1, 1)),
    rnn="lstm",
    gate="hard_sigmoid",
    units=128,
    width=50,
    dprnn_ln_axes=2,
    dprnn_ln_eps=1e-3,
    head="complex",
    front_pad=0,
)

BASE = DpcrnConfig(
    name="DPCRN-base",
    n_fft=512,
    hop=256,
    features="ri_logpow",
    input_norm="batchnorm",
    input_norm_eps=1e-9,
    filters=(32, 32, 32, 64, 128),
    kernels=((1, 5), (1, 3), (1, 3), (1, 3), (1, 3)),
    strides=((1, 2), (1, 2), (1, 2), (1, 1), (1, 1)),
    freq_pads=((0, 2), (0, 1), (0, 1), (1, 1), (1, 1)),
    rnn="gru",
    gate="sigmoid",
    units=128,
    width=32,
    dprnn_ln_axes=1,
    dprnn_ln_eps=1e-8,
    head="mag_phase",
)

BN_EPS = 1e-3  # Keras BatchNormalization default, used by every conv BN
LOG_EPS = 1e-9  # log-power feature and phase normalisation (DPCRN-base)


# ------------------------------------------------------------------------------------ expected layers


def _rnn_shapes(cfg: DpcrnConfig, units: int, n_in: int) -> list[tuple]:
    g = 4 if cfg.rnn == "lstm" else 3
    return [(n_in, g * units), (units, g * units), (g * units,)]


def expected_layers(cfg: DpcrnConfig) -> list[tuple[str, list[tuple]]]:
    """Every h5 layer with weights, in file order, with its weight shapes: what a checkpoint must hold."""
    c, w = cfg.channels, cfg.width
    layers: list[tuple[str, list[tuple]]] = []
    if cfg.input_norm == "layernorm":
        layers.append(("layer_normalization", [(cfg.n_features, cfg.n_bins)] * 2))
    else:
        layers.append(("batch_normalization", [(1, 1, cfg.n_bins, cfg.n_features)] * 4))
    prelu = 0
    c_in = cfg.n_features
    for i, (f, k) in enumerate(zip(cfg.filters, cfg.kernels), start=1):
        layers += [
            (f"model0_conv_{i}", [(*k, c_in, f), (f,)]),
            (f"model0_bn_{i}", [(f,)] * 4),
            (prelu_name(prelu), [(1, 1, f)]),
        ]
        prelu += 1
        c_in = f
    ln: list[tuple] = [(c, w)] * 2 if cfg.dprnn_ln_axes == 2 else [(c,)] * 2
    half = cfg.units // 2
    for b in range(2):
        block = (
            _rnn_shapes(cfg, half, c) * 2
            + [(cfg.units, c), (c,)]
            + ln
            + _rnn_shapes(cfg, cfg.units, c)
            + [(cfg.units, c), (c,)]
            + ln
        )
        layers.append(("dprnn_block" + (f"_{b}" if b else ""), block))
    skips = list(cfg.filters[::-1])
    for i, (f, k, _, _) in enumerate(cfg.decoder(), start=1):
        c_in = skips[i - 1] + (c if i == 1 else cfg.decoder()[i - 2][0])
        layers.append((f"model0_dconv_{i}", [(*k, f, c_in), (f,)]))
        if i < 5:
            layers += [(f"model0_dbn_{i}", [(f,)] * 4), (prelu_name(prelu), [(1, 1, f)])]
            prelu += 1
    if cfg.head == "mag_phase":
        c_in = skips[4] + cfg.decoder()[3][0]
        layers += [
            ("model0_dbn_5", [(2,)] * 4),
            ("model0mag_mask", [(*cfg.kernels[0], 1, c_in), (1,)]),
            ("batch_normalization_1", [(cfg.n_bins,)] * 4),
        ]
    return layers


def prelu_name(i: int) -> str:
    """Keras' automatic name of the ``i``-th PReLU layer in the h5."""
    return "p_re_lu" + (f"_{i}" if i else "")


def n_params(cfg: DpcrnConfig) -> int:
    """Number of stored parameters (including batch-norm statistics), as Keras counts them."""
    return int(sum(np.prod(s) for _, shapes in expected_layers(cfg) for s in shapes))


# ------------------------------------------------------------------------------------ h5 reading


def check_architecture(
    weights: dict[str, list[tuple[str, np.ndarray]]], cfg: DpcrnConfig, path: str | os.PathLike
) -> None:
    """Raise :class:`AssetError` naming the first layer of ``weights`` that does not fit ``cfg``.

    Every layer is checked in file order (name, number of weights, each shape); extra layers are refused
    too, so no weight of the file is skipped.
    """
    found = list(weights.items())
    for k, (name, shapes) in enumerate(expected_layers(cfg)):
        if k >= len(found):
            raise AssetError(
                f"{path}: not a {cfg.name} checkpoint: layer {name!r} is missing "
                f"(the file has {len(found)} layers with weights)"
            )
        fname, fweights = found[k]
        if fname != name:
            raise AssetError(
                f"{path}: not a {cfg.name} checkpoint: first mismatching layer is {fname!r} "
                f"(expected {name!r} at position {k})"
            )
        fshapes = [tuple(a.shape) for _, a in fweights]
        if fshapes != [tuple(s) for s in shapes]:
            bad = next((i for i, (a, b) in enumerate(zip(fshapes, shapes)) if a != tuple(b)), len(shapes))
            what = (
                f"weight {fweights[bad][0]!r} has shape {fshapes[bad]}, expected {tuple(shapes[bad])}"
                if bad < min(len(fshapes), len(shapes))
                else f"{len(fshapes)} weights, expected {len(shapes)}"
            )
            raise AssetError(f"{path}: not a {cfg.name} checkpoint: first mismatching layer is {name!r}: {what}")
    if len(found) > len(expected_layers(cfg)):
        raise AssetError(
            f"{path}: not a {cfg.name} checkpoint: unexpected extra layer {found[len(expected_layers(cfg))][0]!r}"
        )


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
    return window("sine", n)


def features(cfg: DpcrnConfig, spec):
    """Complex STFT ``(..., frames, bins)`` -> network input ``(..., frames, bins, n_features)`` float32.
    numpy in, numpy out; a torch tensor in, a (differentiable) torch tensor out (fine-tuning)."""
    log: Any  # np.log or torch.log
    stack: Any
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


def apply_mask(cfg: DpcrnConfig, spec, mask):
    """Noisy STFT ``(..., bins)`` complex and network output ``(..., bins, 2 or 3)`` -> enhanced STFT
    (numpy arrays or torch tensors)."""
    if cfg.head == "complex":
        return spec * (mask[..., 0] + 1j * mask[..., 1])
    return spec * mask[..., 0] * (mask[..., 1] + 1j * mask[..., 2])

"""DPCRN as a Keras 3 graph (TensorFlow backend): the TF-native reference for the released h5 files.

The graph maps network input features ``(batch, frames, bins, n_features)`` to the mask
``(batch, frames, bins, 2)``; framing, FFTs and overlap-add are done outside (numpy) by
:mod:`setoolkit.models.dpcrn`. Layer names are the h5 layer names, and :func:`assign_h5` loads every
weight by layer name (each checked by shape), so no layer of the file is skipped.

Differences from upstream's ``tf.keras`` 2 code, each equivalent: explicit Conv2D padding lists become
``ZeroPadding2D`` + ``'valid'``; the LSTM gate activation is Keras 2's ``hard_sigmoid``
(``clip(0.2 x + 0.5, 0, 1)``), which Keras 3's ``"hard_sigmoid"`` is not; two-axis
layer-norm parameters are reshaped as Keras 2 applies them (:func:`~setoolkit.models.dpcrn.config.ln_param`).
"""

from __future__ import annotations

import functools

import numpy as np

from ...errors import AssetError
from .config import BN_EPS, LOG_EPS, DpcrnConfig, ln_param, prelu_name


def _keras():
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


@functools.cache
def _keras2_hard_sigmoid():
    """Keras 2's ``hard_sigmoid`` as a registered Keras 3 activation (``Bidirectional`` re-creates its
    layers from their config, so the function must be serialisable)."""
    keras = _keras()

    @keras.saving.register_keras_serializable(package="setoolkit")
    def keras2_hard_sigmoid(x):
        return keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)

    return keras2_hard_sigmoid


@functools.cache
def _dprnn_block_class():
    keras = _keras()
    from keras import ops

    class DprnnBlock(keras.layers.Layer):
        """Intra-frame bi-RNN over frequency + inter-frame RNN over time, each dense + norm + residual.

        ``(batch, frames, width, channels)`` -> same shape.
        """

        def __init__(self, cfg: DpcrnConfig, **kwargs):
            super().__init__(**kwargs)
            self.cfg = cfg
            rnn_cls = keras.layers.LSTM if cfg.rnn == "lstm" else keras.layers.GRU
            extra = {} if cfg.rnn == "lstm" else {"reset_after": False}
            gate = _keras2_hard_sigmoid() if cfg.gate == "hard_sigmoid" else "sigmoid"
            self.intra_rnn = keras.layers.Bidirectional(
                rnn_cls(cfg.units // 2, return_sequences=True, recurrent_activation=gate, **extra)
            )
            self.intra_fc = keras.layers.Dense(cfg.channels)
            self.inter_rnn = rnn_cls(cfg.units, return_sequences=True, recurrent_activation=gate, **extra)
            self.inter_fc = keras.layers.Dense(cfg.channels)
            axes = [-2, -1] if cfg.dprnn_ln_axes == 2 else -1
            self.intra_ln = keras.layers.LayerNormalization(axis=axes, epsilon=cfg.dprnn_ln_eps)
            self.inter_ln = keras.layers.LayerNormalization(axis=axes, epsilon=cfg.dprnn_ln_eps)

        def call(self, x):
            cfg = self.cfg
            b, t = ops.shape(x)[0], ops.shape(x)[1]
            w, c = cfg.width, cfg.channels
            intra = self.intra_fc(self.intra_rnn(ops.reshape(x, (-1, w, c))))
            intra = x + self.intra_ln(ops.reshape(intra, (b, t, w, c)))
            inter_in = ops.reshape(ops.transpose(intra, (0, 2, 1, 3)), (b * w, t, c))
            inter = self.inter_fc(self.inter_rnn(inter_in))
            inter = ops.transpose(ops.reshape(inter, (b, w, t, c)), (0, 2, 1, 3))
            return intra + self.inter_ln(inter)

        def h5_variables(self):
            """The variables in the h5 order: intra fwd/bwd RNN, dense, norm, inter RNN, dense, norm."""
            cells = [self.intra_rnn.forward_layer.cell, self.intra_rnn.backward_layer.cell]
            out = []
            for cell in cells:
                out += [cell.kernel, cell.recurrent_kernel, cell.bias]
            out += [self.intra_fc.kernel, self.intra_fc.bias, self.intra_ln.gamma, self.intra_ln.beta]
            cell = self.inter_rnn.cell
            out += [cell.kernel, cell.recurrent_kernel, cell.bias]
            out += [self.inter_fc.kernel, self.inter_fc.bias, self.inter_ln.gamma, self.inter_ln.beta]
            return out

    return DprnnBlock


def build_keras(cfg: DpcrnConfig):
    """The Keras model ``features (batch, frames, bins, n_features) -> mask outputs``.

    Outputs: ``(batch, frames, bins, 2)`` complex mask (real, imag) for ``head="complex"``; for
    ``head="mag_phase"`` ``(batch, frames, bins, 3)`` = (magnitude mask, cos, sin).
    """
    keras = _keras()
    from keras import layers, ops

    DprnnBlock = _dprnn_block_class()
    inp = keras.Input(shape=(None, cfg.n_bins, cfg.n_features), name="features")
    if cfg.input_norm == "layernorm":
        x = layers.LayerNormalization(axis=[-2, -1], epsilon=cfg.input_norm_eps, name="layer_normalization")(inp)
    else:
        # one statistic per (bin, feature): Keras 3 normalises a single axis, so flatten the two
        x = layers.Reshape((-1, cfg.n_bins * cfg.n_features))(inp)
        x = layers.BatchNormalization(epsilon=cfg.input_norm_eps, name="batch_normalization")(x)
        x = layers.Reshape((-1, cfg.n_bins, cfg.n_features))(x)
    skips, prelu = [], 0
    for i, (f, k, s, fp) in enumerate(zip(cfg.filters, cfg.kernels, cfg.strides, cfg.freq_pads), start=1):
        x = layers.ZeroPadding2D(((k[0] - 1, 0), fp))(x)
        x = layers.Conv2D(f, k, s, padding="valid", name=f"model0_conv_{i}")(x)
        x = layers.BatchNormalization(epsilon=BN_EPS, name=f"model0_bn_{i}")(x)
        x = layers.PReLU(shared_axes=[1, 2], name=prelu_name(prelu))(x)
        prelu += 1
        skips.append(x)
    for b in range(2):
        x = DprnnBlock(cfg, name="dprnn_block" + (f"_{b}" if b else ""))(x)
    for i, (f, k, s, pad) in enumerate(cfg.decoder(), start=1):
        skip_in = layers.Concatenate(axis=-1)([skips[5 - i], x])
        x = layers.Conv2DTranspose(f, k, s, padding=pad, name=f"model0_dconv_{i}")(skip_in)
        if i < 5:
            x = layers.BatchNormalization(epsilon=BN_EPS, name=f"model0_dbn_{i}")(x)
            x = layers.PReLU(shared_axes=[1, 2], name=prelu_name(prelu))(x)
            prelu += 1
    x = _causal_crop(x, cfg)
    if cfg.head == "complex":
        return keras.Model(inp, x, name=cfg.name)
    pha = layers.BatchNormalization(epsilon=BN_EPS, name="model0_dbn_5")(x)
    mag = layers.Conv2DTranspose(1, cfg.kernels[0], cfg.strides[0], padding="valid", name="model0mag_mask")(skip_in)
    mag = _causal_crop(mag, cfg)[..., 0]
    mag = layers.BatchNormalization(epsilon=BN_EPS, name="batch_normalization_1")(mag)
    mag = ops.softplus(mag)
    norm = ops.sqrt(pha[..., 0] ** 2 + pha[..., 1] ** 2 + LOG_EPS)
    out = ops.stack([mag, pha[..., 0] / norm, pha[..., 1] / norm], axis=-1)
    return keras.Model(inp, out, name=cfg.name)


def _causal_crop(x, cfg: DpcrnConfig):
    """The 'valid' transposed conv's full output -> the causal frames (drop the last ``kt - 1``) and the
    first ``n_bins`` bins."""
    kt = cfg.time_kernel
    if kt > 1:
        x = x[:, : -(kt - 1)]
    return x[:, :, : cfg.n_bins]


def _layer_variables(layer) -> list:
    if hasattr(layer, "h5_variables"):
        return layer.h5_variables()
    return list(layer.weights)


def assign_h5(model, weights: dict[str, list[np.ndarray]]) -> list[str]:
    """Load ``weights`` (from :func:`~setoolkit.models.dpcrn.config.load_h5`) into ``model`` by layer name.

    Every model layer with weights must be in the file and every file layer in the model; each array must
    have the variable's size (layer-norm parameters are reshaped as Keras 2 applies them). Returns the names
    of the layers loaded. Raises :class:`~setoolkit.errors.AssetError` otherwise.
    """
    loaded = []
    model_layers = {layer.name: layer for layer in model.layers if layer.weights}
    for name in set(model_layers) ^ set(weights):
        where = "the file" if name in model_layers else "the model"
        raise AssetError(f"layer {name!r} is missing from {where}")
    for name, arrays in weights.items():
        variables = _layer_variables(model_layers[name])
        if len(variables) != len(arrays):
            raise AssetError(f"layer {name!r}: {len(arrays)} weights in the file, {len(variables)} in the model")
        for v, a in zip(variables, arrays):
            shape = tuple(v.shape)
            if a.size != int(np.prod(shape)):
                raise AssetError(f"layer {name!r}: weight of shape {a.shape} does not fit {shape}")
            v.assign(ln_param(a, shape) if a.shape != shape else a)
        loaded.append(name)
    return loaded


class KerasRunner:
    """A built and loaded Keras DPCRN with a compiled call: ``features (frames, bins, F)`` -> outputs."""

    def __init__(self, cfg: DpcrnConfig, weights: dict[str, list[np.ndarray]]) -> None:
        import tensorflow as tf

        self.cfg = cfg
        self.model = build_keras(cfg)
        self.loaded_layers = assign_h5(self.model, weights)
        spec = tf.TensorSpec([None, None, cfg.n_bins, cfg.n_features], tf.float32)
        self._fn = tf.function(lambda x: self.model(x, training=False), input_signature=[spec])

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        """``(frames, bins, n_features)`` float32 -> ``(frames, bins, 2 or 3)`` float32."""
        return self._fn(np.asarray(feats, dtype=np.float32)[None]).numpy()[0]

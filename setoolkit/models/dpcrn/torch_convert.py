"""DPCRN's PyTorch port from and back to the released Keras h5: :func:`convert_h5` (h5 arrays -> state dict,
the rules listed in :mod:`.torch_port`), :func:`from_h5` (a ready network), :func:`to_h5_weights` (the port's
weights in the h5 layout, for fine-tuned checkpoints saved back) and :func:`quantize_int8`."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from ...errors import AssetError
from .config import DpcrnConfig, expected_layers, ln_param, prelu_name
from .torch_port import DpcrnTorch


def _rnn_params(prefix: str, arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
    kernel, recurrent, bias = arrays
    return {
        f"{prefix}.ih.weight": kernel.T,
        f"{prefix}.ih.bias": bias,
        f"{prefix}.hh.weight": recurrent.T,
        f"{prefix}.hh.bias": np.zeros_like(bias),
    }


def _bn(prefix: str, arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
    gamma, beta, mean, var = arrays
    return {
        f"{prefix}.weight": gamma,
        f"{prefix}.bias": beta,
        f"{prefix}.running_mean": mean,
        f"{prefix}.running_var": var,
    }


def convert_h5(weights: dict[str, list[np.ndarray]], cfg: DpcrnConfig) -> dict[str, torch.Tensor]:
    """Keras h5 weights (from :func:`~setoolkit.models.dpcrn.config.load_h5`, already checked against ``cfg``) ->
    a ``state_dict`` of :class:`DpcrnTorch` (without BatchNorm ``num_batches_tracked``)."""
    sd: dict[str, np.ndarray] = {}
    if cfg.input_norm == "layernorm":
        gamma, beta = weights["layer_normalization"]
        sd["input_norm.weight"] = ln_param(gamma, (cfg.n_bins, cfg.n_features))
        sd["input_norm.bias"] = ln_param(beta, (cfg.n_bins, cfg.n_features))
    else:
        sd.update(
            {
                k: v.reshape(cfg.n_bins, cfg.n_features)
                for k, v in _bn("input_norm", weights["batch_normalization"]).items()
            }
        )
    prelu = iter(k for k in weights if k.startswith("p_re_lu"))
    for i in range(5):
        kernel, bias = weights[f"model0_conv_{i + 1}"]
        sd[f"encoder.{i}.conv.weight"] = kernel.transpose(3, 2, 0, 1)
        sd[f"encoder.{i}.conv.bias"] = bias
        sd.update(_bn(f"encoder.{i}.bn", weights[f"model0_bn_{i + 1}"]))
        sd[f"encoder.{i}.act.weight"] = weights[next(prelu)][0].reshape(-1)
    ln_shape = (cfg.width, cfg.channels) if cfg.dprnn_ln_axes == 2 else (cfg.channels,)
    for b in range(2):
        a = weights["dprnn_block" + (f"_{b}" if b else "")]
        p = f"dprnn.{b}"
        sd.update(_rnn_params(f"{p}.intra_fwd", a[0:3]))
        sd.update(_rnn_params(f"{p}.intra_bwd", a[3:6]))
        sd[f"{p}.intra_fc.weight"], sd[f"{p}.intra_fc.bias"] = a[6].T, a[7]
        sd[f"{p}.intra_ln.weight"], sd[f"{p}.intra_ln.bias"] = ln_param(a[8], ln_shape), ln_param(a[9], ln_shape)
        sd.update(_rnn_params(f"{p}.inter_rnn", a[10:13]))
        sd[f"{p}.inter_fc.weight"], sd[f"{p}.inter_fc.bias"] = a[13].T, a[14]
        sd[f"{p}.inter_ln.weight"], sd[f"{p}.inter_ln.bias"] = ln_param(a[15], ln_shape), ln_param(a[16], ln_shape)
    for i in range(5):
        kernel, bias = weights[f"model0_dconv_{i + 1}"]
        sd[f"decoder.{i}.conv.weight"] = kernel.transpose(3, 2, 0, 1)
        sd[f"decoder.{i}.conv.bias"] = bias
        if i < 4:
            sd.update(_bn(f"decoder.{i}.bn", weights[f"model0_dbn_{i + 1}"]))
            sd[f"decoder.{i}.act.weight"] = weights[next(prelu)][0].reshape(-1)
    if cfg.head == "mag_phase":
        sd.update(_bn("phase_bn", weights["model0_dbn_5"]))
        kernel, bias = weights["model0mag_mask"]
        sd["mag.conv.weight"], sd["mag.conv.bias"] = kernel.transpose(3, 2, 0, 1), bias
        sd.update(_bn("mag_bn", weights["batch_normalization_1"]))
    return {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in sd.items()}


def to_h5_weights(model: DpcrnTorch) -> dict[str, list[np.ndarray]]:
    """The inverse of :func:`convert_h5`: the module's weights as the released Keras h5 stores them,
    ``{layer name: [arrays]}`` in file order with the shapes of :func:`~setoolkit.models.dpcrn.config.expected_layers`
    (what :func:`~setoolkit.models.common.keras_h5.write_layers` writes and the loaders read back).

    Keras RNNs have one bias: the torch ``hh`` biases must still be 0 (fine-tuning freezes them)."""
    cfg = model.cfg
    sd = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    nonzero = [k for k, v in sd.items() if k.endswith(".hh.bias") and np.any(v)]
    if nonzero:
        raise ValueError(f"{nonzero[0]} is not 0: a Keras RNN has no second bias to store it in")

    def kernel(p):  # Conv2d (out, in, kt, kf) / ConvTranspose2d (in, out, kt, kf) -> Keras (kt, kf, ., .)
        return [sd[f"{p}.weight"].transpose(2, 3, 1, 0), sd[f"{p}.bias"]]

    def bn(p):
        return [sd[f"{p}.weight"], sd[f"{p}.bias"], sd[f"{p}.running_mean"], sd[f"{p}.running_var"]]

    def rnn(p):
        return [sd[f"{p}.ih.weight"].T, sd[f"{p}.hh.weight"].T, sd[f"{p}.ih.bias"]]

    def dense_ln(p, fc, ln):
        return [sd[f"{p}.{fc}.weight"].T, sd[f"{p}.{fc}.bias"], sd[f"{p}.{ln}.weight"], sd[f"{p}.{ln}.bias"]]

    layers = {}
    if cfg.input_norm == "layernorm":
        layers["layer_normalization"] = [sd["input_norm.weight"], sd["input_norm.bias"]]
    else:
        layers["batch_normalization"] = bn("input_norm")
    prelus = (prelu_name(i) for i in range(9))
    for i in range(5):
        layers[f"model0_conv_{i + 1}"] = kernel(f"encoder.{i}.conv")
        layers[f"model0_bn_{i + 1}"] = bn(f"encoder.{i}.bn")
        layers[next(prelus)] = [sd[f"encoder.{i}.act.weight"]]
    for b in range(2):
        p = f"dprnn.{b}"
        layers["dprnn_block" + (f"_{b}" if b else "")] = (
            rnn(f"{p}.intra_fwd")
            + rnn(f"{p}.intra_bwd")
            + dense_ln(p, "intra_fc", "intra_ln")
            + rnn(f"{p}.inter_rnn")
            + dense_ln(p, "inter_fc", "inter_ln")
        )
    for i in range(5):
        layers[f"model0_dconv_{i + 1}"] = kernel(f"decoder.{i}.conv")
        if i < 4:
            layers[f"model0_dbn_{i + 1}"] = bn(f"decoder.{i}.bn")
            layers[next(prelus)] = [sd[f"decoder.{i}.act.weight"]]
    if cfg.head == "mag_phase":
        layers["model0_dbn_5"] = bn("phase_bn")
        layers["model0mag_mask"] = kernel("mag.conv")
        layers["batch_normalization_1"] = bn("mag_bn")
    return {
        name: [np.ascontiguousarray(a, dtype=np.float32).reshape(shape) for a, shape in zip(layers[name], shapes)]
        for name, shapes in expected_layers(cfg)
    }


def from_h5(weights: dict[str, list[np.ndarray]], cfg: DpcrnConfig, gate: str | None = None) -> DpcrnTorch:
    """A :class:`DpcrnTorch` in eval mode with the converted h5 weights (every parameter and statistic set:
    ``load_state_dict`` is strict apart from BatchNorm's ``num_batches_tracked`` counters)."""
    model = DpcrnTorch(cfg, gate=gate)
    missing, unexpected = model.load_state_dict(convert_h5(weights, cfg), strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise AssetError(f"h5 -> torch conversion incomplete: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.eval()


def stored_ln(key: str, weights) -> np.ndarray:
    """The h5 array behind a two-axis layer-norm parameter of the torch model (as stored, unreshaped)."""
    idx = 0 if key.endswith("weight") else 1
    if key.startswith("input_norm."):
        return weights["layer_normalization"][idx]
    block = "dprnn_block" + ("_1" if key.startswith("dprnn.1.") else "")
    return weights[block][(8 if "intra_ln" in key else 15) + idx]


def quantize_int8(model: DpcrnTorch) -> DpcrnTorch:
    """Dynamic int8 quantisation of every ``nn.Linear`` (weights int8): the RNN input/recurrent projections
    and the dense layers, about 72% of DPCRN-DNS3's parameters; convs stay float.

    The dense layers run torch's dynamic int8 kernels (activations quantised on the fly). The RNN matrices
    keep their int8 weights but run in the fused float recurrence (:func:`run_fused`, dequantised once): a
    per-time-step dynamic int8 matmul over one frame's few rows costs more than it saves, and made streaming
    2.8x slower than real time (measured), while the fused scan streams within the hop."""
    return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {nn.Linear}, dtype=torch.qint8)

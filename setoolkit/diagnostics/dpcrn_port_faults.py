"""Known conversion mistakes of a DPCRN PyTorch port, reproduced on purpose: each plausible, each silent (the
model still runs and still enhances a little). The parity study and its tests measure them against the official
outputs; the doctor's tests check that they are caught."""

from __future__ import annotations

from typing import cast

import numpy as np
import torch

from ..models.dpcrn.config import DpcrnConfig
from ..models.dpcrn.torch_convert import from_h5, stored_ln
from ..models.dpcrn.torch_port import DeconvBlock, DpcrnTorch

#: Conversion mistakes a DPCRN port can make, each plausible and each silent (the model still runs and
#: still enhances a little): reproduced by :func:`faulty_port` for the parity notebook and tests.
PORT_FAULTS = {
    "nn.LSTM (sigmoid gates)": "recurrent gates use the logistic sigmoid, as torch.nn.LSTM does",
    "Keras 3 hard_sigmoid": "recurrent gates use clip(x/6 + 0.5), Keras 3's hard_sigmoid",
    "layer-norm params transposed": "two-axis layer-norm gamma/beta transposed instead of reshaped",
    "transposed-conv kernel flipped": "decoder kernels flipped in time and frequency (a convolution's kernel)",
}


def faulty_port(weights: dict[str, list[np.ndarray]], cfg: DpcrnConfig, fault: str) -> DpcrnTorch:
    """The PyTorch port with one known conversion mistake (a key of :data:`PORT_FAULTS`)."""
    gate = {"nn.LSTM (sigmoid gates)": "sigmoid", "Keras 3 hard_sigmoid": "hard_sigmoid_keras3"}.get(fault)
    if fault not in PORT_FAULTS:
        raise ValueError(f"unknown fault {fault!r}; choose one of {list(PORT_FAULTS)}")
    model = from_h5(weights, cfg, gate=gate)
    sd = model.state_dict()
    with torch.no_grad():
        if fault == "layer-norm params transposed":
            for k, v in sd.items():
                if v.ndim == 2 and ("_ln." in k or k.startswith("input_norm.")):
                    v.copy_(torch.from_numpy(stored_ln(k, weights).T.copy()))
        elif fault == "transposed-conv kernel flipped":
            for blk in cast("list[DeconvBlock]", model.decoder):
                blk.conv.weight.copy_(blk.conv.weight.flip(2, 3))
    return model

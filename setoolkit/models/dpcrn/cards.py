"""The released DPCRN checkpoints, one card each: the official DNS3 model (TF-native Keras and its PyTorch ports),
the DPCRN-base exports of SKIP-DPCRN (TFLite float/int8, ONNX, the original h5), the official real-time TFLite,
and a third-party PyTorch re-implementation trained on VCTK-DEMAND.

``expected``: the floors ``setoolkit doctor`` checks (mean improvement over noisy on vbd16k, set just below what
setoolkit measured: docs/dpcrn.md).
"""

from __future__ import annotations

from ...registry import card
from .config import BASE, DNS3
from .frame_exports import build as build_frame_export

# The PyTorch and Keras builders, named by module: imported on the first load (setoolkit[torch], setoolkit[tf]).
build_keras = "setoolkit.models.dpcrn.enhancer:build_keras"
build_torch = "setoolkit.models.dpcrn.enhancer:build_torch"
build_torch_int8 = "setoolkit.models.dpcrn.enhancer:build_torch_int8"
build_vctk_reimplementation = "setoolkit.models.dpcrn.vctk_reimplementation:build"

DNS3_H5 = "weights/dpcrn_dns3/model_DPCRN_SNR+logMSE_causal_sinw.h5"
BASE_H5 = "weights/dpcrn_base/models_experiment_new_base_nomap_phasenloss_retrain_WSJmodel_84_0.022068.h5"
NO_LICENSE = "no license stated upstream"
BASE_DESCRIPTION = (
    "DPCRN-base (SKIP-DPCRN repo): GRU dual-path RNN between conv encoder/decoder, softplus magnitude mask + unit phase"
)
#: Why the h5 models' offline memory grows with the input (issue 13): their offline network is upstream's
#: whole-sequence graph; stream() (and the per-frame exports) run in constant memory.
WHOLE_SEQUENCE = "; offline memory grows with the input (the whole-sequence graph, as upstream); stream() is constant"
BASE_FLOOR = {"si_sdr": 9.0, "pesq_wb": 0.5}
DNS3_FLOOR = {"si_sdr": 10.0, "pesq_wb": 0.6}
DNS3_DATA = "DNS-Challenge 3 (DNS3) training data"
BASE_DATA = "not stated by SKIP-DPCRN; the checkpoint name says 'retrain_WSJmodel' (WSJ speech presumed)"

CARDS = [
    card(
        name="dpcrn-quant",
        family="dpcrn",
        sample_rate=16000,
        framework="tflite",
        frame=512,
        hop=256,
        latency_ms=32.0,
        params=530_000,
        weights=["weights/dpcrn_base/dpcrn_quant.tflite"],
        license=NO_LICENSE,
        streaming=True,
        builder=build_frame_export,
        config=BASE,
        expected=BASE_FLOOR,
        trained_on=BASE_DATA,
        description=f"DPCRN-Quant: {BASE_DESCRIPTION}, per-frame TFLite with explicit state [1,2,32,128]; "
        "dynamic-range int8 weights",
    ),
    card(
        name="dpcrn-base",
        family="dpcrn",
        sample_rate=16000,
        framework="tflite",
        frame=512,
        hop=256,
        latency_ms=32.0,
        params=530_000,
        weights=["weights/dpcrn_base/dpcrn.tflite"],
        license=NO_LICENSE,
        streaming=True,
        builder=build_frame_export,
        config=BASE,
        expected=BASE_FLOOR,
        trained_on=BASE_DATA,
        description=f"{BASE_DESCRIPTION}, per-frame TFLite with explicit state [1,2,32,128]; float32 weights",
    ),
    card(
        name="dpcrn-dns3",
        family="dpcrn",
        sample_rate=16000,
        framework="keras+torch",
        frame=400,
        hop=200,
        latency_ms=25.0,
        params=804_646,
        weights=[DNS3_H5],
        license=NO_LICENSE,
        streaming=True,
        builder=build_keras,
        extras=["tf", "torch"],
        config=DNS3,
        expected=DNS3_FLOOR,
        trained_on=DNS3_DATA,
        description="DPCRN (Le et al. 2021) official DNS3 model, LSTM DPRNN, 400/200 sine window, complex mask; "
        "offline: TF-native Keras 3 graph loaded from the h5, framed as upstream main.py; streaming: "
        "its PyTorch port" + WHOLE_SEQUENCE,
    ),
    card(
        name="dpcrn-dns3-torch",
        family="dpcrn",
        sample_rate=16000,
        framework="torch",
        frame=400,
        hop=200,
        latency_ms=25.0,
        params=804_646,
        weights=[DNS3_H5],
        license=NO_LICENSE,
        streaming=True,
        builder=build_torch,
        extras=["torch"],
        config=DNS3,
        expected=DNS3_FLOOR,
        trained_on=DNS3_DATA,
        variant_of="dpcrn-dns3",
        description="DPCRN-DNS3 ported to PyTorch from the h5 (hard-sigmoid LSTM gates); streaming carries "
        "conv/transposed-conv caches and inter-frame LSTM (h, c)" + WHOLE_SEQUENCE,
    ),
    card(
        name="dpcrn-dns3-torch-int8",
        family="dpcrn",
        sample_rate=16000,
        framework="torch int8",
        frame=400,
        hop=200,
        latency_ms=25.0,
        params=804_646,
        weights=[DNS3_H5],
        license=NO_LICENSE,
        streaming=True,
        builder=build_torch_int8,
        extras=["torch"],
        config=DNS3,
        trained_on=DNS3_DATA,
        expected={"si_sdr": 9.5, "pesq_wb": 0.55},
        description="DPCRN-DNS3 PyTorch port with int8 weights in every linear layer (dense: torch dynamic int8 "
        "kernels; LSTM matrices: int8 weights in the fused float recurrence); convs float" + WHOLE_SEQUENCE,
    ),
    card(
        name="dpcrn-dns3-rt",
        family="dpcrn",
        sample_rate=16000,
        framework="tflite",
        frame=512,
        hop=256,
        latency_ms=32.0,
        params=None,
        weights=["weights/dpcrn_dns3/dpcrn_stateful_model.tflite"],
        license=NO_LICENSE,
        streaming=True,
        builder=build_frame_export,
        expected={"si_sdr": 8.0, "pesq_wb": 0.5},
        trained_on=DNS3_DATA,
        description="official DPCRN_DNS3 real-time stateful TFLite (GRU, 512/256), two [1,32,128] states; its "
        "'lambda/Log' output is the softplus magnitude mask",
    ),
    card(
        name="dpcrn-base-h5",
        family="dpcrn",
        sample_rate=16000,
        framework="torch",
        frame=512,
        hop=256,
        latency_ms=32.0,
        params=531_515,
        weights=[BASE_H5],
        license=NO_LICENSE,
        streaming=True,
        builder=build_torch,
        extras=["torch"],
        config=BASE,
        expected=BASE_FLOOR,
        variant_of="dpcrn-base",
        trained_on=BASE_DATA,
        description=f"{BASE_DESCRIPTION}; PyTorch port of the original Keras h5" + WHOLE_SEQUENCE,
    ),
    card(
        name="dpcrn-base-onnx",
        family="dpcrn",
        sample_rate=16000,
        framework="onnx",
        frame=512,
        hop=256,
        latency_ms=32.0,
        params=530_000,
        weights=["weights/dpcrn_base/dpcrn.onnx"],
        license=NO_LICENSE,
        streaming=True,
        builder=build_frame_export,
        config=BASE,
        expected=BASE_FLOOR,
        variant_of="dpcrn-base",
        trained_on=BASE_DATA,
        description=f"{BASE_DESCRIPTION}, per-frame ONNX with explicit state [1,2,32,128]; tf2onnx export, float32",
    ),
    card(
        name="dpcrn-bearboy",
        family="dpcrn",
        sample_rate=16000,
        framework="torch",
        frame=400,
        hop=200,
        latency_ms=None,
        params=670_664,
        weights=["weights/dpcrn_pytorch_bearboy/final_ckp.pth"],
        license=NO_LICENSE,
        streaming=False,
        builder=build_vctk_reimplementation,
        extras=["torch"],
        expected={"si_sdr": 10.0, "pesq_wb": 0.5},
        trained_on="VoiceBank-DEMAND (VCTK-DEMAND)",
        description="third-party PyTorch DPCRN (bear-boy/DPCRN-Pytorch) trained on VCTK-DEMAND; one DPRNN block, "
        "utterance-level GroupNorm (not causal: offline only), 400/200 cosine window",
    ),
]

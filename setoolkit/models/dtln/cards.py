"""The released DTLN model in its four forms, one card each: the Keras h5 in the PyTorch port
(``setoolkit[torch]``) and the official TFLite, int8 TFLite and ONNX stage pairs (core)."""

from __future__ import annotations

from ...registry import Published, card

BUILD = "setoolkit.models.dtln.network:build"
BUILD_EXPORT = "setoolkit.models.dtln.enhancer:build"

_CITE = (
    'Westhausen & Meyer, "Dual-Signal Transformation LSTM Network", Interspeech 2020; '
    "github.com/breizhn/DTLN README @1de1f15"
)
_DTLN = (
    "DTLN (Interspeech 2020, breizhn/DTLN): two LSTM cores (FFT mask, learned-basis mask), block 512 / shift "
    "128, 384-sample delay compensated; {}"
)
_DTLN_FLOOR = {"si_sdr": 8.9, "pesq_wb": 0.45}  # measured +9.16 dB, +0.48


def _published(variant: str, pesq: float, stoi: float, si_sdr: float) -> list:
    """The README's DNS-2020 synthetic no-reverb row of one released variant (PESQ: neither WB nor NB said)."""
    return [
        Published(
            "dns_2020_synthetic_noreverb", "pesq_unspecified", pesq, _CITE, f"{variant}; README does not say WB or NB"
        ),
        Published("dns_2020_synthetic_noreverb", "stoi", stoi, _CITE, variant),
        Published("dns_2020_synthetic_noreverb", "si_sdr", si_sdr, _CITE, variant),
    ]


_TRAINED_ON = "DNS-Challenge (Interspeech 2020 DNS data, 500 h)"

CARDS = [
    card(
        name="dtln",
        family="dtln",
        sample_rate=16000,
        framework="keras h5 -> torch",
        frame=512,
        hop=128,
        latency_ms=32.0,
        params=986_753,
        weights=["weights/dtln/model.h5"],
        license="MIT",
        streaming=True,
        builder=BUILD,
        trained_on=_TRAINED_ON,
        extras=["torch"],
        expected=_DTLN_FLOOR,
        description=_DTLN.format("the Keras h5 weights in setoolkit's PyTorch port"),
        published=_published("DTLN (500h), the DNS-Challenge model", 3.04, 0.9476, 16.34),
    ),
    card(
        name="dtln-tflite",
        family="dtln",
        sample_rate=16000,
        framework="tflite",
        frame=512,
        hop=128,
        latency_ms=32.0,
        params=986_753,
        weights=["weights/dtln/model_1.tflite", "weights/dtln/model_2.tflite"],
        license="MIT",
        streaming=True,
        builder=BUILD_EXPORT,
        trained_on=_TRAINED_ON,
        expected=_DTLN_FLOOR,
        variant_of="dtln",
        description=_DTLN.format("the official TFLite stage pair"),
        published=_published("DTLN (500h) TF-lite", 2.98, 0.9475, 16.20),
    ),
    card(
        name="dtln-quant",
        family="dtln",
        sample_rate=16000,
        framework="tflite",
        frame=512,
        hop=128,
        latency_ms=32.0,
        params=986_753,
        weights=["weights/dtln/model_quant_1.tflite", "weights/dtln/model_quant_2.tflite"],
        license="MIT",
        streaming=True,
        builder=BUILD_EXPORT,
        trained_on=_TRAINED_ON,
        expected={"si_sdr": 8.7, "pesq_wb": 0.29},  # measured +8.99 dB, +0.32
        description=_DTLN.format("the official TFLite pair with int8 (dynamic-range) weights"),
        published=_published("DTLN (500h) TF-lite quantized", 2.95, 0.9447, 15.71),
    ),
    card(
        name="dtln-onnx",
        family="dtln",
        sample_rate=16000,
        framework="onnx",
        frame=512,
        hop=128,
        latency_ms=32.0,
        params=986_753,
        weights=["weights/dtln/model_1.onnx", "weights/dtln/model_2.onnx"],
        license="MIT",
        streaming=True,
        builder=BUILD_EXPORT,
        trained_on=_TRAINED_ON,
        expected=_DTLN_FLOOR,
        variant_of="dtln",
        description=_DTLN.format("the official ONNX stage pair"),
    ),
]

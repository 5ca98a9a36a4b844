"""The released Demucs denoiser checkpoints, one card each (PyTorch: ``setoolkit[torch]``).

Declared without importing the network: the builder is named by module, imported on the first load.
"""

from __future__ import annotations

from ...registry import Published, card

BUILD = "setoolkit.models.demucs.enhancer:build"

# ------------------------------------------------------------------------------------------ cards
# The released checkpoints (facebookresearch/denoiser pretrained.py): ``config`` holds the hyper-parameters that
# differ from the Demucs defaults. Causal ones stream: frame = input samples per 256-sample output hop (597
# receptive field + 64 resampling lookahead).

_NOT_MIRRORED = (
    "available; the official checkpoint is not in the mirror: fetched from dl.fbaipublicfiles.com "
    "(sha256 prefix checked) or pass checkpoint=PATH; no quality numbers measured here"
)
_STREAMING = "; streaming = upstream DemucsStreamer output, incremental (stream output 512 samples late)"
_PORT = "; setoolkit's state-dict compatible port"

CARDS = [
    card(
        name="denoiser-dns48",
        family="demucs",
        sample_rate=16000,
        framework="torch",
        frame=661,
        hop=256,
        latency_ms=41.3,
        params=18_867_937,
        weights=["weights/denoiser/dns48-11decc9d8e3f0998.th"],
        license="CC-BY-NC-4.0",
        streaming=True,
        builder=BUILD,
        trained_on="DNS",
        extras=["torch"],
        config={"hidden": 48},
        status=_NOT_MIRRORED,
        description="Demucs denoiser dns48 (facebookresearch/denoiser): waveform U-Net, hidden 48, causal LSTM, "
        "x4 resampling, DNS" + _PORT + _STREAMING,
    ),
    card(
        name="denoiser-dns64",
        family="demucs",
        sample_rate=16000,
        framework="torch",
        frame=661,
        hop=256,
        latency_ms=41.3,
        params=33_533_569,
        weights=["weights/denoiser/dns64-a7761ff99a7d5bb6.th"],
        license="CC-BY-NC-4.0",
        streaming=True,
        builder=BUILD,
        trained_on="DNS",
        extras=["torch"],
        config={"hidden": 64},
        status=_NOT_MIRRORED,
        description="Demucs denoiser dns64 (facebookresearch/denoiser): waveform U-Net, hidden 64, causal LSTM, "
        "x4 resampling, DNS" + _PORT + _STREAMING,
    ),
    card(
        name="denoiser-master64",
        family="demucs",
        sample_rate=16000,
        framework="torch",
        frame=661,
        hop=256,
        latency_ms=41.3,
        params=33_533_569,
        weights=["weights/denoiser/master64-8a5dfb4bb92753dd.th"],
        license="CC-BY-NC-4.0",
        streaming=True,
        builder=BUILD,
        trained_on="DNS + VoiceBank-DEMAND (Valentini)",
        extras=["torch"],
        config={"hidden": 64},
        status=_NOT_MIRRORED,
        description="Demucs denoiser master64 (facebookresearch/denoiser): waveform U-Net, hidden 64, causal "
        "LSTM, x4 resampling, DNS + Valentini" + _PORT + _STREAMING,
    ),
    card(
        name="denoiser-valentini-nc",
        family="demucs",
        sample_rate=16000,
        framework="torch",
        frame=None,
        hop=None,
        latency_ms=None,
        params=60_813_953,
        weights=["weights/denoiser/valentini_nc-93fc4337.th"],
        license="CC-BY-NC-4.0",
        streaming=False,
        builder=BUILD,
        trained_on="VoiceBank-DEMAND (Valentini)",
        extras=["torch"],
        config={"hidden": 64, "causal": False, "stride": 2, "resample": 2},
        status=_NOT_MIRRORED,
        published=[
            Published(
                "vbd",
                m,
                v,
                "Defossez et al., Interspeech 2020; the maintainer in facebookresearch/denoiser issue #77",
                "released valentini_nc checkpoint; pesq 'wb'",
            )
            for m, v in (("pesq_wb", 3.04), ("stoi", 0.953))
        ],
        description="Demucs denoiser valentini-nc (facebookresearch/denoiser): waveform U-Net, hidden 64, BiLSTM, "
        "stride 2, x2 resampling, Valentini, non-causal" + _PORT + "; offline only",
    ),
]

"""The released SEGAN+ generator (PyTorch: ``setoolkit[torch]``).

Declared without importing the network: the builder is named by module, imported on the first load.
"""

from __future__ import annotations

from ...registry import card

BUILD = "setoolkit.models.segan.network:build"

CARDS = [
    card(
        name="segan-plus",
        family="segan",
        sample_rate=16000,
        framework="torch",
        frame=16384,
        hop=16384,
        latency_ms=1024.0,
        params=64_770_561,
        weights=["weights/segan/segan+_generator.ckpt"],
        license="MIT",
        streaming=False,
        builder=BUILD,
        trained_on="VoiceBank-DEMAND (Valentini 28 spk)",
        extras=["torch"],
        description="SEGAN+ generator (santi-pdp/segan_pytorch, ckpt_segan+/train.opts): conv encoder-decoder on "
        "pre-emphasised 16384-sample slices, alpha skips, z; loader proven only on checkpoints in the "
        "released key layout with random values: quality numbers need the real file",
        status="available with verify=False only: the official segan+_generator.ckpt has no published sha256 and "
        "is not in the mirror; no quality numbers measured here",
    ),
]

"""Every card says what its checkpoint was trained on; in_domain marks the sets of the same corpus."""

import pytest

from setoolkit.registry import CARDS, get_card
from setoolkit.training_data import in_domain


def test_every_card_states_its_training_data():
    missing = [n for n, c in CARDS.items() if not c.trained_on]
    assert not missing, missing
    assert get_card("gtcrn-vctk").trained_on == "VoiceBank-DEMAND training speakers (VCTK 28 spk)"
    assert get_card("gtcrn").trained_on == "DNS3" and get_card("logmmse").trained_on == "none"


@pytest.mark.parametrize(
    ("model", "dataset", "expected"),
    [
        ("gtcrn-vctk", "vbd16k", True),
        ("gtcrn-vctk", "vbd48k", True),
        ("dpcrn-bearboy", "vbd16k", True),
        ("denoiser-valentini-nc", "vbd16k", True),
        ("gtcrn", "vbd16k", False),
        ("gtcrn", "dns3_synthetic", True),
        ("deepfilternet3", "vbd48k", False),
        ("rnnoise", "vbd16k", False),
        ("rnnoise", "dns3_blind", False),
        ("logmmse", "vbd16k", False),
        ("gtcrn-vctk", "dns3_blind", False),
        ("gtcrn-vctk", "my_folder", False),
    ],
)
def test_in_domain(model, dataset, expected):
    assert in_domain(get_card(model), dataset) is expected


def test_in_domain_takes_a_string():
    assert in_domain("VoiceBank-DEMAND train", "vbd16k") and in_domain("VCTK 28 speakers + DEMAND", "vbd48k")
    assert not in_domain("", "vbd16k") and not in_domain("none", "vbd16k")
    assert not in_domain("DEMAND noise only", "vbd16k") and not in_domain("VCTK", "dns4_real48k")


def test_deepfilternet_published_numbers_cite_a_secondary_source():
    for name, values in (
        ("deepfilternet2", (3.08, 4.30, 3.40, 3.70, 0.943)),
        ("deepfilternet3", (3.17, 4.34, 3.61, 3.77, 0.944)),
    ):
        pub = {p.metric: p for p in get_card(name).published}
        assert tuple(pub[m].value for m in ("pesq_wb", "csig", "cbak", "covl", "stoi")) == values
        assert all(p.dataset == "vbd" and "as transcribed by a secondary source" in p.citation for p in pub.values())
    assert "2205.05474" in get_card("deepfilternet2").published[0].citation
    assert "2305.08227" in get_card("deepfilternet3").published[0].citation

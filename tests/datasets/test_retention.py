"""Who keeps the competing voice: component gains of real outputs on a built talker set. The mixture itself (an
identity model) keeps the voice, the target alone suppresses it, and a real denoiser is judged on its output."""

import numpy as np
import pandas as pd
import pytest

from setoolkit.audio import read, write
from setoolkit.datasets import make_set
from setoolkit.datasets.recipes import TalkerRecipe
from setoolkit.datasets.retention import (
    CAP_DB,
    KEEPS,
    SUPPRESSES,
    component_gains,
    retention_table,
    set_folder,
    verdict,
    verdicts,
)
from setoolkit.evaluation.sets import set_pairs

SMALL = TalkerRecipe("talkers_small", "test set", per_band=1, babble_files=1, noise_files=1)


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    return make_set(SMALL, tmp_path_factory.mktemp("sets"), seed=1)


def _parts(folder, key):
    return [read(folder / part / key)[0][0].astype(np.float64) for part in ("noisy", "clean", "interferer")]


def test_the_mixture_keeps_the_voice_and_the_target_alone_does_not(small_set):
    for p in set_pairs(str(small_set)):
        if not p.key.startswith("talker/"):
            continue
        noisy, clean, other = _parts(small_set, p.key)
        mixture = component_gains(noisy, clean, other)
        assert abs(mixture["sir_gain_db"]) < 0.1 and abs(mixture["interferer_gain_db"]) < 0.1
        assert component_gains(clean, clean, other)["sir_gain_db"] == CAP_DB
        quieter = component_gains(clean + 0.1 * other, clean, other)
        assert quieter["sir_gain_db"] == pytest.approx(20.0, abs=0.1)
        assert quieter["interferer_gain_db"] == pytest.approx(-20.0, abs=0.1)
        assert mixture["si_sdr_interferer"] > component_gains(clean, clean, other)["si_sdr_interferer"] + 10
        half = component_gains(0.5 * noisy, clean, other)  # a quieter output is not a suppressed voice
        assert abs(half["sir_gain_db"]) < 0.1 and half["target_gain_db"] == pytest.approx(-6.02, abs=0.05)


def test_verdicts_on_real_outputs(small_set, tmp_path):
    import setoolkit

    gtcrn = setoolkit.load("gtcrn")
    rows = []
    for p in set_pairs(str(small_set)):
        noisy, sr = read(p.noisy)
        out = write(tmp_path / "gtcrn" / p.key, gtcrn.enhance(noisy, sr), sr)
        for model, path in (("noisy", p.noisy), ("target", p.clean), ("gtcrn", out)):
            rows.append(
                {
                    "dataset": "talkers_small",
                    "model": model,
                    "file": p.key,
                    "noisy_path": str(p.noisy),
                    "output_path": str(path),
                    "lag": 0,
                }
            )
    rows.append(
        {
            "dataset": "other",
            "model": "noisy",
            "file": "x.wav",
            "noisy_path": "/nowhere/noisy/x.wav",
            "output_path": "/nowhere/noisy/x.wav",
            "lag": 0,
        }
    )
    rows.append({**rows[0], "model": "gone", "output_path": str(tmp_path / "removed.wav")})
    with pytest.warns(UserWarning, match="gone / .*removed.wav: file not found"):
        retention = retention_table(pd.DataFrame(rows))
    assert set(retention["dataset"]) == {"talkers_small"} and len(retention) == 3 * 6  # the other set left out
    assert set(retention["condition"]) == {"talker", "babble", "talker_noise"}
    v = verdicts(retention).set_index("model")
    assert v.loc["noisy", "verdict"] == KEEPS and abs(v.loc["noisy", "sir_gain_db"]) < 0.1
    assert v.loc["target", "verdict"] == SUPPRESSES and v.loc["target", "sir_gain_db"] == CAP_DB
    assert v.loc["gtcrn", "n"] == 5  # the one-talker files: 4 SIR bands + talker + noise
    g = retention[retention["model"] == "gtcrn"]
    assert (g["target_gain_db"] > -6).all()  # GTCRN passes the target speech...
    assert v.loc["gtcrn", "verdict"] == KEEPS  # ...and the competing voice with it (measured: +0.3 dB SIR gain)


def test_verdict_thresholds_and_folders(small_set):
    assert [verdict(x) for x in (0.0, 2.9, 3.0, 9.9, 10.0, float("nan"))] == [
        "keeps",
        "keeps",
        "partly suppresses",
        "partly suppresses",
        "suppresses",
        "",
    ]
    key = "talker/00_sir00_x.wav"
    assert set_folder(small_set / "noisy" / key, key) == small_set
    assert set_folder("/data/vbd16k/noisy/p232_001.wav", "p232_001.wav") is None
    with pytest.raises(ValueError, match="differ from the output"):
        component_gains(np.zeros(10), np.zeros(10), np.zeros(9))

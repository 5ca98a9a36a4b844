"""spk_sim: the cosine of Resemblyzer embeddings, equal to Resemblyzer's own calls on real files."""

import math

import numpy as np
import pytest

from setoolkit import assets, cards
from setoolkit.audio import read
from setoolkit.errors import MissingExtraError
from setoolkit.metrics import speaker as S

PAIRS = ("p232_001", "p257_151")


@pytest.fixture(scope="module")
def resemblyzer_cosine():
    """What a Resemblyzer user writes: its own preprocessing and its bundled encoder on two files."""
    from resemblyzer import VoiceEncoder, preprocess_wav

    encoder = VoiceEncoder("cpu", verbose=False)

    def cosine(clean_path, other_path) -> float:
        a = encoder.embed_utterance(preprocess_wav(clean_path))
        b = encoder.embed_utterance(preprocess_wav(other_path))
        return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))

    return cosine


@pytest.mark.parametrize("name", PAIRS)
def test_equals_resemblyzers_own_calls(data, name, resemblyzer_cosine):
    clean, noisy = data / f"vbd16k/clean/{name}.wav", data / f"vbd16k/noisy/{name}.wav"
    c, sr = read(clean)
    n, _ = read(noisy)
    m = min(c.shape[1], n.shape[1])  # VoiceBank-DEMAND pairs may differ by a sample
    assert S.spk_sim(c[0, :m], n[0, :m], sr) == pytest.approx(resemblyzer_cosine(clean, noisy), abs=1e-5)
    assert S.spk_sim(c[0], c[0], sr) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.slow
def test_equals_resemblyzer_at_48k(data, resemblyzer_cosine):
    clean, noisy = data / "vbd48k/clean/p232_013.wav", data / "vbd48k/noisy/p232_013.wav"
    c, sr = read(clean)
    n, _ = read(noisy)
    assert sr == 48000
    m = min(c.shape[1], n.shape[1])
    assert S.spk_sim(c[0, :m], n[0, :m], sr) == pytest.approx(resemblyzer_cosine(clean, noisy), abs=1e-5)


def test_other_talker_scores_lower_than_the_noisy_same_talker(data):
    c, sr = read(data / "vbd16k/clean/p232_001.wav")  # male talker
    n, _ = read(data / "vbd16k/noisy/p232_001.wav")
    other, _ = read(data / "vbd16k/clean/p257_151.wav")  # female talker
    m = min(c.shape[1], n.shape[1], other.shape[1])
    same = S.spk_sim(c[0, :m], n[0, :m], sr)
    different = S.spk_sim(c[0, :m], other[0, :m], sr)
    assert same > different + 0.1  # measured: 0.995 vs 0.553


def test_silence_short_and_bad_input():
    x = np.random.default_rng(0).standard_normal(32000) * 0.1
    with pytest.warns(UserWarning, match="all-zero"):
        assert math.isnan(S.spk_sim(x, np.zeros(32000), 16000))
    with pytest.warns(UserWarning, match="at least 0.5 s"):
        assert math.isnan(S.spk_sim(x[:4000], x[:4000], 16000))
    with pytest.raises(ValueError, match="equal length"):
        S.spk_sim(x, x[:16000], 16000)


def test_weights_come_from_the_wheel_through_the_registry():
    asset = assets.get(S.WEIGHTS)
    assert asset.source.startswith("pypi:resemblyzer==0.1.4:") and len(asset.sha256) == 64
    assert assets.fetch(S.WEIGHTS).name == "pretrained.pt"


def test_missing_extra_is_named(monkeypatch):
    found = cards._found
    monkeypatch.setattr(cards, "_found", lambda m: m != "resemblyzer" and found(m))
    S._encoder.cache_clear()
    with pytest.raises(MissingExtraError, match=r"the spk_sim metric needs setoolkit\[speaker\]"):
        S._encoder()
    S._encoder.cache_clear()

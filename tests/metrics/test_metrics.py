"""Metrics cross-checked against the reference packages on a real noisy/clean pair."""

import numpy as np
import pytest

from setoolkit.audio import read, resample
from setoolkit.metrics import scoring as M


@pytest.fixture(scope="module")
def pair(data):
    ref, sr = read(data / "misc" / "speech.wav")
    deg, sr2 = read(data / "misc" / "speech_bab_0dB.wav")
    assert sr == sr2 == 16000
    n = min(ref.shape[1], deg.shape[1])
    return ref[0, :n], deg[0, :n], sr


def test_pesq_stoi_sisdr_equal_reference_packages(pair):
    import fast_bss_eval
    from pesq import pesq
    from pystoi import stoi

    ref, deg, sr = pair
    ours = M.score_pair(ref, deg, sr, align_signals=False)
    assert ours["pesq_wb"] == pytest.approx(pesq(16000, ref, deg, "wb"), abs=1e-6)
    assert ours["pesq_nb"] == pytest.approx(pesq(16000, ref, deg, "nb"), abs=1e-6)
    assert ours["stoi"] == pytest.approx(stoi(ref, deg, 16000), abs=1e-9)
    assert ours["estoi"] == pytest.approx(stoi(ref, deg, 16000, extended=True), abs=1e-9)
    r64, d64 = ref.astype(np.float64)[None], deg.astype(np.float64)[None]
    assert ours["si_sdr"] == pytest.approx(float(fast_bss_eval.si_sdr(r64, d64, zero_mean=True)[0]), abs=1e-4)
    assert ours["sdr"] == pytest.approx(float(fast_bss_eval.sdr(r64, d64)[0]), abs=1e-3)
    # the published value for this pair (ludlows/PESQ README): wb 1.083, nb 1.607
    assert ours["pesq_wb"] == pytest.approx(1.083, abs=0.01)
    assert ours["pesq_nb"] == pytest.approx(1.607, abs=0.01)


def test_metric_directions(pair):
    ref, deg, sr = pair
    clean = M.score_pair(ref, ref, sr, metrics=["si_sdr", "snr", "stoi", "lsd", "segsnr"])
    noisy = M.score_pair(ref, deg, sr, metrics=["si_sdr", "snr", "stoi", "lsd", "segsnr"])
    assert clean["si_sdr"] > 100 and clean["stoi"] > 0.999 and clean["lsd"] < 1e-3 and clean["segsnr"] == 35.0
    assert noisy["si_sdr"] < 1 and noisy["lsd"] > 5


def test_pesq_resamples_other_rates(pair):
    ref, deg, sr = pair
    r48, d48 = resample(ref, sr, 48000), resample(deg, sr, 48000)
    assert M.pesq(r48, d48, 48000, "wb") == pytest.approx(M.pesq(ref, deg, sr, "wb"), abs=0.05)
    r8, d8 = resample(ref, sr, 8000), resample(deg, sr, 8000)
    assert 1.0 < M.pesq(r8, d8, 8000, "nb") < 3.0


def test_unscorable_clips_give_nan_with_warning():
    silent = np.zeros(16000)
    with pytest.warns(UserWarning, match="PESQ-wb could not score"):
        assert np.isnan(M.pesq(silent, silent, 16000, "wb"))
    with pytest.warns(UserWarning, match="at least 0.25 s"):
        assert np.isnan(M.pesq(np.ones(100), np.ones(100), 16000))
    with pytest.warns(UserWarning, match="STOI could not score"):
        assert np.isnan(M.stoi(np.random.randn(1000), np.random.randn(1000), 16000))


def test_align_finds_and_removes_delay(pair):
    ref, deg, sr = pair
    for lag in (0, 37, 480, -120):
        late = np.roll(ref, lag) if lag >= 0 else np.concatenate([ref[-lag:], np.zeros(-lag)])
        aligned, found = M.align(ref, late, sr)
        assert found == lag
    scores = M.score_pair(ref, np.concatenate([np.zeros(256), ref])[: len(ref)], sr, metrics=["si_sdr"])
    assert scores["lag"] == 256 and scores["si_sdr"] > 25
    unaligned = M.score_pair(
        ref, np.concatenate([np.zeros(256), ref])[: len(ref)], sr, metrics=["si_sdr"], align_signals=False
    )
    assert unaligned["si_sdr"] < 0


def test_score_files_in_parallel(tmp_path, data):
    from setoolkit.audio import write

    ref, sr = read(data / "misc" / "speech.wav")
    deg, _ = read(data / "misc" / "speech_bab_0dB.wav")
    pairs = []
    for k in range(3):
        write(tmp_path / f"e{k}.wav", deg * (1 + k), sr, subtype="FLOAT")
        pairs.append((data / "misc" / "speech.wav", tmp_path / f"e{k}.wav"))
    rows = M.score_files(pairs, metrics=["si_sdr", "pesq_wb"], workers=2, progress=False)
    assert [r["file"] for r in rows] == [str(p[1]) for p in pairs]
    assert rows[0]["si_sdr"] == pytest.approx(rows[2]["si_sdr"], abs=1e-3)  # scale invariant


def test_unknown_metric_and_bad_shapes():
    with pytest.raises(ValueError, match="unknown metric"):
        M.score_pair(np.ones(100), np.ones(100), 16000, metrics=["mos"])
    with pytest.raises(ValueError, match="mono"):
        M.si_sdr(np.ones((2, 100)), np.ones((2, 100)))


def test_the_16khz_copy_of_a_pair_is_made_once_and_scores_as_each_metric_alone(monkeypatch):
    from setoolkit import audio
    from setoolkit.metrics import composite as C
    from setoolkit.metrics import scoring

    rng = np.random.default_rng(0)
    ref = (0.1 * np.sin(np.arange(48000 * 2) / 48000 * 2 * np.pi * 220) * (1 + rng.random(96000))).astype(np.float32)
    est = (ref + 0.02 * rng.standard_normal(ref.size)).astype(np.float32)
    calls = []
    monkeypatch.setattr(scoring, "resample", lambda x, a, b, **k: calls.append((a, b)) or audio.resample(x, a, b, **k))
    s = scoring.score_pair(ref, est, 48000, metrics=("pesq_wb", "pesq_nb", "csig", "cbak", "covl"), align_signals=False)
    assert calls == [(48000, 16000), (48000, 16000)]  # the reference and the estimate, once each
    assert s["pesq_wb"] == scoring.pesq(ref, est, 48000, "wb") and s["pesq_nb"] == scoring.pesq(ref, est, 48000, "nb")
    assert s["csig"] == C.composite(ref, est, 48000)["csig"]

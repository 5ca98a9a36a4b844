"""NISQA v2 (setoolkit's own network and front end) against upstream's run_predict.py on real files."""

import math
import warnings

import numpy as np
import pytest

from setoolkit import cards
from setoolkit.audio import read, resample
from setoolkit.errors import MetricError, MissingExtraError
from setoolkit.metrics import nisqa as N

# Upstream's numbers, produced once outside the repo: gabrielmittag/NISQA@fe84f0f in a scratch venv (torch 2.13.0
# CPU, librosa 0.11.0, numpy 2.4.6), `python run_predict.py --mode predict_dir --pretrained_model
# weights/nisqa.tar --data_dir DIR --output_dir OUT` over links to the files below (and `--mode predict_file
# --deg misc/jfk.flac`), copied from its NISQA_results.csv: mos, noi, dis, col, loud.
UPSTREAM = {
    "arctic/arctic_a0007.wav": (4.4136143, 3.2778072, 4.265327, 4.1774178, 4.4037576),
    "vbd16k/clean/p232_001.wav": (4.756306, 4.4952154, 4.718355, 4.445143, 4.4981833),
    "vbd16k/noisy/p232_001.wav": (3.3786469, 2.5957832, 4.2130785, 3.9057097, 3.9514194),
    "vbd48k/noisy/p232_013.wav": (2.9204311, 1.5400746, 4.5544925, 3.9173028, 3.1879845),
    "dns3_blind/ms_realrec_english_headset_A1XUZFDVKP95VC_Water_Running__far_fileid_7.wav": (
        1.2954365,
        1.321539,
        3.5052464,
        2.2154157,
        1.7426717,
    ),
    "dns4_real48k/A3A9NHZWTB5EKH_F_Street-Creaky_Far_Regular_SP_Desk_Primary_noisy.wav": (
        1.463937,
        1.4539558,
        3.6750264,
        3.0616426,
        2.3955534,
    ),
    "misc/jfk.flac": (2.393735, 1.732239, 3.203784, 2.401081, 3.352464),  # 44.1 kHz stereo: librosa's channel mean
}


@pytest.mark.parametrize("name", sorted(UPSTREAM))
def test_equals_upstream_run_predict(data, name):
    x, sr = read(data / name)
    got = N.nisqa(x.mean(axis=0), sr)
    assert list(got) == list(N.COLUMNS)
    assert list(got.values()) == pytest.approx(UPSTREAM[name], abs=0.01)  # measured: within 2e-6


def test_mel_filterbank_matches_librosa():
    librosa = pytest.importorskip("librosa")
    for sr in (16000, 44100, 48000):
        with warnings.catch_warnings():  # "Empty filters detected": bands above 8 kHz at 16 kHz, as upstream
            warnings.simplefilter("ignore", UserWarning)
            want = librosa.filters.mel(sr=sr, n_fft=4096, n_mels=48, fmin=0.0, fmax=20000, htk=False, norm="slaney")
        np.testing.assert_allclose(N.mel_filterbank(sr, 4096, 48, 20000), want, rtol=1e-5, atol=1e-9)


def test_mel_spectrogram_matches_librosa(data):
    librosa = pytest.importorskip("librosa")
    x, sr = read(data / "vbd16k/noisy/p232_001.wav")
    y = x[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mel = librosa.feature.melspectrogram(
            y=y, sr=sr, n_fft=4096, hop_length=160, win_length=320, window="hann", center=True, pad_mode="reflect",
            power=1.0, n_mels=48, fmax=20000, norm="slaney",
        )  # fmt: skip
    want = librosa.amplitude_to_db(mel, ref=1.0, amin=1e-4, top_db=80.0)
    got = N.mel_spectrogram(y, sr)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=2e-3)


def test_segments_take_15_frames_every_4():
    spec = np.arange(48 * 40, dtype=np.float64).reshape(48, 40)
    segs = N.segments(spec)
    assert segs.shape == (7, 1, 48, 15)  # ceil((40 - 14) / 4)
    np.testing.assert_array_equal(segs[2, 0], spec[:, 8:23])
    with pytest.raises(MetricError, match="at least 15 frames"):
        N.segments(spec[:, :14])


def test_clean_rates_above_noisy_on_real_pairs(data):
    clean, noisy = [], []
    for name in ("p232_001", "p232_016", "p232_117", "p257_007", "p257_151", "p257_375"):
        c, sr = read(data / f"vbd16k/clean/{name}.wav")
        n, _ = read(data / f"vbd16k/noisy/{name}.wav")
        clean.append(N.nisqa(c[0], sr))
        noisy.append(N.nisqa(n[0], sr))
    assert all(c["nisqa_mos"] > n["nisqa_mos"] for c, n in zip(clean, noisy))
    assert all(c["nisqa_noi"] > n["nisqa_noi"] for c, n in zip(clean, noisy))  # noisiness: higher = less noise


def test_works_at_its_own_rate_without_resampling(data):
    x, sr = read(data / "vbd16k/noisy/p232_001.wav")
    at16 = N.nisqa(x[0], sr)
    at48 = N.nisqa(resample(x[0], sr, 48000), 48000)
    assert at48["nisqa_mos"] != at16["nisqa_mos"]  # a different front end (window, bands) ...
    assert at48["nisqa_mos"] == pytest.approx(at16["nisqa_mos"], abs=0.5)  # ... but the same signal's quality


def test_silence_and_too_short_are_nan_with_a_warning():
    with pytest.warns(UserWarning, match="all-zero"):
        assert all(math.isnan(v) for v in N.nisqa(np.zeros(16000), 16000).values())
    with pytest.warns(UserWarning, match="at least 0.15 s"):
        assert all(math.isnan(v) for v in N.nisqa(np.ones(1000), 16000).values())
    with pytest.raises(ValueError, match="mono"):
        N.nisqa(np.zeros((2, 16000)), 16000)


def test_missing_extra_is_named(monkeypatch):
    found = cards._found
    monkeypatch.setattr(cards, "_found", lambda m: m != "torch" and found(m))
    N._model.cache_clear()
    with pytest.raises(MissingExtraError, match=r"the nisqa metric needs setoolkit\[nisqa\]"):
        N._model()
    N._model.cache_clear()


def test_weights_are_registered_with_their_license():
    from setoolkit import assets

    asset = assets.get(N.WEIGHTS)
    assert len(asset.sha256) == 64 and "CC-BY-NC-SA-4.0" in asset.license
    assert "BY-NC-SA" in N.WEIGHTS_LICENSE


def test_weights_are_verified_by_sha256(tmp_path, mirror, data):
    import shutil

    from setoolkit.errors import AssetError

    fake = tmp_path / N.WEIGHTS
    fake.parent.mkdir(parents=True)
    shutil.copy(mirror / N.WEIGHTS, fake)
    with open(fake, "r+b") as f:  # flip one byte
        f.seek(5000)
        b = f.read(1)
        f.seek(5000)
        f.write(bytes([b[0] ^ 0xFF]))
    x, sr = read(data / "vbd16k/noisy/p232_001.wav")
    with pytest.raises(AssetError, match="checksum mismatch.*nisqa.tar"):
        N.nisqa(x[0], sr, mirror=tmp_path)


def test_record_computes_the_columns(data):
    from setoolkit.metrics import registry as metric_registry

    x, sr = read(data / "vbd16k/noisy/p232_001.wav")
    (record,) = N.METRICS
    assert metric_registry.get("nisqa_noi") is record  # a column names its metric
    assert record.columns == N.COLUMNS and record.intrusive is False and record.extra == "nisqa"
    assert record.weights == (N.WEIGHTS,) and record.rate is None
    assert record.compute(x[0], sr) == N.nisqa(x[0], sr)


def test_score_cli_without_clean_equals_upstream(tmp_path, data, capsys):
    import pandas as pd

    from setoolkit import cli

    names = ["vbd16k/noisy/p232_001.wav", "vbd48k/noisy/p232_013.wav"]
    folder = tmp_path / "enhanced"
    folder.mkdir()
    for name in names:
        (folder / name.replace("/", "_")).symlink_to(data / name)
    out = tmp_path / "nisqa.csv"
    # one worker: score_files forks its workers, and a forked child whose parent already ran torch (this test
    # process did) hangs in its first torch call (measured; the CLI's own process has not run torch when it forks)
    args = ["score", "--enhanced", str(folder), "--metrics", "nisqa", "--csv", str(out), "--workers", "1", "-q"]
    assert cli.main(args) == 0
    assert "2 files" in capsys.readouterr().out
    table = pd.read_csv(out).set_index("file")
    for name in names:
        row = table.loc[str(folder / name.replace("/", "_"))]
        assert [row[c] for c in N.COLUMNS] == pytest.approx(UPSTREAM[name], abs=0.01)


@pytest.mark.slow
def test_score_files_workers_after_torch_ran_in_the_parent(data):
    """A process that has run NISQA (torch) then scores with worker processes: forked workers hung on their first
    torch call; spawned ones finish and give the in-process numbers."""
    from setoolkit.metrics.scoring import score_files

    x, sr = read(data / "vbd16k/noisy/p232_001.wav")
    N.nisqa(x[0], sr)  # torch has run here
    pairs = [(data / "vbd16k/clean" / f, data / "vbd16k/noisy" / f) for f in ("p232_001.wav", "p232_005.wav")]
    here = score_files(pairs, metrics=["si_sdr", "nisqa"], workers=1, progress=False)
    there = score_files(pairs, metrics=["si_sdr", "nisqa"], workers=2, progress=False)
    for a, b in zip(here, there):
        assert a["si_sdr"] == pytest.approx(b["si_sdr"], abs=1e-9)
        assert a["nisqa_mos"] == pytest.approx(b["nisqa_mos"], abs=1e-5)

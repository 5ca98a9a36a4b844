"""Speech emotion recognition track: CREMA-D loader on generated files with CREMA-D names, EmoDB on the real
corpus, speaker-independent folds, the eGeMAPS + SVM baseline and a small learned model on a reduced LOSO
protocol, noise mixing at a measured SNR, and the enhancement study on one fold.

The full protocol (10 LOSO folds, size curve, 4 SNRs x several enhancers) is benchmarks/bench_emotion.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from setoolkit.audio import write
from setoolkit.emotion import datasets, evaluation, models, noise, protocol
from setoolkit.emotion.datasets import DatasetError
from setoolkit.errors import AudioError

CREMAD_NAMES = [
    "1001_DFA_ANG_XX.wav",
    "1001_IEO_HAP_HI.wav",
    "1001_TIE_NEU_XX.wav",
    "1002_MTI_SAD_LO.wav",
    "1002_WSI_FEA_MD.wav",
    "1091_ITS_DIS_XX.wav",
]


@pytest.fixture
def cremad_dir(tmp_path):
    """A fake CREMA-D copy: AudioWAV/ with 16 kHz clips of different lengths under CREMA-D names, plus the
    demographics table."""
    wav = tmp_path / "CREMA-D" / "AudioWAV"
    wav.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, name in enumerate(CREMAD_NAMES):
        n = 16000 * (1 + i % 3) + 123 * i
        write(wav / name, (0.1 * rng.standard_normal(n)).astype(np.float32), 16000, subtype="PCM_16")
    pd.DataFrame(
        {
            "ActorID": [1001, 1002, 1091],
            "Age": [51, 21, 29],
            "Sex": ["Male", "Female", "Female"],
            "Race": ["Caucasian"] * 3,
            "Ethnicity": ["Not Hispanic"] * 3,
        }
    ).to_csv(tmp_path / "CREMA-D" / "VideoDemographics.csv", index=False)
    return wav


# ------------------------------------------------------------------------------------------ datasets


def test_parse_cremad_name():
    assert datasets.parse_cremad_name("1001_DFA_ANG_XX.wav") == {
        "speaker": "1001",
        "sentence": "DFA",
        "emotion": "anger",
        "level": "XX",
    }
    assert datasets.parse_cremad_name("1076_MTI_SAD_HI")["emotion"] == "sadness"
    with pytest.raises(DatasetError, match="unknown emotion code 'SUR'"):
        datasets.parse_cremad_name("1001_DFA_SUR_XX.wav")
    with pytest.raises(DatasetError, match="actor 1200 outside"):
        datasets.parse_cremad_name("1200_DFA_ANG_XX.wav")
    with pytest.raises(DatasetError, match="not a CREMA-D file name"):
        datasets.parse_cremad_name("03a01Fa.wav")


def test_load_cremad_from_path_and_env(cremad_dir, monkeypatch):
    table = datasets.load_cremad(cremad_dir)
    assert list(table.columns) == list(datasets.COLUMNS)
    assert len(table) == len(CREMAD_NAMES)
    assert table["speaker"].tolist() == ["1001", "1001", "1001", "1002", "1002", "1091"]
    assert set(table["emotion"]) == set(datasets.CREMAD_CLASSES)
    assert table.set_index("speaker")["sex"].to_dict() == {"1001": "m", "1002": "f", "1091": "f"}
    assert table.loc[table.path.str.endswith("1002_MTI_SAD_LO.wav"), "level"].item() == "LO"
    monkeypatch.setenv("SETOOLKIT_CREMAD", str(cremad_dir.parent))  # the repo root works too (recursive)
    assert datasets.load_cremad()["path"].tolist() == table["path"].tolist()
    audio = datasets.load_audio(table, sr=16000, seconds=2.0)
    assert audio.shape == (6, 32000) and audio.dtype == np.float32
    assert np.all(audio[0, 16000:] == 0)  # 1 s clip zero-padded
    assert datasets.load_audio(table.iloc[:2], sr=8000, seconds=None)[1].shape == (16062,)  # 32123 at 16 kHz


def test_load_cremad_errors(cremad_dir, monkeypatch, tmp_path):
    monkeypatch.delenv("SETOOLKIT_CREMAD", raising=False)
    with pytest.raises(DatasetError, match="SETOOLKIT_CREMAD.*git lfs"):
        datasets.load_cremad()
    with pytest.raises(DatasetError, match="does not exist"):
        datasets.load_cremad(tmp_path / "nowhere")
    (cremad_dir / "readme_take.wav").write_bytes(b"RIFF")
    with pytest.raises(DatasetError, match="readme_take.wav: not a CREMA-D file name"):
        datasets.load_cremad(cremad_dir)
    assert len(datasets.load_cremad(cremad_dir, strict=False)) == len(CREMAD_NAMES)
    lfs = tmp_path / "lfs"
    lfs.mkdir()
    (lfs / "1001_DFA_ANG_XX.wav").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n")
    with pytest.raises(DatasetError, match="Git LFS pointer"):
        datasets.load_cremad(lfs)


def test_emodb_index_is_the_real_corpus(data):
    table = datasets.load_emodb(data / "emodb")
    assert len(table) == 535
    assert sorted(table.speaker.unique()) == sorted(datasets.EMODB_SEX)
    assert table.emotion.value_counts().to_dict() == {
        "anger": 127,
        "boredom": 81,
        "neutral": 79,
        "happiness": 71,
        "fear": 69,
        "sadness": 62,
        "disgust": 46,
    }
    six = datasets.restrict(table, datasets.CREMAD_CLASSES)
    assert len(six) == 535 - 81 and "boredom" not in set(six.emotion)
    assert datasets.parse_emodb_name("16b10Td.wav") == {
        "speaker": "16",
        "sentence": "b10",
        "emotion": "sadness",
        "level": "d",
    }
    with pytest.raises(DatasetError, match="unknown emotion letter 'X'"):
        datasets.parse_emodb_name("03a01Xa.wav")


# ------------------------------------------------------------------------------------------ evaluation


def test_scores_and_folds():
    y = np.array([0, 0, 0, 0, 1, 2])
    p = np.array([0, 0, 0, 0, 0, 2])  # majority class right, class 1 wrong
    s = evaluation.scores(y, p, 3)
    assert s["wa"] == pytest.approx(5 / 6) and s["ua"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx((2 * 0.8 / 1.8 + 0 + 1) / 3)
    assert s["confusion"].tolist() == [[4, 0, 0], [1, 0, 0], [0, 0, 1]]
    spk = np.array(["b", "a", "a", "c", "b", "c"])
    folds = evaluation.loso_folds(spk)
    assert [f[0] for f in folds] == ["a", "b", "c"]
    for name, train, test in folds:
        assert set(spk[test]) == {name} and name not in set(spk[train]) and len(train) + len(test) == 6
    assert len(evaluation.loso_folds(spk, n_folds=2)) == 2
    with pytest.raises(ValueError, match=r"labels \['joy'\] are not in classes"):
        evaluation.encode(["anger", "joy"], datasets.EMODB_CLASSES)


# ------------------------------------------------------------------------------- baseline + learned


@pytest.fixture(scope="module")
def emodb(data, tmp_path_factory):
    """The 7-class EmoDB at 16 kHz with eGeMAPS functionals and log-mels (about a minute of openSMILE)."""
    return protocol.prepare(root=data / "emodb", cache_dir=tmp_path_factory.mktemp("feat"))


@pytest.mark.slow
def test_egemaps_svm_three_loso_folds(emodb):
    X = emodb["eGeMAPSv02"]
    assert X.shape == (535, 88) and np.isfinite(X).all()
    folds = evaluation.run_loso(
        X,
        emodb["table"].emotion,
        emodb["speakers"],
        models.svm_classifier(),
        classes=emodb["classes"],
        n_folds=3,
        name="egemaps-svm-rbf",
    )
    assert folds.speaker.tolist() == ["03", "08", "09"]
    # measured on this copy: 0.808, 0.651, 0.661 (full 10-fold LOSO: 0.617 +- 0.138); chance is 1/7
    assert folds.ua.mean() > 0.6 and folds.ua.min() > 0.5
    assert folds.n_test.sum() == 49 + 58 + 43
    summary = evaluation.summarise(folds)
    assert summary.loc[0, "ua_mean"] == pytest.approx(folds.ua.mean())
    assert summary.loc[0, "confusion"].sum() == 150


@pytest.mark.slow
def test_learned_crnn_trains_on_two_folds(emodb, tmp_path):
    keep = []
    fp = models.torch_classifier("crnn", n_classes=7, width=8, epochs=8, keep=keep)
    folds = evaluation.run_loso(
        emodb["logmel"],
        emodb["table"].emotion,
        emodb["speakers"],
        fp,
        classes=emodb["classes"],
        n_folds=2,
        name="crnn-w8",
    )
    assert len(keep) == 2 and folds.params.iloc[0] == models.count_parameters(keep[0])
    # a few epochs already learn well above chance (1/7 = 0.14)
    assert folds.ua.mean() > 0.3, folds[["speaker", "ua"]]
    p = models.predict_network(keep[0], emodb["logmel"][:5])
    assert p.shape == (5, 7) and np.allclose(p.sum(1), 1, atol=1e-5)
    out = evaluation.confusion_figure(
        {"crnn-w8": evaluation.summarise(folds).loc[0, "confusion"]}, emodb["classes"], tmp_path / "cm.png"
    )
    assert out.stat().st_size > 10_000


def test_networks_grow_with_width():
    sizes = [models.count_parameters(models.build_network("cnn", n_classes=7, width=w)) for w in (4, 8, 16)]
    assert sizes[0] < sizes[1] < sizes[2]
    with pytest.raises(ValueError, match="arch: 'lstm' is not one of"):
        models.build_network("lstm", n_classes=7)
    x = np.zeros((3, 64, 101), dtype=np.float32)
    assert models.augment(x, np.random.default_rng(0)).shape == (3, 64, 76)


# ------------------------------------------------------------------------------------------ noise


def test_mix_at_known_snr(data):
    noises = noise.load_noises(data / "noise")
    assert sorted(noises) == ["doing_the_dishes", "exercise_bike", "running_tap"]
    speech = datasets.load_audio(datasets.load_emodb(data / "emodb").iloc[:3], sr=16000)
    for snr in (0, 5, 10, 20):
        mix, n = noise.mix_at_snr(speech[0], noises["running_tap"], snr, offset=1000)
        assert noise.measured_snr(speech[0], mix) == pytest.approx(snr, abs=1e-3)
        assert np.allclose(mix - speech[0], n, atol=1e-6)
    batch = noise.mix_batch(speech, noises, 5, seed=0, peak_limit=100.0)
    assert [noise.measured_snr(s, m) for s, m in zip(speech, batch)] == pytest.approx([5, 5, 5], abs=1e-3)
    assert np.array_equal(batch, noise.mix_batch(speech, noises, 5, seed=0, peak_limit=100.0))
    with pytest.raises(AudioError, match="speech: silent clip"):
        noise.mix_at_snr(np.zeros(100), noises["running_tap"], 5)


@pytest.mark.slow
def test_noise_study_one_fold(emodb, data):
    import setoolkit

    clf = {"egemaps-svm": ("eGeMAPSv02", models.svm_classifier())}
    study = protocol.noise_study(
        emodb, clf, {"gtcrn": setoolkit.load("gtcrn")}, noises=noise.load_noises(data / "noise"), snrs=(0,), n_folds=1
    )
    ua = study.set_index("condition")["ua"]
    assert list(ua.index) == ["clean", "noisy", "gtcrn"]
    assert ua["clean"] == pytest.approx(0.808, abs=0.01)  # = fold 03 of the clean baseline
    # measured: clean 0.808, noisy 0 dB 0.143 (chance: one class for all), gtcrn-enhanced 0.460
    assert ua["noisy"] < ua["clean"] - 0.4  # 0 dB real noise breaks the clean model
    assert ua["gtcrn"] > ua["noisy"] + 0.15  # enhancement recovers part of it
    table = protocol.noise_table(study)
    assert len(table) == 3 and (table["folds"] == 1).all()


def test_feature_shift_in_training_std_units():
    from setoolkit.emotion import features

    rng = np.random.default_rng(0)
    ref = rng.normal(size=(400, 3)) * [1.0, 2.0, 10.0]
    clean = ref[:50]
    shift = features.feature_shift(ref, clean, clean + [0.0, 2.0, 30.0], names=["a", "b", "c"])
    assert list(shift.index) == ["c", "b", "a"]
    assert shift.to_numpy() == pytest.approx([3.0, 1.0, 0.0], abs=0.15)
    with pytest.raises(ValueError, match="shapes differ"):
        features.feature_shift(ref, clean, clean[:, :2])


@pytest.mark.slow
def test_functionals_run_in_a_worker_beside_tensorflow(data):
    """openSMILE aborts a process that imported TensorFlow (heap corruption): extraction runs in worker
    interpreters, so it works here after TensorFlow, and chunking/parallel workers give the same rows."""
    import tensorflow  # noqa: F401  (the DPCRN models import it in the same process)

    from setoolkit.emotion import features
    from setoolkit.errors import FeatureError

    audio = datasets.load_audio(datasets.load_emodb(data / "emodb").iloc[:5], sr=16000)
    X = features.functionals(audio, 16000)
    assert X.shape == (5, 88) and np.isfinite(X).all()
    assert np.array_equal(features.functionals(audio, 16000, workers=2, chunk=2), X)
    with pytest.raises(FeatureError, match="openSMILE eGeMAPSv02 worker failed"):
        features.functionals(audio, -1)
    with pytest.raises(AudioError, match="NaN"):
        features.functionals(np.full((2, 100), np.nan), 16000)

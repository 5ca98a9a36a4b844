"""Batch forms (Metric.batch) on real weights and real VoiceBank-DEMAND audio: equal to the per-item calls within
their stated bar, and score_files' rows equal with and without batching (order, columns, NaN rules).

Bar: spk_sim's batch runs the partial utterances of several signals through Resemblyzer's LSTM in one call; the
cosines move in the last float32 bits (measured: at most 1.8e-7 on 32 vbd16k pairs), so 1e-6. Every other column
of score_files is computed by the same per-file code either way and must be identical.
"""

import math
import warnings

import numpy as np
import pytest
import soundfile as sf

from setoolkit import assets
from setoolkit.audio import read, to_mono
from setoolkit.errors import MetricError
from setoolkit.metrics import Metric, batching, registry, score_files
from setoolkit.metrics import speaker as S

SPK_BAR = 1e-6


def _pairs(mirror, n, name="vbd16k"):
    return assets.dataset_pairs(name, mirror=mirror)[:n]


def _same(a: float, b: float, bar: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= bar


def test_spk_sim_batch_equals_per_item_calls(mirror):
    pairs = _pairs(mirror, 4)
    refs = [to_mono(read(c)[0])[0] for c, _ in pairs]
    ests = [to_mono(read(n)[0])[0] for _, n in pairs]
    refs[1], ests[1] = refs[1][:4000], ests[1][:4000]  # 0.25 s: too short, NaN
    refs[3] = np.zeros_like(refs[3])  # silent reference: NaN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        S._memo.clear()
        one = [S.spk_sim(r, e, 16000) for r, e in zip(refs, ests)]
        S._memo.clear()
        many = S.spk_sim_batch(refs, ests, 16000)
        again = registry.get("spk_sim").batch(refs, ests, 16000)  # references from the memo now
    assert [math.isnan(v) for v in one] == [i in (1, 3) for i in range(4)]
    for a, b, c in zip(one, many, again):
        assert _same(a, b, SPK_BAR) and _same(b, c, 0.0), (a, b, c)
    assert 0.7 < many[0] < 1.0
    with pytest.raises(ValueError, match="2 references for 1"):
        S.spk_sim_batch(refs[:2], ests[:1], 16000)


def test_only_measured_winners_have_a_batch_form():
    per_file, batched = batching.split(["pesq_wb", "nisqa", "spk_sim", "dnsmos", "distillmos"])
    assert per_file == ["pesq_wb", "nisqa", "dnsmos", "distillmos"] and batched == ["spk_sim"]
    assert batching.chunks(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    with pytest.raises(MetricError, match="batch is a str"):
        Metric(name="x", compute=lambda e, sr: 0.0, intrusive=False, batch="no")


def _check_rows(plain, batched, bar=SPK_BAR):
    assert [r["file"] for r in plain] == [r["file"] for r in batched]
    for a, b in zip(plain, batched):
        assert list(a) == list(b), (list(a), list(b))
        for k, v in a.items():
            if k == "spk_sim":
                assert _same(v, b[k], bar), (a["file"], v, b[k])
            elif isinstance(v, float) and math.isnan(v):
                assert math.isnan(b[k]), (a["file"], k)
            else:
                assert v == b[k], (a["file"], k, v, b[k])


def test_score_files_rows_equal_with_and_without_batching(mirror, tmp_path):
    pairs = _pairs(mirror, 3) + _pairs(mirror, 1, "vbd48k")  # two rates in one chunk: two batch calls
    clean, noisy = pairs[1]
    x, sr = sf.read(str(clean))
    sf.write(tmp_path / "silent.wav", np.zeros_like(x), sr)  # a silent reference: intrusive columns NaN
    pairs.insert(2, (tmp_path / "silent.wav", noisy))
    metrics = ["si_sdr", "spk_sim", "stoi"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        plain = score_files(pairs, metrics=metrics, workers=1, progress=False, batch_files=0)
        S._memo.clear()
        batched = score_files(pairs, metrics=metrics, workers=1, progress=False, batch_files=3)
        alone = score_files(pairs[:3], metrics=["spk_sim"], workers=1, progress=False)
    assert list(plain[0]) == ["file", "reference", "sr", "si_sdr", "spk_sim", "stoi", "lag"]
    assert math.isnan(plain[2]["spk_sim"]) and math.isnan(plain[2]["si_sdr"]) and plain[-1]["sr"] == 48000
    _check_rows(plain, batched)
    _check_rows([{k: r[k] for k in ("file", "reference", "sr", "spk_sim", "lag")} for r in plain[:3]], alone)


@pytest.mark.slow
def test_score_files_batches_in_worker_processes(mirror):
    pairs = _pairs(mirror, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        plain = score_files(pairs, metrics=["snr", "spk_sim"], workers=1, progress=False, batch_files=0)
        pooled = score_files(pairs, metrics=["snr", "spk_sim"], workers=2, progress=False, batch_files=4)
    _check_rows(plain, pooled)

"""`setoolkit doctor` on a real model: healthy passes every check; each injected failure is flagged by
exactly the check responsible (later symptoms of it are downgraded to warnings naming it)."""

import pytest

import setoolkit
from setoolkit import assets
from setoolkit.audio import read
from setoolkit.diagnostics import faults
from setoolkit.diagnostics.doctor import CHECKS, doctor


@pytest.fixture(scope="module")
def quant():
    return setoolkit.load("dpcrn-quant")


@pytest.fixture(scope="module")
def pairs(mirror):
    return assets.dataset_pairs("vbd16k", mirror=mirror)


def _only_failure(report, name):
    assert report.failed == [name], str(report)
    assert report.root_cause == name


@pytest.mark.slow
def test_healthy_model_passes_every_check(quant, pairs):
    report = doctor(quant, pairs=pairs)
    assert [c.name for c in report.checks] == list(CHECKS)
    assert set(report.statuses.values()) == {"pass"}, str(report)
    assert "+9.3" in report["quality"].value


@pytest.mark.slow
def test_healthy_user_wrapped_model_and_cli(quant, pairs, capsys):
    from setoolkit.cli import main

    assert set(doctor(faults.Delegating(quant), pairs=pairs[:8]).statuses.values()) <= {"pass", "warn"}
    # the CLI path on 8 pairs (every check on all 44 is test_healthy_model_passes_every_check's): a subset below
    # the card's SI-SDR floor (+7.5 dB on these 8, the card's +9.0 is over 44) is a warning, not a failure
    assert main(["doctor", "dpcrn-quant", "--n-pairs", "8"]) == 0
    out = capsys.readouterr().out
    assert out.count("PASS") == 6 and "WARN" in out and "below the card on this subset" in out and "FAIL" not in out
    assert main(["doctor", "dpcrn-quant", "--audio", str(pairs[0][1]), "--sr", "48000", "--n-pairs", "8"]) == 1


@pytest.mark.slow
def test_wrong_rate(quant, pairs, mirror):
    _, noisy48 = assets.dataset_pairs("vbd48k", mirror=mirror)[0]
    report = doctor(quant, audio=noisy48, sr=16000, pairs=pairs[:8])
    _only_failure(report, "input")
    assert "declared 16000 Hz but the file is 48000 Hz" in report["input"].value


@pytest.mark.slow  # heavy for the edit-test loop (seconds); the full suite runs it
def test_int16_scale(quant, pairs):
    x, sr = read(pairs[0][1])
    report = doctor(quant, audio=faults.unscaled_int16(x), sr=sr, pairs=pairs[:8])
    _only_failure(report, "input")
    assert "integer samples stored as float" in report["input"].value


@pytest.mark.slow
def test_swapped_outputs(quant, pairs):
    report = doctor(faults.swapped_outputs(quant), pairs=pairs[:8])
    _only_failure(report, "output")
    assert "by value they are" in report["output"].value
    assert report["quality"].status == "warn" and "symptom of check 3" in report["quality"].suggestion
    assert doctor(quant, pairs=pairs[:4]).failed == []  # the original is untouched


@pytest.mark.slow
def test_cacheless_streaming(quant, pairs):
    report = doctor(faults.cacheless_streaming(quant), pairs=pairs[:8])
    _only_failure(report, "streaming")
    assert "first diverging hop" in report["streaming"].value


@pytest.mark.slow
def test_unaligned_output(quant, pairs):
    report = doctor(faults.late_output(quant, 256), pairs=pairs[:8])
    _only_failure(report, "delay")
    assert "late by 256 samples" in report["delay"].value


def test_corrupted_weights(tmp_path, mirror, pairs):
    bad = faults.corrupted_mirror("weights/dpcrn_base/dpcrn_quant.tflite", mirror, tmp_path)
    report = doctor("dpcrn-quant", mirror=bad, pairs=pairs[:8])
    _only_failure(report, "weights")
    assert "checksum mismatch" in report["weights"].value
    assert all(report[c].status == "skip" for c in CHECKS[1:6])


def test_old_real_layout_istft_call(quant, pairs):
    report = doctor(faults.old_istft_call(quant), pairs=pairs[:8])
    _only_failure(report, "environment")
    assert "torch.istft with a real (..., 2) tensor" in report["environment"].value
    assert "layout='real_imag'" in report["environment"].suggestion

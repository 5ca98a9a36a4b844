"""The P.808 ACR type end to end (issue 31): trapping stimulus with a known answer, gold clips, P.808 rejection
rules, completion codes, MOS per system with CIs beside DNSMOS P.808 in the report section."""

import numpy as np
import pytest

from setoolkit.audio import read
from setoolkit.listening import (
    check_completion_code,
    completion_code,
    listening_section,
    public_test,
    ratings_frame,
    save_result,
    simulate_results,
)
from setoolkit.listening.analysis import screen
from setoolkit.listening.controls import BEEP_HZ


def _beeps_in(path) -> int:
    """Bursts of the beep tone in the last second of the file (band energy above a threshold)."""
    x, sr = read(path)
    x = x.reshape(-1)[-int(1.6 * sr) :]
    n = int(0.02 * sr)
    frames = x[: len(x) // n * n].reshape(-1, n)
    f = np.fft.rfftfreq(n, 1 / sr)
    band = np.abs(np.fft.rfft(frames, axis=1))[:, np.abs(f - BEEP_HZ) < 100].sum(axis=1)
    on = band > 0.3 * band.max()
    return int(np.sum(on[1:] & ~on[:-1]) + on[0])


def test_acr_has_a_trap_with_its_answer_and_gold_clips(acr):
    folder, test = acr
    controls = [t for t in test.trials if t.control]
    kinds = sorted(t.control["type"] for t in controls)
    assert kinds == ["gold", "gold", "trap"]
    trap = next(t for t in controls if t.control["type"] == "trap")
    assert _beeps_in(folder / trap.stimuli[0].file) == trap.control["expected"]
    golds = {t.stimuli[0].system: t.control["expected"] for t in controls if t.control["type"] == "gold"}
    assert golds == {"gold_excellent": 5, "gold_bad": 1}
    page = (folder / "listening_test.html").read_text()
    for word in ("trap", "gold", "control", "expected", "sysA"):
        assert f'"{word}' not in page  # controls look like any other trial to the listener
    ids = [t["id"] for t in public_test(test)["trials"]]
    assert all(len(i) == 9 and i.startswith("t") for i in ids if i != "training")


def test_p808_rejection_rules(acr):
    folder, test = acr
    results = simulate_results(test, 5, effects={"sysA": 4.0, "sysB": 3.2, "noisy": 2.0}, seed=3)
    trap = next(t for t in test.trials if t.control.get("type") == "trap")
    gold_bad = next(t for t in test.trials if t.stimuli[0].system == "gold_bad")
    results[0]["trials"][trap.id]["ratings"]["score"] = trap.control["expected"] % 5 + 1
    results[1]["trials"][gold_bad.id]["ratings"]["score"] = 4
    for tr in results[2]["trials"].values():
        tr["ratings"]["score"] = 3
    results[3]["headphone_check"] = {"answer": "right", "correct": False, "passed": False}
    s = screen(results, test).set_index("listener")
    assert list(s["excluded"]) == [True, True, True, True, False]
    assert "trapping question" in s.loc["L01", "why"] and s.loc["L01", "trap_failed"] == 1
    assert "gold clip" in s.loc["L02", "why"] and "same rating" in s.loc["L03", "why"]
    assert "headphone" in s.loc["L04", "why"] and s.loc["L05", "controls"] == 3
    r = ratings_frame(results, test)
    assert not set(r.system) & {"trap", "gold_excellent", "gold_bad"}  # controls are not systems


def test_acr_section_beside_dnsmos_p808(acr, table, tmp_path):
    folder, test = acr
    for r in simulate_results(test, 12, effects={"sysA": 4.0, "sysB": 3.2, "noisy": 2.0}, careless=2, seed=4):
        save_result(tmp_path, r, test)
    s = listening_section(tmp_path, folder, table)
    assert "ACR MOS (ITU-T P.808)" in s.title and "P.808 rejection" in s.markdown
    assert "C01" in s.markdown and "C02" in s.markdown  # careless workers fail the trap or the gold clips
    scores = s.scores.set_index("system")
    assert list(scores.index) == ["sysA", "sysB", "noisy"] and (scores["lo"] < scores["mean"]).all()
    assert (
        scores["DNSMOS P.808"].notna().all()
        and scores.loc["sysA", "DNSMOS P.808"] > scores.loc["noisy", "DNSMOS P.808"]
    )
    assert "DNSMOS P.808" in s.markdown


def test_completion_codes(acr):
    folder, test = acr
    a, b = completion_code(folder, "w1", test_id=test.id), completion_code(folder, "w2", test_id=test.id)
    assert a != b and len(a) == 10 and a == completion_code(folder, "w1", test_id=test.id)
    assert check_completion_code(folder, "w1", a.lower(), test_id=test.id)
    assert not check_completion_code(folder, "w2", a, test_id=test.id)
    with pytest.raises(FileNotFoundError, match="secret.key"):
        completion_code(folder / "nowhere", "w1")

"""Test design: item choice, determinism of the definition and its id, per-listener order, blinding."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from setoolkit.listening import build_test, choose_items, listener_plan, load_test
from setoolkit.listening.design import (
    canonical_json,
    definition_id,
    fnv1a32,
    from_dict,
    mulberry32,
    public_test,
)
from setoolkit.listening.page import STATIC


def test_items_stratified_with_hardest_and_typical(table):
    items = choose_items(table, n_items=5, seed=3, paired=True)
    assert len(items) == 5 and items[["dataset", "file"]].drop_duplicates().shape[0] == 5
    assert set(items["dataset"]) == {"synth_pairs"}
    noisy = table[(table.model == "noisy") & (table.dataset == "synth_pairs")]
    assert items.iloc[0]["file"] == noisy.sort_values("pesq_wb").iloc[0]["file"]
    assert items.iloc[0]["why"].startswith("hardest") and items.iloc[1]["why"].startswith("typical")
    assert items["band"].nunique() == 3  # every SNR band represented
    assert choose_items(table, n_items=5, seed=3, paired=True).equals(items)
    blind = choose_items(table, n_items=2, paired=False)
    assert set(blind["dataset"]) == {"synth_blind"} and blind["band"].eq("all").all()


def test_definition_is_deterministic_and_its_id_is_the_sha256(table, mushra, tmp_path):
    folder, test = mushra
    (tmp_path / "again").mkdir()
    shutil.copy(folder / "secret.key", tmp_path / "again" / "secret.key")  # same secret, same names
    again = build_test(table, tmp_path / "again", kind="mushra", n_items=3, seed=1)
    assert again.id == test.id and canonical_json(again) == canonical_json(test)
    fresh = build_test(table, tmp_path / "fresh", kind="mushra", n_items=3, seed=1)  # a new secret
    assert fresh.id != test.id and not {s.id for t in fresh.trials for s in t.stimuli} & {
        s.id for t in test.trials for s in t.stimuli
    }
    on_disk = json.loads((folder / "test.json").read_text())
    assert from_dict(on_disk) == test and definition_id(on_disk) == test.id == load_test(folder).id
    other = build_test(table, tmp_path / "other", kind="mushra", n_items=3, seed=2)
    assert other.id != test.id


def test_mushra_trials(mushra):
    folder, test = mushra
    assert test.trials[0].training and sum(t.training for t in test.trials) == 1
    training_item = (test.trials[0].dataset, test.trials[0].file)
    assert training_item not in [(t.dataset, t.file) for t in test.trials[1:]]
    for t in test.trials:
        systems = [s.system for s in t.stimuli]
        assert systems == ["reference", "anchor_3.5k", "anchor_7k", "noisy", "sysA", "sysB"]
        assert t.reference and (folder / t.reference).exists()
    assert (folder / test.headphone_check).exists() and (folder / "listening_test.html").exists()


def test_blinding(mushra):
    folder, test = mushra
    names = [s.file for t in test.trials for s in t.stimuli] + [t.reference for t in test.trials]
    assert len(set(names)) == len(names)  # the hidden reference is another file than the open one
    for s in (s for t in test.trials for s in t.stimuli):
        for word in ("sys", "noisy", "anchor", "reference", "clean"):
            assert word not in s.file and word not in s.id
    plans = {who: listener_plan(test, who) for who in ("anna", "ben", "chloé")}  # letters by position
    assert plans["anna"] == listener_plan(test, "anna")
    assert plans["anna"][0]["trial"] == "training"
    assert (
        len({tuple(p["trial"] for p in pl) for pl in plans.values()}) > 1
        or len({tuple(p["order"][0] for p in pl) for pl in plans.values()}) > 1
    )
    for pl in plans.values():
        assert sorted(p["trial"] for p in pl) == sorted(t.id for t in test.trials)
        for p in pl:
            t = next(t for t in test.trials if t.id == p["trial"])
            assert sorted(p["order"]) == sorted(s.id for s in t.stimuli)
    # the hidden reference is not always first: over listeners and trials it takes every position
    hidden = {t.id: next(s.id for s in t.stimuli if s.system == "reference") for t in test.trials}
    positions = {p["order"].index(hidden[p["trial"]]) for who in range(20) for p in listener_plan(test, f"L{who}")}
    assert positions == set(range(6))


def test_prng_matches_the_javascript_reference_values():
    # values printed by static/listening.js under node
    assert fnv1a32("") == 0x811C9DC5 and fnv1a32("a") == 0xE40C292C and fnv1a32("chloé|x") == 0x490F7DAF
    rand = mulberry32(1)
    assert [round(next(rand), 10) for _ in range(3)] == [0.6270739406, 0.0027357212, 0.52744704]


@pytest.mark.slow  # heavy for the edit-test loop (seconds); the full suite runs it
@pytest.mark.skipif(not shutil.which("node"), reason="node not installed")
def test_javascript_plan_equals_python_plan(mushra, tmp_path):
    folder, test = mushra
    module = tmp_path / "listening.mjs"
    shutil.copy(STATIC / "listening.js", module)
    script = (
        f"import({json.dumps(module.as_uri())}).then(m => {{ const t = {json.dumps(public_test(test))};"
        "console.log(JSON.stringify(['anna', 'chloé', '<b>'].map(w => m.listenerPlan(t, w)))); });"
    )
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60, check=True).stdout
    assert json.loads(out) == [listener_plan(test, w) for w in ("anna", "chloé", "<b>")]


def test_p835_and_ccr_trials(p835, ccr):
    _, t = p835
    assert {s.system for tr in t.trials if not tr.training for s in tr.stimuli} == {"noisy", "sysA", "sysB"}
    assert all(len(tr.stimuli) == 1 and tr.dataset == "synth_blind" for tr in t.trials)
    assert t.scale["scales"]["BAK"]["labels"][0] == [5, "Not noticeable"]
    _, c = ccr
    pairs = {tuple(s.system for s in tr.stimuli) for tr in c.trials if not tr.training}
    assert pairs == {("sysB", "sysA"), ("noisy", "sysA")}


def test_bad_arguments(table, tmp_path):
    with pytest.raises(ValueError, match="systems not in the table: \\['nope'\\]"):
        build_test(table, tmp_path, systems=["nope"])
    with pytest.raises(ValueError, match="kind 'abx' is not one of \\['acr', 'ccr', 'mushra', 'p835'\\]"):
        build_test(table, tmp_path, kind="abx")


def test_hidden_reference_is_not_a_byte_copy_of_the_open_one(mushra):
    """The hidden reference is the same signal as the open reference but not the same bytes (TPDF dither at
    16-bit LSB): comparing files or hashes does not find it; the samples differ by at most 2 LSB."""
    from setoolkit.audio import read
    from setoolkit.listening.files import sha256_file

    folder, test = mushra
    for t in test.trials:
        hidden = next(s for s in t.stimuli if s.system == "reference")
        assert sha256_file(folder / hidden.file) != sha256_file(folder / t.reference)
        a, _ = read(folder / hidden.file)
        b, _ = read(folder / t.reference)
        assert 0 < np.max(np.abs(a - b)) <= 2 / 32768 + 1e-9

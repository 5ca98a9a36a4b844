"""Building a set from its recipe and seed: the same inputs and seed give bit-identical files (by hash), the
recipe records every source, the folder is an evaluation set, and a changed file is found."""

import json
from pathlib import Path

import numpy as np
import pytest

from setoolkit.audio import read
from setoolkit.datasets import DatasetError, built_set, make_set, read_recipe, verify_set
from setoolkit.datasets.recipes import RECIPES, TalkerRecipe
from setoolkit.evaluation.sets import resolve_sets, set_pairs

SMALL = TalkerRecipe("talkers_small", "test set", per_band=1, babble_files=1, noise_files=1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("sets")
    return make_set(SMALL, root / "a", seed=3), make_set(SMALL, root / "b", seed=3)


def test_same_seed_same_bytes(built):
    a, b = built
    sums = (a / "SHA256SUMS").read_text()
    assert sums == (b / "SHA256SUMS").read_text()
    listed = [line.split("  ")[1] for line in sums.splitlines()]
    assert len([p for p in listed if p.startswith("noisy/")]) == 6 and "recipe.json" in listed
    for rel in listed:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    assert verify_set(a) == [] and (a / "SEED").read_text() == "3\n"


def test_another_seed_another_set(built, tmp_path):
    c = make_set(SMALL, tmp_path, seed=4)
    assert (c / "SHA256SUMS").read_text() != (built[0] / "SHA256SUMS").read_text()


def test_recipe_records_sources_cuts_and_levels(built):
    doc = read_recipe(built[0])
    assert doc["seed"] == 3 and doc["recipe"]["sirs"] == [0.0, 5.0, 10.0, 15.0]
    assert all(len(s["sha256"]) == 64 and s["source"] for s in doc["sources"])
    by_cond = {}
    for f in doc["files"]:
        by_cond.setdefault(f["condition"], []).append(f)
        speakers = {i["speaker"] for i in f["interferers"]}
        assert f["target"]["speaker"] not in speakers  # a competing talker is another speaker
        assert abs(f["sir_measured_db"] - f["sir_db"]) < 0.5 and f["samples"] <= 4 * 16000
    assert sorted(f["sir_db"] for f in by_cond["talker"]) == [0, 5, 10, 15]
    assert 4 <= len(by_cond["babble"][0]["interferers"]) <= 6
    noise = by_cond["talker_noise"][0]
    assert noise["noise_rms_db"] == pytest.approx(-26.0 - noise["snr_db"])


def test_a_built_set_is_an_evaluation_set_and_its_parts_add_up(built):
    folder = built[0]
    pairs = set_pairs(str(folder))
    assert len(pairs) == 6 and all(p.clean is not None for p in pairs)
    assert {p.key.split("/")[0] for p in pairs} == {"talker", "babble", "talker_noise"}
    for p in pairs:
        noisy = read(p.noisy)[0][0]
        parts = [read(folder / part / p.key)[0][0] for part in ("clean", "interferer")]
        if p.key.startswith("talker_noise/"):
            parts.append(read(folder / "noise" / p.key)[0][0])
        assert np.abs(noisy - sum(parts)).max() <= 2.5 / 32768  # one 16-bit rounding per part


def test_a_changed_file_is_found_and_a_cached_build_repaired(tmp_path):
    folder = built_set("talkers_small", root=tmp_path) if "talkers_small" in RECIPES else None
    assert folder is None  # only the named recipes are cached; build a recipe object with make_set
    folder = make_set(SMALL, tmp_path)
    victim = next((folder / "noisy" / "talker").glob("*.wav"))
    victim.write_bytes(victim.read_bytes()[:-2] + b"\x00\x01")
    assert verify_set(folder) == [f"{victim.relative_to(folder).as_posix()}: changed"]
    (folder / "interferer" / "stray.wav").write_bytes(b"")
    assert "interferer/stray.wav: not in SHA256SUMS" in verify_set(folder)


def test_refusals(tmp_path):
    (tmp_path / "talkers16k").mkdir()
    (tmp_path / "talkers16k" / "mine.txt").write_text("x")
    with pytest.raises(DatasetError, match="not a built set"):
        make_set("talkers16k", tmp_path)
    with pytest.raises(DatasetError, match="no set named 'talkers8k'; known: talkers16k"):
        make_set("talkers8k", tmp_path)
    with pytest.raises(DatasetError, match="non-negative integer"):
        make_set(SMALL, tmp_path, seed=-1)


@pytest.mark.slow
def test_talkers16k_rebuilds_bit_identically_and_is_a_named_set(tmp_path, monkeypatch):
    monkeypatch.setenv("SETOOLKIT_CACHE", str(tmp_path / "cache"))
    (src,) = resolve_sets(["talkers16k"])
    assert (src.name, src.kind) == ("talkers16k", "built")
    pairs = set_pairs(src)  # built into the cache on first use
    assert len(pairs) == 48 and {p.key.split("/")[0] for p in pairs} == {"talker", "babble", "talker_noise"}
    first = built_set("talkers16k")
    assert pairs[0].noisy.is_relative_to(first) and first.is_relative_to(tmp_path / "cache")
    again = make_set("talkers16k", tmp_path / "again")
    assert (first / "SHA256SUMS").read_text() == (again / "SHA256SUMS").read_text()
    doc = json.loads((first / "recipe.json").read_text())
    assert len(doc["files"]) == 48 and verify_set(first) == []
    stamp = (first / "noisy" / pairs[0].key).stat().st_mtime_ns
    assert built_set("talkers16k") == first and (first / "noisy" / pairs[0].key).stat().st_mtime_ns == stamp
    assert Path(first).name == "talkers16k"


@pytest.mark.slow
def test_cli_make_and_verify(tmp_path, capsys):
    from setoolkit.cli import main

    assert main(["datasets", "make", "talkers16k", "--out", str(tmp_path), "--seed", "5"]) == 0
    folder = tmp_path / "talkers16k"
    assert capsys.readouterr().out.strip() == f"{folder}: 48 files, seed 5"
    assert read_recipe(folder)["seed"] == 5
    assert main(["datasets", "verify", str(folder)]) == 0
    victim = sorted((folder / "clean" / "babble").glob("*.wav"))[0]
    victim.write_bytes(victim.read_bytes()[:-4])
    assert main(["datasets", "verify", str(folder)]) == 1
    assert f"{victim.relative_to(folder).as_posix()}: changed" in capsys.readouterr().out
    assert main(["datasets", "make", "talkers8k", "--out", str(tmp_path)]) == 2
    assert "no set named 'talkers8k'" in capsys.readouterr().err

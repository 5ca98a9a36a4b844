"""Sets have identities, twins are found across formats and folders, pair lists, an all-zero reference, content
keys that cover extracted archives and user model specs, and validation before any work (issue #21). Every
input is generated; no zoo model runs."""

import hashlib
import io
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest

from setoolkit import assets
from setoolkit.audio import read, write
from setoolkit.cli import main
from setoolkit.evaluation import NOISY, Task, evaluate, make_tasks, run_task
from setoolkit.evaluation.sets import SetError, resolve_models, resolve_sets, set_pairs
from setoolkit.metrics import catalog

RNG = np.random.default_rng(0)


def _audio(path: Path, n: int = 8000, sr: int = 16000, value: float | None = None) -> Path:
    x = np.full(n, value, np.float32) if value is not None else RNG.standard_normal(n).astype(np.float32) * 0.1
    write(path, x, sr)
    return path


def _paired(folder: Path, names=("a.wav", "b.wav")) -> Path:
    for name in names:
        _audio(folder / "noisy" / name)
        _audio(folder / "clean" / name)
    return folder


def _toy_task(task, **kwargs):
    """A task function without a model: the row records what it saw; the output file is written."""
    x, sr = read(task.noisy)
    if task.output:
        write(task.output, x, sr)
    return {
        "dataset": task.dataset,
        "model": task.model,
        "file": task.file,
        "sr": sr,
        "value": float(np.abs(x).sum()),
        "output_path": task.output or task.noisy,
        "noisy_path": task.noisy,
        "clean_path": task.clean,
    }


def _run(models, sets, out, **kw):
    return evaluate(
        models,
        sets,
        out,
        workers=1,
        progress=False,
        task_fn=_toy_task,
        return_stats=True,
        metrics=("si_sdr",),
        use_dnsmos=False,
        **kw,
    )


# ----------------------------------------------------------------------------------------- set identities


def test_two_folders_with_one_name_stay_two_sets(tmp_path):
    a = _paired(tmp_path / "a" / "myset", ("x.wav", "y.wav"))
    b = _paired(tmp_path / "b" / "myset", ("z.wav",))
    with pytest.warns(UserWarning, match="two sets are named 'myset'"):
        table, _ = _run([NOISY], [str(a), str(b)], tmp_path / "out")
    n = table.groupby("dataset")["file"].count().to_dict()
    assert n == {"myset": 2, "myset~2": 1}
    for ds, root in (("myset", a), ("myset~2", b)):
        paths = table[table["dataset"] == ds]["noisy_path"]
        assert all(Path(p).parent == root / "noisy" for p in paths)


def test_local_folder_named_like_a_registry_set_never_replaces_it(tmp_path, monkeypatch):
    local = _paired(tmp_path / "vbd16k")
    assert resolve_sets([str(local)])[0].name == "vbd16k (local)"
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match="using the registry set"):
        (src,) = resolve_sets(["vbd16k"])
    assert (src.kind, src.name) == ("registry", "vbd16k")
    assert [(s.kind, s.name) for s in resolve_sets(["./vbd16k"])] == [("folder", "vbd16k (local)")]


def test_duplicates_fold_and_dot_works(tmp_path, monkeypatch):
    s1 = _paired(tmp_path / "s1")
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match="listed twice"):
        assert len(resolve_sets(["s1", "s1/", str(s1)])) == 1
    with pytest.warns(UserWarning, match="listed twice"):
        assert resolve_models(["gtcrn", "gtcrn", NOISY]) == ["gtcrn", NOISY]
    with pytest.warns(UserWarning, match="listed twice"):
        table, _ = _run([NOISY, NOISY], ["s1", "s1/"], tmp_path / "out")
    assert len(table) == 2  # two files, one row each
    monkeypatch.chdir(s1)
    assert [s.name for s in resolve_sets(["."])] == ["s1"]


# ------------------------------------------------------------------------------------------ twins, lists


def test_twins_by_stem_across_formats_and_nested_folders(tmp_path):
    root = tmp_path / "set"
    _audio(root / "noisy" / "x.wav")
    _audio(root / "clean" / "x.flac")
    _audio(root / "noisy" / "a" / "y.wav")
    _audio(root / "noisy" / "b" / "y.wav")
    _audio(root / "clean" / "a" / "y.ogg")
    _audio(root / "clean" / "b" / "y.wav")
    files = {f.key: f for f in set_pairs(str(root))}
    assert sorted(files) == ["a/y.wav", "b/y.wav", "x.wav"]
    assert files["x.wav"].clean == root / "clean" / "x.flac"
    assert files["a/y.wav"].clean == root / "clean" / "a" / "y.ogg"
    assert files["b/y.wav"].clean == root / "clean" / "b" / "y.wav"
    table, _ = _run([NOISY], [str(root)], tmp_path / "out")
    assert sorted(table["file"]) == ["a/y.wav", "b/y.wav", "x.wav"]
    tasks = make_tasks(["oracle-irm"], [str(root)], tmp_path / "out", metrics=("si_sdr",), use_dnsmos=False)
    outputs = [t.output for t in tasks if t.output]
    assert len(outputs) == 3 and len(set(outputs)) == 3  # a/y and b/y do not share an output
    _audio(root / "clean" / "x.wav")
    with pytest.raises(SetError, match=r"x\.flac and .*x\.wav|x\.wav and .*x\.flac"):
        set_pairs(str(root))


def test_missing_twins_are_named_not_skipped(tmp_path):
    root = tmp_path / "set"
    _audio(root / "noisy" / "x.wav")
    _audio(root / "noisy" / "lonely.wav")
    _audio(root / "clean" / "x.wav")
    with pytest.warns(UserWarning, match="1 noisy file.*no clean twin.*lonely.wav"):
        files = set_pairs(str(root))
    assert {f.key: f.clean is not None for f in files} == {"lonely.wav": False, "x.wav": True}


def test_pair_list_any_layout_any_rate_and_errors_name_the_line(tmp_path):
    n1 = _audio(tmp_path / "deep" / "n1.wav")
    c1 = _audio(tmp_path / "elsewhere" / "ref.flac", n=24000, sr=48000)
    n2 = _audio(tmp_path / "n2.wav", sr=8000, n=4000)
    lst = tmp_path / "pairs.csv"
    lst.write_text(f"noisy,clean\ndeep/n1.wav,{c1}\n{n2},\n")
    files = set_pairs(str(lst))
    assert [(f.key, f.noisy, f.clean) for f in files] == [("deep/n1.wav", n1, c1), (str(n2), n2, None)]
    table, _ = _run([NOISY], [str(lst)], tmp_path / "out")
    assert set(table["dataset"]) == {"pairs"} and len(table) == 2
    tsv = tmp_path / "bad.tsv"
    tsv.write_text("noisy\tclean\ndeep/n1.wav\tmissing.wav\ndeep/n1.wav\t\n")
    with pytest.raises(
        SetError,
        match=r"line 2: clean file .*missing.wav not found; line 3: noisy deep/n1.wav "
        r"already on line 2",
    ):
        set_pairs(str(tsv))


def test_a_pair_list_row_with_an_extra_field_names_the_file_and_line(tmp_path):
    _audio(tmp_path / "n1.wav")
    _audio(tmp_path / "c1.wav")
    lst = tmp_path / "pairs.csv"
    lst.write_text("noisy,clean\nn1.wav,c1.wav,0.5\n")
    with pytest.raises(
        SetError, match=rf"{lst}: line 2: 3 fields, the header has 2 \(noisy, clean\); a path with a comma"
    ):
        set_pairs(str(lst))
    lst.write_text("noisy,clean\nn1.wav,c1.wav\nn1.wav,c1.wav,extra,more\n")
    with pytest.raises(SetError, match=r"line 3: 4 fields, the header has 2"):
        set_pairs(str(lst))


def test_one_file_spelled_three_ways_counts_once(tmp_path):
    n1 = _audio(tmp_path / "a" / "n1.wav")
    (tmp_path / "a" / "sub").mkdir()
    c1 = _audio(tmp_path / "c1.wav")
    lst = tmp_path / "pairs.csv"
    lst.write_text(f"noisy,clean\na/n1.wav,c1.wav\na/sub/../n1.wav,c1.wav\n{n1},{c1}\n")
    with pytest.warns(UserWarning, match=r"pairs.csv: 2 line\(s\) name a noisy file listed before .*line 3 "):
        table, stats = _run([NOISY], [str(lst)], tmp_path / "out")
    assert list(table["file"]) == ["a/n1.wav"] and stats.total == 1
    lst.write_text(f"noisy,clean\na/n1.wav,c1.wav\n{n1},\n")  # one file, two references: which one?
    with pytest.raises(SetError, match=rf"line 3: noisy {n1} already on line 2 with another clean file"):
        set_pairs(str(lst))


def test_a_rerun_of_a_nested_set_computes_nothing(tmp_path, data):
    """Rows of files in subfolders (``noisy/a/x.wav``; a pair list naming ``audio/n1.wav``) are reused by a
    rerun: the store compared the row's key with the file's base name and recomputed every task, warning."""
    pairs = sorted((data / "vbd16k" / "noisy").glob("*.wav"))[:2]
    nested = tmp_path / "nested"
    for sub, f in zip(("a", "b/c"), pairs):
        for side in ("noisy", "clean"):
            dst = nested / side / sub / f.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes((data / "vbd16k" / side / f.name).read_bytes())
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "n1.wav").write_bytes(pairs[0].read_bytes())
    (tmp_path / "pairs.csv").write_text(f"noisy,clean\naudio/n1.wav,{data / 'vbd16k' / 'clean' / pairs[0].name}\n")

    def run():
        return evaluate(
            ["nsnet2"],
            [str(nested), str(tmp_path / "pairs.csv")],
            tmp_path / "out",
            metrics=("si_sdr",),
            use_dnsmos=False,
            workers=1,
            progress=False,
        )

    first = run()
    assert first.stats.computed == 6 and "a/" + pairs[0].name in set(first["file"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "stored row not reused"
        again = run()
    assert again.stats.computed == 0 and again.stats.skipped == 6
    cols = ["dataset", "model", "file", "si_sdr"]
    assert again[cols].equals(first[cols])


# ------------------------------------------------------------------------------------- all-zero reference


def test_all_zero_clean_reference_gives_nan_for_every_intrusive_metric(tmp_path):
    noisy = _audio(tmp_path / "noisy" / "z.wav", n=32000)
    clean = _audio(tmp_path / "clean" / "z.wav", n=32000, value=0.0)
    metrics = ("pesq_wb", "pesq_nb", "csig", "cbak", "covl", "stoi", "estoi", "si_sdr", "sdr", "snr", "segsnr", "lsd")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        row = run_task(Task("s", NOISY, str(noisy), str(clean), None), metrics=metrics, use_dnsmos=False)
    assert all(catalog.info(m).intrusive for m in metrics)
    assert {m: row[m] for m in metrics if not np.isnan(row[m])} == {}
    assert any(str(clean) in str(w.message) and "all zeros" in str(w.message) for w in caught)


# ------------------------------------------------------------------------------------------- content keys


def test_extracted_archive_is_verified_and_unpacked_again_when_edited(tmp_path, monkeypatch):
    members = {"config.ini": b"[df]\nsr = 48000\n", "enc.onnx": b"graph"}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"export/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    mirror = tmp_path / "mirror"
    name = "weights/toy/export.tar.gz"
    (mirror / name).parent.mkdir(parents=True)
    (mirror / name).write_bytes(buf.getvalue())
    digest = hashlib.sha256(buf.getvalue()).hexdigest()
    monkeypatch.setitem(assets.registry(), name, assets.Asset(name, digest, len(buf.getvalue()), "", "MIT", "test"))
    monkeypatch.setenv("SETOOLKIT_CACHE", str(tmp_path / "cache"))
    folder = assets.extracted(name, mirror=mirror)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == members
    (folder / "config.ini").write_text("[df]\nsr = 16000\n")  # an edit that would change the model's output
    with pytest.warns(UserWarning, match="differ from the archive.*config.ini"):
        again = assets.extracted(name, mirror=mirror)
    assert {p.name: p.read_bytes() for p in again.iterdir()} == members
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert assets.extracted(name, mirror=mirror) == folder  # verified, nothing to do


SPEC = """
import setoolkit

GAIN = {gain}


def build():
    return setoolkit.from_function(lambda x: GAIN * x, 16000, name="gain")
"""


def test_editing_a_spec_file_recomputes_exactly_its_rows(tmp_path, monkeypatch):
    _paired(tmp_path / "set", ("a.wav", "b.wav", "c.wav"))
    (tmp_path / "m1.py").write_text(SPEC.format(gain=0.5))
    (tmp_path / "m2.py").write_text(SPEC.format(gain=0.25))
    monkeypatch.chdir(tmp_path)

    def run(out):
        return evaluate(
            ["m1.py:build", "m2.py:build"],
            ["set"],
            out,
            store=tmp_path / "store",
            metrics=("si_sdr",),
            use_dnsmos=False,
            workers=1,
            progress=False,
            return_stats=True,
        )

    table, stats = run("day1")
    assert stats.computed == 9
    spec1 = "gain"  # both specs name their model "gain": the second is shown as gain~2, never by its path
    assert set(table["model"]) == {NOISY, spec1, "gain~2"}
    (tmp_path / "m1.py").write_text(SPEC.format(gain=0.125))
    again, stats = run("day2")
    assert stats.computed == 3 and stats.skipped == 6  # m1's rows only
    before = read(table[table["model"] == spec1]["output_path"].iloc[0])[0]
    after = read(again[again["model"] == spec1]["output_path"].iloc[0])[0]
    np.testing.assert_allclose(after, before / 4, atol=1e-4)  # the edit reached the output, not a cached model


# ------------------------------------------------------------------------------------ validation up front


@pytest.mark.parametrize(
    "args, value",
    [
        (["evaluate", "--sets", "{set}", "--limit", "0"], "--limit 0"),
        (["evaluate", "--sets", "{set}", "--limit", "-1"], "--limit -1"),
        (["evaluate"], "--sets is required"),
        (["evaluate", "--sets", ""], "--sets ''"),
        (["evaluate", "--sets", "{set},"], "an empty entry"),
        (["evaluate", "--sets", "{set}/nope"], "nope: no such folder"),
        (["run", "--sets", "{set}", "--limit", "0"], "--limit 0"),
        (["evaluate", "--sets", "{set}", "--task-timeout", "0"], "--task-timeout 0"),
        (["run", "--sets", "{set}", "--task-timeout", "-5"], "--task-timeout -5"),
        (["doctor", "nsnet2", "--sr", "0"], "--sr 0"),
        (["enhance", "{set}/noisy/a.wav", "-m", "nsnet2", "-o", "{out}", "--subtype", "FOO"], "--subtype 'FOO'"),
        (["enhance", "{set}/noisy/a.wav", "-m", "nsnet2", "-o", "{out}", "--format", "mp4"], "--format 'mp4'"),
    ],
)
def test_bad_values_are_one_line_before_any_work(tmp_path, capsys, args, value):
    root = _paired(tmp_path / "set")
    argv = [a.format(set=root, out=tmp_path / "enhanced") for a in args]
    if argv[0] in ("evaluate", "run"):
        argv += ["--out", str(tmp_path / "out")] if argv[0] == "evaluate" else ["--reports", str(tmp_path / "r")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("setoolkit: error: ") and value in err[0]
    assert not list((tmp_path / "enhanced").glob("*.wav"))  # nothing enhanced before the refusal
    assert not (tmp_path / "out").exists() and not (tmp_path / "r").exists()


def test_bad_config_and_unwritable_cache_are_one_line(tmp_path, monkeypatch, capsys):
    config = tmp_path / "config.toml"
    config.write_text("mirror = 5\n")
    monkeypatch.setenv("SETOOLKIT_CONFIG", str(config))
    assert main(["models"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(config) in err[0] and "mirror = 5" in err[0]
    monkeypatch.setenv("SETOOLKIT_CONFIG", "")
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("SETOOLKIT_CACHE", str(blocked / "cache"))
    assert main(["fetch", "nsnet2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"cache folder {blocked / 'cache'} is not writable" in err[0]


def test_outputs_inside_the_set_folder_are_not_inputs_next_time(tmp_path, monkeypatch):
    root = tmp_path / "recordings"
    _audio(root / "a.wav")
    _audio(root / "b.wav")
    monkeypatch.chdir(root)
    table, _ = _run([NOISY, "oracle-irm"], ["."], root / "runs" / "x")  # no clean: no oracle rows
    assert sorted(table["file"]) == ["a.wav", "b.wav"]
    _audio(root / "runs" / "x" / "audio" / "recordings" / "old.wav")
    with pytest.warns(UserWarning, match="1 audio file.*under the output folder"):
        again, _ = _run([NOISY], ["."], root / "runs" / "x")
    assert sorted(again["file"]) == ["a.wav", "b.wav"]

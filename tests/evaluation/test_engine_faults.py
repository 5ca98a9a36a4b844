"""The evaluation engine under faults (issue #21): the store as a database (atomic, verified, relocatable,
concurrent), failures kept and named, worker warnings named, an unguarded script, signals (SIGINT, SIGTERM,
SIGKILL: no orphaned worker, no temporary file, finished rows kept, a rerun gives the uninterrupted table), a
read-only or full output folder. Generated sets and model-free task functions (:mod:`engine_toys`), so each test
takes seconds."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import engine_toys
import pandas as pd
import pytest

from setoolkit.errors import OutputError, SetoolkitError
from setoolkit.evaluation import RowStore, evaluate

ROOT = Path(__file__).resolve().parents[2]
MODELS = ["nsnet2", "gtcrn"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(Path(__file__).parent)]), "MPLBACKEND": "Agg"}


def _run(root: Path, out: str, task_fn=engine_toys.toy_task, *, mirror: Path, store: Path | None = None, **kw):
    kw.setdefault("workers", 1)
    return evaluate(
        MODELS,
        [root / "set"],
        root / out,
        store=store,
        mirror=mirror,
        metrics=("si_sdr",),
        use_dnsmos=False,
        progress=False,
        task_fn=task_fn,
        return_stats=True,
        **kw,
    )


@pytest.fixture
def toy(tmp_path) -> Path:
    engine_toys.make_set(tmp_path / "set")
    return tmp_path


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and (p.name.startswith(".") or p.suffix == ".tmp")]


def _rows_by_task(rows: Path) -> dict[tuple[str, str], Path]:
    return {(r["model"], r["file"]): p for p in rows.glob("*.json") if (r := json.loads(p.read_text()))}


# ------------------------------------------------------------------------------------------- the store


def test_two_processes_writing_overlapping_keys_never_collide(tmp_path):
    """Two writers and readers on the same 20 keys: every write lands whole, every read is a whole row (a fixed
    temporary name made writers move each other's half-written files: FileNotFoundError, invalid JSON)."""
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from setoolkit.evaluation.store import RowStore
        store, me = RowStore({str(tmp_path / "rows")!r}), sys.argv[1]
        Path({str(tmp_path)!r}, "ready-" + me).touch()
        while len(list(Path({str(tmp_path)!r}).glob("ready-*"))) < 2:  # start together
            time.sleep(0.001)
        for i in range(1000):
            key = f"k{{i % 20}}"
            store.put(key, {{"dataset": "d", "model": "m", "file": key, "writer": me, "pad": "x" * 20000}})
            row = store.get(f"k{{(i * 7) % 20}}") if i > 20 else None
            assert row is None or row["pad"] == "x" * 20000
        """)
    procs = [
        subprocess.Popen([sys.executable, "-c", script, w], env=ENV, stderr=subprocess.PIPE, text=True)
        for w in ("A", "B")
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    store = RowStore(tmp_path / "rows")
    assert len(store.done()) == 20 and all(store.get(k)["writer"] in "AB" for k in store.done())
    assert not _temporaries(tmp_path)


def test_corrupt_rows_and_truncated_audio_are_recomputed_and_named(toy, mirror):
    first, _ = _run(toy, "day1", mirror=mirror)
    rows = _rows_by_task(toy / "day1" / "rows")
    rows[("noisy", "a.wav")].write_text("{}")
    text = rows[("nsnet2", "a.wav")].read_text()
    rows[("nsnet2", "a.wav")].write_text(text[: len(text) // 2])
    rows[("gtcrn", "a.wav")].write_text(json.dumps({k: v for k, v in json.loads(text).items() if k != "model"}))
    audio = Path(first[(first.model == "gtcrn") & (first.file == "c.wav")]["output_path"].iloc[0])
    audio.write_bytes(audio.read_bytes()[: audio.stat().st_size // 2])  # header frames > frames in the file
    with pytest.warns(UserWarning) as caught:
        again, stats = _run(toy, "day2", mirror=mirror, store=toy / "day1")
    named = " ".join(str(w.message) for w in caught)
    for p in (rows[("noisy", "a.wav")], rows[("nsnet2", "a.wav")], rows[("gtcrn", "a.wav")], audio):
        assert str(p) in named
    assert "not valid JSON" in named and "missing field(s) model" in named and "truncated" in named
    assert stats.computed == 4 and stats.skipped == 5
    pd.testing.assert_frame_equal(again, first)
    again, stats = _run(toy, "day3", mirror=mirror, store=toy / "day1")  # repaired: all reused
    assert stats.computed == 0


def test_a_moved_store_keeps_its_audio_and_old_format_rows_are_read(toy, mirror):
    first, _ = _run(toy, "a", mirror=mirror)
    rows = _rows_by_task(toy / "a" / "rows")
    row = json.loads(rows[("gtcrn", "b.wav")].read_text())
    assert row["output_path"] == Path(row["output_path"]).as_posix() and row["output_path"].startswith("audio/")
    old = json.loads(rows[("nsnet2", "b.wav")].read_text())  # as rows were written before: an absolute path
    rows[("nsnet2", "b.wav")].write_text(json.dumps({**old, "output_path": str(toy / "a" / old["output_path"])}))
    shutil.move(toy / "a", toy / "b")
    again, stats = _run(toy, "b", mirror=mirror)
    assert stats.computed == 0 and stats.skipped == 9
    enhanced = again[again.model != "noisy"]["output_path"]
    assert all(Path(p).is_file() and Path(p).is_relative_to(toy / "b") for p in enhanced)
    cols = ["dataset", "model", "file", "value"]
    pd.testing.assert_frame_equal(again[cols], first[cols])


# ------------------------------------------------------------------------------------------- failures


def test_failures_are_kept_named_and_loud(toy, mirror):
    with pytest.warns(UserWarning, match=r"3 of 9 tasks failed .*failures.csv.*b.wav \(nsnet2\): ValueError"):
        table, stats = _run(toy, "out", engine_toys.failing_task, mirror=mirror)
    assert len(table) == 6 and "b.wav" not in set(table.file)
    failures = pd.read_csv(toy / "out" / "failures.csv")
    assert sorted(failures.model) == ["gtcrn", "noisy", "nsnet2"] and set(failures.file) == {"b.wav"}
    assert set(failures.dataset) == {"set"} and set(failures.reason) == {"ValueError: toy failure on b.wav"}
    text = str(stats)
    assert "3 failed" in text and "FAILED set/b.wav (gtcrn): ValueError: toy failure on b.wav" in text
    assert str(toy / "out" / "failures.csv") in text
    _, stats = _run(toy, "out", mirror=mirror)  # fixed: computed, and the stale failures.csv is gone
    assert stats.computed == 3 and not stats.failed and not (toy / "out" / "failures.csv").exists()


def test_every_task_failing_is_an_error_with_the_reasons(toy, mirror):
    with pytest.raises(SetoolkitError, match=r"every task failed \(9; .*RuntimeError: toy model cannot load"):
        _run(toy, "out", engine_toys.always_failing_task, mirror=mirror)
    assert len(pd.read_csv(toy / "out" / "failures.csv")) == 9


def test_task_warnings_are_reissued_once_naming_file_and_model(toy, mirror, recwarn):
    _run(toy, "out", engine_toys.warning_task, mirror=mirror)
    messages = [str(w.message) for w in recwarn.list]
    shared = [m for m in messages if "toy library is deprecated" in m]
    assert len(shared) == 1 and shared[0].startswith("set/") and "[and 8 more tasks]" in shared[0]
    own = sorted(m for m in messages if "toy clipping" in m)
    assert len(own) == 3 and own[0].startswith("set/a.wav (") and "toy clipping: a samples" in own[0]


def test_a_script_without_main_guard_is_one_clear_error(toy, mirror):
    script = toy / "unguarded.py"
    script.write_text(
        textwrap.dedent(f"""
        import engine_toys
        from setoolkit.evaluation import evaluate
        table = evaluate({MODELS!r}, [{str(toy / "set")!r}], {str(toy / "out")!r}, mirror={str(mirror)!r},
                         metrics=("si_sdr",), use_dnsmos=False, workers=2, progress=False,
                         task_fn=engine_toys.toy_task)
        print("rows:", len(table))
        """)
    )
    p = subprocess.run([sys.executable, str(script)], check=False, env=ENV, capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and "rows:" not in p.stdout
    assert f"{script}, line 4" in p.stderr and 'if __name__ == "__main__":' in p.stderr, p.stderr[-2000:]
    assert (
        p.stderr.count("setoolkit.errors.SetoolkitError:") == 1
    )  # raised once, in this process, before any worker started


# ------------------------------------------------------------------------------------------- signals


def _children(pid: int) -> set[int]:
    kids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.add(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _start_and_wait_for(cmd: list[str], rows: Path, n_rows: int, log: Path, *, timeout: float = 240):
    """Start ``cmd`` (its output to ``log``); return it once ``n_rows`` rows are stored, with its children's ids."""
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, env=ENV, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    workers: set[int] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        workers |= _children(proc.pid)
        if rows.is_dir() and len(list(rows.glob("*.json"))) >= n_rows:
            return proc, workers
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"no {n_rows} rows within {timeout} s: {log.read_text()[-2000:]}")


def _gone_within(pids: set[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def cli_set(tmp_path_factory):
    return engine_toys.make_set(tmp_path_factory.mktemp("cli") / "set", n=10, seconds=1.0)


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_cli_evaluate_stops_on_a_signal_keeping_rows(cli_set, tmp_path, sig, code):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) or SIGTERM: workers gone within
    seconds, rows kept, no temporary file, exit 130/143 with one line."""
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "setoolkit",
        "evaluate",
        "--sets",
        str(cli_set),
        "--models",
        "nsnet2",
        "--no-dnsmos",
        "--workers",
        "2",
        "--out",
        str(out),
        "-q",
    ]
    proc, workers = _start_and_wait_for(cmd, out / "rows", 1, tmp_path / "log")
    t0 = time.monotonic()
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    proc.wait(timeout=60)
    err = (tmp_path / "log").read_text()
    assert time.monotonic() - t0 < 15 and proc.returncode == code, err[-3000:]
    assert workers and _gone_within(workers, 2)
    kept = len(list((out / "rows").glob("*.json")))
    lines = [ln for ln in err.splitlines() if f"interrupted by {sig.name}" in ln]
    assert len(lines) == 1 and f": {kept} rows computed in this run" in lines[0] and "rerun" in lines[0], err
    assert 1 <= kept < 20 and not _temporaries(out)  # the rerun's resumption: test_a_kill_at_any_point...
    assert "Traceback" not in err and "InvalidStateError" not in err, err  # the pool's thread died loudly on 3.11


def test_ctrl_c_while_a_model_is_built_is_one_line(tmp_path):
    """SIGINT outside the task loop (here: a spec's build() in the parent, while the run is planned) is one line and
    exit 130, not a KeyboardInterrupt traceback."""
    marker = tmp_path / "building"
    (tmp_path / "slow.py").write_text(
        f"import time\nfrom pathlib import Path\n\n\ndef build():\n    Path({str(marker)!r}).touch()\n"
        "    time.sleep(600)\n"
    )
    cmd = [sys.executable, "-m", "setoolkit", "evaluate", "--sets", "vbd16k", "--limit", "1", "--models"]
    cmd += [f"{tmp_path / 'slow.py'}:build", "--no-dnsmos", "--workers", "1", "--out", str(tmp_path / "out"), "-q"]
    with open(tmp_path / "log", "w") as f:
        # SIGINT at its default in the child, as in a terminal: a test run started in the background of a
        # non-interactive shell ignores SIGINT, the child would inherit that and Python would install no handler
        proc = subprocess.Popen(
            cmd,
            env=ENV,
            stdout=f,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    deadline = time.monotonic() + 240
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"no exit 60 s after SIGINT; its output: {(tmp_path / 'log').read_text()[-3000:]}")
    err = (tmp_path / "log").read_text()
    assert proc.returncode == 130 and "Traceback" not in err, err[-3000:]
    assert "setoolkit: interrupted (SIGINT)" in err


def _script(toy: Path, mirror: Path, out: str) -> list[str]:
    script = toy / "guarded.py"
    script.write_text(
        textwrap.dedent(f"""
        import engine_toys
        from setoolkit.evaluation import evaluate

        if __name__ == "__main__":
            evaluate({MODELS!r}, [{str(toy / "set")!r}], {str(toy / out)!r}, mirror={str(mirror)!r},
                     metrics=("si_sdr",), use_dnsmos=False, workers=2, progress=False, task_fn=engine_toys.slow_task)
        """)
    )
    return [sys.executable, str(script)]


@pytest.mark.slow
@pytest.mark.parametrize("sig, after_rows", [(signal.SIGKILL, 1), (signal.SIGTERM, 4)])
def test_a_kill_at_any_point_then_a_rerun_gives_the_uninterrupted_table(toy, mirror, sig, after_rows):
    """SIGKILL leaves no worker alive longer than about a task (they watch their parent); whatever the kill, the
    rerun's table equals an uninterrupted run's."""
    engine_toys.make_set(toy / "set", n=6)
    proc, workers = _start_and_wait_for(_script(toy, mirror, "out"), toy / "out" / "rows", after_rows, toy / "log")
    proc.send_signal(sig)
    proc.wait(timeout=60)
    assert workers and _gone_within(workers, 3), "a worker outlived its parent"
    if sig != signal.SIGKILL:
        assert not _temporaries(toy / "out")
    subprocess.run(_script(toy, mirror, "out"), check=True, env=ENV, timeout=300)
    expect, _ = _run(toy, "reference", mirror=mirror, workers=1)
    pd.testing.assert_frame_equal(
        pd.read_csv(toy / "out" / "scores.csv").drop(columns=["output_path"]),
        pd.read_csv(toy / "reference" / "scores.csv").drop(columns=["output_path"]),
    )
    assert len(expect) == 18 and not _temporaries(toy / "out")


# ------------------------------------------------------------------------------------------- disks


@pytest.fixture
def tmpfs(tmp_path):
    """A 64 KiB tmpfs (root only: skipped otherwise)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], check=False, capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("needs root and mount to make a small or read-only file system")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_read_only_output_folder_is_one_error_before_any_work(toy, mirror, tmpfs):
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    called = []
    with pytest.raises(OutputError, match=f"{tmpfs}.*: cannot write to the output folder"):
        _run(toy, str(tmpfs / "out"), lambda t, **kw: called.append(t), mirror=mirror)
    assert not called


def test_full_disk_keeps_the_rows_and_names_the_table(toy, mirror, tmpfs):
    filler = tmpfs / "filler"
    with open(filler, "wb") as f:  # leave about 4 KiB: the rows go to the store elsewhere, the table does not fit
        f.write(b"\0" * (60 * 1024))
    with pytest.raises(
        OutputError,
        match=r"(scores\.(csv|parquet)|models\.csv): cannot write \(.*No space left on device\); "
        r"the rows stay in the store",
    ):
        _run(toy, str(tmpfs), mirror=mirror, store=toy / "store")
    assert not _temporaries(tmpfs) and not (tmpfs / "scores.parquet").exists()
    assert len(list((toy / "store" / "rows").glob("*.json"))) == 9
    filler.unlink()
    _, stats = _run(toy, str(tmpfs), mirror=mirror, store=toy / "store")
    assert stats.computed == 0 and len(pd.read_csv(tmpfs / "scores.csv")) == 9


def test_temporaries_left_by_a_killed_run_are_swept_and_nothing_else(toy, mirror):
    _run(toy, "out", mirror=mirror)
    model_dir = next((toy / "out" / "audio").glob("*/*"))
    stale = [
        toy / "out" / "rows" / ".k.json.12.0123456789ab.tmp",
        model_dir / ".a.7240d54c.k3j_x9a1.wav",
        toy / "out" / ".scores.csv.12.0123456789ab.tmp",
    ]
    fresh, mine = toy / "out" / "rows" / ".j.json.13.0123456789ab.tmp", toy / "out" / ".notes"
    for p in [*stale, fresh, mine]:
        p.write_text("x")
        if p is not fresh:
            os.utime(p, (time.time() - 7200, time.time() - 7200))
    _, stats = _run(toy, "out", mirror=mirror)
    assert stats.computed == 0 and not any(p.exists() for p in stale) and fresh.exists() and mine.exists()


def test_a_full_store_stops_the_run_with_one_error_naming_the_row(toy, mirror, tmpfs):
    with open(tmpfs / "filler", "wb") as f:  # fill it: creating a file still works, writing one does not
        try:
            f.write(b"\0" * (64 * 1024))
        except OSError:
            pass
    with pytest.raises(OutputError, match=r"rows/\w+\.json: cannot store the row \(No space left on device\)"):
        _run(toy, "out", mirror=mirror, store=tmpfs)
    assert not _temporaries(tmpfs / "rows") and not list((tmpfs / "rows").glob("*.json"))


# ------------------------------------------------------------------------------------------- isolation, limits

RUDE = textwrap.dedent("""
    import os
    import signal
    import time
    from pathlib import Path

    import numpy as np
    import torch

    import setoolkit

    HERE = Path(__file__).parent


    def rude(x):
        np.seterr(all="raise")
        os.chdir(HERE / "elsewhere")
        torch.set_default_dtype(torch.float64)
        torch.set_num_threads(3)
        return (0.5 * x).astype(np.float32)


    def build():
        rude(np.zeros(1, np.float32))  # at build time too
        return setoolkit.from_function(rude, 16000, name="rude")


    def build_hung():
        return setoolkit.from_function(lambda x: time.sleep(3600), 16000, name="hung")


    def stuck(x):
        signal.signal(signal.SIGALRM, signal.SIG_IGN)  # no exception reaches it, as in native code that never returns
        time.sleep(3600)


    def build_stuck():
        return setoolkit.from_function(stuck, 16000, name="stuck")
""")


@pytest.fixture
def real_set(tmp_path, data) -> Path:
    """Two real VoiceBank-DEMAND pairs copied to ``tmp_path/set`` (a set folder named by a relative path)."""
    for f in sorted((data / "vbd16k" / "noisy").glob("*.wav"))[:2]:
        for side in ("noisy", "clean"):
            (tmp_path / "set" / side).mkdir(parents=True, exist_ok=True)
            shutil.copy(data / "vbd16k" / side / f.name, tmp_path / "set" / side / f.name)
    (tmp_path / "rude.py").write_text(RUDE)
    (tmp_path / "elsewhere").mkdir()
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_a_model_changing_global_state_leaves_other_tasks_and_the_runs_paths_alone(real_set, monkeypatch, workers):
    """A spec whose build() and enhance call np.seterr(all="raise"), os.chdir, torch.set_default_dtype(float64)
    and set_num_threads: the noisy baseline and gtcrn, computed after it in the same process, score as in a run
    without it; the relative output folder stays where it was named."""
    import numpy as np
    import torch

    monkeypatch.chdir(real_set)
    kw = {"metrics": ("pesq_wb", "csig", "stoi", "si_sdr"), "use_dnsmos": False, "progress": False}  # csig: exp
    alone = evaluate(["gtcrn"], ["set"], "alone", workers=1, **kw)
    err, dtype, threads = np.geterr(), torch.get_default_dtype(), torch.get_num_threads()
    with pytest.warns(UserWarning, match="2 of 6 tasks failed"):
        table = evaluate(["rude.py:build", "gtcrn"], ["set"], "run", workers=workers, **kw)
    assert {f.model for f in table.stats.failed} == {"rude"}  # its own tasks: csig raises under its np.seterr
    assert table.stats.computed == 6 - 2 and set(table["model"]) == {"noisy", "gtcrn"}
    assert (real_set / "run" / "scores.csv").is_file() and not (real_set / "elsewhere" / "run").exists()
    assert os.getcwd() == str(real_set) and np.geterr() == err
    assert (torch.get_default_dtype(), torch.get_num_threads()) == (dtype, threads)
    cols = ["dataset", "model", "file", "pesq_wb", "csig", "stoi", "si_sdr"]
    pd.testing.assert_frame_equal(table[cols].reset_index(drop=True), alone[cols].reset_index(drop=True))


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_a_hung_model_is_stopped_by_the_task_timeout_and_the_run_goes_on(real_set, workers):
    hung = f"{real_set / 'rude.py'}:build_hung"
    table = evaluate(
        [hung, "nsnet2"],
        [str(real_set / "set")],
        real_set / "run",
        workers=workers,
        limit=1,
        metrics=("si_sdr",),
        use_dnsmos=False,
        progress=False,
        task_timeout=20,
    )
    assert sorted(table["model"]) == ["noisy", "nsnet2"]
    (failure,) = table.stats.failed
    name = sorted((real_set / "set" / "noisy").glob("*.wav"))[0].name
    assert str(failure) == (
        f"set/{name} (hung): TaskTimeoutError: model 'hung' on set/{name}: did not finish within 20 s "
        "(task timeout); stopped"
    )
    with pytest.raises(SetoolkitError, match=r"task_timeout=0: seconds per task must be a positive number"):
        evaluate(["nsnet2"], [str(real_set / "set")], real_set / "run", task_timeout=0, progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])  # 1: the tasks still run in a worker process, which can be ended
def test_a_model_stuck_where_no_exception_reaches_it_ends_its_worker_and_the_rest_runs(real_set, workers):
    stuck = f"{real_set / 'rude.py'}:build_stuck"
    table = evaluate(
        [stuck, "nsnet2"],
        [str(real_set / "set")],
        real_set / "run",
        workers=workers,
        limit=1,
        metrics=("si_sdr",),
        use_dnsmos=False,
        progress=False,
        task_timeout=20,
    )
    assert sorted(table["model"]) == ["noisy", "nsnet2"]
    (failure,) = table.stats.failed
    assert failure.model == "stuck" and "TaskTimeoutError: " in failure.reason
    assert "did not finish within 20 s (task timeout) and did not stop" in failure.reason


def test_a_requested_model_that_cannot_be_built_fails_the_run(tmp_path, capsys):
    from setoolkit.cli import main

    (tmp_path / "broken.py").write_text("def build():\n    raise RuntimeError('no checkpoint here')\n")
    spec = f"{tmp_path / 'broken.py'}:build"
    with pytest.warns(UserWarning, match="no checkpoint here"):
        table = evaluate(
            [spec],
            ["vbd16k"],
            tmp_path / "api",
            limit=1,
            metrics=("si_sdr",),
            use_dnsmos=False,
            workers=1,
            progress=False,
        )
    assert list(table["model"]) == ["noisy"] and list(table.stats.not_built) == [spec]
    assert "raised RuntimeError: no checkpoint here" in table.stats.not_built[spec]
    assert f"NOT BUILT {spec}: " in str(table.stats)
    argv = ["evaluate", "--sets", "vbd16k", "--limit", "1", "--models", spec, "--no-dnsmos", "--workers", "1"]
    assert main([*argv, "--out", str(tmp_path / "cli"), "-q"]) == 1
    err = capsys.readouterr().err
    assert f"setoolkit: error: model {spec} could not be built" in err


PLUGIN = textwrap.dedent("""
    import setoolkit
    from setoolkit.registry import card


    def build(card, mirror=None):
        return setoolkit.from_function(lambda x: 0.5 * x, 16000, name=card.name)


    CARDS = [card(name="gtcrn", family="plugin", sample_rate=16000, framework="numpy", frame=None, hop=None,
                  latency_ms=0.0, params=0, weights=[], license="MIT", streaming=False, builder=build,
                  description="a plugin's card named like a zoo model")]
""")


@pytest.mark.slow
def test_a_plugin_card_named_like_a_zoo_model_is_one_warning_and_the_zoo_card_wins(toy, mirror):
    (toy / "setoolkit_plugin_clash.py").write_text(PLUGIN)
    info = toy / "setoolkit_plugin_clash-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: setoolkit_plugin_clash\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[setoolkit.models]\nclash = setoolkit_plugin_clash:CARDS\n")
    env = {**ENV, "PYTHONPATH": os.pathsep.join([str(toy), ENV["PYTHONPATH"]]), "SETOOLKIT_MIRROR": str(mirror)}
    run = [sys.executable, "-m", "setoolkit"]
    models = subprocess.run([*run, "models"], env=env, capture_output=True, text=True, timeout=300)
    evaluated = subprocess.run(
        [
            *run,
            "evaluate",
            "--sets",
            str(toy / "set"),
            "--models",
            "gtcrn",
            "--limit",
            "1",
            "--no-dnsmos",
            "--workers",
            "2",
            "--out",
            str(toy / "out"),
            "-q",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    for p in (models, evaluated):
        assert p.returncode == 0, p.stderr[-3000:]
        named = [ln for ln in p.stderr.splitlines() if "'gtcrn' is already taken" in ln]
        assert len(named) == 1 and "setoolkit_plugin_clash" in named[0], p.stderr
    gtcrn = next(ln for ln in models.stdout.splitlines() if ln.startswith("gtcrn "))
    assert "plugin" not in gtcrn and "gtcrn" in gtcrn.split()[1]
    table = pd.read_csv(toy / "out" / "scores.csv")
    noisy, enhanced = (table[table.model == m]["si_sdr"].iloc[0] for m in ("noisy", "gtcrn"))
    assert abs(enhanced - noisy) > 0.1  # the zoo's gtcrn ran, not the plugin's gain of 0.5 (SI-SDR unchanged)

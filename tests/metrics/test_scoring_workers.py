"""score_files' worker processes compute on one thread each, as the evaluation workers do: torch's default (one
thread per core) in each of as many workers as cores made the NISQA network cost 8.5x the CPU."""

import subprocess
import sys

from setoolkit.metrics.scoring import score_files

SPEC = """
import torch

from setoolkit.metrics import Metric

threads = Metric(name="threads", compute=lambda est, sr: float(torch.get_num_threads()), intrusive=False)
"""


def test_score_files_workers_run_torch_on_one_thread(tmp_path, data):
    (tmp_path / "probe.py").write_text(SPEC)
    files = sorted((data / "vbd16k" / "noisy").glob("*.wav"))[:2]
    rows = score_files([(None, f) for f in files], metrics=[f"{tmp_path / 'probe.py'}:threads"], workers=2)
    assert [r["threads"] for r in rows] == [1.0, 1.0]


def test_score_files_from_a_script_without_main_guard_is_one_clear_error(tmp_path, data):
    """Spawned workers import the calling script again: outside ``if __name__ == "__main__":`` that used to end in
    ``BrokenProcessPool`` tracebacks (the workers' own bootstrapping RuntimeError); now one error names the line."""
    files = [str(f) for f in sorted((data / "vbd16k" / "noisy").glob("*.wav"))[:2]]
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from setoolkit.metrics.scoring import score_files\n"
        f"rows = score_files([(None, f) for f in {files!r}], metrics=['si_sdr', 'snr'], workers=2)\n"
        "print('rows:', len(rows))\n"
    )
    p = subprocess.run([sys.executable, str(script)], check=False, capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and "rows:" not in p.stdout
    assert f"{script}, line 2: score_files(..., workers=2) is called at module level" in p.stderr, p.stderr[-2000:]
    assert 'if __name__ == "__main__":' in p.stderr and "BrokenProcessPool" not in p.stderr
    guarded = tmp_path / "guarded.py"
    guarded.write_text(
        "from setoolkit.metrics.scoring import score_files\n"
        "if __name__ == '__main__':\n"
        f"    rows = score_files([(None, f) for f in {files!r}], metrics=['si_sdr'], workers=2, progress=False)\n"
        "    print('rows:', len(rows))\n"
    )
    p = subprocess.run([sys.executable, str(guarded)], check=False, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "rows: 2" in p.stdout, p.stderr[-2000:]

"""score_files' worker processes compute on one thread each, as the evaluation workers do: torch's default (one
thread per core) in each of as many workers as cores made the NISQA network cost 8.5x the CPU."""

from setoolkit.metrics.scoring import score_files

SPEC = '''
import torch

from setoolkit.metrics import Metric

threads = Metric(name="threads", compute=lambda est, sr: float(torch.get_num_threads()), intrusive=False)
'''


def test_score_files_workers_run_torch_on_one_thread(tmp_path, data):
    (tmp_path / "probe.py").write_text(SPEC)
    files = sorted((data / "vbd16k" / "noisy").glob("*.wav"))[:2]
    rows = score_files([(None, f) for f in files], metrics=[f"{tmp_path / 'probe.py'}:threads"], workers=2)
    assert [r["threads"] for r in rows] == [1.0, 1.0]

"""The timing pass says how busy the machine was: a load probe with sane numbers, and a model timed beside a
CPU-burning neighbour is measured again and flagged ``busy``."""

import os
import subprocess
import sys
import time

import pytest

from setoolkit import assets
from setoolkit.evaluation.timing import (
    BUSY_OTHER_CPU,
    RETRY_WAIT_S,
    TIMING_COLUMNS,
    LoadProbe,
    timing_pass,
)

BURN = "import time\nt = time.time()\nwhile time.time() - t < 120: pass"  # one core, ends by itself


@pytest.fixture
def neighbour():
    """A process burning one core for the test's duration."""
    p = subprocess.Popen([sys.executable, "-c", BURN])
    time.sleep(0.3)
    yield p
    p.kill()
    p.wait()


def test_load_probe_returns_sane_numbers(neighbour):
    quiet = LoadProbe().start()
    time.sleep(0.5)
    r = quiet.stop()
    assert r["load1"] >= 0 and 0 <= r["steal_pct"] <= 100
    assert 0 <= r["other_cpu"] <= 100 * os.cpu_count() * 1.1  # never more than the machine has
    assert isinstance(r["busy"], bool) and isinstance(r["other_top"], str)
    assert r["other_cpu"] == pytest.approx(sum(c for _, _, c in r["others"]))
    assert os.getpid() not in [pid for pid, _, _ in r["others"]]  # ourselves excluded
    burner = [c for pid, _, c in r["others"] if pid == neighbour.pid]
    assert burner and burner[0] > 10  # the neighbour is seen (one core, shared)
    assert r["busy"] == (r["other_cpu"] > BUSY_OTHER_CPU or r["steal_pct"] > 5.0)


@pytest.mark.slow
def test_busy_neighbour_gets_the_model_flagged(tmp_path, mirror, neighbour):
    clip = assets.dataset_files("dns3_synthetic", mirror=mirror, subdir="noisy")[0]
    t0 = time.perf_counter()
    timing, _ = timing_pass(["spectral-gating"], {}, store=tmp_path, clip=clip, parity_files=[], tries=2)
    spent = time.perf_counter() - t0
    assert list(timing.columns) == list(TIMING_COLUMNS)
    row = timing.iloc[0]
    assert row["busy"] and row["other_cpu"] > BUSY_OTHER_CPU and row["load1"] > 0 and row["other_top"]
    assert 0 < row["rtf"] < 1
    assert spent > RETRY_WAIT_S  # measured again while busy

"""Shared fixtures. The real weights and audio come from the mirror ``../shared`` (or $SETOOLKIT_MIRROR).

Kept importable under the second, older torch venv (numpy + torch + pytest only).
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if not os.environ.get("SETOOLKIT_MIRROR") and (ROOT.parent / "shared" / "weights").is_dir():
    os.environ["SETOOLKIT_MIRROR"] = str(ROOT.parent / "shared")
# Tests choose their mirror through $SETOOLKIT_MIRROR alone: no config file of the venv or the user applies.
os.environ["SETOOLKIT_CONFIG"] = ""
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def mirror() -> Path:
    m = os.environ.get("SETOOLKIT_MIRROR", "").split(os.pathsep)[0]
    if not m or not (Path(m) / "weights").is_dir():
        pytest.fail("the real weights/data mirror is missing: set SETOOLKIT_MIRROR or put shared/ beside the repo")
    return Path(m)


@pytest.fixture(scope="session")
def data(mirror) -> Path:
    return mirror / "data"


@pytest.fixture(scope="session")
def small_run(tmp_path_factory, mirror):
    """A real evaluation table: two fast models (two families) on 3 paired VoiceBank-DEMAND files and 2 real
    DNS3 recordings, with DNSMOS; shared by the report, widget and browser tests."""
    from setoolkit.evaluation import evaluate

    out = tmp_path_factory.mktemp("small_run")
    import pandas as pd

    paired = evaluate(["gtcrn", "rnnoise"], ["vbd16k"], out, limit=3, workers=1, progress=False)
    blind = evaluate(["gtcrn", "rnnoise"], ["dns3_blind"], out, limit=2, workers=1, progress=False)
    table = pd.concat([paired, blind], ignore_index=True)
    assert len(table) == 3 * 3 + 2 * 3
    return out, table

"""The admin's zip export: the test definition, every results file of the test, and the progress summary.

The archive holds ``test.json``, ``results/<test id>__<listener>.json`` (the files as the analysis reads
them: unzip and point :func:`..results.load_results` at ``results/``) and ``progress.json``. It never holds
``invitations.json`` (the tokens) or the audio.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

from ..build import TEST_FILE
from ..design import TestDefinition


def export_zip(
    test_dir: str | os.PathLike, results_dir: str | os.PathLike, test: TestDefinition, summary: dict
) -> bytes:
    """The zip archive (bytes) of the test in ``test_dir`` with its results in ``results_dir``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(Path(test_dir) / TEST_FILE, TEST_FILE)
        for path in sorted(Path(results_dir).glob(f"{test.id}__*.json")):
            z.writestr(f"results/{path.name}", path.read_bytes())  # one read: the old or the new file, whole
        z.writestr("progress.json", json.dumps(summary, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    return buf.getvalue()

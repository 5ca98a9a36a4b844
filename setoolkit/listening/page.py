"""The offline listening-test page: one HTML file, opened from disk with no server.

The page holds the listening component (``static/listening.js`` and ``listening.css``, the same code the
JupyterLab widget runs) and the blind view of the test (:func:`.design.public_test`: opaque stimulus ids and
file names, no system, seed or item) as JSON in a ``<script type="application/json">`` block, serialised by
:func:`script_json` so that no name can end the script or open a comment. :func:`page_data` is that JSON;
a server hands the same object to the same component. The audio stays in
``stimuli/`` next to the page, referenced by relative URLs (or, with ``embed_audio=True``, embedded as data
URLs so the page is a single file). Progress is kept in the browser's localStorage per test id and
listener; the page offers the results JSON as a download.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path

from .design import TestDefinition, public_test
from .files import atomic_write_bytes

STATIC = Path(__file__).resolve().parents[1] / "static"
PAGE_FILE = "listening_test.html"
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(obj) -> str:
    """JSON of ``obj`` safe inside an HTML ``<script>`` element: ``<``, ``>``, ``&``, U+2028 and U+2029 are
    written as ``\\uXXXX`` escapes (``JSON.parse`` gives the same value back)."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return "".join(_ESCAPES.get(c, c) for c in text)


def audio_urls(test: TestDefinition, test_dir: str | os.PathLike | None = None, *, embed: bool = False) -> dict:
    """``{relative file: URL}`` of every sound of ``test``: the relative path itself, or (``embed``) a
    ``data:audio/wav`` URL read from ``test_dir``."""
    files = [test.headphone_check] + [
        f for t in test.trials for f in ([t.reference] if t.reference else []) + [s.file for s in t.stimuli]
    ]
    if not embed:
        return {f: f for f in dict.fromkeys(files)}
    assert test_dir is not None, "embed=True reads the sounds from test_dir"
    return {
        f: "data:audio/wav;base64," + base64.b64encode((Path(test_dir) / f).read_bytes()).decode("ascii")
        for f in dict.fromkeys(files)
    }


def page_data(test: TestDefinition, audio: dict) -> dict:
    """What the listening component receives: ``{"test": public_test(test), "audio": {file: URL}}``; names no
    system and holds no seed or secret."""
    return {"test": public_test(test), "audio": audio}


def page_html(test: TestDefinition, audio: dict) -> str:
    """The complete offline page for ``test`` with sounds at ``audio`` (see :func:`audio_urls`)."""
    data = page_data(test, audio)
    css = (STATIC / "listening.css").read_text(encoding="utf-8")
    js = (STATIC / "listening.js").read_text(encoding="utf-8")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(test.title)}</title>
<style>
body {{ margin: 0; background: #f4f5f7; }}
main {{ max-width: 1000px; margin: 16px auto; padding: 0 12px; }}
{css}
</style></head>
<body><main><div id="sel-mount"></div>
<noscript>This listening test needs JavaScript.</noscript></main>
<script type="application/json" id="sel-data">{script_json(data)}</script>
<script type="module">
{js}
// Offline shim: the widget-model interface over the embedded data, progress kept in localStorage.
const data = JSON.parse(document.getElementById("sel-data").textContent);
render({{ model: offlineModel(data, window.localStorage), el: document.getElementById("sel-mount") }});
</script>
</body></html>
"""


def write_page(test: TestDefinition, test_dir: str | os.PathLike, *, embed_audio: bool = False) -> Path:
    """Write ``test_dir/listening_test.html`` atomically; returns its path."""
    path = Path(test_dir) / PAGE_FILE
    text = page_html(test, audio_urls(test, test_dir, embed=embed_audio))
    return atomic_write_bytes(path, text.encode("utf-8"))

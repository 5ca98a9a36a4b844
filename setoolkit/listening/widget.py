"""The listening test in JupyterLab: an anywidget over a test folder, each rating written to a results file.

The JavaScript is ``static/listening.js``, the same component as the offline page. The page sends the
listener's whole result after every trial (``result``); :class:`ListeningWidget` checks it against the
test definition and writes it atomically to ``results_dir`` (:func:`.results.save_result`). ``saved``
holds every listener's result already in ``results_dir``, so a reloaded page or a re-run cell resumes
where the listener stopped.

Examples
--------
>>> ListeningWidget("listening/mushra", "listening/results")     # displays in a notebook cell
"""

from __future__ import annotations

import os
from pathlib import Path

import anywidget
import traitlets

from .build import load_test
from .design import public_test
from .page import STATIC, audio_urls
from .results import load_results, save_result


class ListeningWidget(anywidget.AnyWidget):
    """Take the test in ``test_dir`` in a notebook; results go to ``results_dir`` (default ``test_dir/results``).

    ``test``: the blind view of the definition (:func:`.design.public_test`); ``audio``: its sounds as data
    URLs; ``saved``: ``{listener: result}``
    from ``results_dir``; ``result``: the current listener's result, written on every change;
    ``last_path``: the file written last.
    """

    _esm = STATIC / "listening.js"
    _css = STATIC / "listening.css"

    test = traitlets.Dict().tag(sync=True)
    audio = traitlets.Dict().tag(sync=True)
    saved = traitlets.Dict().tag(sync=True)
    result = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    offline = traitlets.Bool(False).tag(sync=True)

    def __init__(self, test_dir: str | os.PathLike, results_dir: str | os.PathLike | None = None, **kwargs) -> None:
        self.test_dir = Path(test_dir)
        self.definition = load_test(self.test_dir)
        self.results_dir = Path(results_dir) if results_dir is not None else self.test_dir / "results"
        self.last_path: Path | None = None
        saved = {r["listener"]: r for r in load_results(self.results_dir, self.definition)}
        super().__init__(
            test=public_test(self.definition),
            audio=audio_urls(self.definition, self.test_dir, embed=True),
            saved=saved,
            **kwargs,
        )

    @traitlets.observe("result")
    def _write(self, change) -> None:
        result = change["new"]
        if not result:
            return
        self.last_path = save_result(self.results_dir, result, self.definition)
        self.saved = {**self.saved, result["listener"]: result}

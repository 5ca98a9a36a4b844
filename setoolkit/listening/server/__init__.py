"""``setoolkit listen serve``: a listening test served to many listeners, every rating saved as it is given.

A test folder built by :func:`setoolkit.listening.build_test` is served by a Starlette application
(:func:`create_app`) under uvicorn (:func:`serve`). Each listener opens an invitation link with their own
token (:func:`invite`, ``setoolkit listen invite TEST_DIR --n 20``); the page is the same listening component
as the offline page and the JupyterLab widget, and each rating is written at once, atomically, into the
listener's results file in ``TEST_DIR/results`` (the files the analysis and the report read). A reload, or the
same link on another device, continues where the listener stopped. The admin page (``/admin#ADMIN_TOKEN``)
shows live progress and exports a zip. Needs ``setoolkit[listen-serve]`` (starlette, uvicorn). See
docs/listening_server.md for running it behind a reverse proxy.

Examples
--------
>>> inv, new = invite("listening/mushra", load_test("listening/mushra").id, n=20)
>>> serve("listening/mushra", host="127.0.0.1", port=8000)     # blocks; Ctrl-C stops it
"""

from ...errors import MissingExtraError

try:
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - the extra is installed in the test environment
    raise MissingExtraError(
        f"setoolkit listen serve needs starlette and uvicorn ({exc.name} is missing): "
        "pip install 'setoolkit[listen-serve]'"
    ) from exc

from .app import MAX_BODY, create_app
from .invitations import Invitations, invite, load_invitations
from .progress import progress
from .run import BackgroundServer, serve
from .store import RatingError, RatingStore, parse_rating

__all__ = [
    "MAX_BODY",
    "BackgroundServer",
    "Invitations",
    "RatingError",
    "RatingStore",
    "create_app",
    "invite",
    "load_invitations",
    "parse_rating",
    "progress",
    "serve",
]

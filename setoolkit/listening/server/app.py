"""The served listening test: a Starlette application over one test folder built by :func:`..build.build_test`.

Routes (every one relative to the root path the app is mounted under):

* ``GET /l/<token>/`` the listener's page; ``GET /l/<token>/<file>`` a sound of the test's manifest (and
  nothing else: the path must be one of the manifest's, exactly); ``GET /l/<token>/api/state`` the
  listener's own result (resume after a reload or on another device); ``POST /l/<token>/api/rating`` one
  rating, saved atomically before the answer (:class:`.store.RatingStore`). Once every trial is on disk both
  answers carry the listener's ``completion_code`` (:func:`..secret.completion_code`, for crowd platforms).
* ``GET /admin`` the admin page; with ``Authorization: Bearer <admin token>``: ``GET /admin/api/progress``
  (:func:`.progress.progress`), ``GET /admin/api/invitations``, ``POST /admin/api/invite`` (``{"n": 3}`` or
  ``{"names": [...]}``), ``GET /admin/api/export.zip`` (:func:`.export.export_zip`).
* ``GET /assets/<name>`` the page's code (:data:`.pages.ASSETS`).

An unknown listener token gets 404 (the same answer as a page that does not exist), a missing or wrong admin
token 401; tokens are compared in constant time (:mod:`.invitations`). Request bodies above ``max_body``
bytes get 413 (Starlette's body limit, with or without a Content-Length); a rating must be
``application/json`` (415 otherwise: no cross-site form can post one). Every response carries the
:data:`.pages.SECURITY_HEADERS`; pages and the API are ``no-store``.

Examples
--------
>>> app = create_app("listening/mushra")          # then uvicorn.run(app) or TestClient(app)
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..build import load_test
from ..page import STATIC
from ..secret import completion_code
from .export import export_zip
from .invitations import Invitations, ensure_invitations, invitations_path, invite, load_invitations
from .pages import ASSETS, HOME_HTML, SECURITY_HEADERS, admin_html, listener_html, manifest
from .progress import progress
from .store import RatingError, RatingStore

#: Largest request body accepted (bytes): one trial's ratings are well under 4 KiB.
MAX_BODY = 64 * 1024
NO_STORE = {"cache-control": "no-store"}


class SecurityHeaders:
    """ASGI middleware: :data:`.pages.SECURITY_HEADERS` on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class InvitationBook:
    """The invitations of the test folder, read again whenever ``invitations.json`` changes on disk (an
    invitation made by ``setoolkit listen invite`` while the server runs is valid at once)."""

    def __init__(self, test_dir: Path, test_id: str) -> None:
        self.test_dir, self.test_id = test_dir, test_id
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        ensure_invitations(test_dir, test_id)  # the admin token, written once
        self._inv = self.current()

    def current(self) -> Invitations:
        st = os.stat(invitations_path(self.test_dir))
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._inv, self._stamp = load_invitations(self.test_dir, self.test_id), stamp
            return self._inv


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={**NO_STORE, **(headers or {})})


async def _json_body(request: Request) -> dict:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, "send the rating as application/json")
    try:
        payload = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(400, f"the body is not JSON ({exc})") from exc
    if not isinstance(payload, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return payload


def create_app(
    test_dir: str | os.PathLike, *, results_dir: str | os.PathLike | None = None, max_body: int = MAX_BODY
) -> Starlette:
    """The web application serving the test in ``test_dir``; ratings go to ``results_dir`` (default
    ``test_dir/results``, where the analysis and the report look). Writes ``invitations.json`` with an admin
    token when the folder has none yet."""
    folder = Path(test_dir).resolve()
    test = load_test(folder)
    store = RatingStore(folder, test, results_dir)
    book = InvitationBook(folder, test.id)
    files = manifest(test)
    listener_page = listener_html(test).encode("utf-8")

    def listener_of(request: Request) -> str:
        listener = book.current().listener_for(request.path_params["token"])
        if listener is None:
            raise HTTPException(404, "no such invitation")
        return listener

    def require_admin(request: Request) -> Invitations:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        inv = book.current()
        if scheme.lower() != "bearer" or not inv.is_admin(token.strip()):
            raise HTTPException(401, "the admin API needs 'Authorization: Bearer <admin token>'")
        return inv

    def links(request: Request, inv: Invitations, only: list[str] | None = None) -> list[dict]:
        base = str(request.base_url).rstrip("/")
        ids = inv.listeners if only is None else only
        return [{"listener": i, "link": f"{base}/l/{inv.listeners[i]}/"} for i in ids]

    async def home(request: Request) -> Response:
        return HTMLResponse(HOME_HTML)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            raise HTTPException(404, "not found")
        return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"cache-control": "no-cache"})

    async def to_slash(request: Request) -> Response:
        listener_of(request)
        return RedirectResponse(f"{request.path_params['token']}/", status_code=308)

    async def page(request: Request) -> Response:
        listener_of(request)
        return Response(listener_page, media_type="text/html; charset=utf-8", headers=NO_STORE)

    async def sound(request: Request) -> Response:
        listener_of(request)
        rel = request.path_params["path"]
        if rel not in files:  # exactly a path of the manifest: no "..", no other file of the folder
            raise HTTPException(404, "not found")
        path = (folder / rel).resolve()
        if not path.is_relative_to(folder) or not path.is_file():  # a link out of the folder
            raise HTTPException(404, "not found")
        return FileResponse(path, media_type="audio/wav", headers={"cache-control": "private, max-age=3600"})

    def code_of(listener: str, result: dict | None) -> dict:
        """The listener's completion code, once every trial is on disk (a crowd platform's proof)."""
        return (
            {"completion_code": completion_code(folder, listener, test_id=test.id)} if result and result["done"] else {}
        )

    async def state(request: Request) -> Response:
        listener = listener_of(request)
        result = await run_in_threadpool(store.load, listener)
        return JSONResponse({"listener": listener, "result": result, **code_of(listener, result)}, headers=NO_STORE)

    async def rating(request: Request) -> Response:
        listener = listener_of(request)
        payload = await _json_body(request)
        try:
            result = await run_in_threadpool(store.record, listener, payload)
        except RatingError as exc:
            return _error(422, str(exc))
        body = {
            "saved": payload.get("trial", "headphone_check"),
            "trials": len(result["trials"]),
            "done": result["done"],
        }
        return JSONResponse({**body, **code_of(listener, result)}, headers=NO_STORE)

    async def admin_page(request: Request) -> Response:
        return HTMLResponse(admin_html(test), headers=NO_STORE)

    async def admin_progress(request: Request) -> Response:
        inv = require_admin(request)
        results, problems = await run_in_threadpool(store.readable_results)
        body = {**progress(test, list(inv.listeners), results), "problems": problems}
        return JSONResponse(body, headers=NO_STORE)

    async def admin_invitations(request: Request) -> Response:
        return JSONResponse({"invitations": links(request, require_admin(request))}, headers=NO_STORE)

    async def admin_invite(request: Request) -> Response:
        require_admin(request)
        body = await _json_body(request)
        n, names = body.get("n", 0), body.get("names", [])
        if not isinstance(n, int) or isinstance(n, bool) or not isinstance(names, list):
            return _error(422, "invite takes {'n': integer} and/or {'names': [listener ids]}")
        try:
            inv, new = await run_in_threadpool(invite, folder, test.id, n, names=[str(x) for x in names])
        except ValueError as exc:
            return _error(422, str(exc))
        return JSONResponse({"invitations": links(request, inv, new)}, headers=NO_STORE)

    async def admin_export(request: Request) -> Response:
        inv = require_admin(request)
        results, problems = await run_in_threadpool(store.readable_results)
        summary = {**progress(test, list(inv.listeners), results), "problems": problems}
        data = await run_in_threadpool(export_zip, folder, store.results_dir, test, summary)
        name = f"listening-{test.id[:12]}-results.zip"
        headers = {**NO_STORE, "content-disposition": f'attachment; filename="{name}"'}
        return Response(data, media_type="application/zip", headers=headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        extra = {"www-authenticate": "Bearer"} if exc.status_code == 401 else None
        return _error(exc.status_code, exc.detail, extra)

    routes = [
        Route("/", home),
        Route("/assets/{name}", asset),
        Route("/l/{token}", to_slash),
        Route("/l/{token}/", page),
        Route("/l/{token}/api/state", state),
        Route("/l/{token}/api/rating", rating, methods=["POST"]),
        Route("/l/{token}/{path:path}", sound),
        Route("/admin", admin_page),
        Route("/admin/api/progress", admin_progress),
        Route("/admin/api/invitations", admin_invitations),
        Route("/admin/api/invite", admin_invite, methods=["POST"]),
        Route("/admin/api/export.zip", admin_export),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error}, max_body_size=max_body)
    app.add_middleware(SecurityHeaders)
    app.state.test, app.state.store, app.state.invitations = test, store, book
    return app

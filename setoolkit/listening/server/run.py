"""Run the served test under uvicorn, and the ``setoolkit listen`` command line (``serve``, ``invite``).

One server process per test folder (uvicorn, one worker: the per-listener locks of :class:`.store.RatingStore`
also hold across processes where the system has ``flock``). The access log is off by default: the request
lines carry the listeners' tokens.

:class:`BackgroundServer` serves a test from a thread of the calling process (notebooks).

Examples
--------
$ setoolkit listen invite listening/mushra --n 20 --base-url https://lab.example.org/mushra
$ setoolkit listen serve listening/mushra --port 8000 --root-path /mushra
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from ..build import load_test
from .app import MAX_BODY, create_app
from .invitations import ensure_invitations, invite


def links(base_url: str, test_dir: str | os.PathLike, listeners: Sequence[str] | None = None) -> list[str]:
    """``"<listener> <base>/l/<token>/"`` lines for ``listeners`` (default all invited)."""
    inv = ensure_invitations(test_dir, load_test(test_dir).id)
    base = base_url.rstrip("/")
    return [f"{i}\t{base}/l/{inv.listeners[i]}/" for i in (inv.listeners if listeners is None else listeners)]


def admin_link(base_url: str, test_dir: str | os.PathLike) -> str:
    return f"{base_url.rstrip('/')}/admin#{ensure_invitations(test_dir, load_test(test_dir).id).admin}"


def serve(
    test_dir: str | os.PathLike,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    root_path: str = "",
    results_dir: str | os.PathLike | None = None,
    max_body: int = MAX_BODY,
    forwarded_allow_ips: str = "127.0.0.1",
    access_log: bool = False,
    log_level: str = "info",
) -> None:
    """Serve the test in ``test_dir`` on ``host:port`` until stopped (Ctrl-C / SIGTERM).

    ``root_path``: the path prefix a reverse proxy serves it under (``/mushra``); ``forwarded_allow_ips``:
    the proxies whose ``X-Forwarded-Proto/For`` headers are believed (links then use the public scheme).
    """
    app = create_app(test_dir, results_dir=results_dir, max_body=max_body)
    base = f"http://{host}:{port}{root_path}"
    print(f"setoolkit listen: serving {Path(test_dir)} ({app.state.test.kind}, {len(app.state.test.trials)} trials)")
    print(f"  admin page: {admin_link(base, test_dir)}")
    print(f"  invitations: {len(app.state.invitations.current().listeners)} (setoolkit listen invite adds more)")
    sys.stdout.flush()
    uvicorn.run(
        app,
        host=host,
        port=port,
        root_path=root_path,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        access_log=access_log,
        log_level=log_level,
        timeout_graceful_shutdown=5,
    )


class BackgroundServer:
    """The test in ``test_dir`` served from a thread of this process (a notebook, a demo), on ``port`` (0: a
    free one); ``url`` is its address, ``admin_token`` the admin's; :meth:`stop` (or leaving a ``with``
    block) shuts it down. For a real test run ``setoolkit listen serve`` in its own process instead.

    >>> with BackgroundServer("listening/mushra") as server:
    ...     print(server.url)                       # http://127.0.0.1:41237
    """

    def __init__(
        self,
        test_dir: str | os.PathLike,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        results_dir: str | os.PathLike | None = None,
        timeout: float = 30.0,
    ) -> None:
        app = create_app(test_dir, results_dir=results_dir)
        self.admin_token = app.state.invitations.current().admin
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="setoolkit-listen-serve", daemon=True)
        self._thread.start()
        end = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > end:
                raise RuntimeError(f"the listening-test server for {test_dir} did not start on {host}:{port}")
            time.sleep(0.02)
        bound = self._server.servers[0].sockets[0].getsockname()
        self.url = f"http://{host}:{bound[1]}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="setoolkit listen", description="serve a listening test to invited listeners")
    sub = p.add_subparsers(dest="action", required=True)
    s = sub.add_parser("serve", help="serve TEST_DIR (built by build_test) to the invited listeners")
    s.add_argument("test_dir")
    s.add_argument("--host", default="127.0.0.1", help="interface (0.0.0.0: every interface)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--root-path", default="", help="path prefix behind a reverse proxy, e.g. /mushra")
    s.add_argument("--results", help="results folder (default TEST_DIR/results)")
    s.add_argument("--max-body", type=int, default=MAX_BODY, help="largest request body in bytes")
    s.add_argument("--forwarded-allow-ips", default="127.0.0.1", help="proxies whose X-Forwarded-* are trusted")
    s.add_argument("--access-log", action="store_true", help="log every request (the lines carry tokens)")
    s = sub.add_parser("invite", help="add listeners to TEST_DIR and print their links")
    s.add_argument("test_dir")
    s.add_argument("--n", type=int, default=0, help="number of new listeners (ids L01, L02...)")
    s.add_argument("--names", default="", help="comma-separated listener ids to invite")
    s.add_argument("--base-url", default="http://127.0.0.1:8000", help="public URL of the server (with root path)")
    s = sub.add_parser("links", help="print every invitation link and the admin link of TEST_DIR")
    s.add_argument("test_dir")
    s.add_argument("--base-url", default="http://127.0.0.1:8000")
    return p


def main(argv: Sequence[str]) -> int:
    """``setoolkit listen ACTION ...``; returns the exit code."""
    args = build_parser().parse_args(list(argv))
    if args.action == "serve":
        serve(args.test_dir, host=args.host, port=args.port, root_path=args.root_path, results_dir=args.results,
              max_body=args.max_body, forwarded_allow_ips=args.forwarded_allow_ips,
              access_log=args.access_log)  # fmt: skip
        return 0
    if args.action == "invite":
        names = [n.strip() for n in args.names.split(",") if n.strip()]
        if not names and args.n <= 0:
            raise SystemExit("setoolkit listen invite: give --n N and/or --names a,b")
        try:
            _, new = invite(args.test_dir, load_test(args.test_dir).id, args.n, names=names)
        except ValueError as exc:
            raise SystemExit(f"setoolkit listen invite: {exc}") from exc
        print("\n".join(links(args.base_url, args.test_dir, new)))
        return 0
    print("\n".join(links(args.base_url, args.test_dir)))
    print(f"admin\t{admin_link(args.base_url, args.test_dir)}")
    return 0

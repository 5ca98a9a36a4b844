"""The HTML of the served test: the listener's page (the listening component) and the admin page.

Both pages are shells: the listener's holds the test data as JSON in a ``<script type="application/json">``
block (:func:`..page.script_json`) and loads ``static/listening_server.js`` as a module, which imports the
same component as the offline page and the JupyterLab widget (``static/listening.js``) and gives it a model
that saves every rating on the server. Every URL in the pages is relative (``api/state``, ``stimuli/...``,
``../../assets/...``), so the pages work unchanged under any root path of a reverse proxy. No inline script
runs (the Content-Security-Policy allows scripts from the server only). The admin page reads the admin
token from the URL's fragment (``/admin#TOKEN``), which browsers never send to a server or a proxy log.
"""

from __future__ import annotations

import html

from ..design import TestDefinition
from ..page import audio_urls, page_data, script_json

#: The static files the server hands out (``/assets/<name>``); nothing else of ``setoolkit/static``.
ASSETS = {
    "listening.js": "text/javascript; charset=utf-8",
    "listening.css": "text/css; charset=utf-8",
    "listening_server.js": "text/javascript; charset=utf-8",
}
#: Sent with every response: scripts and media from this server only, no framing, no referrer.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; media-src 'self' blob: data:; "
        "img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
_STYLE = """body { margin: 0; background: #f4f5f7; font-family: system-ui, sans-serif; }
main { max-width: 1000px; margin: 16px auto; padding: 0 12px; }
.sel-save-status { position: fixed; right: 12px; bottom: 10px; padding: 4px 10px; border-radius: 4px;
  font: 13px system-ui, sans-serif; background: #e8f5e9; color: #1b5e20; }
.sel-save-status[data-state=saving] { background: #fff8e1; color: #7a5a00; }
.sel-save-status[data-state=retrying], .sel-save-status[data-state=error] { background: #fdecea; color: #8a1c1c; }
.sel-admin table { border-collapse: collapse; width: 100%; background: #fff; font-size: 14px; }
.sel-admin th, .sel-admin td { border-bottom: 1px solid #dde; padding: 4px 8px; text-align: left; }
.sel-admin .sel-summary span { display: inline-block; margin-right: 18px; }
.sel-admin .sel-links { font: 12px monospace; white-space: pre; overflow-x: auto; background: #fff; padding: 6px; }
"""


def manifest(test: TestDefinition) -> frozenset[str]:
    """The relative paths of every sound the test plays: the only files of the test folder ever served."""
    return frozenset(audio_urls(test))


def listener_html(test: TestDefinition) -> str:
    """The listener's page, served at ``<root>/l/<token>/``."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(test.title)}</title>
<link rel="stylesheet" href="../../assets/listening.css">
<style>{_STYLE}</style></head>
<body data-sel-page="listener"><main><div id="sel-mount"></div>
<noscript>This listening test needs JavaScript.</noscript></main>
<div class="sel-save-status" id="sel-save-status" role="status" data-state="idle"></div>
<script type="application/json" id="sel-data">{script_json(page_data(test, audio_urls(test)))}</script>
<script type="module" src="../../assets/listening_server.js"></script>
</body></html>
"""


def admin_html(test: TestDefinition) -> str:
    """The admin page, served at ``<root>/admin``; it holds no secret and shows nothing until the admin token
    in its URL fragment opens the admin API."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Admin: {html.escape(test.title)}</title>
<style>{_STYLE}</style></head>
<body data-sel-page="admin"><main class="sel-admin" id="sel-admin">
<h2>{html.escape(test.title)}: progress</h2>
<noscript>The admin page needs JavaScript.</noscript></main>
<script type="module" src="assets/listening_server.js"></script>
</body></html>
"""


HOME_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Listening test</title></head>
<body><p>This server runs a listening test. Open the link of your invitation.</p></body></html>
"""

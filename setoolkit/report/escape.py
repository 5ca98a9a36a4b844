"""Names from the file system (sets, files, models) written into reports: escaped for each place they land.

Set folders, file names and model specs are chosen by whoever made the data, so a report treats them as text,
never as markup: :func:`md_escape` for Markdown (``report.md`` rendered by a CommonMark viewer), Jinja's
autoescape for HTML text and attributes, :func:`script_json` for data embedded in a ``<script>`` element and
:func:`url_path` for relative links. Shared by the daily report and the listening-test page.

Examples
--------
>>> md_escape("x<img src=x onerror=alert(1)>|*a*")
'x&lt;img src=x onerror=alert(1)&gt;\\\\|\\\\*a\\\\*'
>>> script_json({"file": "</script><!--"})
'{"file": "\\\\u003c/script\\\\u003e\\\\u003c!--"}'
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any
from urllib.parse import quote

#: Characters with a Markdown meaning inside a line or a table cell, backslash-escaped by :func:`md_escape`.
MD_SPECIALS = "\\`*_[]|~"
_MD_SPECIAL = re.compile("([" + re.escape(MD_SPECIALS) + "])")
#: What :func:`script_json` replaces in the JSON text: HTML's markup characters and JavaScript's line separators.
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def md_escape(text: Any) -> str:
    """``text`` as literal Markdown text (a table cell, a list item, a heading): ``<``, ``>``, ``&`` as HTML
    entities (no raw HTML reaches a CommonMark viewer), the Markdown specials (:data:`MD_SPECIALS`: emphasis,
    code, links, table pipes; ``_`` only where it could start or end emphasis, not inside a word) backslash-escaped,
    line breaks as spaces (a cell or an item stays one line)."""
    s = html.escape(str(text), quote=False)
    s = re.sub(r"[\r\n\u2028\u2029]+", " ", s)
    s = _MD_SPECIAL.sub(r"\\\1", s)
    # an underscore inside a word (delta_si_sdr) can open no emphasis in CommonMark: left readable
    return re.sub(r"(?<=[A-Za-z0-9])\\_(?=[A-Za-z0-9])", "_", s)


def script_json(obj: Any) -> str:
    """``obj`` as JSON safe inside an HTML ``<script>`` element: ``<``, ``>``, ``&``, U+2028 and U+2029 written
    as ``\\u003c`` etc., so no string in the data can close the element, open a comment (``<!--``) or end a
    JavaScript line; ``JSON.parse`` of the element's text gives ``obj`` back unchanged (NaN and infinities, which
    JSON cannot hold, as ``null``)."""
    text = json.dumps(_finite(obj), ensure_ascii=False, allow_nan=False)
    return re.sub("[<>&\u2028\u2029]", lambda m: _SCRIPT_UNSAFE[m.group()], text)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def url_path(path: str) -> str:
    """A relative path (``/``-separated) as a URL: every character outside the unreserved set and ``/``
    percent-encoded, so ``#``, ``?``, ``%``, quotes or spaces in a file name keep the link pointing at the file."""
    return quote(str(path).replace("\\", "/"), safe="/")

"""The two writers of the daily report: ``report.html`` (the page skeleton ``templates/report.html.j2`` around
each section's fragment) and ``report.md``, both reading the built sections in registry order.

A built section is ``(Section, view)`` (:mod:`setoolkit.report.sections`); sections whose ``build`` returned
``None`` are not passed in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ..metrics import catalog
from .escape import md_escape, script_json, url_path
from .sections import Section

STATIC = Path(__file__).parents[1] / "static"
TEMPLATES = Path(__file__).parents[1] / "templates"

Built = list[tuple[Section, Any]]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )


def write_html(path: Path, title: str, built: Built) -> Path:
    """Render every section's fragment with its view and write the page to ``path``."""
    env = _environment()
    helpers = {"url": url_path, "json": script_json, "label": catalog.label}
    parts = [
        {"id": s.id, "nav": s.nav, "html": Markup(env.from_string(s.html).render(view=view, **helpers))}
        for s, view in built
    ]
    page = env.get_template("report.html.j2").render(
        title=title,
        parts=parts,
        player_css=(STATIC / "player.css").read_text(),
        report_css=(STATIC / "report.css").read_text(),
        player_js=(STATIC / "player.js").read_text(),
    )
    path.write_text(page)
    return path


def write_markdown(path: Path, title: str, built: Built) -> Path:
    """The title, then each section's Markdown lines (sections without ``markdown`` are HTML only)."""
    md = [f"# {md_escape(title)}", ""]
    for s, view in built:
        if s.markdown is not None:
            md += s.markdown(view)
    path.write_text("\n".join(md) + "\n")
    return path

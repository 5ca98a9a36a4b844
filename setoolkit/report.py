"""The comparison report: Markdown + HTML pages built from an evaluation table and its figures."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Sequence


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if v != v else f"{v:.3f}"
    return str(v)


def markdown_table(df) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def write_report(out_dir: str | Path, *, title: str, summary, figures: Sequence[Path], notes: Sequence[str] = (),
                 audio_links: Sequence[tuple[str, Path]] = ()) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` in ``out_dir``; figure and audio paths are linked relatively."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    def rel(p: Path) -> str:
        import os

        return os.path.relpath(Path(p).resolve(), out_dir.resolve())

    md = [f"# {title}", "", *[f"- {n}" for n in notes], "", "## Summary (means per dataset and model)", "",
          markdown_table(summary), "", "## Figures", ""]
    md += [f"![{Path(f).stem}]({rel(f)})" for f in figures]
    if audio_links:
        md += ["", "## Audio", ""] + [f"- [{label}]({rel(p)})" for label, p in audio_links]
    md_path = out_dir / "report.md"
    md_path.write_text("\n".join(md) + "\n")

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in summary.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                   for row in summary.itertuples(index=False))
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}img{max-width:100%}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>",
             f"<h2>Summary</h2><table><tr>{head}</tr>{body}</table><h2>Figures</h2>"]
    parts += [f"<p><img src='{html.escape(rel(f))}' alt='{html.escape(Path(f).stem)}'></p>" for f in figures]
    if audio_links:
        parts.append("<h2>Audio</h2><ul>" + "".join(
            f"<li>{html.escape(label)}: <audio controls preload='none' src='{html.escape(rel(p))}'></audio></li>"
            for label, p in audio_links) + "</ul>")
    parts.append("</body></html>")
    html_path = out_dir / "report.html"
    html_path.write_text("\n".join(parts))
    return md_path, html_path

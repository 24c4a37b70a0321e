"""The report as a list of sections, rendered twice: Markdown (images as files beside it) and one self-contained
HTML page (images embedded as base64 PNG) with a table of contents linking every section. Both come from the same
sections, so the page and the Markdown never disagree."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field

import pandas as pd

from reports.render.speedup_heatmap import Heatmap, key_colours


@dataclass(frozen=True)
class Image:
    """A PNG figure: `file` (its name beside summary.md), `caption` (also its alt text) and its bytes."""

    file: str
    caption: str
    png: bytes = field(repr=False)


@dataclass
class Section:
    """A heading (level 1-3), paragraphs, warnings, heatmaps, captioned tables, images and a bullet list, in that
    order."""

    title: str
    level: int = 2
    paragraphs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    heatmaps: list[Heatmap] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    anchor: str = ""
    first_screen: bool = False  # shown before the contents (the answer first: the report's at-a-glance figures)


def with_anchors(parts: list[Section]) -> list[Section]:
    """Gives every section a unique anchor made from its title (a repeated title gets -2, -3...)."""
    seen: dict[str, int] = {}
    for part in parts:
        base = re.sub(r"[^a-z0-9]+", "-", part.title.lower()).strip("-") or "section"
        seen[base] = seen.get(base, 0) + 1
        part.anchor = base if seen[base] == 1 else f"{base}-{seen[base]}"
    return parts


def _contents(parts: list[Section]) -> list[Section]:
    return [p for p in parts if p.level in (2, 3)]


def _contents_after(parts: list[Section]) -> int:
    """The index of the part the contents follow: the header, or the first-screen sections right after it."""
    index = 0
    while index + 1 < len(parts) and parts[index + 1].first_screen:
        index += 1
    return index


def to_markdown(parts: list[Section]) -> str:
    lines: list[str] = []
    for index, part in enumerate(parts):
        lines.append(f'<a id="{part.anchor}"></a>\n\n{"#" * part.level} {part.title}\n')
        lines += [f"{p}\n" for p in part.paragraphs if p]
        lines += [f"> **Warning:** {w}\n" for w in part.warnings]
        for heatmap in part.heatmaps:
            lines += [f"*{heatmap.caption}*\n", heatmap.text.rename(columns=heatmap.header).to_markdown() + "\n"]
        for caption, table in part.tables:
            lines += ([f"*{caption}*\n"] if caption else []) + [table.to_markdown() + "\n"]
        lines += [f"![{image.caption}]({image.file})\n" for image in part.images]
        lines += [f"- {b}" for b in part.bullets] + ([""] if part.bullets else [])
        if index == _contents_after(parts):
            lines.append("Contents:\n")
            lines += [f"{'  ' * (p.level - 2)}- [{p.title}](#{p.anchor})" for p in _contents(parts)] + [""]
    return "\n".join(lines)


STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:110em}table{border-collapse:collapse;font-size:0.85em}"
    "td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
    ".scroll{overflow-x:auto}figure{margin:1em 0}img{max-width:100%}"
    "figcaption{font-size:0.85em;color:#555}.warning{background:#fff3cd;border-left:4px solid #e0a800;"
    "padding:0.5em 1em}nav ul{columns:2}caption{caption-side:top;text-align:left;font-style:italic}"
    "table.heatmap td{text-align:center;min-width:3.2em;border:1px solid #fff}table.heatmap tbody th{text-align:right}"
    "table.heatmap th.sim{border-top:6px solid #f28e2b}table.heatmap th.real{border-top:6px solid #bab0ac}"
    "table.heatmap td.sim{background-image:repeating-linear-gradient(45deg,rgba(0,0,0,.13) 0 1px,transparent 1px 6px)}"
    "table.heatmap td.none{background-color:#eee;color:#777}.key span{display:inline-block;padding:2px 8px}"
)


def _cell(text: str, colour: str, simulated: bool) -> str:
    classes = " ".join(c for c in ("sim" if simulated else "", "" if colour else "none") if c)
    strong = text.startswith("**")
    body = html.escape(text.strip("*"))
    ink = ";color:#fff" if colour and _dark(colour) else ""
    style = f' style="background-color:{colour}{ink}"' if colour else ""
    return f'<td class="{classes}"{style}>{"<strong>" + body + "</strong>" if strong else body}</td>'


def _dark(colour: str) -> bool:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * red + 0.587 * green + 0.114 * blue < 110  # perceived brightness: light text on dark cells


def _heatmap_html(heatmap: Heatmap) -> str:
    head = "".join(
        f'<th class="{"sim" if heatmap.simulated.get(d) else "real"}">{html.escape(heatmap.header(d))}</th>'
        for d in heatmap.text.columns
    )
    flags = [bool(heatmap.simulated.get(d)) for d in heatmap.text.columns]
    rows = "".join(
        f"<tr><th>{html.escape(str(technique))}</th>"
        + "".join(_cell(t, c, f) for t, c, f in zip(texts, colours, flags))
        + "</tr>"
        for technique, texts, colours in zip(heatmap.text.index, heatmap.text.to_numpy(), heatmap.colour.to_numpy())
    )
    return (
        f'<div class="scroll"><table class="heatmap"><caption>{html.escape(heatmap.caption)}</caption>'
        f"<thead><tr><th>technique</th>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _key_html() -> str:
    swatches = "".join(
        f'<span style="background-color:{c}{";color:#fff" if _dark(c) else ""}">{label}</span>'
        for label, c in key_colours()
    )
    return f'<p class="key">colour key: {swatches} <span class="none" style="background:#eee">did not run</span></p>'


def _table_html(caption: str, table: pd.DataFrame) -> str:
    body = table.rename_axis(index=None).to_html(border=0, escape=True)
    if caption:
        body = body.replace(">\n  <thead>", f">\n  <caption>{html.escape(caption)}</caption>\n  <thead>", 1)
    return f'<div class="scroll">{body}</div>'


def to_html(parts: list[Section]) -> str:
    body = []
    for index, part in enumerate(parts):
        body.append(f'<h{part.level} id="{part.anchor}">{html.escape(part.title)}</h{part.level}>')
        body += [f"<p>{html.escape(p)}</p>" for p in part.paragraphs if p]
        body += [f'<p class="warning"><strong>Warning:</strong> {html.escape(w)}</p>' for w in part.warnings]
        body += ([_key_html()] if part.heatmaps else []) + [_heatmap_html(h) for h in part.heatmaps]
        body += [_table_html(caption, table) for caption, table in part.tables]
        for image in part.images:
            data = base64.b64encode(image.png).decode()
            body.append(
                f'<figure><img alt="{html.escape(image.caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(image.caption)}</figcaption></figure>"
            )
        if part.bullets:
            body.append("<ul>" + "".join(f"<li>{html.escape(b)}</li>" for b in part.bullets) + "</ul>")
        if index == _contents_after(parts):
            items = "".join(
                f'<li style="margin-left:{(p.level - 2) * 1.5}em"><a href="#{p.anchor}">{html.escape(p.title)}</a></li>'
                for p in _contents(parts)
            )
            body.append(f'<nav id="contents"><h2>Contents</h2><ul>{items}</ul></nav>')
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>accelbench report</title><style>{STYLE}</style>'
        f"</head><body>{''.join(body)}</body></html>"
    )

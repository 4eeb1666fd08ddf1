"""Make SVG text safe to inline several times in one HTML page.

Matplotlib names clip paths, markers and glyphs by ids; two figures inlined in one page could
reuse an id, and `url(#id)` resolves to the first element in the document with that id. Each
figure's ids are therefore prefixed with a per-figure tag. The XML prolog, DOCTYPE and metadata are dropped
(they are not allowed inside HTML), and the fixed width/height becomes a max-width (the figure shrinks with the page but never grows).
"""

from __future__ import annotations

import re

_ID = re.compile(r'\bid="([^"]+)"')
_PROLOG = re.compile(r"^\s*<\?xml[^>]*\?>\s*(<!DOCTYPE[^>]*>\s*)?", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_SIZE = re.compile(r'(<svg\b[^>]*?)\s(width|height)="([^"]*)"')


def inline_svg(svg: str, tag: str, *, label: str = "") -> str:
    """`svg` ready to inline: ids prefixed with `tag`, no prolog, responsive size, an aria-label.

    `label` must be plain text without quotes or markup (it comes from the report's own wording).
    """
    svg = _METADATA.sub("", _PROLOG.sub("", svg))
    size = {}
    for _ in range(2):  # width and height, whichever order they appear in
        m = _SIZE.search(svg)
        if m:
            size[m.group(2)] = m.group(3)
            svg = svg[: m.start()] + m.group(1) + svg[m.end():]
    ids = set(_ID.findall(svg))
    if ids:
        alternation = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        svg = re.sub(rf'\bid="({alternation})"', lambda m: f'id="{tag}-{m.group(1)}"', svg)
        svg = re.sub(rf'#({alternation})(?=[")\s])', lambda m: f"#{tag}-{m.group(1)}", svg)
    attrs = ' role="img"' + (f' aria-label="{label}"' if label else "")
    if "width" in size:  # shrink with the page, never grow past the drawn size (fonts stay at their size)
        attrs += f' style="max-width: {size["width"]}"'

    return svg.replace("<svg", "<svg" + attrs, 1)

"""Many small text labels on a figure, drawn fast: placed through the axes' own transforms, rasterised by Pillow
into the saved PNG.

Why: matplotlib lays out and rasterises every Text artist on its own, which dominates a figure with thousands of
names (Pareto fronts of a 10,000-case report); Pillow draws the same glyphs (matplotlib's own DejaVu Sans) without
that layout. The plot functions take an optional `LabelOverlay`; without one they use `ax.text`, so they work as
ordinary matplotlib code anywhere.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
from matplotlib.font_manager import FontProperties, findfont
from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class Label:
    """Text at data coordinates (`x`, `y`) of `ax`, moved by `offset_pt` (right, up) in points; `anchor` is
    Pillow's (e.g. "mm" centred, "ls" left at the baseline)."""

    ax: plt.Axes
    x: float
    y: float
    text: str
    size_pt: float = 6.5
    bold: bool = False
    colour: str = "black"
    offset_pt: tuple[float, float] = (0.0, 0.0)
    anchor: str = "mm"


@functools.lru_cache(maxsize=16)
def _font(size_px: int, bold: bool) -> ImageFont.FreeTypeFont:
    path = findfont(FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal"))
    return ImageFont.truetype(path, size_px)


@dataclass
class LabelOverlay:
    """Labels collected while a figure is drawn, burnt into its PNG by `burn`."""

    labels: list[Label] = field(default_factory=list)

    def add(self, label: Label) -> None:
        self.labels.append(label)

    def draw_with_matplotlib(self) -> None:
        """The same labels as ordinary Text artists (for a figure shown or saved some other way)."""
        for label in self.labels:
            label.ax.annotate(
                label.text,
                (label.x, label.y),
                xytext=label.offset_pt,
                textcoords="offset points",
                fontsize=label.size_pt,
                color=label.colour,
                fontweight="bold" if label.bold else None,
                ha={"l": "left", "m": "center", "r": "right"}[label.anchor[0]],
                va={"m": "center", "s": "baseline", "t": "top", "b": "bottom"}[label.anchor[1]],
            )
        self.labels = []

    def burn(self, figure: plt.Figure, image: Image.Image) -> None:
        """Draws every label into `image`: the figure rendered whole at its current dpi (figure.dpi)."""
        draw = ImageDraw.Draw(image)
        height = image.height
        scale = figure.dpi / 72.0
        for label in self.labels:
            x_px, y_px = label.ax.transData.transform((label.x, label.y))
            x_px += label.offset_pt[0] * scale
            y_px += label.offset_pt[1] * scale
            font = _font(max(1, round(label.size_pt * scale)), label.bold)
            draw.text((x_px, height - y_px), label.text, fill=label.colour, font=font, anchor=label.anchor)

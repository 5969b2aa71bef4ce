"""A map of stored vectors drawn as a PNG scatter: points coloured by group, a legend beside the plot, and
optionally small images at their points. `embedkit.drawing.map_page` draws the same map as an HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
THUMBNAIL_ON_PNG = 44
"""Thumbnails on a PNG map are 44 px wide."""
DPI = 100
FAINT = (0.72, 0.72, 0.72)
FAINT_GROUPS = ("noise", "(none)")
"""Groups drawn grey and underneath: HDBSCAN's noise, and points without the value coloured by."""
MAX_LEGEND = 20
"""More groups than this get no legend (it would be longer than the plot), but a note."""


class MapPoints(Protocol):
    """What a map drawing reads: `embedkit.analysis.maps.VectorMap` has it."""

    @property
    def collection(self) -> str: ...
    @property
    def vector_name(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def params(self) -> dict[str, Any]: ...
    @property
    def colour(self) -> str: ...
    @property
    def ids(self) -> list[str]: ...
    @property
    def xy(self) -> np.ndarray: ...
    @property
    def groups(self) -> list[str]: ...
    @property
    def group_of(self) -> np.ndarray: ...
    @property
    def labels(self) -> list[str]: ...
    @property
    def thumbnails(self) -> dict[int, Image.Image]: ...


def title(vector_map: MapPoints) -> str:
    """The heading of a map, on its PNG and on its HTML page."""
    return (f"{vector_map.collection} / {vector_map.vector_name}: {METHOD_NAMES[vector_map.method]} of "
            f"{len(vector_map.ids):,} points, coloured by {vector_map.colour}")


def group_colours(groups: list[str]) -> list[tuple[float, float, float]]:
    """A distinct colour for each group (tab10, tab20, then hues of turbo spread by the golden ratio); grey for
    noise and for points without a value."""
    from matplotlib import colormaps

    count = sum(name not in FAINT_GROUPS for name in groups)  # grey ones take no colour of the palette
    if count <= 10:
        colours = [colormaps["tab10"](i)[:3] for i in range(count)]
    elif count <= 20:
        colours = [colormaps["tab20"](i)[:3] for i in range(count)]
    else:
        colours = [colormaps["turbo"]((i * 0.618034) % 1)[:3] for i in range(count)]  # neighbours far apart
    coloured = iter(colours)
    return [FAINT if name in FAINT_GROUPS else next(coloured) for name in groups]


def spread_out(xy: np.ndarray, candidates: list[int], count: int, gap: float) -> list[int]:
    """Up to `count` of `candidates` at least `gap` apart (in xy units), taken in the order given."""
    chosen: list[int] = []
    for position in candidates:
        if len(chosen) >= count:
            break
        if not chosen or np.min(np.linalg.norm(xy[chosen] - xy[position], axis=1)) >= gap:
            chosen.append(position)
    return chosen


def save_png(vector_map: MapPoints, path: str | Path, *, width: int = 1200, height: int = 900,
             thumbnails: int = 0) -> Path:
    """Draw the map (see `draw_map`) into a `width` x `height` px PNG."""
    path = Path(path)
    draw_map(vector_map, width=width, height=height, thumbnails=thumbnails).savefig(path, dpi=DPI, format="png")
    return path


def draw_map(vector_map: MapPoints, *, width: int = 1200, height: int = 900, thumbnails: int = 0) -> Any:
    """The map as a matplotlib Figure of `width` x `height` px: points coloured by group, a legend beside the plot
    (a note instead for more than MAX_LEGEND groups), and up to `thumbnails` of its images at their points."""
    from matplotlib.figure import Figure  # drawn without pyplot: no window, no global state
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    xy, groups, n = vector_map.xy, vector_map.groups, len(vector_map.ids)
    colours = group_colours(groups)
    legend = len(groups) <= MAX_LEGEND
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    axes = figure.add_axes((0.03, 0.05, 0.72 if legend else 0.94, 0.87))
    size = float(np.clip(4000 / max(n, 1), 2, 40))
    # one scatter in a random order, so that no group is always drawn over the others; faint groups underneath
    order = np.random.default_rng(0).permutation(n)
    faint = np.isin(vector_map.group_of[order], [i for i, name in enumerate(groups) if name in FAINT_GROUPS])
    order = np.concatenate([order[faint], order[~faint]])
    axes.scatter(xy[order, 0], xy[order, 1], s=size, c=np.asarray(colours)[vector_map.group_of[order]], alpha=0.75,
                 linewidths=0)
    if vector_map.method == "pca" and "explained_variance" in vector_map.params:
        first, second = vector_map.params["explained_variance"]
        axes.set_xlabel(f"PC1 ({first:.0%} of the variance)")
        axes.set_ylabel(f"PC2 ({second:.0%})")
    axes.set_xticks([])
    axes.set_yticks([])
    figure.suptitle(title(vector_map), fontsize=12, x=0.03, ha="left")
    if legend:
        from matplotlib.lines import Line2D

        counts = np.bincount(vector_map.group_of, minlength=len(groups))
        handles = [Line2D([], [], marker="o", linestyle="", color=colour, markersize=6, label=f"{name} ({count:,})")
                   for name, colour, count in zip(groups, colours, counts)]
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                    title=vector_map.colour, fontsize=9)
    else:
        axes.set_title(f"{len(groups)} groups: too many for a legend; the HTML map (--html) names each point",
                       fontsize=9, loc="left")
    if thumbnails and vector_map.thumbnails:
        span = float(np.max(np.ptp(xy, axis=0))) or 1.0
        for position in spread_out(xy, list(vector_map.thumbnails), thumbnails, gap=span * 0.07):
            image = vector_map.thumbnails[position]
            colour = colours[int(vector_map.group_of[position])]
            zoom = THUMBNAIL_ON_PNG * 72 / DPI / max(image.size)  # OffsetImage sizes in points
            box = OffsetImage(np.asarray(image), zoom=zoom, interpolation="nearest")
            axes.add_artist(AnnotationBbox(box, tuple(xy[position]), frameon=True, pad=0.1, zorder=3,
                                           bboxprops={"edgecolor": colour, "linewidth": 1.5}))
    return figure

"""Grids of arrays for chapters 3-5: feature maps, filters, and tables of numbers.

Generic drawing helpers: any sequence of ``(H, W)`` arrays as a grid of
images (:func:`show_maps`, :func:`show_filters`), and one ``(H, W)`` array as
a table of its numbers (:func:`draw_numbers`). matplotlib is imported here,
never by ``import cnnkit``: import this module explicitly, as
``from cnnkit.viz import maps``.
"""

from __future__ import annotations

import numpy as np

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

__all__ = ["show_maps", "show_filters", "draw_numbers"]


def show_maps(maps, titles=None, ncols=4, cmap="gray", size=2.2, symmetric=False, suptitle=None,
              clip_percentile=None):
    """A grid of 2-D arrays (feature maps, images or filters) with titles; returns the figure.

    ``maps`` is a sequence of ``(H, W)`` arrays (or an array ``(K, H, W)``).
    Each panel has its own colour scale; ``symmetric=True`` centres it on 0
    (for filters and signed responses, drawn with a diverging colour map);
    ``clip_percentile`` (e.g. 99.5) ends each panel's scale at that
    percentile of its values, so that a few very strong responses do not
    leave the rest of a feature map black.
    """
    maps = [np.asarray(m) for m in maps]
    nrows = -(-len(maps) // ncols)
    ncols = min(ncols, len(maps))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if suptitle else 0)),
                             squeeze=False, layout="constrained")
    for index, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if index >= len(maps):
            ax.set_visible(False)
            continue
        m = maps[index]
        if symmetric:
            limit = float(np.max(np.abs(m))) or 1.0
            ax.imshow(m, cmap=cmap, vmin=-limit, vmax=limit)
        elif clip_percentile is not None:
            ax.imshow(m, cmap=cmap, vmin=float(m.min()), vmax=float(np.percentile(m, clip_percentile)))
        else:
            ax.imshow(m, cmap=cmap)
        if titles is not None:
            ax.set_title(titles[index], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def show_filters(kernels, titles=None, ncols=8, size=1.2, suptitle=None):
    """Filters ``(K, KH, KW)`` on a blue-white-red scale centred on 0; returns the figure."""
    return show_maps(kernels, titles, ncols=ncols, cmap="RdBu_r", size=size, symmetric=True, suptitle=suptitle)


def draw_numbers(ax, a, title=None, fmt="{:g}", colours=None, bold=None, fontsize=11):
    """Draw the 2-D array ``a`` on ``ax`` as a table of numbers.

    ``colours`` is an optional ``(H, W)`` array of colour strings (or None)
    used as each cell's background; ``bold`` an optional boolean mask of
    cells whose number is written in bold. NaN cells are left empty.
    """
    a = np.asarray(a)
    h, w = a.shape
    ax.set_xlim(-0.08, w + 0.08)  # room for the frames drawn on the border
    ax.set_ylim(h + 0.08, -0.08)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    for r in range(h):
        for q in range(w):
            face = colours[r][q] if colours is not None and colours[r][q] else "white"
            ax.add_patch(Rectangle((q, r), 1, 1, facecolor=face, edgecolor="0.35", linewidth=1))
            value = a[r, q]
            text = fmt.format(value) if np.isfinite(value) else ("" if np.isnan(value) else str(value))
            weight = "bold" if bold is not None and bold[r, q] else "normal"
            ax.text(q + 0.5, r + 0.5, text, ha="center", va="center", fontsize=fontsize, fontweight=weight)
    if title:
        ax.set_title(title, fontsize=fontsize)

"""Diagrams of chapter 1: a dense and a convolutional layer side by side, the standard stack.

Drawn with matplotlib from the layers' own connectivity: the dense diagram
draws an edge for every non-zero weight of a dense matrix, the convolutional
one for every link of :func:`cnnkit.connectivity.conv1d_taps` (built from
:func:`cnnkit.conv1d`), coloured by which kernel weight it is. matplotlib is
imported here, never by ``import cnnkit``.
"""

from __future__ import annotations

import numpy as np

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

from ..connectivity import conv1d_taps

__all__ = ["cost_profile", "dense_vs_conv", "standard_stack"]

KERNEL_COLOURS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3")


def _layer(ax, xs, y, colour, size=180):
    ax.scatter(xs, np.full(len(xs), y), s=size, color=colour, zorder=3, edgecolor="black", linewidth=0.8)


def dense_vs_conv(n_in=8, kernel_size=3, figsize=(9.5, 3.4), dpi=None):
    """Figure: a dense layer (every input to every output) next to a 1-D convolution (local, shared)."""
    n_out = n_in - kernel_size + 1
    fig, (left, right) = plt.subplots(1, 2, figsize=figsize, dpi=dpi, layout="constrained")
    xin = np.arange(n_in, dtype=float)
    for ax in (left, right):
        ax.set_xlim(-0.8, n_in - 0.2)
        ax.set_ylim(-0.75, 1.3)
        ax.axis("off")
        ax.text(-0.7, 0, "input", ha="right", va="center", fontsize=11)
        ax.text(-0.7, 1, "output", ha="right", va="center", fontsize=11)

    # Dense: one distinct weight per (input, output) pair.
    xout_dense = np.linspace(0, n_in - 1, n_out)
    for i in range(n_out):
        for j in range(n_in):
            left.plot([xin[j], xout_dense[i]], [0, 1], color="#888888", linewidth=0.8, zorder=1)
    _layer(left, xin, 0, "white")
    _layer(left, xout_dense, 1, "#DDDDDD")
    left.set_title(f"dense: {n_in * n_out} weights, each used once", fontsize=11)

    # Convolution: edges from cnnkit's matrix, coloured by the shared weight they use.
    taps = conv1d_taps(n_in, kernel_size)
    xout_conv = np.arange(n_out) + (kernel_size - 1) / 2
    for i in range(n_out):
        for j in range(n_in):
            if taps[i, j] >= 0:
                right.plot([xin[j], xout_conv[i]], [0, 1], color=KERNEL_COLOURS[taps[i, j] % len(KERNEL_COLOURS)],
                           linewidth=2.2, zorder=1)
    _layer(right, xin, 0, "white")
    _layer(right, xout_conv, 1, "#DDDDDD")
    right.set_title(f"convolution: {kernel_size} weights, shared by every output", fontsize=11)
    for t in range(kernel_size):
        right.plot([], [], color=KERNEL_COLOURS[t], linewidth=2.2, label=f"$w_{t}$")
    right.legend(loc="upper center", ncols=kernel_size, fontsize=11, frameon=False, bbox_to_anchor=(0.5, 0.08))
    return fig


def standard_stack(blocks, figsize=(9.5, 2.2), dpi=None):
    """Figure: a row of labelled boxes, one per ``(name, detail, colour)`` block, joined by arrows.

    A name too wide for its box is broken at its spaces onto more lines: the
    labels stay inside their boxes at the book's 11-point minimum.
    """
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1)  # the boxes get the whole width
    ax.set_xlim(-0.05, len(blocks) * 1.25 - 0.2)
    ax.set_ylim(0.05, 1.05)
    ax.axis("off")
    renderer = fig.canvas.get_renderer()
    box_pixels = ax.transData.transform((1.0, 0))[0] - ax.transData.transform((0, 0))[0]
    for k, (name, detail, colour) in enumerate(blocks):
        x = k * 1.25
        ax.add_patch(FancyBboxPatch((x, 0.15), 1.0, 0.8, boxstyle="round,pad=0.02", facecolor=colour,
                                    edgecolor="#333333"))
        label = ax.text(x + 0.5, 0.6, name, ha="center", va="bottom", fontsize=11, weight="bold",
                        linespacing=1.1)
        words = name.split()
        lines = 1
        while label.get_window_extent(renderer).width > 0.92 * box_pixels and lines < len(words):
            lines += 1
            per_line = -(-len(words) // lines)
            label.set_text("\n".join(" ".join(words[i:i + per_line]) for i in range(0, len(words), per_line)))
        ax.text(x + 0.5, 0.5, detail, ha="center", va="top", fontsize=11)
        if k:
            ax.annotate("", xy=(x - 0.01, 0.55), xytext=(x - 0.24, 0.55),
                        arrowprops=dict(arrowstyle="->", color="#333333"))
    return fig


COST_PANELS = (("params", "parameters", "#4C72B0"),
               ("activations", "activation memory", "#DD8452"),
               ("macs", "multiply-adds", "#55A868"))


def cost_profile(rows, title=None, figsize=None, dpi=None, skip_empty=True):
    """Figure: each layer's share of the parameters, activation memory and multiply-adds.

    ``rows`` are :func:`cnnkit.architectures.summarize`'s; layers that cost
    nothing in all three (ReLU, dropout, flatten) are left out when
    ``skip_empty``, which changes no total: the panels' totals are
    :func:`cnnkit.architectures.totals`'.
    Three panels side by side, one horizontal bar per layer, first layer on
    top; each bar is the layer's percentage of the network's total.
    """
    if skip_empty:
        rows = [r for r in rows if r.params or r.macs or r.type not in ("relu", "dropout", "softmax", "flatten")]
    names = [r.name for r in rows]
    if figsize is None:
        figsize = (9.5, 0.6 + 0.22 * len(rows))
    fig, axes = plt.subplots(1, 3, figsize=figsize, dpi=dpi, sharey=True, layout="constrained")
    y = np.arange(len(rows))
    for ax, (key, label, colour) in zip(axes, COST_PANELS):
        values = np.array([getattr(r, key) for r in rows], dtype=float)
        share = 100 * values / values.sum()
        ax.barh(y, share, color=colour)
        ax.set_title(f"{label}\n(total {_short(values.sum())})", fontsize=10)
        ax.set_xlabel("% of the total", fontsize=9)
        ax.set_xlim(0, max(share.max() * 1.15, 1))
        ax.grid(True, axis="x", alpha=0.3)
        ax.tick_params(labelsize=8)
    axes[0].set_yticks(y, names)
    axes[0].invert_yaxis()
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def _short(n):
    for size, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if n >= size:
            return f"{n / size:.3g}{suffix}"
    return f"{n:.0f}"

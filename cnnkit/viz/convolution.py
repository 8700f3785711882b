"""Animations and figures of chapter 2: the sliding window in 1-D and 2-D, a matrix drawn as a grid.

Every number shown is cnnkit's: the output cells are filled with the values
of :func:`cnnkit.conv1d` / :func:`cnnkit.conv2d`, and the window's position
comes from the same stride, padding and dilation, so an animation cannot
disagree with the code it illustrates. matplotlib is imported here, never by
``import cnnkit``; use ``from cnnkit.viz import convolution as viz``.

The animations are :class:`matplotlib.animation.FuncAnimation` objects; in
the book, end the cell with ``plt.close(anim._fig); HTML(anim.to_jshtml())``
(see :func:`as_html`).
"""

from __future__ import annotations

import numpy as np

import matplotlib.pyplot as plt
from matplotlib import animation
from matplotlib.patches import Rectangle

from .. import conv1d, conv2d, conv_output_size

__all__ = ["sliding_window_1d", "sliding_window_2d", "draw_matrix", "as_html"]

TAP = "#F2A541"  # cells under a kernel tap
SPAN = "#C44E52"  # outline of the window's span
PAD = "#E6E6E6"  # padding cells
DONE = "#A8C8E8"  # output cells already computed
CURRENT = "#4C72B0"  # the output cell being computed


def _fmt(v):
    v = float(v)
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.1f}"


def _cell(ax, x, y, text, face="white", edge="#555555", fontsize=11, weight="normal", colour="black"):
    ax.add_patch(Rectangle((x, y), 1, 1, facecolor=face, edgecolor=edge, linewidth=1))
    ax.text(x + 0.5, y + 0.5, text, ha="center", va="center", fontsize=fontsize, weight=weight, color=colour)


def _bare(ax):
    ax.set_aspect("equal")
    ax.axis("off")


def as_html(anim):
    """The animation as JavaScript HTML that plays in a static page; closes its figure."""
    from IPython.display import HTML

    plt.close(anim._fig)
    return HTML(anim.to_jshtml())


def sliding_window_1d(x, w, stride=1, padding=0, dilation=1, interval=900, dpi=None, title=None):
    """Animate a 1-D cross-correlation: the kernel slides over the padded input, one output per frame.

    ``x`` and ``w`` are 1-D. The output row is filled with the values of
    :func:`cnnkit.conv1d` for the same stride, padding and dilation, and each
    frame writes out the dot product that produced the current value.
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    out = conv1d(x[None, None], w[None, None], stride=stride, padding=padding, dilation=dilation)[0, 0]
    n_pad, k = len(x) + 2 * padding, len(w)
    assert len(out) == conv_output_size(len(x), k, stride, padding, dilation)
    xp = np.pad(x, padding)
    width = max(n_pad, 8) + 3.5
    # At most 9.5 inches: the book shows it unscaled (cnnkit.viz.style).
    fig, ax = plt.subplots(figsize=(min(0.62 * width, 9.5), 2.5), dpi=dpi, layout="constrained")

    def frame(step):
        ax.clear()
        _bare(ax)
        ax.set_xlim(-3.2, width - 3)
        ax.set_ylim(4.7, -0.3)
        taps = [step * stride + t * dilation for t in range(k)]
        ax.text(-0.3, 0.5, "input", ha="right", va="center", fontsize=11)
        for i, v in enumerate(xp):
            pad = i < padding or i >= padding + len(x)
            _cell(ax, i, 0, _fmt(v), face=TAP if i in taps else (PAD if pad else "white"),
                  colour="#888888" if pad else "black")
        ax.add_patch(Rectangle((taps[0], -0.12), taps[-1] - taps[0] + 1, 1.24, fill=False, edgecolor=SPAN,
                               linewidth=2.5))
        ax.text(-0.3, 2.0, "kernel", ha="right", va="center", fontsize=11)
        for t, v in enumerate(w):
            _cell(ax, taps[t], 1.5, _fmt(v), face=TAP)
        ax.text(-0.3, 4.0, "output", ha="right", va="center", fontsize=11)
        for i, v in enumerate(out):
            if i < step:
                _cell(ax, i, 3.5, _fmt(v), face=DONE)
            elif i == step:
                _cell(ax, i, 3.5, _fmt(v), face=CURRENT, colour="white", weight="bold")
            else:
                _cell(ax, i, 3.5, "", face="white", edge="#BBBBBB")
        products = " + ".join(f"{_fmt(xp[p])}·{_fmt(wt)}" for p, wt in zip(taps, w))
        ax.set_title(f"{title + ':  ' if title else ''}o[{step}] = {products} = {_fmt(out[step])}", fontsize=11)
        return []

    return animation.FuncAnimation(fig, frame, frames=len(out), interval=interval, blit=False)


def sliding_window_2d(x, w, stride=1, padding=0, dilation=1, interval=700, dpi=None, title=None):
    """Animate a 2-D cross-correlation of one channel: the window on the left, the output filling on the right.

    ``x`` is ``(H, W)`` and ``w`` ``(KH, KW)``. Padding cells are grey, the
    cells under the kernel's taps orange (``dilation - 1`` cells apart), the
    window's span outlined in red; the output cells are cnnkit's
    :func:`cnnkit.conv2d` values for the same settings.
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    out = conv2d(x[None, None], w[None, None], stride=stride, padding=padding, dilation=dilation)[0, 0]
    xp = np.pad(x, padding)
    (hp, wp), (kh, kw), (ho, wo) = xp.shape, w.shape, out.shape
    fig, (left, right) = plt.subplots(1, 2, figsize=(0.55 * (wp + wo) + 1.2, 0.55 * max(hp, ho) + 1.0), dpi=dpi,
                                      gridspec_kw={"width_ratios": [wp, max(wo, 2)]})

    def frame(step):
        i, j = divmod(step, wo)
        rows = [i * stride + u * dilation for u in range(kh)]
        cols = [j * stride + v * dilation for v in range(kw)]
        for ax in (left, right):
            ax.clear()
            _bare(ax)
        left.set_xlim(-0.1, wp + 0.1)
        left.set_ylim(hp + 0.1, -0.1)
        for r in range(hp):
            for c in range(wp):
                pad = not (padding <= r < padding + x.shape[0] and padding <= c < padding + x.shape[1])
                tap = r in rows and c in cols
                _cell(left, c, r, _fmt(xp[r, c]), face=TAP if tap else (PAD if pad else "white"), fontsize=11,
                      colour="#888888" if pad and not tap else "black")
        left.add_patch(Rectangle((cols[0] - 0.08, rows[0] - 0.08), cols[-1] - cols[0] + 1.16,
                                 rows[-1] - rows[0] + 1.16, fill=False, edgecolor=SPAN, linewidth=2.5))
        left.set_title("padded input" if padding else "input", fontsize=11)
        right.set_xlim(-0.1, max(wo, 2) + 0.1)
        right.set_ylim(max(ho, 2) + 0.1, -0.1)
        for r in range(ho):
            for c in range(wo):
                k = r * wo + c
                if k < step:
                    _cell(right, c, r, _fmt(out[r, c]), face=DONE, fontsize=11)
                elif k == step:
                    _cell(right, c, r, _fmt(out[r, c]), face=CURRENT, colour="white", weight="bold", fontsize=11)
                else:
                    _cell(right, c, r, "", edge="#BBBBBB")
        right.set_title(f"output {ho}x{wo}", fontsize=11)
        settings = f"stride {stride}, padding {padding}, dilation {dilation}"
        fig.suptitle(f"{title + ': ' if title else ''}{settings}; output[{i}, {j}]", fontsize=11)
        return []

    return animation.FuncAnimation(fig, frame, frames=ho * wo, interval=interval, blit=False)


def draw_matrix(ax, m, row_label="", col_label="", fmt=_fmt, fontsize=8, zero=""):
    """Draw a small 2-D array as a grid of numbers: zeros left blank (``zero``), non-zeros shaded."""
    m = np.asarray(m)
    h, w = m.shape
    _bare(ax)
    ax.set_xlim(-0.1, w + 0.1)
    ax.set_ylim(h + 0.1, -0.1)
    limit = float(np.max(np.abs(m))) or 1.0
    cmap = plt.get_cmap("RdBu_r")
    for r in range(h):
        for c in range(w):
            v = m[r, c]
            face = cmap(0.5 + 0.3 * v / limit) if v else "white"
            _cell(ax, c, r, fmt(v) if v else zero, face=face, edge="#999999", fontsize=fontsize)
    if row_label:
        ax.text(-0.4, h / 2, row_label, rotation=90, ha="right", va="center", fontsize=10)
    if col_label:
        ax.text(w / 2, -0.4, col_label, ha="center", va="bottom", fontsize=10)

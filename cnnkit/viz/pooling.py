"""Figures and animations of chapter 4: pooling's windows and its gradient routing.

Everything here is drawn with matplotlib from cnnkit's own output, so the
pictures always agree with the code. matplotlib is imported here, never by
``import cnnkit``: this module is imported explicitly, as
``from cnnkit.viz import pooling``.

Arrays drawn as grids of numbers are 2-D ``(H, W)``: one channel of one image.
"""

from __future__ import annotations

import numpy as np

import matplotlib.pyplot as plt
from matplotlib import animation
from matplotlib.patches import Rectangle

from .. import max_pool2d, max_pool2d_backward
from .._checks import as_pair
from .maps import draw_numbers

__all__ = ["pool_windows", "routing_figure", "routing_animation"]

# One colour per window, cycled: the windows of a 4x4 input fit in the first four.
WINDOW_COLOURS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C",
                  "#CCB974", "#64B5CD")


def pool_windows(shape, size=2, stride=None):
    """The windows of a pooling over an ``(H, W)`` input, row-major: a list of ``(top, left, kh, kw)``."""
    h, w = shape
    kh, kw = as_pair(size, "size", "pool_windows")
    sh, sw = (kh, kw) if stride is None else as_pair(stride, "stride", "pool_windows")
    return [(i * sh, j * sw, kh, kw) for i in range((h - kh) // sh + 1) for j in range((w - kw) // sw + 1)]


def _first_max(x, window):
    top, left, kh, kw = window
    patch = x[top:top + kh, left:left + kw]
    r, q = np.unravel_index(np.argmax(patch), patch.shape)  # argmax: the first maximum, row-major
    return top + r, left + q


def _window_frame(ax, window, colour, linewidth=3.0, inset=0.0):
    top, left, kh, kw = window
    ax.add_patch(Rectangle((left + inset, top + inset), kw - 2 * inset, kh - 2 * inset, fill=False,
                           edgecolor=colour, linewidth=linewidth, clip_on=False))


def routing_figure(x, size=2, stride=None, dout=None, fmt="{:g}", figsize=(9.5, 3.4)):
    """Forward and backward of max pooling on one ``(H, W)`` array, side by side; returns the figure.

    Left: the input with each window framed in its colour and its first
    maximum filled. Middle: the pooled output, each cell in its window's
    colour. Right: the input gradient for the upstream gradient ``dout``
    (ones by default), computed by :func:`cnnkit.max_pool2d_backward`.
    """
    x = np.asarray(x, dtype=float)
    out = max_pool2d(x[None, None], size, stride)[0, 0]
    dout = np.ones_like(out) if dout is None else np.asarray(dout, dtype=float)
    dx = max_pool2d_backward(dout[None, None], x[None, None], size, stride)[0, 0]
    windows = pool_windows(x.shape, size, stride)
    fig, axes = plt.subplots(1, 3, figsize=figsize, layout="constrained",
                             gridspec_kw={"width_ratios": [x.shape[1], out.shape[1] + 0.5, x.shape[1]]})
    in_colours = [[None] * x.shape[1] for _ in range(x.shape[0])]
    out_colours = [[None] * out.shape[1] for _ in range(out.shape[0])]
    winners = np.zeros(x.shape, dtype=bool)
    for k, window in enumerate(windows):
        colour = WINDOW_COLOURS[k % len(WINDOW_COLOURS)]
        r, q = _first_max(x, window)
        in_colours[r][q] = _light(colour)
        winners[r, q] = True
        out_colours[k // out.shape[1]][k % out.shape[1]] = _light(colour)
    draw_numbers(axes[0], x, "input x: windows and their maxima", fmt, in_colours, winners)
    for k, window in enumerate(windows):
        inset = 0.06 * (k % 3) if len(windows) > 4 else 0.0
        _window_frame(axes[0], window, WINDOW_COLOURS[k % len(WINDOW_COLOURS)], inset=inset)
    draw_numbers(axes[1], out, "max pool: forward", fmt, out_colours)
    grad_colours = [[_light("#55A868") if dx[r, q] else None for q in range(x.shape[1])] for r in range(x.shape[0])]
    draw_numbers(axes[2], dx, "gradient dx: backward", fmt, grad_colours, dx != 0)
    return fig


def _light(colour, amount=0.55):
    """``colour`` mixed with white: a background that keeps black text readable."""
    from matplotlib.colors import to_rgb

    rgb = np.array(to_rgb(colour))
    return tuple(rgb + (1 - rgb) * amount)


def routing_animation(x, size=2, stride=None, dout=None, fmt="{:g}", figsize=(9.5, 3.3), interval=900, dpi=None):
    """Max pooling's backward pass one window at a time; returns ``(fig, FuncAnimation)``.

    Frame ``k`` frames window ``k`` on the input and marks its first maximum,
    highlights the output cell it produces, and shows the input gradient
    accumulated over windows ``0..k`` (so overlapping windows visibly *add*
    into a shared maximum). The last frame equals
    :func:`cnnkit.max_pool2d_backward`, which the animation checks.
    """
    x = np.asarray(x, dtype=float)
    out = max_pool2d(x[None, None], size, stride)[0, 0]
    dout = np.ones_like(out) if dout is None else np.asarray(dout, dtype=float)
    windows = pool_windows(x.shape, size, stride)
    frames = []  # the gradient after each window
    dx = np.zeros_like(x)
    for k, window in enumerate(windows):
        r, q = _first_max(x, window)
        dx[r, q] += dout.flat[k]
        frames.append(dx.copy())
    reference = max_pool2d_backward(dout[None, None], x[None, None], size, stride)[0, 0]
    if not np.allclose(frames[-1], reference):
        raise AssertionError("routing_animation: the frames do not add up to cnnkit.max_pool2d_backward")

    fig, axes = plt.subplots(1, 3, figsize=figsize, dpi=dpi, layout="constrained",
                             gridspec_kw={"width_ratios": [x.shape[1], out.shape[1] + 0.5, x.shape[1]]})

    def draw(k):
        for ax in axes:
            ax.clear()
        window = windows[k]
        colour = WINDOW_COLOURS[0]
        r, q = _first_max(x, window)
        in_colours = [[None] * x.shape[1] for _ in range(x.shape[0])]
        top, left, kh, kw = window
        for rr in range(top, top + kh):
            for qq in range(left, left + kw):
                in_colours[rr][qq] = _light(colour, 0.8)
        in_colours[r][q] = _light("#DD8452", 0.3)
        mask = np.zeros(x.shape, dtype=bool)
        mask[r, q] = True
        draw_numbers(axes[0], x, f"input x, window {k + 1} of {len(windows)}", fmt, in_colours, mask)
        _window_frame(axes[0], window, colour)
        i, j = divmod(k, out.shape[1])
        later = np.arange(out.size).reshape(out.shape) > k  # not computed yet: empty and grey
        out_colours = [["0.92" if later[ii, jj] else None for jj in range(out.shape[1])] for ii in range(out.shape[0])]
        out_colours[i][j] = _light("#DD8452", 0.3)
        draw_numbers(axes[1], np.where(later, np.nan, out), "output", fmt, out_colours)
        grad_colours = [[_light("#55A868") if frames[k][rr, qq] else None for qq in range(x.shape[1])]
                        for rr in range(x.shape[0])]
        grad_colours[r][q] = _light("#DD8452", 0.3)
        draw_numbers(axes[2], frames[k], f"dx += {fmt.format(dout.flat[k])} at the maximum", fmt, grad_colours,
                     frames[k] != 0)
        return []

    anim = animation.FuncAnimation(fig, draw, frames=len(windows), interval=interval, blit=False)
    return fig, anim

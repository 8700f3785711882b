"""Figures of chapters 6 and 7: a network's shapes, learning curves, confusion matrix, mistakes.

Drawn with matplotlib from the arrays the chapters compute (Keras histories,
predictions, activations); nothing here trains or imports TensorFlow. Import
it explicitly, as ``from cnnkit.viz import training``: ``import cnnkit``
never loads matplotlib.

Images are ``(N, H, W)`` or ``(N, H, W, 1)`` (Keras' layout). Feature maps
are drawn by :mod:`cnnkit.viz.maps`.
"""

from __future__ import annotations

import numpy as np

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

__all__ = ["confusion_matrix", "plot_shapes", "plot_history", "plot_confusion_matrix", "plot_images"]

# One colour per model in the learning curves; the first is the CNN.
COLOURS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3")


def confusion_matrix(y_true, y_pred, n_classes=None):
    """Counts ``M[i, j]`` of examples of class ``i`` predicted as ``j``, shape ``(K, K)``, int64."""
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix: y_true and y_pred must have the same length, "
                         f"got {y_true.shape[0]} and {y_pred.shape[0]}")
    if n_classes is None:
        n_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def plot_shapes(rows, title=None):
    """The tensor after each layer as a block whose area is proportional to its number of values.

    ``rows`` is a list of ``(name, shape)`` with ``shape`` the output shape
    without the batch axis, ``(H, W, C)`` or ``(units,)``. A feature map's
    block is ``H`` tall and ``W * C`` wide, a vector's is a bar of one fixed
    width whose height is its length, both on the same two scales: so a
    26x26x16 map (10,816 values) covers 13.5 times the area of an 800-number
    vector, whatever the shapes. (A block too thin to see is drawn a few
    pixels tall, the only departure from scale.)
    """
    def size(shape):  # (height, width) in "values" units: height * width = values
        if len(shape) == 3:
            return shape[0], shape[1] * shape[2]
        return shape[0] / VECTOR_WIDTH, VECTOR_WIDTH

    VECTOR_WIDTH = 40
    sizes = [size(tuple(s)) for _, s in rows]
    y_scale = 1.0 / max(h for h, _ in sizes)  # the tallest block is 1 high
    x_scale = 0.85 / max(w for _, w in sizes)  # the widest fills 85% of its column
    fig, ax = plt.subplots(figsize=(0.95 * len(rows) + 0.4, 3.0), layout="constrained")
    for i, ((name, shape), (h, w)) in enumerate(zip(rows, sizes)):
        height, width = max(h * y_scale, 0.015), w * x_scale
        colour = "#4C72B0" if len(shape) == 3 else "#DD8452"
        text = "x".join(str(d) for d in shape)
        ax.add_patch(Rectangle((i - width / 2, 0.5 - height / 2), width, height, facecolor=colour, alpha=0.75,
                               edgecolor="black", linewidth=0.8))
        ax.text(i, 0.5 + height / 2 + 0.04, text, ha="center", va="bottom", fontsize=11)
        ax.text(i, -0.04, name, ha="center", va="top", fontsize=11)
        if i:
            ax.annotate("", xy=(i - 0.5 + 0.06, 0.5), xytext=(i - 0.5 - 0.06, 0.5),
                        arrowprops=dict(arrowstyle="->", color="gray", lw=1.2))
    ax.set_xlim(-0.55, len(rows) - 0.45)
    ax.set_ylim(-0.25, 1.2)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig


def plot_history(histories, metrics=("loss", "accuracy"), size=(4.6, 3.2), best=None):
    """Learning curves: one panel per metric, training (solid) and validation (dashed) per model.

    ``histories`` maps a model's name to a Keras ``History.history`` dict
    (``{"loss": [...], "val_loss": [...], ...}``). Epochs count from 1, in
    whole numbers. ``best`` marks an epoch the text talks about (say, the one
    early stopping kept): an int for every model, or a dict from a model's
    name to its epoch; each panel gets a dotted line there and a ring on the
    validation curve.
    """
    from matplotlib.ticker import MaxNLocator

    if isinstance(best, dict):
        unknown = set(best) - set(histories)
        if unknown:
            raise ValueError(f"plot_history: best names models that histories does not have: {sorted(unknown)}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(size[0] * len(metrics), size[1]), squeeze=False,
                             layout="constrained")
    for ax, metric in zip(axes[0], metrics):
        for colour, (name, history) in zip(COLOURS, histories.items()):
            epochs = np.arange(1, len(history[metric]) + 1)
            ax.plot(epochs, history[metric], color=colour, label=f"{name}, training")
            validation = history.get(f"val_{metric}")
            if validation is not None:
                ax.plot(epochs, validation, color=colour, linestyle="--", label=f"{name}, validation")
            epoch = best.get(name) if isinstance(best, dict) else best
            if epoch is not None:
                if not 1 <= int(epoch) <= len(epochs):
                    raise ValueError(f"plot_history: best epoch of {name!r} must be in 1..{len(epochs)}, "
                                     f"got {epoch}")
                curve = validation if validation is not None else history[metric]
                ax.axvline(epoch, color=colour, linestyle=":", linewidth=1.2)
                ax.plot([epoch], [curve[int(epoch) - 1]], "o", markersize=9, markerfacecolor="none",
                        markeredgecolor=colour, markeredgewidth=1.8,
                        label=f"{name}, best epoch ({int(epoch)})")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    # Below the panels, where it hides no curve.
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 2 if best is not None else 4),
               frameon=False)
    return fig


def plot_confusion_matrix(counts, labels=None, title=None, ax=None):
    """A confusion matrix as a heat map with the count in every cell; rows are true classes."""
    counts = np.asarray(counts)
    k = counts.shape[0]
    labels = [str(i) for i in range(k)] if labels is None else [str(label) for label in labels]
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.8, 4.4), layout="constrained")
    else:
        fig = ax.figure
    # Off-diagonal counts are few: a log-like scale keeps them visible next to the diagonal.
    shown = np.log1p(counts)
    ax.imshow(shown, cmap="Blues")
    threshold = shown.max() / 2
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=11,
                        color="white" if shown[i, j] > threshold else "black")
    ax.set_xticks(range(k), labels)
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    return fig


def plot_images(images, titles=None, ncols=10, size=1.0, cmap="gray_r", suptitle=None):
    """A grid of small images with optional titles; returns the figure."""
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[..., 0]
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + (0.3 if titles else 0)) * nrows),
                             squeeze=False, layout="constrained")
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < n:
            ax.imshow(images[index], cmap=cmap, vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(titles[index], fontsize=11)
    if suptitle:
        fig.suptitle(suptitle)
    return fig

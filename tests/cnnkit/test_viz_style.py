"""The book's figure settings and the learning-curve helper (matplotlib, Agg)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnkit.viz import style, training  # noqa: E402


def test_small_text_is_raised_to_the_floor_and_larger_text_kept():
    fig, ax = plt.subplots()
    small = ax.set_title("small", fontsize=7)
    large = ax.text(0, 0, "large", fontsize=14)
    assert style.raise_small_text(fig) >= 1
    assert small.get_fontsize() == style.MIN_FONT_PT
    assert large.get_fontsize() == 14
    plt.close(fig)


def test_book_style_draws_one_point_per_pixel():
    with matplotlib.rc_context():
        style.use_book_style()
        fig = plt.figure(figsize=(style.COLUMN_INCHES, 2))
        assert fig.dpi == style.BOOK_DPI == 72
        assert fig.get_size_inches()[0] * fig.dpi <= 690  # the text column at a 1280-pixel window
        plt.close(fig)


HISTORY = {"loss": [1.0, 0.6, 0.5, 0.45, 0.44], "val_loss": [0.9, 0.7, 0.65, 0.66, 0.7],
           "accuracy": [0.6, 0.8, 0.85, 0.9, 0.92], "val_accuracy": [0.7, 0.8, 0.82, 0.81, 0.8]}


def test_learning_curves_count_whole_epochs_and_mark_the_best():
    fig = training.plot_history({"cnn": HISTORY}, best=3)
    fig.canvas.draw()
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)
        rings = [line for line in ax.get_lines() if line.get_marker() == "o"]
        assert len(rings) == 1 and list(rings[0].get_xdata()) == [3]
    loss_ring = [line for line in fig.axes[0].get_lines() if line.get_marker() == "o"][0]
    assert list(loss_ring.get_ydata()) == [HISTORY["val_loss"][2]]
    assert any("best epoch (3)" in t.get_text() for t in fig.legends[0].get_texts())
    plt.close(fig)


def test_best_epoch_out_of_range_is_named():
    with pytest.raises(ValueError, match=r"best epoch of 'cnn' must be in 1..5, got 9"):
        training.plot_history({"cnn": HISTORY}, best=9)
    with pytest.raises(ValueError, match="best names models that histories does not have"):
        training.plot_history({"cnn": HISTORY}, best={"dense": 2})
    plt.close("all")


def test_without_best_there_is_no_marker():
    fig = training.plot_history({"cnn": HISTORY, "dense": HISTORY})
    assert not [line for ax in fig.axes for line in ax.get_lines() if line.get_marker() == "o"]
    assert np.isclose(fig.get_size_inches()[0], 9.2)
    plt.close(fig)

"""The case study's LeNet-style CNN, defined once for the benchmark and the tests.

Chapter 7 writes the same network out for its readers, in Keras and in
``cnnkit.nn``; ``bench/bench_nn.py`` and ``tests/cnnkit/test_nn_model.py``
build it from here, so that the benchmark times the model the tests check.
"""

from __future__ import annotations

from .conv_layers import Conv2D, MaxPool2D
from .layers import Dense, Dropout, Flatten, Input, ReLU
from .model import Sequential

__all__ = ["lenet_style", "lenet_style_keras"]


def lenet_style(seed=0, dtype="float32"):
    """Two conv-ReLU-pool stages (32 and 64 3x3 filters), dropout 0.5, ten logits.

    Input ``(N, 1, 28, 28)``; 34,826 parameters, as Keras counts them.
    """
    return Sequential([
        Input((1, 28, 28)),
        Conv2D(32, 3), ReLU(), MaxPool2D(2),
        Conv2D(64, 3), ReLU(), MaxPool2D(2),
        Flatten(), Dropout(0.5), Dense(10),
    ], seed=seed, dtype=dtype)


def lenet_style_keras():
    """The same network in Keras (input ``(N, 28, 28, 1)``); imports Keras when called."""
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dropout(0.5), layers.Dense(10),
    ])

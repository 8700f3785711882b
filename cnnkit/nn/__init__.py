"""cnnkit.nn: the course's small Keras, built from cnnkit's own ops (book: chapters 6 and 7).

>>> from cnnkit import nn
>>> model = nn.Sequential([nn.Input((1, 28, 28)), nn.Conv2D(16, 3, padding="same"), nn.ReLU(),
...                        nn.MaxPool2D(2), nn.Flatten(), nn.Dense(10)], seed=0)
>>> model.count_params()
31530

Arrays are NCHW, ``(N, C, H, W)``, as everywhere in cnnkit; NHWC data are
refused with a message saying how to convert them. Parameters are float32
(float64 when the data are). Importing it needs NumPy only.

The contract (names, arguments, defaults) is the book's API page,
``book/api.md`` (section on ``cnnkit.nn``), which documents every public
name from its docstring; a test fails for a public name it leaves out.
"""

from .base import Layer
from .conv_layers import AvgPool2D, Conv2D, GlobalAvgPool2D, MaxPool2D
from .layers import Dense, Dropout, Flatten, Input, ReLU
from .normalization import BatchNormalization
from .losses import softmax, softmax_cross_entropy
from .model import History, Sequential, load
from .optimizers import SGD, Adam
from .keras_bridge import keras_arrays, to_keras
from .threads import get_num_threads, set_num_threads

__all__ = [
    "Adam", "AvgPool2D", "BatchNormalization", "Conv2D", "Dense", "Dropout", "Flatten", "GlobalAvgPool2D", "History", "Input",
    "Layer", "MaxPool2D", "ReLU", "SGD", "Sequential", "get_num_threads", "load", "set_num_threads", "softmax",
    "softmax_cross_entropy", "to_keras", "keras_arrays",
]

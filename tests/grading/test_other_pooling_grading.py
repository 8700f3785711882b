"""Assignment 05-other-pooling: the hidden tests reward the solution and catch the usual mistakes.

The model part is checked on the model itself and on a copy saved and
loaded with Keras' safe mode, which is what the course's grader hands to the
checks.
"""

import numpy as np
import pytest

from autograder.grading import cases_for, get_part, grade_part

from .families import in_input_dtype, operand_casts, size_default, stride_defaults_to_size

from .conftest import Model, blank, round_trip

ASSIGNMENT = "05-other-pooling"

keras = pytest.importorskip("keras")
layers = keras.layers


# --- the usual wrong answers: average pooling -----------------------------------

def _windows(x, size, stride, padding):
    x = np.asarray(x, dtype=float)
    stride = size if stride is None else stride
    n, c, h, w = x.shape
    real = np.pad(np.ones((h, w)), padding)
    ho = (h + 2 * padding - size) // stride + 1
    wo = (w + 2 * padding - size) // stride + 1
    for i in range(ho):
        for j in range(wo):
            yield i, j, slice(i * stride, i * stride + size), slice(j * stride, j * stride + size), real


def _avg_forward(x, size, stride, padding, count_padding):
    x = np.asarray(x, dtype=float)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cells = list(_windows(x, size, stride, padding))
    out = np.empty(x.shape[:2] + (cells[-1][0] + 1, cells[-1][1] + 1))
    for i, j, rows, cols, real in cells:
        count = size * size if count_padding else real[rows, cols].sum()
        out[:, :, i, j] = xp[:, :, rows, cols].sum(axis=(2, 3)) / count
    return out


def _avg_backward(dout, x, size, stride, padding, divide=True, count_padding=False, overwrite=False):
    x = np.asarray(x, dtype=float)
    dout = np.asarray(dout, dtype=float)
    n, c, h, w = x.shape
    dxp = np.zeros((n, c, h + 2 * padding, w + 2 * padding))
    for i, j, rows, cols, real in _windows(x, size, stride, padding):
        count = (size * size if count_padding else real[rows, cols].sum()) if divide else 1.0
        share = dout[:, :, i, j][:, :, None, None] / count * real[rows, cols]
        if overwrite:
            dxp[:, :, rows, cols] = share
        else:
            dxp[:, :, rows, cols] += share
    return dxp[:, :, padding:padding + h, padding:padding + w]


def avg_counts_padding(x, size=2, stride=None, padding=0):
    """Padding counted in the mean: every window divided by size * size."""
    return _avg_forward(x, size, stride, padding, count_padding=True)


def avg_ignores_stride(x, size=2, stride=None, padding=0):
    return _avg_forward(x, size, None, padding, count_padding=False)


def avg_backward_not_divided(dout, x, size=2, stride=None, padding=0):
    """The whole upstream gradient copied to every cell of the window."""
    return _avg_backward(dout, x, size, stride, padding, divide=False)


def avg_backward_counts_padding(dout, x, size=2, stride=None, padding=0):
    return _avg_backward(dout, x, size, stride, padding, count_padding=True)


def avg_backward_overwrites_overlaps(dout, x, size=2, stride=None, padding=0):
    return _avg_backward(dout, x, size, stride, padding, overwrite=True)


def avg_backward_max_routing(dout, x, size=2, stride=None, padding=0):
    """Max pooling's rule (everything to the maximum) used for the average."""
    from cnnkit import max_pool2d_backward

    return max_pool2d_backward(dout, x, size, stride, padding)


def global_mean_of_everything(x):
    return np.asarray(x, dtype=float).mean(axis=(1, 2, 3))


def global_keeps_dims(x):
    return np.asarray(x, dtype=float).mean(axis=(2, 3), keepdims=True)


def global_max(x):
    return np.asarray(x, dtype=float).max(axis=(2, 3))


# --- the usual wrong answers: the model ------------------------------------------

def _model(*body, input_shape=(28, 28, 1)):
    return keras.Sequential([keras.Input(shape=input_shape), *body])


def _all_conv(strides=(1, 2, 1, 2), padding="same", activations=("relu",) * 4, flatten=False, head=None,
              input_shape=(28, 28, 1)):
    """The spec's network (four 3x3 convolutions of 16, 16, 32, 32 filters, global average pooling, a Dense
    softmax head), or one mistake in it: other strides, padding or activations, Flatten, another head."""
    convs = [layers.Conv2D(filters, 3, strides=stride, padding=padding, activation=activation)
             for filters, stride, activation in zip((16, 16, 32, 32), strides, activations)]
    pooling = layers.Flatten() if flatten else layers.GlobalAveragePooling2D()
    return _model(*convs, pooling, *(head or [layers.Dense(10, activation="softmax")]), input_shape=input_shape)


def right_model():
    return _all_conv()


def right_model_functional():
    inputs = keras.Input(shape=(28, 28, 1))
    z = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    z = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(z)
    z = layers.Conv2D(32, 3, padding="same", activation="relu")(z)
    z = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(z)
    z = layers.GlobalAveragePooling2D()(z)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(z))


def model_with_max_pooling():
    return _model(
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10, activation="softmax"),
    )


def model_strides_forgotten():
    return _all_conv(strides=(1, 1, 1, 1))


def model_valid_padding():
    return _all_conv(padding="valid")


def model_flatten_head():
    return _all_conv(flatten=True)


def model_no_activation():
    return _all_conv(activations=(None,) * 4, head=[layers.Dense(10)])


def model_wrong_input():
    return _all_conv(input_shape=(28, 28, 3))


# --- correct alternatives: the same network in other spellings ---------------------

def right_model_with_activation_layers():
    """ReLU() layers after the convolutions, Dense + Softmax() at the end."""
    return _model(
        layers.Conv2D(16, 3, padding="same"), layers.ReLU(),
        layers.Conv2D(16, 3, strides=2, padding="same"), layers.ReLU(),
        layers.Conv2D(32, 3, padding="same"), layers.Activation("relu"),
        layers.Conv2D(32, 3, strides=2, padding="same"), layers.ReLU(),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10), layers.Softmax(),
    )


def right_model_nested_blocks():
    """Two Sequential blocks inside the model, kernel sizes as tuples, strides as (2, 2)."""
    def block(filters):
        return keras.Sequential([layers.Conv2D(filters, (3, 3), padding="same", activation="relu"),
                                 layers.Conv2D(filters, (3, 3), strides=(2, 2), padding="same", activation="relu")])
    return _model(block(16), block(32), layers.GlobalAvgPool2D(), layers.Dense(10, activation="softmax"))


def right_model_functional_with_softmax_layer():
    inputs = keras.Input(shape=(28, 28, 1))
    z = inputs
    for filters, stride in [(16, 1), (16, 2), (32, 1), (32, 2)]:
        z = layers.ReLU()(layers.Conv2D(filters, 3, strides=stride, padding="same")(z))
    z = layers.GlobalAveragePooling2D()(z)
    return keras.Model(inputs, layers.Softmax()(layers.Dense(10)(z)))


def model_relu_forgotten_once():
    return _all_conv(activations=("relu", "relu", None, "relu"))


def model_sigmoid_head():
    return _all_conv(head=[layers.Dense(10), layers.Activation("sigmoid")])


# --- numeric mistakes at the domain's edges ---------------------------------------------

def avg_output_like_input(x, size=2, stride=None, padding=0):
    """The output allocated with the input's dtype: integer images get truncated means."""
    x = np.asarray(x)
    return _avg_forward(x, size, stride, padding, count_padding=False).astype(x.dtype)


def avg_in_float32(x, size=2, stride=None, padding=0):
    return _avg_forward(np.asarray(x, dtype=np.float32), size, stride, padding, count_padding=False).astype(np.float32)


def avg_backward_padding_capped(dout, x, size=2, stride=None, padding=0):
    """Real cells counted on a mask padded by at most 2 (a hard-coded border)."""
    x = np.asarray(x, dtype=float)
    if padding <= 2:
        return _avg_backward(dout, x, size, stride, padding)
    return _avg_backward(dout, x, size, stride, padding, count_padding=True)


def global_mean_square_maps(x):
    """H assumed equal to W: the sum divided by H * H."""
    x = np.asarray(x, dtype=float)
    return x.sum(axis=(2, 3)) / (x.shape[2] * x.shape[2])


def global_mean_in_float32(x):
    return np.asarray(x, dtype=np.float32).mean(axis=(2, 3))


def global_integer_mean(x):
    x = np.asarray(x)
    return (x.sum(axis=(2, 3)) // (x.shape[2] * x.shape[3])).astype(float) if x.dtype.kind in "iu" else x.mean(axis=(2, 3))


# --- correct alternatives of the NumPy parts -------------------------------------------

def global_mean_by_reshape(x):
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(x.shape[0], x.shape[1], -1).sum(axis=-1) / (x.shape[2] * x.shape[3])


def avg_by_sliding_windows(x, size=2, stride=None, padding=0):
    stride = size if stride is None else stride
    x = np.asarray(x, dtype=np.float64)
    pad = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    sums = np.lib.stride_tricks.sliding_window_view(np.pad(x, pad), (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    counts = np.lib.stride_tricks.sliding_window_view(np.pad(np.ones(x.shape[2:]), padding), (size, size))[::stride, ::stride]
    return sums.sum(axis=(4, 5)) / counts.sum(axis=(2, 3))


# --- global max pooling: wrong answers and correct alternatives ---------------------------

def gmax_over_wrong_axes(x):
    return np.asarray(x, dtype=float).max(axis=(1, 2))


def gmax_keeps_dims(x):
    """(N, C, 1, 1) where (N, C) is asked."""
    return np.asarray(x, dtype=float).max(axis=(2, 3), keepdims=True)


def gmax_of_everything(x):
    return np.asarray(x, dtype=float).max(axis=(1, 2, 3))


def gmax_started_at_zero(x):
    """A running maximum started at 0: negative maps give 0."""
    return np.maximum(np.asarray(x, dtype=float).max(axis=(2, 3)), 0.0)


def gmax_in_float32(x):
    return np.asarray(x, dtype=np.float32).max(axis=(2, 3))


def gmax_last_row_only(x):
    return np.asarray(x, dtype=float)[:, :, -1, :].max(axis=2)


def gmax_by_reshape(x):
    """Correct: one row per channel, then the maximum of each row."""
    x = np.asarray(x)
    return x.reshape(x.shape[0], x.shape[1], -1).max(axis=-1).astype(np.float64)


def _gmax_backward(dout, x, rule="first"):
    x = np.asarray(x, dtype=float)
    dout = np.asarray(dout, dtype=float)
    n, c, h, w = x.shape
    dx = np.zeros_like(x)
    for i in range(n):
        for j in range(c):
            tied = np.argwhere(x[i, j] == x[i, j].max())  # row-major order
            if rule == "first":
                dx[i, j][tuple(tied[0])] = dout[i, j]
            elif rule == "last":
                dx[i, j][tuple(tied[-1])] = dout[i, j]
            elif rule == "every":
                dx[i, j][tuple(tied.T)] = dout[i, j]
            elif rule == "split":
                dx[i, j][tuple(tied.T)] = dout[i, j] / len(tied)
            elif rule == "column-major":
                first = min(tied.tolist(), key=lambda rc: (rc[1], rc[0]))
                dx[i, j][tuple(first)] = dout[i, j]
            elif rule == "mask":
                dx[i, j][tuple(tied[0])] = 1.0
    return dx


def gmax_backward_every_tie(dout, x):
    """The gradient copied to every tied cell."""
    return _gmax_backward(dout, x, "every")


def gmax_backward_last_tie(dout, x):
    return _gmax_backward(dout, x, "last")


def gmax_backward_split_among_ties(dout, x):
    """Keras' GlobalMaxPooling2D (tf.reduce_max) rule: the gradient shared among the ties, not the stated one."""
    return _gmax_backward(dout, x, "split")


def gmax_backward_column_major(dout, x):
    return _gmax_backward(dout, x, "column-major")


def gmax_backward_mask_only(dout, x):
    """1 at the maximum, dout forgotten."""
    return _gmax_backward(dout, x, "mask")


def gmax_backward_in_float32(dout, x):
    return _gmax_backward(dout, np.asarray(x, dtype=np.float32).astype(float), "first")


def gmax_backward_by_argmax(dout, x):
    """Correct: argmax of the flattened map finds the first maximum; put dout there."""
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    flat = np.zeros((n, c, h * w))
    first = x.reshape(n, c, -1).argmax(axis=-1)
    np.put_along_axis(flat, first[:, :, None], np.asarray(dout, dtype=np.float64)[:, :, None], axis=-1)
    return flat.reshape(n, c, h, w)


WRONG = {
    "avg_pool2d": [avg_counts_padding, avg_ignores_stride, avg_output_like_input, avg_in_float32],
    "avg_pool2d_backward": [avg_backward_not_divided, avg_backward_counts_padding, avg_backward_overwrites_overlaps,
                            avg_backward_max_routing, avg_backward_padding_capped],
    "global_avg_pool2d": [global_mean_of_everything, global_keeps_dims, global_max, global_mean_square_maps,
                          global_mean_in_float32, global_integer_mean],
    "global_max_pool2d": [gmax_over_wrong_axes, gmax_keeps_dims, gmax_of_everything, gmax_started_at_zero,
                          gmax_in_float32, gmax_last_row_only, global_mean_by_reshape],
    "global_max_pool2d_backward": [gmax_backward_every_tie, gmax_backward_last_tie, gmax_backward_split_among_ties,
                                   gmax_backward_column_major, gmax_backward_mask_only, gmax_backward_in_float32],
    "all_conv_model": [Model(f) for f in (model_with_max_pooling, model_strides_forgotten, model_valid_padding,
                                          model_flatten_head, model_no_activation, model_wrong_input,
                                          model_relu_forgotten_once, model_sigmoid_head)]
                      + [Model(lambda: "model", "not_a_model")],
}
RIGHT = {
    "avg_pool2d": [avg_by_sliding_windows],
    "global_avg_pool2d": [global_mean_by_reshape],
    "global_max_pool2d": [gmax_by_reshape],
    "global_max_pool2d_backward": [gmax_backward_by_argmax],
    "all_conv_model": [Model(f) for f in (right_model, right_model_functional, right_model_with_activation_layers,
                                          right_model_nested_blocks, right_model_functional_with_softmax_layer)],
}

# Families, generated for every operand whose values matter (avg_pool2d_backward's x gives only a shape):
# float32 casts; global max pooling's result left in an integer image's dtype.
FLOAT_OPERANDS = {"avg_pool2d": ("x",), "avg_pool2d_backward": ("dout",), "global_avg_pool2d": ("x",)}
for _part, _names in FLOAT_OPERANDS.items():
    WRONG[_part] = WRONG[_part] + operand_casts(ASSIGNMENT, _part, _names)
WRONG["global_max_pool2d"].append(in_input_dtype(ASSIGNMENT, "global_max_pool2d"))
# The signature's whole domain: stride=None passed explicitly must work as the default does.
for _part, _size_index in (("avg_pool2d", 1), ("avg_pool2d_backward", 2)):
    WRONG[_part] = WRONG[_part] + [stride_defaults_to_size(ASSIGNMENT, _part, _size_index),
                                   size_default(ASSIGNMENT, _part, _size_index)]
SOLUTION = {"all_conv_model": lambda namespace: Model(namespace["build_all_conv_model"])}


def test_solution_model_earns_every_point_in_memory_too(solution):
    report = grade_part(f"{ASSIGNMENT}/all_conv_model", solution["build_all_conv_model"]())
    assert report.points == get_part(f"{ASSIGNMENT}/all_conv_model").points, report.text()


@pytest.mark.parametrize("not_a_model", [None, "model", blank])
def test_something_that_is_not_a_model_earns_nothing(not_a_model):
    assert grade_part(f"{ASSIGNMENT}/all_conv_model", not_a_model).points == 0


def test_one_deviation_costs_only_its_own_features():
    """ReLU forgotten once: only the ReLU case fails; strides forgotten: strides and shapes, not the rest."""
    report = grade_part(f"{ASSIGNMENT}/all_conv_model", round_trip(model_relu_forgotten_once()))
    assert [label for _, label, _ in report.problems] == ["ReLU after every convolution"], report.text()
    report = grade_part(f"{ASSIGNMENT}/all_conv_model", round_trip(model_strides_forgotten()))
    assert report.passed == report.total - 2, report.text()


def test_a_blank_model_part_says_not_implemented():
    assert "not implemented" in grade_part(f"{ASSIGNMENT}/all_conv_model", None).text()


def test_backward_mistakes_pass_the_2x2_example_with_ones_or_not():
    # Not divided by the window: wrong even on the worked example, by a factor of 4.
    x = cases_for(f"{ASSIGNMENT}/avg_pool2d_backward")[0].args[1]
    np.testing.assert_allclose(avg_backward_not_divided(np.ones((1, 1, 2, 2)), x), np.ones((1, 1, 4, 4)))
    # Counting padding and overwriting overlaps are right on the 2x2/stride-2 example...
    right = _avg_backward(np.ones((1, 1, 2, 2)), x, 2, None, 0)
    np.testing.assert_allclose(avg_backward_counts_padding(np.ones((1, 1, 2, 2)), x), right)
    np.testing.assert_allclose(avg_backward_overwrites_overlaps(np.ones((1, 1, 2, 2)), x), right)
    # ...and lose points on the hidden cases with padding and overlapping windows.
    for wrong in (avg_backward_counts_padding, avg_backward_overwrites_overlaps):
        assert grade_part(f"{ASSIGNMENT}/avg_pool2d_backward", wrong).points <= 0.8 * get_part(f"{ASSIGNMENT}/avg_pool2d_backward").points


def test_feedback_names_the_case_but_not_the_expected_values():
    text = grade_part(f"{ASSIGNMENT}/avg_pool2d", avg_counts_padding).text()
    assert "padding=1" in text and "case " in text
    for case in cases_for(f"{ASSIGNMENT}/avg_pool2d"):
        assert np.array2string(case.expected) not in text

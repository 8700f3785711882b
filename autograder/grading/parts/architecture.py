"""Hidden cases of assignment 01-architecture.

Parameter counts, the output shapes of a small stack, the receptive field of
a stack and a translation-equivariance check. The first case of each part is
the book's worked example (the notebook's visible test checks it too); the
rest are random. Cases are chosen so that the usual mistakes fail some of
them: a forgotten bias or a bias per input channel, a square kernel assumed,
padding or stride ignored, channels not changed by a convolution, strides
left out of the receptive field, a wrap-around shift (``np.roll``), a shift
in the wrong direction, an exact ``==`` where rounding differs.

The references are computed with cnnkit (output sizes, convolutions,
pooling) or written out here where cnnkit has no such function (parameter
counts, the receptive-field recurrence, a zero-filled shift); the tests in
``tests/grading/test_architecture_grading.py`` hold the latter to cnnkit
(e.g. the receptive field measured by back-propagating through cnnkit's
convolutions).
"""

from __future__ import annotations

import numpy as np

from cnnkit import conv2d, conv_output_size, max_pool2d

from ..registry import Case, assignment

ASSIGNMENT = "01-architecture"
register = assignment(ASSIGNMENT)

# --- references -------------------------------------------------------------


def dense_params(n_inputs, units):
    """Weights and biases of a dense layer."""
    return n_inputs * units + units


def conv2d_params(in_channels, filters, kernel):
    """Weights and biases of a 2-D convolution; ``kernel`` is an int or a (KH, KW) pair."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return filters * (in_channels * kh * kw + 1)


def stack_shapes(input_shape, layers):
    """Output shape after each layer of a stack (see the exercise for the layer specs)."""
    shape, shapes = tuple(input_shape), []
    for layer in layers:
        kind = layer[0]
        if kind == "conv":
            _, filters, kernel, stride, padding = layer
            shape = (filters, conv_output_size(shape[1], kernel, stride, padding),
                     conv_output_size(shape[2], kernel, stride, padding))
        elif kind == "pool":
            _, size, stride = layer
            shape = (shape[0], conv_output_size(shape[1], size, stride), conv_output_size(shape[2], size, stride))
        elif kind == "flatten":
            shape = (int(np.prod(shape)),)
        elif kind == "dense":
            shape = (layer[1],)
        else:
            raise ValueError(f"unknown layer {layer!r}")
        shapes.append(tuple(int(v) for v in shape))
    return tuple(shapes)


def receptive_field(layers):
    """Side of the input window that one unit of the last layer sees.

    ``r = 1 + sum_l d_l (k_l - 1) * (s_1 ... s_{l-1})``: each layer widens the
    window by ``d(k - 1)`` of its *input's* cells, and one of those is as wide
    as the product of the strides before it.
    """
    size, jump = 1, 1
    for layer in layers:
        kernel, stride, dilation = (*layer, 1)[:3]
        size += dilation * (kernel - 1) * jump
        jump *= stride
    return size


def shift(x, dy, dx):
    """``x`` moved ``dy`` rows down and ``dx`` columns right; vacated cells are 0."""
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    h, w = x.shape
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = x[max(-dy, 0):h - max(dy, 0),
                                                                  max(-dx, 0):w - max(dx, 0)]
    return out


def is_shifted_copy(a, b, dy, dx):
    """True when ``b[i + dy, j + dx]`` equals ``a[i, j]`` (to rounding) wherever both exist."""
    h, w = a.shape
    rows_a, cols_a = slice(max(-dy, 0), h - max(dy, 0)), slice(max(-dx, 0), w - max(dx, 0))
    rows_b, cols_b = slice(max(dy, 0), h + min(dy, 0)), slice(max(dx, 0), w + min(dx, 0))
    return bool(np.allclose(b[rows_b, cols_b], a[rows_a, cols_a], rtol=1e-6, atol=1e-9))


# --- parts ------------------------------------------------------------------


@register("explosion", points=1, kind="value", description="the parameter explosion, computed by hand",
          returns=("the dense layer's weights", "the conv layer's parameters"))
def _explosion_cases(rng):
    expected = (200 * 200 * 40_000, conv2d_params(1, 64, 5))
    return [Case("explosion = (weights of the dense layer, parameters of the conv layer)", (), expected)]


@register("dense_params", points=1, description="parameters of a dense layer")
def _dense_params_cases(rng):
    cases = [Case("n_inputs=784, units=10 (the worked example)", (784, 10), dense_params(784, 10))]
    for _ in range(5):
        n, units = int(rng.integers(1, 5000)), int(rng.integers(1, 500))
        cases.append(Case(f"n_inputs={n}, units={units}", (n, units), dense_params(n, units)))
    return cases


@register("conv2d_params", points=2, description="parameters of a 2-D convolution")
def _conv2d_params_cases(rng):
    cases = [Case("in_channels=1, filters=64, kernel=5 (the worked example)", (1, 64, 5), conv2d_params(1, 64, 5))]
    kernels = [3, (3, 5), 1, (1, 7), 5, (4, 2), 7]
    for kernel in kernels:
        c, f = int(rng.integers(2, 65)), int(rng.integers(2, 129))
        if isinstance(kernel, tuple):
            kernel = tuple(int(k) for k in kernel)
        cases.append(Case(f"in_channels={c}, filters={f}, kernel={kernel}", (c, f, kernel),
                          conv2d_params(c, f, kernel)))
    return cases


# The chapter's stack: 28x28 gray digits, two conv/pool blocks, a classifier.
BOOK_STACK = [("conv", 8, 3, 1, 1), ("pool", 2, 2), ("conv", 16, 3, 1, 0), ("pool", 2, 2),
              ("flatten",), ("dense", 10)]


def _random_stack(rng):
    while True:
        c = int(rng.choice([1, 3]))
        h, w = int(rng.integers(16, 41)), int(rng.integers(16, 41))
        layers = []
        for _ in range(int(rng.integers(2, 4))):
            kernel = int(rng.choice([1, 3, 5]))
            layers.append(("conv", int(rng.integers(2, 33)), kernel, int(rng.choice([1, 1, 2])),
                           int(rng.integers(0, kernel // 2 + 2))))
            if rng.random() < 0.7:
                size = int(rng.choice([2, 3]))
                layers.append(("pool", size, int(rng.choice([size, 2]))))
        layers += [("flatten",), ("dense", int(rng.integers(2, 100)))]
        try:
            return (c, h, w), layers, stack_shapes((c, h, w), layers)
        except ValueError:  # a window grew larger than its input: draw again
            continue


def _stack_label(input_shape, layers):
    return f"input {input_shape}, layers {layers}"


def _layer_shape(index):
    return f"the shape after layer {index + 1}"


@register("stack_shapes", points=3, description="output shapes through a stack of layers", returns=_layer_shape)
def _stack_shapes_cases(rng):
    cases = [Case(f"{_stack_label((1, 28, 28), BOOK_STACK)} (the worked example)", ((1, 28, 28), BOOK_STACK),
                  stack_shapes((1, 28, 28), BOOK_STACK))]
    # The curriculum's shape example: 8 filters of 5x5 on a 16x16 gray image.
    single = [("conv", 8, 5, 1, 0)]
    cases.append(Case(_stack_label((1, 16, 16), single), ((1, 16, 16), single), stack_shapes((1, 16, 16), single)))
    # Stride and padding together on a non-square input with an odd size.
    fixed = [("conv", 6, 3, 2, 1), ("pool", 3, 2), ("conv", 4, 1, 1, 0), ("flatten",), ("dense", 7)]
    cases.append(Case(_stack_label((3, 21, 30), fixed), ((3, 21, 30), fixed), stack_shapes((3, 21, 30), fixed)))
    for _ in range(5):
        input_shape, layers, expected = _random_stack(rng)
        cases.append(Case(_stack_label(input_shape, layers), (input_shape, layers), expected))
    return cases


@register("receptive_field", points=2, description="receptive field of a stack of layers")
def _receptive_field_cases(rng):
    cases = [Case("layers [(3, 1), (3, 1), (3, 1)] (the worked example)", ([(3, 1), (3, 1), (3, 1)],),
                  receptive_field([(3, 1), (3, 1), (3, 1)]))]
    fixed = [
        [(3, 1, 1), (3, 1, 2), (3, 1, 4)],
        [(5, 1), (2, 2), (5, 1), (2, 2)],
        [(7, 2), (3, 2), (3, 1)],
        [(11, 4), (3, 2), (5, 1), (3, 2), (3, 1)],
    ]
    for layers in fixed:
        cases.append(Case(f"layers {layers}", (layers,), receptive_field(layers)))
    for _ in range(4):
        layers = []
        for _ in range(int(rng.integers(2, 6))):
            layer = (int(rng.choice([1, 2, 3, 5])), int(rng.choice([1, 1, 2, 3])))
            if rng.random() < 0.3:
                layer = (*layer, int(rng.choice([2, 3])))
            layers.append(layer)
        cases.append(Case(f"layers {layers}", (layers,), receptive_field(layers)))
    return cases


@register("shift", points=1, description="translating an image, with zeros coming in")
def _shift_cases(rng):
    x = np.arange(1.0, 13.0).reshape(3, 4)
    cases = [Case("x (3, 4), dy=1, dx=2 (the worked example)", (x, 1, 2), shift(x, 1, 2), dtype="floating")]
    # Fixed edges of the domain: a shift as large as the image or larger (each axis, each sign) leaves
    # zeros; an integer image still gives a float array (the exercise says so).
    ramp = np.arange(1.0, 16.0).reshape(3, 5)
    for dy, dx in [(0, 5), (0, 7), (0, -6), (3, 0), (-4, 1), (1, -5), (2, 4), (-2, -4)]:
        cases.append(Case(f"x (3, 5), dy={dy}, dx={dx}", (ramp.copy(), dy, dx), shift(ramp, dy, dx), dtype="floating"))
    digits = np.arange(20, dtype=np.int64).reshape(4, 5) - 7
    cases.append(Case("x (4, 5) of integers (int64), dy=1, dx=-2", (digits, 1, -2), shift(digits, 1, -2),
                      dtype="floating"))
    for shape, dy, dx in [((5, 5), 2, 0), ((4, 6), 0, -3), ((6, 5), -2, 1), ((5, 7), 3, -4), ((4, 4), 0, 0),
                          ((3, 5), 4, 1)]:
        x = rng.standard_normal(shape)
        cases.append(Case(f"x {shape}, dy={dy}, dx={dx}", (x, dy, dx), shift(x, dy, dx), dtype="floating"))
    return cases


def _feature_map(x, w, stride=1, pool=False):
    y = conv2d(x[None, None], w[None, None], stride=stride)
    if pool:
        y = max_pool2d(y, 2)
    return y[0, 0]


@register("is_shifted_copy", points=2, description="is a feature map a shifted copy of another?")
def _is_shifted_copy_cases(rng):
    cases = []

    def add(label, a, b, dy, dx, expected):
        cases.append(Case(f"{label}, a {a.shape}, dy={dy}, dx={dx}", (a, b, dy, dx), expected))
        assert is_shifted_copy(a, b, dy, dx) == expected, label  # the reference agrees with the label

    # The worked example: an edge filter over a small image shifted by (2, 1).
    x = np.zeros((8, 8))
    x[2:5, 2:4] = 1.0
    w = np.array([[1.0, 0.0, -1.0]] * 3)
    add("conv of x and of x shifted by (2, 1) (the worked example)", _feature_map(x, w),
        _feature_map(shift(x, 2, 1), w), 2, 1, True)
    for _ in range(2):
        x, w = rng.standard_normal((int(rng.integers(9, 14)), int(rng.integers(9, 14)))), rng.standard_normal((3, 3))
        dy, dx = int(rng.integers(-3, 4)), int(rng.integers(1, 4))
        a, b = _feature_map(x, w), _feature_map(shift(x, dy, dx), w)
        add("conv of x and of x shifted", a, b, dy, dx, True)
        add("conv of x and of x shifted, asked about the opposite shift", a, b, -dy, -dx, False)
        # Rounding noise far below the tolerance: still a shifted copy.
        add("conv of x and of x shifted, plus rounding noise", a, b + 1e-13 * rng.standard_normal(b.shape),
            dy, dx, True)
        # One cell of the overlap changed (the last one), which only a check over the whole overlap sees.
        changed = b.copy()
        changed[-1 if dy >= 0 else b.shape[0] - 1 + dy, -1] += 0.5
        add("one cell of the overlap changed", a, changed, dy, dx, False)
    # The stated tolerance, probed on both sides of each bound: np.allclose(b, a, rtol=1e-6, atol=1e-9)
    # accepts |b - a| <= 1e-9 + 1e-6 |a|. Large values test rtol, values near 0 test atol; the defaults
    # of np.allclose (rtol=1e-5, atol=1e-8), swapped tolerances and an exact == each miss some.
    base = np.linspace(-3.0, 3.0, 36).reshape(6, 6)
    for scale, label in [(1e3, "values near 1000"), (0.0, "values near 0")]:
        a = base * scale + (0.0 if scale else 1e-12) * base
        bound = 1e-9 + 1e-6 * np.abs(a)
        for factor, expected in [(0.5, True), (3.0, False)]:
            b = a.copy()
            b[1:, 1:] = a[:-1, :-1]
            b[3, 4] += factor * bound[2, 3]
            add(f"{label}, one cell off by {factor}x the stated tolerance", a, b, 1, 1, expected)
    # A layer that adds a position-dependent bias is not equivariant.
    x, w = rng.standard_normal((12, 12)), rng.standard_normal((3, 3))
    ramp = np.arange(10.0)[:, None] * np.ones(10)
    add("conv plus a position-dependent bias", _feature_map(x, w) + ramp, _feature_map(shift(x, 2, 2), w) + ramp,
        2, 2, False)
    # Stride 2: a shift by (2, 4) moves the output by (1, 2); a shift by (1, 2) moves it by no whole cell.
    x = rng.standard_normal((15, 15))
    add("stride-2 conv, input shifted by (2, 4)", _feature_map(x, w, stride=2),
        _feature_map(shift(x, 2, 4), w, stride=2), 1, 2, True)
    add("stride-2 conv, input shifted by (1, 2)", _feature_map(x, w, stride=2),
        _feature_map(shift(x, 1, 2), w, stride=2), 0, 1, False)
    # Conv then 2x2 max pooling: a shift by an even number of pixels survives, as a shift by half.
    x = rng.standard_normal((14, 14))
    add("conv and 2x2 max pool, input shifted by (-2, 4)", _feature_map(x, w, pool=True),
        _feature_map(shift(x, -2, 4), w, pool=True), -1, 2, True)
    return cases

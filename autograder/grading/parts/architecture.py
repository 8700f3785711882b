"""Hidden cases of assignment 01-architecture.

Parameter counts, the output shapes of a small stack, the receptive field of
a stack and a translation-equivariance check; then (parts 8-11) the output
shape, parameters and multiply-adds of layers described as data in
:mod:`cnnkit.architectures`' format, and the totals of whole stacks
(VGG-16 and a one-GPU AlexNet among them), graded against that module. The first case of each part is
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
    # The bound is relative to a's value (np.allclose(b, a) scales by |a|), not b's: near 1000, a cell off by
    # between 1e-9 + 1e-6 |a| and 1e-9 + 1e-6 |b| (b larger) is outside it, and np.allclose(a, b) lets it in.
    a = 1000.0 + base
    b = a.copy()
    b[1:, 1:] = a[:-1, :-1]
    bound_a = 1e-9 + 1e-6 * abs(a[2, 3])
    bound_b = 1e-9 + 1e-6 * (abs(a[2, 3]) + bound_a)
    b[3, 4] += (bound_a + bound_b) / 2
    add("values near 1000, one cell off by just over the stated tolerance (relative to a, not b)", a, b, 1, 1, False)
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


# --- parts 8-11: a stack of layers described as data (cnnkit.architectures' format) -------------
#
# The subset the notebook states: "conv" (filters, kernel, stride=1, padding=0, bias=True), "maxpool" and
# "avgpool" (size, stride=None meaning size, padding=0), "dense" (units, bias=True), "flatten",
# "globalavgpool", "globalmaxpool", "relu", "dropout", "softmax"; ints for kernel, stride and padding.
# MACs count the weights' multiply-adds only (biases, pooling and activations count 0), as cnnkit does.

from cnnkit.architectures import alexnet, layer_macs, layer_output_shape, layer_params, summarize, totals, vgg16  # noqa: E402


def _conv_layer(filters, kernel, stride=None, padding=None, **settings):
    """A conv layer dict; ``stride`` and ``padding`` are left out (their defaults apply) unless given."""
    layer = {"type": "conv", "filters": filters, "kernel": kernel}
    layer.update({key: value for key, value in (("stride", stride), ("padding", padding)) if value is not None})
    return {**layer, **settings}


def alexnet_like():
    """AlexNet on one GPU: cnnkit's AlexNet without the two-GPU ``groups``, ``((3, 227, 227), layers)``."""
    shape, layers = alexnet()
    return shape, [{k: v for k, v in layer.items() if k != "groups"} for layer in layers]


def vgg16_like():
    """cnnkit's VGG-16 (configuration D), ``((3, 224, 224), layers)``."""
    return vgg16()


# (label, layer, input shape): each a boundary of the counting or shape rules.
def single_layer_inputs():
    return [
        ("LeNet-5's C1: conv 6 filters 5x5 on (1, 32, 32)", _conv_layer(6, 5), (1, 32, 32)),
        ("VGG's first conv: 64 filters 3x3, padding 1, on (3, 224, 224)", _conv_layer(64, 3, padding=1), (3, 224, 224)),
        ("conv 8 filters 3x3, stride 2, padding 1, on an odd (3, 15, 20)", _conv_layer(8, 3, 2, 1), (3, 15, 20)),
        ("conv 4 filters 5x5, stride 3, on (2, 17, 11) (floor matters)", _conv_layer(4, 5, 3), (2, 17, 11)),
        ("conv 5 filters 7x7, padding 1, on (3, 5, 5): fits exactly once", _conv_layer(5, 7, 1, 1), (3, 5, 5)),
        ("conv 16 filters 1x1 on (32, 7, 9)", _conv_layer(16, 1), (32, 7, 9)),
        ("conv 12 filters 3x3, bias=False, on (6, 10, 10)", _conv_layer(12, 3, bias=False), (6, 10, 10)),
        ("conv 96 filters 11x11, stride 4, on (3, 227, 227) (AlexNet's conv1)", _conv_layer(96, 11, 4), (3, 227, 227)),
        ("maxpool size 2 (stride not given) on (8, 28, 28)", {"type": "maxpool", "size": 2}, (8, 28, 28)),
        ("maxpool size 3, stride 2 on (96, 55, 55) (overlapping)", {"type": "maxpool", "size": 3, "stride": 2}, (96, 55, 55)),
        ("maxpool size 3, stride 2, padding 1 on (64, 112, 112)",
         {"type": "maxpool", "size": 3, "stride": 2, "padding": 1}, (64, 112, 112)),
        ("avgpool size 2 (stride not given) on an odd (6, 7, 9)", {"type": "avgpool", "size": 2}, (6, 7, 9)),
        ("avgpool size 3, stride 1 on (4, 6, 5)", {"type": "avgpool", "size": 3, "stride": 1}, (4, 6, 5)),
        ("flatten on (16, 5, 5)", {"type": "flatten"}, (16, 5, 5)),
        ("flatten on (3, 4, 7)", {"type": "flatten"}, (3, 4, 7)),
        ("dense 10 units on (576,) (after flatten)", {"type": "dense", "units": 10}, (576,)),
        ("dense 7 units, bias=False, on (30,)", {"type": "dense", "units": 7, "bias": False}, (30,)),
        ("globalavgpool on (32, 7, 5)", {"type": "globalavgpool"}, (32, 7, 5)),
        ("globalmaxpool on (12, 3, 8)", {"type": "globalmaxpool"}, (12, 3, 8)),
        ("relu on (8, 6, 6)", {"type": "relu"}, (8, 6, 6)),
        ("dropout on (100,)", {"type": "dropout", "rate": 0.5}, (100,)),
        ("softmax on (10,)", {"type": "softmax"}, (10,)),
        # Every optional key also spelled out at its default, and pooling's stride given as None (the table
        # allows it: "equal to size"), so that a default read wrongly, or a key read as required, shows.
        ("conv 6 filters 5x5, stride 1 and padding 0 given, on (1, 32, 32)", _conv_layer(6, 5, 1, 0, bias=True),
         (1, 32, 32)),
        ("conv 4 filters 3x3, stride 2 (padding not given), on (3, 9, 9)", _conv_layer(4, 3, 2), (3, 9, 9)),
        ("maxpool size 2, stride None on (8, 28, 28)", {"type": "maxpool", "size": 2, "stride": None}, (8, 28, 28)),
        ("avgpool size 3, stride None, padding 1 on (5, 10, 8)",
         {"type": "avgpool", "size": 3, "stride": None, "padding": 1}, (5, 10, 8)),
        ("maxpool size 3, stride None, padding 0 on (2, 9, 11)",
         {"type": "maxpool", "size": 3, "stride": None, "padding": 0}, (2, 9, 11)),
        ("avgpool size 2, padding 1 (stride not given) on (3, 7, 6)", {"type": "avgpool", "size": 2, "padding": 1},
         (3, 7, 6)),
        # The activations and dropout on feature maps as well as on vectors, dropout with and without its rate.
        ("dropout, rate 0.3, on feature maps (8, 5, 6)", {"type": "dropout", "rate": 0.3}, (8, 5, 6)),
        ("dropout (no rate given) on (16,)", {"type": "dropout"}, (16,)),
        ("relu on (84,)", {"type": "relu"}, (84,)),
        ("softmax on feature maps (4, 3, 5)", {"type": "softmax"}, (4, 3, 5)),
        ("dense 3 units, bias=True, with a name, on (12,)", {"type": "dense", "units": 3, "bias": True, "name": "out"},
         (12,)),
    ]


def _optional(rng, layer, key, default, other, allow_none=False):
    """Set ``layer[key]``: left out, its default spelled out, ``None`` (where the table allows it) or ``other``."""
    spellings = ["absent", "default", "other"] + (["none"] if allow_none else [])
    spelling = str(rng.choice(spellings))
    if spelling == "default":
        layer[key] = default
    elif spelling == "none":
        layer[key] = None
    elif spelling == "other":
        layer[key] = other
    return layer


def layer_label(layer, shape):
    """The student-facing label of one layer: the dict itself (its keys show which settings were given)."""
    return f"{layer} on {tuple(shape)}"


MAP_ONLY = ("conv", "maxpool", "avgpool", "flatten", "globalavgpool", "globalmaxpool")
ANY_SHAPE = ("relu", "dropout", "softmax")


def random_layer_for(rng, shape):
    """One random layer of any kind that fits ``shape`` (a map ``(C, H, W)`` or a vector ``(n,)``).

    Each optional key of the table is drawn left out, spelled at its
    default, at another value, or (pooling's stride) ``None``.
    """
    kinds = (MAP_ONLY + ANY_SHAPE + ("dense",)) if len(shape) == 3 else ANY_SHAPE + ("dense",)
    kind = str(rng.choice(kinds))
    if kind == "conv":
        kernel = int(rng.choice([k for k in (1, 2, 3, 5) if k <= min(shape[1:]) + 2]))
        layer = {"type": "conv", "filters": int(rng.integers(1, 65)), "kernel": kernel}
        _optional(rng, layer, "stride", 1, int(rng.integers(2, 4)))
        _optional(rng, layer, "padding", 0, int(rng.integers(1, kernel // 2 + 2)))
        _optional(rng, layer, "bias", True, False)
    elif kind in ("maxpool", "avgpool"):
        size = int(rng.choice([2, 3]))
        layer = {"type": kind, "size": size}
        _optional(rng, layer, "stride", size, int(rng.choice([1, 2])), allow_none=True)
        _optional(rng, layer, "padding", 0, 1)
    elif kind == "dense":
        layer = _optional(rng, {"type": "dense", "units": int(rng.integers(1, 200))}, "bias", True, False)
    elif kind == "dropout":
        layer = _optional(rng, {"type": "dropout"}, "rate", 0.5, float(rng.choice([0.1, 0.25])))
    else:
        layer = {"type": kind}
    try:
        layer_output_shape(layer, shape)
    except ValueError:  # a window larger than its input: draw again
        return random_layer_for(rng, shape)
    return layer


def _random_layer(rng):
    """One random layer with an input it fits: ``(label, layer, input shape)``."""
    if rng.random() < 0.25:
        shape = (int(rng.integers(1, 3000)),)
    else:
        shape = (int(rng.integers(1, 65)), int(rng.integers(6, 40)), int(rng.integers(6, 40)))
    layer = random_layer_for(rng, shape)
    return layer_label(layer, shape), layer, shape


def _layer_cases(rng, reference):
    cases = [Case(label, (layer, shape), reference(layer, shape)) for label, layer, shape in single_layer_inputs()]
    for _ in range(10):
        label, layer, shape = _random_layer(rng)
        cases.append(Case(label, (layer, shape), reference(layer, shape)))
    return cases


def _output_shape_reference(layer, shape):
    return tuple(int(v) for v in layer_output_shape(layer, shape))


def _axis_name(index):
    return f"entry {index} of the shape"


@register("layer_output_shape", points=2, description="the output shape of one layer described as data",
          returns=_axis_name)
def _layer_output_shape_cases(rng):
    return _layer_cases(rng, _output_shape_reference)


@register("layer_params", points=2, description="the parameters of one layer described as data")
def _layer_params_cases(rng):
    return _layer_cases(rng, lambda layer, shape: int(layer_params(layer, shape)))


@register("layer_macs", points=2, description="the multiply-adds of one layer described as data (biases not counted)")
def _layer_macs_cases(rng):
    return _layer_cases(rng, lambda layer, shape: int(layer_macs(layer, shape)))


def stack_totals_reference(layers, input_shape):
    """``(output shape, parameters, multiply-adds)`` of a whole stack, from cnnkit's ``summarize``."""
    rows = summarize(layers, input_shape)
    total = totals(rows)
    return tuple(int(v) for v in rows[-1].output_shape), int(total["params"]), int(total["macs"])


def small_stacks():
    """(label, input shape, layers): LeNet-5, a stack with every layer type, and a 1x1-bottleneck stack."""
    lenet = [_conv_layer(6, 5), {"type": "avgpool", "size": 2}, _conv_layer(16, 5), {"type": "avgpool", "size": 2},
             _conv_layer(120, 5), {"type": "flatten"}, {"type": "dense", "units": 84}, {"type": "relu"},
             {"type": "dense", "units": 10}, {"type": "softmax"}]
    mixed = [_conv_layer(8, 3, 2, 1, bias=False), {"type": "relu"}, {"type": "maxpool", "size": 3, "stride": 2},
             _conv_layer(16, 1), {"type": "avgpool", "size": 2, "stride": 1}, {"type": "dropout", "rate": 0.25},
             {"type": "flatten"}, {"type": "dense", "units": 5, "bias": False}]
    gap = [_conv_layer(32, 3, padding=1), {"type": "relu"}, _conv_layer(8, 1, bias=False), {"type": "globalavgpool"},
           {"type": "dense", "units": 3}]
    # Stacks that end in feature maps, in a global pooling or in dropout on maps, and start with pooling:
    # the output shape is the last layer's, whatever its kind.
    fully_conv = [{"type": "maxpool", "size": 2, "stride": None}, _conv_layer(6, 3, padding=1), {"type": "relu"},
                  _conv_layer(4, 1, bias=False)]
    global_max = [_conv_layer(10, 3, 2), {"type": "dropout", "rate": 0.2}, {"type": "globalmaxpool"}]
    maps_dropout = [{"type": "avgpool", "size": 3, "stride": 1, "padding": 1}, _conv_layer(5, 2, 1, 0),
                    {"type": "softmax"}, {"type": "dropout"}]
    return [("LeNet-5 on (1, 32, 32)", (1, 32, 32), lenet), ("every layer type on (3, 21, 30)", (3, 21, 30), mixed),
            ("a 1x1 bottleneck and global average pooling on (16, 9, 7)", (16, 9, 7), gap),
            ("pooling first, ending in feature maps, on (3, 12, 10)", (3, 12, 10), fully_conv),
            ("ending in global max pooling, on (2, 15, 13)", (2, 15, 13), global_max),
            ("ending in dropout on feature maps, on (4, 8, 9)", (4, 8, 9), maps_dropout)]


def random_stack_any_kind(rng):
    """``(input shape, layers)``: 1 to 7 layers, each of any kind that fits where it stands (:func:`random_layer_for`)."""
    shape = (int(rng.integers(1, 8)), int(rng.integers(8, 40)), int(rng.integers(8, 40)))
    layers, current = [], shape
    for _ in range(int(rng.integers(1, 8))):
        layer = random_layer_for(rng, current)
        layers.append(layer)
        current = tuple(layer_output_shape(layer, current))
    return shape, layers


def _random_stack_of_dicts(rng):
    while True:
        shape = (int(rng.choice([1, 3])), int(rng.integers(16, 48)), int(rng.integers(16, 48)))
        layers = []
        for _ in range(int(rng.integers(2, 5))):
            kernel = int(rng.choice([1, 3, 5]))
            layer = _conv_layer(int(rng.integers(2, 65)), kernel, int(rng.choice([1, 1, 2])),
                                int(rng.integers(0, kernel // 2 + 1)))
            if rng.random() < 0.3:
                layer["bias"] = False
            layers += [layer, {"type": "relu"}]
            if rng.random() < 0.6:
                size = int(rng.choice([2, 3]))
                layers.append({"type": str(rng.choice(["maxpool", "avgpool"])), "size": size,
                               "stride": int(rng.choice([size, 2]))})
        layers += [{"type": "flatten"}, {"type": "dense", "units": int(rng.integers(2, 100))}]
        try:
            return shape, layers, stack_totals_reference(layers, shape)
        except ValueError:  # a window grew larger than its input: draw again
            continue


def _totals_name(index):
    return ("the output shape", "the parameters", "the multiply-adds")[index] if index < 3 else f"item {index}"


@register("stack_totals", points=2, description="output shape, parameters and multiply-adds of a whole stack",
          returns=_totals_name)
def _stack_totals_cases(rng):
    cases = []
    for label, (shape, layers) in [("VGG-16 on (3, 224, 224)", vgg16_like()),
                                   ("AlexNet on one GPU on (3, 227, 227)", alexnet_like())]:
        cases.append(Case(label, (layers, shape), stack_totals_reference(layers, shape)))
    for label, shape, layers in small_stacks():
        cases.append(Case(label, (layers, shape), stack_totals_reference(layers, shape)))
    for _ in range(4):
        shape, layers, expected = _random_stack_of_dicts(rng)
        cases.append(Case(f"input {shape}, {len(layers)} layers: " + ", ".join(l["type"] for l in layers),
                          (layers, shape), expected))
    for _ in range(4):
        shape, layers = random_stack_any_kind(rng)
        cases.append(Case(f"input {shape}, layers {layers}", (layers, shape), stack_totals_reference(layers, shape)))
    return cases

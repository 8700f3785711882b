"""The reference solutions satisfy each statement over the whole domain it describes (property-based).

The hidden cases are drawn from the domain each statement allows (optional
keys or arguments left out, at their default, at another value, ``None``
where the statement allows it; integer and float inputs where both are
allowed; edge sizes). These tests draw from the same domain with Hypothesis
and check the solution notebook's answers against the statement, written
here independently of both the solution and the grading parts (the table's
formulas, windows taken one by one), so that a case the grader may draw is
one the solution answers as the statement says. One test per part family.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import cached_solution

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ABSENT = object()


def _spelled(draw, layer, key, default, other, allow_none=False):
    """Set ``layer[key]`` left out, at its default, at ``other`` or (where allowed) ``None``."""
    choices = [ABSENT, default, other] + ([None] if allow_none else [])
    value = draw(st.sampled_from(choices))
    if value is not ABSENT:
        layer[key] = value


# --- exercise 01, parts 8-11: a layer described as data -------------------------------------------

@st.composite
def layers_and_shapes(draw):
    """A layer dict of any kind in the table, each optional key spelled any allowed way, and an input it fits."""
    if draw(st.booleans()):
        shape = (draw(st.integers(1, 16)), draw(st.integers(1, 20)), draw(st.integers(1, 20)))
        kinds = ["conv", "maxpool", "avgpool", "flatten", "globalavgpool", "globalmaxpool", "relu", "dropout",
                 "softmax", "dense"]
    else:
        shape = (draw(st.integers(1, 500)),)
        kinds = ["dense", "relu", "dropout", "softmax"]
    kind = draw(st.sampled_from(kinds))
    layer = {"type": kind}
    if kind == "conv":
        layer.update(filters=draw(st.integers(1, 32)), kernel=draw(st.integers(1, 5)))
        _spelled(draw, layer, "stride", 1, draw(st.integers(2, 4)))
        _spelled(draw, layer, "padding", 0, draw(st.integers(1, 3)))
        _spelled(draw, layer, "bias", True, False)
    elif kind in ("maxpool", "avgpool"):
        layer["size"] = draw(st.integers(1, 4))
        _spelled(draw, layer, "stride", layer["size"], draw(st.integers(1, 3)), allow_none=True)
        _spelled(draw, layer, "padding", 0, draw(st.integers(1, 2)))
    elif kind == "dense":
        layer["units"] = draw(st.integers(1, 100))
        _spelled(draw, layer, "bias", True, False)
    elif kind == "dropout":
        _spelled(draw, layer, "rate", 0.5, 0.2)
    if draw(st.booleans()):
        layer["name"] = "extra"  # "a layer may also carry other keys: ignore them"
    if kind in ("conv", "maxpool", "avgpool"):
        k = layer.get("kernel", layer.get("size"))
        if shape[1] + 2 * layer.get("padding", 0) < k or shape[2] + 2 * layer.get("padding", 0) < k:
            shape = (shape[0], shape[1] + k, shape[2] + k)  # the statement's formula needs the window to fit
    return layer, shape


def table(layer, shape):
    """The statement's table: ``(output shape, parameters, MACs)`` of one layer."""
    kind = layer["type"]
    if kind in ("conv", "maxpool", "avgpool"):
        c, h, w = shape
        k = layer["kernel"] if kind == "conv" else layer["size"]
        stride = layer.get("stride", 1 if kind == "conv" else k)
        stride = k if stride is None else stride
        p = layer.get("padding", 0)
        ho, wo = (h + 2 * p - k) // stride + 1, (w + 2 * p - k) // stride + 1
        if kind != "conv":
            return (c, ho, wo), 0, 0
        f = layer["filters"]
        return (f, ho, wo), f * c * k * k + (f if layer.get("bias", True) else 0), ho * wo * f * c * k * k
    if kind == "dense":
        n, u = shape[0], layer["units"]
        return (u,), n * u + (u if layer.get("bias", True) else 0), n * u
    if kind == "flatten":
        return (int(np.prod(shape)),), 0, 0
    if kind in ("globalavgpool", "globalmaxpool"):
        return (shape[0],), 0, 0
    return tuple(shape), 0, 0


@SETTINGS
@given(layers_and_shapes())
def test_architecture_layers_follow_the_table(case):
    ns = cached_solution("01-architecture")
    layer, shape = case
    expected_shape, expected_params, expected_macs = table(layer, shape)
    assert tuple(ns["layer_output_shape"](dict(layer), shape)) == expected_shape
    assert ns["layer_params"](dict(layer), shape) == expected_params
    assert ns["layer_macs"](dict(layer), shape) == expected_macs


@st.composite
def stacks(draw):
    """A stack of 1-6 layers of any kind, each fitting where it stands, ending anywhere."""
    shape = (draw(st.integers(1, 6)), draw(st.integers(8, 30)), draw(st.integers(8, 30)))
    layers, current = [], shape
    for _ in range(draw(st.integers(1, 6))):
        layer, fitted = draw(layers_and_shapes())
        if len(fitted) != len(current) or (len(current) == 3 and fitted != current):
            continue  # drawn for another input; skip rather than bend it
        layers.append(layer)
        current = table(layer, current)[0]
    return shape, layers


@SETTINGS
@given(stacks())
def test_architecture_totals_add_up_the_table(stack):
    ns = cached_solution("01-architecture")
    shape, layers = stack
    current, params, macs = shape, 0, 0
    for layer in layers:
        out, p, m = table(layer, current)
        current, params, macs = out, params + p, macs + m
    got_shape, got_params, got_macs = ns["stack_totals"]([dict(layer) for layer in layers], shape)
    assert (tuple(got_shape), got_params, got_macs) == (current, params, macs)


# --- exercises 02 and 03: correlations, integer or float, padding given or not --------------------

def _array(draw, shape, integer):
    if integer:
        return np.array(draw(st.lists(st.integers(-5, 5), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
                        dtype=np.int64).reshape(shape)
    values = st.floats(-10, 10, allow_nan=False, allow_subnormal=False)
    return np.array(draw(st.lists(values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))).reshape(shape)


def _windows_2d(x, k, stride=1, dilation=1):
    """Every window of ``x`` (C, H, W), one by one: ``{(i, j): window}``."""
    _, h, w = x.shape
    span = dilation * (k[0] - 1) + 1, dilation * (k[1] - 1) + 1
    return {(i, j): x[:, i * stride:i * stride + span[0]:dilation, j * stride:j * stride + span[1]:dilation]
            for i in range((h - span[0]) // stride + 1) for j in range((w - span[1]) // stride + 1)}


@SETTINGS
@given(st.data())
def test_correlate1d_is_the_windowed_dot_product_for_int_and_float(data):
    ns = cached_solution("02-convolution")
    n, k = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 6))
    padding = data.draw(st.sampled_from([ABSENT, 0, 1, 3]))
    if n + 2 * (0 if padding is ABSENT else padding) < k:
        n = k
    x, w = _array(data.draw, (n,), data.draw(st.booleans())), _array(data.draw, (k,), data.draw(st.booleans()))
    kwargs = {} if padding is ABSENT else {"padding": padding}
    got = ns["correlate1d"](x, w, **kwargs)
    xp = np.pad(x.astype(float), kwargs.get("padding", 0))
    expected = [float(np.dot(xp[i:i + k], w.astype(float))) for i in range(len(xp) - k + 1)]
    assert np.asarray(got).dtype.kind == "f", "the statement asks for a float array"
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(st.data())
def test_conv2d_backward_matches_the_statement_for_integer_kernels(data):
    """(dx, dw, db) from the statement's loop, for int or float x and kernels, settings given or left out."""
    ns = cached_solution("02-convolution")
    c, f, k = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3))
    x = _array(data.draw, (1, c, k + data.draw(st.integers(0, 3)), k + data.draw(st.integers(0, 3))),
               data.draw(st.booleans()))
    w = _array(data.draw, (f, c, k, k), data.draw(st.booleans()))
    kwargs = {key: data.draw(st.sampled_from(values)) for key, values in
              (("stride", [ABSENT, 1, 2]), ("padding", [ABSENT, 0, 1]))}
    kwargs = {key: value for key, value in kwargs.items() if value is not ABSENT}
    stride, padding = kwargs.get("stride", 1), kwargs.get("padding", 0)
    xp = np.pad(x[0].astype(float), ((0, 0), (padding, padding), (padding, padding)))
    windows = _windows_2d(xp, (k, k), stride)
    ho, wo = max(i for i, _ in windows) + 1, max(j for _, j in windows) + 1
    dout = _array(data.draw, (1, f, ho, wo), False)
    dxp, dw, db = np.zeros_like(xp), np.zeros(w.shape), np.zeros(f)
    for (i, j), window in windows.items():
        for filt in range(f):
            g = dout[0, filt, i, j]
            dxp[:, i * stride:i * stride + k, j * stride:j * stride + k] += g * w[filt]
            dw[filt] += g * window
            db[filt] += g
    dx = dxp[:, padding:padding + x.shape[2], padding:padding + x.shape[3]][None]
    got = ns["conv2d_backward"](dout, x, w, **kwargs)
    for name, value, expected in zip(("dx", "dw", "db"), got, (dx, dw, db)):
        assert np.asarray(value).dtype.kind == "f", f"{name} must be a float array"
        np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-10, err_msg=name)


@SETTINGS
@given(st.data())
def test_depthwise_conv2d_matches_the_statement(data):
    """Output channel c*M + m is channel c's windows dotted with w[c, m]: int or float x and w, M = 1 or more,
    b given, None or left out, stride and padding given or left out, kernels from 1x1 to the padded input."""
    ns = cached_solution("02-convolution")
    c, m, kh, kw = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)),
                    data.draw(st.integers(1, 3)))
    x = _array(data.draw, (data.draw(st.integers(1, 2)), c, kh + data.draw(st.integers(0, 3)),
                           kw + data.draw(st.integers(0, 3))), data.draw(st.booleans()))
    w = _array(data.draw, (c, m, kh, kw), data.draw(st.booleans()))
    kwargs = {key: data.draw(st.sampled_from(values)) for key, values in
              (("stride", [ABSENT, 1, 2]), ("padding", [ABSENT, 0, 1]),
               ("b", [ABSENT, None, _array(data.draw, (c * m,), False)]))}
    kwargs = {key: value for key, value in kwargs.items() if value is not ABSENT}
    stride, padding, b = kwargs.get("stride", 1), kwargs.get("padding", 0), kwargs.get("b")
    got = ns["depthwise_conv2d"](x, w, **kwargs)
    assert np.asarray(got).dtype.kind == "f", "the statement asks for a float array"
    for n in range(x.shape[0]):
        xp = np.pad(x[n].astype(float), ((0, 0), (padding, padding), (padding, padding)))
        windows = _windows_2d(xp, (kh, kw), stride)
        for (i, j), window in windows.items():
            for ch in range(c):
                for k in range(m):
                    expected = float(np.sum(window[ch] * w[ch, k])) + (0.0 if b is None else b[ch * m + k])
                    assert got[n, ch * m + k, i, j] == pytest.approx(expected, rel=1e-10, abs=1e-10)
        assert got.shape[2:] == (max(i for i, _ in windows) + 1, max(j for _, j in windows) + 1)


@SETTINGS
@given(st.data())
def test_separable_cost_counts_both_steps(data):
    """(params, MACs) of the statement's two steps, the depthwise one counted window by window."""
    ns = cached_solution("02-convolution")
    k = data.draw(st.integers(1, 5))
    h, w = data.draw(st.integers(k, k + 20)), data.draw(st.integers(k, k + 20))
    c_in, c_out = data.draw(st.integers(1, 64)), data.draw(st.integers(1, 64))
    kwargs = {key: data.draw(st.sampled_from(values)) for key, values in
              (("stride", [ABSENT, 1, 2, 3]), ("padding", [ABSENT, 0, 1, 2]))}
    kwargs = {key: value for key, value in kwargs.items() if value is not ABSENT}
    stride, padding = kwargs.get("stride", 1), kwargs.get("padding", 0)
    positions = len(_windows_2d(np.zeros((1, h + 2 * padding, w + 2 * padding)), (k, k), stride))
    params, macs = ns["separable_cost"](h, w, c_in, c_out, k, **kwargs)
    assert params == c_in * k * k + c_in * c_out + c_out
    assert macs == positions * c_in * k * k + positions * c_in * c_out


@SETTINGS
@given(st.data())
def test_correlate2d_valid_and_same_for_int_and_float(data):
    ns = cached_solution("03-feature-maps")
    kh, kw = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    image = _array(data.draw, (kh + data.draw(st.integers(0, 4)), kw + data.draw(st.integers(0, 4))),
                   data.draw(st.booleans()))
    kernel = _array(data.draw, (kh, kw), data.draw(st.booleans()))
    padding = data.draw(st.sampled_from([ABSENT, "valid", "same"]))
    kwargs = {} if padding is ABSENT else {"padding": padding}
    padded = image.astype(float)
    if padding == "same":  # the extra row and column of an even kernel go to the bottom and right
        top, left = (kh - 1) // 2, (kw - 1) // 2
        padded = np.pad(padded, ((top, kh - 1 - top), (left, kw - 1 - left)))
    windows = _windows_2d(padded[None], (kh, kw))
    expected = np.zeros((max(i for i, _ in windows) + 1, max(j for _, j in windows) + 1))
    for (i, j), window in windows.items():
        expected[i, j] = np.sum(window[0] * kernel)
    got = ns["correlate2d"](image, kernel, **kwargs)
    assert np.asarray(got).dtype.kind == "f", "the statement asks for a float array"
    if padding == "same":
        assert np.shape(got) == image.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


# --- exercises 04 and 05: pooling with stride left out, None or given; int or float ---------------

POOLS = {("04-max-pooling", "max_pool2d"): (np.max, -np.inf), ("05-other-pooling", "avg_pool2d"): (np.mean, np.nan)}


@pytest.mark.parametrize("assignment, part", list(POOLS))
@SETTINGS
@given(data=st.data())
def test_pooling_windows_for_every_stride_spelling(assignment, part, data):
    ns = cached_solution(assignment)
    reduce, fill = POOLS[(assignment, part)]
    size = data.draw(st.integers(1, 3))
    stride = data.draw(st.sampled_from([ABSENT, None, 1, 2]))
    padding = data.draw(st.sampled_from([ABSENT, 0, 1])) if size > 1 else ABSENT
    x = _array(data.draw, (1, data.draw(st.integers(1, 2)), size + data.draw(st.integers(0, 4)),
                           size + data.draw(st.integers(0, 4))), data.draw(st.booleans()))
    kwargs = {key: value for key, value in (("stride", stride), ("padding", padding)) if value is not ABSENT}
    step = size if kwargs.get("stride") is None else kwargs["stride"]
    p = kwargs.get("padding", 0)
    # Padded cells never win a maximum and are left out of a mean (the statements of 04 and 05).
    xp = np.pad(x[0].astype(float), ((0, 0), (p, p), (p, p)), constant_values=fill)
    windows = _windows_2d(xp, (size, size), step)
    expected = np.zeros((x.shape[1], max(i for i, _ in windows) + 1, max(j for _, j in windows) + 1))
    for (i, j), window in windows.items():
        flat = window.reshape(window.shape[0], -1)
        expected[:, i, j] = [reduce(row[~np.isnan(row)]) for row in flat]
    got = ns[part](x, size, **kwargs)
    assert np.asarray(got).dtype.kind == "f", "the statement asks for a float array"
    np.testing.assert_allclose(got, expected[None], rtol=1e-12, atol=1e-12)


@SETTINGS
@given(st.data())
def test_global_max_pooling_is_float_for_integer_images(data):
    ns = cached_solution("05-other-pooling")
    x = _array(data.draw, (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 4)),
                           data.draw(st.integers(1, 4))), data.draw(st.booleans()))
    got = ns["global_max_pool2d"](x)
    assert np.asarray(got).dtype.kind == "f", "the statement asks for a float array, also for an integer image"
    np.testing.assert_array_equal(got, x.reshape(*x.shape[:2], -1).max(axis=2).astype(float))


# --- exercise 07, part 1: batch normalisation and dropout, both modes, options absent or given ----------

def _bn_shape(draw):
    if draw(st.booleans()):
        return (draw(st.integers(1, 5)), draw(st.integers(1, 3)))
    return (draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3)))


def _bn_case(data):
    """Exercise 07's solution, a drawn (N, F) or (N, C, H, W) shape and an input of that shape."""
    shape = _bn_shape(data.draw)
    return cached_solution("07-case-study"), shape, _array(data.draw, shape, data.draw(st.booleans()))


@SETTINGS
@given(st.data())
def test_batchnorm_forward_follows_the_formulas_per_feature(data):
    ns, shape, x = _bn_case(data)
    features = shape[1]
    gamma, beta = np.linspace(0.5, 2.0, features), np.linspace(-1.0, 1.0, features)
    old_mean, old_var = np.linspace(-2.0, 2.0, features), np.linspace(0.5, 3.0, features)
    training = data.draw(st.booleans())
    kwargs = {}
    _spelled(data.draw, kwargs, "momentum", 0.99, data.draw(st.sampled_from([0.0, 0.5, 0.9, 1.0])))
    _spelled(data.draw, kwargs, "eps", 1e-3, data.draw(st.sampled_from([1e-5, 0.1, 1.0])))
    momentum, eps = kwargs.get("momentum", 0.99), kwargs.get("eps", 1e-3)
    out, mean, var = ns["batchnorm_outputs"](x, gamma, beta, old_mean, old_var, training, **kwargs)
    # One feature at a time: its values over the batch (and every position), as the statement says.
    per_feature = np.moveaxis(x.astype(float), 1, 0).reshape(features, -1)
    for f in range(features):
        values = per_feature[f]
        mu, sigma2 = (values.mean(), ((values - values.mean()) ** 2).mean()) if training else (old_mean[f],
                                                                                              old_var[f])
        want = gamma[f] * (values - mu) / np.sqrt(sigma2 + eps) + beta[f]
        np.testing.assert_allclose(np.moveaxis(np.asarray(out), 1, 0).reshape(features, -1)[f], want, rtol=1e-10,
                                   atol=1e-10)
        want_mean = momentum * old_mean[f] + (1 - momentum) * mu if training else old_mean[f]
        want_var = momentum * old_var[f] + (1 - momentum) * sigma2 if training else old_var[f]
        np.testing.assert_allclose([mean[f], var[f]], [want_mean, want_var], rtol=1e-12, atol=1e-12)


@SETTINGS
@given(st.data())
def test_batchnorm_backward_is_the_gradient_of_the_training_forward(data):
    import cnnkit

    ns = cached_solution("07-case-study")
    shape = _bn_shape(data.draw)
    x = _array(data.draw, shape, False) + np.arange(np.prod(shape)).reshape(shape) * 0.37  # values apart
    features = shape[1]
    gamma, beta = np.linspace(0.5, 2.0, features), np.linspace(-1.0, 1.0, features)
    dout = np.cos(np.arange(np.prod(shape))).reshape(shape)
    kwargs = {}
    _spelled(data.draw, kwargs, "eps", 1e-3, 0.5)
    dx, dgamma, dbeta = ns["batchnorm_gradients"](x, gamma, beta, dout, **kwargs)
    stats = (np.zeros(features), np.ones(features), True)

    def out(x=x, gamma=gamma, beta=beta):
        return ns["batchnorm_outputs"](x, gamma, beta, *stats, **kwargs)[0]

    for got, of, at in [(dx, lambda v: out(x=v), x), (dgamma, lambda v: out(gamma=v), gamma),
                        (dbeta, lambda v: out(beta=v), beta)]:
        np.testing.assert_allclose(got, cnnkit.numerical_gradient(of, at, dout), rtol=1e-5, atol=1e-6)


@SETTINGS
@given(st.data())
def test_dropout_is_the_stated_mask_scaled(data):
    ns, shape, x = _bn_case(data)
    rate = data.draw(st.sampled_from([0.0, 0.1, 0.5, 0.9]))
    training, seed = data.draw(st.booleans()), data.draw(st.integers(0, 2**31))
    keep = np.random.default_rng(seed).random(shape) >= rate
    want = x * keep / (1 - rate) if training else x
    np.testing.assert_allclose(ns["dropout_output"](x, rate, training, seed), want, rtol=1e-12, atol=0)
    dout = np.cos(np.arange(np.prod(shape))).reshape(shape)
    np.testing.assert_allclose(ns["dropout_gradient"](x, rate, seed, dout), dout * keep / (1 - rate), rtol=1e-12,
                               atol=0)

"""cnnkit.nn layers: every backward pass against central differences (float64), and the layers' rules.

Each layer is differentiated through its public ``forward``/``backward``:
``backward(dout)`` must equal ``numerical_gradient`` of ``sum(forward(x) * dout)``
with respect to the input and to every parameter.
"""

import numpy as np
import pytest

import cnnkit
from cnnkit import nn

RTOL = 1e-7  # central differences with h = 1e-6 are good to about 1e-8


def assert_close(got, want, what=""):
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-8 * max(1.0, float(np.abs(want).max(initial=0))), err_msg=what)


def check_layer(rng, layer, input_shape, n=2, x=None):
    """Build ``layer`` in float64, compare dx and every dparam with numerical gradients."""
    layer.build(input_shape, np.random.default_rng(1), np.float64)
    x = rng.standard_normal((n, *input_shape)) if x is None else x
    out = layer.forward(x)
    assert out.dtype == np.float64 and out.shape == (n, *layer.output_shape)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    assert dx.shape == x.shape
    assert_close(dx, cnnkit.numerical_gradient(lambda v: layer.forward(v), x, dout), f"{layer!r} dx")
    analytic = {k: g.copy() for k, g in layer.grads.items()}
    assert set(analytic) == set(layer.params)
    for key, value in list(layer.params.items()):
        def f(v, key=key):
            layer.params[key] = np.array(v)
            return layer.forward(x)
        numeric = cnnkit.numerical_gradient(f, value, dout)
        layer.params[key] = value
        assert_close(analytic[key], numeric, f"{layer!r} d{key}")
    return out


CONV_CASES = [
    dict(),
    dict(stride=2, padding=1),
    dict(padding="same"),
    dict(padding="same", stride=2),  # odd padding row at the bottom, as TensorFlow
    dict(dilation=2, padding="same"),
    dict(stride=(1, 2), padding=(2, 0), dilation=(2, 1)),
]


@pytest.mark.parametrize("kwargs", CONV_CASES, ids=lambda k: ",".join(f"{a}={v}" for a, v in k.items()) or "default")
@pytest.mark.parametrize("channels", [2, 8], ids=["per-image-products", "one-product"])
def test_conv2d_gradients(rng, kwargs, channels):
    layer = nn.Conv2D(3, (3, 2) if channels == 2 else 3, **kwargs)
    check_layer(rng, layer, (channels, 7, 6))


def test_conv2d_forward_is_cnnkit_conv2d(rng):
    layer = nn.Conv2D(4, 3, stride=2, padding="same", dilation=1)
    x = rng.standard_normal((3, 2, 9, 8)).astype(np.float32)
    out = layer.forward(x)
    want = cnnkit.conv2d(x, layer.params["w"], layer.params["b"], stride=2, padding="same")
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    assert out.dtype == np.float32 and layer.params["w"].dtype == np.float32


@pytest.mark.parametrize("kwargs, shape", [
    (dict(size=2), (3, 6, 6)),            # windows tile the input (fast path)
    (dict(size=2), (3, 7, 5)),            # last row and column left out
    (dict(size=(2, 3)), (2, 6, 6)),
    (dict(size=3, stride=1), (2, 5, 6)),  # overlapping windows
    (dict(size=3, stride=2, padding="same"), (2, 7, 6)),
])
@pytest.mark.parametrize("kind", [nn.MaxPool2D, nn.AvgPool2D])
def test_pool_gradients(rng, kind, kwargs, shape):
    # Distinct values: no ties, so the max is differentiable at x.
    x = rng.permutation(2 * np.prod(shape)).reshape(2, *shape) / 7.0
    out = check_layer(rng, kind(**kwargs), shape, x=x)
    ref = (cnnkit.max_pool2d if kind is nn.MaxPool2D else cnnkit.avg_pool2d)(x, **kwargs)
    assert_close(out, ref)


@pytest.mark.parametrize("shape", [(2, 6, 6), (2, 7, 5)])
def test_max_pool_ties_go_to_the_first_maximum(rng, shape):
    # After a ReLU whole windows are 0; TensorFlow gives each window's gradient to its first cell.
    layer = nn.MaxPool2D(2)
    x = np.maximum(rng.standard_normal((3, *shape)), 0)
    x[:, :, :2, :2] = 0.0
    dout = rng.standard_normal(layer.forward(x).shape)
    np.testing.assert_array_equal(layer.backward(dout), cnnkit.max_pool2d_backward(dout, x, 2))


def test_global_avg_pool_gradients(rng):
    out = check_layer(rng, nn.GlobalAvgPool2D(), (3, 4, 5))
    assert out.shape == (2, 3)


def test_dense_flatten_relu_gradients(rng):
    check_layer(rng, nn.Dense(4), (6,))
    check_layer(rng, nn.Flatten(), (2, 3, 4))
    x = rng.standard_normal((4, 3, 5, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep clear of the kink at 0
    check_layer(rng, nn.ReLU(), (3, 5, 5), n=4, x=x)


def test_relu_backward_uses_the_input_mask(rng):
    layer = nn.ReLU()
    x = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_array_equal(layer.forward(x), [[0.0, 0.0, 2.0]])
    np.testing.assert_array_equal(layer.backward(np.array([[5.0, 5.0, 5.0]])), [[0.0, 0.0, 5.0]])


def test_flatten_is_channel_first(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_array_equal(nn.Flatten().forward(x), x.reshape(2, -1))


def test_dropout_masks_scale_and_differentiate(rng):
    layer = nn.Dropout(0.25, seed=3)
    layer.build((1000,))
    x = np.ones((40, 1000))
    np.testing.assert_array_equal(layer.forward(x), x)  # inference: identity
    out = layer.forward(x, training=True)
    dropped = np.mean(out == 0)
    assert 0.23 < dropped < 0.27
    np.testing.assert_allclose(out[out != 0], 1 / 0.75)
    dout = rng.standard_normal(out.shape)
    np.testing.assert_array_equal(layer.backward(dout), dout * out)  # out = mask / (1 - rate) for x = 1
    again = layer.forward(x, training=True)
    assert not np.array_equal(again, out)  # a new mask each batch


def test_backward_needs_its_own_forward(rng):
    layer = nn.Dense(3)
    x = rng.standard_normal((2, 4))
    dout = np.ones((2, 3))
    layer.forward(x)
    layer.backward(dout)
    with pytest.raises(RuntimeError, match="call forward"):
        layer.backward(dout)  # the cache of one batch is not used twice


def test_layer_checks_its_input_and_dout(rng):
    layer = nn.Conv2D(2, 3)
    layer.forward(np.zeros((1, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"x must have shape \(None, 1, 5, 5\).*got shape \(1, 5, 5, 1\)"):
        layer.forward(np.zeros((1, 5, 5, 1)))
    layer.forward(np.zeros((2, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"dout must have the forward output's shape \(2, 2, 3, 3\)"):
        layer.backward(np.zeros((2, 2, 4, 4)))
    with pytest.raises(TypeError, match="x must be a real numeric array"):
        layer.forward(np.array([["a"]]))


@pytest.mark.parametrize("make, match", [
    (lambda: nn.Conv2D(0, 3), "filters must be >= 1"),
    (lambda: nn.Conv2D(4, 3, stride=0), "stride must be >= 1"),
    (lambda: nn.Conv2D(4, 3, padding="sideways"), "padding must be"),
    (lambda: nn.Dense(2.5), "units must be an int"),
    (lambda: nn.Dropout(1.0), r"rate must be in \[0, 1\)"),
    (lambda: nn.MaxPool2D(0), "size must be >= 1"),
    (lambda: nn.Dense(3, kernel_initializer="zeros"), "kernel_initializer must be one of"),
    (lambda: nn.Input((28, 28)), r"shape must be \(C, H, W\)"),
])
def test_bad_layer_settings(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_layers_that_need_images_say_so():
    with pytest.raises(ValueError, match=r"input must be an image \(C, H, W\)"):
        nn.Conv2D(2, 3).build((10,))
    with pytest.raises(ValueError, match=r"Dense: input must be a vector"):
        nn.Dense(2).build((1, 4, 4))
    with pytest.raises(ValueError, match="larger than the padded input"):
        nn.Conv2D(2, 5).build((1, 3, 3))


@pytest.mark.parametrize("init, std", [("glorot_uniform", np.sqrt(2 / (64 * 9 + 32 * 9))),
                                       ("he_normal", np.sqrt(2 / (64 * 9))),
                                       ("he_uniform", np.sqrt(2 / (64 * 9)))])
def test_initialisers_have_the_right_spread(init, std):
    layer = nn.Conv2D(32, 3, kernel_initializer=init)
    layer.build((64, 8, 8), np.random.default_rng(0))
    w = layer.params["w"]
    assert abs(w.std() / std - 1) < 0.03 and abs(w.mean()) < 0.01 * std * 10
    np.testing.assert_array_equal(layer.params["b"], 0)

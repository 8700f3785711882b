"""Assignment 01-architecture: the hidden tests reward the solution and catch the usual mistakes."""

import math

import numpy as np
import pytest

import cnnkit
from autograder.grading import cases_for, grade_part
from autograder.grading.parts import architecture as reference


ASSIGNMENT = "01-architecture"


# --- the usual wrong answers ------------------------------------------------

def dense_params_without_bias(n_inputs, units):
    return n_inputs * units


def conv_params_without_bias(in_channels, filters, kernel):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return filters * in_channels * kh * kw


def conv_params_bias_per_input_channel(in_channels, filters, kernel):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return filters * in_channels * (kh * kw + 1)


def conv_params_square_kernel_assumed(in_channels, filters, kernel):
    k = kernel if isinstance(kernel, int) else kernel[0]
    return filters * (in_channels * k * k + 1)


def conv_params_ignores_in_channels(in_channels, filters, kernel):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return filters * (kh * kw + 1)


def _stack(input_shape, layers, *, conv_keeps_channels=False, ignore_padding=False, pool_stride_is_size=False,
           flatten_drops_channels=False, ceil=False, rounding=None):
    def size(n, k, s, p=0):
        if ceil:
            return math.ceil((n + 2 * p - k) / s) + 1
        if rounding is not None:
            return rounding((n + 2 * p - k) / s) + 1
        return (n + 2 * p - k) // s + 1

    shape, shapes = tuple(input_shape), []
    for layer in layers:
        if layer[0] == "conv":
            _, f, k, s, p = layer
            p = 0 if ignore_padding else p
            shape = (shape[0] if conv_keeps_channels else f, size(shape[1], k, s, p), size(shape[2], k, s, p))
        elif layer[0] == "pool":
            _, k, s = layer
            s = k if pool_stride_is_size else s
            shape = (shape[0], size(shape[1], k, s), size(shape[2], k, s))
        elif layer[0] == "flatten":
            shape = (shape[1] * shape[2],) if flatten_drops_channels else (shape[0] * shape[1] * shape[2],)
        else:
            shape = (layer[1],)
        shapes.append(shape)
    return shapes


def stack_conv_keeps_channels(input_shape, layers):
    return _stack(input_shape, layers, conv_keeps_channels=True)


def stack_ignores_padding(input_shape, layers):
    return _stack(input_shape, layers, ignore_padding=True)


def stack_pool_stride_is_size(input_shape, layers):
    return _stack(input_shape, layers, pool_stride_is_size=True)


def stack_flatten_drops_channels(input_shape, layers):
    return _stack(input_shape, layers, flatten_drops_channels=True)


def stack_rounds_up(input_shape, layers):
    return _stack(input_shape, layers, ceil=True)


def stack_last_shape_only(input_shape, layers):
    return [_stack(input_shape, layers)[-1]]


def stack_true_division(input_shape, layers):
    """``/`` where the formula floors: 13.5 rows."""
    return _stack(input_shape, layers, rounding=lambda v: v)


def stack_rounds_to_nearest(input_shape, layers):
    return _stack(input_shape, layers, rounding=round)


# --- correct alternatives: other styles that must keep every point ------------

def stack_with_np_floor(input_shape, layers):
    """Sizes from np.floor: floats such as 28.0, and lists for shapes."""
    return [list(shape) for shape in _stack(input_shape, layers, rounding=np.floor)]


def stack_with_numpy_ints(input_shape, layers):
    return tuple(np.array(shape, dtype=np.int64) for shape in _stack(input_shape, layers))


def conv_params_with_np_prod(in_channels, filters, kernel):
    kernel = (kernel, kernel) if np.ndim(kernel) == 0 else kernel
    return np.prod([filters, in_channels, *kernel]) + np.int64(filters)


def dense_params_as_float(n_inputs, units):
    return float(n_inputs * units + units)


def field_as_float(layers):
    return float(reference.receptive_field(layers))


def shift_with_pad_and_crop(x, dy, dx):
    x = np.asarray(x, dtype=np.float64)
    h, w = x.shape
    dy, dx = int(np.clip(dy, -h, h)), int(np.clip(dx, -w, w))
    padded = np.pad(x, ((max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))))
    return padded[max(-dy, 0):max(-dy, 0) + h, max(-dx, 0):max(-dx, 0) + w].copy()


def copy_check_with_isclose(a, b, dy, dx):
    h, w = a.shape
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    inside = (ys + dy >= 0) & (ys + dy < h) & (xs + dx >= 0) & (xs + dx < w)
    return bool(np.all(np.isclose(b[ys[inside] + dy, xs[inside] + dx], a[inside], rtol=1e-6, atol=1e-9)))


# --- wrong answers at the edges of the domain, the dtype and the tolerance ---

def shift_keeps_integer_dtype(x, dy, dx):
    """np.zeros_like(x) of an int image: the exercise asks for a float array."""
    x = np.asarray(x)
    out = np.zeros_like(x)
    h, w = x.shape
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = x[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def shift_without_large_shift_guard(x, dy, dx):
    """No guard for |dx| >= W: the slices then cut the wrong cells."""
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    h, w = x.shape
    try:
        out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            x[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    except ValueError:
        return x.copy()
    return out


def shift_guard_only_rows(x, dy, dx):
    x = np.asarray(x, dtype=float)
    h, w = x.shape
    if abs(dy) >= h:
        return np.zeros_like(x)
    return np.roll(reference.shift(x, dy, 0), dx, axis=1) if abs(dx) >= w else reference.shift(x, dy, dx)


def _copy_check(a, b, dy, dx, **tolerance):
    h, w = a.shape
    part_a = a[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    part_b = b[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
    return bool(np.allclose(part_b, part_a, **tolerance))


def copy_check_allclose_defaults(a, b, dy, dx):
    return _copy_check(a, b, dy, dx)


def copy_check_tolerances_swapped(a, b, dy, dx):
    return _copy_check(a, b, dy, dx, rtol=1e-9, atol=1e-6)


def copy_check_arrays_swapped(a, b, dy, dx):
    """np.allclose(a, b): the relative bound scales with |b|, not with |a| as stated."""
    h, w = a.shape
    part_a = a[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    part_b = b[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
    return bool(np.allclose(part_a, part_b, rtol=1e-6, atol=1e-9))



def _field(layers, *, strides=True, own_stride=False, dilation=True, start=1):
    size, jump = start, 1
    for layer in layers:
        k, s, d = (*layer, 1)[:3]
        d = d if dilation else 1
        if own_stride:
            jump *= s if strides else 1
        size += d * (k - 1) * jump
        if not own_stride:
            jump *= s if strides else 1
    return size


def field_ignores_strides(layers):
    return _field(layers, strides=False)


def field_counts_own_stride(layers):
    return _field(layers, own_stride=True)


def field_ignores_dilation(layers):
    return _field(layers, dilation=False)


def field_sum_of_kernels(layers):
    return sum(layer[0] for layer in layers)


def field_starts_at_zero(layers):
    return _field(layers, start=0)


def shift_with_roll(x, dy, dx):
    return np.roll(np.asarray(x, float), (dy, dx), axis=(0, 1))


def shift_wrong_direction(x, dy, dx):
    return reference.shift(x, -dy, -dx)


def shift_axes_swapped(x, dy, dx):
    """dy applied to the columns and dx to the rows."""
    return reference.shift(x, dx, dy)


def copy_check_with_roll(a, b, dy, dx):
    return bool(np.allclose(np.roll(a, (dy, dx), axis=(0, 1)), b, rtol=1e-6, atol=1e-9))


def copy_check_exact(a, b, dy, dx):
    h, w = a.shape
    return bool(np.array_equal(b[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)],
                               a[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]))


def copy_check_wrong_direction(a, b, dy, dx):
    return reference.is_shifted_copy(a, b, -dy, -dx)


def copy_check_overlap_one_short(a, b, dy, dx):
    h, w = a.shape
    part_a = a[max(-dy, 0):h - max(dy, 0) - 1, max(-dx, 0):w - max(dx, 0) - 1]
    part_b = b[max(dy, 0):h + min(dy, 0) - 1, max(dx, 0):w + min(dx, 0) - 1]
    return bool(np.allclose(part_b, part_a, rtol=1e-6, atol=1e-9))


def copy_check_always_true(a, b, dy, dx):
    return True


# --- parts 8-11: layers described as data; one implementation with a switch per mistake ---------------

def _size(n, k, s, p, *, rounding="floor", pad_sides=2, use_stride=True):
    s = s if use_stride else 1
    top = n + pad_sides * p - k
    return (-(-top // s) if rounding == "ceil" else top // s) + (0 if rounding == "no +1" else 1)


def _stride(layer, k, default, lookup):
    """The stride as the table says (``lookup="table"``) or as a usual misreading of it does."""
    if lookup == "required":  # layer["stride"]: raises when the key is left out
        return layer["stride"] if layer["stride"] is not None else default
    if lookup == "get_with_default":  # layer.get("stride", size): None passes through and the formula raises
        return layer.get("stride", default)
    if lookup == "conv_default_kernel" and layer["type"] == "conv":
        return layer.get("stride") or k
    return layer.get("stride") if layer.get("stride") is not None else default


def _shape(layer, shape, *, conv_keeps_channels=False, pool_stride_one=False, flatten_channels_only=False,
           global_keeps_maps=False, stride_lookup="table", padding_default=0, activations_flatten=False,
           **size_mistakes):
    kind = layer["type"]
    if kind in ("conv", "maxpool", "avgpool"):
        c, h, w = shape
        k = layer["kernel"] if kind == "conv" else layer["size"]
        default = 1 if (kind == "conv" or pool_stride_one) else k
        s = _stride(layer, k, default, stride_lookup)
        p = layer["padding"] if padding_default == "required" else layer.get("padding", padding_default)
        channels = layer["filters"] if kind == "conv" and not conv_keeps_channels else c
        return (channels, _size(h, k, s, p, **size_mistakes), _size(w, k, s, p, **size_mistakes))
    if kind == "dense":
        return (layer["units"],)
    if kind == "flatten":
        return (shape[0],) if flatten_channels_only else (int(np.prod(shape)),)
    if kind in ("globalavgpool", "globalmaxpool"):
        return (shape[0], 1, 1) if global_keeps_maps else (shape[0],)
    return (int(np.prod(shape)),) if activations_flatten else tuple(shape)


def _params(layer, shape, *, forget_channels=False, always_bias=False, never_bias=False, pool_params=False,
            bias_per_input_channel=False, bias_required=False):
    kind = layer["type"]
    bias = ((layer["bias"] if bias_required and kind in ("conv", "dense") else layer.get("bias", True))
            or always_bias) and not never_bias
    if kind == "conv":
        f, c, k = layer["filters"], 1 if forget_channels else shape[0], layer["kernel"]
        return f * c * k * k + ((shape[0] if bias_per_input_channel else f) if bias else 0)
    if kind == "dense":
        return shape[0] * layer["units"] + (layer["units"] if bias else 0)
    if kind in ("maxpool", "avgpool") and pool_params:
        return layer["size"] ** 2 * shape[0]
    return 0


def _macs(layer, shape, *, with_bias=False, input_size=False, forget_channels=False, pool_macs=False,
          dense_bias=False, **shape_mistakes):
    kind = layer["type"]
    out = _shape(layer, shape, **shape_mistakes)
    if kind == "conv":
        f, c, k = layer["filters"], 1 if forget_channels else shape[0], layer["kernel"]
        ho, wo = (shape[1], shape[2]) if input_size else out[1:]
        return ho * wo * f * (c * k * k + (1 if with_bias and layer.get("bias", True) else 0))
    if kind == "dense":
        return shape[0] * layer["units"] + (layer["units"] if dense_bias else 0)
    if kind in ("maxpool", "avgpool") and pool_macs:
        return int(np.prod(out)) * layer["size"] ** 2
    return 0


def _named(fn, name, doc=None, **mistake):
    def answer(layer, input_shape):
        return fn(layer, tuple(input_shape), **mistake)
    answer.__name__ = name
    answer.__doc__ = doc
    return answer


shape_ceil = _named(_shape, "shape_ceil", rounding="ceil")
shape_without_plus_one = _named(_shape, "shape_without_plus_one", rounding="no +1")
shape_pads_one_side = _named(_shape, "shape_pads_one_side", pad_sides=1)
shape_ignores_stride = _named(_shape, "shape_ignores_stride", use_stride=False)
shape_conv_keeps_channels = _named(_shape, "shape_conv_keeps_channels", conv_keeps_channels=True)
shape_pool_stride_one = _named(_shape, "shape_pool_stride_one", "stride None read as 1", pool_stride_one=True)
shape_flatten_channels_only = _named(_shape, "shape_flatten_channels_only", flatten_channels_only=True)
shape_global_keeps_maps = _named(_shape, "shape_global_keeps_maps", "(C, 1, 1) for global pooling",
                                 global_keeps_maps=True)
params_forget_channels = _named(_params, "params_forget_channels", forget_channels=True)
params_ignore_bias_flag = _named(_params, "params_ignore_bias_flag", always_bias=True)
params_never_bias = _named(_params, "params_never_bias", never_bias=True)
params_count_pooling = _named(_params, "params_count_pooling", "a weight per pooled cell and channel",
                              pool_params=True)
params_bias_per_input_channel = _named(_params, "params_bias_per_input_channel", bias_per_input_channel=True)
macs_with_bias = _named(_macs, "macs_with_bias", "the bias counted as one more multiply-add per output",
                        with_bias=True)
macs_input_size = _named(_macs, "macs_input_size", "the input's H W in place of the output's", input_size=True)
macs_forget_channels = _named(_macs, "macs_forget_channels", forget_channels=True)
macs_count_pooling = _named(_macs, "macs_count_pooling", pool_macs=True)
macs_dense_bias = _named(_macs, "macs_dense_bias", dense_bias=True)
# The stated domain: optional keys left out, spelled at their default, or (pooling's stride) None.
shape_pool_stride_get_default = _named(_shape, "shape_pool_stride_get_default",
                                       'layer.get("stride", size): raises on stride None', stride_lookup="get_with_default")
shape_stride_required = _named(_shape, "shape_stride_required", 'layer["stride"]: raises when it is left out',
                               stride_lookup="required")
shape_padding_required = _named(_shape, "shape_padding_required", 'layer["padding"]: raises when it is left out',
                                padding_default="required")
shape_conv_stride_default_kernel = _named(_shape, "shape_conv_stride_default_kernel",
                                          "a conv's missing stride read as its kernel (pooling's default)",
                                          stride_lookup="conv_default_kernel")
shape_conv_padding_default_one = _named(_shape, "shape_conv_padding_default_one", "a missing padding read as 1",
                                        padding_default=1)
shape_activations_flatten = _named(_shape, "shape_activations_flatten", "relu/dropout/softmax on maps flatten them",
                                   activations_flatten=True)
params_bias_required = _named(_params, "params_bias_required", 'layer["bias"]: raises when it is left out',
                              bias_required=True)
macs_stride_required = _named(_macs, "macs_stride_required", stride_lookup="required")
macs_conv_stride_default_kernel = _named(_macs, "macs_conv_stride_default_kernel", stride_lookup="conv_default_kernel")
macs_padding_default_one = _named(_macs, "macs_padding_default_one", padding_default=1)


def shape_as_list_of_floats(layer, input_shape):
    """Correct: a list, sizes computed with np.floor (whole floats)."""
    return [float(v) for v in _shape(layer, tuple(input_shape))]


def params_with_numpy(layer, input_shape):
    """Correct: NumPy integers."""
    return np.int64(_params(layer, tuple(input_shape)))


def _totals(layers, input_shape, shape_fn=_shape, params_fn=_params, macs_fn=_macs, skip=()):
    shape, params, macs = tuple(input_shape), 0, 0
    for layer in layers:
        if layer["type"] not in skip:
            params += params_fn(layer, shape)
            macs += macs_fn(layer, shape)
        shape = tuple(shape_fn(layer, shape))
    return shape, params, macs


def totals_with_bias_macs(layers, input_shape):
    return _totals(layers, input_shape, macs_fn=lambda l, s: _macs(l, s, with_bias=True))


def totals_forget_channels(layers, input_shape):
    return _totals(layers, input_shape, params_fn=lambda l, s: _params(l, s, forget_channels=True),
                   macs_fn=lambda l, s: _macs(l, s, forget_channels=True))


def totals_count_pooling(layers, input_shape):
    return _totals(layers, input_shape, params_fn=lambda l, s: _params(l, s, pool_params=True))


def totals_ceil(layers, input_shape):
    return _totals(layers, input_shape, shape_fn=lambda l, s: _shape(l, s, rounding="ceil"))


def totals_convs_only(layers, input_shape):
    return _totals(layers, input_shape, skip=("dense",))


def totals_same_input_for_all(layers, input_shape):
    """Every layer counted on the network's input shape."""
    shape, params, macs = tuple(input_shape), 0, 0
    out = shape
    for layer in layers:
        try:
            params += _params(layer, shape)
            macs += _macs(layer, shape)
        except Exception:
            pass
        out = _shape(layer, out)
    return out, params, macs


def totals_pool_stride_get_default(layers, input_shape):
    return _totals(layers, input_shape, shape_fn=shape_pool_stride_get_default, macs_fn=macs_conv_stride_default_kernel)


def totals_padding_required(layers, input_shape):
    return _totals(layers, input_shape, shape_fn=shape_padding_required)


def totals_activations_flatten(layers, input_shape):
    return _totals(layers, input_shape, shape_fn=shape_activations_flatten)


def totals_output_as_vector(layers, input_shape):
    """The output shape given as a vector of its size: right only for stacks that end in a vector."""
    shape, params, macs = _totals(layers, input_shape)
    return (int(np.prod(shape)),), params, macs


def totals_as_lists(layers, input_shape):
    """Correct: a list [shape as a list, params, macs], NumPy ints."""
    shape, params, macs = _totals(layers, input_shape)
    return [list(shape), np.int64(params), np.int64(macs)]


WRONG = {
    "dense_params": [dense_params_without_bias],
    "conv2d_params": [conv_params_without_bias, conv_params_bias_per_input_channel,
                      conv_params_square_kernel_assumed, conv_params_ignores_in_channels],
    "stack_shapes": [stack_conv_keeps_channels, stack_ignores_padding, stack_pool_stride_is_size,
                     stack_flatten_drops_channels, stack_rounds_up, stack_last_shape_only],
    "receptive_field": [field_ignores_strides, field_counts_own_stride, field_ignores_dilation,
                        field_sum_of_kernels, field_starts_at_zero],
    "shift": [shift_with_roll, shift_wrong_direction, shift_axes_swapped, shift_keeps_integer_dtype,
              shift_without_large_shift_guard, shift_guard_only_rows],
    "is_shifted_copy": [copy_check_with_roll, copy_check_exact, copy_check_wrong_direction,
                        copy_check_overlap_one_short, copy_check_always_true, copy_check_allclose_defaults,
                        copy_check_tolerances_swapped, copy_check_arrays_swapped],
    # dense biases counted; conv biases forgotten; the slides' rounding; not a pair
    "explosion": [(200 * 200 * 40_000 + 40_000, 1664), (200 * 200 * 40_000, 64 * 25), (2_000_000_000, 1664),
                  200 * 200 * 40_000, (1.6e9 + 0.5, 1664)],
    "layer_output_shape": [shape_ceil, shape_without_plus_one, shape_pads_one_side, shape_ignores_stride,
                           shape_conv_keeps_channels, shape_pool_stride_one, shape_flatten_channels_only,
                           shape_global_keeps_maps, shape_pool_stride_get_default, shape_stride_required,
                           shape_padding_required, shape_conv_stride_default_kernel, shape_conv_padding_default_one,
                           shape_activations_flatten],
    "layer_params": [params_forget_channels, params_ignore_bias_flag, params_never_bias, params_count_pooling,
                     params_bias_per_input_channel, params_bias_required],
    "layer_macs": [macs_with_bias, macs_input_size, macs_forget_channels, macs_count_pooling, macs_dense_bias,
                   macs_stride_required, macs_conv_stride_default_kernel, macs_padding_default_one],
    "stack_totals": [totals_with_bias_macs, totals_forget_channels, totals_count_pooling, totals_ceil,
                     totals_convs_only, totals_same_input_for_all, totals_pool_stride_get_default,
                     totals_padding_required, totals_activations_flatten, totals_output_as_vector],
}
RIGHT = {
    "explosion": [(1.6e9, 1664.0), [np.int64(1_600_000_000), np.int64(1664)]],
    "dense_params": [dense_params_as_float],
    "conv2d_params": [conv_params_with_np_prod],
    "stack_shapes": [stack_with_np_floor, stack_with_numpy_ints],
    "receptive_field": [field_as_float],
    "shift": [shift_with_pad_and_crop],
    "is_shifted_copy": [copy_check_with_isclose],
    "layer_output_shape": [shape_as_list_of_floats],
    "layer_params": [params_with_numpy],
    "layer_macs": [_named(_macs, "macs_as_written_here")],
    "stack_totals": [totals_as_lists, _totals],
}


# --- the solution earns every point, the blank none, the mistakes lose some ---

def test_missing_or_none_explosion_earns_nothing():
    assert grade_part(f"{ASSIGNMENT}/explosion", None).points == 0


def test_feedback_names_the_returned_item():
    text = grade_part(f"{ASSIGNMENT}/explosion", (200 * 200 * 40_000, 64 * 25)).text()
    assert "the conv layer's parameters" in text and "item 1" not in text, text
    text = grade_part(f"{ASSIGNMENT}/stack_shapes", stack_ignores_padding).text()
    assert "the shape after layer" in text and "item " not in text, text


def test_integral_floats_are_whole_numbers_but_halves_are_not():
    assert "whole number" in grade_part(f"{ASSIGNMENT}/stack_shapes", stack_true_division).text()
    assert grade_part(f"{ASSIGNMENT}/dense_params", dense_params_as_float).passed == len(cases_for(f"{ASSIGNMENT}/dense_params"))


def test_shift_says_when_the_dtype_is_not_float():
    text = grade_part(f"{ASSIGNMENT}/shift", shift_keeps_integer_dtype).text()
    assert "float array" in text and "int64" in text, text


def test_tolerance_cases_sit_on_both_sides_of_each_bound():
    labels = [case.label for case in cases_for(f"{ASSIGNMENT}/is_shifted_copy")]
    for where in ("values near 1000", "values near 0"):
        assert any(where in label and "0.5x" in label for label in labels)
        assert any(where in label and "3.0x" in label for label in labels)


def test_feedback_names_the_case_but_not_the_expected_values():
    text = grade_part(f"{ASSIGNMENT}/stack_shapes", stack_ignores_padding).text()
    assert "case " in text and "layers" in text
    for case in cases_for(f"{ASSIGNMENT}/stack_shapes"):
        assert str(case.expected) not in text


# --- the references written out in the grading module agree with cnnkit ------

@pytest.mark.parametrize("seed", [0, 1])
def test_receptive_field_reference_matches_a_measurement(seed):
    """Back-propagate an impulse from one output unit through cnnkit's convolutions; count the pixels it reaches."""
    for case in cases_for(f"{ASSIGNMENT}/receptive_field", seed=seed):
        (layers,) = case.args
        if case.expected > 200:
            continue
        n = case.expected + 8
        shapes = [n]
        for layer in layers:
            k, s, d = (*layer, 1)[:3]
            shapes.append(cnnkit.conv_output_size(shapes[-1], k, s, 0, d))
        grad = np.zeros((1, 1, 1, shapes[-1]))
        grad[..., shapes[-1] // 2] = 1.0
        for layer, size_in in zip(reversed(layers), reversed(shapes[:-1])):
            k, s, d = (*layer, 1)[:3]
            x = np.zeros((1, 1, 1, size_in))
            grad, _, _ = cnnkit.conv2d_backward(grad, x, np.ones((1, 1, 1, k)), stride=(1, s), dilation=(1, d))
        touched = np.flatnonzero(grad[0, 0, 0])
        assert touched[-1] - touched[0] + 1 == case.expected, case.label


def test_stack_reference_matches_cnnkit_ops(rng):
    """The shapes of the worked example are those that cnnkit.conv2d and cnnkit.max_pool2d produce."""
    x = rng.standard_normal((1, 1, 28, 28))
    got = []
    for layer in reference.BOOK_STACK:
        if layer[0] == "conv":
            _, f, k, s, p = layer
            x = cnnkit.conv2d(x, rng.standard_normal((f, x.shape[1], k, k)), stride=s, padding=p)
        elif layer[0] == "pool":
            x = cnnkit.max_pool2d(x, layer[1], layer[2])
        elif layer[0] == "flatten":
            x = x.reshape(1, -1)
        else:
            x = x @ rng.standard_normal((x.shape[1], layer[1]))
        got.append(x.shape[1:])
    assert tuple(got) == cases_for(f"{ASSIGNMENT}/stack_shapes")[0].expected


def test_conv_params_reference_matches_the_kernel_shape():
    for case in cases_for(f"{ASSIGNMENT}/conv2d_params"):
        c, f, kernel = case.args
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        assert case.expected == np.zeros((f, c, kh, kw)).size + np.zeros(f).size


def test_shift_reference_is_a_cropped_pad():
    x = np.arange(30.0).reshape(5, 6)
    for dy, dx in [(2, 1), (-1, 3), (0, -4), (4, -5)]:
        padded = np.pad(x, ((max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))))
        expected = padded[max(-dy, 0):max(-dy, 0) + 5, max(-dx, 0):max(-dx, 0) + 6]
        np.testing.assert_array_equal(reference.shift(x, dy, dx), expected)

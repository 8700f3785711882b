"""Conv2D -> ReLU -> MaxPool2D fused: pool first, then bias and ReLU on the 4x smaller output.

With ``z = conv(x)`` without its bias, ``b`` one bias per channel and
windows that tile the input,

    maxpool(relu(z + b)) == relu(maxpool(z) + b)

since ``b`` is the same over a window (and rounding ``z + b`` is monotone in
``z``, so the two sides are equal bit for bit) and ReLU is monotone. The
right side adds the bias and applies the ReLU on the pooled map (a quarter
of the cells for 2x2 windows), so two full-size passes (bias, ReLU) and
the full-size ReLU of the backward pass become quarter-size ones.

The gradients are those of the left side: the pooled gradient goes through
the ReLU's mask (``maxpool(z) + b > 0``) and then to each window's first
maximum of ``z``, which is the first maximum of ``relu(z + b)`` wherever
that maximum is positive; where it is not, the ReLU passes no gradient on
either side. (The one difference: when rounding makes two different ``z``
of a window equal after ``+ b``, the gradient goes to the larger ``z``
rather than to the first of the two.)

:class:`cnnkit.nn.Sequential` uses it inside ``fit``, ``evaluate`` and
``predict``; its public ``forward`` / ``backward`` run the layers one by
one, as the book describes them.
"""

from __future__ import annotations

__all__ = ["backward", "forward", "fusable"]


def fusable(layers, k):
    """Whether ``layers[k:k + 3]`` is Conv2D, ReLU, MaxPool2D with windows that tile the input."""
    from ..nn.conv_layers import Conv2D, MaxPool2D
    from ..nn.layers import ReLU

    if k + 3 > len(layers):
        return False
    conv, relu, pool = layers[k:k + 3]
    return (type(conv) is Conv2D and type(relu) is ReLU and type(pool) is MaxPool2D and pool._tiles
            and pool.output_shape[1] * pool._geom.kh == pool._geom.h
            and pool.output_shape[2] * pool._geom.kw == pool._geom.w)


def forward(conv, relu, pool, x, training):
    """``pool(relu(conv(x)))``, computed as ``relu(pool(conv(x) - b) + b)``; each layer keeps its cache."""
    z = conv._forward(x, training, bias=False)
    pooled = pool._forward(z, training)
    pooled += conv.params["b"][:, None, None]
    return relu._forward(pooled, training, owned=True)


def backward(conv, relu, pool, dout, need_dx):
    """The gradients of :func:`forward`: ReLU on the pooled map, pooling, then the convolution."""
    d_pooled = relu._backward(dout.astype(relu.dtype, copy=False), True, owned=False)
    dz = pool._backward(d_pooled, True)
    return conv._backward(dz, need_dx)

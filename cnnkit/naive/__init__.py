"""Loop implementations: what the book teaches from, and the tests' oracle.

They are written for clarity, one output cell at a time, and are hundreds of
times slower than the vectorised ops. They share the vectorised ops'
signatures and argument checks.
"""

from .conv import conv2d_backward_naive, conv2d_naive
from .depthwise import depthwise_conv2d_backward_naive, depthwise_conv2d_naive
from .pool import (
    avg_pool2d_backward_naive,
    avg_pool2d_naive,
    max_pool2d_backward_naive,
    max_pool2d_naive,
)

__all__ = [
    "avg_pool2d_backward_naive",
    "avg_pool2d_naive",
    "conv2d_backward_naive",
    "conv2d_naive",
    "depthwise_conv2d_backward_naive",
    "depthwise_conv2d_naive",
    "max_pool2d_backward_naive",
    "max_pool2d_naive",
]

"""Where cnnkit's speed tricks live, and only here.

The ops in :mod:`cnnkit.conv2d` and :mod:`cnnkit.pool` are plain vectorised
NumPy (im2col + one matrix product, separable pooling), written to be read
next to the book's loops in :mod:`cnnkit.naive`. What makes them fast on a
real, shared machine is gathered in this package, so that a reader of the
ops meets one call (``map_batch(kernel, n, work)``) rather than tricks
spread over every function:

:mod:`cnnkit._fast.threads`
    How many BLAS threads a matrix product may use, chosen from the cores
    that are free *now* (``/proc/stat``, cached for a fraction of a second),
    so that a product never waits for a thread stuck behind another
    process on a busy core.
:mod:`cnnkit._fast.parallel`
    A large op's batch split into one part per CPU, the parts run side by
    side when cores are free (one BLAS thread each), one after the other
    when not: im2col, col2im and pooling run in parallel too, and the
    result never depends on the load.
:mod:`cnnkit._fast.fusion`
    Conv2D -> ReLU -> MaxPool2D inside ``fit``, ``evaluate`` and
    ``predict``: pooling first, then bias and ReLU on the smaller map.
:mod:`cnnkit._fast.shifted`
    A convolution's input gradient without col2im: one BLAS product per
    kernel tap that adds in place into a channels-last gradient (SciPy's
    ``gemm``, imported on first use), the stride handled by phases.
:mod:`cnnkit._fast.pool`
    Max-pooling kernels for windows that tile the input (the common
    ``size == stride`` case): the forward pass keeps each window's
    first-maximum mask, the backward pass routes ``dout`` with it.

Nothing here changes a result beyond float rounding, and nothing depends on
the load: ``tests/cnnkit/test_fast.py`` holds every fast path to the naive
loops, to numerical gradients and to TensorFlow, with the split forced on.
Importing this package imports NumPy only; ``threadpoolctl`` is imported
on the first product, SciPy on the first shifted input gradient.
"""

from .parallel import batch_parts, map_batch, map_items, max_parts, run_items, run_parts
from .threads import blas_threads, choose_threads, free_cores, get_policy, set_policy

__all__ = [
    "batch_parts",
    "blas_threads",
    "choose_threads",
    "free_cores",
    "get_policy",
    "map_batch",
    "map_items",
    "max_parts",
    "run_items",
    "run_parts",
    "set_policy",
]

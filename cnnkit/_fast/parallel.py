"""A batch split over the free cores: one part per core, each on one BLAS thread.

Splitting the *batch* rather than each matrix product parallelises
everything an op does (im2col, the product, col2im, transposes, pooling),
not only the product, and each part's product runs on one BLAS thread, so
no thread ever waits for another inside OpenBLAS. NumPy releases the GIL in
its copies, ufuncs and products, so plain Python threads run the parts in
parallel. The number of parts is :func:`cnnkit._fast.threads.choose_threads`
(1 on a busy machine: then the op runs as it is, in the caller's thread).

Small ops are never split: waking a thread costs ~50-100 us.
"""

from __future__ import annotations

from .threads import _our_cpus, blas_threads, choose_threads, get_policy

__all__ = ["batch_parts", "map_batch", "map_items", "run_parts"]

MIN_WORK = 20_000_000  # GEMM FLOPs (~0.15 ms on one core) below which an op stays in one thread
ELEMENT = 100  # an element-wise pass over one value costs about as much as this many GEMM FLOPs

_executor = None


def _pool():
    global _executor
    if _executor is None:
        from concurrent.futures import ThreadPoolExecutor

        workers = max(1, len(_our_cpus()[0]) - 1)
        _executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cnnkit-part")
    return _executor


def batch_parts(n, work, policy="default"):
    """How many parts to split a batch of ``n`` into, for an op of ``work`` FLOPs.

    1 when the batch or the op is small, when the policy is not ``"auto"``
    (a fixed count or ``None`` means the caller manages its threads), or
    when fewer than two cores are free.
    """
    policy = get_policy() if policy == "default" else policy
    if n < 2 or work < MIN_WORK or policy != "auto":
        return 1
    return max(1, min(n, choose_threads()))


def run_parts(fn, n, parts):
    """``[fn(slice_0), fn(slice_1), ...]`` over ``parts`` contiguous slices of ``range(n)``, in parallel.

    The first part runs in the caller's thread, the others in a persistent
    pool; every part's products use one BLAS thread.
    """
    if parts <= 1:
        return [fn(slice(0, n))]
    bounds = [n * k // parts for k in range(parts + 1)]
    slices = [slice(bounds[k], bounds[k + 1]) for k in range(parts)]
    with blas_threads(1):
        futures = [_pool().submit(fn, s) for s in slices[1:]]
        try:
            results = [fn(slices[0])]
        finally:
            results += [f.result() for f in futures]
    return results


def map_batch(kernel, n, work, policy="default", blas=True):
    """``kernel(part)`` for each part of a batch of ``n`` (a slice), split as :func:`batch_parts` says.

    Unsplit, the kernel runs in the caller's thread on the BLAS threads of
    ``policy`` (default :func:`~cnnkit._fast.threads.get_policy`; "auto": as
    many as are free); split, each part runs on one. Returns the results.
    ``blas=False`` (element-wise kernels): unsplit, the BLAS setting is not touched.
    """
    parts = batch_parts(n, work, policy)
    if parts == 1:
        if not blas:
            return [kernel(slice(0, n))]
        with blas_threads(policy):
            return [kernel(slice(0, n))]
    return run_parts(kernel, n, parts)


def map_items(fn, items, policy="default"):
    """``[fn(item) for item in items]``, the items in parallel (the first in the caller's thread).

    For a backward pass that must follow the parts its forward pass chose.
    """
    if len(items) <= 1:
        with blas_threads(policy):
            return [fn(item) for item in items]
    with blas_threads(1):
        futures = [_pool().submit(fn, item) for item in items[1:]]
        try:
            results = [fn(items[0])]
        finally:
            results += [f.result() for f in futures]
    return results

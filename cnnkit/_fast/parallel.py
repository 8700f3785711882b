"""A batch split into parts, run side by side on the free cores, each on one BLAS thread.

Splitting the *batch* rather than each matrix product parallelises
everything an op does (im2col, the product, col2im, transposes, pooling),
not only the product, and each part's product runs on one BLAS thread, so
no thread ever waits for another inside OpenBLAS. NumPy releases the GIL in
its copies, ufuncs and products, so plain Python threads run the parts in
parallel.

*How* a batch is split never depends on the load, so that results do not
either: a large enough op on a batch of ``n >= 2`` is always cut into
:func:`max_parts` parts (the usable CPUs), and a weight gradient is always
the same sum of per-part products. The load only decides *where* the
parts run: side by side when :func:`cnnkit._fast.threads.choose_threads`
finds two or more cores free, one after the other in the caller's thread
when not. Same seed, same training, quiet or busy (on a given machine).

Small ops are never split: waking a thread costs ~50-100 us.
"""

from __future__ import annotations

import os

from .threads import _our_cpus, blas_threads, choose_threads, get_policy

__all__ = ["batch_parts", "map_batch", "map_items", "max_parts", "run_items", "run_parts"]

MIN_WORK = 20_000_000  # GEMM FLOPs (~0.15 ms on one core) below which an op stays in one part
ELEMENT = 100  # an element-wise pass over one value costs about as much as this many GEMM FLOPs
MAX_PARTS = None  # parts of a split batch; None: the number of usable CPUs

_executor = None


def _pool():
    global _executor
    if _executor is None:
        from concurrent.futures import ThreadPoolExecutor

        workers = max(1, max_parts() - 1)
        _executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cnnkit-part")
    return _executor


def _forget_pool():
    """In a forked child the pool's threads do not exist: start a new pool there when needed."""
    global _executor
    _executor = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def max_parts():
    """The number of parts a large op's batch is split into: the usable CPUs (or ``MAX_PARTS``)."""
    return MAX_PARTS if MAX_PARTS is not None else len(_our_cpus()[0])


def batch_parts(n, work, policy="default"):
    """How many parts to split a batch of ``n`` into, for an op of ``work`` FLOPs (never load-dependent).

    1 when the batch or the op is small, or when the policy is not
    ``"auto"`` (a fixed count or ``None`` means the caller manages its
    threads); else :func:`max_parts`, at most ``n``.
    """
    policy = get_policy() if policy == "default" else policy
    if n < 2 or work < MIN_WORK or policy != "auto":
        return 1
    return max(1, min(n, max_parts()))


def run_items(fn, items):
    """``[fn(item) for item in items]``: side by side if cores are free, else one after the other.

    Side by side, the first item runs in the caller's thread and the others
    in a persistent pool. Either way every product uses one BLAS thread.
    """
    with blas_threads(1):
        if len(items) <= 1 or choose_threads() < 2:
            return [fn(item) for item in items]
        try:
            futures = [_pool().submit(fn, item) for item in items[1:]]
        except RuntimeError:  # no thread to be had (a process limit): one after the other
            return [fn(item) for item in items]
        try:
            results = [fn(items[0])]
        finally:
            results += [f.result() for f in futures]
    return results


def run_parts(fn, n, parts):
    """``[fn(slice_0), fn(slice_1), ...]`` over ``parts`` contiguous slices of ``range(n)`` (:func:`run_items`)."""
    if parts <= 1:
        return [fn(slice(0, n))]
    bounds = [n * k // parts for k in range(parts + 1)]
    return run_items(fn, [slice(bounds[k], bounds[k + 1]) for k in range(parts)])


def map_batch(kernel, n, work, policy="default", blas=True):
    """``kernel(part)`` for each part of a batch of ``n`` (a slice), split as :func:`batch_parts` says.

    Unsplit, the kernel runs in the caller's thread on the BLAS threads of
    ``policy`` (default :func:`~cnnkit._fast.threads.get_policy`; "auto": as
    many as are free); split, see :func:`run_items`. Returns the results.
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
    """``[fn(item) for item in items]`` for a backward pass that follows the parts its forward pass chose."""
    if len(items) <= 1:
        with blas_threads(policy):
            return [fn(item) for item in items]
    return run_items(fn, items)

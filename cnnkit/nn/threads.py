"""How many BLAS threads ``fit``, ``evaluate`` and ``predict`` use (default: 1).

NumPy's OpenBLAS starts one thread per core for every matrix product and
its threads spin while they wait for each other. The products of a small
CNN are short, so on a machine whose cores are shared with other work
(a laptop, CI, a classroom server) the spinning costs more than the
parallelism brings: measured on the course's 2-core machine, under load,
one epoch of chapter 7's CNN took 13 s with the default threads and 6.5 s
with one. One thread is therefore the default; :func:`set_num_threads`
changes it (``None`` leaves OpenBLAS alone). The limit needs
``threadpoolctl`` (installed with scikit-learn); without it nothing changes.
"""

from __future__ import annotations

import contextlib
import numbers

__all__ = ["blas_threads", "get_num_threads", "set_num_threads"]

_threads = 1


def set_num_threads(n):
    """BLAS threads for training and inference: an int >= 1, or ``None`` for OpenBLAS's own default."""
    global _threads
    if n is not None and (not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1):
        raise ValueError(f"set_num_threads: n must be an int >= 1 or None, got {n!r}")
    _threads = None if n is None else int(n)


def get_num_threads():
    """The BLAS thread limit of training and inference: an int, or ``None`` (OpenBLAS's default)."""
    return _threads


@contextlib.contextmanager
def blas_threads():
    """Limit the BLAS threads to :func:`get_num_threads` inside the block."""
    if _threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(_threads, user_api="blas"):
        yield

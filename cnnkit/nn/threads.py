"""How many cores ``fit``, ``evaluate`` and ``predict`` use (default: ``"auto"``).

NumPy's OpenBLAS starts one thread per core for every matrix product and
its threads spin while they wait for each other. The products of a small
CNN are short, so on a machine whose cores are shared with other work
(a laptop, CI, a classroom server) a second thread stuck behind another
process costs more than the parallelism brings: measured on the course's
2-core machine, under load, one epoch of chapter 7's CNN took 13 s with
OpenBLAS's default threads and 6.5 s with one.

``"auto"`` (the default) decides per batch from the cores that are free
right now (:mod:`cnnkit._fast.threads`): with a free second core the
convolution layers split their batch in two parts run side by side, each
on one BLAS thread (im2col and col2im included); on a busy machine
everything runs on one thread. An int fixes the number of BLAS threads
(no batch split); ``None`` leaves OpenBLAS alone. The limit needs
``threadpoolctl`` (installed with scikit-learn); without it nothing changes.
"""

from __future__ import annotations

from .._fast import threads as _fast_threads

__all__ = ["blas_threads", "get_num_threads", "set_num_threads"]

_threads = "auto"


def set_num_threads(n):
    """Cores for training and inference: ``"auto"`` (free cores, per batch), an int >= 1, or ``None``."""
    global _threads
    _threads = _fast_threads.check_policy(n, "set_num_threads")


def get_num_threads():
    """The thread setting of training and inference: ``"auto"``, an int, or ``None`` (OpenBLAS's default)."""
    return _threads


def blas_threads():
    """Inside the block, BLAS products not split by a layer use: one thread ("auto"), or the set count."""
    return _fast_threads.blas_threads(1 if _threads == "auto" else _threads)

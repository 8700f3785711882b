"""What both benchmarks share: TensorFlow's own threads, the load line, the peak GEMM rate, the ``--hog`` process.

The GEMM bound of an op is the time its matrix products alone would take
at the best float32 matrix-product rate measured on this machine at the
start of the run (``peak_gemm``): no implementation built on those
products can be faster, so ``time / bound`` says how far an op is from the
limit, whatever the load was when TensorFlow was timed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import numpy as np

# TensorFlow as its users run it, with its own thread pools: the Makefile's one-thread setting (for
# the test suite's shared cores) would handicap the library cnnkit is compared with. Both benchmarks
# import this module before TensorFlow.
for _name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ.pop(_name, None)


def load_text():
    """``/proc/loadavg``'s 1-minute average, the runnable tasks now, and the free cores cnnkit sees."""
    from cnnkit._fast import threads

    try:
        one = f"{os.getloadavg()[0]:.2f}"
    except OSError:
        one = "?"
    return f"load {one}, free cores {threads.free_cores():.1f}"


def peak_gemm(seconds=1.5, size=512):
    """Best float32 GFLOP/s of a ``size``-cube product, on one thread and on cnnkit's choice ("auto").

    Returns ``{"1 thread": rate, "auto": rate}``; each is the best of the
    runs made in ``seconds / 2``, so a moment of quiet is enough to find it.
    """
    from cnnkit._fast import blas_threads

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty_like(a)
    flops = 2.0 * size**3
    rates = {}
    for label, policy in (("1 thread", 1), ("auto", "auto")):
        best, end = 0.0, time.perf_counter() + seconds / 2
        while time.perf_counter() < end:
            with blas_threads(policy):
                start = time.perf_counter()
                np.matmul(a, b, out=out)
                best = max(best, flops / (time.perf_counter() - start) / 1e9)
        rates[label] = best
    return rates


def conv_flops(x_shape, w_shape, out_hw):
    """FLOPs of the forward product ``(F, C*KH*KW) @ (C*KH*KW, N*Ho*Wo)``."""
    n = x_shape[0]
    f, c, kh, kw = w_shape
    return 2.0 * f * c * kh * kw * n * out_hw[0] * out_hw[1]


@contextlib.contextmanager
def hog(enabled):
    """With ``enabled``: a child process spinning on one core for the duration of the block."""
    if not enabled:
        yield None
        return
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)  # let the scheduler and the load see it
        yield proc
    finally:
        proc.kill()
        proc.wait()


def run_with_hog(parser, argv, run):
    """Parse ``argv`` with ``parser`` plus ``--hog``, then ``run(args)``, with a hog meanwhile if asked."""
    parser.add_argument("--hog", action="store_true",
                        help="run a process spinning on one core meanwhile (a busy machine)")
    args = parser.parse_args(argv)
    with hog(args.hog):
        return run(args)

"""Time cnnkit's convolution and pooling against TensorFlow on the same data.

    python bench/bench_cnnkit.py [--repeat N] [--quick] [--hog]

For each shape it times, in float32 and in this one process:

- conv2d forward (with bias) against ``tf.nn.conv2d`` + ``bias_add``;
- conv2d backward (dx, dw, db) against ``tf.GradientTape`` on the same layer;
- 2x2 max-pool forward + backward on the convolution's output, against
  ``tf.nn.max_pool2d`` and its gradient.

TensorFlow runs inside ``tf.function`` on NHWC data (its CPU layout), with
the layout conversion done before timing; cnnkit runs on NCHW data. Each op
is warmed up, then timed ``--repeat`` times in blocks that alternate between
cnnkit and TensorFlow, so that both see the same machine load; the table
shows medians and the ratio cnnkit / TensorFlow (below 1: cnnkit is faster).
Every result is first checked against TensorFlow so that nothing wrong gets
timed.

"CPU ratio" compares the CPU time (all threads of the process) each
library spent per call: on a busy machine the wall times also measure how
the scheduler shares the cores (a library whose threads sleep between
bursts is served first), the CPU times only the work. Each row also shows
the load while it ran (1-minute average, and the
cores cnnkit found free) and, for the convolutions, the GEMM bound: the
FLOPs of the op's matrix products (forward one, backward two) at the peak
float32 GEMM rate measured at the start. ``--hog`` starts a process that
spins on one core for the whole run, to measure a busy machine on demand.

The targets (issue 24): no slower than TensorFlow on every row, quiet or
busy; conv forward within 1.5x of its GEMM bound.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import cnnkit  # noqa: E402
from _benchutil import conv_flops, load_text as row_load, peak_gemm, run_with_hog  # noqa: E402

# (x shape, w shape, stride, padding): MNIST's first layer, a middle layer, a
# strided layer on larger maps.
SHAPES = [
    ((32, 1, 28, 28), (32, 1, 3, 3), 1, 0),
    ((32, 32, 14, 14), (64, 32, 3, 3), 1, 0),
    ((8, 64, 32, 32), (64, 64, 3, 3), 2, 1),
]
# Target ratio cnnkit / TensorFlow, every row; and time / GEMM bound for conv forward.
TARGET = 1.0
BOUND_TARGET = 1.5


def median_ms(ours, theirs, repeat, warmup, rounds=5):
    """Median wall time in ms of each of two callables, then the median CPU time of each (all threads).

    The runs are split into ``rounds`` blocks that alternate between the two
    libraries. Within a block an op runs back to back, as it would inside a
    training loop (threads awake, caches warm: one untimed run starts each
    block). Alternating the blocks exposes both to the same machine load: on
    a shared 2-core machine another process can slow a stretch of runs
    several-fold, which would skew the ratio if each library were timed in
    one stretch.
    """
    for _ in range(warmup):
        ours()
        theirs()
    times, cpu = ([], []), ([], [])
    per_block = -(-repeat // rounds)
    for r in range(rounds):
        for k in (0, 1) if r % 2 == 0 else (1, 0):
            fn = (ours, theirs)[k]
            fn()
            for _ in range(per_block):
                start, start_cpu = time.perf_counter(), time.process_time()
                fn()
                times[k].append(time.perf_counter() - start)
                cpu[k].append(time.process_time() - start_cpu)
    return tuple(1e3 * statistics.median(t) for t in (*times, *cpu))


def _load():
    """The 1-, 5- and 15-minute load averages as text, and the 1-minute one (0 if unknown)."""
    try:
        load = os.getloadavg()
    except OSError:  # not available on this platform
        return "unknown", 0.0
    return " ".join(f"{v:.2f}" for v in load), load[0]


def check(name, got, want):
    got, want = np.asarray(got), np.asarray(want)
    scale = max(1.0, float(np.abs(want).max()))
    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-3, atol=1e-3 * scale):
        sys.exit(
            f"bench: {name} disagrees with TensorFlow (max abs diff {np.abs(got - want).max():.3g}); not timing it"
        )


def conv_cases(tf, rng, x_shape, w_shape, stride, padding):
    """Yield (op, cnnkit callable, TF callable) for forward and backward, after checking them."""
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32)
    b = rng.standard_normal(w_shape[0], dtype=np.float32)
    dout = rng.standard_normal(cnnkit.conv2d(x, w, b, stride, padding).shape, dtype=np.float32)
    xt, wt, bt = tf.constant(cnnkit.nchw_to_nhwc(x)), tf.constant(cnnkit.oihw_to_hwio(w)), tf.constant(b)
    doutt = tf.constant(cnnkit.nchw_to_nhwc(dout))
    pads = [[0, 0], [padding, padding], [padding, padding], [0, 0]]

    @tf.function
    def tf_forward(x, w, b):
        return tf.nn.bias_add(tf.nn.conv2d(x, w, stride, pads), b)

    @tf.function
    def tf_backward(x, w, b, dout):
        with tf.GradientTape() as tape:
            tape.watch([x, w, b])
            out = tf.nn.bias_add(tf.nn.conv2d(x, w, stride, pads), b)
        return tape.gradient(out, [x, w, b], output_gradients=dout)

    check("conv2d", cnnkit.conv2d(x, w, b, stride, padding), cnnkit.nhwc_to_nchw(tf_forward(xt, wt, bt).numpy()))
    ours = cnnkit.conv2d_backward(dout, x, w, stride, padding)
    theirs = [g.numpy() for g in tf_backward(xt, wt, bt, doutt)]
    theirs = [cnnkit.nhwc_to_nchw(theirs[0]), cnnkit.hwio_to_oihw(theirs[1]), theirs[2]]
    for name, got, want in zip(("dx", "dw", "db"), ours, theirs):
        check(f"conv2d_backward {name}", got, want)

    yield (
        "conv2d forward",
        lambda: cnnkit.conv2d(x, w, b, stride, padding),
        lambda: tf_forward(xt, wt, bt).numpy(),
    )
    yield (
        "conv2d backward",
        lambda: cnnkit.conv2d_backward(dout, x, w, stride, padding),
        lambda: [g.numpy() for g in tf_backward(xt, wt, bt, doutt)],
    )


def pool_case(tf, rng, x_shape):
    """(op, cnnkit callable, TF callable) for 2x2 max-pool forward + backward, or None."""
    if not (hasattr(cnnkit, "max_pool2d") and hasattr(cnnkit, "max_pool2d_backward")):
        return None
    # Values well apart (no ties), so both libraries route every gradient the same way.
    x = rng.permutation(np.prod(x_shape)).astype(np.float32).reshape(x_shape)
    dout = rng.standard_normal(cnnkit.max_pool2d(x, 2).shape, dtype=np.float32)
    xt, doutt = tf.constant(cnnkit.nchw_to_nhwc(x)), tf.constant(cnnkit.nchw_to_nhwc(dout))

    def ours():
        return cnnkit.max_pool2d(x, 2), cnnkit.max_pool2d_backward(dout, x, 2)

    @tf.function
    def theirs(x, dout):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = tf.nn.max_pool2d(x, 2, 2, "VALID")
        return out, tape.gradient(out, x, output_gradients=dout)

    out, dx = ours()
    out_t, dx_t = theirs(xt, doutt)
    check("max_pool2d", out, cnnkit.nhwc_to_nchw(out_t.numpy()))
    check("max_pool2d_backward", dx, cnnkit.nhwc_to_nchw(dx_t.numpy()))
    return "max_pool2d fwd+bwd", ours, lambda: [t.numpy() for t in theirs(xt, doutt)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50, help="timed runs per op (default 50)")
    parser.add_argument("--quick", action="store_true", help="few runs, for a smoke test (repeat 5, warm-up 2)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="alternating blocks the runs are split into (default 5; 1: one block each)",
    )
    return run_with_hog(parser, argv, run)


def run(args):
    repeat, warmup = (5, 2) if args.quick else (max(1, args.repeat), 10)
    rounds = max(1, min(args.rounds, repeat))

    import tensorflow as tf

    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    print(f"cores: {os.cpu_count()} (usable: {len(os.sched_getaffinity(0))})  machine: {platform.machine()}")
    print(
        f"Python {platform.python_version()}  NumPy {np.__version__} (BLAS: {blas.get('name', '?')} "
        f"{blas.get('version', '')})  TensorFlow {tf.__version__}  cnnkit {cnnkit.__version__}"
    )
    print(
        f"float32; median of {repeat} runs after {warmup} warm-up runs, in {rounds} block(s) per library, alternating;"
    )
    load_text, load_now = _load()
    print(f"ratio = cnnkit / TensorFlow. Load average before: {load_text}")
    if load_now > 0.5:
        # OpenBLAS splits each product over all cores and waits for the
        # slowest thread, so a core taken by another process stalls it for a
        # whole time slice; TensorFlow's thread pool copes better.
        print("WARNING: other processes are using the cores: expect cnnkit's times (and ratios) to be inflated")
    print()

    rates = peak_gemm()
    peak = max(rates.values())
    print(f"peak float32 GEMM (512^3): {rates['1 thread']:.0f} GFLOP/s on 1 thread, {rates['auto']:.0f} on cnnkit's "
          f"choice of threads; the bound uses {peak:.0f}.  {'WITH a CPU hog on one core' if args.hog else 'no hog'}")
    print()
    rng = np.random.default_rng(0)
    header = (f"{'op':<20} {'shape':<40} {'cnnkit ms':>9} {'TF ms':>8} {'ratio':>6} {'bound ms':>8} "
              f"{'x bound':>7} {'CPU ratio':>9}  load during the row")
    print(header)
    print("-" * len(header))
    misses = []
    pool_note = None
    for x_shape, w_shape, stride, padding in SHAPES:
        shape = f"{x_shape}*{w_shape} s{stride} p{padding}"
        rows = list(conv_cases(tf, rng, x_shape, w_shape, stride, padding))
        out_shape = cnnkit.conv2d(
            np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32), None, stride, padding
        ).shape
        pool = pool_case(tf, rng, out_shape)
        if pool is None:
            pool_note = "max_pool2d rows skipped: cnnkit.max_pool2d / max_pool2d_backward are not there yet"
        else:
            rows.append(pool)
        flops = conv_flops(x_shape, w_shape, out_shape[2:])
        for op, ours, theirs in rows:
            ours_ms, theirs_ms, ours_cpu, theirs_cpu = median_ms(ours, theirs, repeat, warmup, rounds)
            load = row_load()
            ratio = ours_ms / theirs_ms
            is_conv = op.startswith("conv2d")
            label = shape if is_conv else f"{out_shape} (conv output)"
            if is_conv:
                bound_ms = 1e3 * flops * (1 if op == "conv2d forward" else 2) / (peak * 1e9)
                bound = f"{bound_ms:>8.3f} {ours_ms / bound_ms:>7.2f}"
                if op == "conv2d forward" and ours_ms / bound_ms > BOUND_TARGET:
                    misses.append(f"{op} {shape}: {ours_ms / bound_ms:.2f}x its GEMM bound")
            else:
                bound = f"{'-':>8} {'-':>7}"
            if ratio > TARGET:
                misses.append(f"{op} {label}: {ratio:.2f}x TF")
            cpu_ratio = ours_cpu / theirs_cpu if theirs_cpu > 0 else float("nan")
            print(f"{op:<20} {label:<40} {ours_ms:>9.3f} {theirs_ms:>8.3f} {ratio:>6.2f} {bound} {cpu_ratio:>9.2f}  "
                  f"{load}", flush=True)
    print(f"\nLoad average after: {_load()[0]} (other processes on the cores skew every number)")
    if pool_note:
        print(f"\nnote: {pool_note}")
    if misses:
        print(f"\ntargets (<= {TARGET:g}x TF, conv forward <= {BOUND_TARGET:g}x bound) missed: " + "; ".join(misses))
    else:
        print(f"\nevery target met (<= {TARGET:g}x TF, conv forward <= {BOUND_TARGET:g}x bound)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

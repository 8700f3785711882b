"""One training epoch of the case-study CNN: cnnkit.nn against Keras, in one process.

    python bench/bench_nn.py [--epochs N] [--accuracy] [--quick] [--hog]

The model is chapter 7's LeNet-style CNN (conv 32 3x3 + ReLU, 2x2 max-pool,
conv 64 3x3 + ReLU, 2x2 max-pool, flatten, dropout 0.5, dense 10 logits),
trained with Adam (1e-3) in batches of 64 on the 3,500 training digits of
the mnist-5k split, in float32. cnnkit.nn gets NCHW data, Keras NHWC (its
CPU layout), both converted before timing. Each library first trains one
untimed epoch (Keras traces its graph then), then ``--epochs`` timed epochs
alternating between the two libraries, so that both see the same load; the
row shows the median seconds per epoch and the ratio cnnkit.nn / Keras,
then every epoch's time and the ratio of the two fastest epochs (Keras's
epochs on two cores are bimodal, so the spread is part of the result).
Targets (issue 24): ratio <= 1.0 on a quiet machine, <= 1.5 at load 4
(``--hog`` starts a process spinning on one core for the run), and at most
3x the epoch's GEMM bound: the FLOPs of its matrix products (forward, and
backward for the weights and, past the first layer, the input) at the peak
float32 GEMM rate measured at the start. The CPU seconds (all threads of
the process) are printed too; the load is printed with every row.

``--accuracy`` also trains a fresh cnnkit.nn model for up to 20 epochs, as
chapter 7 does, and reports the first epoch at which its test accuracy
reaches 97% and the time it took.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from cnnkit import nn  # noqa: E402
from cnnkit.nn.models import lenet_style, lenet_style_keras  # noqa: E402
from cnnkit.data import load_images  # noqa: E402
from _benchutil import load_text, peak_gemm, run_with_hog  # noqa: E402

BATCH = 64
TARGET_QUIET, TARGET_BUSY, BOUND_TARGET = 1.0, 1.5, 3.0


def epoch_flops(model, n):
    """FLOPs of one epoch's matrix products on ``n`` images (forward, dw, and dx past the first layer)."""
    total = 0.0
    for k, layer in enumerate(model.layers):
        if isinstance(layer, nn.Conv2D):
            f, c, kh, kw = layer.params["w"].shape
            per = 2.0 * f * c * kh * kw * layer.output_shape[1] * layer.output_shape[2]
        elif isinstance(layer, nn.Dense):
            per = 2.0 * layer.params["w"].size
        else:
            continue
        total += per * (3 if k > 0 else 2)
    return total * n


def compiled_nn():
    model = lenet_style()
    model.compile(nn.Adam(1e-3), "sparse_categorical_crossentropy", ["accuracy"])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # Nine, not five: Keras's epochs on two cores are bimodal (about 0.6 s or 1.3 s here, within one fit
    # too), and the median of five flipped the ratio between 0.8 and 1.6 from one run to the next.
    parser.add_argument("--epochs", type=int, default=9, help="timed epochs per library (default 9)")
    parser.add_argument("--accuracy", action="store_true", help="also train to 97%% test accuracy with cnnkit.nn")
    parser.add_argument("--quick", action="store_true", help="one timed epoch each (smoke test)")
    return run_with_hog(parser, argv, run)


def run(args):
    epochs = 1 if args.quick else max(1, args.epochs)

    import keras
    import tensorflow as tf

    data = load_images("mnist-5k", seed=0, layout="NCHW")
    x_nchw, y = data.x_train, data.y_train
    x_nhwc = np.ascontiguousarray(x_nchw.transpose(0, 2, 3, 1))

    ours = compiled_nn()
    keras.utils.set_random_seed(0)
    theirs = lenet_style_keras()
    theirs.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                   metrics=["accuracy"])
    assert ours.count_params() == theirs.count_params() == 34826

    cpu = ([], [])

    def timed(which, fit):
        start, start_cpu = time.perf_counter(), time.process_time()
        fit()
        cpu[which].append(time.process_time() - start_cpu)
        return time.perf_counter() - start

    def run_ours():
        return timed(0, lambda: ours.fit(x_nchw, y, epochs=1, batch_size=BATCH, verbose=0))

    def run_theirs():
        return timed(1, lambda: theirs.fit(x_nhwc, y, epochs=1, batch_size=BATCH, verbose=0))

    rates = peak_gemm()
    peak = max(rates.values())
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {np.__version__}; "
          f"cores {len(os.sched_getaffinity(0))}; {load_text()}; "
          f"{'WITH a CPU hog on one core' if args.hog else 'no hog'}")
    print(f"peak float32 GEMM (512^3): {rates['1 thread']:.0f} GFLOP/s on 1 thread, {rates['auto']:.0f} on cnnkit's "
          f"choice; the bound uses {peak:.0f}")
    print(f"one epoch = {len(y)} images in batches of {BATCH} ({-(-len(y) // BATCH)} steps), float32; "
          f"median of {epochs} epochs after one warm-up epoch each")
    run_ours(), run_theirs()
    cpu[0].clear(), cpu[1].clear()
    times = ([], [])
    for k in range(epochs):
        for which in ((0, 1) if k % 2 == 0 else (1, 0)):
            times[which].append((run_ours, run_theirs)[which]())
    load = load_text()
    ours_s, theirs_s = (statistics.median(t) for t in times)
    ratio = ours_s / theirs_s
    bound_s = epoch_flops(ours, len(y)) / (peak * 1e9)
    target = TARGET_BUSY if args.hog or os.getloadavg()[0] > 2.5 else TARGET_QUIET
    verdict = "ok" if ratio <= target and ours_s / bound_s <= BOUND_TARGET else "MISSED"
    header = (f"{'model':<34} {'cnnkit.nn s/epoch':>18} {'Keras s/epoch':>14} {'ratio':>6} {'bound s':>8} "
              f"{'x bound':>7}  target")
    print(header)
    print("-" * len(header))
    print(f"{'case-study CNN (34,826 params)':<34} {ours_s:>18.2f} {theirs_s:>14.2f} {ratio:>6.2f} {bound_s:>8.3f} "
          f"{ours_s / bound_s:>7.2f}  <= {target:g}x Keras, <= {BOUND_TARGET:g}x bound: {verdict}", flush=True)
    print(f"  epochs (s), cnnkit.nn: {' '.join(f'{t:.2f}' for t in times[0])}; "
          f"Keras: {' '.join(f'{t:.2f}' for t in times[1])}; {load}")
    print(f"  fastest epoch of each: cnnkit.nn {min(times[0]):.2f} s, Keras {min(times[1]):.2f} s, "
          f"ratio {min(times[0]) / min(times[1]):.2f} (each library at its best)")
    ours_cpu, theirs_cpu = (statistics.median(t) for t in cpu)
    print(f"{'  CPU seconds per epoch (all threads)':<34} {ours_cpu:>18.2f} {theirs_cpu:>14.2f} "
          f"{ours_cpu / theirs_cpu:>6.2f}")
    print(f"cnnkit.nn threads: {nn.get_num_threads()!r} (nn.set_num_threads); after: {load_text()}")

    if args.accuracy:
        model = compiled_nn()
        elapsed, reached = 0.0, None
        for epoch in range(1, 21):
            start = time.perf_counter()
            model.fit(x_nchw, y, epochs=1, batch_size=BATCH, verbose=0)
            elapsed += time.perf_counter() - start
            _, accuracy = model.evaluate(data.x_test, data.y_test)
            print(f"  cnnkit.nn epoch {epoch:2d}: test accuracy {accuracy:.1%} ({elapsed:.0f} s of training)",
                  flush=True)
            if accuracy >= 0.97 and reached is None:
                reached = (epoch, elapsed)
                break
        if reached:
            print(f"cnnkit.nn reaches 97% test accuracy after {reached[0]} epochs, {reached[1]:.0f} s of training")
        else:
            print("cnnkit.nn did NOT reach 97% test accuracy in 20 epochs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

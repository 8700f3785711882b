"""Filter the known noise out of `make book`'s log; everything else passes through, in order.

Usage: `jupyter-book build . 2>&1 | python book/_ext/buildlog.py` (the
Makefile does this with `pipefail`, so the build's exit status is kept).

The noise is what the chapters' kernels and their libraries print whatever the
settings, and that no reader of the log can act on:

- TensorFlow's start-up lines (absl, oneDNN, CUDA drivers that a CPU machine
  does not have, cpu_feature_guard), printed by each kernel that imports it;
- jupyter_client's "Kernel is running over TCP without encryption" (the
  kernels listen on the loopback interface of the build machine only).

At the end one line says how many lines were left out, so nothing vanishes
silently. Warnings and errors of the build itself always pass.
"""

from __future__ import annotations

import re
import sys

NOISE = {
    "TensorFlow start-up": re.compile(
        r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
        r"|oneDNN custom operations are on"
        r"|Could not find cuda drivers on your machine"
        r"|failed call to cuInit"
        r"|cpu_feature_guard\.cc"
        r"|This TensorFlow binary is optimized to use available CPU instructions"
        r"|To enable the following instructions: .* in other operations, rebuild TensorFlow"
        r"|Unable to register cu(DNN|FFT|BLAS) factory"
        r"|computation placer already registered"
        r"|TF-TRT Warning"
        r"|^\s*E0000 00:00:\d+\.\d+\s+\d+ "  # absl's bare start-up prefix
        r"|^\s*[IWE]0000 00:00:\d+\.\d+\s+\d+ \w+\.cc:\d+\]"  # absl-formatted C++ log lines
    ),
    "Kernel is running over TCP without encryption": re.compile(
        r"Kernel is running over TCP without encryption"
        r"|Use --transport=ipc|use IPC transport|or consider setting up encryption"
    ),
}


def main(stream=sys.stdin, out=sys.stdout) -> int:
    hidden = dict.fromkeys(NOISE, 0)
    for line in stream:
        kind = next((name for name, pattern in NOISE.items() if pattern.search(line)), None)
        if kind is None:
            out.write(line)
            out.flush()
        else:
            hidden[kind] += 1
    left_out = [f"{count} x {name}" for name, count in hidden.items() if count]
    if left_out:
        out.write(f"(left out of this log as known noise: {', '.join(left_out)}; see book/_ext/buildlog.py)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

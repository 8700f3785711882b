"""Filter the known noise out of `make book`'s log; everything else passes through, in order.

Usage: `jupyter-book build . 2>&1 | python book/_ext/buildlog.py` (the
Makefile does this with `pipefail`, so the build's exit status is kept).

The noise is what the chapters' kernels and their libraries print whatever the
settings, and that no reader of the log can act on:

- TensorFlow's start-up lines (absl, oneDNN, CUDA drivers that a CPU machine
  does not have, cpu_feature_guard), printed by each kernel that imports it;
- jupyter_client's "Kernel is running over TCP without encryption" (the
  kernels listen on the loopback interface of the build machine only);
- at set-up, setuptools' "Editable installation" advice (a block between
  `!!` lines) and pip's notice for each configured local index folder that
  does not exist on this machine.

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
    "pip: a configured local index folder is missing": re.compile(
        r"^WARNING: Location 'file://[^']*' is ignored: it is neither a file nor a directory\.$"
    ),
}
# Multi-line noise: from a line matching the first pattern to one matching the
# second, and never more than BLOCK_LINES lines (a changed message must not
# swallow the rest of the log).
BLOCK_LINES = 15
BLOCKS = {
    "setuptools' editable-installation advice": (
        re.compile(r"BuildBackendWarning: Editable installation\."),
        re.compile(r"with strategy, WheelFile\("),
    ),
}


def main(stream=sys.stdin, out=sys.stdout) -> int:
    hidden = dict.fromkeys([*NOISE, *BLOCKS], 0)
    in_block, block_lines = None, []
    for line in stream:
        if in_block is not None:
            block_lines.append(line)
            if BLOCKS[in_block][1].search(line):
                hidden[in_block] += len(block_lines)
                in_block, block_lines = None, []
            elif len(block_lines) >= BLOCK_LINES:  # not the block we know: give it back
                out.writelines(block_lines)
                in_block, block_lines = None, []
            continue
        in_block = next((name for name, (start, _) in BLOCKS.items() if start.search(line)), None)
        if in_block is not None:
            block_lines = [line]
            continue
        kind = next((name for name, pattern in NOISE.items() if pattern.search(line)), None)
        if kind is None:
            out.write(line)
            out.flush()
        else:
            hidden[kind] += 1
    out.writelines(block_lines)  # a block the log ended in
    left_out = [f"{count} x {name}" for name, count in hidden.items() if count]
    if left_out:
        out.write(f"(left out of this log as known noise: {', '.join(left_out)}; see book/_ext/buildlog.py)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

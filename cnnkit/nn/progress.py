"""A Keras-like progress bar for :meth:`cnnkit.nn.Sequential.fit` (``verbose=1``)."""

from __future__ import annotations

import sys
import time

__all__ = ["ProgressBar", "format_metrics"]


def format_metrics(values):
    return " - ".join(f"{k}: {v:.4f}" for k, v in values.items())


class ProgressBar:
    """``12/55 [=====>........................] - 1s - loss: 0.4123 - accuracy: 0.8750``.

    Redrawn in place (carriage return) at most every ``interval`` seconds so
    that notebooks are not flooded; :meth:`finish` prints the final line.
    """

    def __init__(self, total, width=30, file=None, interval=0.1):
        self.total, self.width, self.interval = total, width, interval
        self.file = file if file is not None else sys.stdout
        self.start = time.perf_counter()
        self._last = -1.0

    def _line(self, done, values):
        filled = int(self.width * done / self.total) if self.total else self.width
        arrow = ">" if done < self.total else "="
        bar = "=" * max(filled - 1, 0) + (arrow if filled else "") + "." * (self.width - filled)
        digits = len(str(self.total))
        elapsed = time.perf_counter() - self.start
        line = f"{done:>{digits}}/{self.total} [{bar}] - {elapsed:.0f}s"
        if done == self.total and self.total:
            line += f" {1e3 * elapsed / self.total:.0f}ms/step"
        return line + (f" - {format_metrics(values)}" if values else "")

    def update(self, done, values):
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            self.file.write("\r" + self._line(done, values))
            self.file.flush()

    def finish(self, values):
        self.file.write("\r" + self._line(self.total, values) + "\n")
        self.file.flush()

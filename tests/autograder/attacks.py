"""Memory and process attacks on the sandbox, one probe program for all, and the host's view of them.

Each attack tries to hold ``target_mb`` MiB in ``procs`` processes, ``chunk_mb``
at a time, in memory that a count of processes' private memory cannot see
(or, for ``numpy`` and ``children``, in memory it can). Every worker reports
what it holds through the results pipe, line by line, so that what was
allocated before a kill is known.
"""

from __future__ import annotations

import sys
import textwrap
import threading
import time
from pathlib import Path

from autograder import cgroups, sandbox

KINDS = ("numpy", "memfd", "sysv-shm", "shared-mmap", "socketpair", "tcp-loopback", "tmpfs-xattr", "children",
         "fork-bomb")

ATTACK = r'''
import ctypes, mmap, os, socket, sys, time

MiB = 1 << 20
kept = []


def numpy_chunk(n):
    import numpy as np
    kept.append(np.ones(n * MiB // 8))


def memfd_chunk(n):
    f = os.memfd_create("blob")
    block = b"x" * MiB
    for _ in range(n):
        os.write(f, block)
    kept.append(f)


libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]


def sysv_chunk(n):
    ident = libc.shmget(0, n * MiB, 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT
    if ident < 0:
        raise OSError(ctypes.get_errno(), "shmget")
    address = libc.shmat(ident, None, 0)
    if address in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "shmat")
    ctypes.memset(address, 1, n * MiB)
    libc.shmdt(address)  # detached: the segment belongs to no process any more


def mmap_chunk(n):
    m = mmap.mmap(-1, n * MiB, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
    block = b"x" * MiB
    for i in range(n):
        m[i * MiB:(i + 1) * MiB] = block
    kept.append(m)


def socket_chunk(n):
    held, block = 0, b"x" * 65536
    while held < n * MiB:
        a, b = socket.socketpair()
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * MiB)
        a.setblocking(False)
        try:
            while True:
                held += a.send(block)
        except BlockingIOError:
            pass
        kept.append((a, b))  # never read
    return held


def tcp_chunk(n):
    held, block = 0, b"x" * 65536
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    while held < n * MiB:
        a = socket.socket()
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * MiB)
        a.connect(server.getsockname())
        b, _ = server.accept()
        b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * MiB)
        a.setblocking(False)
        try:
            while True:
                held += a.send(block)
        except BlockingIOError:
            pass
        kept.append((a, b))  # never read


def xattr_chunk(n):
    value = b"x" * 65000
    folder = f"/tmp/x{os.getpid()}"
    os.makedirs(folder, exist_ok=True)
    written = 0
    while written < n * MiB:
        path = f"{folder}/f{len(kept)}"
        open(path, "w").close()
        kept.append(path)
        for key in range(16):
            os.setxattr(path, f"user.k{key}", value)
            written += len(value)


CHUNK = {"numpy": numpy_chunk, "children": numpy_chunk, "memfd": memfd_chunk, "sysv-shm": sysv_chunk,
         "shared-mmap": mmap_chunk, "socketpair": socket_chunk, "tcp-loopback": tcp_chunk, "tmpfs-xattr": xattr_chunk}


def attack(kind, chunk_mb, procs, target_mb, fd):
    """Hold ``target_mb`` MiB of ``kind`` in ``procs`` processes; report each chunk held on ``fd``."""
    share = max(target_mb // procs, chunk_mb)

    def worker():
        held = 0
        try:
            while held < share:
                CHUNK[kind](chunk_mb)
                held += chunk_mb
                os.write(fd, f"{os.getpid()} {chunk_mb}\n".encode())
        except (OSError, MemoryError) as exc:
            os.write(fd, f"{os.getpid()} refused {type(exc).__name__}\n".encode())
        time.sleep(2)  # hold it while the host is watched

    if kind == "fork-bomb":
        while True:
            try:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                os.write(fd, f"{os.getpid()} 0\n".encode())
            except OSError:
                os.write(fd, f"{os.getpid()} refused fork\n".encode())
                time.sleep(0.05)
    children = []
    for _ in range(procs if kind != "children" else max(procs, 2)):
        pid = os.fork()
        if pid == 0:
            try:
                worker()
            finally:
                os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
'''

PROBE = ATTACK + r'''
attack(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
'''


def notebook_cell(kind, chunk_mb, procs, target_mb):
    """The attack as a student's cell: what it holds is reported nowhere (``/dev/null``)."""
    return ATTACK + f"\nattack({kind!r}, {chunk_mb}, {procs}, {target_mb}, os.open(os.devnull, os.O_WRONLY))\n"


def mem_available_mb():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("expected a MemAvailable line in /proc/meminfo, found none")


def _memory_counters():
    """``(root, own)`` v1 memory cgroup usage files: everything charged, and this process's cgroup; or ``None``."""
    mounts, _ = cgroups._mounts()
    own = cgroups._own_cgroups()[0].get("memory", "/")
    if "memory" not in mounts or own == "/":
        return None  # v2, or this process in the root cgroup: the others cannot be told apart
    root = mounts["memory"]
    return root / "memory.usage_in_bytes", root / own.lstrip("/") / "memory.usage_in_bytes"


def charged_elsewhere_mb(counters):
    """MiB charged to cgroups other than this process's own (and its runs', which are below it)."""
    if counters is None:
        return 0.0
    root, own = (int(path.read_text()) for path in counters)
    return (root - own) / 2**20


class HostMemory:
    """Samples the host's MemAvailable in a thread, and how much of its fall this process's cgroup explains.

    ``raw_drop_mb`` is the largest fall of MemAvailable below the start.
    ``drop_mb`` is the largest fall less what cgroups other than this
    process's own (other users of a shared machine) were charged meanwhile:
    memory that this process's runs took, charged to their cgroup or not
    (the escapes this guards against are charged to no one), stays in it.
    """

    def __init__(self, interval=0.02):
        self._counters = _memory_counters()
        self.interval, self.start = interval, mem_available_mb()
        self._elsewhere = charged_elsewhere_mb(self._counters)
        self.raw_drop_mb = self.drop_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.is_set():
            fall = self.start - mem_available_mb()
            others = max(charged_elsewhere_mb(self._counters) - self._elsewhere, 0.0)
            self.raw_drop_mb = max(self.raw_drop_mb, fall)
            self.drop_mb = max(self.drop_mb, fall - others)
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


def run_attack(folder, kind, chunk_mb, procs, limits, target_mb, use_cgroup=None):
    """``(outcome, MiB the attack reported holding, host drop in MiB (see :class:`HostMemory`), refusals seen)``."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    (folder / "attack.py").write_text(textwrap.dedent(PROBE))
    (folder / "attack.py").chmod(0o644)
    with HostMemory() as host:
        outcome = sandbox.execute([sys.executable, "-s", f"{sandbox.INPUT}/attack.py", kind, str(chunk_mb), str(procs),
                                   str(target_mb), "{results_fd}"], limits, inputs=folder, use_cgroup=use_cgroup)
    lines = outcome.stream.decode().splitlines()
    held = sum(int(line.split()[1]) for line in lines if line.split()[1].isdigit())
    refused = sum(1 for line in lines if " refused " in line)
    return outcome, held, host.drop_mb, refused

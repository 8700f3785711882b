"""Run untrusted code in a bubblewrap sandbox with time, memory, file and process limits.

What the code inside sees: the whole file system read-only, except that the
course repository (with ``cnnkit`` and ``solutions/``), the submissions, the
grader's output, ``/tmp``, ``/home`` and ``/root`` are replaced by empty
folders; the Python environment is mounted back read-only, minus the packages
the exercise forbids; its own work folder is the only writable place. It has
no network (its own empty network namespace), its own process tree, and runs
as an unprivileged user id, so the process limit holds even when the grader
runs as root.

Where bubblewrap is missing the code still runs, with the resource limits
only, and every result is flagged ``unsandboxed``: the grader says so loudly.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .course import ROOT


@dataclass
class Limits:
    """Resource limits of one sandboxed run."""

    wall_seconds: float = 300.0  # the whole notebook
    cell_seconds: float = 60.0  # one cell, or one call of a graded function
    memory_mb: int = 4096  # address space
    file_mb: int = 256  # largest file it may write
    processes: int = 64


@dataclass
class Outcome:
    returncode: int | None
    timed_out: bool
    seconds: float
    sandboxed: bool
    stderr_tail: str


def bwrap_path():
    return shutil.which("bwrap")


def package_folder(name):
    """The folder of an installed package, found without importing it (``None`` if absent)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(spec.origin).parent if spec.origin else None


def _under(path, root):
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
        return True
    except ValueError:
        return False


def command(work, argv, limits, hide=(), forbidden=(), expose=(), writable=(), mount_at="/tmp/grading",
            env=None):
    """The full command line that runs ``argv`` inside the sandbox, and whether it is sandboxed.

    ``work`` is bound read-write at ``mount_at`` and is the working folder;
    ``hide`` lists extra folders to blank out; ``forbidden`` names packages
    to remove from the environment; ``expose`` lists folders inside hidden
    ones to mount back read-only (e.g. the installed ``cnnkit``) and
    ``writable`` ones to mount back read-write at the same path.
    """
    work = Path(work).resolve()
    rlimits = [
        "prlimit",
        f"--as={limits.memory_mb * 1024 * 1024}",
        f"--fsize={limits.file_mb * 1024 * 1024}",
        f"--cpu={int(limits.wall_seconds) + 5}",
        f"--nproc={limits.processes}",
        "--core=0",
        "--",
    ]
    bwrap = bwrap_path()
    if not bwrap:
        return rlimits + list(argv), False

    args = [bwrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    blanked = {Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path("/home"), Path("/root"), ROOT.resolve()}
    blanked |= {Path(p).resolve() for p in hide}
    for folder in sorted(blanked, key=lambda p: len(p.parts)):
        if folder.exists():
            # Scratch space must stay writable for the unprivileged user.
            perms = ["--perms", "1777"] if str(folder) in ("/tmp", "/var/tmp", "/dev/shm") else []
            args += [*perms, "--tmpfs", str(folder)]
    # Mount back what Python needs, read-only: the interpreter and the venv.
    keep = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    for folder in sorted(keep, key=lambda p: len(p.parts)):
        if any(_under(folder, b) for b in blanked):
            args += ["--ro-bind", str(folder), str(folder)]
    if Path(sys.executable).resolve() != Path(sys.executable):
        real = Path(sys.executable).resolve().parent.parent
        if any(_under(real, b) for b in blanked) and real not in keep:
            args += ["--ro-bind", str(real), str(real)]
    for folder in expose:
        args += ["--ro-bind", str(Path(folder).resolve()), str(Path(folder).resolve())]
    for name in forbidden:
        folder = package_folder(name)
        if folder is not None and folder.is_dir():
            args += ["--tmpfs", str(folder)]
    for folder in writable:
        args += ["--bind", str(Path(folder).resolve()), str(Path(folder).resolve())]
    args += ["--bind", str(work), mount_at, "--chdir", mount_at, "--clearenv",
             "--setenv", "PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin",
             "--setenv", "HOME", mount_at, "--setenv", "PYTHONNOUSERSITE", "1",
             "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--setenv", "MPLBACKEND", "Agg",
             "--setenv", "OMP_NUM_THREADS", "1", "--setenv", "OPENBLAS_NUM_THREADS", "1",
             "--setenv", "TF_CPP_MIN_LOG_LEVEL", "3"]
    for key, value in (env or {}).items():
        args += ["--setenv", key, value]
    args.append("--")
    if os.geteuid() == 0:
        # As root the process limit would not apply: drop to a throwaway user
        # id (one per run, so parallel runs do not share a process budget).
        uid = 60000 + secrets.randbelow(5000)
        for folder in [work, *writable]:
            os.chmod(folder, 0o777)
        args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                 "--bounding-set=-all", "--"]
    return rlimits + args + list(argv), True


def run(work, argv, limits, hide=(), forbidden=(), expose=()):
    """Run ``argv`` sandboxed in ``work``; kill the whole process tree at the wall-clock limit."""
    cmd, sandboxed = command(work, argv, limits, hide, forbidden, expose=expose)
    start = time.monotonic()
    stderr_path = Path(work) / "sandbox-stderr.txt"
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(cmd, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=stderr, start_new_session=True)
        timed_out = False
        try:
            process.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
    with open(stderr_path, "rb") as handle:
        tail = handle.read(4000).decode(errors="replace")
    return Outcome(process.returncode, timed_out, time.monotonic() - start, sandboxed, tail)

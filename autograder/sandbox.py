"""Run untrusted code in a bubblewrap sandbox built from an allowlist, bounded as a whole.

What the code inside sees is only what it needs: the system's ``/usr`` (and
the ``/bin``, ``/lib`` links into it), a few files of ``/etc`` (the dynamic
linker's cache, fonts), the Python interpreter and environment that run the
grader (wherever they live: a venv in the repository or in a home folder,
pyenv, conda, the system Python), the grader's input folder read-only at
``/grader``, and a fresh, size-capped ``/tmp`` whose ``/tmp/grading`` is its
working folder. Nothing else of the machine exists in there: no ``/home``,
``/root``, ``/run`` (so no D-Bus or docker socket), ``/var``, ``/opt``, no
course repository, no submissions, no grades. It has no network, its own
process tree, and runs as an unprivileged user id (when the grader is root)
so that the process limit holds.

Limits apply to the submission as a whole. Where a cgroup can be made
(:mod:`autograder.cgroups`), each run gets its own, joined before anything
of it executes: the kernel bounds every kind of memory it allocates (shared
memory, memfd, socket buffers, tmpfs files and their attributes included),
its processes and threads, and holds it to one CPU core; past the memory
limit the whole run is killed. Where none can be made, a watchdog
estimates memory as the sum of every process's own memory plus what it
wrote to its tmpfs folders (it cannot see memory that belongs to no
process). What it writes is capped by the size of those folders; the wall
clock covers every process (sleeping uses no CPU time, so a CPU limit alone
would never fire). Results leave the sandbox only
through a pipe, read here with a size cap (:mod:`autograder.stream`).

Where bubblewrap is missing the code still runs, with the resource limits
only, and every result is flagged ``unsandboxed``: the grader says so loudly.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

from . import cgroups
from .course import ROOT

WORK = "/tmp/grading"  # the submission's working folder inside the sandbox
INPUT = "/grader"  # the grader's read-only input folder inside the sandbox
WATCH_INTERVAL = 0.1  # seconds between two looks of the memory watchdog
STDERR_TAIL = 4000
# A thread pool that asks for one thread too many is told no and goes on; a
# fork bomb asks again and again, and is killed.
FORKS_REFUSED_TOLERATED = 16
# One thread per run for every numeric library: the grader runs one submission per core, and a second
# BLAS or TensorFlow thread only waits for a core another run holds (TensorFlow's two threads cost
# 36% more CPU than one for the same epoch on this course's CNN, 8.3 s against 6.1 s, even on an idle machine).
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
              "TF_NUM_INTEROP_THREADS": "1"}


@dataclass
class Limits:
    """Resource limits of one submission; the command line's options are built from these fields."""

    wall_seconds: float = field(default=300.0, metadata=dict(
        flag="--notebook-timeout", help="wall-clock seconds for a whole notebook"))
    cell_seconds: float = field(default=60.0, metadata=dict(
        flag="--cell-timeout", help="seconds for one cell or one call of a graded function (interrupted, not killed)"))
    memory_mb: int = field(default=4096, metadata=dict(
        flag="--memory-mb", help="memory of a submission as a whole (all its processes plus the files it writes), MiB"))
    disk_mb: int = field(default=256, metadata=dict(
        flag="--disk-mb", help="total a submission may write to its folders, MiB"))
    processes: int = field(default=64, metadata=dict(
        flag="--processes", help="processes and threads a submission may run at once"))

    @classmethod
    def options(cls):
        """``[(flag, attribute, type, default, help)]`` for the command line."""
        return [(f.metadata["flag"], f.name, f.type if callable(f.type) else eval(f.type), f.default,  # noqa: S307
                 f.metadata["help"]) for f in fields(cls)]


@dataclass
class Outcome:
    returncode: int | None
    timed_out: bool
    seconds: float
    sandboxed: bool
    stderr_tail: str
    stream: bytes = b""  # what the code sent through the results pipe
    stream_overflow: bool = False  # it tried to send more than the cap
    killed_for: str = ""  # "memory", "processes", "results": what stopped it (cgroup, watchdog, results' cap)
    stdout: str = ""  # its standard output (the first 64 KiB), when asked for
    cgroup: int = 0  # the version of the cgroup that bounded the run; 0: none, only the watchdog's estimate
    memory_peak: int = 0  # the most bytes the run's cgroup held at once (0 without a cgroup)


def bwrap_path():
    """bubblewrap's path, or ``None``. ``AUTOGRADER_BWRAP`` names another one (empty: pretend it is missing)."""
    given = os.environ.get("AUTOGRADER_BWRAP")
    if given is not None:
        return given if given and os.access(given, os.X_OK) else None
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


def _inside(path, root):
    try:
        Path(path).relative_to(root)
        return True
    except ValueError:
        return False


def python_folders():
    """The folders that make this Python run: interpreter, standard library, environment.

    Resolved, deduplicated and without nesting. Entries of ``sys.path`` inside
    the course repository (its editable install, the current folder) are left
    out on purpose, except the repository's own ``.venv``.
    """
    candidates = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.base_exec_prefix),
                  Path(sys.executable).resolve().parent.parent}
    for entry in sys.path:
        # Package folders only: a script's folder or the current one (often
        # /tmp or a home folder) must never be mounted whole.
        if entry and Path(entry).is_dir() and Path(entry).name in ("site-packages", "dist-packages"):
            candidates.add(Path(entry))
    root = ROOT.resolve()
    folders = set()
    for path in candidates:
        path = path.resolve()
        if not path.exists() or len(path.parts) < 3 or path == Path.home().resolve():
            continue  # never "/", "/usr", "/tmp" or a whole home folder
        if _inside(path, root) and not _in_a_venv(path, root):
            continue  # the course itself stays out of reach (its .venv may be mounted)
        folders.add(path)
    ordered = sorted(folders, key=lambda p: len(p.parts))
    return [p for i, p in enumerate(ordered) if not any(_inside(p, q) for q in ordered[:i])]


def _in_a_venv(path, root):
    """Whether ``path`` lies in a virtual environment (a folder with ``pyvenv.cfg``) inside ``root``."""
    for folder in [path, *path.parents]:
        if not _inside(folder, root) or folder == root:
            return False
        if (folder / "pyvenv.cfg").is_file():
            return True
    return False


FRESH = (Path("/tmp"), Path("/dev"), Path("/proc"))  # mounted empty: nothing below them exists yet
SYSTEM_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "fonts", "localtime", "nsswitch.conf",
             "mime.types")


def _system_mounts():
    args = ["--ro-bind", "/usr", "/usr"]
    for name in SYSTEM_LINKS:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--perms", "0755", "--dir", "/etc"]
    for name in ETC_FILES:
        path = Path("/etc") / name
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _bind(args, mounted, source, target, how="--ro-bind"):
    """Mount ``source`` at ``target``, first creating each missing parent as 0755.

    bubblewrap would create the parents itself, but as ``drwx------`` root:
    the unprivileged sandbox user could then not reach an interpreter that
    lives in a home folder.
    """
    target = Path(target)
    for parent in reversed(target.parents):
        # Inside a tree mounted from the machine the parents exist already;
        # inside a fresh tmpfs (/tmp) they do not, and are made here too.
        if str(parent) == "/" or any(_inside(parent, m) for m in mounted if m not in FRESH):
            continue
        args += ["--perms", "0755", "--dir", str(parent)]
    args += [how, str(source), str(target)]
    mounted.append(target)


def new_uid():
    """A throwaway user id for one run (when the grader is root), so that runs share no process budget or files."""
    return 60000 + secrets.randbelow(5000) if os.geteuid() == 0 else os.getuid()


def hand_over(folder, uid):
    """Make ``folder`` private to the run's user: owner ``uid``, 0700 folders and 0600 files.

    The grader's other users never read a sandbox's inputs (student models,
    other submissions' data); the sandbox user needs to, and only it.
    """
    for root, dirs, names in os.walk(folder):
        for path in [root] + [os.path.join(root, n) for n in names]:
            if os.geteuid() == 0:
                os.chown(path, uid, uid, follow_symlinks=False)
            if not os.path.islink(path):
                os.chmod(path, 0o700 if os.path.isdir(path) else 0o600)


RUNNER_PACKAGES = ("numpy", "ipython", "matplotlib", "matplotlib-inline")  # what a student's notebook runs on
KERAS_PACKAGES = ("tensorflow", "keras")


def _normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.lru_cache(maxsize=None)
def distributions_needed(roots):
    """The installed distributions ``roots`` need to run, found through their requirements (extras left out)."""
    seen, todo = {}, list(roots)
    while todo:
        name = todo.pop()
        if _normal(name) in seen:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        seen[_normal(name)] = dist
        for requirement in dist.requires or []:
            if ";" in requirement and "extra" in requirement.split(";", 1)[1]:
                continue
            todo.append(re.split(r"[ ;<>=!~\[(]", requirement.strip(), maxsplit=1)[0])
    return seen


@functools.lru_cache(maxsize=None)
def package_entries(roots, forbidden):
    """``{site folder: entry names}`` of what ``roots`` need, without the top-level names ``forbidden``."""
    refused = {name.split(".")[0] for name in forbidden}
    entries = {}
    for dist in distributions_needed(roots).values():
        site = Path(dist.locate_file("")).resolve()
        for file in dist.files or []:
            top = file.parts[0] if file.parts else ""
            if not top or top == ".." or top == "__pycache__" or top.endswith(".pth"):
                continue
            module = top.split(".")[0].split("-")[0]
            if module in refused or top.split(".py")[0] in refused:
                continue
            if (site / top).exists():
                entries.setdefault(site, set()).add(top)
    return entries


def site_folders(mounted):
    """Every folder of Python packages the sandbox would otherwise show: in the mounted environments and the system's."""
    candidates = []
    for root in mounted:
        for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages", "lib64/python3*/site-packages",
                        "local/lib/python3*/dist-packages", "local/lib/python3*/site-packages", "lib/python3/dist-packages"):
            candidates += Path(root).glob(pattern)
    return sorted({c.resolve() for c in candidates if c.is_dir() and not c.is_symlink()})


def _allowlisted_packages(args, mounted, packages, forbidden):
    """Empty every package folder, then mount back only what ``packages`` need (nothing ``forbidden``).

    A package that is not mounted cannot be imported by any trick: not from
    another environment's folder, not by a path, not by an import hook removed.
    """
    wanted = package_entries(tuple(sorted(packages)), tuple(sorted(forbidden)))
    for folder in site_folders(mounted):
        args += ["--perms", "0755", "--tmpfs", str(folder)]
        # .pth files keep the environment's own sys.path (a venv that borrows another's packages); what they
        # name is mounted only if it is a package folder, and then emptied and refilled the same way.
        kept = set(wanted.get(folder, ())) | {p.name for p in folder.glob("*.pth") if p.is_file()}
        for entry in sorted(kept):
            args += ["--ro-bind", str(folder / entry), str(folder / entry)]


def command(argv, limits, inputs=None, expose=(), forbidden=(), files=None, env=None, uid=None, packages=None,
            in_cgroup=False):
    """The command line that runs ``argv`` in the sandbox, and whether it is sandboxed.

    ``inputs`` is a host folder mounted read-only at ``/grader``; ``expose``
    lists host folders mounted read-only at their own path (the judge needs
    the course's code); ``forbidden`` names packages whose folders are
    blanked; ``files`` maps names in the working folder to host files
    mounted read-only there (data the exercise provides). ``in_cgroup``: the
    run's cgroup bounds its processes, so the per-user process limit is only
    a backstop above it.
    """
    rlimits = [shutil.which("prlimit") or "/usr/bin/prlimit", f"--as={limits.memory_mb * 1024 * 1024}", f"--fsize={limits.disk_mb * 1024 * 1024}",
               f"--nproc={_nproc_limit(limits) + (cgroups.PIDS_HEADROOM if in_cgroup else 0)}", "--core=0", "--"]
    bwrap = bwrap_path()
    if not bwrap:
        return rlimits + list(argv), False

    args = [bwrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session",
            "--dev", "/dev", "--proc", "/proc",
            "--perms", "1777", "--size", str(limits.disk_mb * 1024 * 1024), "--tmpfs", "/tmp",
            "--perms", "1777", "--size", str(min(64, limits.disk_mb) * 1024 * 1024), "--tmpfs", "/dev/shm",
            "--perms", "1777", "--dir", WORK]
    args += _system_mounts()
    mounted = [Path("/usr"), Path("/etc"), Path("/tmp"), Path("/dev"), Path("/proc")]
    for folder in python_folders():
        _bind(args, mounted, folder, folder)
    for folder in expose:
        folder = Path(folder).resolve()
        _bind(args, mounted, folder, folder)
    if packages is not None:
        _allowlisted_packages(args, [Path("/usr"), *python_folders()], packages, forbidden)
    for name in forbidden if packages is None else ():
        folder = package_folder(name)
        if folder is not None and folder.is_dir() and any(_inside(folder.resolve(), m) for m in mounted):
            args += ["--tmpfs", str(folder.resolve())]
    if inputs is not None:
        _bind(args, mounted, Path(inputs).resolve(), INPUT)
    for name, source in (files or {}).items():
        args += ["--ro-bind", str(Path(source).resolve()), f"{WORK}/{name}"]
    scripts = Path(sys.executable).parent
    environment = {"PATH": f"{scripts}:/usr/bin:/bin", "HOME": WORK, "PYTHONNOUSERSITE": "1",
                   "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{WORK}/.matplotlib",
                   **ONE_THREAD, "TF_CPP_MIN_LOG_LEVEL": "3", "TMPDIR": "/tmp", **(env or {})}
    args += ["--chdir", WORK, "--clearenv"]
    for key, value in environment.items():
        args += ["--setenv", key, str(value)]
    args.append("--")
    if os.geteuid() == 0:
        # As root the process limit would not apply: drop to a throwaway user
        # id (one per run, so parallel runs do not share a process budget).
        uid = uid if uid is not None else new_uid()
        args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                 "--bounding-set=-all", "--"]
    return rlimits + args + list(argv), True


def _nproc_limit(limits):
    """RLIMIT_NPROC counts every process of the user: leave room for the grader's user's own."""
    if os.geteuid() == 0:
        return limits.processes
    try:
        import psutil

        mine = sum(1 for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == os.getuid())
    except Exception:  # psutil missing or /proc unreadable: a generous bound
        mine = 1024
    return limits.processes + mine + 64


def _feed(pipe, data):
    """Write ``data`` to a child's standard input and close it (a child that never reads just ends the write)."""
    try:
        pipe.write(data)
    except (BrokenPipeError, OSError):
        pass
    finally:
        try:
            pipe.close()
        except OSError:
            pass


def _tree_memory(process):
    """Bytes the process tree holds: each process's private memory plus its tmpfs folders' use."""
    import psutil

    total, count, inner = 0, 0, None
    try:
        tree = [process] + process.children(recursive=True)
    except psutil.Error:
        return 0, 0
    for proc in tree:
        try:
            total += _own_memory(proc)
            count += proc.num_threads()
            inner = proc.pid
        except psutil.Error:
            continue
    if inner is not None and _own_root(inner):
        for folder in ("tmp", "dev/shm"):
            try:
                stat = os.statvfs(f"/proc/{inner}/root/{folder}")
                total += (stat.f_blocks - stat.f_bfree) * stat.f_frsize
            except OSError:
                pass
    return total, count


def _own_memory(proc):
    """A process's share of memory: PSS, so pages a fork shares with its parent count once, not twice."""
    try:
        return proc.memory_full_info().pss
    except Exception:  # psutil.AccessDenied on a non-dumpable process, or no smaps: the plainer count
        info = proc.memory_info()
        return max(info.rss - getattr(info, "shared", 0), 0)


def _own_root(pid):
    """Whether the process already lives in the sandbox's file system (not the grader's)."""
    try:
        inner, outer = os.stat(f"/proc/{pid}/root"), os.stat("/")
    except OSError:
        return False
    return (inner.st_dev, inner.st_ino) != (outer.st_dev, outer.st_ino)


def execute(argv, limits, inputs=None, expose=(), forbidden=(), files=None, env=None, stream_cap=64 * 1024 * 1024,
        capture_stdout=False, stdin=None, uid=None, packages=None, use_cgroup=None):
    """Run ``argv`` sandboxed; return its :class:`Outcome` with what it sent through the results pipe.

    The results pipe's file descriptor replaces ``{results_fd}`` in ``argv``; ``stdin`` (bytes) is
    written to the program's standard input (secrets that must not lie in a file). Every process of the
    run is killed at the wall-clock limit, past the memory or process limit
    (the run's cgroup, else the watchdog) or when the results exceed
    ``stream_cap`` bytes. ``use_cgroup``: ``None`` (default) bounds the run
    by a cgroup where one can be made (or is required: see
    :func:`autograder.cgroups.wanted`), ``False`` never, ``True`` always
    (raising :class:`autograder.cgroups.CgroupError` where none can be made).
    ``uid`` is the sandbox user (:func:`new_uid`), ``packages`` the
    distributions the run mounts (default: every installed one).
    """
    if use_cgroup is None:
        use_cgroup = cgroups.wanted()
    group = cgroups.RunCgroup.make(limits.memory_mb * 1024 * 1024, limits.processes) if use_cgroup else None
    try:
        return _execute(argv, limits, inputs, expose, forbidden, files, env, stream_cap, capture_stdout, group,
                        stdin, uid, packages)
    finally:
        if group is not None:
            group.remove()


def _execute(argv, limits, inputs, expose, forbidden, files, env, stream_cap, capture_stdout, group, stdin=None,
             uid=None, packages=None):
    read_end, write_end = os.pipe()
    err_read, err_write = os.pipe()
    argv = [str(a).replace("{results_fd}", str(write_end)) for a in argv]
    cwd, scratch = None, None
    if not bwrap_path():
        # No sandbox: the same program runs in a scratch folder, with the
        # input folder at its real place. Flagged "unsandboxed" by the grader.
        import tempfile

        scratch = tempfile.TemporaryDirectory(prefix="ag-unsandboxed-")
        cwd = scratch.name
        if inputs is not None:
            argv = [a.replace(INPUT, str(Path(inputs).resolve()), 1) if a.startswith(INPUT) else a for a in argv]
        for name, source in (files or {}).items():
            os.symlink(Path(source).resolve(), Path(cwd) / name)
        env = {**os.environ, "HOME": cwd, "MPLBACKEND": "Agg", **ONE_THREAD, "TF_CPP_MIN_LOG_LEVEL": "3",
               **(env or {})}
    cmd, sandboxed = command(argv, limits, inputs=inputs, expose=expose, forbidden=forbidden, files=files, env=env,
                             uid=uid, packages=packages, in_cgroup=group is not None)
    if group is not None:
        cmd = group.wrap(cmd)
    start = time.monotonic()
    process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE, cwd=cwd, env=env if scratch else None,
                               stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL, stderr=err_write,
                               pass_fds=(write_end,), start_new_session=True)
    os.close(write_end)
    os.close(err_write)
    chunks, state = [], {"size": 0, "overflow": False, "stderr": b""}
    killed = {"why": ""}

    def kill(why):
        if not killed["why"]:
            killed["why"] = why
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if group is not None:
            group.kill()

    def drain(fd, keep):
        """Read a pipe to its end, handing each chunk to ``keep`` (which may keep none of it)."""
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 16):
                keep(chunk)

    def keep_results(chunk):
        if state["size"] + len(chunk) > stream_cap:
            state["overflow"] = True
            kill("results")  # and drain the rest without keeping it
            return
        state["size"] += len(chunk)
        chunks.append(chunk)

    def keep_tail(chunk):
        state["stderr"] = (state["stderr"] + chunk)[-STDERR_TAIL:]

    def keep_head(chunk):
        if len(state["stdout"]) < 1 << 16:
            state["stdout"] += chunk

    state["stdout"] = b""
    readers = [threading.Thread(target=drain, args=(read_end, keep_results), daemon=True),
               threading.Thread(target=drain, args=(err_read, keep_tail), daemon=True)]
    if capture_stdout:
        readers.append(threading.Thread(target=drain, args=(os.dup(process.stdout.fileno()), keep_head),
                                        daemon=True))
        process.stdout.close()
    if stdin is not None:
        readers.append(threading.Thread(target=_feed, args=(process.stdin, stdin), daemon=True))
    for reader in readers:
        reader.start()
    timed_out = False
    watched = None
    if group is None:
        try:
            import psutil

            watched = psutil.Process(process.pid)
        except Exception:
            pass
    memory_cap = limits.memory_mb * 1024 * 1024
    while process.poll() is None:
        if time.monotonic() - start > limits.wall_seconds:
            timed_out = True
            kill("time")
            break
        if group is not None:
            _bounded_by_kernel(group, kill, memory_cap)
        elif watched is not None:
            used, threads = _tree_memory(watched)
            if used > memory_cap:
                kill("memory")
            elif threads > limits.processes + 16:  # the runner's own threads, then the submission's
                kill("processes")
        time.sleep(WATCH_INTERVAL)
    process.wait()
    if group is not None:
        # The OOM killer may have ended the run between two looks.
        _bounded_by_kernel(group, kill, memory_cap)
        group.kill()  # nothing of the run outlives it
        peak = group.peak_bytes()
    for reader in readers:
        reader.join(timeout=5)
    if scratch is not None:
        scratch.cleanup()
    if group is not None and process.returncode == cgroups.JOIN_FAILED and cgroups.JOIN_NAME in state["stderr"].decode(
            errors="replace"):
        raise cgroups.CgroupError(f"expected the run to enter its cgroup {group.folders}, but: "
                                  f"{state['stderr'].decode(errors='replace').strip()}")
    return Outcome(process.returncode, timed_out, time.monotonic() - start, sandboxed,
                   state["stderr"].decode(errors="replace"), b"".join(chunks), state["overflow"],
                   "" if killed["why"] == "time" else killed["why"], state["stdout"].decode(errors="replace"),
                   group.version if group is not None else 0, peak if group is not None else 0)


def _bounded_by_kernel(group, kill, memory_cap):
    """Kill the whole run once its cgroup's OOM killer fired, or its pids limit kept refusing forks.

    cgroup v1 keeps TCP buffers in a counter of their own, and a 6.18 kernel
    counted 108 MiB there under a 32 MiB limit without refusing any: the sum
    of both counters is held to the limit here. (v2 counts them in
    ``memory.current`` and enforces ``memory.max`` itself.)
    """
    if group.oom_kills() or (group.version == 1 and group.memory_bytes() > memory_cap):
        kill("memory")
    elif group.forks_refused() > FORKS_REFUSED_TOLERATED:
        kill("processes")

"""One cgroup per sandboxed run: made, joined before anything executes, read, killed and removed.

A watchdog that adds up processes' private memory cannot see memory that
belongs to no process: memfd files, System V shared memory, shared anonymous
mappings, socket buffers, tmpfs extended attributes. The kernel's memory
controller charges all of them to the cgroup of whoever allocated them, and
refuses or OOM-kills past its limit; the pids controller refuses a fork past
its limit; the cpu controller caps a run at one core, so a CPU hog cannot
starve the grader or the classmates graded next to it.

Both layouts are handled: cgroup v2 (one hierarchy with ``memory.max``,
``pids.max``, ``cpu.max``, ``memory.oom.group``, ``cgroup.kill``) where the
machine has a usable one, else cgroup v1 (separate ``memory``, ``pids`` and
``cpu`` hierarchies). A run's cgroup is made below the grader's own, so the
limits of whatever runs the grader still apply to it.

``AUTOGRADER_NO_CGROUP=1`` makes :func:`unavailable` answer as on a machine
where no cgroup can be made (tests, and instructors who want to see the
refusal). ``AUTOGRADER_REQUIRE_CGROUP=1`` (set by ``grade`` in its workers)
makes :func:`wanted` insist on one.
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000
CPU_CORES_PER_RUN = 1  # one core per submission
# bubblewrap and its init inside the sandbox count against pids.max too: the
# submission (its runner's threads included, as under RLIMIT_NPROC) gets
# its full ``processes``.
SANDBOX_TASKS = 2
# The per-user process limit stays as a backstop this far above pids.max,
# so that the kernel's refusal is seen (and reported) here first.
PIDS_HEADROOM = 16
TCP_SHARE = 8  # v1: TCP buffers may hold this fraction of the memory limit on top of it
JOIN_FAILED = 125  # the exit code of the join wrapper when the process could not enter its cgroup
# Writes the wrapper's own pid into each cgroup.procs file given before "--",
# then becomes the command: nothing of the run executes outside the cgroup.
JOIN_SCRIPT = ('while [ "$1" != -- ]; do echo $$ > "$1" || exit %d; shift; done; shift; exec "$@"'
               % JOIN_FAILED)
JOIN_NAME = "autograder-join-cgroup"  # the wrapper's $0: its error messages start with it

UNBOUNDED_WITHOUT_CGROUP = (
    "memory that belongs to no process is then unbounded: System V and POSIX shared memory, memfd files, "
    "shared anonymous mappings, kernel memory and socket buffers, extended attributes of tmpfs files; "
    "only the watchdog's estimate (each process's private memory plus the sandbox's tmpfs folders) applies, "
    "and a CPU hog is not held to one core")


NO_CGROUP_VARIABLE = "AUTOGRADER_NO_CGROUP"
REQUIRE_VARIABLE = "AUTOGRADER_REQUIRE_CGROUP"


class CgroupError(RuntimeError):
    """A run's cgroup could not be made, joined or removed."""


def _own_cgroups():
    """This process's cgroups: ``({v1 controller: path in its hierarchy}, v2 path or None)``."""
    paths, unified = {}, None
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            unified = path
        for controller in controllers.split(","):
            if controller:
                paths[controller] = path
    return paths, unified


def _mounts():
    """``(v1 {controller: mount point}, [v2 mount points])`` from ``/proc/self/mounts``."""
    v1, v2 = {}, []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        point, kind, options = parts[1], parts[2], parts[3].split(",")
        if kind == "cgroup2":
            v2.append(Path(point))
        elif kind == "cgroup":
            for option in options:
                if option in ("memory", "pids", "cpu"):
                    v1[option] = Path(point)
    return v1, v2


def _writable_folder(folder):
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _v2_parent():
    """The v2 folder below which runs get their cgroups, with memory and pids enabled for its children, or ``None``."""
    _, mounts = _mounts()
    own = _own_cgroups()[1]
    for mount in mounts:
        candidates = []
        if own is not None:
            candidates.append(mount / own.lstrip("/"))
        candidates.append(mount)
        for folder in candidates:
            try:
                available = (folder / "cgroup.controllers").read_text().split()
            except OSError:
                continue
            if not {"memory", "pids"} <= set(available) or not _writable_folder(folder):
                continue
            # A v2 cgroup that holds processes cannot hand controllers to its
            # children (other than the root): a folder of our own holds the
            # runs. Where even that is refused (EBUSY), runs go below the
            # hierarchy's root, which only root may write to.
            parent = folder if folder == mount else folder / "autograder-runs"
            try:
                if parent != folder:
                    _enable(folder, "+memory +pids")  # EBUSY when the folder holds processes: no v2 here
                    _enable(folder, "+cpu", required=False)
                    parent.mkdir(exist_ok=True)
                _enable(parent, "+memory +pids")
                _enable(parent, "+cpu", required=False)
            except OSError:
                continue
            return parent
    return None


def _enable(folder, controllers, required=True):
    try:
        (folder / "cgroup.subtree_control").write_text(controllers)
    except OSError:
        if required:
            raise


def _v1_parents():
    """``{controller: folder}`` below which runs get their v1 cgroups (memory and pids required), or ``None``."""
    mounts, _ = _mounts()
    own, _ = _own_cgroups()
    parents = {}
    for controller in ("memory", "pids", "cpu"):
        if controller not in mounts:
            continue
        folder = mounts[controller] / own.get(controller, "/").lstrip("/")
        if _writable_folder(folder):
            parents[controller] = folder
    return parents if {"memory", "pids"} <= set(parents) else None


def unavailable():
    """Why no per-run cgroup can be made on this machine, or ``""`` when one can."""
    if os.environ.get(NO_CGROUP_VARIABLE, "") not in ("", "0"):
        return f"{NO_CGROUP_VARIABLE} is set"
    try:
        if _v2_parent() is not None or _v1_parents() is not None:
            return ""
    except OSError as exc:
        return f"reading this process's cgroups failed: {exc}"
    who = "root" if os.geteuid() == 0 else f"user {os.geteuid()}"
    return (f"no writable cgroup hierarchy with the memory and pids controllers was found for {who} "
            f"(cgroup v2 with memory and pids delegated, or cgroup v1 memory and pids under {CGROUP_ROOT})")


def wanted():
    """Whether a run should get a cgroup: where one can be made, and always where one is required.

    A required one that cannot be made is not silently skipped:
    :meth:`RunCgroup.make` then raises.
    """
    return os.environ.get(REQUIRE_VARIABLE, "") not in ("", "0") or not unavailable()


@dataclass
class RunCgroup:
    """The cgroup of one run: ``folders`` maps each controller (v2: ``"unified"``) to its folder."""

    version: int
    folders: dict = field(default_factory=dict)

    # --- making it

    @classmethod
    def make(cls, memory_bytes, processes, cores=CPU_CORES_PER_RUN):
        """A fresh cgroup holding at most ``memory_bytes`` of memory of any kind and ``processes`` tasks.

        Raises
        ------
        CgroupError
            None can be made (see :func:`unavailable`), or a limit could not be written.
        """
        why = unavailable()
        if why:
            raise CgroupError(f"expected a cgroup for the run, but {why}")
        name = f"autograder-{os.getpid()}-{secrets.token_hex(4)}"
        parent = _v2_parent()
        if parent is not None:
            made = cls(2, {"unified": parent / name})
        else:
            made = cls(1, {controller: folder / name for controller, folder in _v1_parents().items()})
        for folder in made.folders.values():
            _remove_stale(folder.parent)
        try:
            for folder in made.folders.values():
                folder.mkdir()
            made._limit(memory_bytes, processes + SANDBOX_TASKS, cores)
        except OSError as exc:
            made.remove()
            raise CgroupError(f"expected to make and limit the run's cgroup {made.folders}, but: {exc}") from exc
        return made

    def _limit(self, memory_bytes, pids, cores):
        if self.version == 2:
            folder = self.folders["unified"]
            _write(folder / "memory.max", memory_bytes)
            _write(folder / "memory.swap.max", 0, required=False)  # absent when the machine has no swap accounting
            _write(folder / "memory.oom.group", 1, required=False)  # the OOM killer takes the whole run
            _write(folder / "pids.max", pids)
            _write(folder / "cpu.max", f"{cores * CPU_PERIOD_US} {CPU_PERIOD_US}", required=False)
            return
        memory = self.folders["memory"]
        _write(memory / "memory.limit_in_bytes", memory_bytes)
        # Swap would double the memory a run holds; where memsw exists it caps memory plus swap.
        _write(memory / "memory.memsw.limit_in_bytes", memory_bytes, required=False)
        # v1 charges TCP socket buffers to a counter of their own, outside the
        # main one, and only once this limit is written (measured: unix socket
        # buffers, memfd, shm, tmpfs and its xattrs all land in the main one).
        # A 6.18 kernel counts past it without refusing: sandbox.execute holds
        # both counters together to the memory limit. A sandbox has only
        # loopback, so a small share suffices.
        _write(memory / "memory.kmem.tcp.limit_in_bytes", max(memory_bytes // TCP_SHARE, 1 << 20), required=False)
        _write(memory / "memory.swappiness", 0, required=False)
        _write(self.folders["pids"] / "pids.max", pids)
        if "cpu" in self.folders:
            _write(self.folders["cpu"] / "cpu.cfs_period_us", CPU_PERIOD_US, required=False)
            _write(self.folders["cpu"] / "cpu.cfs_quota_us", cores * CPU_PERIOD_US, required=False)

    # --- joining it

    def procs_files(self):
        return [str(folder / "cgroup.procs") for folder in self.folders.values()]

    def wrap(self, argv):
        """``argv`` run by a shell that first moves itself into this cgroup (so does everything it starts)."""
        return ["/bin/sh", "-c", JOIN_SCRIPT, JOIN_NAME, *self.procs_files(), "--", *argv]

    # --- reading it

    def _counters(self, controller, name):
        try:
            text = (self.folders[controller] / name).read_text()
        except (OSError, KeyError):
            return {}
        pairs = (line.split() for line in text.splitlines())
        return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].lstrip("-").isdigit()}

    def oom_kills(self):
        """How many processes the kernel's OOM killer has killed in this cgroup."""
        if self.version == 2:
            return self._counters("unified", "memory.events").get("oom_kill", 0)
        return self._counters("memory", "memory.oom_control").get("oom_kill", 0)

    def forks_refused(self):
        """How many forks or new threads the pids limit refused."""
        return self._counters("unified" if self.version == 2 else "pids", "pids.events").get("max", 0)

    def memory_bytes(self):
        """Bytes charged now (v1: the main counter plus TCP buffers)."""
        try:
            if self.version == 2:
                return int((self.folders["unified"] / "memory.current").read_text())
            used = int((self.folders["memory"] / "memory.usage_in_bytes").read_text())
            tcp = self.folders["memory"] / "memory.kmem.tcp.usage_in_bytes"
            return used + (int(tcp.read_text()) if tcp.exists() else 0)
        except (OSError, ValueError):
            return 0

    def peak_bytes(self):
        """The most bytes charged at once so far (v1: main counter's peak plus TCP buffers' peak)."""
        names = (["memory.peak"] if self.version == 2 else
                 ["memory.max_usage_in_bytes", "memory.kmem.tcp.max_usage_in_bytes"])
        folder = self.folders["unified" if self.version == 2 else "memory"]
        total = 0
        for name in names:
            try:
                total += int((folder / name).read_text())
            except (OSError, ValueError):
                pass
        return total

    def pids(self):
        """Process ids in the cgroup (all of its hierarchies)."""
        found = set()
        for folder in self.folders.values():
            try:
                found |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                pass
        return found

    # --- ending it

    def kill(self, timeout=10.0):
        """SIGKILL every task of the cgroup, again until none is left (a fork may race the first round)."""
        if self.version == 2:
            try:
                _write(self.folders["unified"] / "cgroup.kill", 1)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        while (left := self.pids()) and time.monotonic() < deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.02)

    def remove(self, timeout=10.0):
        """Kill what is left and remove the cgroup's folders.

        Raises
        ------
        CgroupError
            A folder still exists after ``timeout`` seconds.
        """
        self.kill(timeout)
        deadline = time.monotonic() + timeout
        for folder in self.folders.values():
            while folder.exists():
                try:
                    folder.rmdir()
                except FileNotFoundError:
                    break
                except OSError as exc:
                    # EBUSY while the last tasks are being reaped.
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise CgroupError(f"expected to remove the run's cgroup {folder}, but: {exc}") from exc
                    time.sleep(0.02)


def _remove_stale(parent):
    """Remove the empty cgroups left by graders that were killed before they could remove their own."""
    for folder in parent.glob("autograder-*-*"):
        try:
            owner = int(folder.name.split("-")[1])
        except ValueError:
            continue
        if owner == os.getpid() or Path(f"/proc/{owner}").exists():
            continue
        try:
            folder.rmdir()  # fails, harmlessly, while a task is still in it
        except OSError:
            pass


def _write(path, value, required=True):
    try:
        path.write_text(str(value))
    except OSError:
        if required:
            raise

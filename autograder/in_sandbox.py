"""The trusted harness inside the sandbox: runs a student's notebook in another process and frames the results.

Two processes share the sandbox, and only one of them runs student code:

* **this harness** holds the results pipe to the grader and the hidden
  cases (read from its standard input, never from a file the kernel can
  open). It makes itself non-dumpable first, so a process of the same user
  can neither trace it nor open its memory or descriptors under ``/proc``.
  It runs no student code and imports nothing but the standard library;
* **the kernel** (:mod:`autograder.in_kernel`), started with two pipes and
  nothing else, runs the notebook's cells and the graded calls on the
  harness's orders; each graded call in a child forked for that call.

Every reply of the kernel is the student's word: the harness reads it with a
deadline it keeps itself (a student cannot block another process's clock),
checks its form and size, keeps only what it asked for, and writes the
events of :mod:`autograder.stream` itself. A kernel that sends what was not
asked, hangs past its limit or dies ends the run there; the grader grades
what came before and says why. Output printed during a hidden call is
never read. The grader compares the returned values with expected values
it computes from its own copy of the inputs.

Program on standard input: 8-byte big-endian length, ``program.json``'s
bytes, 8-byte length, the ``.npz`` of the hidden cases' arrays.
"""

import ctypes
import io
import json
import os
import select
import signal
import subprocess
import sys
import time
import zipfile

MAX_HEADER = 256 * 1024
MAX_BLOB = 64 * 1024 * 1024
MAX_REPLY = 96 * 1024 * 1024  # one reply of the kernel, its blobs included: the harness's own memory stays bounded
MAX_TEXT = 2000
MAX_OUTPUT = 20_000
MAX_FIGURES = 4
MAX_FIGURE_BYTES = 2 * 1024 * 1024
MAX_NAMES = 8
INTERRUPT_GRACE = 10.0  # seconds a kernel gets to stop a cell after the harness interrupts it
START_SECONDS = 120.0  # a kernel's start: Python, NumPy, IPython
CALL_OVERHEAD = 5.0  # a call's fork and the transfer of its arguments and result
PNG = b"\x89PNG\r\n\x1a\n"
NPY = b"\x93NUMPY"


class KernelFailed(Exception):
    """The kernel broke the protocol, hung or died: the run ends here, for this reason."""


class Timeout(KernelFailed):
    pass


def non_dumpable():
    """PR_SET_DUMPABLE 0: no ptrace, no /proc/<pid>/mem or fd/ for processes of the same user."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(4, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def read_program(stream):
    def chunk():
        size = int.from_bytes(stream.read(8), "big")
        data = stream.read(size)
        if len(data) != size:
            raise ValueError("the program on standard input is cut short")
        return data

    program = json.loads(chunk())
    with zipfile.ZipFile(io.BytesIO(chunk())) as archive:
        arrays = {name[:-4]: archive.read(name) for name in archive.namelist() if name.endswith(".npy")}
    return program, arrays


class Results:
    """The events and blobs of :mod:`autograder.stream`, written to the grader's pipe."""

    def __init__(self, fd):
        self.fd = fd
        self.blobs = 0

    def send(self, event, payload=b""):
        data = (json.dumps(dict(event, size=len(payload))) + "\n").encode() + payload
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def blob(self, payload, kind):
        self.blobs += 1
        self.send({"event": "blob", "id": self.blobs, "kind": kind}, payload)
        return self.blobs


class KernelPipe:
    """Frames to the kernel and from it, each read against a deadline."""

    def __init__(self, to_kernel, from_kernel):
        self.to_kernel, self.from_kernel = to_kernel, from_kernel
        os.set_blocking(to_kernel, False)
        self.buffer = bytearray()

    def send(self, header, payload=b"", deadline=None):
        data = memoryview((json.dumps(dict(header, size=len(payload))) + "\n").encode() + payload)
        while data:
            if not select.select([], [self.to_kernel], [], _left(deadline))[1]:
                raise Timeout("the kernel stopped reading its orders")
            try:
                data = data[os.write(self.to_kernel, data):]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise KernelFailed("the kernel's process ended early") from None

    def _more(self, deadline):
        if not select.select([self.from_kernel], [], [], _left(deadline))[0]:
            raise Timeout("timeout")
        chunk = os.read(self.from_kernel, 1 << 16)
        if not chunk:
            raise KernelFailed("the kernel's process ended early")
        self.buffer += chunk

    def receive(self, deadline, max_payload=0):
        while True:
            newline = self.buffer.find(b"\n", 0, MAX_HEADER + 1)
            if newline >= 0:
                break
            if len(self.buffer) > MAX_HEADER:
                raise KernelFailed("the kernel sent a reply header that is too long")
            self._more(deadline)
        try:
            header = json.loads(bytes(self.buffer[:newline]))
        except (ValueError, RecursionError):
            raise KernelFailed("the kernel sent a reply that is not JSON") from None
        size = header.get("size", 0) if isinstance(header, dict) else None
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= max_payload:
            raise KernelFailed("the kernel sent a reply of an unexpected form or size")
        del self.buffer[:newline + 1]
        while len(self.buffer) < size:
            self._more(deadline)
        payload = bytes(self.buffer[:size])
        del self.buffer[:size]
        return header, payload


def _left(deadline):
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _machine_paths():
    """Folders of the grader's machine a message could name (its Python's), longest first."""
    found = set()
    for path in (sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.dirname(sys.executable)),
                 *[p for p in sys.path if p.endswith("-packages")]):
        if path and len(path) > 4:
            found |= {path, os.path.realpath(path)}
    return sorted(found, key=len, reverse=True)


MACHINE_PATHS = _machine_paths()


def _text(value, limit):
    """A text of the kernel's, cut to ``limit`` and without the grader's own folders in it."""
    if not isinstance(value, str):
        return None
    value = value[:limit]
    for path in MACHINE_PATHS:
        value = value.replace(path, "<python>")
    return value


def _names(value, allowed):
    """The names of a reply's list that the harness asked about (at most a few, each short)."""
    if not isinstance(value, list):
        return []
    return [n for n in value if isinstance(n, str) and n in allowed][:MAX_NAMES]


def _value(description, blobs, results, depth=0):
    """Rebuild a returned value's description from the kernel's reply, keeping only known forms."""
    if not isinstance(description, dict) or depth > 4:
        return {"kind": "unsupported", "type": "malformed result"}
    kind = description.get("kind")
    value = description.get("value")
    if kind == "none":
        return {"kind": "none"}
    if kind == "bool" and isinstance(value, bool):
        return {"kind": "bool", "value": value}
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 2**62:
        return {"kind": "int", "value": value}
    if kind == "float" and ((isinstance(value, (int, float)) and not isinstance(value, bool))
                            or value in ("nan", "inf", "-inf")):
        return {"kind": "float", "value": value}
    if kind in ("tuple", "list") and isinstance(description.get("items"), list) \
            and len(description["items"]) <= 16:
        return {"kind": kind, "items": [_value(v, blobs, results, depth + 1) for v in description["items"]]}
    if kind == "array":
        payload = blobs.pop(description.get("blob"), None)
        if isinstance(payload, bytes) and payload.startswith(NPY):
            return {"kind": "array", "blob": results.blob(payload, "npy")}
        return {"kind": "unsupported", "type": "array missing"}
    if kind == "unsupported":
        return {"kind": "unsupported", "type": str(description.get("type", "value"))[:100]}
    return {"kind": "unsupported", "type": "malformed result"}


class Harness:
    def __init__(self, folder, program, arrays, results):
        self.folder, self.program, self.arrays, self.results = folder, program, arrays, results
        self.cell_limit = float(program.get("cell_timeout", 60))
        self.targets = list(program.get("targets", []))
        self.kernel = None
        self.pipe = None

    # --- the kernel's life ---------------------------------------------------

    def start_kernel(self):
        orders_read, orders_write = os.pipe()
        replies_read, replies_write = os.pipe()
        self.kernel = subprocess.Popen(
            [sys.executable, "-s", "-I", os.path.join(self.folder, "in_kernel.py"), str(orders_read),
             str(replies_write), os.path.join(self.folder, "lib")],
            pass_fds=(orders_read, replies_write), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        os.close(orders_read)
        os.close(replies_write)
        self.pipe = KernelPipe(orders_write, replies_read)
        header, _ = self.pipe.receive(time.monotonic() + START_SECONDS)
        if header.get("op") != "ready":
            raise KernelFailed("the kernel did not start")

    def stop_everything(self):
        """Kill every process of the sandbox but this one: the kernel, its children, whatever they started.

        In the sandbox's own PID namespace that is every process this user
        may signal; without one (no bubblewrap) only this harness's
        descendants, never the grader's other processes.
        """
        targets = [-1] if _own_pid_namespace() else _descendants(os.getpid())
        for pid in targets:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def stop_calls(self):
        """Kill the kernel's children (a call that hangs), keeping the kernel; whether there were any."""
        children = _descendants(self.kernel.pid)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return bool(children)

    # --- steps -----------------------------------------------------------------

    def run(self):
        steps = self.program["steps"]
        try:
            self.start_kernel()
        except KernelFailed as exc:
            self.results.send({"event": "stopped", "step": 0, "reason": str(exc)})
            return
        for number, step in enumerate(steps):
            try:
                self.step(number, step)
            except KernelFailed as exc:
                self.results.send({"event": "stopped", "step": number, "reason": str(exc)[:200]})
                self.stop_everything()
                return
        self.results.send({"event": "done", "steps": len(steps)})
        self.stop_everything()

    def step(self, number, step):
        """Run one step of the program; any reply the harness cannot read ends it as :class:`KernelFailed`.

        The frame checks bound a reply's size and form; a field of an
        unexpected type deeper in it (a list where an id was expected, say)
        must end the run with a stated reason too, whichever field it is,
        never kill the harness without a word.
        """
        if step["kind"] == "skip":
            return  # a call another run grades
        try:
            if step["kind"] == "cell":
                self.cell(number, step)
            else:
                self.call_step(number, step)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError) as exc:
            raise KernelFailed(f"the kernel sent a reply the grader could not read ({type(exc).__name__})") from None

    def _side_events(self, number, reply, forbidden):
        for module in _names(reply.get("forbidden_imports"), set(forbidden)):
            self.results.send({"event": "forbidden-import", "module": module, "step": number})
        rebound = _names(reply.get("rebound"), set(self.targets))
        if rebound:
            self.results.send({"event": "rebound", "step": number, "names": rebound})

    def _receive_with_blobs(self, deadline, final_op, blob_kinds, max_blobs):
        """Blob frames (each checked and kept, :data:`MAX_REPLY` bytes in all), then the frame ``final_op``."""
        blobs, total = {}, 0
        while True:
            header, payload = self.pipe.receive(deadline, min(MAX_BLOB, MAX_REPLY - total))
            total += len(payload)
            op = header.get("op")
            if op == final_op:
                return header, payload, blobs
            if op != "blob" or header.get("kind") not in blob_kinds or len(blobs) >= max_blobs \
                    or not isinstance(header.get("id"), int) or header["id"] in blobs:
                raise KernelFailed(f"the kernel sent {str(op)[:20]!r} where {final_op!r} was expected")
            blobs[header["id"]] = payload

    def cell(self, number, step):
        forbidden = step.get("forbidden", [])
        self.pipe.send({"op": "cell", "source": step["source"], "forbidden": forbidden, "targets": self.targets},
                       deadline=time.monotonic() + self.cell_limit)
        deadline = time.monotonic() + self.cell_limit
        interrupted = False
        while True:
            try:
                reply, _, blobs = self._receive_with_blobs(deadline, "cell-done", {"png"}, MAX_FIGURES)
                break
            except Timeout:
                if interrupted:
                    raise KernelFailed(f"a cell ran past {self.cell_limit:g} s and did not stop when "
                                       "interrupted") from None
                interrupted = True
                os.kill(self.kernel.pid, signal.SIGALRM)
                deadline = time.monotonic() + INTERRUPT_GRACE
        figures = []
        for blob_id in reply.get("figures", []) if isinstance(reply.get("figures"), list) else []:
            png = blobs.get(blob_id) if isinstance(blob_id, int) else None
            if isinstance(png, bytes) and png.startswith(PNG) and len(png) <= MAX_FIGURE_BYTES:
                figures.append(self.results.blob(png, "png"))
        error = _text(reply.get("error"), MAX_TEXT)
        if interrupted or error == "timeout":
            error = f"ran longer than {self.cell_limit:g} s and was interrupted"
        output = _text(reply.get("output"), MAX_OUTPUT + 100) or ""
        if error and "interrupted" in error:
            output += f"\n{error}"
        seconds = reply.get("seconds") if isinstance(reply.get("seconds"), (int, float)) else None
        self.results.send({"event": "cell", "step": number, "error": error, "output": output,
                           "figures": figures, "seconds": seconds})
        self._side_events(number, reply, forbidden)

    def call_step(self, number, step):
        forbidden = step.get("forbidden", [])
        deadline = time.monotonic() + self.cell_limit
        self.pipe.send({"op": "lookup", "target": step["target"], "forbidden": forbidden}, deadline=deadline)
        reply, _ = self.pipe.receive(deadline)
        if reply.get("op") != "found":
            raise KernelFailed("the kernel answered a look-up with something else")
        found = reply.get("found") is True
        self.results.send({"event": "part", "step": number, "part": step["part"], "found": found})
        if not found:
            return
        loaded = _names(reply.get("loaded"), set(forbidden))
        if step.get("type") == "model":
            self.model(number, step)
            return
        timed_out = False
        for case in step["cases"]:
            event = {"event": "case", "step": number, "part": step["part"], "case": case["id"]}
            if loaded:
                event["error"] = f"skipped: {loaded[0]} was loaded before this part ran, and the part does not allow it"
            elif timed_out:
                event["error"] = "skipped: an earlier case of this part ran too long"
            else:
                event.update(self.one_call(number, step, case))
                timed_out = event.get("error") == "timeout"
            self.results.send(event)

    def one_call(self, number, step, case):
        """The fields of one case's event: the checked value, or the error."""
        keys = sorted(set(_array_keys(case.get("args"))) | set(_array_keys(case.get("kwargs"))))
        payload = b"".join(self.arrays[k] for k in keys)
        limit = float(case.get("timeout", self.cell_limit))
        deadline = time.monotonic() + limit + CALL_OVERHEAD
        self.pipe.send({"op": "call", "step": number, "case": case["id"], "target": step["target"],
                        "type": step.get("type", "function"), "args": case.get("args", []),
                        "kwargs": case.get("kwargs", {}), "arrays": [[k, len(self.arrays[k])] for k in keys]},
                       payload, deadline=deadline)
        try:
            reply, _, blobs = self._receive_with_blobs(deadline, "result", {"npy"}, 64)
        except Timeout:
            if not self.stop_calls():
                os.kill(self.kernel.pid, signal.SIGALRM)  # a call the kernel runs itself (TensorFlow loaded)
            self._finish_call(time.monotonic() + INTERRUPT_GRACE, case)
            return {"error": "timeout"}
        except KernelFailed:
            raise
        if reply.get("case") != case["id"]:
            raise KernelFailed("the kernel answered another case than the one asked")
        self._finish_call(deadline + INTERRUPT_GRACE, case)
        fields = {}
        if isinstance(reply.get("seconds"), (int, float)):
            fields["seconds"] = reply["seconds"]
        if "error" in reply or "value" not in reply:
            error = _text(reply.get("error"), MAX_TEXT) or "the call returned nothing the grader can read"
            fields["error"] = error
            if error != "timeout":
                fields["error_type"] = _text(reply.get("error_type"), 100)
                mro = reply.get("error_mro")
                fields["error_mro"] = [m[:100] for m in mro if isinstance(m, str)][:16] if isinstance(mro, list) else []
            return fields
        fields["value"] = _value(reply.get("value"), blobs, self.results)
        modified = reply.get("modified_input")
        if isinstance(modified, int) and not isinstance(modified, bool) and 0 < modified < 64:
            fields["modified_input"] = modified
        return fields

    def _finish_call(self, deadline, case):
        """Read the kernel's ``call-done`` (the forked call has ended); a missing result is the call's death."""
        while True:
            try:
                header, _ = self.pipe.receive(deadline)
            except Timeout:
                raise KernelFailed("the kernel did not finish a call it was stopped in") from None
            if header.get("op") == "call-done" and header.get("case") == case["id"]:
                return header
            if header.get("op") == "blob":
                continue  # the rest of a call that was stopped mid-reply
            raise KernelFailed("the kernel sent something else than the end of a call")

    def model(self, number, step):
        deadline = time.monotonic() + self.cell_limit
        self.pipe.send({"op": "model", "step": number, "target": step["target"]}, deadline=deadline)
        try:
            reply, payload = self.pipe.receive(deadline, MAX_BLOB)
        except Timeout:
            raise KernelFailed("saving the model took too long") from None
        if reply.get("op") != "model":
            raise KernelFailed("the kernel answered the model's hand-over with something else")
        event = {"event": "model", "step": number, "part": step["part"]}
        if reply.get("empty") is True:
            event["empty"] = True
        elif reply.get("error") is not None or not payload:
            event["error"] = _text(reply.get("error"), MAX_TEXT) or "the model could not be saved"
        else:
            event["blob"] = self.results.blob(payload, "keras")
        if isinstance(reply.get("seconds"), (int, float)):
            event["seconds"] = reply["seconds"]
        self.results.send(event)


def _array_keys(encoded):
    if isinstance(encoded, dict):
        if "array" in encoded:
            yield encoded["array"]
        for value in encoded.values():
            yield from _array_keys(value)
    elif isinstance(encoded, list):
        for value in encoded:
            yield from _array_keys(value)


def _own_pid_namespace():
    """Whether this process lives in a PID namespace of its own (its ``NSpid`` line has several levels)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("NSpid:"):
                    return len(line.split()) > 2
    except OSError:
        pass
    return False


def _descendants(root):
    """Pids of every process below ``root``, from /proc (a process that made itself an orphan is not found)."""
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as handle:
                    stat = handle.read()
                parents[int(name)] = int(stat[stat.rindex(b")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def main(folder, fd):
    non_dumpable()
    program, arrays = read_program(sys.stdin.buffer)
    results = Results(fd)
    Harness(folder, program, arrays, results).run()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
    os._exit(0)

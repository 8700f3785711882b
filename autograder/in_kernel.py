"""The student's kernel inside the sandbox: runs cells and graded calls on the harness's orders.

Started by the harness (:mod:`autograder.in_sandbox`) with two pipes and
nothing else: it never holds the results pipe that reaches the grader, never
sees the hidden cases before the harness hands one over, and cannot read the
harness's memory (the harness is not dumpable). Everything this process says
is treated as the student's: the harness checks each reply's form and size
and frames the results itself.

Each graded call runs in a child forked for that one call (while TensorFlow
is not loaded: its thread pools do not survive a fork), so what a call does
to the kernel's state (a cached input, a rebound name, an array changed in
place) dies with the child, and what it prints goes nowhere.

Replies are frames: a JSON header line, then ``header["size"]`` raw bytes.
"""

import base64
import builtins
import io
import json
import os
import signal
import sys
import time
import traceback

import numpy as np

_json_dumps = json.dumps
_json_loads = json.loads
_np_save = np.save
_np_load = np.load
_np_array = np.array
_np_array_equal = np.array_equal
_isinstance = builtins.isinstance
_write = os.write
_read = os.read
_fork = os.fork
_exit = os._exit
_time = time.monotonic

MAX_TEXT = 2000
MAX_CELL_OUTPUT = 20_000
MAX_FIGURES = 4
MAX_FIGURE_BYTES = 2 * 1024 * 1024
MAX_ARRAY_BYTES = 64 * 1024 * 1024


class CellTimeout(BaseException):
    """Raised when the harness signals that a cell ran past its limit."""


_RUNNING = [False]  # in a cell or a call: only there does the harness's interrupt mean something


def _on_alarm(signum, frame):
    if _RUNNING[0]:
        raise CellTimeout()


class Channel:
    """Frames to and from the harness over two pipes."""

    def __init__(self, read_fd, write_fd):
        self.read_fd, self.write_fd = read_fd, write_fd
        self.buffer = b""
        self.blobs = 0

    def _all(self, data):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        try:
            view = memoryview(data)
            while view:
                view = view[_write(self.write_fd, view):]
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})

    def send(self, header, payload=b""):
        header = dict(header, size=len(payload))
        self._all((_json_dumps(header) + "\n").encode() + bytes(payload))

    def blob(self, payload, kind):
        self.blobs += 1
        self.send({"op": "blob", "id": self.blobs, "kind": kind}, payload)
        return self.blobs

    def _more(self):
        chunk = _read(self.read_fd, 1 << 16)
        if not chunk:
            _exit(0)  # the harness is gone: nothing left to do
        self.buffer += chunk

    def receive(self):
        while b"\n" not in self.buffer:
            self._more()
        line, self.buffer = self.buffer.split(b"\n", 1)
        header = _json_loads(line)
        while len(self.buffer) < header.get("size", 0):
            self._more()
        size = header.get("size", 0)
        payload, self.buffer = self.buffer[:size], self.buffer[size:]
        return header, payload

    def encode(self, value, depth=0):
        """A JSON-safe description of a returned value; arrays go as .npy blobs (no pickles)."""
        if depth > 3:
            return {"kind": "unsupported", "type": "nested too deeply"}
        if value is None:
            return {"kind": "none"}
        if _isinstance(value, (bool, np.bool_)):
            return {"kind": "bool", "value": bool(value)}
        if _isinstance(value, (int, np.integer)):
            if abs(int(value)) > 2**62:
                return {"kind": "unsupported", "type": "integer too large"}
            return {"kind": "int", "value": int(value)}
        if _isinstance(value, (float, np.floating)):
            number = float(value)
            return {"kind": "float", "value": number if np.isfinite(number) else str(number)}
        if _isinstance(value, (tuple, list)):
            if len(value) > 16:
                return self.encode(_np_array(value), depth + 1)
            return {"kind": "tuple" if _isinstance(value, tuple) else "list",
                    "items": [self.encode(v, depth + 1) for v in value]}
        if _isinstance(value, np.ndarray) or hasattr(value, "__array__"):
            try:
                array = _np_array(value, copy=True)
            except Exception as exc:
                return {"kind": "unsupported", "type": f"array conversion failed: {type(exc).__name__}"}
            if array.dtype.kind not in "biuf" or array.nbytes > MAX_ARRAY_BYTES:
                return {"kind": "unsupported", "type": f"array of dtype {array.dtype} and shape {array.shape}"}
            buffer = io.BytesIO()
            _np_save(buffer, array, allow_pickle=False)
            return {"kind": "array", "blob": self.blob(buffer.getvalue(), "npy")}
        return {"kind": "unsupported", "type": type(value).__name__}


def _describe_error(exc):
    message = str(exc)
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:MAX_TEXT]


class ForbiddenImports:
    """Refuses imports of the packages a step forbids, and notes the student's attempts.

    What a run forbids is also absent from the sandbox's file system (the
    grader mounts only what the run's parts allow), so this finder only makes
    the refusal clean and names it; removing it gains nothing. Only an import
    written in the student's own code is noted: libraries probe optional
    packages and handle the refusal themselves.
    """

    def __init__(self):
        self.names = ()
        self.attempts = []

    @staticmethod
    def _from_student_code():
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
            frame = frame.f_back
        return frame is not None and (frame.f_code.co_filename.startswith("<ipython-input")
                                      or "/ipykernel_" in frame.f_code.co_filename)

    def refused(self, fullname):
        for name in self.names:
            if fullname == name or fullname.startswith(name + "."):
                return name
        return None

    def find_spec(self, fullname, path=None, target=None):
        name = self.refused(fullname)
        if name is not None:
            if name not in self.attempts and self._from_student_code():
                self.attempts.append(name)
            raise ModuleNotFoundError(f"{name} is not available while grading this exercise")
        return None


class Capture:
    """Printed output, bounded."""

    def __init__(self):
        self.parts, self.size, self.cut = [], 0, False

    def write(self, text):
        if not _isinstance(text, str):
            text = str(text)
        room = MAX_CELL_OUTPUT - self.size
        if room <= 0:
            self.cut = True
            return len(text)
        self.parts.append(text[:room])
        self.size += min(len(text), room)
        self.cut = self.cut or len(text) > room
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def value(self):
        return "".join(self.parts) + ("\n[... output cut: too long ...]" if self.cut else "")


class Silent(Capture):
    """Output of a hidden call: kept nowhere."""

    def write(self, text):
        return len(text) if _isinstance(text, str) else 0


def _figures(shell, channel):
    publisher = shell.display_pub
    found = []
    for output in getattr(publisher, "outputs", [])[:MAX_FIGURES]:
        data = output.get("data", {}) if _isinstance(output, dict) else getattr(output, "data", {})
        png = data.get("image/png") if _isinstance(data, dict) else None
        if _isinstance(png, str):
            try:
                png = base64.b64decode(png, validate=False)
            except ValueError:
                continue
        if _isinstance(png, bytes) and png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) <= MAX_FIGURE_BYTES:
            found.append(channel.blob(png, "png"))
    if hasattr(publisher, "outputs"):
        publisher.outputs.clear()
    return found


def _is_cell(filename):
    return filename.startswith("<ipython-input") or "/ipykernel_" in filename


def _show_cell_frames(exc_tuple=None, *args, **kwargs):
    """IPython's traceback, cut to the frames of the notebook's cells (no library's code, no path of the machine)."""
    kind, value, tb = sys.exc_info() if exc_tuple is None else exc_tuple
    frames = [f for f in traceback.extract_tb(tb) if _is_cell(f.filename)]
    if frames:
        print("Where: " + " -> ".join(f"line {f.lineno}: {(f.line or '').strip()}" for f in frames[-3:]))


def _bindings(namespace, names):
    return {name: id(namespace[name]) if name in namespace else None for name in names}


def _load_arguments(encoded, arrays):
    if _isinstance(encoded, dict):
        if "array" in encoded:
            return arrays[encoded["array"]].copy()
        if "tuple" in encoded:
            return tuple(_load_arguments(v, arrays) for v in encoded["tuple"])
        if "list" in encoded:
            return [_load_arguments(v, arrays) for v in encoded["list"]]
        if "dict" in encoded:
            return {k: _load_arguments(v, arrays) for k, v in encoded["dict"].items()}
    return encoded


def _arrays(header, payload):
    """The case's arrays, sent by the harness as consecutive .npy files."""
    arrays, position = {}, 0
    for key, size in header.get("arrays", []):
        arrays[key] = _np_load(io.BytesIO(payload[position:position + size]), allow_pickle=False)
        position += size
    return arrays


class Kernel:
    def __init__(self, channel):
        self.channel = channel
        self.finder = ForbiddenImports()
        sys.meta_path.insert(0, self.finder)
        from IPython.core.displaypub import CapturingDisplayPublisher
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance(colors="nocolor", display_pub_class=CapturingDisplayPublisher)
        self.shell.displayhook.write_output_prompt = lambda: None
        # The page shows the error itself once; the trace shows only where in the student's cell it came from.
        self.shell.showtraceback = _show_cell_frames
        self.namespace = self.shell.user_ns
        signal.signal(signal.SIGALRM, _on_alarm)

    def cell(self, header):
        self.finder.names = tuple(header.get("forbidden", ()))
        self.finder.attempts = []
        targets = header.get("targets", [])
        before = _bindings(self.namespace, targets)
        capture, error, start = Capture(), None, _time()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = capture
        _RUNNING[0] = True
        try:
            result = self.shell.run_cell(header["source"], store_history=False, silent=False)
            failure = result.error_before_exec or result.error_in_exec
            if failure is not None:
                raise failure
        except CellTimeout:
            error = "timeout"
        except BaseException as exc:  # the student's exception ends the cell, never the kernel
            error = _describe_error(exc)
        finally:
            _RUNNING[0] = False
            sys.stdout, sys.stderr = saved
        seconds = round(_time() - start, 3)
        figures = _figures(self.shell, self.channel)
        after = _bindings(self.namespace, targets)
        self.channel.send({"op": "cell-done", "error": error, "output": capture.value(), "figures": figures,
                           "seconds": seconds, "forbidden_imports": list(self.finder.attempts),
                           "rebound": sorted(n for n in targets if before[n] != after[n])})

    def lookup(self, header):
        self.finder.names = tuple(header.get("forbidden", ()))
        loaded = sorted(name for name in self.finder.names if name in sys.modules)
        self.channel.send({"op": "found", "found": header["target"] in self.namespace, "loaded": loaded})

    def save_model(self, header):
        obj = self.namespace.get(header["target"])
        if obj is None:
            self.channel.send({"op": "model", "empty": True})
            return
        start, error, payload = _time(), None, b""
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = Silent()
        _RUNNING[0] = True
        try:
            path = os.path.join(os.getcwd(), f".model-{header['step']}.keras")
            obj.save(path)
            with open(path, "rb") as handle:
                payload = handle.read(MAX_ARRAY_BYTES + 1)
            os.unlink(path)
        except CellTimeout:
            error = "saving the model took too long"
        except BaseException as exc:
            error = _describe_error(exc)
        finally:
            _RUNNING[0] = False
            sys.stdout, sys.stderr = saved
        if error is None and len(payload) > MAX_ARRAY_BYTES:
            error = "the saved model is larger than 64 MiB"
        self.channel.send({"op": "model", "error": error, "seconds": round(_time() - start, 3)},
                          b"" if error else payload)

    def call(self, header, payload):
        """Run one graded call, then say ``call-done`` (the harness reads the result in between)."""
        # A fork gives the call its own copy of the kernel; TensorFlow's thread pools do not survive one.
        if "tensorflow" in sys.modules:
            self._call_here(header, payload)
            self.channel.send({"op": "call-done", "case": header["case"], "status": 0})
            return
        child = _fork()
        if child == 0:
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                self._call_here(header, payload)
            finally:
                _exit(0)
        _, status = os.waitpid(child, 0)
        self.channel.send({"op": "call-done", "case": header["case"], "status": os.waitstatus_to_exitcode(status)})

    def _call_here(self, header, payload):
        obj = self.namespace.get(header["target"])
        reply = {"op": "result", "case": header["case"]}
        start = _time()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = Silent()
        _RUNNING[0] = True
        try:
            if header.get("type") == "value":
                value = obj
            else:
                arrays = _arrays(header, payload)
                args = _load_arguments(header["args"], arrays)
                kwargs = _load_arguments(header.get("kwargs", {}), arrays)
                originals = [_np_array(a, copy=True) if _isinstance(a, np.ndarray) else None for a in args]
                value = obj(*args, **kwargs)
                changed = [i for i, (a, o) in enumerate(zip(args, originals))
                           if o is not None and not _np_array_equal(a, o, equal_nan=True)]
                if changed:
                    reply["modified_input"] = changed[0] + 1
            reply["value"] = self.channel.encode(value)
        except CellTimeout:
            reply.pop("value", None)
            reply["error"] = "timeout"
        except BaseException as exc:
            reply.pop("value", None)
            reply["error"] = _describe_error(exc)
            reply["error_type"] = type(exc).__name__
            reply["error_mro"] = [cls.__name__ for cls in type(exc).__mro__][:16]
        finally:
            _RUNNING[0] = False
            sys.stdout, sys.stderr = saved
        reply["seconds"] = round(_time() - start, 3)
        self.channel.send(reply)


def main(read_fd, write_fd, library):
    if os.path.isdir(library):  # the course packages this run allows (cnnkit without what it forbids)
        sys.path.insert(0, library)
    channel = Channel(read_fd, write_fd)
    kernel = Kernel(channel)
    channel.send({"op": "ready"})
    handlers = {"cell": kernel.cell, "lookup": kernel.lookup, "model": kernel.save_model}
    while True:
        header, payload = channel.receive()
        op = header.get("op")
        if op == "call":
            kernel.call(header, payload)
        elif op in handlers:
            handlers[op](header)
        else:
            _exit(0)


if __name__ == "__main__":
    try:
        main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
    except BaseException:
        traceback.print_exc()
        _exit(3)
    _exit(0)

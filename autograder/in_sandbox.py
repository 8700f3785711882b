"""The program that runs a student's notebook inside the sandbox (self-contained: stdlib, NumPy, IPython).

The grader mounts it, with ``program.json`` and ``inputs.npz``, read-only at
``/grader``, and starts it in a sandbox where the network, the course
repository, other submissions and the forbidden packages do not exist. It
carries out the steps in order:

* ``{"kind": "cell"}``: run a cell (the student's answer cells, the cells
  they added, the course's set-up and visible test cells) with a time limit;
  a cell that runs past it is interrupted and the notebook goes on. Its
  printed output, its result and its figures are captured for the feedback
  page (text and PNG only: no HTML, no JavaScript);
* ``{"kind": "call"}``: call the student's function on each hidden case's
  inputs (or, for ``value`` and ``model`` parts, hand over the object).

Each result is sent through the results pipe (:mod:`autograder.stream`) the
moment it exists, so a submission that later hangs, crashes or calls
``os._exit`` keeps what it earned. It records, never decides: the grader
compares the returned values with the reference in its own process, with a
seed and expected values this process never sees.
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

# Kept before any student code runs: a submission may replace builtins,
# json or numpy functions, but not these references.
_json_dumps = json.dumps
_np_save = np.save
_np_array = np.array
_np_array_equal = np.array_equal
_time = time.monotonic
_write = os.write
_isinstance = builtins.isinstance
_exit = os._exit
_PID = os.getpid()

MAX_TEXT = 2000  # an error message
MAX_CELL_OUTPUT = 20_000  # characters of printed output kept per cell
MAX_FIGURES = 4  # figures kept per cell
MAX_FIGURE_BYTES = 2 * 1024 * 1024
MAX_ARRAY_BYTES = 64 * 1024 * 1024


def _leave_if_forked():
    """A process the student's code forked must not carry on with the grading steps."""
    if os.getpid() != _PID:
        _exit(0)


class CellTimeout(BaseException):
    """Raised by the alarm when a cell or a call runs past its limit."""


def _on_alarm(signum, frame):
    raise CellTimeout()


class Sender:
    """Writes frames to the results pipe: a JSON header line, then ``size`` raw bytes."""

    def __init__(self, fd):
        self.fd = fd
        self.blobs = 0

    def _all(self, data):
        # A frame is written whole: the alarm of a time limit waits until it is.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        try:
            view = memoryview(data)
            while view:
                written = _write(self.fd, view)
                view = view[written:]
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})

    def send(self, event, payload=b""):
        event = dict(event, size=len(payload))
        self._all((_json_dumps(event) + "\n").encode() + bytes(payload))

    def blob(self, payload, kind):
        self.blobs += 1
        self.send({"event": "blob", "id": self.blobs, "kind": kind}, payload)
        return self.blobs

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
    """Refuses imports of the packages an exercise forbids, and reports the student's attempts.

    A name may be a submodule (``"cnnkit.nn"`` while ``cnnkit`` is allowed).
    The names can change from step to step (``step_forbidden``): a notebook
    that mixes a NumPy-only part and a Keras part refuses TensorFlow until
    the last NumPy-only part has been called. What every step forbids is
    also absent from the sandbox's file system, so removing this finder
    gains nothing there; it exists to fail cleanly and to name the attempt.
    Only an import written in the student's own code is reported:
    libraries probe optional packages (``import keras`` tries ``jax``) and
    handle the refusal themselves.
    """

    def __init__(self, names, sender):
        self.names = tuple(names)
        self.sender = sender
        self.seen = set()
        self.step = None

    @staticmethod
    def _from_student_code():
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
            frame = frame.f_back
        return frame is not None and (frame.f_code.co_filename.startswith("<ipython-input")
                                      or "/ipykernel_" in frame.f_code.co_filename)

    def refused(self, fullname):
        """The forbidden name that covers module ``fullname`` (``"cnnkit.nn"`` covers ``cnnkit.nn.layers``)."""
        for name in self.names:
            if fullname == name or fullname.startswith(name + "."):
                return name
        return None

    def find_spec(self, fullname, path=None, target=None):
        name = self.refused(fullname)
        if name is not None:
            if name not in self.seen and self._from_student_code():
                self.seen.add(name)
                self.sender.send({"event": "forbidden-import", "module": name, "step": self.step})
            raise ModuleNotFoundError(f"{name} is not available while grading this exercise")
        return None


def load_arguments(encoded, inputs):
    """Rebuild an argument from its JSON description and the arrays of inputs.npz."""
    if _isinstance(encoded, dict):
        if "array" in encoded:
            return inputs[encoded["array"]].copy()
        if "tuple" in encoded:
            return tuple(load_arguments(v, inputs) for v in encoded["tuple"])
        if "list" in encoded:
            return [load_arguments(v, inputs) for v in encoded["list"]]
        if "dict" in encoded:
            return {k: load_arguments(v, inputs) for k, v in encoded["dict"].items()}
    return encoded


class Capture:
    """A cell's printed output (bounded) and figures, for the feedback page."""

    def __init__(self):
        self.text = io.StringIO()
        self.size = 0
        self.cut = False

    def write(self, text):
        if not _isinstance(text, str):
            text = str(text)
        room = MAX_CELL_OUTPUT - self.size
        if room <= 0:
            self.cut = True
            return len(text)
        self.text.write(text[:room])
        self.size += min(len(text), room)
        self.cut = self.cut or len(text) > room
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def value(self):
        text = self.text.getvalue()
        return text + ("\n[... output cut: too long ...]" if self.cut else "")


class Limited:
    """A block of student code: its output captured, an alarm at ``seconds``; ``error`` says how it ended.

    ``CellTimeout`` and every exception of the student's code (``SystemExit``
    included) end the block, never the runner.
    """

    def __init__(self, seconds):
        self.seconds = seconds
        self.capture = Capture()
        self.error = None
        self.exception = None
        self.start = _time()

    def __enter__(self):
        self.saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self.capture
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, kind, exc, tb):
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout, sys.stderr = self.saved
        _leave_if_forked()
        self.seconds_taken = round(_time() - self.start, 3)
        if exc is not None:
            self.exception = exc
            self.error = "timeout" if _isinstance(exc, CellTimeout) else _describe_error(exc)
        return True  # the student's exception stops here


def _figures(shell, sender):
    """Blob ids of the PNG figures the cell displayed (other formats are dropped: no HTML or script)."""
    publisher = shell.display_pub
    found = []
    for output in getattr(publisher, "outputs", [])[:MAX_FIGURES]:
        data = output.get("data", {}) if _isinstance(output, dict) else getattr(output, "data", {})
        png = data.get("image/png") if _isinstance(data, dict) else None
        if _isinstance(png, bytes):
            raw = png
        elif _isinstance(png, str):
            try:
                raw = base64.b64decode(png, validate=False)
            except ValueError:
                continue
        else:
            continue
        if raw.startswith(b"\x89PNG\r\n\x1a\n") and len(raw) <= MAX_FIGURE_BYTES:
            found.append(sender.blob(raw, "png"))
    if hasattr(publisher, "outputs"):
        publisher.outputs.clear()
    return found


def _bindings(namespace, names):
    return {name: id(namespace[name]) if name in namespace else None for name in names}


def main(folder, fd):
    sender = Sender(fd)
    with open(os.path.join(folder, "program.json")) as handle:
        program = json.load(handle)
    with np.load(os.path.join(folder, "inputs.npz"), allow_pickle=False) as data:
        inputs = {key: data[key] for key in data.files}
    library = os.path.join(folder, "lib")
    if os.path.isdir(library):  # the course packages this exercise allows (cnnkit without what it forbids)
        sys.path.insert(0, library)
    cell_limit = float(program.get("cell_timeout", 60))
    targets = list(program.get("targets", []))
    finder = ForbiddenImports(program.get("forbidden", []), sender)
    sys.meta_path.insert(0, finder)

    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(colors="nocolor", display_pub_class=CapturingDisplayPublisher)
    shell.displayhook.write_output_prompt = lambda: None  # values print without the "Out[n]:" noise
    namespace = shell.user_ns
    signal.signal(signal.SIGALRM, _on_alarm)

    for number, step in enumerate(program["steps"]):
        finder.step = number
        if "forbidden" in step:
            finder.names = tuple(step["forbidden"])
        before = _bindings(namespace, targets)
        if step["kind"] == "cell":
            with Limited(cell_limit) as block:
                result = shell.run_cell(step["source"], store_history=False, silent=False)
                failure = result.error_before_exec or result.error_in_exec
                if failure is not None:
                    raise failure
            error = block.error
            if error == "timeout":
                error = f"ran longer than {cell_limit:g} s and was interrupted"
            figures = _figures(shell, sender)
            text = block.capture.value()
            if error and "interrupted" in error:
                text += f"\n{error}"
            sender.send({"event": "cell", "step": number, "error": error, "output": text, "figures": figures,
                         "seconds": block.seconds_taken})
        else:
            # What the part forbids must not be in the process already (a course cell that imported it
            # early): its answer could reach it as an attribute, past any import hook.
            loaded = sorted(name for name in finder.names if name in sys.modules)
            _call_step(number, step, namespace, inputs, sender, cell_limit, loaded)
        after = _bindings(namespace, targets)
        changed = sorted(name for name in targets if before[name] != after[name])
        if changed:
            sender.send({"event": "rebound", "step": number, "names": changed})
    sender.send({"event": "done", "steps": len(program["steps"])})


def _call_step(number, step, namespace, inputs, sender, cell_limit, loaded=()):
    target = step["target"]
    present = target in namespace
    sender.send({"event": "part", "step": number, "part": step["part"], "found": present})
    if not present:
        return
    obj = namespace[target]
    if step.get("type") == "model":
        # The model leaves this process only as a .keras file, which the
        # grader loads (safe mode) and checks in a clean process.
        event, payload = {"event": "model", "step": number, "part": step["part"]}, b""
        if obj is None:  # the set-up's placeholder, never replaced: nothing to hand over
            event["empty"] = True
            sender.send(event)
            return
        with Limited(cell_limit) as block:
            path = os.path.join(os.getcwd(), f".model-{number}.keras")
            obj.save(path)
            with open(path, "rb") as handle:
                payload = handle.read(MAX_ARRAY_BYTES + 1)
            os.unlink(path)
        if block.error:
            event["error"], payload = ("saving the model took too long" if block.error == "timeout"
                                       else block.error), b""
        elif len(payload) > MAX_ARRAY_BYTES:
            event["error"], payload = "the saved model is larger than 64 MiB", b""
        event["seconds"] = block.seconds_taken
        if payload and "error" not in event:
            event["blob"] = sender.blob(payload, "keras")
        sender.send(event)
        return
    timed_out = False
    for case in step["cases"]:
        event = {"event": "case", "step": number, "part": step["part"], "case": case["id"]}
        if loaded:
            event["error"] = f"skipped: {loaded[0]} was loaded before this part ran, and the part does not allow it"
            sender.send(event)
            continue
        if timed_out:
            # One case that hangs is likely to hang them all: do not spend
            # the whole notebook's time budget finding out.
            event["error"] = "skipped: an earlier case of this part ran too long"
            sender.send(event)
            continue
        # The limit covers the call and the conversion of what it returned.
        with Limited(float(case.get("timeout", cell_limit))) as block:
            if step.get("type") == "value":
                value = obj
            else:
                args = load_arguments(case["args"], inputs)
                kwargs = load_arguments(case.get("kwargs", {}), inputs)
                originals = [_np_array(a, copy=True) if _isinstance(a, np.ndarray) else None for a in args]
                value = obj(*args, **kwargs)
                _leave_if_forked()
                changed = [i for i, (a, o) in enumerate(zip(args, originals))
                           if o is not None and not _np_array_equal(a, o, equal_nan=True)]
                if changed:
                    event["modified_input"] = changed[0] + 1
            event["value"] = sender.encode(value)
        if block.exception is not None:
            event.pop("value", None)
            event["error"] = block.error
            if block.error == "timeout":
                timed_out = True
            else:
                event["error_type"] = type(block.exception).__name__
                event["error_mro"] = [cls.__name__ for cls in type(block.exception).__mro__][:16]
        event["seconds"] = block.seconds_taken
        sender.send(event)


if __name__ == "__main__":
    try:
        main(sys.argv[1], int(sys.argv[2]))
    except BaseException:
        traceback.print_exc()
        sys.exit(3)
    # Leave at once: a submission's atexit hooks or threads must not run on.
    os._exit(0)

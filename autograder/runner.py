"""The program that runs a student's code inside the sandbox (self-contained: stdlib, NumPy, IPython).

It is copied into the submission's work folder and started there, in a
sandbox where the network, the course repository (with ``cnnkit`` and the
solutions), other submissions and the forbidden packages do not exist. It
reads ``program.json`` and ``inputs.npz``, and carries out the steps in order:

* ``{"cell": source}``: run a cell of the student's notebook (answer cells,
  the course's set-up cells and any cell the student added), with a time
  limit per cell;
* ``{"call": part, "target": name, "cases": [...]}``: call the student's
  function ``name`` on each case's hidden inputs, or for a ``value`` part
  read the variable ``name``.

Each result is appended to ``results.jsonl`` (arrays to ``arrays/``) the
moment it exists, so a submission that later hangs, crashes or calls
``os._exit`` keeps what it earned so far. It records, never decides: the
grader compares the returned values with the reference in its own process.

The hidden inputs are drawn by the grader from a seed this process never
sees, and the expected values never enter it.
"""

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
_open = builtins.open
_json_dumps = json.dumps
_np_save = np.save
_np_asarray = np.asarray
_time = time.monotonic
_write_fd = os.write
_fsync = os.fsync

MAX_TEXT = 2000
_PID = os.getpid()
_exit = os._exit


def _leave_if_forked():
    """A process the student's code forked must not carry on with the grading steps."""
    if os.getpid() != _PID:
        _exit(0)


class CellTimeout(BaseException):
    """Raised by the alarm when a cell or a call runs past its limit."""


def _on_alarm(signum, frame):
    raise CellTimeout()


class Recorder:
    """Appends one JSON line per event to results.jsonl, flushed and synced at once."""

    def __init__(self, folder):
        self.folder = folder
        self.arrays = os.path.join(folder, "arrays")
        os.makedirs(self.arrays, exist_ok=True)
        self.fd = os.open(os.path.join(folder, "results.jsonl"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.count = 0

    def write(self, event):
        line = (_json_dumps(event) + "\n").encode()
        _write_fd(self.fd, line)
        _fsync(self.fd)

    def encode(self, value, depth=0):
        """A JSON-safe description of a returned value; arrays go to .npy files (no pickles)."""
        if depth > 3:
            return {"kind": "unsupported", "type": "nested too deeply"}
        if value is None:
            return {"kind": "none"}
        if isinstance(value, (bool, np.bool_)):
            return {"kind": "bool", "value": bool(value)}
        if isinstance(value, (int, np.integer)):
            if abs(int(value)) > 2**62:
                return {"kind": "unsupported", "type": "integer too large"}
            return {"kind": "int", "value": int(value)}
        if isinstance(value, (float, np.floating)):
            return {"kind": "float", "value": float(value) if np.isfinite(value) else str(float(value))}
        if isinstance(value, (tuple, list)) and len(value) <= 16:
            items = [self.encode(v, depth + 1) for v in value]
            if all(item["kind"] in ("int", "float", "bool") for item in items) and len(value) > 4:
                return self.encode(_np_asarray(value), depth + 1)
            return {"kind": "tuple", "items": items}
        if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
            try:
                array = np.array(value, copy=True)
            except Exception as exc:
                return {"kind": "unsupported", "type": f"array conversion failed: {type(exc).__name__}"}
            if array.dtype.kind not in "biuf" or array.size > 50_000_000:
                return {"kind": "unsupported", "type": f"array of dtype {array.dtype} and size {array.size}"}
            self.count += 1
            name = f"a{self.count}.npy"
            _np_save(os.path.join(self.arrays, name), array, allow_pickle=False)
            return {"kind": "array", "file": name}
        return {"kind": "unsupported", "type": type(value).__name__}


def _describe_error(exc):
    message = str(exc)
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:MAX_TEXT]


class ForbiddenImports:
    """Refuses imports of the packages an exercise forbids, and reports the student's attempts.

    The packages are also absent from the sandbox's file system, so removing
    this finder gains nothing; it exists to fail cleanly and to name the
    attempt. Only an import written in the student's own code is reported:
    libraries probe optional packages (``import keras`` tries ``jax``) and
    handle the refusal themselves.
    """

    def __init__(self, names, recorder):
        self.names = tuple(names)
        self.recorder = recorder
        self.seen = set()

    @staticmethod
    def _from_student_code():
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
            frame = frame.f_back
        return frame is not None and frame.f_code.co_filename.startswith("<ipython-input")

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.split(".")[0]
        if top in self.names:
            if top not in self.seen and self._from_student_code():
                self.seen.add(top)
                self.recorder.write({"event": "forbidden-import", "module": top})
            raise ModuleNotFoundError(f"{top} is not available while grading this exercise")
        return None


def load_arguments(encoded, inputs):
    """Rebuild an argument from its JSON description and the arrays of inputs.npz."""
    if isinstance(encoded, dict):
        if "array" in encoded:
            return inputs[encoded["array"]].copy()
        if "tuple" in encoded:
            return tuple(load_arguments(v, inputs) for v in encoded["tuple"])
        if "list" in encoded:
            return [load_arguments(v, inputs) for v in encoded["list"]]
        if "dict" in encoded:
            return {k: load_arguments(v, inputs) for k, v in encoded["dict"].items()}
    return encoded


def main(folder):
    with _open(os.path.join(folder, "program.json")) as handle:
        program = json.load(handle)
    with np.load(os.path.join(folder, "inputs.npz"), allow_pickle=False) as data:
        inputs = {key: data[key] for key in data.files}
    recorder = Recorder(folder)
    cell_limit = float(program.get("cell_timeout", 60))
    sys.meta_path.insert(0, ForbiddenImports(program.get("forbidden", []), recorder))

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(colors="nocolor")
    namespace = shell.user_ns
    signal.signal(signal.SIGALRM, _on_alarm)
    # The student's prints go nowhere: the verdict needs none of them, and a
    # flood of output must not fill the disk or the grader's memory.
    sink = io.StringIO()

    for number, step in enumerate(program["steps"]):
        if "cell" in step:
            start = _time()
            stdout, stderr = sys.stdout, sys.stderr
            sys.stdout = sys.stderr = sink
            sink.seek(0)
            sink.truncate()
            error = None
            try:
                signal.setitimer(signal.ITIMER_REAL, cell_limit)
                result = shell.run_cell(step["cell"], store_history=False, silent=True)
                signal.setitimer(signal.ITIMER_REAL, 0)
                failure = result.error_before_exec or result.error_in_exec
                if isinstance(failure, CellTimeout):
                    error = f"ran longer than {cell_limit:g} s and was stopped"
                elif failure is not None:
                    error = _describe_error(failure)
            except CellTimeout:
                error = f"cell ran longer than {cell_limit:g} s and was stopped"
            except BaseException as exc:  # SystemExit, KeyboardInterrupt from student code
                signal.setitimer(signal.ITIMER_REAL, 0)
                error = _describe_error(exc)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                sys.stdout, sys.stderr = stdout, stderr
            _leave_if_forked()
            recorder.write({"event": "cell", "step": number, "id": step.get("id", ""), "error": error,
                            "seconds": round(_time() - start, 3)})
            continue

        target = step["target"]
        present = target in namespace
        recorder.write({"event": "part", "step": number, "part": step["part"], "found": present})
        if not present:
            continue
        obj = namespace[target]
        if step.get("kind") == "model":
            # The model leaves this process only as a .keras file, which the
            # grader loads (safe mode) and checks in a clean process.
            event = {"event": "model", "part": step["part"]}
            start = _time()
            try:
                signal.setitimer(signal.ITIMER_REAL, cell_limit)
                name = f"model-{number}.keras"
                obj.save(os.path.join(folder, name))
                signal.setitimer(signal.ITIMER_REAL, 0)
                event["file"] = name
            except CellTimeout:
                event["error"] = "saving the model took too long"
            except BaseException as exc:
                signal.setitimer(signal.ITIMER_REAL, 0)
                event["error"] = _describe_error(exc)
            event["seconds"] = round(_time() - start, 3)
            _leave_if_forked()
            recorder.write(event)
            continue
        timed_out = False
        for case in step["cases"]:
            if timed_out:
                # One case that hangs is likely to hang them all: do not spend
                # the whole notebook's time budget finding out.
                recorder.write({"event": "case", "part": step["part"], "case": case["id"],
                                "error": "skipped: an earlier case of this part ran too long"})
                continue
            start = _time()
            event = {"event": "case", "part": step["part"], "case": case["id"]}
            stdout, stderr = sys.stdout, sys.stderr
            sys.stdout = sys.stderr = sink
            sink.seek(0)
            sink.truncate()
            try:
                signal.setitimer(signal.ITIMER_REAL, float(case.get("timeout", cell_limit)))
                if step.get("kind", "function") == "value":
                    value = obj
                else:
                    args = load_arguments(case["args"], inputs)
                    kwargs = load_arguments(case.get("kwargs", {}), inputs)
                    originals = [np.array(a, copy=True) if isinstance(a, np.ndarray) else None for a in args]
                    value = obj(*args, **kwargs)
                    _leave_if_forked()
                    changed = [i for i, (a, o) in enumerate(zip(args, originals))
                               if o is not None and not np.array_equal(a, o, equal_nan=True)]
                    if changed:
                        event["modified_input"] = changed[0] + 1
                signal.setitimer(signal.ITIMER_REAL, 0)
                event["value"] = recorder.encode(value)
            except CellTimeout:
                event["error"] = "timeout"
                timed_out = True
            except BaseException as exc:
                signal.setitimer(signal.ITIMER_REAL, 0)
                event["error"] = _describe_error(exc)
                event["error_type"] = type(exc).__name__
                event["error_mro"] = [cls.__name__ for cls in type(exc).__mro__]
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                sys.stdout, sys.stderr = stdout, stderr
            _leave_if_forked()
            event["seconds"] = round(_time() - start, 3)
            recorder.write(event)
    recorder.write({"event": "done"})


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except BaseException:
        traceback.print_exc()
        sys.exit(3)
    # Leave at once: a submission's atexit hooks or threads must not run on.
    os._exit(0)

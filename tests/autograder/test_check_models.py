"""``check`` never deserialises a student's Keras model in its own process: the grader's sandboxed judge does."""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

from autograder import check as checking
from autograder import stream, verdict
from autograder.course import assignment_notebook
from autograder.sandbox import Limits
from autograder.untrusted_text import has_controls

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "06-sequential-models"
MODEL_PART = "build_model_tests"


def fake_run(monkeypatch, events, blobs, judged):
    """``check`` with the notebook's run and the judge replaced; returns the judge's calls."""
    calls = []
    monkeypatch.setattr(verdict, "execute_program", lambda *a, **k: SimpleNamespace(
        stream=b"", sandboxed=True, timed_out=False, stderr_tail=""))
    monkeypatch.setattr(stream, "parse", lambda raw: stream.Stream(events=events, blobs=blobs))

    def judge(graded, models, given_blobs, seed, limits):
        calls.append({gid: given_blobs[event["blob"]] for gid, event in models.items()})
        return judged

    monkeypatch.setattr(verdict, "judge_models", judge)
    # Any in-process `import keras` now fails: the check must not need it.
    monkeypatch.setitem(sys.modules, "keras", None)
    return calls


def solution():
    return ROOT / "solutions" / ASSIGNMENT / assignment_notebook(ASSIGNMENT).name


def test_a_saved_model_goes_to_the_judge_and_its_refusal_blocks(monkeypatch):
    events = [{"event": "part", "part": MODEL_PART, "found": True, "step": 3},
              {"event": "model", "part": MODEL_PART, "blob": 1, "step": 3}, {"event": "done"}]
    refusal = "the model could not be loaded safely: ValueError: Lambda layers are not allowed"
    calls = fake_run(monkeypatch, events, {1: b"a student's .keras bytes"}, {MODEL_PART: {"error": refusal}})
    report = checking.check(solution(), ASSIGNMENT, Limits())
    assert calls == [{MODEL_PART: b"a student's .keras bytes"}]
    assert any(refusal in message and "cannot load" in message for message in report.blocking), report.text()
    assert not report.will_be_graded


def test_a_model_the_judge_loads_passes_and_no_answer_is_a_problem(monkeypatch):
    events = [{"event": "part", "part": MODEL_PART, "found": True},
              {"event": "model", "part": MODEL_PART, "blob": 1}, {"event": "done"}]
    fake_run(monkeypatch, events, {1: b"bytes"}, {MODEL_PART: {"problems": ["hidden case failed"]}})
    report = checking.check(solution(), ASSIGNMENT, Limits())
    assert any("can load" in m for m in report.passed) and "hidden case failed" not in report.text()
    fake_run(monkeypatch, events, {1: b"bytes"}, {})
    report = checking.check(solution(), ASSIGNMENT, Limits())
    assert any("gave no answer" in m for m in report.blocking), report.text()


def test_forged_events_of_any_type_end_as_messages(monkeypatch):
    events = [{"event": "cell", "step": -10_000, "error": "E\x1b]0;title\x07\x1b[2J"},
              {"event": "cell", "step": [1], "error": "x"}, {"event": "part", "part": ["unhashable"]},
              {"event": "model", "part": {"a": 1}}, "not a dict", {"event": "done"}]
    fake_run(monkeypatch, events, {}, {})
    text = checking.check(solution(), ASSIGNMENT, Limits()).text()
    assert "cell ?: E" in text and "[2J" not in text
    assert not any(has_controls(line) for line in text.splitlines()), text


def test_the_real_judge_refuses_a_file_that_is_no_keras_model():
    from autograder.verdict import graded_cells
    from autograder.notebook import course_cells

    graded = graded_cells(course_cells(assignment_notebook(ASSIGNMENT)))
    judged = verdict.judge_models(graded, {MODEL_PART: {"blob": 1}}, {1: b"PK\x03\x04 not a model"}, 0,
                                  Limits())
    assert "could not be loaded safely" in json.dumps(judged[MODEL_PART]), judged


def test_check_messages_reach_the_terminal_without_escapes(tmp_path):
    import subprocess

    odd = tmp_path / "\x1b]0;pwned\x07nb\x1b[2J\u202e.ipynb"
    odd.write_bytes(b"{")
    result = subprocess.run([sys.executable, "-m", "autograder", "check", str(odd)], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 1 and "not valid notebook JSON" in result.stdout, result.stdout + result.stderr
    for stream_text in (result.stdout, result.stderr):
        assert not has_controls(stream_text.replace("\n", "")) and "[2J" not in stream_text, stream_text
    missing = subprocess.run([sys.executable, "-m", "autograder", "check", str(tmp_path / "\x1b[31mnone.ipynb")],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "none.ipynb" in missing.stderr and "\x1b" not in missing.stderr

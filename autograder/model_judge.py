"""Check students' Keras models in a clean, sandboxed process (``python -m autograder.model_judge FOLDER FD``).

The job (which models, for which parts, the seed) comes on standard input,
never in a file. The student's process hands each model over only as a ``.keras`` file. This
process, which runs no student code, loads it with Keras' safe mode (no
Python lambdas or unknown classes are deserialised) and runs the part's
predicates from the grading package, writing ``{part: [problem or null, ...]}``
to the results pipe ``FD``.
"""

import json
import os
import sys
from pathlib import Path


def main(folder, fd):
    folder = Path(folder)
    job = json.loads(sys.stdin.buffer.read())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from autograder.grading import Outcome, cases_for, judge_case

    results = {}
    for item in job["models"]:
        try:
            model = keras.models.load_model(folder / item["file"], safe_mode=True)
        except Exception as exc:  # a file that is not a plain Keras model
            results[item["grade_id"]] = {"error": f"the model could not be loaded safely: {type(exc).__name__}: "
                                                  f"{str(exc)[:200]}"}
            continue
        problems = [judge_case(case, Outcome(value=model), "model") for case in cases_for(item["part"], job["seed"])]
        results[item["grade_id"]] = {"problems": problems}
    os.write(fd, json.dumps(results).encode())


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))

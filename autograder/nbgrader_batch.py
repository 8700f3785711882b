"""Run several nbgrader commands in one process: ``python -m autograder.nbgrader_batch CMD[,CMD...] ARGS...``.

Each nbgrader command line pays about 2 s of start-up (imports, config,
database); a batch runs ``generate_assignment``, ``autograde`` and
``generate_feedback`` back to back in one interpreter and pays it once.
The arguments after the command list are given to every command.
"""

import sys

from nbgrader.apps import AutogradeApp, GenerateAssignmentApp, GenerateFeedbackApp

APPS = {"generate_assignment": GenerateAssignmentApp, "autograde": AutogradeApp,
        "generate_feedback": GenerateFeedbackApp}


def main(argv):
    commands, rest = argv[0].split(","), argv[1:]
    status = 0
    for command in commands:
        app = APPS[command]()
        try:
            app.initialize(rest)
            app.start()
        except SystemExit as exc:  # nbgrader exits non-zero when a notebook failed; go on
            status = status or (exc.code if isinstance(exc.code, int) else 1)
        print(f"[nbgrader_batch] {command} done", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

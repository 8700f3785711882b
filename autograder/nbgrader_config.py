"""nbgrader configuration of the course.

``solutions/`` is nbgrader's source folder and ``exercises/`` its release
folder, so ``nbgrader generate_assignment`` writes the student versions
straight into the repository. Everything nbgrader creates while grading (the
gradebook, submitted and autograded copies) goes under ``_build/``, which git
ignores. Use it as ``--NbGrader.config_file=autograder/nbgrader_config``
(traitlets adds the ``.py``); ``python -m autograder`` does that for you.
"""

import os

c = get_config()  # noqa: F821  (traitlets injects get_config)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = os.path.join("_build", "nbgrader", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("_build", "nbgrader", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("_build", "nbgrader", "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "_build", "nbgrader", "gradebook.db")
# Keep the generated notebooks' cell ids, checksums and layout reproducible.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.egg-info"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# nbgrader only generates the student versions here: grading, and the feedback
# pages, come from the course's own sandboxed run (python -m autograder grade).

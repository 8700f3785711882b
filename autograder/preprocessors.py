"""nbgrader preprocessors of the course."""

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool


class ScrubHiddenTracebacks(Preprocessor):
    """Keep only ``ErrorName: message`` of the errors that graded test cells raised.

    nbgrader's ``ClearHiddenTests`` removes the hidden tests from a cell's
    source, but an error's traceback still quotes the lines around the
    failing call. The message, which ``autograder.grading.check`` writes for the
    student (the failing cases, never the expected values), is all they need.
    """

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources

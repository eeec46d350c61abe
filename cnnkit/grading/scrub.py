"""Hidden tests never reach a student through what the notebook printed.

Student code runs before and between the check cells. It can register IPython hooks that see
every cell's source (pre_run_cell), or simply note the inputs its functions were called with, and
print them later in one of its own cells, in any encoding. Feedback is made from the autograded
notebook. Two steps:

- ``ScrubHiddenTests`` (autograde): redacts, in every output, any line of a hidden-test block
  (what an unwary hook would echo), for whoever reads the autograded notebook;
- ``WithholdOutputsAfterHiddenTests`` (generate_feedback): nothing a student's cell printed after
  the first hidden test ran goes into feedback. No filter can recognise every encoding (base64,
  compression, arithmetic on the inputs); a cell that ran before any hidden test had nothing to
  leak. The student's own notebook still shows those outputs; the scores do not depend on them.
  A cell that only draws, left as released, keeps its outputs: grading ran its definitions only and put
  them there itself (the release's picture, or a line saying where the figure is drawn).
"""

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from cnnkit import course
from cnnkit.spec import figures

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
REDACTED = "[redacted: this output repeated hidden test code]"
# Lines shorter than this are too common ("])", "return x") to identify a hidden test.
MIN_SECRET_LENGTH = 10


def hidden_lines(nb):
    """The distinctive lines of every hidden-test block in the notebook's check cells."""
    secrets = set()
    for cell in nb.cells:
        if not utils.is_grade(cell) or BEGIN not in cell.source:
            continue
        inside = False
        for line in cell.source.splitlines():
            if BEGIN in line or END in line:
                inside = BEGIN in line
                continue
            if inside and len(line.strip()) >= MIN_SECRET_LENGTH:
                secrets.add(line.strip())
    return secrets | {BEGIN, END}


def leaks(text, secrets):
    return any(secret in text for secret in secrets)


def scrub_output(output, secrets):
    """The output, or a redaction notice if any of its text repeats a secret line."""
    texts = [output.get("text", ""), output.get("evalue", ""), *output.get("traceback", [])]
    texts += [
        value if isinstance(value, str) else "".join(value) if isinstance(value, list) else str(value)
        for value in output.get("data", {}).values()
    ]
    if not any(leaks(text, secrets) for text in texts if isinstance(text, str)):
        return output
    return NotebookNode(output_type="stream", name="stdout", text=REDACTED + "\n")


class ScrubHiddenTests(NbGraderPreprocessor):
    """Redact outputs that repeat hidden-test code, in every cell."""

    def preprocess(self, nb, resources):
        secrets = hidden_lines(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [scrub_output(output, secrets) for output in cell.outputs]
        return nb, resources


WITHHELD = (
    "[output not shown in feedback: this cell ran after the hidden tests had started, so what it printed "
    "could carry them. Your own notebook shows it.]"
)


def holds_hidden_tests(cell):
    return cell.cell_type == "code" and utils.is_grade(cell) and BEGIN in cell.source


def released_drawings(resources):
    """The sources of the release's cells that only draw, as the executor read them (none without the release)."""
    name = ((resources or {}).get("nbgrader") or {}).get("notebook")
    path = course.RELEASE / f"{name}.ipynb"
    return figures.released_drawings(path) if name and path.is_file() else frozenset()


def drawn_by_grading(cell, drawings):
    """True for a cell whose outputs grading put there itself, not the student's code: a cell that only
    draws, left as released, that ran without an error (cnnkit.grading.execute, _define_without_drawing)."""
    no_error = all(output.get("output_type") != "error" for output in cell.outputs)
    return cell.source in drawings and figures.only_draws(cell) and no_error


class WithholdOutputsAfterHiddenTests(NbGraderPreprocessor):
    """Feedback: outputs of the student's code cells after the first check cell with hidden tests are withheld.

    Runs before ClearHiddenTests, which removes the markers it looks for. Check cells keep their
    outputs: VerifyResults rewrote them to the verdict alone; so do the drawings grading did not run.
    """

    def preprocess(self, nb, resources):
        started, drawings = False, released_drawings(resources)
        for cell in nb.cells:
            if holds_hidden_tests(cell):
                started = True
            elif started and cell.cell_type == "code" and cell.get("outputs") and not utils.is_grade(cell):
                if not drawn_by_grading(cell, drawings):
                    cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=WITHHELD + "\n")]
        return nb, resources

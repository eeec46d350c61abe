"""ScrubHiddenTests: no output of any cell may repeat a line of a hidden test.

Student code runs before and between the check cells and can register IPython
hooks that see every cell's source (pre_run_cell), stash it, and print it later in
one of its own cells. Feedback is made from the autograded notebook, so this step
redacts, in every output, any line that belongs to a hidden-test block.
"""

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

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

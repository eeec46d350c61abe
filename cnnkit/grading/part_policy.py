"""nbgrader steps that make the release, the autograded notebooks and the feedback follow the Part B policy.

The policy is set once, as ``c.PartBPolicy.mode`` in nbgrader_config.py (cnnkit.spec.part_b). Steps:

- ``StatePartBPolicy`` (generate_assignment): writes the policy's sentence into every markdown cell
  tagged ``part_b_policy``, with the points read from the notebook's check cells, and what to check of
  Part B before submitting into the cells tagged ``part_b_checklist``. Nothing else in the notebook
  says how Part B counts, so its words never contradict each other.
- ``PartBVerdicts`` (autograde, right after VerifyResults): under an optional policy, a Part B function
  left as the stub (every case raised NotImplementedError) is reported as "not attempted (optional)",
  scored 0 without an error; every Part B verdict says how Part B counts.

The feedback states the grade as the policy counts it in its summary (cnnkit.grading.feedback_summary).

Cell scores are never changed: the gradebook keeps what each function earned, whatever the policy.
"""

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from cnnkit.records.verdict import VERDICT_MIME
from cnnkit.spec import part_b
from cnnkit.spec.notebook import grade_id
from cnnkit.spec.parts import part_of

TAG = "part_b_policy"
CHECKLIST_TAG = "part_b_checklist"
COUNTS = {
    "required": "Part B is required in this course",
    "extra_credit": "Part B is extra credit in this course: its points come on top of Part A's",
    "not_graded": "Part B is not graded in this course: these points do not count in your grade",
}


def part_points(nb):
    """{'core': points, 'optional': points} of a notebook's check cells, from their nbgrader metadata."""
    points = {"core": 0.0, "optional": 0.0}
    for cell in nb.cells:
        if utils.is_grade(cell) and part_of(grade_id(cell)) in points:
            points[part_of(grade_id(cell))] += float(cell.metadata.nbgrader["points"])
    return points


def policy_cells(nb, tag=TAG):
    return [cell for cell in nb.cells if cell.cell_type == "markdown" and tag in cell.metadata.get("tags", [])]


class StatePartBPolicy(NbGraderPreprocessor):
    """generate_assignment: state the course's Part B policy in the cells tagged part_b_policy and part_b_checklist."""

    def preprocess(self, nb, resources):
        mode, points = part_b.mode_in(self.config), part_points(nb)
        for cell in policy_cells(nb):
            cell.source = part_b.statement(mode, points["core"], points["optional"])
        for cell in policy_cells(nb, CHECKLIST_TAG):
            cell.source = part_b.CHECKLISTS[mode]
        return nb, resources


def verdict_of(cell):
    """(index of the output holding the kit's verdict record, the record), or (None, None)."""
    for index, output in enumerate(cell.get("outputs", [])):
        record = output.get("data", {}).get(VERDICT_MIME)
        if isinstance(record, dict):
            return index, record
    return None, None


def not_attempted(record):
    """True when every case of the verdict failed because the function is still the stub."""
    failures = record.get("failures", [])
    return record.get("passed") == 0 and bool(failures) and all(f.get("kind") == "not_implemented" for f in failures)


def not_attempted_outputs(record, mode):
    """The outputs of a skipped optional function: the verdict in words, and a score of 0 without an error."""
    name = record["function"]
    text = (
        f"{name}: not attempted (optional). {COUNTS[mode]}, so leaving it out costs you nothing "
        f"(0 of {record['points']:g} points here)."
    )
    return [
        NotebookNode(output_type="display_data", metadata={}, data={"text/plain": text, VERDICT_MIME: record}),
        # nbgrader reads a numeric result as the cell's score: 0, with no error shown to the student.
        NotebookNode(output_type="execute_result", metadata={}, execution_count=None, data={"text/plain": "0"}),
    ]


class PartBVerdicts(NbGraderPreprocessor):
    """autograde, after VerifyResults: Part B's verdicts follow the course's policy."""

    def preprocess(self, nb, resources):
        self.mode = part_b.mode_in(self.config)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if not utils.is_grade(cell) or part_of(grade_id(cell) or "") != "optional":
            return cell, resources
        position, record = verdict_of(cell)
        if record is None or self.mode == "required":
            return cell, resources
        if not_attempted(record):
            cell.outputs = not_attempted_outputs(record, self.mode)
            return cell, resources
        shown = cell.outputs[position]
        shown.data["text/plain"] = f"({COUNTS[self.mode]}.)\n" + shown.data.get("text/plain", "")
        return cell, resources

"""nbgrader steps that make the release, the autograded notebooks and the feedback follow the Part B policy.

The policy is set once, as ``c.PartBPolicy.mode`` in nbgrader_config.py (cnnkit.spec.part_b). Steps:

- ``StatePartBPolicy`` (generate_assignment): writes the policy's sentence into every markdown cell
  tagged ``part_b_policy``, with the points read from the notebook's check cells.
- ``KeepIllustrations`` (generate_assignment, in place of nbgrader's ClearOutput): clears every output
  but those of the cells tagged ``illustration`` (cnnkit.spec.figures), so the release shows its figures.
- ``PartBVerdicts`` (autograde, right after VerifyResults): under an optional policy, a Part B function
  left as the stub (every case raised NotImplementedError) is reported as "not attempted (optional)",
  scored 0 without an error; every Part B verdict says how Part B counts.
- ``PartBInFeedback`` (generate_feedback, after GetGrades): a note at the top of the feedback with the
  grade as the policy counts it (cnnkit.spec.totals), beside nbgrader's raw total.

Cell scores are never changed: the gradebook keeps what each function earned, whatever the policy.
"""

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import ClearOutput, NbGraderPreprocessor

from cnnkit.records.verdict import VERDICT_MIME
from cnnkit.spec import figures, part_b, totals
from cnnkit.spec.notebook import grade_id
from cnnkit.spec.parts import part_of

TAG = "part_b_policy"
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


def policy_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "markdown" and TAG in cell.metadata.get("tags", [])]


class StatePartBPolicy(NbGraderPreprocessor):
    """generate_assignment: state the course's Part B policy in the cells tagged part_b_policy."""

    def preprocess(self, nb, resources):
        points = part_points(nb)
        text = part_b.statement(part_b.mode_in(self.config), points["core"], points["optional"])
        for cell in policy_cells(nb):
            cell.source = text
        return nb, resources


class KeepIllustrations(ClearOutput):
    """nbgrader's ClearOutput, except for the outputs of illustration cells (drawn by `make release`)."""

    def preprocess_cell(self, cell, resources, cell_index):
        if figures.is_illustration(cell):
            cell.execution_count = None
            return cell, resources
        return super().preprocess_cell(cell, resources, cell_index)


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


def feedback_note(cell_scores, penalty, maxima, mode):
    """The sentence on top of the feedback: the grade as the policy counts it."""
    scored = totals.totals(cell_scores, penalty, mode=mode)
    maximum = totals.graded_maximum(maxima, mode)
    core, optional = scored.core, scored.optional
    if mode == "required":
        return f"**Your grade: {scored.total:g} of {maximum:g}** (Part A {core:g}, Part B {optional:g}; Part B is required)."
    if mode == "extra_credit":
        return (
            f"**Your grade: {scored.total:g} of {maximum:g}**: Part A {core:g} of {maximum:g}, plus {optional:g} "
            "extra-credit points from Part B (Part B is extra credit in this course)."
        )
    return (
        f"**Your grade: {scored.total:g} of {maximum:g}** (Part A only: Part B is not graded in this course; "
        f"its checks below are for your information)."
    )


class PartBInFeedback(NbGraderPreprocessor):
    """generate_feedback, after GetGrades: the grade as the Part B policy counts it, at the top."""

    def preprocess(self, nb, resources):
        mode = part_b.mode_in(self.config)
        scores, maxima = {}, {}
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if utils.is_grade(cell) and "score" in meta:
                scores[meta["grade_id"]], maxima[meta["grade_id"]] = meta["score"], float(meta["points"])
        penalty = resources.get("nbgrader", {}).get("late_penalty") or 0.0
        note = nbformat.v4.new_markdown_cell(feedback_note(scores, penalty, totals.part_maxima(maxima), mode))
        note.metadata["tags"] = [TAG]
        nb.cells.insert(0, note)
        return nb, resources

"""VerifyResults: the nbgrader step that decides the score of every kit-checked cell.

It runs in the grading process right after ``Execute``. For each autograder test
cell that calls ``grade(...)``, it reads the hidden cases from the cell's source
(the instructor's copy, restored by nbgrader's OverwriteCells), rebuilds the
inputs, computes the expected outputs with ``cnnkit.spec.reference``, and judges the
result records the kernel emitted. Everything else the kernel printed in the
cell is dropped: the cell's outputs become the verdict alone.
"""

import ast
import time

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from cnnkit import course
from cnnkit.spec import mistakes

VERDICT_MIME = "application/vnd.cnnkit.verdict+json"


def find_grade_call(source):
    """(function name, hidden cases, helper names) of the cell's grade(...) call, or None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "grade":
            name = ast.literal_eval(node.args[0])
            hidden = ast.literal_eval(node.args[2]) if len(node.args) > 2 else []
            return name, hidden
    return None


def collect_outcomes(outputs, name, result_mime):
    """Case index -> outcome from the cell's result records; duplicated cases are refused."""
    outcomes, duplicated = {}, set()
    for output in outputs:
        record = output.get("data", {}).get(result_mime) if output.get("output_type") == "display_data" else None
        if not isinstance(record, dict) or record.get("function") != name:
            continue
        index = record.get("case")
        if index in outcomes:
            duplicated.add(index)
        outcomes[index] = record.get("outcome")
    for index in duplicated:
        outcomes[index] = {"skipped": "more than one result was recorded for this case, so none is trusted"}
    return outcomes


def why_no_result(outputs):
    """A sentence explaining why a case produced no result (the cell's error, if any)."""
    for output in outputs:
        if output.get("output_type") == "error":
            return f"the test did not run to this case: {output.get('ename')}: {str(output.get('evalue'))[:200]}"
    return "the test did not run to this case (the cell stopped early)"


def judge_case(checks, name, case, outcome):
    """The checker's verdict on one case, naming a known mistake when one matches."""
    inputs = checks.make_inputs(name, case)
    expected = mistakes.expected_parts(name, *inputs)
    verdict = checks.judge(name, case, inputs, expected, outcome)
    if verdict and "returned" in outcome:
        verdict = checks.judge(name, case, inputs, expected, outcome, mistakes.mistake_parts(name, *inputs))
    return verdict


def verdict_outputs(name, cases, verdicts, points, checks):
    """The cell's new outputs: a report, plus the score nbgrader reads."""
    passed = sum(verdict is None for verdict in verdicts)
    earned = checks.score(points, verdicts)
    lines = [f"{name}: {passed} of {len(cases)} cases passed, {earned:g} of {points:g} points"]
    if any(verdicts):
        lines.append(checks.report(name, cases, verdicts))  # cases failing alike are written once
    report = "\n".join(lines)
    summary = {
        "function": name,
        "passed": passed,
        "total": len(cases),
        "score": earned,
        "points": points,
        "failures": [
            {"case": i + 1, "description": checks.describe_case(name, c), "message": v}
            for i, (c, v) in enumerate(zip(cases, verdicts))
            if v
        ],
    }
    outputs = [
        NotebookNode(output_type="display_data", metadata={}, data={"text/plain": report, VERDICT_MIME: summary})
    ]
    if earned == 0:
        outputs.append(
            NotebookNode(
                output_type="error", ename="ChecksFailed", evalue=f"{name}: no case passed", traceback=[report]
            )
        )
    elif earned < points:
        outputs.append(
            NotebookNode(
                output_type="execute_result", metadata={}, execution_count=None, data={"text/plain": f"{earned:g}"}
            )
        )
    return outputs


class VerifyResults(NbGraderPreprocessor):
    """Judge the results collected by ``grade(...)`` against the trusted reference."""

    def preprocess(self, nb, resources):
        self.checks = course.load_checks()
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not utils.is_grade(cell):
            return cell, resources
        call = find_grade_call(cell.source)
        if call is None:
            return cell, resources
        name, hidden = call
        cases = self.checks.PUBLIC_CASES[name] + hidden
        outcomes = collect_outcomes(cell.outputs, name, self.checks.RESULT_MIME)
        missing = {"skipped": why_no_result(cell.outputs)}
        started = time.perf_counter()
        verdicts = [judge_case(self.checks, name, case, outcomes.get(i, missing)) for i, case in enumerate(cases)]
        points = float(cell.metadata.nbgrader["points"])
        cell.outputs = verdict_outputs(name, cases, verdicts, points, self.checks)
        # Timing, for benchmarks/: the student's functions (as the kernel measured) and this judging.
        cell.outputs[0].data[VERDICT_MIME]["seconds"] = {
            "student_code": sum(float(o.get("seconds", 0)) for o in outcomes.values() if isinstance(o, dict)),
            "verify": time.perf_counter() - started,
        }
        return cell, resources

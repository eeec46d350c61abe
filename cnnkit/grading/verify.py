"""VerifyResults: the nbgrader step that decides the score of every kit-checked cell.

It runs in the grading process right after ``Execute``. For each autograder test
cell that calls ``grade(...)``, it reads the hidden cases from the cell's source
(the instructor's copy, restored by nbgrader's OverwriteCells), rebuilds the
inputs, computes the expected outputs with the spec's reference, and judges the
result records the kernel emitted with the checker's own ``judge`` (the instructor's
copy). Everything else the kernel printed in the cell is dropped: the cell's outputs
become the verdict alone, its record (cnnkit.records.verdict) and the text rendered from it. The
result records are read by cnnkit.records.result, which trusts none of them.
"""

import time

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from cnnkit import course
from cnnkit.records.probe import PROBE_MIME
from cnnkit.records.result import RESULT_MIME, collect_outcomes
from cnnkit.records.verdict import VERDICT_MIME, Verdict, display
from cnnkit.spec.notebook import find_grade_call
from cnnkit.spec.table import SPEC, score

KIT_MIMES = frozenset({VERDICT_MIME, RESULT_MIME, PROBE_MIME})  # only the kit's own steps write these


def why_no_result(outputs):
    """The outcome of a case that produced no result: the cell's error, if any, says why."""
    for output in outputs:
        if output.get("output_type") == "error":
            text = f"the test did not run to this case: {output.get('ename')}: {str(output.get('evalue'))[:200]}"
            return {"skipped": text, "kind": "did_not_run", "detail": str(output.get("ename"))}
    return {"skipped": "the test did not run to this case (the cell stopped early)", "kind": "did_not_run"}


def judge_case(name, case, outcome):
    """The verdict on one case (None when right), naming a known mistake when one matches."""
    row = SPEC[name]
    inputs = row.make_inputs(case)
    expected = row.expected_parts(*inputs)
    verdict = course.load_checks().judge(name, case, inputs, expected, outcome)
    if verdict and "returned" in outcome:  # the known mistakes are worked out only for a wrong answer
        verdict = course.load_checks().judge(name, case, inputs, expected, outcome, row.known_mistakes(*inputs))
    return verdict


def verdict_record(name, cases, public_count, verdicts, points) -> Verdict:
    """The cell's verdict as data: counts, score and one failure per failing case."""
    passed = sum(verdict is None for verdict in verdicts)
    failures = [
        {
            "case": index + 1,
            "description": course.load_checks().describe_case(name, case),
            "visibility": "public" if index < public_count else "hidden",
            **verdict,
        }
        for index, (case, verdict) in enumerate(zip(cases, verdicts))
        if verdict
    ]
    return {
        "function": name,
        "passed": passed,
        "total": len(cases),
        "score": score(points, passed, len(cases)),
        "points": points,
        "failures": failures,
    }


def render(record, cases):
    """The verdict in words, for the student's feedback (cases that fail alike are written once)."""
    name, earned, points = record["function"], record["score"], record["points"]
    lines = [f"{name}: {record['passed']} of {record['total']} cases passed, {earned:g} of {points:g} points"]
    if record["failures"]:
        messages = [None] * len(cases)
        for failure in record["failures"]:
            messages[failure["case"] - 1] = failure["message"]
        lines.append(course.load_checks().report(name, cases, messages))
    return "\n".join(lines)


def verdict_outputs(record, text):
    """The cell's new outputs: the record with its text, plus what makes nbgrader read the score."""
    name, earned, points = record["function"], record["score"], record["points"]
    outputs = [display(record, text)]
    if earned == 0:
        outputs.append(
            NotebookNode(output_type="error", ename="ChecksFailed", evalue=f"{name}: no case passed", traceback=[text])
        )
    elif earned < points:
        outputs.append(
            NotebookNode(
                output_type="execute_result", metadata={}, execution_count=None, data={"text/plain": f"{earned:g}"}
            )
        )
    return outputs


def without_kit_records(outputs):
    """Outputs with every kit record MIME type taken out: only the kit's own steps write those.

    A student cell that displays a verdict, result or probe record would otherwise pass it off as the
    kit's to whatever reads the notebook later (the report, the integrity check).
    """
    kept = []
    for output in outputs:
        data = output.get("data")
        if isinstance(data, dict) and KIT_MIMES & set(data):
            output.data = NotebookNode({key: value for key, value in data.items() if key not in KIT_MIMES})
            if not output.data:
                continue
        kept.append(output)
    return kept


class VerifyResults(NbGraderPreprocessor):
    """Judge the results collected by ``grade(...)`` against the trusted reference."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        call = find_grade_call(cell.source) if utils.is_grade(cell) else None
        if call is None:
            cell.outputs = without_kit_records(cell.outputs)
            return cell, resources
        name, hidden = call
        public = SPEC[name].public_cases
        cases = public + list(hidden)
        outcomes = collect_outcomes(cell.outputs, name, len(cases))
        missing = why_no_result(cell.outputs)
        started = time.perf_counter()
        verdicts = [judge_case(name, case, outcomes.get(i, missing)) for i, case in enumerate(cases)]
        record = verdict_record(name, cases, len(public), verdicts, float(cell.metadata.nbgrader["points"]))
        # Timing, for benchmarks/: the student's functions (as the kernel measured) and this judging.
        record["seconds"] = {
            "student_code": sum(outcome.get("seconds", 0.0) for outcome in outcomes.values()),
            "verify": time.perf_counter() - started,
        }
        cell.outputs = verdict_outputs(record, render(record, cases))
        return cell, resources

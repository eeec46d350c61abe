"""The verdict record: a check cell's score and failing cases, decided outside the student's kernel.

``VerifyResults`` (cnnkit.grading.verify) replaces the outputs of every check cell with the verdict: one
display_data output holding the record under VERDICT_MIME beside its text for people (``display``).
``PartBVerdicts`` (cnnkit.grading.part_policy) may rewrite it; the kit's offline grading, the instructor
report and the benchmarks read it back (``read``). Only the kit's own steps write this MIME type:
VerifyResults removes it from every other output, so a student's cell cannot pass one off as the kit's.
"""

from typing import TypedDict

from nbformat.notebooknode import NotebookNode

VERDICT_MIME = "application/vnd.cnnkit.verdict+json"
MAX_CASES = 1000  # more cases than any check cell has: a record claiming more is not the verifier's


class Failure(TypedDict, total=False):
    """One failing case, in the checker's words (its judge) and the verifier's."""

    case: int  # 1-based, in the cell's order: public cases first
    description: str  # the case's shapes and hyperparameters, for people
    visibility: str  # "public" or "hidden"
    kind: str  # what went wrong (e.g. "wrong_values", "did_not_run", "unreadable_result")
    detail: str
    message: str  # for the student
    mistakes: list[str]  # the known mistakes the received values match


class Verdict(TypedDict, total=False):
    """A check cell's verdict."""

    function: str
    passed: int
    total: int
    score: float  # points x passed / total, rounded down (cnnkit.spec.table.score)
    points: float  # the cell's points (its nbgrader metadata)
    failures: list[Failure]
    seconds: dict[str, float]  # "student_code" (as the kernel measured) and "verify", for benchmarks/


def display(record: Verdict, text: str) -> NotebookNode:
    """The output that carries the verdict: the record, and its text for people."""
    return NotebookNode(output_type="display_data", metadata={}, data={"text/plain": text, VERDICT_MIME: record})


def read(output) -> Verdict | None:
    """The verdict an output carries, if it is one of the shape the verifier writes (counts in range); else None."""
    record = output.get("data", {}).get(VERDICT_MIME) if output.get("output_type") == "display_data" else None
    return record if well_formed(record) else None


def well_formed(record) -> bool:
    if not isinstance(record, dict) or not isinstance(record.get("function"), str):
        return False
    passed, total = record.get("passed"), record.get("total")
    if not all(type(count) is int for count in (passed, total)) or not 0 <= passed <= total <= MAX_CASES:
        return False
    failures = record.get("failures", [])
    return (
        isinstance(failures, list)
        and len(failures) <= total
        and all(isinstance(f, dict) and type(f.get("case")) is int and 1 <= f["case"] <= total for f in failures)
    )

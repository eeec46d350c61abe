"""Grading in-process (cnnkit.grading.offline) gives the verdicts autograde's judging gives."""

import pytest

from cnnkit.grading import offline
from cnnkit.spec import notebook, samples


@pytest.fixture(scope="module")
def solutions():
    return notebook.solutions()


@pytest.mark.parametrize("student", sorted(samples.SAMPLES))
def test_samples_get_their_expected_scores(student, solutions):
    make_answers, expected = samples.SAMPLES[student]
    records = offline.grade_answers(make_answers(solutions))
    assert {grade_id: record["score"] for grade_id, record in records.items()} == expected


def test_a_record_has_the_verdict_fields(solutions):
    records = offline.grade_answers({**solutions, "conv_backward": solutions["conv_backward"].replace("+=", "=")})
    record = records["test_conv_backward"]
    assert record["function"] == "conv_backward" and record["passed"] < record["total"]
    assert record["score"] < record["points"] and record["failures"]
    assert {"case", "description", "message"} <= set(record["failures"][0])
    assert records["test_conv_forward"]["score"] == records["test_conv_forward"]["points"]


def test_a_missing_answer_keeps_the_release_stub(solutions):
    nb = offline.submission({name: code for name, code in solutions.items() if name != "zero_pad"})
    stub = next(cell for cell in nb.cells if notebook.grade_id(cell) == "zero_pad")
    assert "raise NotImplementedError()" in stub.source and "np.pad" not in stub.source


def test_a_cell_that_raises_records_an_error_and_the_next_cells_still_run(solutions):
    broken = {**solutions, "zero_pad": "def zero_pad(X, pad):\n    return X +\n"}
    nb = offline.graded_notebook(broken)
    cell = next(cell for cell in nb.cells if notebook.grade_id(cell) == "zero_pad")
    assert [output.ename for output in cell.outputs if output.output_type == "error"] == ["SyntaxError"]
    records = offline.verdicts(nb)
    assert records["test_zero_pad"]["passed"] == 0
    assert records["test_conv_single_step"]["score"] == records["test_conv_single_step"]["points"]

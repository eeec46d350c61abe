"""cnnkit.grading.scrub, in-process: which lines are secret, and which outputs are redacted."""

import copy

import nbformat
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_code_cell, new_notebook, new_output

from cnnkit import course
from cnnkit.grading.execute import NOT_DRAWN
from cnnkit.grading.scrub import (
    BEGIN,
    END,
    REDACTED,
    WITHHELD,
    ScrubHiddenTests,
    WithholdOutputsAfterHiddenTests,
    hidden_lines,
    scrub_output,
)
from cnnkit.spec import figures

CHECK = f"""grade("zero_pad", public_cases)
{BEGIN}
grade("zero_pad", [case(shape=(3, 5, 5, 2), pad=4)])
])
{END}
print("visible line after the block")
"""


def check_cell(source=CHECK, grade=True):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": grade, "grade_id": "test_zero_pad", "points": 10, "solution": False}
    return cell


def test_hidden_lines_are_the_long_lines_inside_hidden_blocks_of_check_cells():
    nb = new_notebook(cells=[check_cell(), new_code_cell(f"{BEGIN}\nsecret_in_an_answer_cell = 1\n{END}")])
    assert hidden_lines(nb) == {'grade("zero_pad", [case(shape=(3, 5, 5, 2), pad=4)])', BEGIN, END}


def test_a_cell_that_is_not_graded_has_no_secrets():
    nb = new_notebook(cells=[check_cell(grade=False)])
    assert hidden_lines(nb) == {BEGIN, END}


SECRETS = {"grade(secret_case_number_one)", BEGIN, END}


def test_an_output_repeating_a_secret_is_replaced_by_a_notice():
    leaking = [
        new_output("stream", name="stdout", text="I saw: grade(secret_case_number_one)\n"),
        new_output("error", ename="E", evalue="grade(secret_case_number_one)", traceback=[]),
        new_output("error", ename="E", evalue="", traceback=["line", f"  {BEGIN}"]),
        new_output("display_data", data={"text/plain": ["a", "grade(secret_case_number_one)"]}),
        new_output("execute_result", data={"text/html": f"<pre>{END}</pre>"}, execution_count=1),
    ]
    for output in leaking:
        assert scrub_output(output, SECRETS) == NotebookNode(output_type="stream", name="stdout", text=REDACTED + "\n")


def test_an_output_without_secrets_is_kept_as_it_is():
    output = new_output("stream", name="stdout", text="grade(public_case)\n")
    assert scrub_output(output, SECRETS) is output


def test_the_step_redacts_every_code_cell_but_keeps_the_source():
    leak = new_code_cell("print(stash)")
    leak.outputs = [new_output("stream", name="stdout", text='grade("zero_pad", [case(shape=(3, 5, 5, 2), pad=4)])')]
    fine = new_code_cell("print(1)")
    fine.outputs = [new_output("stream", name="stdout", text="1\n")]
    nb = new_notebook(cells=[check_cell(), leak, fine])
    nb, _ = ScrubHiddenTests().preprocess(nb, {})
    assert nb.cells[1].outputs[0].text == REDACTED + "\n" and nb.cells[1].source == "print(stash)"
    assert nb.cells[2].outputs[0].text == "1\n"
    assert nb.cells[0].source == CHECK


def printed(text):
    return new_output("stream", name="stdout", text=text)


def test_feedback_withholds_what_student_cells_printed_after_the_first_hidden_test():
    """An encoded copy of a hidden test (here base64) passes any line filter; after the first check cell,
    outputs of the student's cells are withheld from feedback, and earlier ones and the verdicts are kept."""
    before, after = new_code_cell("print(1)"), new_code_cell("print(leak)")
    before.outputs, after.outputs = [printed("early\n")], [printed("IyMjIEJFR0lOIEhJRERFTiBURVNUUw==\n")]
    check = check_cell()
    check.outputs = [printed("verdict\n")]
    untouched = new_code_cell("x = 1")
    nb = new_notebook(cells=[before, check, after, untouched])
    nb, _ = WithholdOutputsAfterHiddenTests().preprocess(nb, {})
    assert [o.text for o in nb.cells[0].outputs] == ["early\n"]
    assert [o.text for o in nb.cells[1].outputs] == ["verdict\n"]
    assert [o.text for o in nb.cells[2].outputs] == [WITHHELD + "\n"]
    assert nb.cells[3].outputs == []


def test_a_notebook_without_hidden_tests_keeps_every_output():
    cell = new_code_cell("print(1)")
    cell.outputs = [printed("shown\n")]
    nb, _ = WithholdOutputsAfterHiddenTests().preprocess(new_notebook(cells=[check_cell(grade=False), cell]), {})
    assert [o.text for o in nb.cells[1].outputs] == ["shown\n"]


def test_a_drawing_cell_left_as_released_keeps_what_grading_put_there():
    """A cell that only draws, left as released, ran its definitions only; grading itself then gave it the
    release's picture or a line saying where the figure is drawn (cnnkit.grading.execute): nothing the
    student's code printed, so it stays after the hidden tests. Edited, tagged by the student, or with an
    error, it is the student's output and is withheld."""
    release = nbformat.read(course.RELEASE / f"{course.ASSIGNMENT}.ipynb", as_version=4)
    drawing = next(cell for cell in release.cells if figures.only_draws(cell))

    def like_drawing(source=drawing.source, outputs=None):
        cell = copy.deepcopy(drawing)
        cell.source, cell.outputs = source, outputs or [printed(NOT_DRAWN)]
        return cell

    kept = like_drawing()
    crashed = like_drawing(outputs=[new_output("error", ename="E", evalue="leak", traceback=["leak"])])
    edited = like_drawing(source=drawing.source + "\nprint(leak)")
    tagged = new_code_cell("print(leak)", metadata={"tags": [figures.FIGURE_TAG]})
    tagged.outputs = [printed(NOT_DRAWN)]
    nb = new_notebook(cells=[check_cell(), kept, crashed, edited, tagged])
    nb, _ = WithholdOutputsAfterHiddenTests().preprocess(nb, {"nbgrader": {"notebook": course.ASSIGNMENT}})
    assert [o.text for o in nb.cells[1].outputs] == [NOT_DRAWN]
    for cell in nb.cells[2:]:
        assert [o.text for o in cell.outputs] == [WITHHELD + "\n"], cell.source[:60]

"""The one rule for totals (cnnkit.results.totals) and everything that shows one: grades.csv rows,
LMS cells, the score table's numbers, in-process on gradebook-shaped objects (no database)."""

from types import SimpleNamespace

import pytest
from nbgrader.api import MissingEntry

from cnnkit.results import export, lms
from cnnkit.spec import totals
from cnnkit.spec.parts import CORE, OPTIONAL

POINTS = {  # the master notebook's points
    "test_zero_pad": 10,
    "test_conv_single_step": 10,
    "test_conv_forward": 40,
    "test_pool_forward": 40,
    "test_conv_backward": 25,
    "test_create_mask_from_window": 5,
    "test_distribute_value": 5,
    "test_pool_backward": 15,
}


def cell(name, max_score):
    return SimpleNamespace(name=name, max_score=max_score)


def assignment(points=POINTS, name="cnn_step_by_step", task_cells=()):
    """A gradebook Assignment as totals and the exports read it: notebooks with grade and task cells."""
    grade_cells = [cell(grade_id, value) for grade_id, value in points.items()]
    notebook = SimpleNamespace(grade_cells=grade_cells, task_cells=list(task_cells))
    return SimpleNamespace(name=name, notebooks=[notebook], duedate=None, max_score=sum(points.values()))


def submission(cells, penalty=0.0):
    """A gradebook SubmittedAssignment: its grades (cell name, score) and late penalty."""
    grades = [SimpleNamespace(cell=SimpleNamespace(name=k), score=v) for k, v in cells.items()]
    return SimpleNamespace(
        notebooks=[SimpleNamespace(grades=grades)], late_submission_penalty=penalty, timestamp="2030-01-02"
    )


FULL = dict(POINTS)
PARTIAL = {"test_zero_pad": 10, "test_conv_forward": 17.77, "test_pool_forward": 20, "test_create_mask_from_window": 5}


# ---------------------------------------------------------------- sums and maxima


def test_part_sums_split_core_optional_and_other_cells():
    sums = totals.part_sums({**PARTIAL, "test_conv_backward": None, "essay": 3.0})
    assert sums == {"core": pytest.approx(47.77), "optional": 5.0, None: 3.0}


def test_maxima_come_from_each_cell_of_the_gradebook():
    maxima = totals.cell_maxima(assignment(task_cells=[cell("task_1", 4)]))
    assert maxima["test_conv_forward"] == 40 and maxima["task_1"] == 4
    assert totals.part_maxima(maxima) == {"core": 100.0, "optional": 50.0, None: 4.0}
    # Change the points and the maxima follow: nothing is hard-coded.
    assert totals.part_maxima(totals.cell_maxima(assignment({**POINTS, "test_zero_pad": 30}))) == {
        "core": 120.0,
        "optional": 50.0,
        None: 0.0,
    }


def test_every_core_and_optional_function_counts_in_its_part():
    scored = totals.totals({f"test_{name}": 1.0 for name in CORE + OPTIONAL})
    assert (scored.core, scored.optional) == (len(CORE), len(OPTIONAL))


# ---------------------------------------------------------------- the late penalty rule


def test_no_penalty_leaves_every_score_raw():
    scored = totals.totals(PARTIAL)
    assert scored.total == pytest.approx(52.77)
    assert (scored.core, scored.optional) == (pytest.approx(47.77), pytest.approx(5.0))


def test_the_penalty_comes_off_the_total_and_each_part_keeps_its_share():
    scored = totals.totals(FULL, penalty=15)
    assert scored.raw_total == 150 and scored.total == 135
    assert (scored.core, scored.optional) == (pytest.approx(90), pytest.approx(45))
    assert scored.core + scored.optional == pytest.approx(scored.total)


def test_the_total_never_goes_below_zero_and_nothing_earned_stays_zero():
    late = totals.totals(PARTIAL, penalty=500)
    assert (late.total, late.core, late.optional) == (0.0, 0.0, 0.0)
    nothing = totals.totals({}, penalty=5)
    assert (nothing.total, nothing.core, nothing.optional) == (0.0, 0.0, 0.0)


def test_cells_in_neither_part_carry_their_share_too():
    scored = totals.totals({**FULL, "essay": 50}, penalty=20)  # raw 200, total 180: 90% each
    assert scored.total == 180
    assert (scored.core, scored.optional, scored.net(None)) == (pytest.approx(90), pytest.approx(45), pytest.approx(45))


def test_submission_totals_read_the_gradebook_penalty():
    scored = totals.submission_totals(submission(FULL, penalty=15))
    assert (scored.penalty, scored.total, scored.core) == (15.0, 135.0, pytest.approx(90))
    assert totals.submission_totals(submission(FULL, penalty=None)).total == 150


# ---------------------------------------------------------------- grades.csv rows


class FakeGradebook:
    def __init__(self, submissions):
        self.submissions = submissions

    def find_submission(self, assignment_name, student_id):
        if student_id not in self.submissions:
            raise MissingEntry()
        return self.submissions[student_id]


def student(student_id):
    return SimpleNamespace(id=student_id, last_name="L", first_name="F", email=f"{student_id}@x")


def export_row(gradebook, student_id, points=POINTS):
    found = assignment(points)
    row = export.PartsCsvExport().row(
        gradebook, found, student(student_id), totals.part_maxima(totals.cell_maxima(found))
    )
    return dict(zip(export.COLUMNS, row))


def test_grades_csv_parts_follow_the_penalty_rule_and_add_up_to_the_score():
    row = export_row(FakeGradebook({"ada": submission(FULL, 15)}), "ada")
    assert (row["core_score"], row["core_max"], row["optional_score"], row["optional_max"]) == (90, 100, 45, 50)
    assert (row["raw_score"], row["late_submission_penalty"], row["score"], row["max_score"]) == (150, 15, 135, 150)
    assert row["core_score"] + row["optional_score"] == row["score"]
    assert row["student_id"] == "ada" and row["timestamp"] == "2030-01-02"


def test_grades_csv_without_a_penalty_has_the_raw_part_scores():
    row = export_row(FakeGradebook({"bob": submission(PARTIAL)}), "bob")
    assert (row["core_score"], row["optional_score"], row["score"]) == (47.77, 5, 52.77)


def test_grades_csv_for_a_student_who_did_not_submit():
    row = export_row(FakeGradebook({}), "zoe")
    assert (row["core_score"], row["core_max"], row["score"], row["max_score"]) == (0.0, None, 0.0, 150)


# ---------------------------------------------------------------- LMS cells and columns


def test_lms_cells_use_the_same_rule_as_grades_csv():
    plugin = lms.MoodleExport()
    scored = totals.submission_totals(submission(FULL, 15))
    columns = lms.assignment_columns(assignment(), "separate")
    assert [(c.label, c.max_score) for c in columns] == [
        ("cnn_step_by_step core", 100),
        ("cnn_step_by_step optional", 50),
    ]
    assert [plugin.cell(scored, column) for column in columns] == ["90", "45"]
    [whole] = lms.assignment_columns(assignment(), "total")
    assert (whole.max_score, plugin.cell(scored, whole)) == (150, "135")
    row = export_row(FakeGradebook({"ada": submission(FULL, 15)}), "ada")
    assert [float(plugin.cell(scored, c)) for c in columns] == [row["core_score"], row["optional_score"]]


def test_lms_missing_submission_is_zero_or_blank():
    [whole] = lms.assignment_columns(assignment(), "total")
    assert lms.MoodleExport().cell(None, whole) == "0"
    assert lms.MoodleExport(missing="blank").cell(None, whole) == ""


def test_lms_refuses_separate_columns_that_would_drop_points():
    with pytest.raises(lms.ExportError, match="4 points in cells that are neither core nor optional"):
        lms.assignment_columns(assignment(task_cells=[cell("task_1", 4)]), "separate")
    quiz = assignment({"q1": 10}, name="quiz")
    assert [(c.label, c.max_score) for c in lms.assignment_columns(quiz, "separate")] == [("quiz", 10)]


@pytest.mark.parametrize("value, text", [(52.77, "52.77"), (135.0, "135"), (0.1 + 0.2, "0.3"), (-0.001, "0")])
def test_lms_numbers(value, text):
    assert lms.number(value) == text

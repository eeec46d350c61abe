"""The pages a student gets from the grading service: every value they control escaped, the status on top."""

from cnnkit.hub.feedback import add_header, not_graded_page, status_header
from cnnkit.hub.status import StudentSummary
from cnnkit.policy import rules


def summary(**changes):
    fields = dict(
        student="alice",
        counts="best",
        graded=1,
        attempts_left=2,
        next_allowed=None,
        official=rules.Attempt(1, 120.0),
        max_score=150.0,
        deadline=None,
    )
    return StudentSummary(**{**fields, **changes})


def test_pages_for_students_escape_what_they_show():
    page = not_graded_page("cnn_step_by_step", "no notebook named <script>alert(1)</script>", summary())
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Official score (best graded attempt counts): 120 of 150 (attempt 1)" in page
    assert "attempts left: 2" in page
    header = status_header(summary(attempts_left=None), "This submission (attempt 1): 120 of 150")
    feedback = add_header("<html><body class='x'><p>nbgrader</p></body></html>", header)
    assert feedback.index("attempts left: no limit") < feedback.index("nbgrader")
    assert add_header(feedback, header).count('id="cnnkit-status"') == 1  # replaced, not stacked

"""The course's late penalty inside nbgrader: ``c.AssignLatePenalties.plugin_class = "cnnkit.policy.late.PolicyLatePenalty"``.

nbgrader's AssignLatePenalties step (in every autograde: stock `nbgrader autograde`, the kit's
parallel `make autograde`, the grading service) asks its plugin for a penalty when the gradebook
says the submission is late (``SubmittedAssignment.total_seconds_late``: timestamp minus duedate
plus extension). This plugin answers with the SubmitPolicy's rule (cnnkit.policy.rules.late_penalty),
so every way of grading takes off the same points.

Before nbgrader reads the lateness, the plugin writes the policy's deadline, and the student's
extension when the extensions CSV is there, into the gradebook it grades against
(cnnkit.policy.rules.sync_gradebook). A kit grading process works in a scratch copy of the course
without the CSV: its gradebook snapshot carries the extensions the service (or the coordinator)
wrote into the real gradebook, and the plugin leaves them as they are.
"""

from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin

from cnnkit.policy import rules


class PolicyLatePenalty(LateSubmissionPlugin):
    """nbgrader's late-submission plugin, with the penalty of the course's SubmitPolicy."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.policy = rules.SubmitPolicy(parent=self)
        step = self.parent  # the AssignLatePenalties preprocessor, with this notebook's ids
        if step is not None and getattr(step, "db_url", None):
            self.sync(step.db_url, step.assignment_id, step.student_id)

    def sync(self, db_url, assignment, student):
        """Put the policy's deadline and this student's extension into the gradebook nbgrader reads next."""
        from nbgrader.api import Gradebook

        csv_path = self.policy.extensions_csv.strip()
        # Without the CSV here (a grading process's scratch course), the gradebook's extensions stay.
        # A CSV that is here but wrong raises PolicyError: grading stops rather than guess.
        extensions = rules.course_extensions(self.policy, ".") if csv_path and Path(csv_path).is_file() else None
        with Gradebook(db_url) as gradebook:
            if extensions is None:
                self.sync_deadline_only(gradebook, assignment)
            else:
                rules.sync_gradebook(gradebook, assignment, self.policy, extensions, students={student})

    def sync_deadline_only(self, gradebook, assignment):
        deadline = self.policy.deadline_time()
        if deadline is not None:
            gradebook.find_assignment(assignment).duedate = deadline
            gradebook.db.commit()

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        penalty = rules.late_penalty(self.policy, score, total_seconds_late)
        self.log.info(
            "Late penalty for %s: %s s late, %g points (SubmitPolicy: %g per started day, cap %g, grace %g min)",
            student_id,
            total_seconds_late,
            penalty,
            self.policy.late_penalty_per_day,
            self.policy.late_penalty_cap,
            self.policy.grace_minutes,
        )
        return penalty

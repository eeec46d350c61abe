"""The one place where scores are added up: sums per part, maxima per part, and the late penalty.

Every output that shows a total (the score table, the run summary, grades.csv, the LMS files,
the instructor report) gets it from here, so they cannot disagree.

The late-penalty rule (docs/lms.md, "Late penalty"):

- the total is nbgrader's: ``max(0, raw - penalty)``, where raw is the sum of every graded cell's
  score and penalty is the submission's ``late_submission_penalty`` (nbgrader's own CSV does the same);
- each part (core, optional, and cells in neither) keeps the same share of its raw score:
  ``part * total / raw``. So the parts always add up to the total, and a part nobody earned
  points in stays 0.

Maxima are the gradebook's: the sum of ``max_score`` over the assignment's grade and task cells,
never a number written in the code.
"""

from dataclasses import dataclass, field

from cnnkit.spec.parts import part_of

PARTS = ("core", "optional")  # the parts shown apart; cells in neither are part None


def part_sums(values):
    """{'core': sum, 'optional': sum, None: sum of other cells} of a {grade_id: value} mapping (None counts 0)."""
    sums = {"core": 0.0, "optional": 0.0, None: 0.0}
    for grade_id, value in values.items():
        sums[part_of(grade_id)] += float(value or 0.0)
    return sums


@dataclass(frozen=True)
class Totals:
    """One submission's scores per part, before and after its late penalty."""

    raw: dict = field(default_factory=lambda: {"core": 0.0, "optional": 0.0, None: 0.0})  # part -> raw sum
    penalty: float = 0.0

    @property
    def raw_total(self):
        return sum(self.raw.values())

    @property
    def total(self):
        """The score after the penalty, never below 0 (as nbgrader's CSV export)."""
        return max(0.0, self.raw_total - self.penalty)

    def net(self, part):
        """A part's score after its share of the penalty: raw part x total / raw total."""
        raw_total = self.raw_total
        return self.raw[part] * self.total / raw_total if raw_total else 0.0

    @property
    def core(self):
        return self.net("core")

    @property
    def optional(self):
        return self.net("optional")


def totals(cell_scores, penalty=0.0):
    """Totals of {grade_id: score} with a late penalty (points taken off the whole submission)."""
    return Totals(part_sums(cell_scores), float(penalty or 0.0))


def submission_cells(submission):
    """{grade_id: score} of a gradebook SubmittedAssignment (every graded and task cell)."""
    return {grade.cell.name: grade.score for notebook in submission.notebooks for grade in notebook.grades}


def submission_totals(submission):
    """Totals of a gradebook SubmittedAssignment, with its late penalty."""
    return totals(submission_cells(submission), submission.late_submission_penalty)


def cell_maxima(assignment):
    """{grade_id: max_score} of every grade and task cell of a gradebook Assignment."""
    return {
        cell.name: float(cell.max_score or 0.0)
        for notebook in assignment.notebooks
        for cell in [*notebook.grade_cells, *notebook.task_cells]
    }


def part_maxima(maxima):
    """{'core': max, 'optional': max, None: max of other cells} from {grade_id: max_score}."""
    return part_sums(maxima)

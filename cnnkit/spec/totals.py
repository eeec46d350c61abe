"""The one place where scores are added up: sums per part, maxima per part, and the late penalty.

Every output that shows a total (the feedback's header, the score table, the run summary, grades.csv,
the LMS files, the instructor report, the grading service's record) gets it from here, so they cannot
disagree. It is part of the specification (the scoring rule), below both the grading steps and the results.

The late-penalty rule (docs/lms.md, "Late penalty"):

- the total is nbgrader's: ``max(0, raw - penalty)``, where raw is the sum of every graded cell's
  score and penalty is the submission's ``late_submission_penalty`` (nbgrader's own CSV does the same);
- each part (core, optional, and cells in neither) keeps the same share of its raw score:
  ``part * total / raw``. So the parts always add up to the total, and a part nobody earned
  points in stays 0.

Maxima are the gradebook's: the sum of ``max_score`` over the assignment's grade and task cells,
never a number written in the code.

The Part B policy (c.PartBPolicy.mode in nbgrader_config.py, cnnkit.spec.part_b) decides what the
total counts. The cells' scores never change; only what is added up does:

- "required" (the default): total = core + optional (+ other cells), out of every cell's points:
  nbgrader's own total;
- "extra_credit": the same total, but the maximum is the core's (+ other cells'): Part B is a bonus;
- "not_graded": total = core (+ other cells), out of the core's maximum; the optional part's score is
  still reported (``optional``), as earned, but it is in no total and takes no share of a penalty.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from cnnkit.spec import part_b
from cnnkit.spec.parts import part_of

PARTS = ("core", "optional")  # the parts shown apart; cells in neither are part None
PartSums = dict[str | None, float]  # part ("core", "optional", None for other cells) -> points


def part_sums(values: Mapping[str, float | None]) -> PartSums:
    """{'core': sum, 'optional': sum, None: sum of other cells} of a {grade_id: value} mapping (None counts 0)."""
    sums = {"core": 0.0, "optional": 0.0, None: 0.0}
    for grade_id, value in values.items():
        sums[part_of(grade_id)] += float(value or 0.0)
    return sums


@dataclass(frozen=True)
class Totals:
    """One submission's scores per part, before and after its late penalty."""

    raw: PartSums = field(default_factory=lambda: {"core": 0.0, "optional": 0.0, None: 0.0})  # part -> raw sum
    penalty: float = 0.0
    mode: str = field(default_factory=part_b.configured_mode)  # the Part B policy

    def counted(self, part: str | None) -> bool:
        """True when the part's score is added into the total under the policy."""
        return part != "optional" or part_b.counts_in_total(self.mode)

    @property
    def raw_total(self) -> float:
        """The sum of the counted parts' scores, before the penalty."""
        return sum(value for part, value in self.raw.items() if self.counted(part))

    @property
    def total(self) -> float:
        """The score after the penalty, never below 0 (as nbgrader's CSV export)."""
        return max(0.0, self.raw_total - self.penalty)

    def net(self, part: str | None) -> float:
        """A part's score after its share of the penalty: raw part x total / raw total (as earned if not counted)."""
        if not self.counted(part):
            return self.raw[part]
        raw_total = self.raw_total
        return self.raw[part] * self.total / raw_total if raw_total else 0.0

    @property
    def core(self) -> float:
        return self.net("core")

    @property
    def optional(self) -> float:
        return self.net("optional")


def totals(cell_scores: Mapping[str, float | None], penalty: float | None = 0.0, mode: str | None = None) -> Totals:
    """Totals of {grade_id: score} with a late penalty (points taken off the whole submission).

    mode: the Part B policy (default: the course's setting).
    """
    return Totals(part_sums(cell_scores), float(penalty or 0.0), mode or part_b.configured_mode())


def state_totals(state: dict, mode: str | None = None) -> Totals:
    """Totals of what autograde wrote for one submission (cnnkit.scale.gradebook_writer's state)."""
    cells, penalty = {}, 0.0
    for notebook in state["notebooks"].values():
        cells.update({cell: auto for cell, (auto, _manual) in notebook["grades"].items()})
        penalty += float(notebook["late_submission_penalty"] or 0.0)
    return totals(cells, penalty, mode)


def submission_cells(submission) -> dict[str, float | None]:
    """{grade_id: score} of a gradebook SubmittedAssignment (every graded and task cell)."""
    return {grade.cell.name: grade.score for notebook in submission.notebooks for grade in notebook.grades}


def submission_totals(submission, mode: str | None = None) -> Totals:
    """Totals of a gradebook SubmittedAssignment, with its late penalty (mode: the Part B policy)."""
    return totals(submission_cells(submission), submission.late_submission_penalty, mode)


def cell_maxima(assignment) -> dict[str, float]:
    """{grade_id: max_score} of every grade and task cell of a gradebook Assignment."""
    return {
        cell.name: float(cell.max_score or 0.0)
        for notebook in assignment.notebooks
        for cell in [*notebook.grade_cells, *notebook.task_cells]
    }


def part_maxima(maxima: Mapping[str, float]) -> PartSums:
    """{'core': max, 'optional': max, None: max of other cells} from {grade_id: max_score}."""
    return part_sums(maxima)


def graded_maximum(maxima: PartSums, mode: str | None = None) -> float:
    """The maximum of the total under the Part B policy, from part_maxima(): Part B's points are in it only
    when Part B is required."""
    mode = mode or part_b.configured_mode()
    return sum(value for part, value in maxima.items() if part != "optional" or part_b.counts_in_maximum(mode))


def counted_parts(mode: str | None = None) -> tuple[str, ...]:
    """The parts whose scores count in the grade under the Part B policy ('core', and 'optional' unless not graded)."""
    mode = mode or part_b.configured_mode()
    return tuple(part for part in PARTS if part != "optional" or part_b.counts_in_total(mode))

"""What the grading service shows graders: every student of the course, with each attempt.

``class_view`` is every student of the course (the gradebook's roster and the state's students), with
each attempt, the official score, the late penalty and the score before it; ``class_page`` and
``class_csv`` render it for graders (CSV cells neutralised by cnnkit.results.csv_cells; HTML escaped);
``instructor_report`` prints the service's table in the instructor's terminal.
"""

import io
from dataclasses import dataclass, field

from cnnkit.hub.feedback import PAGE, esc, points
from cnnkit.hub.status import before_penalty, feedback_link, official_row, status_words, student_summary, table
from cnnkit.ingest.exchange import printable
from cnnkit.policy import rules
from cnnkit.results import csv_cells


@dataclass(frozen=True)
class Person:
    """A student of the course: their id and, from the gradebook's roster, their name."""

    id: str
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True)
class ClassView:
    """Every student with their summary (rows with feedback_url), in id order; what the service knows of each
    attempt that it keeps for the instructor (the last line of a service error, by row name); and the entries of
    the exchange that belong to no student of the assignment (ignored)."""

    assignment: str
    policy: rules.SubmitPolicy
    students: list  # [(Person, StudentSummary)]
    errors: dict = field(default_factory=dict)
    others: list = field(default_factory=list)


def class_view(state, policy, assignment, roster, deadline_of, prefix=None, at=None):
    """The ClassView of the course: roster, a list of Person (the gradebook's students); deadline_of(student)
    their deadline with any extension."""
    people = {person.id: person for person in roster}
    every_row = state.rows()
    mine = [row for row in every_row if row["student"] and row["assignment"] == assignment]
    students = sorted(set(people) | {row["student"] for row in mine})
    summaries = [
        (
            people.get(student, Person(student)),
            student_summary(state, policy, student, assignment, deadline_of(student), at, prefix),
        )
        for student in students
    ]
    errors = {row["name"]: row["error"].strip().splitlines()[-1] for row in mine if row["error"].strip()}
    names = {row["name"] for row in mine}
    others = [row for row in every_row if row["name"] not in names]
    return ClassView(assignment, policy, summaries, errors, others)


def policy_lines(policy):
    """The submission policy in words, for the graders' page."""
    attempts = policy.max_graded_attempts or "no limit"
    lines = [f"Graded attempts per student: {attempts}; the {policy.counts} graded attempt is the official score."]
    if policy.min_minutes_between_attempts:
        lines.append(f"Least time between graded attempts: {policy.min_minutes_between_attempts:g} minutes.")
    deadline = policy.deadline_time()
    lines.append(f"Deadline: {rules.format_time(deadline)}." if deadline else "Deadline: none.")
    if policy.late_penalty_per_day:
        lines.append(
            f"Late penalty: {policy.late_penalty_per_day:.0%} of the score per started day late, at most "
            f"{policy.late_penalty_cap:.0%}, after a grace of {policy.grace_minutes:g} minutes."
        )
    else:
        lines.append("Late penalty: none.")
    lines.append(
        "Official scores are after the late penalty, as in grades.csv and the students' own pages; the formgrader "
        "shows nbgrader's score before it (here: 'before penalty')."
    )
    return lines


def official_cells(summary):
    """Official score, before penalty, late penalty, attempt that counts: texts."""
    row = official_row(summary)
    if row is None:
        return ["", "", "", ""]
    of = f" of {points(summary.max_score)}"
    return [
        points(row["score"]) + of,
        points(before_penalty(row)) + of,
        points(row["penalty"] or 0.0),
        str(row["attempt"]),
    ]


def person_name(person):
    return " ".join(part for part in (person.first_name, person.last_name) if part)


def class_page(view, csv_url):
    """The graders' page (HTML): the policy, every student's official score, every submission."""
    policy = "".join(f"<li>{esc(line)}</li>" for line in policy_lines(view.policy))
    scores = [
        [
            esc(person.id),
            esc(person_name(person)),
            *map(esc, official_cells(summary)),
            esc(summary.graded),
            esc("no limit" if summary.attempts_left is None else summary.attempts_left),
            esc(rules.format_time(summary.deadline)),
        ]
        for person, summary in view.students
    ]
    submissions = [
        [
            esc(person.id),
            esc(row["attempt"] or ""),
            f"{esc(row['submitted_at'][:19])} UTC",
            esc(status_words(row)),
            esc(points(row["score"])),
            esc(points(row["penalty"]) if row["penalty"] else ""),
            esc(points(before_penalty(row))),
            esc(attempt_reason(view, row)),
            feedback_link(row),
        ]
        for person, summary in view.students
        for row in summary.rows
    ]
    body = (
        "<style>body{max-width:95em}</style>"
        f"<h1>{esc(view.assignment)}: the class</h1>"
        f'<div class="cnnkit-status" id="cnnkit-policy"><ul>{policy}</ul></div>'
        f'<p><a id="cnnkit-class-csv" href="{esc(csv_url)}" download>Download as CSV</a> '
        f"(one line per submission; a student who has not submitted has one line too)</p>"
        "<h2>Official scores</h2>"
        + table(
            "cnnkit-class",
            (
                "Student",
                "Name",
                "Official score",
                "Before penalty",
                "Late penalty",
                "Attempt that counts",
                "Graded attempts",
                "Attempts left",
                "Deadline",
            ),
            scores,
        )
        + "<h2>Every submission</h2>"
        + table(
            "cnnkit-submissions",
            (
                "Student",
                "Attempt",
                "Submitted",
                "Status",
                "Score",
                "Late penalty",
                "Before penalty",
                "Why not graded",
                "Feedback",
            ),
            submissions,
        )
        + others_section(view)
    )
    return PAGE.format(title=esc(f"{view.assignment}: the class"), body=body)


def attempt_reason(view, row):
    """Why a submission was not graded, with the service's own error for the instructor when there was one."""
    error = view.errors.get(row["name"])
    return f"{row['reason']} [service error: {error}]" if error else row["reason"]


def others_section(view):
    if not view.others:
        return ""
    rows = [
        [
            esc(printable(row["name"])),
            f"{esc(row['submitted_at'][:19])} UTC",
            esc(status_words(row)),
            esc(row["reason"]),
        ]
        for row in view.others
    ]
    return "<h2>Entries of the exchange that belong to no student of this assignment</h2>" + table(
        "cnnkit-others", ("Entry", "Seen", "Status", "Why"), rows
    )


CSV_COLUMNS = (
    "student_id",
    "last_name",
    "first_name",
    "attempt",
    "submitted_at",
    "status",
    "official",
    "score",
    "late_penalty",
    "score_before_penalty",
    "max_score",
    "reason",
    "feedback_url",
)


def class_csv(view):
    """The class view as CSV: one line per submission (official = "yes" on the one that counts), one for a
    student without any; scores as numbers, every text cell neutralised (csv_cells)."""
    out = io.StringIO()
    writer = csv_cells.SafeWriter(out)
    writer.writerow(CSV_COLUMNS)
    for person, summary in view.students:
        official = official_row(summary)
        identity = [person.id, person.last_name, person.first_name]
        if not summary.rows:
            writer.writerow([*identity, None, None, "no submission", None, None, None, None, None, None, None])
        for row in summary.rows:
            writer.writerow(
                [
                    *identity,
                    row["attempt"],
                    row["submitted_at"][:19] + " UTC",
                    status_words(row),
                    "yes" if row is official else "",
                    row["score"],
                    row["penalty"],
                    before_penalty(row),
                    row["max_score"],
                    attempt_reason(view, row),
                    row["feedback_url"],
                ]
            )
    return out.getvalue()


# ---------------------------------------------------------------- the instructor's terminal


def instructor_report(state):
    """Print the instructor's table, one line per submission the service has seen; exit code 0.

    What a student controls (names, reasons) is shown escaped (exchange.printable): nothing written to a
    terminal moves its cursor. A failure of the service itself adds the exception's last line.
    """
    for row in state.rows():
        score = "" if row["score"] is None else f"{row['score']:.2f}/{row['max_score']:g}"
        line = (
            f"{row['student'] or '-':<16} attempt {row['attempt'] or '-':<3} {row['status']:<9} {score:<14} "
            f"{row['submitted_at'][:19]} {row['reason']}"
        )
        if row["error"]:
            line += f" [service error: {row['error'].strip().splitlines()[-1]}]"
        print(printable(line))
    state.close()
    return 0

"""The course's submission policy, set in nbgrader_config.py (``c.SubmitPolicy.*``), and its rules.

Everything that decides something here is a pure function of the policy and of times, so it is
tested without nbgrader (tests/hub/test_policy.py). Times are naive datetimes in UTC, as nbgrader
keeps them in the gradebook (``nbgrader.utils.parse_utc``).

- Attempts: a submission is graded unless the student already has ``max_graded_attempts`` graded
  attempts, or their last graded attempt is less than ``min_minutes_between_attempts`` old. Refused and
  ungradable submissions do not count: they tell the student nothing about hidden tests.
- The official attempt: the last graded one, or the best one (highest score after the late penalty;
  a tie goes to the later attempt).
- The submission time is the server's (cnnkit.ingest.exchange: the latest ctime of the submission folder
  and of everything in it); the timestamp.txt a student's submit wrote is never believed.
- Lateness is nbgrader's own: submission time minus (deadline + the student's extension). The
  deadline is written into the gradebook as the assignment's duedate, and each extension from the
  CSV as the student's extension (``sync_gradebook``), so that nbgrader, `make autograde`, the
  formgrader and grades.csv all see the same ones.
- The penalty: within ``grace_minutes`` of the (extended) deadline, none. Later, each started day
  since the deadline takes ``late_penalty_per_day`` (a fraction of the submission's score) off, up
  to ``late_penalty_cap`` (a fraction too). nbgrader stores it in points, per notebook
  (``late_submission_penalty``); cnnkit.spec.totals takes it from there for every output.
"""

import csv
import datetime
import math
from dataclasses import dataclass
from pathlib import Path

from traitlets import Bool, Enum, Float, Int, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

DAY = datetime.timedelta(days=1)


class PolicyError(ValueError):
    """The policy in nbgrader_config.py, or the extensions CSV, cannot be used as written."""


def zone_of(name, offset):
    """dateutil's tzinfos hook: a zone by name ("UTC", "Europe/Paris"), or by offset ("+0100")."""
    import dateutil.tz

    if name:
        zone = dateutil.tz.gettz(name)
        if zone is None:
            raise ValueError(f"unknown time zone {name!r}")
        return zone
    return dateutil.tz.tzoffset(None, offset)


def parse_time(text):
    """A time such as "2026-12-15 23:59 UTC", "2026-12-16 00:59 +0100" or "... Europe/Paris": naive UTC.

    A time without a zone is UTC, as nbgrader keeps times. (nbgrader's own parse_utc reads "+0100" as
    100 seconds, so it is not used here.)
    """
    import dateutil.parser

    try:
        moment = dateutil.parser.parse(text.strip(), tzinfos=zone_of)
    except (ValueError, OverflowError) as error:
        raise PolicyError(f"cannot read the time {text!r}: {error}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


class SubmitPolicy(LoggingConfigurable):
    """How submissions are graded on submit: attempts, which one counts, deadline, late penalty, extensions."""

    max_graded_attempts = Int(0, help="How many submissions of each student are graded (0: no limit).").tag(config=True)
    min_minutes_between_attempts = Float(
        0.0, help="Least time, in minutes, between two graded submissions of a student (0: none)."
    ).tag(config=True)
    counts = Enum(("last", "best"), "last", help="Which graded attempt is the official score.").tag(config=True)
    deadline = Unicode(
        "", help='The deadline, e.g. "2026-12-15 23:59 UTC" (empty: the gradebook\'s duedate, if any).'
    ).tag(config=True)
    late_penalty_per_day = Float(
        0.0, help="Fraction of the submission's score taken off per started day late (0.1: 10 %)."
    ).tag(config=True)
    late_penalty_cap = Float(1.0, help="Largest fraction of the score the late penalty takes off.").tag(config=True)
    grace_minutes = Float(0.0, help="Minutes after the (extended) deadline that are not late.").tag(config=True)
    extensions_csv = Unicode(
        "",
        help="CSV of extensions (relative to the course root): student_id and either deadline "
        "(a new deadline) or extra_days. Empty: none.",
    ).tag(config=True)
    check_owner = Bool(
        True,
        help="Refuse a submission whose exchange folder is owned by another Unix user than the student it "
        "names (nbgrader submit --student lets anyone name anyone). Off only when one account submits for all.",
    ).tag(config=True)

    @validate("late_penalty_per_day", "late_penalty_cap")
    def _fraction(self, proposal):
        if not 0.0 <= proposal["value"] <= 1.0:
            raise TraitError(f"{proposal['trait'].name} is a fraction of the score, between 0 and 1")
        return proposal["value"]

    @validate("deadline")
    def _readable_deadline(self, proposal):
        if proposal["value"].strip():
            try:
                parse_time(proposal["value"])
            except PolicyError as error:
                raise TraitError(f"c.SubmitPolicy.deadline: {error}") from None
        return proposal["value"]

    def deadline_time(self):
        """The deadline as naive UTC, or None when the policy sets none."""
        return parse_time(self.deadline) if self.deadline.strip() else None


def load_policy(config):
    """The SubmitPolicy of a loaded traitlets Config (nbgrader_config.py)."""
    return SubmitPolicy(config=config)


# ---------------------------------------------------------------- attempts


@dataclass(frozen=True)
class Decision:
    """Whether a submission is graded; if not, why, and when the next one may be."""

    graded: bool
    reason: str = ""
    next_allowed: datetime.datetime | None = None


def next_allowed_time(policy, graded_times):
    """When the student's next submission may be graded: None if now, datetime.max if never."""
    if policy.max_graded_attempts and len(graded_times) >= policy.max_graded_attempts:
        return datetime.datetime.max
    if policy.min_minutes_between_attempts and graded_times:
        return max(graded_times) + datetime.timedelta(minutes=policy.min_minutes_between_attempts)
    return None


def decide(policy, graded_times, submitted_at):
    """Is the submission made at submitted_at graded, given the times of the student's graded attempts?"""
    if policy.max_graded_attempts and len(graded_times) >= policy.max_graded_attempts:
        used = len(graded_times)
        return Decision(False, f"attempt limit reached: {used} of {policy.max_graded_attempts} attempts were graded")
    allowed = next_allowed_time(policy, graded_times)
    if allowed is not None and submitted_at < allowed:
        return Decision(
            False,
            f"too soon: at least {policy.min_minutes_between_attempts:g} minutes must pass between graded "
            f"attempts; the next one is graded from {format_time(allowed)}",
            allowed,
        )
    return Decision(True)


def attempts_left(policy, graded_count):
    """How many more submissions will be graded (None: no limit)."""
    if not policy.max_graded_attempts:
        return None
    return max(0, policy.max_graded_attempts - graded_count)


@dataclass(frozen=True)
class Attempt:
    """One graded attempt: its number (1, 2, ...) and its score after the late penalty."""

    number: int
    score: float


def official_attempt(counts, attempts):
    """The attempt that is the official score ("last" or "best"; a tie goes to the later), or None."""
    if not attempts:
        return None
    if counts == "best":
        return max(attempts, key=lambda attempt: (attempt.score, attempt.number))
    return max(attempts, key=lambda attempt: attempt.number)


# ---------------------------------------------------------------- deadline, extensions, penalty


def late_days(seconds_late, grace_minutes):
    """Started days late, counted from the deadline, or 0 while within the grace period."""
    if seconds_late <= grace_minutes * 60:
        return 0
    return math.ceil(seconds_late / DAY.total_seconds())


def penalty_fraction(policy, seconds_late):
    """The fraction of the score the late penalty takes off."""
    days = late_days(seconds_late, policy.grace_minutes)
    return min(policy.late_penalty_cap, policy.late_penalty_per_day * days)


def late_penalty(policy, score, seconds_late):
    """The penalty in points (as nbgrader stores it) for a submission with that score, seconds late."""
    return round(float(score or 0.0) * penalty_fraction(policy, seconds_late), 6)


def seconds_late(submitted_at, deadline, extension=None):
    """nbgrader's SubmittedAssignment.total_seconds_late: after deadline + extension, never negative."""
    if submitted_at is None or deadline is None:
        return 0.0
    return max(0.0, (submitted_at - (deadline + (extension or datetime.timedelta()))).total_seconds())


def read_extensions(path, deadline):
    """{student_id: extension (timedelta)} from the extensions CSV.

    Each row: student_id and either deadline (the student's own deadline, which needs the policy's
    deadline to be relative to) or extra_days (a number). Raises PolicyError naming the row.
    """
    extensions = {}
    with open(path, newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            student = (row.get("student_id") or "").strip()
            if not student:
                raise PolicyError(f"{path}, line {line}: no student_id")
            extensions[student] = extension_of(row, deadline, f"{path}, line {line}")
    return extensions


def extension_of(row, deadline, where):
    own_deadline, extra_days = (row.get("deadline") or "").strip(), (row.get("extra_days") or "").strip()
    if bool(own_deadline) == bool(extra_days):
        raise PolicyError(f"{where}: give either deadline or extra_days")
    if extra_days:
        try:
            days = float(extra_days)
        except ValueError:
            raise PolicyError(f"{where}: extra_days is not a number: {extra_days!r}") from None
        if days < 0 or not math.isfinite(days):
            raise PolicyError(f"{where}: extra_days must be 0 or more")
        return datetime.timedelta(days=days)
    if deadline is None:
        raise PolicyError(f"{where}: a deadline per student needs c.SubmitPolicy.deadline")
    extension = parse_time(own_deadline) - deadline
    if extension < datetime.timedelta():
        raise PolicyError(f"{where}: the student's deadline is before the course deadline")
    return extension


def course_extensions(policy, root):
    """The extensions of the policy's CSV ({} without one); a relative path is relative to the course root."""
    if not policy.extensions_csv.strip():
        return {}
    path = Path(root) / policy.extensions_csv
    if not path.is_file():
        raise PolicyError(f"c.SubmitPolicy.extensions_csv names {path}, which does not exist")
    return read_extensions(path, policy.deadline_time())


def sync_gradebook(gradebook, assignment, policy, extensions, students=None):
    """Write the policy's deadline (as the assignment's duedate) and extensions into an open nbgrader Gradebook.

    Nothing changes without a policy deadline: the gradebook's duedate, set by other means, stays.
    With an extensions CSV, it is the one list of extensions: a student not in it has none; without
    one, the gradebook's extensions stay as they are.
    students: only their submissions (default: every submission of the assignment).
    """
    deadline = policy.deadline_time()
    if deadline is None:
        return
    with_csv = bool(policy.extensions_csv.strip())
    for student in (students or ()) if with_csv else ():
        # A first submission has no row yet; a grading process starts from a copy of this gradebook
        # (without the CSV), so the row must carry the extension before grading starts.
        gradebook.update_or_create_student(student)
        gradebook.update_or_create_submission(assignment, student)
    found = gradebook.find_assignment(assignment)
    found.duedate = deadline
    for submission in found.submissions if with_csv else ():
        if students is None or submission.student.id in students:
            submission.extension = extensions.get(submission.student.id)
    gradebook.db.commit()


# ---------------------------------------------------------------- times


def format_time(moment):
    """A time for people: '2026-12-15 23:59 UTC' ('never' for datetime.max)."""
    if moment is None:
        return ""
    if moment == datetime.datetime.max:
        return "never"
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def nbgrader_timestamp(moment):
    """A naive UTC time as timestamp.txt holds one (nbgrader's default timestamp_format, in UTC)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")

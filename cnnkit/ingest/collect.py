"""nbgrader's collect, bringing in per student the submission the course's policy makes official.

Stock ``nbgrader collect`` copies, per student, the inbound folder whose name carries the latest
timestamp, with ``shutil.copytree`` (which copies what a link points to), and keeps the student's own
timestamp.txt. Every part of that is the student's choice: the name, the links, the time, and the
content, which they can keep rewriting after they submitted. ``LinkSafeCollect`` (selected in
nbgrader_config.py with ``c.ExchangeFactory.collect``, so also the formgrader's Collect) instead:

- with the grading service's state for the assignment (cnnkit.policy.ledger), brings in each student's
  official attempt as the service graded it (its stored copy, its official time); a submission the
  service refused, failed on or has not seen yet is not collected, and the log says why;
- without it, applies the same policy the service applies (cnnkit.ingest.exchange.verdict: owner, a
  gradable notebook, cnnkit.policy.rules.decide) to the student's inbound submissions in the order they
  appeared, each read once into a private snapshot (no link followed, within limits) with the server's
  time, and brings in the latest one accepted.

Either way the copy in submitted/ has the official time as its timestamp.txt, so `make autograde`
takes off the late penalty the service would. nbgrader's own ``--update`` rule stays: a submission
already in submitted/ is replaced only with ``--update`` (or when it is the same one).
"""

import fnmatch
import hashlib
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect

from cnnkit import course
from cnnkit.ingest import exchange
from cnnkit.policy import rules
from cnnkit.policy.ledger import GRADED_STATUSES, PATH, State, as_time, scored_attempts
from cnnkit.records.packed import unpack

RETRIES = 3  # reads of a submission that is still changing before collect leaves it for the next run


@dataclass(frozen=True)
class Official:
    """What collect brings in for one student: a stored copy (pack() bytes) or a snapshot folder, and its time."""

    name: str  # the submission's inbound folder name
    official_time: object  # naive UTC datetime
    why: str
    stored: bytes | None = None
    snapshot: Path | None = None

    def install(self, destination):
        if destination.exists():
            shutil.rmtree(destination)
        if self.stored is not None:
            unpack(self.stored, destination)
        else:
            exchange.copy_to_submitted(self.snapshot, destination, self.official_time)


class LinkSafeCollect(ExchangeCollect):
    """ExchangeCollect that collects each student's official submission (the module's docstring says which)."""

    def start(self):
        self.scratch = Path(tempfile.mkdtemp(prefix="cnnkit-collect-"))  # 0700: the snapshots are students' work
        try:
            return super().start()
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def init_src(self):
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.inbound_path = exchange.inbound_folder(self.root, self.coursedir.course_id)
        if not self.inbound_path.is_dir():
            self.fail(f"Course not found: {self.inbound_path}")
        if self.before_duedate:
            self.log.warning("--before-duedate is not used: the course's submission policy decides what is collected")
        self.officials = self.choose()

    def choose(self):
        """{student: Official} for the assignment, logging every submission not collected and why."""
        found, strangers = exchange.arrivals(self.inbound_path)
        for stranger in strangers:
            self.log.warning("Not collecting %s: not a submission folder nbgrader submit makes", stranger.shown)
        assignment = self.coursedir.assignment_id
        mine = [arrival for arrival in found if arrival.assignment == assignment and self.wanted(arrival.student)]
        policy = rules.load_policy(self.config)
        state_file = Path(self.coursedir.root) / PATH
        if assignment == course.ASSIGNMENT and state_file.exists():
            state = State(self.coursedir.root, readonly=True)
            try:
                return self.from_service(state, policy, mine)
            finally:
                state.close()
        return self.from_inbound(policy, mine)

    def wanted(self, student):
        pattern = self.coursedir.student_id or "*"
        return fnmatch.fnmatchcase(student, pattern)

    def from_service(self, state, policy, arrivals):
        """Each student's official attempt, as the grading service graded and stored it."""
        rows = defaultdict(list)
        for row in state.rows():
            if row["student"] and row["assignment"] == self.coursedir.assignment_id and self.wanted(row["student"]):
                rows[row["student"]].append(row)
        for arrival in arrivals:
            if state.row(arrival.name) is None:
                self.skip(arrival.name, "the grading service has not seen it yet (is it running?)")
        officials = {}
        for student, theirs in rows.items():
            graded = [row for row in theirs if row["status"] in GRADED_STATUSES]
            best = rules.official_attempt(policy.counts, scored_attempts(graded))
            chosen = best and next(row for row in graded if row["attempt"] == best.number)
            for row in theirs:
                if row is not chosen:
                    self.skip(row["name"], self.service_said(row, best))
            stored = chosen and state.blob(chosen["name"], "submitted")
            if chosen and stored is None:
                self.skip(chosen["name"], "the grading service kept no copy of it (it is still being graded?)")
            elif chosen:
                why = f"attempt {chosen['attempt']}, official ({policy.counts} graded attempt counts) for the grading service"
                officials[student] = Official(chosen["name"], as_time(chosen["submitted_at"]), why, stored=stored)
        return officials

    @staticmethod
    def service_said(row, best):
        if row["status"] in GRADED_STATUSES:
            return f"attempt {row['attempt']} was graded, but attempt {best.number} is the official one"
        if row["status"] == "accepted":
            return "the grading service is grading it"
        return f"{row['status']} by the grading service: {row['reason']}"

    def from_inbound(self, policy, arrivals):
        """Each student's latest submission the policy accepts, judged as the grading service would."""
        by_student = defaultdict(list)
        for arrival in arrivals:
            by_student[arrival.student].append(arrival)
        notebook = f"{self.coursedir.assignment_id}.ipynb"
        officials = {}
        for student, theirs in by_student.items():
            accepted_times = []
            for arrival in theirs:  # in the order their folders appeared, as the service takes them in
                snapshot = self.snapshot(arrival)
                if snapshot is None:
                    continue
                verdict = exchange.verdict(snapshot, student, notebook, policy, accepted_times)
                if verdict.status != "accepted":
                    self.skip(arrival.name, f"{verdict.status} by the course's policy: {verdict.reason}")
                    shutil.rmtree(snapshot.folder)
                    continue
                accepted_times.append(snapshot.official_time)
                if student in officials:
                    self.skip(officials[student].name, "a later submission is the one the policy counts")
                    shutil.rmtree(officials[student].snapshot)
                why = "the latest submission the course's policy accepts"
                officials[student] = Official(arrival.name, snapshot.official_time, why, snapshot=snapshot.folder)
        return officials

    def snapshot(self, arrival):
        """A private snapshot of the submission (None, logged, when it cannot be taken)."""
        target = self.scratch / hashlib.sha256(arrival.name.encode()).hexdigest()[:32]
        for _ in range(RETRIES):
            shutil.rmtree(target, ignore_errors=True)
            try:
                snapshot = exchange.take_snapshot(self.inbound_path, arrival.name, target)
            except exchange.Unreadable as why:
                self.skip(arrival.name, str(why))
                return None
            except exchange.StillChanging:
                continue
            for note in snapshot.left_out:
                self.log.warning("Left out of %s: %s", exchange.printable(arrival.name), exchange.printable(note))
            return snapshot
        self.skip(arrival.name, "it is still being written; collect again in a moment")
        return None

    def skip(self, name, why):
        self.log.warning("Not collecting %s: %s", exchange.printable(name), exchange.printable(why))

    def init_dest(self):
        pass

    def copy_files(self):
        if not self.officials:
            self.log.warning(
                "No submissions of '%s' for course '%s' to collect",
                self.coursedir.assignment_id,
                self.coursedir.course_id,
            )
        for student, official in sorted(self.officials.items()):
            self.collect_one(student, official)

    def collect_one(self, student, official):
        """nbgrader's rule: a new submission is collected; one already there is replaced only with --update."""
        destination = Path(
            self.coursedir.format_path(self.coursedir.submitted_directory, student, self.coursedir.assignment_id)
        )
        stamp = destination / "timestamp.txt"
        held = stamp.read_text() if stamp.is_file() and not stamp.is_symlink() else None
        what = f"{exchange.printable(official.name)}, {official.why}, submitted {rules.format_time(official.official_time)}"
        if held == rules.nbgrader_timestamp(official.official_time):
            self.log.info("Already collected for %s: %s", student, what)
        elif destination.is_dir() and not self.update:
            self.log.info("Submission already exists, use --update to update: %s (%s)", student, what)
        else:
            official.install(destination)
            self.log.info("Collected for %s: %s (the server's time)", student, what)

"""The grading service's work on each submission: ``Service``, the poll the command (cnnkit.hub.service) repeats.

For each new submission the service takes a private snapshot and the server's submission time
(cnnkit.ingest.exchange), and the policy decides whether it is graded (cnnkit.policy.rules); a graded one is
copied into submitted/ from the snapshot and submitted to the grading engine (cnnkit.scale.engine, the
one `make autograde` uses), which grades it as soon as a grading process is free and makes its feedback
too; the service takes each outcome back as soon as it is made, records it and places the feedback in
the exchange (cnnkit.hub.feedback). One that is not graded gets a page saying why. Each submission is
handled on its own: whatever goes wrong with one is recorded for it (``one_submission``) and the others
go on. Its ledger (cnnkit.policy.ledger) makes a restart resume where the service stopped, and it keeps
at most two graded attempts of each student (cnnkit.policy.ledger.kept_attempts).
"""

import collections
import contextlib
import datetime
import hashlib
import json
import logging
import os
import shutil
import traceback
from pathlib import Path

from cnnkit import course as kit
from cnnkit.hub import feedback, status
from cnnkit.ingest import exchange
from cnnkit.policy import rules
from cnnkit.policy.ledger import GRADED_STATUSES, State, as_time, kept_attempts, now, scored_attempts
from cnnkit.records import admission
from cnnkit.records.outcomes import GRADED
from cnnkit.records.packed import pack
from cnnkit.scale.engine import Engine, Job
from cnnkit.spec import totals

LOG = Path("logs", "submit-service.log")
GRADING_LOG = Path("logs", "submit-service-autograde.log")  # nbgrader's log of every submission the service graded
SNAPSHOTS = Path("logs", "submit-service-intake")  # snapshots of the submissions accepted, until graded (0700)
CHANGING_TRIES = 5  # looks that found a submission still changing before it is not graded for that
log = logging.getLogger(__name__)  # the service's log: cnnkit.hub.service gives it its handlers


class Service:
    """The grading service of the course at root."""

    def __init__(self, root, workers=None):
        self.root = Path(root).resolve()
        self.assignment = kit.ASSIGNMENT
        self.notebook = f"{self.assignment}.ipynb"
        self.state = State(self.root)
        self.state.lock()
        self.snapshots = private_folder(self.root / SNAPSHOTS)
        self.drop_unused_snapshots()
        self.changing = collections.Counter()  # submission name -> looks that found it changing
        self.workers = workers or len(os.sched_getaffinity(0))
        self.engine = None  # started on first need (or by warm_up)
        self.in_flight = {}  # submission name -> its row, for the submissions the engine is grading
        self.reload()

    def reload(self):
        """Read the config again (the policy may change while the service runs)."""
        config = exchange.course_config(self.root)
        self.policy = rules.load_policy(config)
        self.extensions = rules.course_extensions(self.policy, self.root)
        self.course_id = config.CourseDirectory.course_id
        self.exchange = Path(exchange.exchange_root(config))
        self.inbound = exchange.inbound_folder(self.exchange, self.course_id)
        self.outbound = self.exchange / self.course_id / "feedback"
        if self.engine is not None:
            self.engine.refresh()  # the course's files changed: the next jobs use them

    def warm_up(self):
        """The grading engine: its grading processes up, each with a kernel booted for the next submission."""
        if self.engine is None:
            self.engine = Engine(self.root, self.assignment, self.workers, keep_warm=True, force=True)
        return self.engine

    def close(self):
        if self.engine is not None:
            self.engine.close()
        self.state.close()

    # ------------------------------------------------------------ one poll

    def poll(self, wait=0.0):
        """One round: take in what is new, send what was accepted to the grading engine, take back what it
        finished (waiting up to `wait` seconds for the first), release and tell. Whether there is more to do
        (grading under way, or this round moved something on: a submission that waited may be next).

        Nothing waits for a batch: a submission goes to the engine as soon as it is accepted, and its
        feedback is released as soon as its grading comes back.
        """
        self.reload()
        moved = self.finish_graded()  # what a stopped service left half done
        self.discover()
        moved += self.dispatch() + self.take_back(wait) + self.finish_graded() + self.tell_not_graded()
        return bool(self.in_flight or moved)

    def discover(self):
        """Take in what is new in inbound, in the order it appeared; at most one accepted, ungraded, per student.

        A student's next submission waits until their accepted one is graded (so the policy sees their
        attempts in order, and the service holds one snapshot per student); waiting costs them nothing, the
        official time is the server's. A folder still being written waits alone: it holds up no one, even
        when someone else made it in the student's name.
        """
        known, at = self.state.known(), now()
        found, strangers = exchange.arrivals(self.inbound)
        for stranger in strangers:
            if stranger.key not in known:
                why = f"not a submission folder that nbgrader submit makes: {stranger.shown}"
                self.state.add(stranger.key, "", "", at, "ignored", why)
                log.warning("inbound entry ignored: %s", why)
        waiting = {row["student"] for row in self.state.rows(status="accepted")}
        for arrival in found:
            if arrival.name in known or arrival.student in waiting:
                continue
            if arrival.assignment != self.assignment:
                self.state.add(arrival.name, arrival.student, arrival.assignment, at, "ignored", "not graded here")
                continue
            if not exchange.is_ready(self.inbound, arrival, at):
                continue
            with self.one_submission(arrival.name, arrival.student, "reading it"):
                if self.take_in(arrival, at) == "accepted":
                    waiting.add(arrival.student)

    def take_in(self, arrival, at):
        """Snapshot one submission, decide it and record it; its status (None: still changing, look again later)."""
        incoming = self.snapshots / f".incoming-{digest(arrival.name)}"
        shutil.rmtree(incoming, ignore_errors=True)
        try:
            return self.decide(arrival, at, incoming)
        finally:
            shutil.rmtree(incoming, ignore_errors=True)  # an accepted snapshot was renamed away by then

    def decide(self, arrival, at, incoming):
        try:
            snapshot = exchange.take_snapshot(self.inbound, arrival.name, incoming)
        except exchange.StillChanging as why:
            self.changing[arrival.name] += 1
            if self.changing[arrival.name] < CHANGING_TRIES:
                return None
            return self.record(arrival, at, "failed", f"{why}, {CHANGING_TRIES} times; submit again once it is saved")
        except exchange.Unreadable as why:
            return self.record(arrival, at, "failed", str(why))
        if snapshot.left_out:
            log.warning("%s: left out of %s: %s", arrival.student, arrival.name, "; ".join(snapshot.left_out))
        counted = self.state.graded_attempts(arrival.student, self.assignment)
        times = [as_time(attempt["submitted_at"]) for attempt in counted]
        verdict = exchange.verdict(snapshot, arrival.student, self.notebook, self.policy, times)
        found = {"secret": exchange.secret_of(incoming), "notebooks": json.dumps(exchange.notebooks_in(incoming))}
        if verdict.status != "accepted":
            return self.record(arrival, snapshot.official_time, verdict.status, verdict.reason, **found)
        os.rename(incoming, self.snapshot_of(arrival.name))
        self.state.add(*self.row_of(arrival, snapshot.official_time), "accepted", attempt=len(counted) + 1, **found)
        log.info("%s: accepted as attempt %d (%s)", arrival.student, len(counted) + 1, arrival.name)
        return "accepted"

    def row_of(self, arrival, submitted_at):
        return arrival.name, arrival.student, arrival.assignment, submitted_at

    def record(self, arrival, submitted_at, status_name, reason, **fields):
        """A row for a submission that is not graded (the student is told at the end of the poll); its status."""
        self.state.add(*self.row_of(arrival, submitted_at), status_name, reason, **fields)
        log.warning("%s: NOT GRADED (%s): %s [%s]", arrival.student, status_name, reason, arrival.name)
        return status_name

    @contextlib.contextmanager
    def one_submission(self, name, student, doing):
        """Whatever goes wrong in the block is this submission's: it is not graded, the others go on.

        The student is told the service failed on it (resubmitting costs no attempt); the exception is
        kept in the state for the instructor and logged on one line.
        """
        try:
            yield
        except Exception as error:
            reason = f"the grading service failed while {doing} (the instructor has been told); submit again"
            detail = "".join(traceback.format_exception(error))
            log.error(
                "%s: NOT GRADED (failed) while %s [%s]: %s: %s", student, doing, name, type(error).__name__, error
            )
            try:
                self.forget(name)
                if self.state.row(name) is None:
                    self.state.add(name, student, self.assignment, now(), "failed", reason, error=detail)
                else:
                    self.state.set_status(name, "failed", reason=reason, error=detail, attempt=None)
            except Exception as again:  # the state itself: the next poll tries this submission again
                log.error("%s: could not record the failure [%s]: %s", student, name, again)

    def not_graded(self, row, status_name, reason):
        """Record that an accepted submission is not graded after all, and why (told at the end of the poll)."""
        self.forget(row["name"])
        self.state.set_status(row["name"], status_name, reason=reason, attempt=None)
        log.warning("%s: NOT GRADED (%s): %s [%s]", row["student"], status_name, reason, row["name"])

    def forget(self, name):
        """Drop what the service kept of a submission that is not graded: its snapshot and its blobs."""
        shutil.rmtree(self.snapshot_of(name), ignore_errors=True)
        self.state.drop_blobs(name)

    def snapshot_of(self, name):
        return self.snapshots / digest(name)

    def drop_unused_snapshots(self):
        """Remove the snapshots no accepted row needs (left by a service stopped halfway)."""
        needed = {digest(row["name"]) for row in self.state.rows(status="accepted")}
        for path in self.snapshots.iterdir():
            if path.name not in needed:
                shutil.rmtree(path)

    def tell_not_graded(self):
        """A page for each submission not graded and not yet told, where fetch_feedback finds it."""
        told = {event["name"] for event in self.state.events(event="told")}
        pending = [row for row in self.state.rows(status=("refused", "failed")) if row["name"] not in told]
        for row in pending:
            try:
                detail = self.tell(row)
            except Exception as error:  # told nothing; the row keeps its reason for the status page
                detail = f"no page: {type(error).__name__}: {error}"
                log.error("%s: no not-graded page for %s: %s", row["student"], row["name"], detail)
            with self.state.transaction():
                self.state.event(row["name"], "told", detail)
        return len(pending)

    def tell(self, row):
        """Place the not-graded page for one row, under the secret of its snapshot; what was done."""
        if not row["secret"]:
            log.warning("%s: no page for %s: it has no usable submission_secret.txt", row["student"], row["name"])
            return "no page: no secret"
        page = feedback.not_graded_page(self.assignment, row["reason"], self.summary(row["student"]))
        names = {Path(self.notebook).stem, *json.loads(row["notebooks"] or "[]")}
        written = feedback.place(self.outbound, row["secret"], dict.fromkeys(names, page))
        return f"{len(written)} page(s)"

    # ------------------------------------------------------------ grading

    def waiting_rows(self):
        """The earliest accepted submission of each student that the engine is not grading yet (a student's
        attempts are graded in order: discover accepts one at a time)."""
        rows = {}
        for row in self.state.rows(status="accepted"):
            rows.setdefault(row["student"], row)
        return [row for row in rows.values() if row["name"] not in self.in_flight]

    def dispatch(self):
        """Copy each accepted submission into submitted/ and submit it to the grading engine; how many."""
        rows, copied = self.waiting_rows(), []
        for row in rows:
            with self.one_submission(row["name"], row["student"], "copying it into the course"):
                self.copy_in(row)
                copied.append(row)
        for row in rows:
            if row not in copied:
                self.settle(row["student"])  # no half-copied folder left in submitted/
        if not copied:
            return len(rows)
        self.sync_gradebook([row["student"] for row in copied])  # deadline and extensions, before the snapshot
        engine = self.warm_up()
        for row in copied:
            with self.one_submission(row["name"], row["student"], "sending it to the grader"):
                engine.submit(Job(row["student"], feedback=True, tag=row["name"]))
                self.in_flight[row["name"]] = row
                log.info("%s: grading attempt %d (%s)", row["student"], row["attempt"], row["name"])
        return len(rows)

    def take_back(self, wait):
        """Every grading the engine finished (waiting up to `wait` seconds for the first): stored, recorded,
        its feedback released at once; how many."""
        taken = 0
        done = self.engine.next_finished(timeout=wait) if self.in_flight else None
        while done is not None:
            self.graded(self.in_flight.pop(done.job.tag), done.outcome)
            taken += 1
            done = self.engine.next_finished(timeout=0)
        return taken

    def graded(self, row, outcome):
        """One grading's outcome: kept and recorded, then the feedback out; or not graded, and the official
        attempt back in place."""
        append_log(self.root / GRADING_LOG, outcome)
        try:
            recorded = self.keep(row, outcome, self.max_score())
        except Exception as error:
            self.not_graded(row, "failed", f"the grading service failed on its result ({type(error).__name__})")
            recorded = False
        if recorded:
            with self.one_submission(row["name"], row["student"], "releasing its feedback"):
                self.engine.record(outcome)
                self.release(self.state.row(row["name"]), record_again=False)
        if self.state.row(row["name"])["status"] == "failed":
            self.settle(row["student"])  # their official attempt back in place of the failed one

    def copy_in(self, row):
        """The accepted submission's snapshot into submitted/, with its official time; the student's quarantine
        emptied first, so that it only ever holds what admission set aside from their latest attempt."""
        shutil.rmtree(admission.folder(self.root, row["student"], self.assignment), ignore_errors=True)
        destination = self.root / "submitted" / row["student"] / self.assignment
        exchange.copy_to_submitted(self.snapshot_of(row["name"]), destination, as_time(row["submitted_at"]))
        self.state.event(row["name"], "dispatched")

    def keep(self, row, outcome, max_score):
        """Store a grading's outcome (graded) or say why it is not graded (failed); whether to record it."""
        if outcome["status"] != GRADED or outcome["gradebook"] is None:
            reason = f"the grader could not grade it ({outcome['status']}{': ' if outcome['message'] else ''}"
            self.not_graded(row, "failed", reason + f"{outcome['message']}); the instructor has been told")
            return False
        found = totals.state_totals(outcome["gradebook"])
        score, penalty = round(found.total, 6), round(found.penalty, 6)
        submitted = pack(self.root / "submitted" / row["student"] / self.assignment)  # as graded: admitted
        self.state.save_outcome(
            row["name"], outcome, submitted=submitted, score=score, penalty=penalty, max_score=max_score
        )
        shutil.rmtree(self.snapshot_of(row["name"]), ignore_errors=True)
        log.info(
            "%s: graded attempt %d: %.2f of %g (late penalty %g)",
            row["student"],
            row["attempt"],
            score,
            max_score,
            penalty,
        )
        return True

    def sync_gradebook(self, students):
        from nbgrader.api import Gradebook

        with Gradebook(kit.gradebook_url(self.root), self.course_id) as gradebook:
            rules.sync_gradebook(gradebook, self.assignment, self.policy, self.extensions, set(students))

    def max_score(self):
        from nbgrader.api import Gradebook

        with Gradebook(kit.gradebook_url(self.root), self.course_id) as gradebook:
            maxima = totals.cell_maxima(gradebook.find_assignment(self.assignment))
        return float(totals.graded_maximum(totals.part_maxima(maxima)))  # as the Part B policy counts it

    # ------------------------------------------------------------ feedback and the official attempt

    def finish_graded(self):
        """graded -> released (feedback made and placed) -> done (official attempt in place)."""
        finished = 0
        for row in self.state.rows(status="graded"):
            with self.one_submission(row["name"], row["student"], "releasing its feedback"):
                self.release(row)
        for row in self.state.rows(status="released"):
            if self.settle(row["student"]):
                self.state.set_status(row["name"], "done")
                finished += 1
        return finished

    def release(self, row, record_again=True):
        """Feedback for a graded attempt, placed for the student (record_again: the outcome into the course
        first, as when the service stopped before it had)."""
        student, outcome = row["student"], self.state.blob(row["name"], "outcome")
        if record_again:
            self.warm_up().record(outcome)
        summary = self.summary(student)
        header = feedback.status_header(
            summary, feedback.attempt_line(row["attempt"], row["score"], row["max_score"], row["penalty"])
        )
        pages = feedback.generate(self.root, self.assignment, student, header, outcome)
        # The pages of the assignment's notebooks only: an extra .html a submission carried is no feedback.
        notebook = Path(self.notebook).stem
        feedback.place(
            self.outbound, row["secret"], {page.stem: page.read_text() for page in pages if page.stem == notebook}
        )
        self.state.save_blob(row["name"], "feedback", pack(self.root / "feedback" / student / self.assignment))
        self.state.set_status(row["name"], "released")
        seconds = (now() - as_time(row["submitted_at"])).total_seconds()
        log.info("%s: feedback released for attempt %d, %.1f s after submission", student, row["attempt"], seconds)

    def settle(self, student):
        """settle_students for one student; False when it failed (the course or the gradebook, not the
        submission: the next poll tries again)."""
        try:
            self.settle_students([student])
        except Exception as error:
            log.error("%s: official attempt not put back (%s: %s); trying again", student, type(error).__name__, error)
            return False
        return True

    def settle_students(self, students):
        """Put each student's official attempt into the course if the last one graded is not it, and keep the
        stored copies of the attempts that can still become official only."""
        for student in students:
            rows = [r for r in self.state.rows(student=student) if r["assignment"] == self.assignment]
            graded = [r for r in rows if r["status"] in GRADED_STATUSES]
            official = rules.official_attempt(self.policy.counts, scored_attempts(graded))
            if official is None:
                # Nothing of theirs is graded: submitted/ holds no attempt, not a failed one.
                shutil.rmtree(self.root / "submitted" / student / self.assignment, ignore_errors=True)
                continue
            chosen = next(r for r in graded if r["attempt"] == official.number)
            if not self.course_holds(student, chosen):
                self.warm_up().put_back(
                    self.state.blob(chosen["name"], "outcome"),
                    self.state.blob(chosen["name"], "submitted"),
                    self.state.blob(chosen["name"], "feedback"),
                )
                log.info(
                    "%s: official attempt is %d (%s): put back into the course",
                    student,
                    official.number,
                    self.policy.counts,
                )
            self.state.keep_blobs(student, self.assignment, kept_attempts(graded, chosen))

    def course_holds(self, student, row):
        """Whether submitted/ holds this attempt: its timestamp.txt is the attempt's official time."""
        stamp = self.root / "submitted" / student / self.assignment / "timestamp.txt"
        try:
            held = stamp.read_text() if stamp.is_file() and not stamp.is_symlink() else None
        except OSError:
            return False
        return held == rules.nbgrader_timestamp(as_time(row["submitted_at"]))

    def deadline_of(self, student):
        """The student's deadline, extension included (None without a policy deadline)."""
        deadline = self.policy.deadline_time()
        if deadline is None:
            return None
        return deadline + (self.extensions.get(student) or datetime.timedelta())

    def summary(self, student, state=None):
        state = state or self.state
        return status.student_summary(state, self.policy, student, self.assignment, self.deadline_of(student))


def append_log(path, outcome):
    """nbgrader's log of one grading, appended for the instructor (the student's names in it are escaped)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        handle.write(f"===== {exchange.printable(outcome['student'])}: {outcome['status']} ({outcome['seconds']:.1f} s")
        handle.write(f" on {outcome['host']}) {exchange.printable(outcome['message'])}\n{outcome['log']}\n")


def private_folder(path):
    """path as a folder only this account can enter (the snapshots are students' work)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def digest(name):
    """A file name for a submission's snapshot (the submission's own name is the student's choice)."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]

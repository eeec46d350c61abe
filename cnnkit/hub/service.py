"""Official grading on submit: ``python -m cnnkit.hub.service --course DIR [--poll SECONDS] [--once]``.

Interface (the hub's config relies on it): runs forever, looking into the exchange's inbound folder
every --poll seconds (default 2); ``--once`` grades what is there, releases the feedback and exits.
Run as a managed JupyterHub service (JUPYTERHUB_API_TOKEN, JUPYTERHUB_SERVICE_PREFIX and
JUPYTERHUB_SERVICE_URL set), it also serves each logged-in student their attempts (HubOAuth);
without them it runs without a web page. DIR is the course root (nbgrader_config.py, gradebook.db).

For each new submission (cnnkit.hub.intake): the policy decides whether it is graded
(cnnkit.hub.policy); a graded one is copied into submitted/, graded with the kit's grader
(cnnkit.hub.grading) and gets nbgrader's feedback, released to the exchange (cnnkit.hub.feedback);
one that is not graded gets a page saying why. The state file (cnnkit.hub.state) makes a restart
resume where the service stopped. docs/grading-on-submit.md is the instructor's guide.
"""

import argparse
import contextlib
import datetime
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from cnnkit import course as kit
from cnnkit.hub import feedback, intake, status
from cnnkit.hub import policy as rules
from cnnkit.hub.grading import Grader, outcome_score, restore
from cnnkit.hub.state import GRADED_STATUSES, ServiceBusy, State, as_time, now
from cnnkit.results import totals
from cnnkit.scale.outcome import GRADED
from cnnkit.scale.transport import pack

LOG = Path("logs", "submit-service.log")
log = logging.getLogger("cnnkit.hub.service")


def load_config(root):
    """The course's nbgrader_config.py, loaded as nbgrader loads it (a traitlets Config)."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def exchange_root(config):
    from nbgrader.exchange.default.exchange import Exchange

    return Exchange(config=config).root


class Service:
    """The grading service of the course at root."""

    def __init__(self, root, workers=None):
        self.root = Path(root).resolve()
        self.assignment = kit.ASSIGNMENT
        self.notebook = f"{self.assignment}.ipynb"
        self.state = State(self.root)
        self.state.lock()
        self.grader = Grader(self.root, self.assignment, workers or len(os.sched_getaffinity(0)))
        self.reload()

    def reload(self):
        """Read the config again (the policy may change while the service runs)."""
        config = load_config(self.root)
        self.policy = rules.load_policy(config)
        self.extensions = rules.course_extensions(self.policy, self.root)
        self.course_id = config.CourseDirectory.course_id
        self.exchange = Path(exchange_root(config))
        self.inbound = intake.inbound_folder(self.exchange, self.course_id)
        self.outbound = self.exchange / self.course_id / "feedback"

    def close(self):
        self.grader.close()
        self.state.close()

    # ------------------------------------------------------------ one poll

    def poll(self):
        """One round: note new submissions, decide, grade, release, tell, until none is new; how many it finished."""
        self.reload()
        finished = self.finish_graded()  # what a stopped service left half done
        while True:
            self.discover()  # again after each batch: what arrived while it was graded goes next
            self.triage()
            batch = self.next_batch()
            if batch:
                self.grade(batch)
            # After the batch, so that each page shows the official score with its gradings in it.
            finished += self.finish_graded() + self.tell_not_graded()
            if not batch:
                return finished

    def discover(self):
        known, at = self.state.known(), now()
        for arrival in intake.arrivals(self.inbound):
            if arrival.name in known or not intake.is_ready(arrival, at):
                continue
            if arrival.assignment != self.assignment:
                self.state.add(arrival.name, arrival.student, arrival.assignment, at, "ignored", "not graded here")
                continue
            self.state.add(arrival.name, arrival.student, arrival.assignment, intake.submission_time(arrival))

    def triage(self):
        """Decide every new submission, in the order they were made: graded (accepted), refused or failed."""
        for row in self.state.rows(status="new"):
            arrival = self.arrival(row)
            problem = intake.owner_problem(arrival) if self.policy.check_owner else None
            if problem:
                self.not_graded(row, "refused", problem)
            elif problem := intake.submission_problem(arrival, self.notebook):
                self.not_graded(row, "failed", problem)
            else:
                counted = self.state.graded_attempts(row["student"], self.assignment)
                times = [as_time(attempt["submitted_at"]) for attempt in counted]
                decision = rules.decide(self.policy, times, as_time(row["submitted_at"]))
                if decision.graded:
                    self.state.set_status(row["name"], "accepted", attempt=len(counted) + 1)
                    log.info("%s: accepted as attempt %d (%s)", row["student"], len(counted) + 1, row["name"])
                else:
                    self.not_graded(row, "refused", decision.reason)
        return 0

    def arrival(self, row):
        return intake.Arrival(row["name"], row["student"], row["assignment"], self.inbound / row["name"])

    def not_graded(self, row, status_name, reason):
        """Record that the submission is not graded, and why (the student is told at the end of the poll)."""
        self.state.set_status(row["name"], status_name, reason=reason, attempt=None)
        log.warning("%s: NOT GRADED (%s): %s [%s]", row["student"], status_name, reason, row["name"])

    def tell_not_graded(self):
        """A page for each submission not graded and not yet told, where fetch_feedback finds it."""
        told = {event["name"] for event in self.state.events(event="told")}
        pending = [row for row in self.state.rows(status=("refused", "failed")) if row["name"] not in told]
        for row in pending:
            page = feedback.not_graded_page(self.assignment, row["reason"], self.summary(row["student"]))
            folder = self.inbound / row["name"]
            written = feedback.place_not_graded(self.outbound, folder, [Path(self.notebook).stem], page)
            with self.state.transaction():
                self.state.event(row["name"], "told", f"{len(written)} page(s)")
            if not written:
                log.warning("%s: no page for %s: it has no submission_secret.txt", row["student"], row["name"])
        return len(pending)

    # ------------------------------------------------------------ grading

    def next_batch(self):
        """The earliest accepted submission of each student (a student's attempts are graded in order)."""
        batch = {}
        for row in self.state.rows(status="accepted"):
            batch.setdefault(row["student"], row)
        return list(batch.values())

    def grade(self, rows):
        """Copy each submission into submitted/, grade them all as one batch, store each outcome."""
        by_student = {row["student"]: row for row in rows}
        for row in rows:
            destination = self.root / "submitted" / row["student"] / self.assignment
            intake.copy_to_submitted(self.arrival(row), destination, as_time(row["submitted_at"]))
            self.state.save_blob(row["name"], "submitted", pack(destination))
            self.state.event(row["name"], "dispatched")
        self.sync_gradebook(list(by_student))
        max_score = self.max_score()
        log.info("grading %d submission(s): %s", len(rows), ", ".join(sorted(by_student)))

        def keep(outcome):
            row = by_student[outcome["student"]]
            if outcome["status"] != GRADED or outcome["gradebook"] is None:
                reason = f"the grader could not grade it ({outcome['status']}{': ' if outcome['message'] else ''}"
                self.not_graded(row, "failed", reason + f"{outcome['message']}); the instructor has been told")
                return False
            score, penalty = outcome_score(outcome)
            self.state.save_outcome(row["name"], outcome, score=score, penalty=penalty, max_score=max_score)
            log.info(
                "%s: graded attempt %d: %.2f of %g (late penalty %g)",
                row["student"],
                row["attempt"],
                score,
                max_score,
                penalty,
            )
            return True

        failed = []
        for outcome, recorded in self.grader.grade(list(by_student), keep):
            if recorded:  # its feedback out now, not after the batch
                self.release(self.state.row(by_student[outcome["student"]]["name"]), record_again=False)
            else:
                failed.append(outcome["student"])
        if failed:
            self.settle_students(failed)  # their official attempt back in place of the failed one

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
        """graded -> released (feedback made and released) -> done (official attempt in place)."""
        finished = 0
        for row in self.state.rows(status="graded"):
            self.release(row)
        for row in self.state.rows(status="released"):
            self.settle(row)
            finished += 1
        return finished

    def release(self, row, record_again=True):
        """Feedback for a graded attempt, released to the student (record_again: the outcome into the course
        first, as when the service stopped before it had)."""
        student, outcome = row["student"], self.state.blob(row["name"], "outcome")
        if record_again:
            with self.course() as course:
                course.record(outcome)
        summary = self.summary(student)
        header = feedback.status_header(
            summary, feedback.attempt_line(row["attempt"], row["score"], row["max_score"], row["penalty"])
        )
        feedback.generate(self.root, self.assignment, student, header, outcome)
        feedback.release(self.root, self.assignment, student)
        self.state.save_blob(row["name"], "feedback", pack(self.root / "feedback" / student / self.assignment))
        self.state.set_status(row["name"], "released")
        seconds = (now() - as_time(row["submitted_at"])).total_seconds()
        log.info("%s: feedback released for attempt %d, %.1f s after submission", student, row["attempt"], seconds)

    def settle(self, row):
        self.settle_students([row["student"]])
        self.state.set_status(row["name"], "done")

    def settle_students(self, students):
        """Put each student's official attempt into the course if the last one graded is not it."""
        for student in students:
            rows = [r for r in self.state.rows(student=student) if r["status"] in GRADED_STATUSES]
            official = rules.official_attempt(self.policy.counts, status.scored_attempts(rows))
            if official is None:
                continue
            chosen = next(r for r in rows if r["attempt"] == official.number)
            if self.course_holds(student, chosen):
                continue
            with self.course() as course:
                restore(
                    course,
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

    def course_holds(self, student, row):
        """Whether submitted/ holds this attempt (its secret is the attempt's)."""
        folder = self.root / "submitted" / student / self.assignment
        secret = feedback.submission_secret(self.inbound / row["name"])
        return secret is not None and feedback.submission_secret(folder) == secret

    @contextlib.contextmanager
    def course(self):
        """The course as `nbgrader autograde` reads it, for writing one stored attempt into it."""
        found = self.grader.course()
        try:
            yield found
        finally:
            found.close()

    def deadline_of(self, student):
        """The student's deadline, extension included (None without a policy deadline)."""
        deadline = self.policy.deadline_time()
        if deadline is None:
            return None
        return deadline + (self.extensions.get(student) or datetime.timedelta())

    def summary(self, student, state=None):
        state = state or self.state
        return status.student_summary(state, self.policy, student, self.assignment, self.deadline_of(student))


# ---------------------------------------------------------------- running


def run(service, poll_seconds, once, stop=None):
    """Poll until stopped (or once). A failure in one poll is logged and the next poll tries again."""
    stop = stop or threading.Event()
    if not once:
        service.grader.ready()  # grading processes up and a kernel booted before the first submission
    while not stop.is_set():
        try:
            service.poll()
        except (rules.PolicyError, feedback.FeedbackError) as error:
            log.error("%s", error)
            if once:
                return 1
        except Exception:
            log.exception("poll failed; trying again in %g s", poll_seconds)
            if once:
                return 1
        if once:
            return 0
        stop.wait(poll_seconds)
    return 0


def serve_status_page(service):
    """Serve the status page (HubOAuth) on JUPYTERHUB_SERVICE_URL; blocks (tornado's loop)."""
    from urllib.parse import urlparse

    import tornado.ioloop

    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    readonly = State(service.root, readonly=True)  # its own connection, for the web thread

    def summary_of(student):
        return service.summary(student, readonly)

    app = status.make_app(summary_of, service.assignment, prefix)
    app.listen(url.port, url.hostname)
    log.info("status page at %s (%s)", prefix, os.environ["JUPYTERHUB_SERVICE_URL"])
    tornado.ioloop.IOLoop.current().start()


def setup_logging(root):
    (root / LOG).parent.mkdir(parents=True, exist_ok=True)
    form = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    for handler in (logging.StreamHandler(sys.stdout), logging.FileHandler(root / LOG)):
        handler.setFormatter(form)
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def parser():
    commands = argparse.ArgumentParser(prog="python -m cnnkit.hub.service", description=__doc__.split("\n\n")[0])
    commands.add_argument("--course", type=Path, required=True, help="the course root (nbgrader_config.py)")
    commands.add_argument("--poll", type=float, default=2.0, help="seconds between looks into the exchange")
    commands.add_argument("--once", action="store_true", help="grade what is there, then exit")
    commands.add_argument("--workers", type=int, help="grading processes (default: number of cores)")
    commands.add_argument("--report", action="store_true", help="print every submission's state, then exit")
    return commands


def main(argv=None):
    args = parser().parse_args(argv)
    root = args.course.resolve()
    if not (root / "nbgrader_config.py").is_file():
        print(f"{root} holds no nbgrader_config.py: --course names the course root", file=sys.stderr)
        return 2
    if args.report:
        return status.instructor_report(State(root))
    setup_logging(root)
    # The hub stops its services with SIGTERM. Stopping at once is safe at any moment (the state file is
    # committed step by step, as after a kill -9), and the grading processes end within a second when
    # they see their parent gone (cnnkit.scale.processes.watch_parent). Waiting instead could let a
    # grading cut short be recorded as a failed submission.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        service = Service(root, args.workers)
    except (ServiceBusy, rules.PolicyError) as error:
        log.error("%s", error)
        return 1
    try:
        if args.once or not os.environ.get("JUPYTERHUB_SERVICE_PREFIX"):
            return run(service, args.poll, args.once)
        stop = threading.Event()
        poller = threading.Thread(target=run, args=(service, args.poll, False, stop), daemon=True)
        poller.start()
        try:
            serve_status_page(service)
        finally:
            stop.set()
            poller.join()
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        service.close()


if __name__ == "__main__":
    sys.exit(main())

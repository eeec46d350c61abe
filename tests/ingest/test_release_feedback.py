"""The kit's release_feedback (cnnkit.ingest.safe_release_feedback): each student on their own, never through a link.

In-process, on a course whose feedback/ holds an honest student beside every odd folder a student can cause
(no secret, a secret that is not text or is empty or is a link to another student's, a page that is a link,
folders that are links, a stray page, an invalid id). nbgrader's own release_feedback stopped at the first
of them; the real command line runs in tests/ingest/test_exchange_attacks.py.
"""

import logging
import os

import pytest
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeError
from nbgrader.exchange.exchange_factory import ExchangeFactory
from nbgrader.utils import notebook_hash

from cnnkit import course
from cnnkit.ingest import admit
from cnnkit.ingest.safe_release_feedback import SafeReleaseFeedback

A = "cnn_step_by_step"
COURSE_ID = "cnn-step-by-step"
GOOD = ("alice", "gina")


def secret_of(student):
    return (student.encode().hex() * 64)[:128]


def page_of(student):
    return f"<html><body>feedback for {student}</body></html>"


def write_feedback(root, student, page=True, secret=True):
    folder = root / "feedback" / student / A
    folder.mkdir(parents=True)
    (folder / "timestamp.txt").write_text("2026-11-29 10:00:00.000000 UTC")
    if secret:
        (folder / "submission_secret.txt").write_text(secret_of(student))
    if page:
        (folder / f"{A}.html").write_text(page_of(student))
    return folder


@pytest.fixture
def odd_course(tmp_path):
    """(course root, exchange root): feedback for the honest students and for every odd folder."""
    root, exchange = tmp_path / "course", tmp_path / "exchange"
    (root / "release" / A).mkdir(parents=True)
    (root / "release" / A / f"{A}.ipynb").write_text("{}")
    exchange.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("instructor's file")
    write_feedback(root, "alice")
    gina = write_feedback(root, "gina")
    (gina / "evil.html").write_text("<script>alert(1)</script>")
    (gina / f"{A}.ipynb.html").write_text("<script>alert(2)</script>")
    write_feedback(root, "bob", secret=False)
    (write_feedback(root, "carol", secret=False) / "submission_secret.txt").write_bytes(b"\xff\xfe" * 64)
    (write_feedback(root, "dave", secret=False) / "submission_secret.txt").write_bytes(b"")
    (write_feedback(root, "judy", secret=False) / "submission_secret.txt").symlink_to(
        root / "feedback" / "alice" / A / "submission_secret.txt"
    )
    (write_feedback(root, "erin", page=False) / f"{A}.html").symlink_to(victim)
    (root / "feedback" / "frank").symlink_to(root / "feedback" / "alice")
    (root / "feedback" / "ivan").mkdir()
    (root / "feedback" / "ivan" / A).symlink_to(root / "feedback" / "alice" / A)
    write_feedback(root, "henry", page=False)
    write_feedback(root, "x y")
    return root, exchange


def release(root, exchange, caplog, **coursedir):
    """Run the plugin as nbgrader release_feedback does; (ExchangeError or None, log text)."""
    settings = dict(root=str(root), course_id=COURSE_ID, assignment_id=A, **coursedir)
    plugin = SafeReleaseFeedback(coursedir=CourseDirectory(**settings), authenticator=None, root=str(exchange))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=plugin.log.name):
        try:
            plugin.start()
        except ExchangeError as error:
            return error, caplog.text
    return None, caplog.text


def outbound(exchange):
    return exchange / COURSE_ID / "feedback"


def released(exchange):
    return {path.name: path.read_text() for path in outbound(exchange).iterdir()}


def expected_page(student):
    return f"{notebook_hash(secret=secret_of(student), notebook_id=A)}.html", page_of(student)


def test_each_student_is_released_on_their_own_and_the_odd_ones_are_named(odd_course, caplog):
    root, exchange = odd_course
    error, log = release(root, exchange, caplog)
    assert released(exchange) == dict(expected_page(student) for student in GOOD), log
    skipped = ("bob", "carol", "dave", "judy", "erin", "frank", "ivan", "henry", "x y")
    assert error is not None and f"not released for {len(skipped)} of 11 students" in str(error)
    lines = [line for line in log.splitlines() if "Feedback not released for" in line]
    assert sorted(line.split("Feedback not released for ")[1].split(":")[0] for line in lines) == sorted(skipped)


@pytest.mark.parametrize(
    "student, reason",
    [
        ("bob", "it has no submission_secret.txt (the admission gate sets aside one that is not nbgrader's"),
        ("carol", "not plain text"),
        ("dave", "it is empty"),
        ("judy", "it cannot be read as a file"),  # a link to alice's secret: never followed
        ("erin", f"{A}.html cannot be opened without following a link"),
        ("frank", "is a link or not a folder"),
        ("ivan", "is a link or not a folder"),
        ("henry", f"no feedback page ({A}.html)"),
        ("x y", "is not a valid student id"),
    ],
)
def test_the_reason_says_what_is_wrong_and_what_to_do(odd_course, caplog, student, reason):
    root, exchange = odd_course
    _, log = release(root, exchange, caplog)
    [line] = [line for line in log.splitlines() if f"Feedback not released for {student}:" in line]
    assert reason in line, line
    if student in ("bob", "carol", "dave", "judy"):
        assert "ask the student to submit again (nbgrader submit)" in line


def test_only_the_pages_of_the_assignments_notebooks_are_released(odd_course, caplog):
    root, exchange = odd_course
    _, log = release(root, exchange, caplog)
    assert "gina: evil.html is no feedback page of the assignment" in log
    assert "<script>" not in "".join(released(exchange).values())


def test_a_link_planted_where_a_page_goes_is_replaced_not_written_through(odd_course, caplog, tmp_path):
    root, exchange = odd_course
    victim = tmp_path / "victim.txt"
    outbound(exchange).mkdir(parents=True)
    name, page = expected_page("alice")
    (outbound(exchange) / name).symlink_to(victim)
    release(root, exchange, caplog, student_id="alice")
    assert victim.read_text() == "instructor's file"
    assert not (outbound(exchange) / name).is_symlink() and (outbound(exchange) / name).read_text() == page
    assert oct((outbound(exchange) / name).stat().st_mode & 0o777) == oct(0o644)


def test_one_student_or_all_but_some_as_nbgrader_allows(odd_course, caplog):
    root, exchange = odd_course
    error, _ = release(root, exchange, caplog, student_id="alice")
    assert error is None and released(exchange) == dict([expected_page("alice")])
    excluded = "bob,carol,dave,judy,erin,frank,ivan,henry,x y"
    error, _ = release(root, exchange, caplog, student_id_exclude=excluded)
    assert error is None and released(exchange) == dict(expected_page(student) for student in GOOD)


def test_the_course_releases_feedback_with_the_plugin():
    factory = ExchangeFactory(config=admit.course_config(course.ROOT))
    assert factory.release_feedback is SafeReleaseFeedback


def test_nothing_to_release_is_no_failure(tmp_path, caplog):
    (tmp_path / "exchange").mkdir()
    error, log = release(tmp_path / "course", tmp_path / "exchange", caplog)
    assert error is None and "No feedback to release" in log
    assert os.listdir(outbound(tmp_path / "exchange")) == []

"""Hostile submission folders through the real exchange, beside an honest student (issue 18, classes 2 and 8).

One module-wide run: `nbgrader release_assignment`, each student's `fetch_assignment` and plain `nbgrader
submit`, the kit's `collect`, then `autograde`, `generate_feedback` and the kit's `release_feedback`, and
each student's `fetch_feedback`. The attackers:

- mallory-many submits 150 tiny extra files (the admission gate used to move nbgrader's own
  submission_secret.txt aside with them, and release_feedback then aborted for the class);
- mallory-active submits files a browser runs (evil.html, evil.svg, EVIL.HTML, x.ipynb.html, notes.xhtml,
  app.js, a folder named x.html, an .html in a subfolder): nbgrader copied them into autograded/ and
  feedback/, and the formgrader served them as pages in the instructor's origin;
- mallory-records replaces the submission_secret.txt in her inbound folder by bytes that are not text;
- mallory-deep has a chain of 1000 nested folders in her submitted folder.

Every test asserts that the honest student keeps full marks and gets her feedback, that each attacker is
told why, and that nothing a browser runs lands in autograded/, feedback/ or quarantine/.
"""

import mimetypes
import urllib.error
import urllib.request

import nbformat
import pytest
from nbgrader.api import Gradebook

from cnnkit import course
from cnnkit.records import admission
from cnnkit.spec import notebook, samples
from tests.e2e.browser_support import LabServer
from tests.ingest.trees import deep_chain, depth_of
from tests.support import clone_course, db_url, run_nbgrader

pytestmark = pytest.mark.slow(65)  # scheduled early, the longest first (tests/conftest.py)

COURSE_ID = "cnn-step-by-step"
A = course.ASSIGNMENT
NB = f"{A}.ipynb"
FULL = samples.SAMPLES["sample-complete"][1]
HONEST = "alice"
ATTACKERS = ("mallory-many", "mallory-active", "mallory-records", "mallory-deep")
DEPTH = 1000
# What a browser would run as a page or a script; judged here without the kit's own list.
ACTIVE_TYPES = {
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
}
ACTIVE_FILES = {
    "evil.html": b"<script>window.__pwned = 'html'</script>",
    "evil.svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "EVIL.HTML": b"<script>alert(2)</script>",
    f"{NB}.html": b"<script>alert(3)</script>",
    "notes.xhtml": b'<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(4)</script></html>',
    "app.js": b"alert(5)",
}


def is_active(path):
    guessed = mimetypes.guess_type(path.name.lower())[0]
    return guessed in ACTIVE_TYPES or path.suffix.lower() in {".html", ".htm", ".svg", ".xml", ".xhtml", ".js"}


def student_home(base, student):
    home = base / "homes" / student
    home.mkdir(parents=True, exist_ok=True)
    return home, {"JUPYTER_DATA_DIR": str(home / "data")}


def where(exchange):
    return [f"--Exchange.root={exchange}", f"--course={COURSE_ID}"]


def submit(root, exchange, student, plant=None):
    """fetch_assignment, the master's answers, plant(folder) for extra files, then plain nbgrader submit."""
    home, env = student_home(root.parent, student)
    run_nbgrader(root, "fetch_assignment", A, *where(exchange), cwd=home, env=env)
    folder = home / A
    nbformat.write(notebook.fill_in(samples.release_notebook(), notebook.solutions()), str(folder / NB))
    if plant:
        plant(folder)
    run_nbgrader(root, "submit", A, *where(exchange), f"--student={student}", cwd=home, env=env)


def many_files(folder):
    for number in range(150):
        (folder / f"tiny{number:03d}.txt").write_bytes(b"x")


def active_files(folder):
    for name, data in ACTIVE_FILES.items():
        (folder / name).write_bytes(data)
    (folder / "sub").mkdir()
    (folder / "sub" / "evil.html").write_bytes(b"<script>alert(6)</script>")
    (folder / "x.html").mkdir()
    (folder / "x.html" / "index.html").write_bytes(b"<script>alert(7)</script>")


@pytest.fixture(scope="module")
def exchanged(released_course, tmp_path_factory):
    """The course after the whole exchange flow over the honest student and every attacker.

    Returns (root, exchange, {step: CompletedProcess}, {student: fetched feedback pages}).
    """
    base = tmp_path_factory.mktemp("exchange-attacks")
    root = clone_course(released_course, base / "course")
    with open(root / "nbgrader_config.py", "a") as handle:
        # Every student here is this test's Unix account: collect's owner check would refuse them all.
        handle.write("\nc.SubmitPolicy.check_owner = False\n")
    exchange = base / "exchange"
    exchange.mkdir()
    run_nbgrader(root, "release_assignment", A, *where(exchange))
    submit(root, exchange, HONEST)
    submit(root, exchange, "mallory-many", many_files)
    submit(root, exchange, "mallory-active", active_files)
    submit(root, exchange, "mallory-records")
    submit(root, exchange, "mallory-deep")
    steps = {"collect": run_nbgrader(root, "collect", A, *where(exchange), check=False)}
    # Collect refuses a submission whose secret is not what nbgrader writes (tests/hub); one that reached
    # submitted/ by another way (a copy by hand, an older kit) is the release gate's to catch.
    (root / "submitted" / "mallory-records" / A / "submission_secret.txt").write_bytes(b"\xff\xfe\x00 not text")
    deep_chain(root / "submitted" / "mallory-deep" / A, DEPTH, leaf=("deepest.html", b"<script>alert(8)</script>"))
    for step in ("autograde", "generate_feedback", "release_feedback"):
        steps[step] = run_nbgrader(root, step, A, *where(exchange), check=False)
    fetched = {}
    for student in (HONEST, *ATTACKERS):
        home, env = student_home(base, student)
        run_nbgrader(root, "fetch_feedback", A, *where(exchange), f"--student={student}", cwd=home, env=env)
        fetched[student] = [path.read_text() for path in (home / A / "feedback").glob(f"*/{A}.html")]
    return root, exchange, steps, fetched


def log_of(result):
    return result.stdout + result.stderr


def test_the_honest_student_keeps_full_marks_and_gets_her_feedback(exchanged):
    root, _, steps, fetched = exchanged
    assert steps["collect"].returncode == 0, log_of(steps["collect"])
    assert admission.notes_of(root, HONEST, A) == []
    with Gradebook(db_url(root)) as gradebook:
        scores = {grade.cell_id: grade.score for grade in gradebook.find_submission(A, HONEST).notebooks[0].grades}
    assert sum(scores.values()) == pytest.approx(sum(FULL.values())), log_of(steps["autograde"])[-3000:]
    assert len(fetched[HONEST]) == 1 and "zero_pad" in fetched[HONEST][0], log_of(steps["release_feedback"])


@pytest.mark.parametrize("student", ["mallory-many", "mallory-active", "mallory-deep"])
def test_extra_files_cost_the_attacker_nothing_and_block_nobody(exchanged, student):
    """Their notebooks are honest: graded in full, and their feedback released, whatever lay beside them."""
    root, _, steps, fetched = exchanged
    with Gradebook(db_url(root)) as gradebook:
        assert gradebook.find_submission(A, student).score == pytest.approx(sum(FULL.values()))
    assert len(fetched[student]) == 1, log_of(steps["release_feedback"])[-3000:]


def test_nbgraders_records_are_never_moved_aside_for_being_many(exchanged):
    root, _, _, _ = exchanged
    folder = root / "submitted" / "mallory-many" / A
    assert sorted(path.name for path in folder.iterdir() if path.suffix == ".txt") == [
        "submission_secret.txt",
        "timestamp.txt",
    ]
    notes = admission.notes_of(root, "mallory-many", A)
    assert all("not part of the assignment" in note["why"] for note in notes[:-1])
    assert notes[-1]["name"] == "50 more entries"  # 150 refused: the first 100 listed one by one


def test_nothing_a_browser_runs_lands_in_autograded_feedback_or_quarantine(exchanged):
    root, _, _, _ = exchanged
    for step in ("submitted", "autograded", "feedback", "quarantine"):
        for student in (HONEST, *ATTACKERS):
            folder = root / step / student
            pages = {path for path in folder.rglob("*") if is_active(path)} if folder.is_dir() else set()
            if step == "feedback":  # the kit's own feedback page, made by generate_feedback
                pages -= {folder / A / f"{A}.html"}
            assert not pages, (step, student, sorted(map(str, pages)))


def test_each_file_refused_from_the_active_attacker_says_why(exchanged):
    root, _, _, _ = exchanged
    reasons = {note["name"]: note["why"] for note in admission.notes_of(root, "mallory-active", A)}
    for name in ACTIVE_FILES:
        assert "browser" in reasons[name], (name, reasons)
    assert "folder" in reasons["sub"] and "folder" in reasons["x.html"]


def test_a_secret_that_is_not_text_skips_only_its_owner_with_a_reason(exchanged):
    root, _, steps, fetched = exchanged
    release = log_of(steps["release_feedback"])
    assert steps["release_feedback"].returncode != 0, release  # the instructor must notice
    assert "Feedback not released for mallory-records: it has no submission_secret.txt" in release
    assert "ask the student to submit again" in release
    assert fetched["mallory-records"] == []
    notes = admission.notes_of(root, "mallory-records", A)
    assert [note["name"] for note in notes] == ["submission_secret.txt"] and "not plain text" in notes[0]["why"]


def test_a_deep_folder_chain_is_set_aside_without_recursion(exchanged):
    root, _, steps, _ = exchanged
    assert "RecursionError" not in log_of(steps["autograde"])
    notes = admission.notes_of(root, "mallory-deep", A)
    assert [note["name"] for note in notes] == ["d"] and "folder" in notes[0]["why"]
    assert not (root / "submitted" / "mallory-deep" / A / "d").exists()
    assert depth_of(root / "quarantine") == 2  # quarantine/<student>/<assignment>/, nothing nested in it


# ---------------------------------------------------------------- the formgrader, for real


@pytest.fixture(scope="module")
def formgrader(exchanged, tmp_path_factory):
    root = exchanged[0]
    server = LabServer(root=root, home=tmp_path_factory.mktemp("jupyter-home-exchange-attacks"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


def served_type(server, path):
    """The Content-Type the formgrader serves path with (None: not served)."""
    try:
        with urllib.request.urlopen(server.url(path), timeout=30) as response:
            return response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        assert error.code in (403, 404), error
        return None


def submission_id(root, student):
    with Gradebook(db_url(root)) as gradebook:
        return gradebook.find_submission_notebook(A, A, student).id


@pytest.mark.parametrize(
    "relative",
    [
        "evil.html",
        "evil.svg",
        "EVIL.HTML",
        f"{NB}.html",
        "notes.xhtml",
        "app.js",
        "sub/evil.html",
        "x.html/index.html",
        # the handler joins the path under the course root: '..' reaches every other folder in it
        f"..%2F..%2F..%2Fsubmitted%2Fmallory-active%2F{A}%2Fevil.html",
        f"..%2F..%2F..%2Fquarantine%2Fmallory-active%2F{A}%2Fevil.html",
    ],
)
def test_the_formgrader_serves_no_submitted_file_as_a_page(exchanged, formgrader, relative):
    root = exchanged[0]
    url = f"formgrader/submissions/{submission_id(root, 'mallory-active')}/{relative}"
    assert served_type(formgrader, url) not in ACTIVE_TYPES


def test_the_formgrader_still_serves_the_honest_submission(exchanged, formgrader):
    root = exchanged[0]
    assert served_type(formgrader, f"formgrader/submissions/{submission_id(root, HONEST)}/") == "text/html"


def test_what_quarantine_keeps_is_served_as_no_page_even_by_its_new_name(exchanged, formgrader):
    root = exchanged[0]
    notes = admission.notes_of(root, "mallory-active", A)
    kept = [note["kept_as"] for note in notes if "kept_as" in note]
    assert len(kept) == len(ACTIVE_FILES)
    for name in kept:
        path = f"..%2F..%2F..%2Fquarantine%2Fmallory-active%2F{A}%2F{name}"
        assert served_type(formgrader, f"formgrader/submissions/{submission_id(root, 'mallory-active')}/{path}") == (
            "application/octet-stream"
        )

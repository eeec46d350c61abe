"""Attacks on the trust boundary, in one real autograde batch beside an honest student.

Each attacker submission tries to reach a score, a secret or the kit's own records through the
submission folder or the kernel; real `nbgrader autograde` and `generate_feedback` run on all of them
at once (the kit's pipeline from nbgrader_config.py). Every test asserts that the attacker gained
nothing and that the honest student beside them is graded exactly as when graded alone.
"""

import base64
import copy
import json
import os
import re

import nbformat
import pytest

from cnnkit import course
from cnnkit.records import integrity
from cnnkit.records.result import RESULT_MIME
from cnnkit.records.verdict import VERDICT_MIME
from cnnkit.results import scores
from cnnkit.results.report import read
from cnnkit.spec import notebook, samples
from tests.support import clone_course, db_url, run_nbgrader

pytestmark = pytest.mark.slow(55)  # scheduled early, the longest first (tests/conftest.py)

FULL = samples.SAMPLES["sample-complete"][1]
NB = f"{course.ASSIGNMENT}.ipynb"
SECRET = "SECRET-GRADEBOOK-BYTES-7f3a"


def honest():
    return notebook.fill_in(samples.release_notebook(), notebook.solutions())


def with_cell_first(nb, source):
    nb = copy.deepcopy(nb)
    nb.cells.insert(1, nbformat.v4.new_code_cell(source, id="attacker"))
    return nb


def cell(nb, grade_id):
    return next(c for c in nb.cells if notebook.grade_id(c) == grade_id)


HOOK_LEAK = """
import base64
ip = get_ipython()
_seen = []
def _keep(info):
    _seen.append(info.raw_cell)
    with open("leak.txt", "a") as handle:
        handle.write(info.raw_cell)
def _echo(result):
    print("B64", base64.b64encode("".join(_seen).encode()).decode())
getattr(ip.events, "regi" + "ster")("pre_run_cell", _keep)
getattr(ip.events, "regi" + "ster")("post_run_cell", _echo)
"""

FORGED_PROBE = """
from IPython.display import display as _show
def _forge(info):
    if "_cnnkit_probe" in info.raw_cell:
        _show({"application/vnd.cnnkit.probe+json": {"flags": []}}, raw=True)
_forge.__module__ = "IPython.core.events"
getattr(get_ipython().events, "regi" + "ster")("pre_run_cell", _forge)
"""

FLOOD = f"""
from IPython.display import display as _show
for _ in range(40):
    _show({{"{RESULT_MIME}": {{"function": "zero_pad", "case": 0, "pad": "x" * 1_000_000}}}}, raw=True)
"""

FORGED_VERDICT = f"""
from IPython.display import display as _show
_show({{"{VERDICT_MIME}": {{"function": "zero_pad", "passed": 10**12, "total": 10**12, "score": 10**9,
      "points": 10, "failures": []}}}}, raw=True)
"""

SHADOW_CHECKER = """
print("SHADOW CHECKER LOADED")
def grade(name, function, hidden_cases, helpers=None):
    print("SHADOW SAW", name, hidden_cases)
def check(name, function):
    pass
"""


BORROWED = {
    "zero_pad": "def zero_pad(X, pad):\n    return _trusted_zero_pad(X, pad)",
    "conv_single_step": "def conv_single_step(a_slice_prev, W, b):\n    return _trusted_conv_single_step(a_slice_prev, W, b)",
    "create_mask_from_window": "def create_mask_from_window(x):\n    return _trusted_mask(x)",
    "distribute_value": "def distribute_value(dz, shape):\n    return _trusted_distribute(dz, shape)",
}

RUNTIME_LINKS = """
import os
os.link("cnn_checks.py", "integrity.json")
os.symlink("cnn_checks.py", ".cnnkit-graded")
"""


def moved_checks():
    """Answers that only call the grader's trusted helpers; the check cells defining them moved to the top."""
    nb = notebook.fill_in(samples.release_notebook(), BORROWED)
    moved = [cell(nb, "test_conv_forward"), cell(nb, "test_pool_backward")]
    nb.cells = moved + [c for c in nb.cells if c not in moved]
    return nb


def edited_metadata():
    nb = honest()
    cell(nb, "zero_pad").metadata.nbgrader.update(grade=True, points=1000)
    duplicate = copy.deepcopy(cell(nb, "conv_single_step"))
    duplicate.id = "duplicate"
    nb.cells.insert(nb.cells.index(cell(nb, "conv_single_step")), duplicate)
    cell(nb, "test_pool_forward").cell_type = "markdown"
    cell(nb, "test_pool_forward").pop("outputs", None)
    cell(nb, "test_pool_forward").pop("execution_count", None)
    return nb


def plant(root, student, nb, extra=None):
    folder = samples.write_submission(root, student, nb)
    for name, make in (extra or {}).items():
        make(folder / name)
    return folder


@pytest.fixture(scope="module")
def attacked(released_course, tmp_path_factory):
    """The course after one autograde batch and generate_feedback over the honest student and every attacker."""
    root = clone_course(released_course, tmp_path_factory.mktemp("trust") / "course")
    (root / "victim.json").write_text('{"kept": true}')
    with open(root / "gradebook-secret.txt", "w") as handle:  # stands for any course file
        handle.write(SECRET)
    plant(root, "alice", honest())
    plant(root, "mallory-link-master", honest(), {NB: lambda p: (p.unlink(), p.symlink_to(course.MASTER))})
    plant(root, "mallory-link-file", honest(), {"data.txt": lambda p: p.symlink_to(root / "gradebook-secret.txt")})
    plant(root, "mallory-hard-link-record", honest(), {"integrity.json": lambda p: os.link(root / "victim.json", p)})
    plant(root, "mallory-moved-checks", moved_checks())
    plant(root, "mallory-runtime-links", with_cell_first(honest(), RUNTIME_LINKS))
    plant(root, "mallory-shadow-checker", honest(), {"cnn_checks": lambda p: shadow_package(p)})
    plant(root, "mallory-hook-leak", with_cell_first(honest(), HOOK_LEAK))
    plant(root, "mallory-forged-probe", with_cell_first(honest(), FORGED_PROBE))
    plant(root, "mallory-flood", with_cell_first(honest(), FLOOD))
    plant(root, "mallory-forged-verdict", with_cell_first(honest(), FORGED_VERDICT))
    plant(root, "mallory-edited-metadata", edited_metadata())
    result = run_nbgrader(root, "autograde", course.ASSIGNMENT, check=False)
    feedback = run_nbgrader(root, "generate_feedback", course.ASSIGNMENT, check=False)
    return root, result, feedback


def shadow_package(path):
    path.mkdir()
    (path / "__init__.py").write_text(SHADOW_CHECKER)


def graded_notebook(root, student):
    return nbformat.read(str(root / "autograded" / student / course.ASSIGNMENT / NB), as_version=4)


def all_output_text(nb):
    return json.dumps([c.get("outputs", []) for c in nb.cells])


def test_the_honest_student_is_graded_as_when_alone(attacked):
    root, result, _ = attacked
    assert scores.cell_scores(db_url(root), "alice") == pytest.approx(FULL), result.stderr[-3000:]
    assert integrity.read(root / "autograded" / "alice" / course.ASSIGNMENT) == []
    assert not (root / "quarantine" / "alice").exists()


@pytest.mark.parametrize(
    "student",
    ["mallory-link-file", "mallory-hook-leak", "mallory-forged-probe", "mallory-flood", "mallory-edited-metadata"],
)
def test_an_attack_beside_correct_answers_changes_no_score(attacked, student):
    root, result, _ = attacked
    assert scores.cell_scores(db_url(root), student) == pytest.approx(FULL), result.stderr[-3000:]


def test_a_notebook_linked_to_the_master_is_not_graded_as_the_students(attacked):
    root, _, _ = attacked
    graded = scores.cell_scores(db_url(root), "mallory-link-master")
    assert sum(graded.values()) == 0
    assert not (root / "submitted" / "mallory-link-master" / course.ASSIGNMENT / NB).exists()


def test_a_linked_course_file_never_reaches_the_kernel_or_the_feedback(attacked):
    root, _, _ = attacked
    for step in ("autograded", "feedback"):
        folder = root / step / "mallory-link-file" / course.ASSIGNMENT
        assert not os.path.lexists(folder / "data.txt")
        assert all(SECRET not in p.read_text(errors="ignore") for p in folder.rglob("*") if p.is_file())


def test_a_hard_link_planted_as_a_record_cannot_replace_the_kits_record(attacked):
    root, _, _ = attacked
    assert (root / "victim.json").read_text() == '{"kept": true}'
    record = json.loads(
        (root / "autograded" / "mallory-hard-link-record" / course.ASSIGNMENT / "integrity.json").read_text()
    )
    assert record["student"] == "mallory-hard-link-record" and isinstance(record["flags"], list)


def test_links_the_kernel_makes_to_the_kits_record_names_are_not_written_through(attacked):
    root, _, _ = attacked
    folder = root / "autograded" / "mallory-runtime-links" / course.ASSIGNMENT
    assert (folder / "cnn_checks.py").read_bytes() == course.CHECKS_FILE.read_bytes()
    assert not (folder / "integrity.json").is_symlink() and (folder / "integrity.json").stat().st_nlink == 1
    # The links were made in the kernel's own tmpfs working folder: the grader's copy never held them.
    assert not (folder / ".cnnkit-graded").is_symlink() and (folder / ".cnnkit-graded").read_bytes() == b""
    assert scores.cell_scores(db_url(root), "mallory-runtime-links") == pytest.approx(FULL)


def test_check_cells_moved_to_the_top_earn_nothing(attacked):
    root, _, _ = attacked
    assert sum(scores.cell_scores(db_url(root), "mallory-moved-checks").values()) == 0


def test_a_shadow_checker_package_is_never_imported(attacked):
    root, _, _ = attacked
    assert scores.cell_scores(db_url(root), "mallory-shadow-checker") == pytest.approx(FULL)
    assert "SHADOW" not in all_output_text(graded_notebook(root, "mallory-shadow-checker"))


def test_sources_a_hook_wrote_to_a_file_never_reach_the_feedback(attacked):
    root, _, _ = attacked
    for step in ("autograded", "feedback"):
        folder = root / step / "mallory-hook-leak" / course.ASSIGNMENT
        assert not (folder / "leak.txt").exists()
        # The autograded notebook holds the hidden tests (it is the instructor's); no other file may.
        others = [p for p in folder.rglob("*") if p.is_file() and p.suffix != ".ipynb"]
        assert others and all("BEGIN HIDDEN" not in p.read_text(errors="ignore") for p in others)


def test_hidden_tests_printed_in_an_encoding_never_reach_the_feedback(attacked):
    """A hook stashes every cell's source and prints it base64-encoded after each cell: the line scrubber
    cannot see it, so feedback withholds what the student's cells printed once hidden tests had run."""
    root, _, _ = attacked
    html = (root / "feedback" / "mallory-hook-leak" / course.ASSIGNMENT / f"{course.ASSIGNMENT}.html").read_text()
    decoded = [base64.b64decode(token).decode() for token in re.findall(r"B64 ([A-Za-z0-9+/=]+)", html)]
    assert decoded, "the attacker's first cells, before any hidden test, still show their output"
    assert not any("BEGIN HIDDEN" in text or "hidden" in text.lower() for text in decoded)
    assert "output not shown in feedback" in html


def test_a_forged_probe_report_does_not_clear_the_flags(attacked):
    root, _, _ = attacked
    flags = integrity.read(root / "autograded" / "mallory-forged-probe" / course.ASSIGNMENT)
    assert any(flag.get("where") == "kernel state after the last cell" for flag in flags), flags


def test_output_dressed_as_result_records_is_bounded(attacked):
    root, _, _ = attacked
    path = root / "autograded" / "mallory-flood" / course.ASSIGNMENT / NB
    assert path.stat().st_size < 10 * 2**20


def test_a_verdict_displayed_by_student_code_is_not_the_kits(attacked):
    root, _, _ = attacked
    nb = graded_notebook(root, "mallory-forged-verdict")
    verdicts = read.notebook_verdicts(nb)
    assert verdicts["zero_pad"]["total"] < 1000 and verdicts["zero_pad"]["passed"] == verdicts["zero_pad"]["total"]
    student_cells = [c for c in nb.cells if c.cell_type == "code" and not notebook.is_check(c)]
    assert VERDICT_MIME not in all_output_text(nbformat.v4.new_notebook(cells=student_cells))


def test_edited_metadata_neither_adds_points_nor_fails_the_submission(attacked):
    root, _, _ = attacked
    found = scores.class_scores(db_url(root))
    assert found.students["mallory-edited-metadata"].totals.total == found.students["alice"].totals.total
    assert (found.part_maxima["core"], found.part_maxima["optional"]) == (100, 50)

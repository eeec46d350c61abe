"""cnnkit.grading.integrity, in-process: the static scan and the comparison with the release."""

import copy

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader import utils

from cnnkit import course
from cnnkit.grading import integrity
from cnnkit.grading.integrity import SUSPICIOUS, changed_kernel, changed_locked_cells, scan_code, strip_magics
from cnnkit.spec import notebook

# One line of student code per pattern of the static scan, each caught by that pattern's reason.
CAUGHT = {
    "registers IPython hooks or exception handlers": [
        "get_ipython().events.register('post_run_cell', f)",
        "get_ipython().set_custom_exc((Exception,), handler)",
        "sys.excepthook = quiet",
        "sys.displayhook = show",
        "ip.ast_transformers.append(t)",
        "ip.input_transformers_post.append(t)",
    ],
    "replaces functions of numpy, builtins or the checker": [
        "np.testing.assert_allclose = lambda *a, **k: None",
        "numpy.pad = my_pad",
        "builtins.print = silent",
        "cnn_checks.grade = fake",
        "setattr(np, 'pad', my_pad)",
        "setattr(cnn_checks, 'judge', fake)",
    ],
    "touches sys.modules": ["sys.modules['cnn_checks'] = fake"],
    "starts or signals processes": [
        "import subprocess",
        "os.system('ls')",
        "os.fork()",
        "os.kill(1, 9)",
        "os.execv('/bin/sh', ['sh'])",
        "from multiprocessing import Process",
        "import pty",
        "os.posix_spawn('/bin/sh', [], {})",
    ],
    "inspects the caller's frames or the interpreter's objects": [
        "frame = sys._getframe(1)",
        "inspect.stack()",
        "caller = frame.f_back",
        "frame.f_locals['expected']",
        "gc.get_objects()",
        "gc.get_referrers(x)",
    ],
    "reads the notebook's global namespace": ["g = globals()", "import __main__"],
    "reads or writes files": [
        "open('answers.txt')",
        "os.listdir('.')",
        "os.remove('x')",
        "shutil.copy(a, b)",
        "glob.glob('*')",
        "import pathlib",
        "Path('x').read_text()",
    ],
    "uses the network": ["import socket", "urllib.request.urlopen(u)", "import requests", "import http.client"],
    "runs code built at run time": [
        "exec(code)",
        "eval('1+1')",
        "compile(src, 'x', 'exec')",
        "__import__('os')",
        "import importlib",
        "import ctypes",
    ],
}


def reasons(source):
    return {flag["reason"] for flag in scan_code(source, "cell")}


def test_every_pattern_has_examples():
    assert set(CAUGHT) == {reason for _, reason in SUSPICIOUS}


@pytest.mark.parametrize("reason, line", [(reason, line) for reason, lines in CAUGHT.items() for line in lines])
def test_each_suspicious_construct_is_flagged_with_its_reason(reason, line):
    flags = scan_code(f"x = 1\n{line}\n", "zero_pad")
    assert reason in {flag["reason"] for flag in flags}
    where = next(flag["where"] for flag in flags if flag["reason"] == reason)
    assert where.startswith("zero_pad, line 2: ") and line.strip()[:20] in where


def test_the_reference_solutions_and_plain_numpy_are_not_flagged():
    for grade_id, source in notebook.solutions().items():
        assert scan_code(source, grade_id) == [], grade_id
    honest = (
        "import numpy as np\n"
        "def f(x, pad):\n"
        "    out = np.zeros((2, 2))\n"
        "    if np.array_equal(out, x) and out == x:\n"
        "        return np.pad(x, ((0, 0), (pad, pad)), mode='constant')\n"
        "    opened = x.copy()  # open(...) in a comment is fine\n"
        "    return opened\n"
    )
    assert scan_code(honest, "cell") == []


def test_a_comparison_is_not_an_assignment():
    assert reasons("if np.pad == my_pad:\n    pass") == set()
    assert reasons("np.pad = my_pad") == {"replaces functions of numpy, builtins or the checker"}


def test_magics_and_shell_lines_are_not_scanned_or_parsed():
    source = "%matplotlib inline\n  !pip install requests\nx = 1"
    assert strip_magics(source) == "\n\nx = 1"
    assert scan_code(source, "cell") == []


def test_code_that_does_not_parse_is_flagged():
    flags = scan_code("def f(:\n    pass", "conv_forward")
    assert [flag["reason"] for flag in flags] == ["code that does not parse"]
    assert flags[0]["where"].startswith("conv_forward: ")


def locked_cell(grade_id, source, grade=False):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "locked": True, "grade": grade, "solution": False}
    return cell


def release_like():
    return new_notebook(
        cells=[
            new_markdown_cell("intro"),
            locked_cell("setup", "import numpy as np"),
            locked_cell("check_a", "grade('a')", grade=True),
            locked_cell("check_b", "grade('b')", grade=True),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )


def test_an_untouched_submission_has_no_changes():
    release = release_like()
    assert changed_locked_cells(copy.deepcopy(release), release) == []
    assert changed_kernel(copy.deepcopy(release), release) == []


def test_edited_and_deleted_read_only_cells_are_named():
    release = release_like()
    submitted = copy.deepcopy(release)
    submitted.cells[2].source = "print('all passed')"
    del submitted.cells[3]
    assert changed_locked_cells(submitted, release) == [
        {"reason": "edited a read-only cell (restored for grading)", "where": "check_a"},
        {"reason": "deleted a read-only cell (put back for grading)", "where": "check_b"},
    ]


def test_a_changed_kernel_is_named():
    release = release_like()
    submitted = copy.deepcopy(release)
    submitted.metadata.kernelspec.name = "evil"
    assert changed_kernel(submitted, release) == [
        {"reason": "changed the kernel to 'evil' (graded with 'python3')", "where": "notebook metadata"}
    ]


def test_student_cells_are_the_editable_code_cells_of_the_master():
    master = notebook.read(course.MASTER)
    labels = [label for label, _ in integrity.student_cells(master)]
    locked = {notebook.grade_id(cell) for cell in master.cells if utils.is_locked(cell)}
    assert "test_zero_pad" in locked and "setup_imports" in locked
    assert set(notebook.solutions()) <= set(labels) and not locked & set(labels)


@pytest.mark.parametrize("planted", [[], "flags", 5, {"submission_flags": [{"reason": "forged", "where": "x"}]}])
def test_the_kits_metadata_key_in_a_submission_is_replaced_not_trusted(planted):
    nb = notebook.read(course.RELEASE / f"{course.ASSIGNMENT}.ipynb")
    nb.metadata[integrity.METADATA_KEY] = planted
    resources = {"nbgrader": {"notebook": course.ASSIGNMENT}}
    nb, _ = integrity.RecordSubmissionChanges().preprocess(nb, resources)
    assert nb.metadata[integrity.METADATA_KEY] == {"submission_flags": []}

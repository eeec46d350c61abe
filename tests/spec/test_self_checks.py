"""The students' self-checks (cnn_checks.check) never mislead: run on the shipped checker, beside its data file."""

import importlib.util
import shutil

import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from cnnkit import course
from cnnkit.grading.verify import VerifyResults
from cnnkit.records.verdict import VERDICT_MIME
from cnnkit.spec import notebook, public_data
from cnnkit.spec.table import SPEC

CHECKS = course.load_checks()  # the instructor's checker


def load_checker(folder, mode=None):
    """The release's cnn_checks.py, loaded from folder beside a public_cases.npz made for the Part B mode."""
    shutil.copy(course.RELEASE / "cnn_checks.py", folder / "cnn_checks.py")
    if mode is None:
        shutil.copy(course.RELEASE / "public_cases.npz", folder / "public_cases.npz")
    else:
        public_data.write(folder / "public_cases.npz", mode=mode)
    spec = importlib.util.spec_from_file_location(f"student_checks_{mode}", folder / "cnn_checks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def checker(tmp_path):
    return load_checker(tmp_path)


def defined(answers, edits=None):
    """The solution functions, in one namespace (as in the kernel), with (name, old, new) edits applied."""
    namespace = {"np": np}
    for name, source in answers.items():
        for edited, old, new in edits or ():
            source = notebook.edit(source, old, new) if edited == name else source
        exec(compile(source, f"<{name}>", "exec"), namespace)
    return namespace


STUB = "def {name}(*args, **kwargs):\n    raise NotImplementedError()\n"


def test_a_pad_zero_slip_in_conv_backward_is_caught_by_its_public_check(checker):
    slip = (
        "conv_backward",
        "da_prev_pad[pad:pad + n_H_prev, pad:pad + n_W_prev, :]",
        "da_prev_pad[pad:-pad, pad:-pad, :]",
    )
    functions = defined(notebook.solutions(), [slip])
    with pytest.raises(checker.CheckFailed) as failed:
        checker.check("conv_backward", functions["conv_backward"])
    assert "pad=0" in str(failed.value) and "a[pad:-pad] is a[0:0]" in str(failed.value)


def test_zero_pad_and_conv_backward_have_a_pad_zero_public_case(checker):
    for name in ("zero_pad", "conv_backward"):
        assert any(case["pad"] == 0 for case in checker.PUBLIC_CASES[name]), name


def test_a_passing_check_says_how_many_hidden_cases_remain(checker, capsys):
    functions = defined(notebook.solutions())
    hidden = {name: len(cases) for name, cases, _ in notebook.check_cells().values()}
    for name, count in hidden.items():
        checker.check(name, functions[name])
        said = capsys.readouterr().out
        assert f"{name}: all {len(checker.PUBLIC_CASES[name])} public checks passed" in said
        assert f"public cases only: {count} more hidden cases run when your notebook is graded" in said


def test_a_broken_helper_is_named_instead_of_blaming_the_function_that_calls_it(checker):
    slip = ("zero_pad", "(pad, pad), (pad, pad), (0, 0)", "(pad, pad), (0, 0), (0, 0)")
    functions = defined(notebook.solutions(), [slip])
    with pytest.raises(checker.CheckFailed) as failed:
        checker.check("conv_forward", functions["conv_forward"])
    assert "first fix zero_pad" in str(failed.value)
    assert "Looks like" not in str(failed.value)  # no hint about conv_forward that zero_pad's bug would fake


def test_a_failing_check_renders_as_its_message_alone(checker):
    functions = defined(notebook.solutions(), [("zero_pad", "return X_pad", "return X")])
    with pytest.raises(checker.CheckFailed) as failed:
        checker.check("zero_pad", functions["zero_pad"])
    shown = "\n".join(failed.value._render_traceback_())  # what IPython prints in place of a traceback
    assert shown.startswith("CheckFailed: zero_pad: ") and "Case 1" in shown and "expected" in shown
    assert "cnn_checks.py" not in shown and "Traceback" not in shown
    assert isinstance(failed.value, AssertionError)


# ---------------------------------------------------------------- Part B under each policy


@pytest.mark.parametrize("mode", ["extra_credit", "not_graded"])
def test_a_skipped_optional_part_is_not_attempted_not_failed(tmp_path, capsys, mode):
    checker = load_checker(tmp_path, mode)
    stub = defined({"conv_backward": STUB.format(name="conv_backward")})["conv_backward"]
    checker.check("conv_backward", stub)
    said = capsys.readouterr().out
    assert said.startswith("conv_backward: not attempted (optional).") and "costs you nothing" in said


def test_a_skipped_required_part_fails(tmp_path):
    checker = load_checker(tmp_path, "required")
    stub = defined({"conv_backward": STUB.format(name="conv_backward")})["conv_backward"]
    with pytest.raises(checker.CheckFailed, match="not implemented yet"):
        checker.check("conv_backward", stub)


def test_a_skipped_core_function_fails_whatever_the_policy(tmp_path):
    checker = load_checker(tmp_path, "not_graded")
    stub = defined({"zero_pad": STUB.format(name="zero_pad")})["zero_pad"]
    with pytest.raises(checker.CheckFailed, match="not implemented yet"):
        checker.check("zero_pad", stub)


def test_a_wrong_optional_answer_still_fails_under_an_optional_policy(tmp_path):
    checker = load_checker(tmp_path, "extra_credit")
    functions = defined(notebook.solutions(), [("distribute_value", "average = dz / (rows * cols)", "average = dz")])
    with pytest.raises(checker.CheckFailed, match="copied instead of shared"):
        checker.check("distribute_value", functions["distribute_value"])


# ---------------------------------------------------------------- which function raised (issue 19)


def test_a_helper_that_raised_is_named_not_the_function_that_calls_it(checker):
    functions = defined({**notebook.solutions(), "conv_single_step": STUB.format(name="conv_single_step")})
    with pytest.raises(checker.CheckFailed) as failed:
        checker.check("conv_forward", functions["conv_forward"])
    said = str(failed.value)
    assert "conv_forward calls your conv_single_step, which is not implemented yet" in said
    assert "Finish conv_single_step first" in said and "conv_forward is not implemented yet" not in said


def test_grading_names_a_function_of_the_students_that_raised_inside_another():
    """At grading the helpers are the kit's; a student's own other function that raises is still named.

    The records go through autograde's own step (VerifyResults reads them with result_records, then judges).
    """
    calls_mine = "def pool_backward(dA, cache, mode='max'):\n    return my_helper(dA)\n"
    helper = "def my_helper(dA):\n    raise NotImplementedError()\n"
    function = defined({"helper": helper, "pool_backward": calls_mine})["pool_backward"]
    outputs = []
    for index, case in enumerate(SPEC["pool_backward"].public_cases):
        outcome = CHECKS.encode_outcome(function, *SPEC["pool_backward"].make_inputs(case))
        record = {"function": "pool_backward", "case": index, "outcome": outcome}
        outputs.append(new_output("display_data", data={CHECKS.RESULT_MIME: record}))
    cell = new_code_cell('grade("pool_backward", pool_backward, [])', outputs=outputs)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "test_pool_backward", "points": 15, "solution": False}
    nb, _ = VerifyResults().preprocess(new_notebook(cells=[cell]), {})
    [failure, *_] = nb.cells[0].outputs[0].data[VERDICT_MIME]["failures"]
    assert failure["kind"] == "raised" and failure["detail"] == "NotImplementedError"
    assert "pool_backward calls my_helper, which is not implemented yet" in failure["message"]


@pytest.mark.parametrize("mode", ["extra_credit", "not_graded"])
def test_a_part_b_function_whose_core_helper_is_a_stub_is_not_called_not_attempted(tmp_path, mode):
    checker = load_checker(tmp_path, mode)
    functions = defined({**notebook.solutions(), "zero_pad": STUB.format(name="zero_pad")})
    with pytest.raises(checker.CheckFailed, match="conv_backward calls your zero_pad, which is not implemented yet"):
        checker.check("conv_backward", functions["conv_backward"])


def test_a_helper_undefined_after_a_restart_says_to_run_its_cell(checker):
    functions = defined(notebook.solutions())
    del functions["zero_pad"]  # a restart, then only conv_forward's cell run again
    with pytest.raises(checker.CheckFailed) as failed:
        checker.check("conv_forward", functions["conv_forward"])
    assert "name 'zero_pad' is not defined" in str(failed.value)
    assert "run the cell that defines it, or use Run > Run All Above" in str(failed.value)


# ---------------------------------------------------------------- hints first, the line on request (issue 19)

STRIDE_SLIP = [
    ("pool_forward", "vert_start = h * stride", "vert_start = h"),
    ("pool_forward", "horiz_start = w * stride", "horiz_start = w"),
]
# The lines that hints used to hand over (issue 19), and the slips that made them appear.
LINES_HANDED_OVER = {
    "vert_start = h * stride": ("pool_forward", STRIDE_SLIP),
    "x == np.max(x)": (
        "create_mask_from_window",
        [("create_mask_from_window", "mask = (x == np.max(x))", "mask = np.argmax(x)")],
    ),
    "da_prev_pad[pad:pad + n_H_prev": (
        "conv_backward",
        [("conv_backward", "return dA_prev, dW, db", "return dA_prev_pad, dW, db")],
    ),
    "horiz_start:horiz_end, c]": (
        "pool_forward",
        [("pool_forward", "horiz_start:horiz_end, c]", "horiz_start:horiz_end, :]")],
    ),
}


def failure(checker, name, function):
    with pytest.raises(checker.CheckFailed) as failed:
        checker.check(name, function)
    return str(failed.value)


@pytest.mark.parametrize("line", sorted(LINES_HANDED_OVER))
def test_a_hint_points_at_the_idea_and_the_line_waits_for_a_request(tmp_path, capsys, line):
    checker = load_checker(tmp_path)
    name, slip = LINES_HANDED_OVER[line]
    function = defined(notebook.solutions(), slip)[name]
    first = failure(checker, name, function)
    assert "Hint:" in first and line not in first and f'run hint("{name}")' in first
    checker.hint(name)
    assert line in capsys.readouterr().out  # the "show me" step


def test_the_same_slip_twice_shows_its_line(tmp_path):
    checker = load_checker(tmp_path)
    function = defined(notebook.solutions(), STRIDE_SLIP)["pool_forward"]
    first, second = failure(checker, "pool_forward", function), failure(checker, "pool_forward", function)
    assert "vert_start = h * stride" not in first
    assert (
        "The same slip as last time, so here is the line to look at" in second and "vert_start = h * stride" in second
    )


def test_hint_before_any_check_and_after_a_pass_says_what_to_do(checker, capsys):
    checker.hint("zero_pad")
    assert 'Run the check cell of zero_pad first: hint("zero_pad")' in capsys.readouterr().out
    checker.check("zero_pad", defined(notebook.solutions())["zero_pad"])
    checker.hint("zero_pad")
    assert "The last check of zero_pad passed" in capsys.readouterr().out
    checker.hint("zeropad")
    assert "hint() takes the name of one of the functions" in capsys.readouterr().out


def test_no_hint_hands_over_a_line_of_code():
    """The hints of every known mistake and error: ideas and figures, never the lines issue 19 listed."""
    checks = course.load_checks()
    hints = [words.hint for row in SPEC.values() for words in row.mistakes.values()]
    hints += [hint for _, _, hint, _ in checks._ERROR_HINTS] + [hint for hint, _ in checks._SHAPES_MET.values()]
    hints += [checks._INDICES, checks._WINDOW_END[0]]
    for line in (*LINES_HANDED_OVER, "A_prev[i, vert_start", "distribute_value(dA[i, h, w, c]"):
        assert not [hint for hint in hints if line in hint], line


# ---------------------------------------------------------------- never a traceback from the checker


class Hostile:
    def __repr__(self):
        raise RuntimeError("repr")

    __str__ = __repr__

    def __eq__(self, other):
        raise RuntimeError("eq")

    def __len__(self):
        raise RuntimeError("len")


class HostileError(Exception):
    def __str__(self):
        raise RuntimeError("str of the error")


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


def raise_(error):
    raise error


ODD_FUNCTIONS = {
    "returns None": lambda *args, **kwargs: None,
    "returns a hostile object": lambda *args, **kwargs: Hostile(),
    "returns hostile parts": lambda *args, **kwargs: (Hostile(), {Hostile(): Hostile()}, Hostile()),
    "returns a deep list": lambda *args, **kwargs: nested(5000),
    "returns complex numbers": lambda *args, **kwargs: np.zeros((2, 2), dtype=complex),
    "returns objects": lambda *args, **kwargs: np.array([Hostile()], dtype=object),
    "raises an error whose str raises": lambda *args, **kwargs: raise_(HostileError()),
    "raises RecursionError": lambda *args, **kwargs: raise_(RecursionError("deep")),
    "is not callable": 42,
}


@pytest.mark.parametrize("kind", sorted(ODD_FUNCTIONS))
@pytest.mark.parametrize("name", sorted(SPEC))
def test_check_raises_nothing_but_its_own_message(checker, name, kind):
    with pytest.raises(checker.CheckFailed) as failed:
        checker.check(name, ODD_FUNCTIONS[kind])
    assert "Traceback" not in "\n".join(failed.value._render_traceback_())


def test_a_missing_data_file_is_a_message_not_a_traceback(tmp_path):
    checker = load_checker(tmp_path)
    (tmp_path / "public_cases.npz").unlink()
    with pytest.raises(checker.SupportFileMissing) as failed:
        checker.check("zero_pad", defined(notebook.solutions())["zero_pad"])
    shown = "\n".join(failed.value._render_traceback_())
    assert shown.startswith("SupportFileMissing: public_cases.npz not found in") and "Put it back" in shown
    (tmp_path / "public_cases.npz").write_bytes(b"not a zip file")
    with pytest.raises(checker.SupportFileMissing, match="cannot be read"):
        checker.check("zero_pad", defined(notebook.solutions())["zero_pad"])

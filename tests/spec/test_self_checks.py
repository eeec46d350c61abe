"""The students' self-checks (cnn_checks.check) never mislead: run on the shipped checker, beside its data file."""

import importlib.util
import shutil

import numpy as np
import pytest

from cnnkit import course
from cnnkit.spec import notebook, public_data


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

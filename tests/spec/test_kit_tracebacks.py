"""No check or demo cell shows a traceback from the kit's own files, whatever the student's functions do.

The release notebook runs in a real kernel, beside its support files, every cell whatever the cells
before it raised (allow_errors), with every function unimplemented, raising, returning wrong or hostile
values, or calling helpers that are stubs. A check cell then shows its message alone (CheckFailed);
a demo cell may show the student's own error, with frames of the student's cells and of numpy, never
a frame of cnn_checks.py; a figure cell (the kit's own code in the notebook) shows no error at all.
The same holds in-process for check() itself (tests/spec/test_self_checks.py).
"""

import pytest

from cnnkit.spec import figures, notebook
from tests.spec.test_teaching import kit_frames, release_copy, run

SIGNATURES = {
    "zero_pad": "X, pad",
    "conv_single_step": "a_slice_prev, W, b",
    "conv_forward": "A_prev, W, b, hparameters",
    "pool_forward": 'A_prev, hparameters, mode="max"',
    "conv_backward": "dZ, cache",
    "create_mask_from_window": "x",
    "distribute_value": "dz, shape",
    "pool_backward": 'dA, cache, mode="max"',
}
HOSTILE = '''
class Hostile:
    """Every way of looking at it raises."""

    def __repr__(self):
        raise RuntimeError("repr")

    __str__ = __repr__

    def __eq__(self, other):
        raise RuntimeError("eq")

    def __len__(self):
        raise RuntimeError("len")

    def __iter__(self):
        raise RuntimeError("iter")

'''
WRONG_BODIES = {
    "zero_pad": "return None",
    "conv_single_step": "return np.sum(a_slice_prev * W) + b",
    "conv_forward": "return Hostile(), Hostile()",
    "pool_forward": "nested = []\n    for _ in range(3000):\n        nested = [nested]\n    return nested, None",
    "conv_backward": 'return "dA_prev", {1: Hostile()}, np.zeros(3, dtype=complex)',
    "create_mask_from_window": "return x",
    "distribute_value": "return {'a': dz}",
    "pool_backward": "return dA.astype(object)",
}


def functions(body_of):
    """The eight functions, each with the body body_of(name)."""
    return {name: f"def {name}({arguments}):\n    {body_of(name)}\n" for name, arguments in SIGNATURES.items()}


# An error whose message cannot be made: its __str__ raises too.
UNPRINTABLE = 'class Unprintable(Exception):\n    def __str__(self):\n        raise RuntimeError("no words")\n\n\n'


SCENARIOS = {
    "untouched": {},
    "raising": functions(lambda name: f'raise ValueError("a bug in {name}")'),
    "raising-unprintable": {
        name: UNPRINTABLE * (name == "zero_pad") + code
        for name, code in functions(lambda name: "raise Unprintable()").items()
    },
    "wrong": {name: HOSTILE * (name == "conv_forward") + code for name, code in functions(WRONG_BODIES.get).items()},
    "helpers-unfinished": {
        **notebook.solutions(),
        **functions(lambda name: "raise NotImplementedError()"),
        **{name: notebook.solutions()[name] for name in ("conv_forward", "conv_backward", "pool_backward")},
    },
}


def live(cell):
    """A figure cell: the kit's own drawing code that stays in the notebook, run on the student's functions."""
    return cell.cell_type == "code" and figures.FIGURE_TAG in figures.tags(cell)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_no_cell_shows_a_frame_of_the_kits_files(tmp_path, scenario):
    folder = tmp_path / "work"
    nb = run(release_copy(folder, SCENARIOS[scenario]), folder, allow_errors=True)
    shown = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                shown.setdefault(notebook.grade_id(cell) or cell.source.splitlines()[0], []).append(output)
            assert "cnn_checks.py" not in output.get("text", ""), output  # nothing printed through the kit either
    in_figures = [cell.source.splitlines()[0] for cell in nb.cells if live(cell)]
    assert in_figures and not set(in_figures) & set(shown), sorted(shown)  # the kit's figures say what is off
    checks = {grade_id: outputs for grade_id, outputs in shown.items() if str(grade_id).startswith("test_")}
    assert len(checks) == len(SIGNATURES), sorted(shown)  # every check failed, so every check was looked at
    assert {output.ename for outputs in checks.values() for output in outputs} == {"CheckFailed"}
    assert [line for outputs in shown.values() for output in outputs for line in kit_frames(output)] == []

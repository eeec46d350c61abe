"""The registry finds every graded function's module by itself, orders them by exercise, and refuses ambiguity."""

import importlib
import sys
import textwrap

import pytest

from cnnkit import course
from cnnkit.spec import table
from cnnkit.spec.functions import zero_pad
from cnnkit.spec.graded import Mistake

MODULE = """
import numpy as np
from cnnkit.spec.graded import GradedFunction, Mistake, mistakes

FUNCTION = GradedFunction(
    name={name!r}, exercise={exercise}, part="core", reference=np.abs, model=lambda x: {{}},
    mistakes=mistakes(Mistake("slip", {words!r}, "hint")), case_keys=frozenset({{"shape"}}),
)
"""


@pytest.fixture
def package(tmp_path, monkeypatch):
    """An empty package of graded functions, importable as fake_functions; write(name, exercise) adds one."""
    folder = tmp_path / "fake_functions"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name, exercise, words="what"):
        (folder / f"{name}.py").write_text(textwrap.dedent(MODULE.format(name=name, exercise=exercise, words=words)))
        importlib.invalidate_caches()
        return importlib.import_module("fake_functions")

    yield write
    for name in [module for module in sys.modules if module.split(".")[0] == "fake_functions"]:
        del sys.modules[name]


def test_the_kit_registers_its_eight_functions_in_the_notebooks_order():
    assert table.FUNCTIONS == tuple(course.load_checks().FUNCTIONS)
    assert [function.exercise for function in table.SPEC.values()] == list(range(1, len(table.SPEC) + 1))
    assert table.SPEC["zero_pad"] is zero_pad.FUNCTION


def test_a_module_dropped_into_the_package_is_found_in_exercise_order(package):
    package("second", 2)
    found = package("first", 1)
    assert [function.name for function in table.discover(found)] == ["first", "second"]


def test_two_functions_with_one_exercise_number_are_refused(package):
    package("one", 3)
    with pytest.raises(ValueError, match="share an exercise number"):
        table.discover(package("other", 3))


def test_a_mistake_key_with_two_sets_of_words_is_refused(package):
    package("one", 1, words="one thing")
    functions = table.discover(package("other", 2, words="another thing"))
    with pytest.raises(ValueError, match="'slip' has two sets of words"):
        table.mistake_words(functions)


def test_a_shared_mistake_has_one_set_of_words():
    words = table.MISTAKE_WORDS["window_not_strided"]
    users = [function for function in table.SPEC.values() if "window_not_strided" in function.mistakes]
    assert len(users) > 1 and all(function.mistakes["window_not_strided"] is words for function in users)
    assert isinstance(words, Mistake)

"""The student checker (cnn_checks.py) has one loader in the kit, cached, and nothing runs it at import.

The kit reads the checker's half of every graded function (arguments, cases, judge) from the instructor's
copy through cnnkit.course.load_checks only, on first use. An audit hook sees every code object Python
executes: importing every module of the kit must execute none from cnn_checks.py.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from cnnkit import course
from cnnkit.results.report.catalogue import case_catalogue

ROOT = Path(__file__).resolve().parents[2]
NOT_IMPORTABLE = {"cnnkit.__main__", "cnnkit.hub.jupyterhub_config"}  # a command; JupyterHub's config file

PROBE = """
import importlib, sys
ran = []
sys.addaudithook(lambda event, args: event == "exec" and getattr(args[0], "co_filename", "").endswith("cnn_checks.py")
                 and ran.append(args[0].co_filename))
for name in sys.argv[1:]:
    importlib.import_module(name)
    if ran:
        sys.exit(f"importing {name} ran {ran[0]}")
from cnnkit import course
course.load_checks()
print("loaded on request" if ran else "the probe saw nothing")
"""


def kit_modules():
    for path in sorted((ROOT / "cnnkit").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name not in NOT_IMPORTABLE:
            yield name


def probe(*modules):
    return subprocess.run(
        [sys.executable, "-c", PROBE, *modules], cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)}
    )


def test_importing_the_totals_runs_no_checker():
    result = probe("cnnkit.spec.totals")
    assert result.returncode == 0 and result.stdout.strip() == "loaded on request", result.stderr


def test_importing_every_module_of_the_kit_runs_no_checker():
    modules = list(kit_modules())
    assert "cnnkit.spec.table" in modules and "cnnkit.results.report.catalogue" in modules
    result = probe(*modules)
    assert result.returncode == 0 and result.stdout.strip() == "loaded on request", result.stderr


def loader_calls():
    """(module path, enclosing function) of every spec_from_file_location call in the kit."""
    found = []
    for path in sorted((ROOT / "cnnkit").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Attribute) and node.attr == "spec_from_file_location":
                    found.append((str(path.relative_to(ROOT)), function.name))
    return sorted(set(found))


def test_the_kit_loads_the_checker_in_one_place():
    """The one other loader by path is the sandbox launcher's, for its own sibling modules (run as a script)."""
    assert loader_calls() == [("cnnkit/course.py", "_execute"), ("cnnkit/sandbox/launch.py", "sibling")]


def test_the_instructors_checker_is_loaded_once_and_a_fresh_copy_on_request():
    assert course.load_checks() is course.load_checks() is course.load_checks(course.CHECKS_FILE)
    fresh = course.load_checks(fresh=True)
    assert fresh is not course.load_checks() and fresh.FUNCTIONS.keys() == course.load_checks().FUNCTIONS.keys()


def test_the_report_catalogue_says_case_n_without_a_source_folder(tmp_path):
    assert case_catalogue(tmp_path, course.ASSIGNMENT) == {}


def test_the_report_catalogue_does_not_hide_a_broken_checker(tmp_path):
    """It used to swallow every exception: a checker that fails to load left the report quietly without names."""
    folder = tmp_path / "source" / course.ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / "cnn_checks.py").write_text("raise RuntimeError('broken checker')\n")
    with pytest.raises(RuntimeError, match="broken checker"):
        case_catalogue(tmp_path, course.ASSIGNMENT)


def test_the_report_catalogue_names_every_case_of_the_course():
    catalogue = case_catalogue(course.ROOT, course.ASSIGNMENT)
    checks = course.load_checks()
    assert set(catalogue) == set(checks.FUNCTIONS)
    assert all(len(rows) > len(checks.PUBLIC_CASES[name]) for name, rows in catalogue.items())

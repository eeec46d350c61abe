"""cnnkit.compat's section for cnnkit.scale: its checks pass on the installed versions and fail loudly, naming
what changed, when something it relies on is gone."""

import importlib
import io
import json
import os
import subprocess
import sys

import pytest

from cnnkit import compat, course
from tests import kernel_reach
from tests.support import BIN


def test_the_installed_versions_pass():
    compat.check_scale()


@pytest.mark.parametrize(
    ("owner", "attribute"),
    [
        ("nbgrader.apps.baseapp.NbGrader", "reset"),
        ("nbgrader.apps.baseapp.NbGrader", "init_logging"),
        ("nbgrader.converters.base.BaseConverter", "init_destination"),
        ("nbgrader.converters.base.BaseConverter", "init_notebooks"),
        ("jupyter_core.application", "NoStart"),
    ],
)
def test_a_missing_api_is_named(monkeypatch, owner, attribute):
    module_name, _, class_name = owner.rpartition(".")
    if owner == "jupyter_core.application":
        module_name, class_name = owner, ""
    target = importlib.import_module(module_name)
    target = getattr(target, class_name) if class_name else target
    monkeypatch.delattr(target, attribute)
    with pytest.raises(compat.ScaleApiChanged, match=attribute):
        compat.check_scale()


def test_a_converter_that_no_longer_keeps_its_assignments_is_named(monkeypatch):
    from nbgrader.converters.base import BaseConverter

    def init_notebooks(self):
        self.found = {}

    monkeypatch.setattr(BaseConverter, "init_notebooks", init_notebooks)
    with pytest.raises(compat.ScaleApiChanged, match=r"init_notebooks no longer uses self\.assignments"):
        compat.check_scale()


def test_the_module_level_check_runs_the_scale_checks(monkeypatch):
    from nbgrader.apps.baseapp import NbGrader

    monkeypatch.delattr(NbGrader, "reset")
    with pytest.raises(compat.ScaleApiChanged, match="reset"):
        compat.check()


# In a fresh interpreter: every IRI and IRI reference below, checked by jsonschema's format checker; and whether
# the package's own module (which compiles 36 grammars) was imported.
IRI_CHECKS = """
import json, sys
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "stand-in":
    from cnnkit import compat, course
    compat.skip_unused_slow_imports()
import jsonschema
checker = jsonschema.FormatChecker()
values = ["http://example.com/\u00e4?q=1#f", "urn:isbn:0451450523", "http://[::1]:80/", "http://exa mple.com",
          "../x/y?z", "", "a b", "//host/p", "http://h/%zz", "mailto:someone@example.org", ":", "\u00e9t\u00e9"]
answers = [[checker.conforms(value, form) for value in values] for form in ("iri", "iri-reference")]
print(json.dumps({"answers": answers, "compiled": "rfc3987_syntax.syntax_helpers" in sys.modules}))
"""


def iri_checks(how, python=sys.executable):
    result = subprocess.run(
        [str(python), "-c", IRI_CHECKS, str(course.ROOT), how], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_the_stand_in_compiles_nothing_on_import_and_validates_as_the_package():
    package, stand_in = iri_checks("package"), iri_checks("stand-in")
    assert package["compiled"] and not stand_in["compiled"]
    assert stand_in["answers"] == package["answers"]
    assert True in package["answers"][0] and False in package["answers"][0]  # the samples tell valid from invalid


def test_every_process_of_the_hub_users_environment_has_the_stand_in():
    """`make hub-env` installs it there (a .pth): a student's nbgrader command or server start compiles nothing."""
    kernel_reach.require_root_and_hub_environment()
    hub = iri_checks("as-installed", python=kernel_reach.HUB_PYTHON)
    assert not hub["compiled"]
    assert hub["answers"] == iri_checks("package")["answers"]


def test_the_stand_in_gives_the_real_package_for_any_other_name(monkeypatch):
    monkeypatch.delitem(sys.modules, compat.RFC3987_SYNTAX, raising=False)
    compat.skip_unused_slow_imports()
    stand_in = importlib.import_module(compat.RFC3987_SYNTAX)
    assert stand_in.is_valid_syntax("iri", "http://example.com/") and not stand_in.is_valid_syntax("iri", "a b")
    assert stand_in.RFC3987_SYNTAX_PARSER_TYPE == "earley"  # loaded the package itself, which took its place
    assert sys.modules[compat.RFC3987_SYNTAX] is not stand_in


def test_a_grading_process_checks_its_apis_with_the_stand_in_in_place():
    """As cnnkit.scale.worker.preload does: the stand-in first, then every check (which looks the package up)."""
    code = f"import sys; sys.path.insert(0, {str(course.ROOT)!r})\nfrom cnnkit import compat\n"
    code += "compat.skip_unused_slow_imports()\ncompat.check_scale()\nprint(sys.modules['rfc3987_syntax'].__name__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == compat.RFC3987_SYNTAX


def test_a_changed_package_is_named(monkeypatch, tmp_path):
    fake = tmp_path / "rfc3987_syntax"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "syntax_helpers.py").write_text("syntax_parser = Lark(grammar, start='iri')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, compat.RFC3987_SYNTAX, raising=False)
    with pytest.raises(compat.ScaleApiChanged, match="is_valid_syntax changed"):
        compat.check_scale()


def test_forget_package_drops_the_package_and_its_submodules_only(monkeypatch):
    for name in ("kitprobe", "kitprobe.sub", "kitprobe_other"):
        monkeypatch.setitem(sys.modules, name, object())
    compat.forget_package("kitprobe")
    assert "kitprobe" not in sys.modules and "kitprobe.sub" not in sys.modules
    assert "kitprobe_other" in sys.modules


def test_nbgrader_runs_in_process_and_its_singleton_is_reset(tmp_path, monkeypatch):
    from nbgrader.apps.nbgraderapp import NbGraderApp

    monkeypatch.chdir(tmp_path)  # no nbgrader_config.py here
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")  # nbgrader runs `alembic` for a new gradebook
    log = io.StringIO()
    assert compat.run_nbgrader_in_process(["db", "student", "list"], log) == 0
    assert not NbGraderApp.initialized()
    assert compat.run_nbgrader_in_process(["db", "student", "add", "alice"], log) == 0  # a second run starts afresh
    assert compat.run_nbgrader_in_process(["db", "student", "list"], log) == 0
    assert "alice" in log.getvalue() and not NbGraderApp.initialized()

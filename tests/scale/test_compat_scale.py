"""cnnkit.compat's section for cnnkit.scale: its checks pass on the installed versions and fail loudly, naming
what changed, when something it relies on is gone."""

import importlib
import io
import os
import sys

import pytest

from cnnkit import compat
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


def test_a_blocked_import_fails_as_if_the_package_were_absent(monkeypatch):
    monkeypatch.delitem(sys.modules, "rfc3987_syntax", raising=False)
    compat.skip_unused_slow_imports()
    with pytest.raises(ImportError):
        importlib.import_module("rfc3987_syntax")


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

"""The coordinator's own decisions, in-process: kill switch, pool size, exit code, imports that go one way."""

import argparse
import subprocess
import sys

import pytest
from traitlets.config import Config

from cnnkit.grading import time_policy
from cnnkit.records import outcomes as outcome
from cnnkit.scale import coordinator, engine


class CourseConfig:
    """What default_timeout reads of a course: its loaded config and its number of code cells."""

    def __init__(self, config, code_cells):
        self.app = argparse.Namespace(config=config)
        self.cells = code_cells

    def code_cells(self):
        return self.cells


def config(**sections):
    loaded = Config()
    for section, values in sections.items():
        for name, value in values.items():
            setattr(getattr(loaded, section), name, value)
    return loaded


def test_the_kill_switch_is_the_time_policy_s(monkeypatch):
    budget = CourseConfig(config(ContainedExecute={"notebook_budget": 600}, Execute={"timeout": 120}), 40)
    stock = CourseConfig(config(Execute={"timeout": 10}), 12)
    assert engine.default_timeout(budget) == time_policy.kill_after(600, 120, 40) == 1260
    assert engine.default_timeout(stock) == time_policy.kill_after(None, 10, 12) == 300
    monkeypatch.setattr(time_policy, "KILL_MARGIN", 5)  # a change of policy reaches the coordinator
    assert engine.default_timeout(budget) == 1205


def test_no_more_workers_than_submissions(tmp_path):
    for student in ("alice", "bob", "carol"):
        (tmp_path / "submitted" / student / "ps1").mkdir(parents=True)
    args = argparse.Namespace(workers=8, assignment="ps1", student=None)
    assert coordinator.pool_size(args, tmp_path) == 3
    assert coordinator.pool_size(argparse.Namespace(workers=8, assignment="ps1", student=["b*"]), tmp_path) == 1
    assert coordinator.pool_size(argparse.Namespace(workers=2, assignment="ps1", student=None), tmp_path) == 2


def test_the_exit_code_is_1_when_any_submission_was_not_graded(tmp_path, capsys):
    ok = outcome.failure("alice", outcome.GRADED, "", 1.0)
    slow = outcome.failure("bob", outcome.TIMED_OUT, "no result after 40 s", 40.0)
    assert coordinator.summarize([ok], ["alice"], 1.0, tmp_path / "log") == 0
    assert coordinator.summarize([ok, slow], ["alice", "bob"], 41.0, tmp_path / "log") == 1
    assert "  bob: timed out no result after 40 s" in capsys.readouterr().out
    assert coordinator.summarize([ok], ["alice", "bob"], 1.0, tmp_path / "log") == 1  # stopped early
    refused = outcome.failure("bob", outcome.REFUSED, "no sandbox here")
    assert coordinator.summarize([refused], ["bob"], 1.0, tmp_path / "log") == 1
    assert "Stopped: no sandbox here" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("cnnkit.scale.dask", "cnnkit.scale.coordinator"),  # no circle: Dask needs only the worker side
        ("cnnkit.scale.pool", "cnnkit.scale.coordinator"),
        ("cnnkit.scale.worker", "jsonschema"),  # the grading process blocks a slow import before nbformat's
    ],
)
def test_imports_go_one_way(module, absent):
    code = f"import sys, {module}; print({absent!r} in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"

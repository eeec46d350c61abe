"""nbgrader_config.py, loaded in-process as nbgrader loads it: its time limits are the time policy's,
and loading it changes nothing on disk (the batch's first step runs when autograde starts)."""

import os

import pytest
from traitlets.config.loader import PyFileConfigLoader

from cnnkit import course
from cnnkit.grading import time_policy
from cnnkit.sandbox import bwrap
from cnnkit.scale import course_start as batch


def course_state():
    """The course folder's entries and its backups."""
    backups = course.ROOT / "backups"
    return sorted(course.ROOT.iterdir()), sorted(backups.iterdir()) if backups.is_dir() else []


@pytest.fixture
def config(monkeypatch):
    monkeypatch.setattr(os, "environ", dict(os.environ))  # sandbox.configure() writes the environment
    before = course_state()
    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(course.ROOT)).load_config()
    assert course_state() == before
    return loaded


def test_time_limits_come_from_the_time_policy(config):
    assert config.Execute.timeout == time_policy.CELL_TIMEOUT
    assert config.ContainedExecute.notebook_budget == time_policy.NOTEBOOK_BUDGET
    assert bwrap.Limits.from_env(os.environ).cpu_seconds == time_policy.SANDBOX_CPU_SECONDS
    assert os.environ[bwrap.Limits.env_name("cpu_seconds")] == str(time_policy.SANDBOX_CPU_SECONDS)


def test_autograde_starts_with_the_batch_step_and_marks_what_it_finished(config):
    assert config.Autograde.exporter_class is batch.AutogradeStart
    assert config.Autograde.post_convert_hook is batch.mark_graded
    assert batch.MARKER in config.CourseDirectory.ignore
